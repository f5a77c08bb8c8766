#!/usr/bin/env bash
# An application's own fast-path policy (examples/keyframes-relay, through
# fr_fastpath_set_hooks): with --keyframes-only, subscribers get the key
# frames (subgroups at publisher priority 0) and nothing else, whole and
# intact; the other subgroups are dropped by policy, in the kernel and in
# userspace alike; the CID hook saw each subscriber's connection ID and
# the registration hook every registered kernel packet. Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-sub and
# keyframes-relay.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=10 SUBS=3

fr_netns_init
for b in fr-origin fr-sub keyframes-relay; do
    [[ -x ${FR_BIN_DIR:-}/$b ]] || fr_fail "FR_BIN_DIR must hold $b"
done
bin=$FR_BIN_DIR
d=$FR_TMPDIR

fr_host_add origin
fr_host_add relay
fr_host_add sub
fr_link origin relay 198.18.1.1/24 198.18.1.2/24
fr_link relay sub 198.18.2.1/24 198.18.2.2/24
fr_route origin 198.18.2.0/24 198.18.1.2

fr_spawn relay relay "$bin/keyframes-relay" --listen 198.18.2.1:4433 \
    --cert-out "$d/relay.pem" --keyframes-only --duration $((DURATION + 20))
fr_wait_log relay 'listening on' 10
fr_spawn origin origin "$bin/fr-origin" --cleartext \
    --connect 198.18.2.1:4433 --ca "$d/relay.pem" --fps 30 --gop 30 \
    --bitrate 1M --duration "$DURATION" --stats-interval 0
fr_wait_log origin 'namespace live accepted' 10
fr_spawn sub subs "$bin/fr-sub" --cleartext --connect 198.18.2.1:4433 \
    --ca "$d/relay.pem" --connections "$SUBS" --duration $((DURATION + 5)) \
    --stats-interval 0 --json "$d/subs.json"
fr_wait origin 60 || fr_fail "origin failed"
# Subscribers miss objects by design: their exit status says so.
fr_wait subs 60 || true
fr_stop relay || fr_fail "keyframes-relay did not exit cleanly"

summary=$(grep '^keyframes-relay: kernel copies' "$(fr_job_log relay)") ||
    fr_fail "keyframes-relay printed no summary"
echo "$summary"
cids=$(grep -c 'subscriber CID now' "$(fr_job_log relay)" || true)
python3 - "$d/subs.json" "$summary" "$cids" "$SUBS" <<'PY' ||
import json, re, sys
subs = json.load(open(sys.argv[1]))["sessions"]
nums = dict(re.findall(r"([a-z ]+?) (\d+)", sys.argv[2].split(": ", 1)[1]))
nums = {k.strip(): int(v) for k, v in nums.items()}
cids, nsubs = int(sys.argv[3]), int(sys.argv[4])
ok = True
for i, s in enumerate(subs):
    # 10 s at one group per second: the key frame of each group, nothing
    # of the other 29 frames (a joining FETCH adds a few objects of the
    # group in flight at the start, which the policy does not cover).
    if (s["objects_corrupt"] or s["error"] or s["objects_received"] < 8
            or s["objects_received"] > 10 + s["objects_fetched"]
            or s["objects_missing"] == 0):
        print(f"subscriber {i}: {s}")
        ok = False
print(f"{len(subs)} subscribers got {[s['objects_received'] for s in subs]} "
      f"objects (key frames only); relay: {nums}; CID hook calls {cids}")
if nums["policy drops"] == 0 or nums["kernel copies"] == 0:
    print("no policy drops, or nothing from the kernel")
    ok = False
if nums["registered"] != nums["hook saw"]:
    print("the registration hook missed registrations")
    ok = False
if cids < nsubs:
    print("the CID hook did not see every subscriber")
    ok = False
sys.exit(0 if ok else 1)
PY
    fr_fail "key-frame policy check failed"
echo "PASS: an application's priority policy through the fast-path hooks"
