#!/usr/bin/env bash
# Junk at the relay's port while it relays a live track: 200,000 datagrams
# in 8 s (random bytes, fake QUIC v1 Initials, unknown versions, short
# headers of no connection), half from the subscribers' side, half from
# the origin's side (through the fast path's upstream ingress program),
# with and without --fastpath. The relay must live on and exit cleanly,
# and three subscribers must get every object intact. Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-relay and fr-sub,
# FR_GARBAGE_BIN the fr-garbage binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=14 COUNT=${FR_GARBAGE_COUNT:-200000}

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
[[ -x ${FR_GARBAGE_BIN:-} ]] || fr_fail "FR_GARBAGE_BIN must name fr-garbage"
bin=$FR_BIN_DIR
fr_relay_hosts

run() {
    local label=$1 d=$FR_TMPDIR/$1 mode=()
    shift
    mkdir -p "$d"
    [[ $label == fastpath ]] && mode=("${FR_CRYPTO_FLAGS[@]}")
    fr_relay_start "relay-$label" "$d" --stats-interval 5 "$@"
    fr_origin_start "origin-$label" "$d" "$DURATION" 1M "${mode[@]}" \
        --stats-interval 5 --json "$d/origin.json"
    fr_spawn sub "subs-$label" "$bin/fr-sub" "${mode[@]}" \
        --ca "$d/relay.pem" --connect 198.18.2.1:4433 --connections 3 \
        --duration $((DURATION + 30)) --stats-interval 5 \
        --json "$d/subs.json"
    fr_wait_log "subs-$label" 'sessions up 3/3' 10
    fr_spawn sub "junk-sub-$label" "$FR_GARBAGE_BIN" --to 198.18.2.1 \
        --port 4433 --count $((COUNT / 2)) --duration 8 --seed 1
    fr_spawn origin "junk-origin-$label" "$FR_GARBAGE_BIN" --to 198.18.2.1 \
        --port 4433 --count $((COUNT / 2)) --duration 8 --seed 2
    fr_wait "junk-sub-$label" 30 || fr_fail "$label: fr-garbage failed"
    fr_wait "junk-origin-$label" 30 || fr_fail "$label: fr-garbage failed"
    grep -h '^sent=' "$(fr_job_log "junk-sub-$label")" \
        "$(fr_job_log "junk-origin-$label")" | sed "s/^/$label: junk: /"
    kill -0 "${FR_JOBS[relay-$label]}" 2>/dev/null ||
        fr_fail "$label: the relay died under junk"
    fr_wait "origin-$label" $((DURATION + 30)) ||
        fr_fail "$label: origin failed"
    fr_wait "subs-$label" 60 || fr_fail "$label: subscribers failed"
    fr_stop "relay-$label" || fr_fail "$label: relay did not exit cleanly"

    python3 - "$label" "$d" <<'PY' || fr_fail "$label: check failed"
import sys
from checks import delivery_problem, load, sessions
label, d = sys.argv[1], sys.argv[2]
subs = sessions(f"{d}/subs.json")
last = load(f"{d}/origin.json")["groups"] - 1
ok = len(subs) == 3
for i, s in enumerate(subs):
    print(f"{label}: session {i}: {s['objects_received']} objects, "
          f"{s['objects_missing']} missing, {s['objects_corrupt']} corrupt, "
          f"groups {s['start_group']}-{s['last_group']}")
    why = delivery_problem(s, min_objects=0, ended=True)
    if why or s["last_group"] != last or s["start_group"] > 1:
        print(f"{label}: session {i} did not get the whole track "
              f"({why or 'groups'}): {s}")
        ok = False
sys.exit(0 if ok else 1)
PY
}

run userspace
run fastpath "${FR_CRYPTO_FLAGS[@]}" --fastpath
echo "PASS: the relay lived through $COUNT junk datagrams per path;" \
    "every subscriber got every object"
