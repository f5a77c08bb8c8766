#!/usr/bin/env bash
# Two origins publish through one fast-path relay, each its own track
# under the same track alias (1: every fr-origin picks it) and the same
# stream IDs; 3 subscriber sessions take both tracks each. The relay must
# tell the sessions two aliases, writing its own for the second track
# into the subgroup headers the kernel forwards, and the kernel must keep
# the two upstreams' streams apart for one subscriber (the subscriber
# stream map is keyed by upstream too). Every object intact on both
# tracks, at least 90 % of all media copies by the kernel, no stream left
# to userspace for its alias. Needs root; FR_BIN_DIR names the directory
# holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=10 SUBS=3

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR
fr_relay_hosts

fr_fastpath_relay relay "$d" --stats-interval 0
fr_live_origin origin_a "$d" "$DURATION" 1M --stats-interval 0 \
    --json "$d/origin_a.json"
fr_spawn origin origin_b "$bin/fr-origin" "${FR_CRYPTO_FLAGS[@]}" \
    --connect 198.18.2.1:4433 --ca "$d/relay.pem" --namespace live2 \
    --fps 30 --gop 30 --bitrate 600k --duration "$DURATION" \
    --stats-interval 0 --json "$d/origin_b.json"
fr_wait_log origin_b 'namespace live2 accepted' 10
fr_spawn sub subs "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" \
    --connect 198.18.2.1:4433 --ca "$d/relay.pem" --subscribe live/video \
    --subscribe live2/video --connections "$SUBS" \
    --duration $((DURATION + 10)) --stats-interval 0 --json "$d/subs.json"
for job in origin_a origin_b subs; do
    fr_wait "$job" 60 || fr_fail "$job failed"
done
fr_stop relay || fr_fail "relay did not exit cleanly"

python3 - "$d" <<'PY' || fr_fail "check failed"
import sys
from checks import failed_sessions, kernel_share_short, load, sessions
d = sys.argv[1]
fp = load(f"{d}/relay.json")["fastpath"]
subs = sessions(f"{d}/subs.json")
ok = len(subs) == 2 * 3
for track in ("live/video", "live2/video"):
    mine = [s for s in subs if s["track"] == track]
    aliases = {s["track_alias"] for s in mine}
    if len(mine) != 3 or failed_sessions(track, mine, min_objects=250,
                                         ended=True):
        ok = False
    else:
        print(f"{track}: 3 sessions intact, track ended, alias {aliases}")
for i in range(3):
    both = {s["track_alias"] for s in subs if s["session"] == i}
    if len(both) != 2:
        print(f"two origins: session {i} was told one alias for both "
              f"tracks: {both}")
        ok = False
if kernel_share_short("two origins", fp, 0.90):
    ok = False
if fp["fallback"]["alias_too_long"]:
    print("two origins: streams left to userspace for their alias")
    ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: two origins, one alias, both tracks through the kernel"
