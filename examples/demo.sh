#!/usr/bin/env bash
# libfastrelay demo: installs what is missing, builds, and runs a live MoQT
# session in network namespaces (addresses from 198.18.0.0/15 only):
#
#   origin --> relay --> 3 subscribers
#
# twice, for about 15 seconds of synthetic 30 fps video each: once through
# the relay's userspace path, once through its kernel fast path
# (fr-relay --fastpath), all standard encrypted QUIC: on the fast path the
# kernel opens each packet from the origin and seals each copy
# (ChaCha20-Poly1305).
# It prints what every subscriber received, how long objects took from
# origin to subscriber on each path, and the share of media packets the
# kernel sent. A fourth subscriber joins late and starts at the latest
# group. Needs root.
#
#   examples/demo.sh           the demo above
#   examples/demo.sh --watch   watch it in a browser instead: the relay
#                              (kernel fast path, WebTransport) serves a
#                              VP8 clip to the watch page (examples/web)
#                              at http://127.0.0.1:8080/ (FR_WATCH_PORT),
#                              opened when a display is there; a browser
#                              on this machine plays it, with WebCodecs
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FR_BUILD_DIR:-$root/build/demo}
mode=paths
case ${1:-} in
"") ;;
--watch) mode=watch ;;
-h | --help)
    sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "demo: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac
