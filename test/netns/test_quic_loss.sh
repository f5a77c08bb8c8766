#!/usr/bin/env bash
# QUIC under seeded loss: a server and a client in two namespaces, 5 % loss
# injected by fr-impair on both directions of the link, in tls and cleartext
# mode. Every stream byte must arrive exactly, and the impairment must have
# dropped packets for the run to count. A last run adds a 20 Mbit/s TBF
# bottleneck and checks the transfer is held to it. Needs root;
# FR_IMPAIR_BIN and FR_XFER_BIN name the tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly STREAMS=50 STREAM_SIZE=40000 LOSS_PERCENT=5

fr_netns_init
[[ -x ${FR_XFER_BIN:-} ]] || fr_fail "FR_XFER_BIN must name fr-xfer"

fr_host_add srv
fr_host_add cli
fr_link srv cli 198.18.10.1/24 198.18.10.2/24

# run_mode MODE SEED: one transfer with both link directions impaired.
run_mode() {
    local mode=$1 seed=$2 flags=() json drops_s drops_c
    [[ $mode == cleartext ]] && flags=(--cleartext)
    json=$FR_TMPDIR/result-$mode.json
    fr_impair srv cli egress --loss "$LOSS_PERCENT" --seed "$seed" --udp-only
    fr_impair cli srv egress --loss "$LOSS_PERCENT" --seed "$((seed + 1))" \
        --udp-only
    fr_spawn srv "server-$mode" "$FR_XFER_BIN" --listen 198.18.10.1:4433 \
        --write-cert "$FR_TMPDIR/cert-$mode.pem" "${flags[@]}" \
        --streams "$STREAMS" --stream-size "$STREAM_SIZE" --timeout 60
    fr_wait_log "server-$mode" 'listening on' 10
    fr_exec cli "$FR_XFER_BIN" --connect 198.18.10.1:4433 \
        --ca "$FR_TMPDIR/cert-$mode.pem" "${flags[@]}" \
        --streams "$STREAMS" --stream-size "$STREAM_SIZE" --timeout 50 \
        --json "$json" || fr_fail "$mode: transfer failed"
    fr_stop "server-$mode" || true
    fr_impair_stop srv cli egress
    fr_impair_stop cli srv egress
    drops_s=$(fr_impair_counter srv cli egress dropped)
    drops_c=$(fr_impair_counter cli srv egress dropped)
    echo "$mode: dropped server->client $drops_s, client->server $drops_c"
    ((drops_s > 0 && drops_c > 0)) ||
        fr_fail "$mode: no packet was dropped; the test proved nothing"
    grep -q '"ok":true' "$json" || fr_fail "$mode: client reported failure"
    grep -q "\"bytes\":$((STREAMS * STREAM_SIZE))," "$json" ||
        fr_fail "$mode: wrong byte count: $(cat "$json")"
    grep -q '"corrupt":0,' "$json" || fr_fail "$mode: corrupt bytes"
}

run_mode tls 101
run_mode cleartext 202

fr_tbf srv cli 20mbit 16kb 50ms
run_mode tls 303
mbit=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(int(r["bytes"] * 8 / r["seconds"] / 1e6))' "$FR_TMPDIR/result-tls.json")
echo "bottleneck: ${mbit} Mbit/s through a 20 Mbit/s TBF"
((mbit <= 21)) || fr_fail "transfer at $mbit Mbit/s ignored the 20 Mbit/s TBF"
echo "PASS: every stream byte-exact under ${LOSS_PERCENT}% loss in both modes"
