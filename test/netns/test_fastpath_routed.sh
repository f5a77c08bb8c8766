#!/usr/bin/env bash
# Subscribers that are not on the relay's link: a router sits between the
# relay and their host. The kernel's copies must leave with the router's
# MAC address as destination (the route's gateway, from the ARP table),
# not the subscriber's: every object arrives intact and the kernel sends
# at least 90 % of the media copies (without the route lookup the relay
# served these subscribers from userspace only). 4 s in, the router's
# interface gets a new MAC address (as after a failover) and the relay's
# neighbour entry follows; the kernel must follow within a second, or its
# copies go to a MAC nobody has. The relay attaches its programs as tc
# filters here (--attach tc; the other tests take tcx): the filters are
# checked to be there while it runs, and gone after. Needs root;
# FR_BIN_DIR names the directory holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=10 SUBS=3

fr_netns_init
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR
d=$FR_TMPDIR

fr_host_add origin
fr_host_add relay
fr_host_add router
fr_host_add sub
fr_link origin relay 198.18.1.1/24 198.18.1.2/24
fr_link relay router 198.18.2.1/24 198.18.2.2/24
fr_link router sub 198.18.3.1/24 198.18.3.2/24
fr_forwarding router
fr_route origin 198.18.2.0/24 198.18.1.2
fr_route relay 198.18.3.0/24 198.18.2.2
fr_route sub 198.18.2.0/24 198.18.3.1

fr_fastpath_relay relay "$d" --stats-interval 5 --attach tc
fr_live_origin origin "$d" "$DURATION" 1M --stats-interval 0
# True while the relay has a BPF filter on device $1's $2 hook. tc writes
# each filter line separately: the whole listing is read before matching,
# since a grep -q that quits at the first line kills tc with SIGPIPE, which
# pipefail turns into a failed check about once in a hundred.
relay_has_bpf_filter() {
    local listing
    listing=$(tc -n "$(fr_ns relay)" filter show dev "$1" "$2")
    [[ $listing == *bpf* ]]
}

fr_spawn sub subs "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --connect 198.18.2.1:4433 \
    --ca "$d/relay.pem" --connections "$SUBS" --duration $((DURATION + 10)) \
    --stats-interval 0 --json "$d/subs.json"
sleep 4
# The ingress filter where the origin's packets come in, the egress one
# towards the router.
relay_has_bpf_filter origin ingress ||
    fr_fail "no tc ingress filter on the relay's origin link"
relay_has_bpf_filter router egress ||
    fr_fail "no tc egress filter on the relay's router link"
ip -n "$(fr_ns router)" link set dev relay address 02:00:00:00:ee:01
ip -n "$(fr_ns relay)" neigh replace 198.18.2.2 dev router \
    lladdr 02:00:00:00:ee:01 nud permanent
fr_wait origin 60 || fr_fail "origin failed"
fr_wait subs 60 || fr_fail "subscribers failed"
fr_stop relay || fr_fail "relay did not exit cleanly"
for dir in "origin ingress" "router egress"; do
    set -- $dir
    ! relay_has_bpf_filter "$1" "$2" ||
        fr_fail "the relay left its tc $2 filter on $1"
done
python3 - "$d/subs.json" "$d/relay.json" <<'PY' ||
import sys
from checks import failed_sessions, kernel_share, load, sessions
subs = sessions(sys.argv[1])
fp = load(sys.argv[2])["fastpath"]
ok = not failed_sessions("routed", subs, min_objects=250)
share = kernel_share(fp)
print(f"{len(subs)} routed subscribers intact; kernel {fp['kernel_copies']} "
      f"/ userspace {fp['userspace_copies']} media copies = "
      f"{100 * share:.1f} % kernel")
if share < 0.90:
    print("the kernel did not serve the routed subscribers")
    ok = False
print(f"next-hop changes followed: {fp['next_hop_changes']}; "
      f"retransmitted {fp['retransmitted']}")
if (fp["next_hop_changes"] < len(subs)
        or fp["retransmitted"] * 20 > fp["kernel_copies"]):
    print("the kernel did not follow the router's new MAC address")
    ok = False
sys.exit(0 if ok else 1)
PY
    fr_fail "routed-subscriber check failed"
echo "PASS: the fast path reaches subscribers behind a router"
