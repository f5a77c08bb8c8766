#!/usr/bin/env bash
# Fan-out benchmark: what one more subscriber costs, on the kernel fast
# path and on the userspace path of the same relay. One command:
#
#   sudo bash test/bench/fanout.sh
#
# installs what is missing, builds (Release) in build/bench, and runs
# origin -> relay -> N subscribers in network namespaces (netns.sh's
# fr_relay_hosts), encrypted, for N in FR_BENCH_SUBS (default
# "10 100 300 1000"), both paths (FR_BENCH_PATHS). Subscribers run in
# fr-sub processes of up to 250 sessions. Once every session is up, a
# window of FR_BENCH_SECONDS (default 10; 300 for the 5-minute soak) is
# measured: per-copy CPU of the machine and of the relay process, kernel
# program time per copy (BPF run-time statistics, on for the run), relay
# memory per subscriber; at the end, objects delivered and missing and
# the object delay the subscribers measured from the window's start
# (fr-sub restarts it on SIGUSR1) to the end. docs/SCALE.md says how each
# figure is taken. The relay runs on the last CPU, its side's packet
# work steered there too (RPS on its interfaces), the origin and the
# subscribers on the others: the relay CPU's busy time is what the relay
# host costs (a process is charged the softirq work its system calls
# trigger, so without pinning a sender pays for its receiver's kernel
# work). FR_BENCH_CRYPTO is tls (default: origin and subscribers
# offer only ChaCha20-Poly1305, a GnuTLS override, the cipher the kernel
# implements, on both paths) or cleartext (our private variant).
#
# Writes FR_BENCH_OUT (default build/bench/fanout): per case the tools'
# JSON and the readings, results.json, report.txt, and the plots
# cpu.png and delay.png. FR_BENCH_PERF=1 records a perf profile of the
# relay over each window (perf.data in the case's directory).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${FR_BUILD_DIR:-$root/build/bench}
seconds=${FR_BENCH_SECONDS:-10}
sizes=${FR_BENCH_SUBS:-10 100 300 1000}
paths=${FR_BENCH_PATHS:-userspace fastpath}
bitrate=${FR_BENCH_BITRATE:-200k}
crypto=${FR_BENCH_CRYPTO:-tls}
per_process=250

usage_fail() {
    echo "fanout: $*" >&2
    exit 2
}
if [[ $(id -u) -ne 0 ]]; then
    echo "fanout: run as root (network namespaces, BPF)" >&2
    exit 1
fi
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 5 && seconds <= 600)) ||
    usage_fail "FR_BENCH_SECONDS must be 5..600"
for n in $sizes; do
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 1000)) ||
        usage_fail "FR_BENCH_SUBS: '$n' is not 1..1000"
done
for p in $paths; do
    [[ $p == userspace || $p == fastpath ]] ||
        usage_fail "FR_BENCH_PATHS: '$p' is not userspace or fastpath"
done
[[ $crypto == tls || $crypto == cleartext ]] ||
    usage_fail "FR_BENCH_CRYPTO: '$crypto' is not tls or cleartext"
[[ $bitrate =~ ^[0-9]+[kM]?$ ]] || usage_fail "FR_BENCH_BITRATE: '$bitrate'"

bash "$root/scripts/setup-deps.sh"
command -v gnuplot >/dev/null || {
    echo "fanout: installing gnuplot-nox for the plots" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        gnuplot-nox >/dev/null
}
echo "fanout: building in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFR_BUILD_TESTS=ON \
    >/dev/null
cmake --build "$build" -j "$(nproc)" --target fr-origin fr-relay fr-sub \
    >/dev/null

export FR_BIN_DIR=$build/examples
probe=$root/test/bench/fanout_probe.py
source "$root/test/netns/netns.sh"
fr_netns_init
out=${FR_BENCH_OUT:-$build/fanout}
rm -rf "$out"
mkdir -p "$out"
git -C "$root" rev-parse --short HEAD >"$out/commit" 2>/dev/null ||
    echo unknown >"$out/commit"

fr_relay_hosts
relay_addr=198.18.2.1:4433 # fr_relay_start's
ncpu=$(nproc)
((ncpu >= 2)) || fr_fail "fanout needs two CPUs: the relay's and the tools'"
relay_cpu=$((ncpu - 1))
tool_cpus=0-$((ncpu - 2))
echo "$relay_cpu" >"$out/relay-cpu"
# The relay CPU's clock, for cycles per byte: no cycle counter reaches a
# guest here, so busy time x this nominal frequency stands for cycles.
awk -v cpu="$relay_cpu" '$1 == "processor" { p = $3 }
    /^cpu MHz/ && p == cpu { print $4; exit }' /proc/cpuinfo >"$out/cpu-mhz"
