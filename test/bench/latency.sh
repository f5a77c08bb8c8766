#!/usr/bin/env bash
# Latency benchmark of the relay: kernel fast path against the userspace
# path of the same relay, with 1 and 10 subscribers, in cleartext and in
# tls mode (both paths encrypted; the kernel opens and seals). One command:
#
#   sudo bash test/bench/latency.sh
#
# installs what is missing, builds (Release) in build/bench, and runs
# origin -> relay -> subscribers in network namespaces (198.18.40.0/24 and
# 198.18.41.0/24) for FR_BENCH_SECONDS (default 15) per case. Packet taps
# (tc BPF, bpf/tap.bpf.c) time every STREAM frame at the origin's egress,
# the relay's ingress and egress, and the subscribers' ingress; the report
# gives per-packet one-way delay (origin egress -> subscriber ingress) and
# relay residence time (relay ingress -> relay egress) as p50/p90/p99/max,
# the fast/userspace ratios, and CPU time per delivered packet copy: the
# relay process's once started (its one-time BPF loading and verification
# left out), and the whole machine's while the media flows (which includes
# the kernel's softirq work, where the fast path's programs run). In tls
# mode origin and subscribers offer only ChaCha20-Poly1305 (a GnuTLS
# override), so that both paths use the cipher the kernel implements, and
# write their 1-RTT keys (FR_QUIC_KEYLOG) for the taps to open the
# packets. FR_BENCH_ATTACH (tcx, tc or auto, the default) is the fast-path
# relay's --attach. FR_BENCH_CASES runs only the cases named (e.g.
# "tls-fastpath-1 tls-userspace-1"; default: all eight). Raw records and
# the report stay in FR_BENCH_OUT (default build/bench/latency).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${FR_BUILD_DIR:-$root/build/bench}
seconds=${FR_BENCH_SECONDS:-15}
bitrate=${FR_BENCH_BITRATE:-2M}
attach=${FR_BENCH_ATTACH:-auto}
all_cases="cleartext-userspace-1 cleartext-fastpath-1 \
cleartext-userspace-10 cleartext-fastpath-10 tls-userspace-1 tls-fastpath-1 \
tls-userspace-10 tls-fastpath-10"
cases=${FR_BENCH_CASES:-$all_cases}

if [[ $(id -u) -ne 0 ]]; then
    echo "latency: run as root (network namespaces, BPF)" >&2
    exit 1
fi
[[ $seconds =~ ^[0-9]+$ ]] && (( seconds >= 5 && seconds <= 120 )) || {
    echo "latency: FR_BENCH_SECONDS must be 5..120" >&2
    exit 2
}
[[ $attach =~ ^(tcx|tc|auto)$ ]] || {
    echo "latency: FR_BENCH_ATTACH must be tcx, tc or auto" >&2
    exit 2
}
for c in $cases; do
    [[ " $all_cases " == *" $c "* ]] || {
        echo "latency: unknown case '$c' in FR_BENCH_CASES (known: $all_cases)" >&2
        exit 2
    }
done
bash "$root/scripts/setup-deps.sh"
echo "latency: building in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFR_BUILD_TESTS=ON \
    >/dev/null
cmake --build "$build" -j "$(nproc)" \
    --target fr-origin fr-relay fr-sub fr-tap >/dev/null

bin=$build/examples
tap=$build/test/bench/fr-tap
source "$root/test/netns/netns.sh"
fr_netns_init
out=${FR_BENCH_OUT:-$build/latency}
rm -rf "$out"
mkdir -p "$out"

fr_host_add origin
fr_host_add relay
fr_host_add subs
fr_link origin relay 198.18.40.1/24 198.18.40.2/24
fr_link relay subs 198.18.41.1/24 198.18.41.2/24
fr_route origin 198.18.41.0/24 198.18.40.2

# Busy CPU time of the whole machine so far, in clock ticks.
machine_ticks() {
    awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat
}

# run_case CRYPTO MODE SUBS: one case (cleartext|tls, userspace|fastpath).
run_case() {
    local crypto=$1 mode=$2 subs=$3 c=$1-$2-$3 d=$out/$1-$2-$3
    local flags=() tools=() taps=() env=()
    [[ $crypto == cleartext ]] && flags=(--cleartext) && tools=(--cleartext)
    [[ $mode == fastpath ]] && flags+=(--fastpath --attach "$attach")
    mkdir -p "$d"
    if [[ $crypto == tls ]]; then
        fr_chacha_only "$d/chacha-only.conf"
        env=(env FR_QUIC_KEYLOG="$d/keys.log"
             GNUTLS_SYSTEM_PRIORITY_FILE="$d/chacha-only.conf")
        taps=(--keys "$d/keys.log")
    fi
    echo "latency: $crypto, $mode, $subs subscriber(s), ${seconds}s" >&2
    fr_spawn origin "tap-o-$c" "$tap" --dev relay \
        --direction egress --out "$d/origin-egress.csv" "${taps[@]}"
    fr_spawn relay "tap-ri-$c" "$tap" --dev origin \
        --direction ingress --out "$d/relay-ingress.csv" "${taps[@]}"
    fr_spawn relay "tap-re-$c" "$tap" --dev subs \
        --direction egress --out "$d/relay-egress.csv" "${taps[@]}"
    fr_spawn subs "tap-s-$c" "$tap" --dev relay \
        --direction ingress --out "$d/sub-ingress.csv" "${taps[@]}"
    for t in o ri re s; do
        fr_wait_log "tap-$t-$c" '^attached' 10
    done
    fr_spawn relay "relay-$c" "$bin/fr-relay" \
        --listen 198.18.41.1:4433 --write-cert "$d/relay.pem" \
        --json "$d/relay.json" --stats-interval 0 "${flags[@]}"
    fr_wait_log "relay-$c" 'listening on' 10
    local t0 t1
    t0=$(machine_ticks)
    fr_spawn origin "origin-$c" "${env[@]}" "$bin/fr-origin" "${tools[@]}" \
        --connect 198.18.41.1:4433 --ca "$d/relay.pem" --fps 30 --gop 30 \
        --bitrate "$bitrate" --duration "$seconds" --json "$d/origin.json" \
        --stats-interval 0
    fr_wait_log "origin-$c" 'namespace live accepted' 10
    fr_spawn subs "subs-$c" "${env[@]}" "$bin/fr-sub" "${tools[@]}" \
        --connect 198.18.41.1:4433 --ca "$d/relay.pem" \
        --connections "$subs" --duration $((seconds + 10)) \
        --json "$d/subs.json" --stats-interval 0
    fr_wait "origin-$c" $((seconds + 30)) || fr_fail "$c: origin failed"
    t1=$(machine_ticks)
    echo "$(( t1 - t0 )) $(getconf CLK_TCK)" > "$d/machine_cpu"
    fr_wait "subs-$c" 60 || fr_fail "$c: subscribers failed"
    fr_stop "relay-$c" || fr_fail "$c: relay failed"
    for t in o ri re s; do
        fr_stop "tap-$t-$c" || fr_fail "$c: tap failed"
    done
}

for c in $cases; do
    IFS=- read -r crypto mode n <<<"$c"
    run_case "$crypto" "$mode" "$n"
done
python3 "$root/test/bench/latency_report.py" "$out" | tee "$out/report.txt"
