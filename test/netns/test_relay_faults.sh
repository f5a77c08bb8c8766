#!/usr/bin/env bash
# Faults end to end:
# 1. relay: fr-relay --fastpath (dialling the origin, --upstream) is killed
#    with SIGKILL mid-stream: none of its programs stays attached and none
#    of its maps stays loaded; started again on the same interfaces, it
#    attaches afresh, and subscribers that reconnect (fr-sub --reconnect)
#    get objects again, intact.
# 2. origin: fr-origin (announcing to the relay) is killed and started
#    again: the subscribers see the track end, subscribe again and go on
#    with the new origin's objects.
# 3. relay, announced to: fr-relay (userspace) is killed and started
#    again while fr-origin --reconnect announces to it: the origin
#    connects again and announces anew, the subscribers reconnect and
#    get its objects again, intact; the origin ends well.
# Idle timeouts of 2 s make the vanished peer noticed quickly. Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

fr_netns_init
fr_require_cmd bpftool openssl
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR
fr_relay_hosts

# The relay keeps its certificate across restarts, as a real one would.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/relay.key" -out "$d/relay.pem" -days 2 \
    -subj /CN=198.18.2.1 -addext subjectAltName=IP:198.18.2.1 2>/dev/null

attached() {
    ip netns exec "$(fr_ns relay)" bpftool net show 2>/dev/null |
        grep -E 'fr_upstream_ing|fr_subscriber_e' || true
}
# wait_attached: the relay attaches once its upstream connection is up.
wait_attached() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -n $(attached) ]] && return 0
        sleep 0.1
    done
    return 1
}

check_subs() {
    python3 - "$@" <<'PY'
import sys
from checks import delivery_problem, sessions as sessions_of
label, path, want = sys.argv[1], sys.argv[2], sys.argv[3]
sessions = sessions_of(path)
ok = len(sessions) == 3
for i, s in enumerate(sessions):
    print(f"{label}: session {i}: {s['objects_received']} objects, "
          f"{s['objects_missing']} missing, {s['objects_corrupt']} corrupt, "
          f"{s['reconnects']} reconnects, {s['resubscribes']} resubscribes, "
          f"{s['objects_last_subscription']} objects since the last")
    # Relay gone: each session connects again. Origin gone: each
    # subscribes again on a session that stays up while the track is
    # away (clients' keep-alive outlasts the 2 s idle timeout).
    again = (s["reconnects"] >= 1 if want == "reconnects" else
             s["resubscribes"] >= 1 and s["reconnects"] == 0)
    if (delivery_problem(s, min_objects=0, errors=False) or not again
            or s["objects_last_subscription"] < 60):
        print(f"{label}: session {i} did not come back intact: {s}")
        ok = False
sys.exit(0 if ok else 1)
PY
}

relay_args=(--listen 198.18.2.1:4433 --cert "$d/relay.pem" --key "$d/relay.key"
            --idle-timeout 2s --stats-interval 5)
sub_args=(--ca "$d/relay.pem" --connect 198.18.2.1:4433 --connections 3
          --reconnect --idle-timeout 2s --stats-interval 5)

# 1. The relay killed and started again, with the fast path.
fr_spawn origin origin1 "$bin/fr-origin" "${FR_CRYPTO_FLAGS[@]}" \
    --listen 198.18.1.1:4433 --write-cert "$d/origin.pem" --fps 30 --gop 30 \
    --bitrate 1M --duration 30 --idle-timeout 2s --stats-interval 5
fr_wait_log origin1 'listening on' 10
up=(--upstream 198.18.1.1:4433 --ca "$d/origin.pem" "${FR_CRYPTO_FLAGS[@]}" --fastpath)
fr_spawn relay relay1 "$bin/fr-relay" "${relay_args[@]}" "${up[@]}"
fr_wait_log relay1 'listening on' 10
fr_spawn sub subs1 "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" "${sub_args[@]}" --duration 20 \
    --json "$d/subs1.json"