# steer HOST DEV CPU: receive processing of packets arriving at DEV in
# HOST's namespace runs on CPU (RPS; a veth's receive runs its tc ingress
# programs there too).
steer() {
    ip netns exec "$(fr_ns "$1")" sh -c \
        'for q in /sys/class/net/$0/queues/rx-*/rps_cpus; do
             printf "%x\n" "$1" >"$q"; done' "$2" "$((1 << $3))"
}
# One upstream packet becomes N clones in one softirq run, queued at once
# for the subscribers' CPU: the default backlog (1000 packets) drops the
# tail of a 1000-subscriber fan-out.
fr_sysctl_for_run net.core.netdev_max_backlog 8192
steer relay origin "$relay_cpu"
steer relay sub "$relay_cpu"
steer origin relay 0
steer sub relay 0
fr_chacha_only "$out/chacha-only.conf"
tool_env=(env GNUTLS_SYSTEM_PRIORITY_FILE="$out/chacha-only.conf")
tool_flags=()
if [[ $crypto == cleartext ]]; then
    tool_env=(env)
    tool_flags=(--cleartext)
fi
echo "$crypto" >"$out/crypto"

fr_spawn relay bpf-stats python3 "$probe" stats
fr_wait_log bpf-stats '^stats on' 10

# copies_line JOB: the relay's latest count of kernel and userspace copies
# (its status line, once a second), for the kernel share in the window.
copies_line() {
    { grep 'fastpath copies kernel' "$(fr_job_log "$1")" || true; } |
        tail -n 1
}

# run_case MODE N: one case (userspace|fastpath, N subscribers).
run_case() {
    local mode=$1 n=$2 c=$1-$2 d=$out/$1-$2 flags=("${tool_flags[@]}")
    local procs i left k pid tools=() subs=() counts=() rc
    [[ $mode == fastpath ]] && flags+=(--fastpath)
    mkdir -p "$d"
    echo "fanout: $mode, $n subscriber(s), ${seconds}s window" >&2
    fr_relay_start "relay-$c" "$d" --stats-interval 1s "${flags[@]}"
    pid=${FR_JOBS[relay-$c]}
    taskset -a -p -c "$relay_cpu" "$pid" >/dev/null
    fr_spawn origin "origin-$c" taskset -c "$tool_cpus" "${tool_env[@]}" "$FR_BIN_DIR/fr-origin" "${tool_flags[@]}" \
        --connect "$relay_addr" --ca "$d/relay.pem" --fps 30 --gop 30 \
        --bitrate "$bitrate" --json "$d/origin.json" --stats-interval 0
    fr_wait_log "origin-$c" 'namespace live accepted' 10
    tools=("${FR_JOBS[origin-$c]}")
    python3 "$probe" sample "$pid" origin sub >"$d/before-subs.json"
    procs=$(((n + per_process - 1) / per_process))
    left=$n
    for ((i = 0; i < procs; i++)); do
        k=$((left / (procs - i)))
        left=$((left - k))
        counts+=("$k")
        fr_spawn sub "subs$i-$c" taskset -c "$tool_cpus" "${tool_env[@]}" "$FR_BIN_DIR/fr-sub" "${tool_flags[@]}" \
            --connect "$relay_addr" --ca "$d/relay.pem" \
            --connections "$k" --json "$d/subs$i.json" --stats-interval 1s
        subs+=("${FR_JOBS[subs$i-$c]}")
    done
    for ((i = 0; i < procs; i++)); do
        fr_wait_log "subs$i-$c" "sessions up ${counts[i]}/${counts[i]} " 90
    done
    # Every subscription taken, then past a group boundary (one group per
    # second: --gop 30 at 30 fps), where the kernel takes subscribers on.
    fr_wait_log "relay-$c" "subscribers $n tracks" 60
    sleep 3
    # The subscribers' delay statistics cover the objects from here on.
    kill -USR1 "${subs[@]}"
    tools+=("${subs[@]}")
    python3 "$probe" sample "$pid" origin sub "${tools[@]}" >"$d/start.json"
    copies_line "relay-$c" >"$d/start.copies"
    if [[ -n ${FR_BENCH_PERF:-} ]]; then
        perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" \
            -o "$d/perf.data" -- sleep "$seconds" \
            2>/dev/null
    else
        sleep "$seconds"
    fi
    python3 "$probe" sample "$pid" origin sub "${tools[@]}" >"$d/end.json"
    copies_line "relay-$c" >"$d/end.copies"
    fr_stop "origin-$c" 20 || fr_fail "$c: origin failed"
    # A subscriber process that saw objects missing or a session fail
    # exits non-zero: a result to report, not a reason to stop.
    for ((i = 0; i < procs; i++)); do
        rc=0
        fr_wait "subs$i-$c" 60 || rc=$?
        echo "$rc" >"$d/subs$i.rc"
    done
    fr_stop "relay-$c" 10 || fr_fail "$c: relay failed"
    echo "$n $mode" >"$d/case"
}

for n in $sizes; do
    for p in $paths; do
        run_case "$p" "$n"
    done
done
fr_stop bpf-stats || true
python3 "$root/test/bench/fanout_report.py" "$out" | tee "$out/report.txt"
