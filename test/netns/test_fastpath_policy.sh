#!/usr/bin/env bash
# An application's own fast-path hooks (examples/keyframes-relay, through
# fr_fastpath_set_hooks):
# - priority policy: with --keyframes-only, subscribers get the key frames
#   (subgroups at publisher priority 0) and nothing else, every one intact;
#   the other subgroups are dropped by policy, in the kernel and in
#   userspace alike; the CID hook saw each subscriber's connection ID and
#   the registration hook every registered kernel packet;
# - on_lost: with --reset-lost and 5 % loss towards the subscribers,
#   subgroups whose kernel-sent data was lost are reset, not retransmitted:
#   subscribers miss those objects, but nothing arrives corrupt and no
#   connection fails.
# Needs root; FR_BIN_DIR names the directory holding fr-origin, fr-sub and
# keyframes-relay; FR_IMPAIR_BIN the fr-impair binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly DURATION=10 SUBS=3

fr_netns_init
fr_require_bins fr-origin fr-sub keyframes-relay
bin=$FR_BIN_DIR

fr_relay_hosts

# run LABEL [KEYFRAMES-RELAY OPTION]...: one session; leaves the relay's
# summary line in $d/summary and the subscribers' JSON in $d/subs.json.
run() {
    local label=$1 d=$FR_TMPDIR/$1
    mkdir -p "$d"
    fr_spawn relay "relay-$label" "$bin/keyframes-relay" \
        "${FR_CRYPTO_FLAGS[@]}" \
        --listen 198.18.2.1:4433 --cert-out "$d/relay.pem" \
        --duration $((DURATION + 20)) "${@:2}"
    fr_wait_log "relay-$label" 'listening on' 10
    fr_spawn origin "origin-$label" "$bin/fr-origin" "${FR_CRYPTO_FLAGS[@]}" \
        --connect 198.18.2.1:4433 --ca "$d/relay.pem" --fps 30 --gop 30 \
        --bitrate 1M --duration "$DURATION" --stats-interval 0
    fr_wait_log "origin-$label" 'namespace live accepted' 10
    fr_spawn sub "subs-$label" "$bin/fr-sub" "${FR_CRYPTO_FLAGS[@]}" \
        --connect 198.18.2.1:4433 --ca "$d/relay.pem" --connections "$SUBS" \
        --duration $((DURATION + 5)) --stats-interval 0 --json "$d/subs.json"
    fr_wait "origin-$label" 60 || fr_fail "$label: origin failed"
    # Subscribers miss objects by design: their exit status says so.
    fr_wait "subs-$label" 60 || true
    fr_stop "relay-$label" || fr_fail "$label: keyframes-relay failed"
    grep '^keyframes-relay: summary' "$(fr_job_log "relay-$label")" \
        > "$d/summary" || fr_fail "$label: keyframes-relay printed no summary"
    grep -c 'subscriber CID now' "$(fr_job_log "relay-$label")" \
        > "$d/cids" || true
}

check() {
    python3 - "$FR_TMPDIR/$1" "$1" "$SUBS" <<'PY'
import json, os, re, sys
d, label, nsubs = sys.argv[1], sys.argv[2], int(sys.argv[3])
subs = json.load(open(os.path.join(d, "subs.json")))["sessions"]
nums = {k: int(v) for k, v in
        re.findall(r"(\w+)=(\d+)", open(os.path.join(d, "summary")).read())}
cids = int(open(os.path.join(d, "cids")).read() or 0)
ok = True
for i, s in enumerate(subs):
    if s["objects_corrupt"] or s["error"]:
        print(f"{label}: subscriber {i}: {s}")
        ok = False
got = [s["objects_received"] for s in subs]
print(f"{label}: subscribers got {got} objects; relay {nums}; CID hook {cids}")
if label == "keyframes":
    # 10 s at one group per second: the key frame of each group, nothing
    # of the other 29 frames (a joining FETCH adds a few objects of the
    # group in flight at the start, which the policy does not cover).
    for s in subs:
        if not 8 <= s["objects_received"] <= 10 + s["objects_fetched"]:
            print(f"{label}: not key frames only: {s}")
            ok = False
    if nums["policy_drops"] == 0 or nums["kernel_copies"] == 0:
        print(f"{label}: no policy drops, or nothing from the kernel")
        ok = False
    if nums["registered"] != nums["hook_registered"]:
        print(f"{label}: the registration hook missed registrations")
        ok = False
    if cids < nsubs:
        print(f"{label}: the CID hook did not see every subscriber")
        ok = False
else:
    if nums["lost_resets"] == 0 or sum(s["objects_missing"] for s in subs) == 0:
        print(f"{label}: nothing was given up after a loss")
        ok = False
sys.exit(0 if ok else 1)
PY
}

run keyframes --keyframes-only
check keyframes || fr_fail "key-frame policy check failed"

fr_impair sub relay ingress --loss 5 --seed 3 --udp-only
run reset --reset-lost
fr_impair_stop sub relay ingress
check reset || fr_fail "on_lost reset check failed"
echo "PASS: an application's priority policy and on_lost through the hooks"
