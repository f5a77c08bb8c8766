#!/usr/bin/env bash
# End to end through the relay's kernel fast path (fr-relay --fastpath):
# origin -> relay -> 10 subscribers for 20 s of synthetic media, every
# object of every group byte-exact, no connection error, and at least 95 %
# of the media packet copies sent by the kernel; the same with 2 % seeded
# loss on every subscriber's link (losses recovered by retransmission); a
# subscriber that moves to a new port every 3.5 s (an active migration: new
# connection IDs both ways, which the kernel must follow); a subscriber
# that joins at 10 s (the kernel serves it from its next subgroup, the
# cache the rest) and one killed at 5 s; after the relay exits, none of
# its tc filters, tcx links or maps is left. In FR_CRYPTO mode (netns.sh):
# tls by default, where the kernel opens and seals ChaCha20-Poly1305, and
# besides: a subscriber that starts a key update every 3 s and an origin
# that does every 4 s, a subscriber whose TLS offers only AES-GCM (served
# by userspace, intact, counted as fallback "cipher"), and a capture on
# the subscribers' link in which no object body appears in clear (in
# cleartext mode the same capture must show them: the check can fail).
# Needs root; FR_BIN_DIR names the directory holding fr-origin, fr-relay
# and fr-sub, FR_IMPAIR_BIN the fr-impair binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

readonly DURATION=20 SUBS=10

fr_netns_init
fr_require_cmd bpftool
fr_require_bins fr-origin fr-relay fr-sub
bin=$FR_BIN_DIR

fr_relay_hosts

json() { python3 - "$@"; }

# The relay's programs left attached in its namespace.
attached() {
    ip netns exec "$(fr_ns relay)" bpftool net show 2>/dev/null |
        grep -E 'fr_upstream_ing|fr_subscriber_e' || true
}

