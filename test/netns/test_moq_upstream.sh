#!/usr/bin/env bash
# The other ways to feed a relay: the origin listens and the relay
# subscribes to it as its --upstream (tls and cleartext), or the origin
# pushes its track with PUBLISH. Two subscribers behind the relay must get
# every object of 8 s of synthetic media. Once more with the --upstream
# origin listening only a second after the subscribers came: their
# SUBSCRIBEs wait for the relay's upstream session (they were refused,
# "cannot subscribe upstream"). Needs root; FR_BIN_DIR names the
# directory holding the tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

fr_netns_init
fr_require_cmd openssl
bin=${FR_BIN_DIR:?FR_BIN_DIR must name the tools directory}

fr_host_add origin
fr_host_add relay
fr_host_add sub
fr_link origin relay 198.18.7.1/24 198.18.7.2/24
fr_link relay sub 198.18.8.1/24 198.18.8.2/24
fr_route origin 198.18.8.0/24 198.18.7.2

# run NAME WIRING MODE: WIRING is "upstream", "late" (upstream, the origin
# starting after the subscribers) or "publish".
run() {
    local name=$1 wiring=$2 mode=$3 flags=() d=$FR_TMPDIR/$1
    [[ $mode == cleartext ]] && flags=(--cleartext)
    mkdir -p "$d"
    if [[ $wiring == upstream ]]; then
        fr_spawn origin "origin-$name" "$bin/fr-origin" \
            --listen 198.18.7.1:4433 --write-cert "$d/origin.pem" \
            --duration 8 --stats-interval 0 "${flags[@]}"
        fr_wait_log "origin-$name" 'listening on' 10
        fr_spawn relay "relay-$name" "$bin/fr-relay" \
            --listen 198.18.8.1:4433 --write-cert "$d/relay.pem" \
            --upstream 198.18.7.1:4433 --ca "$d/origin.pem" \
            --stats-interval 0 "${flags[@]}"
        fr_wait_log "relay-$name" 'listening on' 10
    elif [[ $wiring == late ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -nodes -keyout "$d/origin.key" -out "$d/origin.pem" -days 2 \
            -subj /CN=198.18.7.1 -addext subjectAltName=IP:198.18.7.1 \
            2>/dev/null
        fr_spawn relay "relay-$name" "$bin/fr-relay" \
            --listen 198.18.8.1:4433 --write-cert "$d/relay.pem" \
            --upstream 198.18.7.1:4433 --ca "$d/origin.pem" \
            --stats-interval 0 "${flags[@]}"
        fr_wait_log "relay-$name" 'listening on' 10
        # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
        fr_spawn origin "origin-$name" sh -c 'sleep 1; exec "$0" "$@"' \
            "$bin/fr-origin" --listen 198.18.7.1:4433 --cert "$d/origin.pem" \
            --key "$d/origin.key" --duration 8 --stats-interval 0 \
            "${flags[@]}"
    else
        fr_spawn relay "relay-$name" "$bin/fr-relay" \
            --listen 198.18.8.1:4433 --write-cert "$d/relay.pem" \
            --stats-interval 0 "${flags[@]}"
        fr_wait_log "relay-$name" 'listening on' 10
        fr_spawn origin "origin-$name" "$bin/fr-origin" \
            --connect 198.18.8.1:4433 --ca "$d/relay.pem" --publish \
            --duration 8 --stats-interval 0 "${flags[@]}"
        fr_wait_log "origin-$name" 'track .* accepted' 10
    fi
    fr_exec sub "$bin/fr-sub" --connect 198.18.8.1:4433 --ca "$d/relay.pem" \
        --connections 2 --duration 30 --stats-interval 0 \
        --json "$d/subs.json" "${flags[@]}" ||
        fr_fail "$name: subscribers reported a problem"
    fr_wait "origin-$name" 30 || fr_fail "$name: origin failed"
    fr_stop "relay-$name" || fr_fail "$name: relay did not exit cleanly"
    python3 - "$d/subs.json" "$name" <<'PY' || fr_fail "$name: check failed"
import sys
from checks import failed_sessions, sessions
subs = sessions(sys.argv[1])
if failed_sessions(sys.argv[2], subs, min_objects=150, skips=False):
    sys.exit(1)
print(f"{sys.argv[2]}: {len(subs)} subscribers, "
      f"{subs[0]['objects_received']} objects each, all intact")
PY
}

run upstream-tls upstream tls
run upstream-cleartext upstream cleartext
run late-upstream-tls late tls
run publish-tls publish tls
echo "PASS: relay fed through --upstream and through PUBLISH"
