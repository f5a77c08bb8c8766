#!/usr/bin/env bash
# A browser subscribes through the relay: headless Chromium (Debian's)
# runs a page with @moq/net 0.3.4 that subscribes over WebTransport to
# fr-origin's 20 s VP8 track (made by ffmpeg) through
# fr-relay --webtransport /moq --browser-cert, in netns.sh's relay
# topology (the browser on host sub): with the default
# wt-available-protocols (the relay picks moqt-19), offering moqt-18
# only, and through the kernel fast path (fr-relay --fastpath, which
# must send at least 90 % of the media copies). Every object must
# arrive, byte-exact: fr-origin's media header and CRC-32C checked in
# the page, sequence numbers 0..N-1 where N is what fr-origin published.
#
# Two limits of @moq/net 0.3.4 shape the run: it takes subgroup 0 only
# (fr-origin --one-subgroup), and it misreads a SUBSCRIBE_OK's
# LARGEST_OBJECT (it expects a length before the Location's two varints,
# which drafts 18 and 19 do not have), so the page subscribes before the
# track has objects: fr-origin starts with its first subscriber (--input,
# --on-demand). The kernel takes a subscriber on only after its first
# groups (about 80 copies here, whatever the group size): the fast-path
# run lasts 40 s so that they weigh little.
#
# Needs root; installs chromium, node and the pinned npm packages
# (setup.sh). FR_BIN_DIR names the directory holding the tools.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../netns/netns.sh"
source "$here/browser.sh"

readonly SECONDS_OF_MEDIA=20 PAGE_PORT=8080
readonly URL=https://198.18.2.1:4433/moq

fr_netns_init
fr_require_bins fr-origin fr-relay
fr_require_cmd ffmpeg apt-get
bin=$FR_BIN_DIR
d=$FR_TMPDIR
tools=${FR_BROWSER_DIR:-$here/../../build/browser}

node=$(fr_browser_tools "$tools" run.mjs)
# The packages are in $tools, not beside the sources: esbuild finds them
# through NODE_PATH, node (ES modules) beside the driver, so the driver
# runs from there.
PATH=$(dirname "$node"):$PATH NODE_PATH=$tools/node_modules \
    "$tools/node_modules/.bin/esbuild" "$here/page.js" --bundle \
    --format=iife --platform=browser --log-level=warning \
    --outfile="$d/page.js" || fr_fail "esbuild cannot bundle the page"
fr_browser_clip "$d/in.ivf" "$SECONDS_OF_MEDIA"

fr_relay_hosts

# relay NAME [ARG]...: fr-relay NAME (its files in $d/NAME, named in
# $relay_dir), its certificate's hash in $hash.
relay() {
    relay_dir=$d/$1
    fr_browser_relay "$relay_dir" --stats-interval 0 "${@:2}"
}

# The VP8 clip; or synthetic video (fr-origin --on-demand), for the fast
# path: 40 s of it, twice the clip, so that the first groups (which the
# kernel leaves to userspace) weigh little.
clip=(--input "$d/in.ivf")
synthetic=(--on-demand --fps 30 --gop 30 --bitrate 400k --duration 40)

# browse NAME MEDIA [PROTOCOL]: one origin run (MEDIA: clip or synthetic)
# and one page run; the result in $d/NAME.json, fr-origin's summary in
# $d/NAME-origin.json.
browse() {
    local name=$1 protocols=${3:-} page_seconds=$((SECONDS_OF_MEDIA + 8))
    local -n media=$2
    [[ $2 == synthetic ]] && page_seconds=48
    fr_spawn origin "origin-$name" "$bin/fr-origin" \
        --connect 198.18.2.1:4433 --ca "$relay_dir/relay.pem" \
        "${media[@]}" --one-subgroup --stats-interval 0 \
        --json "$d/$name-origin.json"
    fr_wait_log "origin-$name" 'namespace live accepted' 10
    fr_exec sub env PATH="$(dirname "$node"):$PATH" timeout 120 \
        "$node" "$tools/run.mjs" "$d/page.js" "$PAGE_PORT" "$URL" "$hash" \
        "$page_seconds" $protocols \
        >"$d/$name.json" 2>"$d/$name.log" ||
        { tail -n 20 "$d/$name.log" >&2; fr_fail "$name: the page did not run"; }
    fr_wait "origin-$name" 30 || fr_fail "$name: fr-origin failed"
}

relay default
browse default clip
browse draft18 clip moqt-18
fr_stop relay || fr_fail "relay did not exit cleanly"
protocols=$(grep -o 'webtransport: session on stream [0-9]*, protocol [a-z0-9-]*' \
    "$(fr_job_log relay)" | awk '{ print $NF }' | tr '\n' ' ')
relay fastpath --fastpath
browse fastpath synthetic
fr_stop relay || fr_fail "fast-path relay did not exit cleanly"

python3 - "$d" "$protocols" <<'PY' || fr_fail "check failed"
import json, sys
from checks import kernel_share_short, load
d, protocols = sys.argv[1], sys.argv[2].split()
ok = True
for name in ("default", "draft18", "fastpath"):
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
print(f"relay: WebTransport sessions {protocols}")
# The origins come over raw QUIC: the two sessions are the pages'.
if protocols != ["moqt-19", "moqt-18"]:
    print("relay: the pages did not get moqt-19, then moqt-18")
    ok = False
if kernel_share_short("fastpath", load(f"{d}/fastpath/relay.json")["fastpath"],
                      0.9):
    ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: @moq/net in headless Chromium got every object through fr-relay over WebTransport (moqt-19, moqt-18, and from the kernel)"
