#!/usr/bin/env bash
# End to end through the userspace MoQT relay, in tls and cleartext mode:
# origin -> relay -> 10 subscribers for 20 s of synthetic media, every
# object of every group byte-exact; a subscriber joining at 10 s starts at
# the latest group; a subscriber killed mid-stream and one behind a link
# too slow for the stream disturb nobody (the slow one loses whole
# subgroups, never parts of objects); FETCH of an earlier group is served
# from the relay's cache; and origin -> relay -> relay -> subscribers
# works. Needs root; FR_BIN_DIR names the
# directory holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=20 FPS=30 GOP=30 SUBS=10

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR

fr_host_add origin
fr_host_add relay
fr_host_add sub
fr_host_add relay2
fr_host_add slow
fr_link origin relay 198.18.1.1/24 198.18.1.2/24
fr_link relay sub 198.18.2.1/24 198.18.2.2/24
fr_link relay relay2 198.18.3.1/24 198.18.3.2/24
fr_link relay2 sub 198.18.4.1/24 198.18.4.2/24
fr_link relay slow 198.18.9.1/24 198.18.9.2/24
fr_route origin 198.18.2.0/24 198.18.1.2
fr_route relay2 198.18.2.0/24 198.18.3.1
fr_route slow 198.18.2.0/24 198.18.9.1
# The stream is 1 Mbit/s; this subscriber's link carries 300 kbit/s.
fr_tbf relay slow 300kbit 16kb 500ms

json() { python3 - "$@"; }