run() {
    local label=$1 loss=$2 d=$FR_TMPDIR/$1
    mkdir -p "$d"

    if [[ $loss != 0 ]]; then
        fr_impair sub relay ingress --loss "$loss" --seed 7 --udp-only
    fi
    fr_fastpath_relay "relay-$label" "$d" --stats-interval 5
    local maps
    maps=$(fr_maps_of "${FR_JOBS[relay-$label]}")
    [[ -n $maps ]] || fr_fail "$label: no BPF map held by the relay"
    local tls_origin=() tls=0
    [[ $FR_CRYPTO == tls ]] && tls=1 && tls_origin=(--key-update-every 4s)
    fr_live_origin "origin-$label" "$d" "$DURATION" 1M \
        --json "$d/origin.json" --stats-interval 5 "${tls_origin[@]}"
    # What the subscribers' link carries for 12 s.
    fr_spawn sub "capture-$label" python3 "$here/capture.py" --iface relay \
        --seconds 12 --out "$d/capture.bin"

    local sub=("$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" --ca "$d/relay.pem"
               --duration 40
               --stats-interval 5 --connect 198.18.2.1:4433)
    fr_spawn sub "subs-$label" "${sub[@]}" --connections "$SUBS" \
        --json "$d/subs.json"
    fr_spawn sub "victim-$label" "${sub[@]}" --connections 1
    # Every 3.5 s: the last move comes 2.5 s before the track ends, not
    # as it ends (when the relay frees the slot and cannot follow it).
    fr_spawn sub "mover-$label" "${sub[@]}" --migrate-every 3500ms \
        --json "$d/mover.json"
    if (( tls )); then
        fr_spawn sub "keyupd-$label" "${sub[@]}" --key-update-every 3s \
            --json "$d/keyupd.json"
        # GnuTLS's system-wide overrides, for this process only.
        printf '[overrides]\ntls-disabled-cipher = CHACHA20-POLY1305\n' \
            >"$d/aes-only.conf"
        fr_spawn sub "aes-$label" env \
            GNUTLS_SYSTEM_PRIORITY_FILE="$d/aes-only.conf" "${sub[@]}" \
            --json "$d/aes.json"
    fi
    sleep 5
    # A subscriber leaves without a word; the relay frees its slot.
    kill -KILL "${FR_JOBS[victim-$label]}"
    sleep 5
    fr_spawn sub "late-$label" "${sub[@]}" --json "$d/late.json"

    fr_wait "origin-$label" 60 || fr_fail "$label: origin failed"
    fr_wait "subs-$label" 60 || fr_fail "$label: subscribers failed"
    fr_wait "late-$label" 60 || fr_fail "$label: late joiner failed"
    fr_wait "mover-$label" 60 || fr_fail "$label: moving subscriber failed"
    fr_wait "capture-$label" 30 || fr_fail "$label: capture failed"
    if (( tls )); then
        fr_wait "keyupd-$label" 60 ||
            fr_fail "$label: key-updating subscriber failed"
        fr_wait "aes-$label" 60 || fr_fail "$label: AES-only subscriber failed"
    fi
    fr_stop "relay-$label" || fr_fail "$label: relay did not exit cleanly"
    if [[ $loss != 0 ]]; then
        fr_impair_stop sub relay ingress
        (( $(fr_impair_counter sub relay ingress dropped) > 0 )) ||
            fr_fail "$label: the impaired link dropped nothing"
    fi
    # The kernel frees a detached program's maps after an RCU grace
    # period: they may outlive the process by a moment, not more.
    local left m i
    for (( i = 0; i < 50; i++ )); do
        left=$(attached)
        for m in $maps; do
            bpftool map show id "$m" >/dev/null 2>&1 && left+=" map $m"
        done
        [[ -z $left ]] && break
        sleep 0.1
    done
    [[ -z $left ]] || fr_fail "$label: left behind 5 s after exit: $left"

    json "$d/subs.json" "$d/late.json" "$d/mover.json" "$d/relay.json" \
        "$label" "$loss" "$d" "$tls" <<'PY' ||
import sys
from checks import (copies_accounted, failed_sessions, kernel_share, load,
                    media_in_clear, sessions)
subs = sessions(sys.argv[1])
late = sessions(sys.argv[2])[0]
mover = load(sys.argv[3])
relay = load(sys.argv[4])
label, loss, d, tls = sys.argv[5], float(sys.argv[6]), sys.argv[7], \
    sys.argv[8] == "1"
fp = relay["fastpath"]
ok = True
# The capture spans the first 12 s: objects 0..360 at 30 fps.
clear = media_in_clear(f"{d}/capture.bin", 360)
print(f"{label}: {clear} object bodies readable on the subscribers' link")
if tls and clear:
    print(f"{label}: media in clear on the wire in tls mode")
    ok = False
if not tls and clear < 100:
    print(f"{label}: the capture misses the cleartext media: the check "
          "would not see it either")
    ok = False
if tls:
    upd = load(f"{d}/keyupd.json")
    origin = load(f"{d}/origin.json")
    aes = sessions(f"{d}/aes.json")
    ok = not failed_sessions(f"{label} key updates", upd["sessions"],
                             min_objects=500) and ok
    ok = not failed_sessions(f"{label} AES-only", aes,
                             min_objects=500) and ok
    print(f"{label}: key updates: subscriber {upd['key_updates']} "
          f"(failed {upd['key_update_failures']}), origin "
          f"{origin['key_updates']} (failed {origin['key_update_failures']});"
          f" connections on another suite {fp['fallback']['cipher']}")
    if (upd["key_updates"] < 4 or upd["key_update_failures"] or
            origin["key_updates"] < 3 or origin["key_update_failures"]):
        print(f"{label}: too few key updates, or failed ones")
        ok = False
    if fp["fallback"]["cipher"] < 1:
        print(f"{label}: the AES-only subscriber was not counted")
        ok = False
# 20 s at 30 fps, less the first group the relay may join mid-way; the
# late joiner gets the last 10 s.
ok = not failed_sessions(label, subs + [mover["sessions"][0]],
                         min_objects=500) and ok
ok = not failed_sessions(f"{label} late joiner", [late],
                         min_objects=200) and ok
share = kernel_share(fp)
print(f"{label}: {len(subs)} subscribers + late joiner intact; kernel "
      f"{fp['kernel_copies']} / userspace {fp['userspace_copies']} media "
      f"copies = {100 * share:.1f} % kernel; cache replay "
      f"{fp['cache_replay_copies']}; registered {fp['registered']}; "
      f"retransmitted {fp['retransmitted']}; fallback {fp['fallback']}")
# The kernel sends at least 95 % of the copies, with or without loss
# (measured 98.2-98.7 % clean, 97.0-98.4 % with 2 % loss; before late
# registrations were kept from ngtcp2's RTT samples, min_rtt collapsed,
# BBR's window shrank and 2 % loss left the kernel 92.7-97.4 %).
if share < 0.95:
    print(f"{label}: kernel share below 95 %")
    ok = False
# Every copy accounted for (the killed subscriber's wait until its idle
# timeout).
if not copies_accounted(fp):
    print(f"{label}: kernel copies not all accounted for: {fp}")
    ok = False
# The mover migrated every 3.5 s of the 20 s stream; each time the relay's
# connection took a new path and a new connection ID, and the kernel's
# slot must have followed both.
moved = mover["migrations"]
print(f"{label}: the mover migrated {moved} times; the kernel followed "
      f"{fp['cid_changes']} connection-ID changes and {fp['moves']} moves")
if (moved < 3 or mover["migration_failures"] or fp["cid_changes"] < moved
        or fp["moves"] < moved):
    print(f"{label}: the kernel did not follow the migrations: {mover}")
    ok = False
# Copies sent to a CID or port the subscriber left are lost and sent
# again: with the slot not following the CID, 1272 of 22639 copies were
# retransmitted on the clean link (normally ~35: in flight at a migration
# or to the killed subscriber) and 1738 with 2 % loss (normally ~2.3 %).
lost_bar = 0.05 if loss else 0.01
if fp["retransmitted"] > lost_bar * fp["kernel_copies"]:
    print(f"{label}: more than {100 * lost_bar:.0f} % of the copies lost")
    ok = False
if late["start_group"] < 8 or fp["cache_replay_copies"] == 0:
    print(f"{label}: late joiner not served from the cache: {late}")
    ok = False
if loss and fp["retransmitted"] == 0:
    print(f"{label}: nothing retransmitted through {loss} % loss")
    ok = False
sys.exit(0 if ok else 1)
PY
        fr_fail "$label: fast-path check failed"
}

run clean 0
run loss 2
echo "PASS: kernel fast path: fan-out, 2 % loss, late join, leave, cleanup"
