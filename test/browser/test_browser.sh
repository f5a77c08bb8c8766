#!/usr/bin/env bash
# A browser subscribes through the relay: headless Chromium (Debian's)
# runs a page with @moq/net 0.3.4 that subscribes over WebTransport to
# fr-origin's 20 s VP8 track (made by ffmpeg) through
# fr-relay --webtransport /moq --browser-cert, once with the default
# wt-available-protocols (the relay picks moqt-19) and once offering
# moqt-18 only. Every object must arrive, byte-exact: fr-origin's media
# header and CRC-32C checked in the page, sequence numbers 0..N-1 where N
# is what fr-origin published. Loopback only, in a namespace of its own.
#
# Two limits of @moq/net 0.3.4 shape the run: it takes subgroup 0 only
# (fr-origin --one-subgroup), and it misreads a SUBSCRIBE_OK's
# LARGEST_OBJECT (it expects a length before the Location's two varints,
# which drafts 18 and 19 do not have), so the page subscribes before the
# track has objects: fr-origin --input starts with its first subscriber.
#
# Needs root; installs chromium, node and the pinned npm packages
# (setup.sh). FR_BIN_DIR names the directory holding the tools.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../netns/netns.sh"

readonly SECONDS_OF_MEDIA=20 PAGE_PORT=8080
readonly URL=https://127.0.0.1:4433/moq

fr_netns_init
fr_require_bins fr-origin fr-relay
fr_require_cmd ffmpeg apt-get
bin=$FR_BIN_DIR
d=$FR_TMPDIR
tools=${FR_BROWSER_DIR:-$here/../../build/browser}

node=$(FR_BROWSER_DIR=$tools "$here/setup.sh") ||
    fr_skip "cannot install the browser test's tools (see above)"
# The packages are in $tools, not beside the sources: esbuild finds them
# through NODE_PATH, node (ES modules) beside the driver, so the driver
# runs from there.
PATH=$(dirname "$node"):$PATH NODE_PATH=$tools/node_modules \
    "$tools/node_modules/.bin/esbuild" "$here/page.js" --bundle \
    --format=iife --platform=browser --log-level=warning \
    --outfile="$d/page.js" || fr_fail "esbuild cannot bundle the page"
cp "$here/run.mjs" "$tools/run.mjs"
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240:rate=30 \
    -t "$SECONDS_OF_MEDIA" -c:v libvpx -g 30 -b:v 400k "$d/in.ivf" ||
    fr_fail "ffmpeg cannot make the VP8 clip"

fr_host_add web
fr_spawn web relay "$bin/fr-relay" --listen 127.0.0.1:4433 \
    --webtransport /moq --browser-cert --write-cert "$d/relay.pem" \
    --stats-interval 0 -v
fr_wait_log relay 'listening on' 10
hash=$(grep -o 'certificate sha-256 [0-9a-f]*' "$(fr_job_log relay)" |
    awk '{ print $3 }')
[[ ${#hash} == 64 ]] || fr_fail "fr-relay printed no certificate hash"

# browse NAME [PROTOCOL]: one origin run and one page run; the result in
# $d/NAME.json, fr-origin's summary in $d/NAME-origin.json.
browse() {
    local name=$1 protocols=${2:-}
    fr_spawn web "origin-$name" "$bin/fr-origin" --connect 127.0.0.1:4433 \
        --ca "$d/relay.pem" --input "$d/in.ivf" --one-subgroup \
        --stats-interval 0 --json "$d/$name-origin.json"
    fr_wait_log "origin-$name" 'namespace live accepted' 10
    fr_exec web env PATH="$(dirname "$node"):$PATH" timeout 120 \
        "$node" "$tools/run.mjs" "$d/page.js" "$PAGE_PORT" "$URL" "$hash" \
        $((SECONDS_OF_MEDIA + 8)) $protocols \
        >"$d/$name.json" 2>"$d/$name.log" ||
        { tail -n 20 "$d/$name.log" >&2; fr_fail "$name: the page did not run"; }
    fr_wait "origin-$name" 30 || fr_fail "$name: fr-origin failed"
}

browse default
browse draft18 moqt-18
fr_stop relay || fr_fail "relay did not exit cleanly"

python3 - "$d" "$(fr_job_log relay)" <<'PY' || fr_fail "check failed"
import json, sys
d, relay_log = sys.argv[1], sys.argv[2]
ok = True
for name, want in (("default", "moqt-19"), ("draft18", "moqt-18")):
    r = json.load(open(f"{d}/{name}.json"))
    sent = json.load(open(f"{d}/{name}-origin.json"))["objects_sent"]
    seqs = sorted(r["seqs"])
    print(f"{name}: {r['objects']} of {sent} objects, {r['groups']} groups, "
          f"{r['bytes']} bytes, corrupt {r['corrupt']}, errors {r['errors']}")
    for p in r["problems"]:
        print(f"{name}: {p}")
    if (r["errors"] or r["corrupt"] or r["objects"] != sent
            or seqs != list(range(sent))):
        print(f"{name}: objects missing, repeated or corrupt")
        ok = False
protos = [l.rsplit(" ", 1)[1].strip() for l in open(relay_log)
          if "webtransport: session on stream" in l]
print(f"relay: WebTransport sessions {protos}")
# The origins come over raw QUIC: the two sessions are the pages'.
if protos != ["moqt-19", "moqt-18"]:
    print("relay: the pages did not get moqt-19, then moqt-18")
    ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: @moq/net in headless Chromium got every object through fr-relay over WebTransport (moqt-19 and moqt-18)"