# check_sessions FILE LABEL MIN_OBJECTS: every session complete and exact.
check_sessions() {
    json "$1" "$2" "$3" <<'PY' || fr_fail "$2: delivery check failed"
import sys
from checks import delivery_problem, sessions as sessions_of
path, label, min_objects = sys.argv[1], sys.argv[2], int(sys.argv[3])
sessions = sessions_of(path)
bad = [(i, s) for i, s in enumerate(sessions)
       if delivery_problem(s, min_objects=min_objects)]
print(f"{label}: {len(sessions)} sessions, objects per session "
      f"{min(s['objects_received'] for s in sessions)}.."
      f"{max(s['objects_received'] for s in sessions)}, delay p50 "
      f"{sessions[0]['delay_us']['p50']} us p99 "
      f"{sessions[0]['delay_us']['p99']} us")
for i, s in bad:
    print(f"{label}: session {i} failed: {s}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

run_mode() {
    local mode=$1 flags=() d=$FR_TMPDIR/$1
    [[ $mode == cleartext ]] && flags=(--cleartext)
    mkdir -p "$d"

    fr_spawn relay "relay-$mode" "$bin/fr-relay" --listen 198.18.2.1:4433 \
        --write-cert "$d/relay.pem" --json "$d/relay.json" \
        --max-queue 262144 --stats-interval 5 "${flags[@]}"
    fr_wait_log "relay-$mode" 'listening on' 10
    fr_spawn relay2 "relay2-$mode" "$bin/fr-relay" --listen 198.18.4.1:4433 \
        --write-cert "$d/relay2.pem" --upstream 198.18.2.1:4433 \
        --ca "$d/relay.pem" --stats-interval 5 "${flags[@]}"
    fr_wait_log "relay2-$mode" 'listening on' 10

    fr_spawn origin "origin-$mode" "$bin/fr-origin" \
        --connect 198.18.2.1:4433 --ca "$d/relay.pem" --fps "$FPS" \
        --gop "$GOP" --bitrate 1M --duration "$DURATION" \
        --json "$d/origin.json" --stats-interval 5 "${flags[@]}"
    fr_wait_log "origin-$mode" 'namespace live accepted' 10

    local sub=("$bin/fr-sub" --ca "$d/relay.pem" --duration 40
               --stats-interval 5 "${flags[@]}")
    fr_spawn sub "subs-$mode" "${sub[@]}" --connect 198.18.2.1:4433 \
        --connections "$SUBS" --json "$d/subs.json"
    fr_spawn sub "victim-$mode" "${sub[@]}" --connect 198.18.2.1:4433 \
        --connections 2
    fr_spawn slow "slow-$mode" "${sub[@]}" --connect 198.18.2.1:4433 \
        --json "$d/slow.json"
    fr_spawn sub "chain-$mode" "$bin/fr-sub" --ca "$d/relay2.pem" \
        --duration 40 --stats-interval 5 "${flags[@]}" \
        --connect 198.18.4.1:4433 --connections 2 --json "$d/chain.json"

    sleep 5
    # A subscriber dies without a word; the relay must carry on.
    kill -KILL "${FR_JOBS[victim-$mode]}"
    sleep 5
    fr_spawn sub "late-$mode" "${sub[@]}" --connect 198.18.2.1:4433 \
        --json "$d/late.json"
    sleep 2
    fr_exec sub "$bin/fr-sub" --ca "$d/relay.pem" "${flags[@]}" \
        --connect 198.18.2.1:4433 --fetch 9 --duration 10 \
        --stats-interval 0 --json "$d/fetch.json" ||
        fr_fail "$mode: fetch of group 9 failed"

    fr_wait "origin-$mode" 60 || fr_fail "$mode: origin failed"
    fr_wait "subs-$mode" 60 || fr_fail "$mode: subscribers failed"
    fr_wait "chain-$mode" 60 || fr_fail "$mode: chained subscribers failed"
    fr_wait "late-$mode" 60 || fr_fail "$mode: late joiner failed"
    # It misses objects by design; its exit status says so.
    fr_wait "slow-$mode" 60 || true
    fr_stop "relay2-$mode" || true
    fr_stop "relay-$mode" || fr_fail "$mode: relay did not exit cleanly"

    # 20 s at 30 fps, less the first group the relay may join mid-way.
    check_sessions "$d/subs.json" "$mode subscribers" 500
    check_sessions "$d/chain.json" "$mode relay chain" 500
    check_sessions "$d/late.json" "$mode late joiner" 200
    json "$d/late.json" "$d/fetch.json" "$d/relay.json" "$d/slow.json" <<'PY' ||
import json, sys
late = json.load(open(sys.argv[1]))["sessions"][0]
fetch = json.load(open(sys.argv[2]))["sessions"][0]
relay = json.load(open(sys.argv[3]))
slow = json.load(open(sys.argv[4]))["sessions"][0]
ok = True
if (relay["subgroups_reset"] == 0 or slow["objects_corrupt"] or slow["error"]
        or slow["objects_received"] == 0):
    print(f"slow subscriber: {slow}, relay reset {relay['subgroups_reset']}")
    ok = False
if late["start_group"] < 8 or late["objects_fetched"] < 1:
    print(f"late joiner did not start at the latest group: {late}")
    ok = False
if fetch["objects_received"] != 30 or fetch["objects_corrupt"]:
    print(f"fetch of group 9 returned {fetch}")
    ok = False
if relay["objects_forwarded"] == 0 or relay["subscribers"] != 0:
    print(f"relay summary unexpected: {relay}")
    ok = False
print(f"slow subscriber got {slow['objects_received']} intact objects, "
      f"missed {slow['objects_missing']}; the relay reset "
      f"{relay['subgroups_reset']} subgroups for it")
print(f"late joiner started at group {late['start_group']} with "
      f"{late['objects_fetched']} fetched objects; fetch returned "
      f"{fetch['objects_received']} objects; relay forwarded "
      f"{relay['objects_forwarded']} objects")
sys.exit(0 if ok else 1)
PY
        fr_fail "$mode: late join / fetch / relay check failed"
}

run_mode tls
run_mode cleartext
echo "PASS: relay fan-out, late join, kill, fetch and chain in both modes"
