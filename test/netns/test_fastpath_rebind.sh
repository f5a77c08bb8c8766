#!/usr/bin/env bash
# The fast path follows a subscriber that moves: 5 s into the stream a NAT
# rebinding (fr-rebind) gives the subscribers' host a new UDP port, and
# the old one stops receiving a second later. The relay's connections
# migrate (ngtcp2 validates the new path) and the kernel must send its
# copies to the new port from then on: every object arrives intact, the
# relay logs the move, and the kernel's copies are not lost wholesale
# (packets declared lost stay a small fraction). Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-relay and fr-sub,
# FR_REBIND_BIN the fr-rebind binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=15 SUBS=3

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
[[ -x ${FR_REBIND_BIN:-} ]] || fr_fail "FR_REBIND_BIN must name fr-rebind"
bin=$FR_BIN_DIR
d=$FR_TMPDIR

fr_relay_hosts

fr_fastpath_relay relay "$d" --stats-interval 5 -v
fr_live_origin origin "$d" "$DURATION" 1M --stats-interval 0
fr_spawn sub rebind "$FR_REBIND_BIN" --dev relay --after 5
fr_wait_log rebind '^attached' 10
fr_spawn sub subs "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --connect 198.18.2.1:4433 \
    --ca "$d/relay.pem" --connections "$SUBS" --duration $((DURATION + 5)) \
    --stats-interval 0 --json "$d/subs.json"
fr_wait origin 60 || fr_fail "origin failed"
fr_wait subs 60 || fr_fail "subscribers failed"
fr_stop relay || fr_fail "relay did not exit cleanly"
fr_stop rebind || fr_fail "fr-rebind did not exit cleanly"
grep -q '^rebound' "$(fr_job_log rebind)" || fr_fail "no rebinding happened"
moves=$(grep -c 'moved to port' "$(fr_job_log relay)" || true)
python3 - "$d/subs.json" "$d/relay.json" "$moves" "$SUBS" <<'PY' ||
import sys
from checks import failed_sessions, load, sessions
subs = sessions(sys.argv[1])
fp = load(sys.argv[2])["fastpath"]
moves, nsubs = int(sys.argv[3]), int(sys.argv[4])
ok = not failed_sessions("rebind", subs, min_objects=400)
print(f"{len(subs)} subscribers intact across the rebinding; slots moved "
      f"{moves} times; kernel copies {fp['kernel_copies']}, userspace "
      f"{fp['userspace_copies']}, retransmitted {fp['retransmitted']}")
if moves < nsubs:
    print("the kernel did not follow every subscriber")
    ok = False
if fp["kernel_copies"] == 0 or fp["retransmitted"] * 20 > fp["kernel_copies"]:
    print("kernel copies went astray after the move")
    ok = False
sys.exit(0 if ok else 1)
PY
    fr_fail "rebinding check failed"
echo "PASS: the fast path follows subscribers that move"
