#!/usr/bin/env bash
# libfastrelay demo: installs what is missing, builds, and runs a live MoQT
# session in network namespaces (addresses from 198.18.0.0/15 only):
#
#   origin --> relay --> 3 subscribers
#
# for about 15 seconds of synthetic 30 fps video, then prints what every
# subscriber received and how long objects took from origin to subscriber.
# A fourth subscriber joins late and starts at the latest group. The relay
# runs the userspace path; the kernel fast path joins this demo when it
# lands. Needs root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FR_BUILD_DIR:-$root/build/demo}
seconds=${FR_DEMO_SECONDS:-15}

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

fr_host_add origin
fr_host_add relay
fr_host_add subs
fr_link origin relay 198.18.30.1/24 198.18.30.2/24
fr_link relay subs 198.18.31.1/24 198.18.31.2/24
fr_route origin 198.18.31.0/24 198.18.30.2

echo "demo: origin 198.18.30.1 -> relay 198.18.31.1 -> subscribers" \
    "198.18.31.2, ${seconds}s of 30 fps video at 2 Mbit/s" >&2
fr_spawn relay relay "$bin/fr-relay" --listen 198.18.31.1:4433 \
    --write-cert "$d/relay.pem" --json "$d/relay.json" --stats-interval 0
fr_wait_log relay 'listening on' 10
fr_spawn origin origin "$bin/fr-origin" --connect 198.18.31.1:4433 \
    --ca "$d/relay.pem" --duration "$seconds" --json "$d/origin.json" \
    --stats-interval 0
fr_wait_log origin 'accepted' 10
fr_spawn subs subs "$bin/fr-sub" --connect 198.18.31.1:4433 \
    --ca "$d/relay.pem" --connections 3 --duration $((seconds + 15)) \
    --json "$d/subs.json" --stats-interval 0
sleep $((seconds / 2))
fr_spawn subs late "$bin/fr-sub" --connect 198.18.31.1:4433 \
    --ca "$d/relay.pem" --duration $((seconds + 15)) \
    --json "$d/late.json" --stats-interval 0
fr_wait origin $((seconds + 30)) || echo "demo: the origin reported an error" >&2
fr_wait subs 30 || echo "demo: a subscriber reported a problem" >&2
fr_wait late 30 || echo "demo: the late subscriber reported a problem" >&2
fr_stop relay || true

python3 - "$d" <<'PY'
import json, os, sys
d = sys.argv[1]
def load(name):
    p = os.path.join(d, name)
    return json.load(open(p)) if os.path.exists(p) else None
origin, relay = load("origin.json"), load("relay.json")
rows = [(f"subscriber {i + 1}", s) for i, s in
        enumerate((load("subs.json") or {}).get("sessions", []))]
rows += [("late joiner", s) for s in (load("late.json") or {}).get("sessions", [])]
print()
if origin:
    print(f"origin: {origin['objects_sent']} objects in {origin['groups']} "
          f"groups ({origin['bytes_sent'] / 1e6:.1f} MB)")
if relay:
    print(f"relay:  {relay['objects_forwarded']} object copies forwarded "
          f"({relay['bytes_forwarded'] / 1e6:.1f} MB), "
          f"{relay['fetches_served']} fetches served from its cache")
print()
print(f"{'':14} {'received':>8} {'missing':>8} {'corrupt':>8} "
      f"{'delay p50':>10} {'p99':>8} {'max':>8}")
ok = True
for name, s in rows:
    dl = s["delay_us"]
    print(f"{name:14} {s['objects_received']:>8} {s['objects_missing']:>8} "
          f"{s['objects_corrupt']:>8} {dl['p50'] / 1000:>8.2f}ms "
          f"{dl['p99'] / 1000:>6.2f}ms {dl['max'] / 1000:>6.2f}ms")
    ok &= not (s["objects_missing"] or s["objects_corrupt"] or s["error"])
print()
print("every object arrived intact" if ok and rows else
      "some objects were missing or corrupt: see above")
print("delay is one-way, origin send to subscriber receive, userspace relay")
sys.exit(0 if ok and rows else 1)
PY
