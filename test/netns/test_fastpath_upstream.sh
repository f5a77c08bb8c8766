#!/usr/bin/env bash
# The kernel fast path when the relay dials its origin (fr-relay
# --upstream): the relay's client connection keeps the origin's receive
# keys for the ingress program (in tls mode, FR_CRYPTO in netns.sh), the
# origin starts a key update every 3 s, 3 subscribers for 12 s of media:
# every object intact, at least 95 % of the media copies by the kernel,
# no upstream packet that failed to open in the kernel. Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=12 SUBS=3

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR
fr_relay_hosts

fr_spawn origin origin "$bin/fr-origin" "${FR_CRYPTO_FLAGS[@]}" \
    --listen 198.18.1.1:4433 --write-cert "$d/origin.pem" --fps 30 --gop 30 \
    --bitrate 1M --duration "$DURATION" --key-update-every 3s \
    --stats-interval 0 --json "$d/origin.json"
fr_wait_log origin 'listening on' 10
fr_fastpath_relay relay "$d" --upstream 198.18.1.1:4433 --ca "$d/origin.pem" \
    --stats-interval 0
fr_spawn sub subs "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --ca "$d/relay.pem" \
    --connect 198.18.2.1:4433 --connections "$SUBS" \
    --duration $((DURATION + 10)) --stats-interval 0 --json "$d/subs.json"
fr_wait origin 60 || fr_fail "origin failed"
fr_wait subs 60 || fr_fail "subscribers failed"
fr_stop relay || fr_fail "relay did not exit cleanly"

python3 - "$d" <<'PY' || fr_fail "check failed"
import sys
from checks import failed_sessions, kernel_share, load, sessions
d = sys.argv[1]
fp = load(f"{d}/relay.json")["fastpath"]
origin = load(f"{d}/origin.json")
subs = sessions(f"{d}/subs.json")
ok = not failed_sessions("upstream", subs, min_objects=300)
share = kernel_share(fp)
print(f"upstream: {len(subs)} subscribers intact; kernel "
      f"{fp['kernel_copies']} / userspace {fp['userspace_copies']} = "
      f"{100 * share:.1f} % kernel; origin key updates "
      f"{origin['key_updates']}; fallback {fp['fallback']}")
if share < 0.95:
    print("upstream: kernel share below 95 %")
    ok = False
if origin["key_updates"] < 2 or origin["key_update_failures"]:
    print("upstream: too few key updates, or failed ones")
    ok = False
if fp["fallback"]["open_failed"] or fp["fallback"]["no_keys"]:
    print("upstream: the kernel could not open some upstream packets")
    ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: kernel fast path from a dialled origin, through its key updates"
