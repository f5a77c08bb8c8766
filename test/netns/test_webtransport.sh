#!/usr/bin/env bash
# MoQT over WebTransport (HTTP/3) through fr-relay --webtransport /moq,
# beside raw QUIC on the same port:
# 1. userspace relay: an origin publishing over WebTransport, three
#    subscribers over WebTransport and two over raw QUIC, 12 s of media:
#    every object of every session intact;
# 2. --fastpath relay (FR_CRYPTO mode), an origin over raw QUIC, the
#    three WebTransport subscribers alone: every object intact, and the
#    kernel sends them at least 90 % of the media copies (userspace
#    writes each stream's header, the kernel's copies follow it,
#    shifted).
# Needs root; FR_BIN_DIR names the directory holding the tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=12 WT_SUBS=3 RAW_SUBS=2
readonly WT_URL=https://198.18.2.1:4433/moq RAW=198.18.2.1:4433

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
fr_relay_hosts

# subscribers DIR KINDS [ARG]...: the WebTransport subscribers, and with
# KINDS "wt raw" the raw QUIC ones, in one fr-sub process each.
subscribers() {
    local d=$1 kinds=$2
    shift 2
    local sub=("$bin/fr-sub" --ca "$d/relay.pem" --duration $((DURATION + 10))
               --stats-interval 0 "$@")
    fr_spawn sub wt-subs "${sub[@]}" --connect "$WT_URL" \
        --connections "$WT_SUBS" --json "$d/wt-subs.json"
    [[ $kinds == *raw* ]] || return 0
    fr_spawn sub raw-subs "${sub[@]}" --connect "$RAW" \
        --connections "$RAW_SUBS" --json "$d/raw-subs.json"
}

# finish KINDS: waits for the run's tools; the relay exits cleanly.
finish() {
    fr_wait origin 60 || fr_fail "origin failed"
    fr_wait wt-subs 60 || fr_fail "WebTransport subscribers failed"
    if [[ $1 == *raw* ]]; then
        fr_wait raw-subs 60 || fr_fail "raw QUIC subscribers failed"
    fi
    fr_stop relay || fr_fail "relay did not exit cleanly"
}

# 1. Userspace, the origin over WebTransport too.
d=$FR_TMPDIR/userspace
mkdir -p "$d"
fr_relay_start relay "$d" --webtransport /moq --stats-interval 0 -v
fr_spawn origin origin "$bin/fr-origin" --connect "$WT_URL" \
    --ca "$d/relay.pem" --fps 30 --gop 30 --bitrate 1M \
    --duration "$DURATION" --stats-interval 0 --json "$d/origin.json"
fr_wait_log origin 'namespace live accepted' 10
subscribers "$d" "wt raw"
finish "wt raw"
grep -q 'webtransport: session on stream' "$(fr_job_log relay)" ||
    fr_fail "the relay logged no WebTransport session"

# 2. Fast path, the origin over raw QUIC.
e=$FR_TMPDIR/fastpath
mkdir -p "$e"
fr_fastpath_relay relay "$e" --webtransport /moq --stats-interval 0
fr_live_origin origin "$e" "$DURATION" 1M --stats-interval 0 \
    --json "$e/origin.json"
subscribers "$e" wt "${FR_CRYPTO_FLAGS[@]}"
finish wt

python3 - "$d" "$e" <<'PY' || fr_fail "check failed"
import sys
from checks import failed_sessions, kernel_share_short, load, sessions
d, e = sys.argv[1], sys.argv[2]
ok = True
for run, kinds in ((d, ("wt", "raw")), (e, ("wt",))):
    for kind in kinds:
        subs = sessions(f"{run}/{kind}-subs.json")
        label = f"{run.rsplit('/', 1)[1]} {kind}"
        if failed_sessions(label, subs, min_objects=300):
            ok = False
        else:
            print(f"{label}: {len(subs)} sessions intact, "
                  f"{min(s['objects_received'] for s in subs)} objects "
                  f"or more each")
if kernel_share_short("fastpath", load(f"{e}/relay.json")["fastpath"], 0.9):
    ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: MoQT over WebTransport through the relay, in userspace and by the kernel"
