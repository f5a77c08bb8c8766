#!/usr/bin/env bash
# Flow control on the fast path (DESIGN.md rule 5): subscribers whose
# receive windows are small (4 KiB per stream, 16 KiB per connection, so a
# key frame does not fit) beside one with the default windows, 12 s of
# 2 Mbit/s media. The kernel may send no byte beyond a subscriber's
# stream or connection credit (one byte over and the subscriber closes
# the connection with FLOW_CONTROL_ERROR); it stops at the credit and
# userspace sends the rest once the subscriber raises it. Every object
# must arrive byte-exact with no connection error, the kernel must have
# met the stream credit limit, and still sent part of the copies. Needs
# root; FR_BIN_DIR names the directory holding fr-origin, fr-relay and
# fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=12 SLOW=3

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR

fr_relay_hosts

fr_fastpath_relay relay "$d" --stats-interval 5
fr_live_origin origin "$d" "$DURATION" 2M --stats-interval 0
sub=("$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --connect 198.18.2.1:4433 --ca "$d/relay.pem"
     --duration $((DURATION + 10)) --stats-interval 0)
fr_spawn sub slow "${sub[@]}" --connections "$SLOW" --stream-window 4096 \
    --conn-window 16384 --json "$d/slow.json"
fr_spawn sub fast "${sub[@]}" --json "$d/fast.json"
fr_wait origin 60 || fr_fail "origin failed"
fr_wait slow 60 || fr_fail "slow subscribers failed"
fr_wait fast 60 || fr_fail "subscriber with default windows failed"
fr_stop relay || fr_fail "relay did not exit cleanly"
python3 - "$d/slow.json" "$d/fast.json" "$d/relay.json" <<'PY' ||
import sys
from checks import failed_sessions, load, sessions
subs = sessions(sys.argv[1]) + sessions(sys.argv[2])
fp = load(sys.argv[3])["fastpath"]
ok = not failed_sessions("slow", subs, min_objects=300)
media = fp["kernel_copies"] + fp["userspace_copies"]
print(f"{len(subs)} subscribers intact; kernel {fp['kernel_copies']} / "
      f"userspace {fp['userspace_copies']} media copies; fallback "
      f"{fp['fallback']}")
if fp["fallback"]["no_stream_credit"] == 0:
    print("the kernel never met a subscriber's stream credit")
    ok = False
if fp["kernel_copies"] * 4 < media:
    print("the kernel sent less than a quarter of the copies")
    ok = False
sys.exit(0 if ok else 1)
PY
    fr_fail "flow-control check failed"
echo "PASS: the fast path keeps to slow readers' flow-control credit"