(($# <= 1)) || { echo "demo: one argument at most (try --help)" >&2; exit 2; }
if [[ $mode == watch ]]; then
    seconds=${FR_DEMO_SECONDS:-120}
else
    seconds=${FR_DEMO_SECONDS:-15}
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: run as root (it builds network namespaces)" >&2
    exit 1
fi
bash "$root/scripts/setup-deps.sh"
echo "demo: building in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" \
    --target fr-origin fr-relay fr-sub fr-impair >/dev/null

export FR_IMPAIR_BIN=$build/test/netns/fr-impair
bin=$build/examples
source "$root/test/netns/netns.sh"
fr_netns_init
d=$FR_TMPDIR

# The watch page: origin --> relay --> a browser on this machine (its own
# namespace, linked to the relay's by a veth pair).
watch_demo() {
    local port=${FR_WATCH_PORT:-8080} hash url page
    fr_host_add origin
    fr_host_add relay
    fr_link origin relay 198.18.30.1/24 198.18.30.2/24
    fr_link_machine relay 198.18.32.1/24 198.18.32.2/24
    fr_route origin 198.18.32.0/24 198.18.30.2
    echo "demo: making a ${seconds}s VP8 clip (ffmpeg's test pattern)" >&2
    ffmpeg -loglevel error -f lavfi -i testsrc2=size=640x360:rate=30 \
        -t "$seconds" -c:v libvpx -g 30 -b:v 1M "$d/clip.ivf"
    fr_spawn relay relay "$bin/fr-relay" --listen 198.18.32.1:4433 \
        --write-cert "$d/relay.pem" --webtransport /moq --browser-cert \
        --fastpath --json "$d/relay.json" --stats-interval 1
    fr_wait_log relay 'listening on' 10
    hash=$(grep -o 'certificate sha-256 [0-9a-f]*' "$(fr_job_log relay)" |
        awk '{ print $3 }')
    # The clip starts with the first viewer; nobody coming, it gives up
    # after ten minutes.
    fr_spawn origin origin "$bin/fr-origin" --connect 198.18.32.1:4433 \
        --ca "$d/relay.pem" --input "$d/clip.ivf" --duration 600 \
        --stats-interval 0
    fr_wait_log origin 'namespace live accepted' 10
    url=https://198.18.32.1:4433/moq
    fr_spawn machine page python3 "$root/examples/web/serve.py" \
        --listen "127.0.0.1:$port" --url "$url" --hash "$hash" \
        --relay-json "$d/relay.json"
    fr_wait_log page 'watch page on' 10
    page=http://127.0.0.1:$port/
    echo "demo: open $page in a browser on this machine (Chromium or" \
        "another with WebTransport and WebCodecs); the ${seconds}s clip" \
        "starts with the first viewer; Ctrl-C ends the demo" >&2
    if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] && command -v xdg-open >/dev/null; then
        xdg-open "$page" >/dev/null 2>&1 || true
    fi
    fr_wait origin 900 || echo "demo: the origin reported an error" >&2
    grep -h 'fastpath copies' "$(fr_job_log relay)" | tail -n 1 >&2 || true
}

if [[ $mode == watch ]]; then
    watch_demo
    exit 0
fi

fr_host_add origin
fr_host_add relay
fr_host_add subs
fr_link origin relay 198.18.30.1/24 198.18.30.2/24
fr_link relay subs 198.18.31.1/24 198.18.31.2/24
fr_route origin 198.18.31.0/24 198.18.30.2

# run_path LABEL [FR-RELAY FLAG]...: one live session through the relay.
run_path() {
    local label=$1 p=$d/$1
    mkdir -p "$p"
    echo "demo: $label path: origin 198.18.30.1 -> relay 198.18.31.1 ->" \
        "subscribers 198.18.31.2, ${seconds}s of 30 fps video at 2 Mbit/s" >&2
    fr_spawn relay "relay-$label" "$bin/fr-relay" \
        --listen 198.18.31.1:4433 --write-cert "$p/relay.pem" \
        --json "$p/relay.json" --stats-interval 0 "${@:2}"
    fr_wait_log "relay-$label" 'listening on' 10
    fr_spawn origin "origin-$label" "$bin/fr-origin" \
        --connect 198.18.31.1:4433 --ca "$p/relay.pem" --duration "$seconds" \
        --json "$p/origin.json" --stats-interval 0
    fr_wait_log "origin-$label" 'accepted' 10
    fr_spawn subs "subs-$label" "$bin/fr-sub" \
        --connect 198.18.31.1:4433 --ca "$p/relay.pem" --connections 3 \
        --duration $((seconds + 15)) --json "$p/subs.json" --stats-interval 0
    sleep $((seconds / 2))
    fr_spawn subs "late-$label" "$bin/fr-sub" \
        --connect 198.18.31.1:4433 --ca "$p/relay.pem" \
        --duration $((seconds + 15)) --json "$p/late.json" --stats-interval 0
    fr_wait "origin-$label" $((seconds + 30)) ||
        echo "demo: the origin reported an error" >&2
    fr_wait "subs-$label" 30 || echo "demo: a subscriber reported a problem" >&2
    fr_wait "late-$label" 30 ||
        echo "demo: the late subscriber reported a problem" >&2
    fr_stop "relay-$label" || true
}

run_path userspace
run_path fastpath --fastpath

python3 - "$d" <<'PY'
import json, os, sys
d = sys.argv[1]
def load(path, name):
    p = os.path.join(d, path, name)
    return json.load(open(p)) if os.path.exists(p) else None
ok, p50 = True, {}
for path in ("userspace", "fastpath"):
    origin, relay = load(path, "origin.json"), load(path, "relay.json")
    rows = [(f"subscriber {i + 1}", s) for i, s in
            enumerate((load(path, "subs.json") or {}).get("sessions", []))]
    rows += [("late joiner", s)
             for s in (load(path, "late.json") or {}).get("sessions", [])]
    print(f"\n== {path} path ==")
    if origin:
        print(f"origin: {origin['objects_sent']} objects in "
              f"{origin['groups']} groups ({origin['bytes_sent'] / 1e6:.1f} MB)")
    if relay:
        print(f"relay:  {relay['objects_forwarded']} object copies forwarded "
              f"({relay['bytes_forwarded'] / 1e6:.1f} MB), "
              f"{relay['fetches_served']} fetches served from its cache")
        fp = relay.get("fastpath")
        if fp:
            media = fp["kernel_copies"] + fp["userspace_copies"]
            share = 100 * fp["kernel_copies"] / media if media else 0
            print(f"        media packets sent by the kernel: "
                  f"{fp['kernel_copies']} of {media} ({share:.1f} %), "
                  f"{fp['cache_replay_copies']} more from the cache to the "
                  f"late joiner")
    print(f"{'':14} {'received':>8} {'missing':>8} {'corrupt':>8} "
          f"{'delay p50':>10} {'p99':>8} {'max':>8}")
    for name, s in rows:
        dl = s["delay_us"]
        print(f"{name:14} {s['objects_received']:>8} "
              f"{s['objects_missing']:>8} {s['objects_corrupt']:>8} "
              f"{dl['p50'] / 1000:>8.2f}ms {dl['p99'] / 1000:>6.2f}ms "
              f"{dl['max'] / 1000:>6.2f}ms")
        ok &= not (s["objects_missing"] or s["objects_corrupt"] or s["error"])
    ok &= bool(rows)
    if rows:
        p50[path] = sorted(s["delay_us"]["p50"] for _, s in rows)[len(rows) // 2]
print()
print("every object arrived intact on both paths" if ok else
      "some objects were missing or corrupt: see above")
if len(p50) == 2:
    print(f"median object delay (origin send to subscriber receive, both "
          f"ends in userspace): userspace path {p50['userspace'] / 1000:.2f} "
          f"ms, fast path {p50['fastpath'] / 1000:.2f} ms")
sys.exit(0 if ok else 1)
PY
