#!/usr/bin/env bash
# Subscriber churn on the fast path: 200 subscribers join and leave over
# 60 s (waves of 10, every 3 s; every third wave is killed instead of
# leaving) while two stay for the whole track. The two get every object;
# afterwards the relay's fast-path maps hold exactly what they held before
# the churn (the same slots; no stream translation, credit, stream-ID
# pool, send state or fan-out entry of a slot that left), and its
# resident memory grew by at most 16 MiB from the churn's half-way point
# to its end (the process's exit checks leaks: LeakSanitizer in the
# sanitized build). Needs root; FR_BIN_DIR names the directory holding
# fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly WAVES=${FR_CHURN_WAVES:-20} PER_WAVE=10 EVERY=3

fr_netns_init
fr_require_cmd bpftool
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR
here=$(dirname "${BASH_SOURCE[0]}")
fr_relay_hosts

# ASan's quarantine keeps freed memory resident (up to 256 MiB); a small
# one makes the relay's RSS mean something and still catches recent
# use-after-free.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
fr_fastpath_relay relay "$d" --idle-timeout 2s --stats-interval 10
duration=$((WAVES * EVERY + 15))
fr_live_origin origin "$d" "$duration" 1M --json "$d/origin.json" \
    --stats-interval 10
sub=("$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --ca "$d/relay.pem" --connect 198.18.2.1:4433
     --stats-interval 0 --idle-timeout 2s)

fr_spawn sub steady "${sub[@]}" --connections 2 --duration $((duration + 20)) \
    --stats-interval 1 --json "$d/steady.json"
fr_wait_log steady 'sessions up 2/2' 20
sleep 3
pid=${FR_JOBS[relay]}
state() { python3 "$here/fp_state.py" "$pid"; }
base=$(state)
echo "baseline: $base"

killed() { (($1 % 3 == 2)); }
for ((w = 0; w < WAVES; w++)); do
    fr_spawn sub "wave$w" "${sub[@]}" --connections $PER_WAVE --duration 2
    sleep 1
    # Half-way, with a wave connected: its subscribers have slots too.
    if ((w == WAVES / 2)); then
        half=$(state)
    fi
    if killed "$w"; then
        kill -KILL "${FR_JOBS[wave$w]}"
    fi
    sleep $((EVERY - 1))
done
for ((w = 0; w < WAVES; w++)); do
    if killed "$w"; then
        fr_wait "wave$w" 10 || true
    else
        fr_wait "wave$w" 10 || fr_fail "wave $w of subscribers failed"
    fi
done
# Killed subscribers are let go at the relay's 2 s idle timeout: wait
# (up to 10 s) until its slots are the baseline's again.
slots_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["slots"])' "$1"; }
for ((i = 0; i < 20; i++)); do
    after=$(state)
    [[ $(slots_of "$after") == "$(slots_of "$base")" ]] && break
    sleep 0.5
done
echo "after churn: $after"
fr_wait steady $((duration + 40)) || fr_fail "the steady subscribers failed"
fr_wait origin 30 || fr_fail "origin failed"
fr_stop relay || fr_fail "relay did not exit cleanly (or leaked)"

python3 - "$base" "$half" "$after" "$d" $((WAVES * PER_WAVE)) <<'PY' ||
import json, sys
from checks import failed_sessions, load, sessions
base, half, after = (json.loads(a) for a in sys.argv[1:4])
d, churned = sys.argv[4], int(sys.argv[5])
ok = len(base["slots"]) == 2
if not ok:
    print(f"baseline: {base['slots']}, not the two steady subscribers' slots")
# The churners were served by the kernel: half-way, a wave held slots.
print(f"half-way: {len(half['slots'])} slots in use")
if len(half["slots"]) < 2 + 5:
    print("the churning subscribers got no slots: this tested nothing")
    ok = False
if after["slots"] != base["slots"]:
    print(f"slots {after['slots']} after the churn, {base['slots']} before")
    ok = False
live = set(after["slots"])
for what in ("substreams", "credit", "pools", "tx", "fanout"):
    stale = sorted(set(after[what]) - live)
    if stale:
        print(f"{what}: entries of slots that left: {stale}")
        ok = False
grew = after["rss_kib"] - half["rss_kib"]
print(f"relay RSS {base['rss_kib']} KiB before, {half['rss_kib']} half-way, "
      f"{after['rss_kib']} after {churned} joins and leaves")
if grew > 16 * 1024:
    print(f"relay RSS grew {grew} KiB in the second half of the churn")
    ok = False
steady = sessions(f"{d}/steady.json")
relay = load(f"{d}/relay.json")
if failed_sessions("steady", steady, skips=False, ended=True):
    ok = False
fp = relay["fastpath"]
print(f"steady subscribers: {[s['objects_received'] for s in steady]} "
      f"objects; kernel copies {fp['kernel_copies']}, late starts "
      f"{fp['late_starts']}")
sys.exit(0 if ok else 1)
PY
    fr_fail "churn check failed"
echo "PASS: $((WAVES * PER_WAVE)) subscribers came and went; the fast path's" \
    "state returned to its baseline"
