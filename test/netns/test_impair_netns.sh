#!/usr/bin/env bash
# End-to-end test of fr-impair: seeded loss on a veth egress between two
# namespaces. Checks the loss the receiver sees against the program's
# counters and the configured rate, and that a second run with the same seed,
# attached through tc clsact instead of tcx, drops exactly the same datagrams.
# Needs root; FR_IMPAIR_BIN and FR_UDPPROBE_BIN name the tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

readonly COUNT=2000 LOSS_PERCENT=5 SEED=20240611 PORT=5000
# Expected drops are 100 with a standard deviation of 10; allow 4 of them.
readonly EXPECTED_DROPS=$((COUNT * LOSS_PERCENT / 100)) TOLERANCE=40

fr_netns_init
[[ -x ${FR_UDPPROBE_BIN:-} ]] || fr_fail "FR_UDPPROBE_BIN must name fr-udpprobe"

fr_host_add tx
fr_host_add rx
fr_link tx rx 198.18.0.1/24 198.18.0.2/24

# run_once MODE: impairs tx's egress towards rx, attached in MODE (tcx or tc),
# sends COUNT numbered datagrams to rx and checks the counts. The numbers of
# the lost datagrams go to $FR_TMPDIR/missing-MODE.
run_once() {
    local mode=$1 recv="recv-$1" received seen dropped
    fr_impair tx rx egress --loss "$LOSS_PERCENT" --seed "$SEED" --udp-only \
        --attach "$mode"
    grep -q " mode=$mode " "$(fr_job_log "impair-tx-rx-egress")" ||
        fr_fail "fr-impair did not attach with $mode"
    fr_spawn rx "$recv" "$FR_UDPPROBE_BIN" recv --port "$PORT" \
        --count "$COUNT" --idle-ms 500 --timeout-ms 20000 \
        --missing "$FR_TMPDIR/missing-$mode"
    fr_wait_log "$recv" '^ready ' 5
    fr_exec tx timeout 20 "$FR_UDPPROBE_BIN" send --to "$(fr_addr rx tx)" \
        --port "$PORT" --count "$COUNT" --interval-us 20 >/dev/null
    fr_wait "$recv" 25 || fr_fail "the receiver failed"
    fr_impair_stop tx rx egress

    received=$(fr_field received "$(grep '^received=' "$(fr_job_log "$recv")")")
    seen=$(fr_impair_counter tx rx egress seen)
    dropped=$(fr_impair_counter tx rx egress dropped)
    echo "$mode: sent=$COUNT seen=$seen dropped=$dropped received=$received"
    ((seen == COUNT)) ||
        fr_fail "$mode: the program saw $seen of $COUNT datagrams"
    ((received == COUNT - dropped)) ||
        fr_fail "$mode: $received received, but $COUNT sent and $dropped dropped"
    ((dropped >= EXPECTED_DROPS - TOLERANCE &&
        dropped <= EXPECTED_DROPS + TOLERANCE)) ||
        fr_fail "$mode: $dropped dropped, expected $EXPECTED_DROPS ± $TOLERANCE"
    [[ $(wc -l <"$FR_TMPDIR/missing-$mode") -eq $dropped ]] ||
        fr_fail "$mode: the missing list does not match the drop count"
}

run_once tcx
run_once tc
[[ $(tc -n "$(fr_ns tx)" qdisc show dev rx) != *clsact* ]] ||
    fr_fail "fr-impair left its clsact qdisc behind"
cmp -s "$FR_TMPDIR/missing-tcx" "$FR_TMPDIR/missing-tc" ||
    fr_fail "the same seed dropped different datagrams in the two runs"
echo "PASS: identical drops with seed $SEED in both runs"
