#!/usr/bin/env bash
# The other way to wire a relay: the origin listens and the relay
# subscribes to it as its --upstream. Two subscribers behind the relay must
# get every object of 8 s of synthetic media, in both crypto modes. Needs
# root; FR_BIN_DIR names the directory holding the tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

fr_netns_init
bin=${FR_BIN_DIR:?FR_BIN_DIR must name the tools directory}

fr_host_add origin
fr_host_add relay
fr_host_add sub
fr_link origin relay 198.18.7.1/24 198.18.7.2/24
fr_link relay sub 198.18.8.1/24 198.18.8.2/24

for mode in tls cleartext; do
    flags=()
    [[ $mode == cleartext ]] && flags=(--cleartext)
    d=$FR_TMPDIR/$mode
    mkdir -p "$d"
    fr_spawn origin "origin-$mode" "$bin/fr-origin" --listen 198.18.7.1:4433 \
        --write-cert "$d/origin.pem" --duration 8 --stats-interval 0 \
        "${flags[@]}"
    fr_wait_log "origin-$mode" 'listening on' 10
    fr_spawn relay "relay-$mode" "$bin/fr-relay" --listen 198.18.8.1:4433 \
        --write-cert "$d/relay.pem" --upstream 198.18.7.1:4433 \
        --ca "$d/origin.pem" --stats-interval 0 "${flags[@]}"
    fr_wait_log "relay-$mode" 'listening on' 10
    fr_exec sub "$bin/fr-sub" --connect 198.18.8.1:4433 --ca "$d/relay.pem" \
        --connections 2 --duration 30 --stats-interval 0 \
        --json "$d/subs.json" "${flags[@]}" ||
        fr_fail "$mode: subscribers reported a problem"
    fr_wait "origin-$mode" 30 || fr_fail "$mode: origin failed"
    fr_stop "relay-$mode" || fr_fail "$mode: relay did not exit cleanly"
    python3 - "$d/subs.json" "$mode" <<'PY' || fr_fail "$mode: check failed"
import json, sys
sessions = json.load(open(sys.argv[1]))["sessions"]
for s in sessions:
    assert s["objects_received"] >= 180, s
    assert not (s["objects_missing"] or s["objects_corrupt"] or s["error"]), s
print(f"{sys.argv[2]}: {len(sessions)} subscribers behind an upstream relay, "
      f"{sessions[0]['objects_received']} objects each, all intact")
PY
done
echo "PASS: relay with --upstream to a listening origin, both modes"