fr_wait_log subs1 'sessions up 3/3' 10
sleep 5
pid=${FR_JOBS[relay1]}
maps=$(fr_maps_of "$pid")
wait_attached && [[ -n $maps ]] || fr_fail "the fast path is not running"
kill -KILL "$pid"
fr_wait relay1 5 || true
left=$(attached)
[[ -z $left ]] || fr_fail "programs left attached after SIGKILL: $left"
# The kernel frees a map once the last reference (fd, program) is gone,
# in deferred work: give it up to 5 s.
for id in $maps; do
    for ((i = 0; i < 50; i++)); do
        bpftool map show id "$id" >/dev/null 2>&1 || continue 2
        sleep 0.1
    done
    fr_fail "map $id still loaded 5 s after the relay was killed"
done
echo "relay: killed; nothing of it stays attached or loaded"
sleep 1
fr_spawn relay relay2 "$bin/fr-relay" "${relay_args[@]}" "${up[@]}" \
    --json "$d/relay2.json"
fr_wait_log relay2 'listening on' 10
wait_attached || fr_fail "the restarted relay did not attach"
fr_wait subs1 40 || fr_fail "relay: subscribers failed"
fr_stop relay2 || fr_fail "relay: the restarted relay did not exit cleanly"
fr_stop origin1 || true
[[ -z $(attached) ]] || fr_fail "programs left after the relay exited"
check_subs relay "$d/subs1.json" reconnects || fr_fail "relay: check failed"

# 2. The origin killed and started again (userspace relay, TLS).
fr_spawn relay relay3 "$bin/fr-relay" "${relay_args[@]}"
fr_wait_log relay3 'listening on' 10
origin_args=(--connect 198.18.2.1:4433 --ca "$d/relay.pem" --fps 30 --gop 30
             --bitrate 1M --idle-timeout 2s --stats-interval 5)
fr_spawn origin origin2 "$bin/fr-origin" "${origin_args[@]}" --duration 30
fr_wait_log origin2 'namespace live accepted' 10
fr_spawn sub subs2 "$bin/fr-sub" "${sub_args[@]}" --duration 20 \
    --json "$d/subs2.json"
fr_wait_log subs2 'sessions up 3/3' 10
sleep 5
kill -KILL "${FR_JOBS[origin2]}"
fr_wait origin2 5 || true
sleep 3
fr_spawn origin origin3 "$bin/fr-origin" "${origin_args[@]}" --duration 30
fr_wait_log origin3 'namespace live accepted' 10
fr_wait subs2 40 || fr_fail "origin: subscribers failed"
fr_stop origin3 || true
fr_stop relay3 || fr_fail "origin: the relay did not exit cleanly"
check_subs origin "$d/subs2.json" resubscribes || fr_fail "origin: check failed"

# 3. The relay an origin announces to killed and started again.
fr_spawn relay relay4 "$bin/fr-relay" "${relay_args[@]}"
fr_wait_log relay4 'listening on' 10
fr_spawn origin origin4 "$bin/fr-origin" "${origin_args[@]}" --duration 25 \
    --reconnect --json "$d/origin4.json"
fr_wait_log origin4 'namespace live accepted' 10
fr_spawn sub subs3 "$bin/fr-sub" "${sub_args[@]}" --duration 20 \
    --json "$d/subs3.json"
fr_wait_log subs3 'sessions up 3/3' 10
sleep 5
kill -KILL "${FR_JOBS[relay4]}"
fr_wait relay4 5 || true
sleep 1
fr_spawn relay relay5 "$bin/fr-relay" "${relay_args[@]}"
fr_wait_log relay5 'listening on' 10
fr_wait subs3 40 || fr_fail "announced relay: subscribers failed"
fr_wait origin4 40 || fr_fail "announced relay: the origin failed"
fr_stop relay5 || fr_fail "announced relay: the relay did not exit cleanly"
check_subs "announced relay" "$d/subs3.json" reconnects ||
    fr_fail "announced relay: check failed"
python3 - "$d/origin4.json" <<'PY' || fr_fail "announced relay: origin check failed"
import sys
from checks import load
origin = load(sys.argv[1])
print(f"announced relay: the origin connected again {origin['reconnects']} "
      f"times")
sys.exit(0 if origin["reconnects"] >= 1 else 1)
PY
echo "PASS: subscribers came back after the relay and the origin restarted"
