#!/usr/bin/env bash
# The relay's session limit: with --max-sessions 4 (the origin's session
# and three subscribers'), two more subscribers are refused at once
# (QUIC CONNECTION_REFUSED, said in fr-sub's message, well before the
# handshake timeout) while the three get every object of the track.
# Needs root; FR_BIN_DIR names the directory holding fr-origin, fr-relay
# and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR
fr_relay_hosts

fr_spawn relay relay "$bin/fr-relay" --listen 198.18.2.1:4433 \
    --write-cert "$d/relay.pem" --json "$d/relay.json" --stats-interval 5 \
    --max-sessions 4
fr_wait_log relay 'listening on' 10
fr_spawn origin origin "$bin/fr-origin" --connect 198.18.2.1:4433 \
    --ca "$d/relay.pem" --fps 30 --gop 30 --bitrate 1M --duration 8 \
    --stats-interval 5 --json "$d/origin.json"
fr_wait_log origin 'namespace live accepted' 10
sub=("$bin/fr-sub" --ca "$d/relay.pem" --connect 198.18.2.1:4433)
fr_spawn sub subs "${sub[@]}" --connections 3 --duration 30 \
    --json "$d/subs.json"
fr_wait_log subs 'sessions up 3/3' 10
start=$SECONDS
fr_spawn sub extra "${sub[@]}" --connections 2 --duration 30 \
    --json "$d/extra.json"
if fr_wait extra 8; then
    fr_fail "subscribers past the limit were not refused"
fi
took=$((SECONDS - start))
grep -q 'cannot connect to 198.18.2.1:4433: .*0x2.*connection limit' "$(fr_job_log extra)" ||
    fr_fail "fr-sub did not say it was refused: $(tail -3 "$(fr_job_log extra)")"
echo "refused after ${took}s: $(grep -m1 'cannot connect' "$(fr_job_log extra)")"
fr_wait origin 30 || fr_fail "origin failed"
fr_wait subs 30 || fr_fail "subscribers within the limit failed"
fr_stop relay || fr_fail "relay did not exit cleanly"
python3 - "$d" <<'PY' || fr_fail "check failed"
import sys
from checks import failed_sessions, sessions
d = sys.argv[1]
ok = not failed_sessions("within the limit", sessions(f"{d}/subs.json"),
                         min_objects=200, skips=False, ended=True)
for i, s in enumerate(sessions(f"{d}/extra.json")):
    if s["state"] != "failed" or s["objects_received"]:
        print(f"session {i} past the limit was not refused: {s}")
        ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: sessions past --max-sessions refused at once; the others intact"
