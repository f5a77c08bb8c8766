#!/usr/bin/env bash
# The watch page plays: headless Chromium opens examples/web (served by
# serve.py on the browser's host), which subscribes over WebTransport
# through fr-relay --webtransport /moq --browser-cert to fr-origin's VP8
# clip (ffmpeg's test pattern, made here) and decodes it with WebCodecs.
# In netns.sh's relay topology, the browser and the page's server on host
# sub; fr-origin sends each group's key frame and the rest on two
# subgroups, as it does by default, so the page reorders them.
#
# Twice: through the relay's userspace path and its kernel fast path
# (fr-relay --fastpath). Passes when, on both, every object arrived
# intact (the page checks each one's media header and CRC-32C; none
# missing), every frame decoded and was drawn, the canvas shows a picture
# (not one flat colour), the page names the relay's path (on the fast
# path with the kernel's share of copies), and a screenshot with a
# decoded frame was taken: kept as $FR_BROWSER_DIR/userspace.png and
# fastpath.png (the paths are printed).
#
# Needs root; installs chromium, node and the pinned npm packages
# (setup.sh; the page itself needs none). FR_BIN_DIR names the directory
# holding the tools.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../netns/netns.sh"
source "$here/browser.sh"

readonly SECONDS_OF_MEDIA=10 PAGE_PORT=8080 SHOT_AT=60
readonly URL=https://198.18.2.1:4433/moq
web=$(cd "$here/../../examples/web" && pwd)

fr_netns_init
fr_require_bins fr-origin fr-relay
fr_require_cmd ffmpeg apt-get
fr_require_cmd python3 apt-get
bin=$FR_BIN_DIR
d=$FR_TMPDIR
tools=${FR_BROWSER_DIR:-$here/../../build/browser}

node=$(fr_browser_tools "$tools" watch.mjs)
fr_browser_clip "$d/in.ivf" "$SECONDS_OF_MEDIA"

fr_relay_hosts

# watch NAME [FR-RELAY ARG]...: one relay, origin and page run; the
# page's result in $d/NAME.json, fr-origin's summary in
# $d/NAME-origin.json, the relay's in $d/NAME/relay.json, the screenshot
# in $tools/NAME.png.
watch() {
    local name=$1 hash
    fr_browser_relay "$d/$name" --stats-interval 1 "${@:2}"
    fr_spawn origin origin "$bin/fr-origin" --connect 198.18.2.1:4433 \
        --ca "$d/$name/relay.pem" --input "$d/in.ivf" --stats-interval 0 \
        --json "$d/$name-origin.json"
    fr_wait_log origin 'namespace live accepted' 10
    fr_spawn sub page python3 "$web/serve.py" \
        --listen "127.0.0.1:$PAGE_PORT" --url "$URL" --hash "$hash" \
        --relay-json "$d/$name/relay.json"
    fr_wait_log page 'watch page on' 10
    rm -f "$tools/$name.png"
    fr_exec sub env PATH="$(dirname "$node"):$PATH" timeout 120 \
        "$node" "$tools/watch.mjs" "http://127.0.0.1:$PAGE_PORT/" \
        $((SECONDS_OF_MEDIA + 20)) "$SHOT_AT" "$tools/$name.png" \
        >"$d/$name.json" 2>"$d/$name.log" ||
        { tail -n 20 "$d/$name.log" >&2; fr_fail "$name: the page did not run"; }
    fr_wait origin 30 || fr_fail "$name: fr-origin failed"
    fr_stop page || true
    # The page ends its session with WebTransport's close capsule.
    grep -q 'closed the session (code 0: subscriber done)' \
        "$(fr_job_log relay)" ||
        fr_fail "$name: the relay did not read the page's session close"
    fr_stop relay || fr_fail "$name: relay did not exit cleanly"
}

watch userspace
watch fastpath --fastpath

python3 - "$d" <<'PY' || fr_fail "check failed"
import json, re, sys
d = sys.argv[1]
ok = True
def need(cond, what):
    global ok
    if not cond:
        print(f"FAIL: {what}")
        ok = False
for name in ("userspace", "fastpath"):
    r = json.load(open(f"{d}/{name}.json"))
    s, c = r["stats"], r["canvas"]
    sent = json.load(open(f"{d}/{name}-origin.json"))["objects_sent"]
    print(f"{name}: {s['state']}; {s['objects']} of {sent} objects, missing "
          f"{s['missing']}, corrupt {s['corrupt']}; {s['codec']} "
          f"{s['width']}x{s['height']}, frames decoded {s['framesDecoded']}, "
          f"drawn {s['framesDrawn']}, skipped {s['skipped']}, decode errors "
          f"{s['decodeErrors']}; delay p50 {s['delayMs']['p50']:.1f} ms p99 "
          f"{s['delayMs']['p99']:.1f} ms (clock read in {s['clockRttMs']:.1f} ms); "
          f"path: {s['path']}")
    print(f"{name}: canvas {c['width']}x{c['height']}, luma mean "
          f"{c['mean']:.1f} stddev {c['stddev']:.1f}; events: {s['events']}")
    for p in s["problems"]:
        print(f"{name}: {p}")
    need(s["objects"] == sent and s["missing"] == 0 and s["corrupt"] == 0,
         f"{name}: objects missing or corrupt")
    need(s["codec"] == "vp8" and (s["width"], s["height"]) == (320, 240),
         f"{name}: the page did not configure a 320x240 VP8 decoder")
    need(s["framesDecoded"] == sent and s["framesDrawn"] == sent
         and s["skipped"] == 0 and s["decodeErrors"] == 0,
         f"{name}: not every frame was decoded and drawn")
    # ffmpeg's test pattern: colour bars, a gradient and a counter; a blank
    # or single-colour canvas has no spread.
    need((c["width"], c["height"]) == (320, 240) and c["stddev"] > 20,
         f"{name}: the canvas shows no picture")
    # The page reads fr-origin's clock through serve.py: its delay figures
    # are off by up to half that read's round trip.
    need(s["delayMs"]["p50"] is not None
         and -s["clockRttMs"] / 2 <= s["delayMs"]["p50"] < 1000,
         f"{name}: the page measured no plausible delay")
    need(r["screenshot"] is not None, f"{name}: no screenshot was taken")
    relay = json.load(open(f"{d}/{name}/relay.json"))
    if name == "userspace":
        need(s["path"] == "userspace", "userspace: the page names another path")
        continue
    fp = relay["fastpath"]
    m = re.fullmatch(r"kernel fast path: ([0-9.]+) % of copies from the kernel",
                     s["path"])
    print(f"fastpath: kernel {fp['kernel_copies']} / userspace "
          f"{fp['userspace_copies']} copies at the relay's end; userspace "
          f"because: { {k: v for k, v in fp['fallback'].items() if v} }")
    # The page's figure is the relay's at its last status line before the
    # page's last look, so not the final one: it must be there and be a
    # share the kernel had a part in.
    need(m is not None and 0 < float(m.group(1)) <= 100,
         "fastpath: the page does not show the relay's kernel share")
sys.exit(0 if ok else 1)
PY
echo "screenshots: $tools/userspace.png $tools/fastpath.png"
echo "PASS: the watch page played fr-origin's VP8 clip through fr-relay over WebTransport (userspace and kernel path), every object intact and every frame drawn"
