#!/usr/bin/env bash
# The interop matrix: MoQT interop-runner clients against relays, raw QUIC,
# drafts 18 and 19, in network namespaces (client on host sub, relay on
# host relay at 198.18.2.1:4433), then media both ways. Installs the peers
# it needs (peers.sh) first.
#
#   test/interop/matrix.sh [-c] [-d] [-r RELAYS] [-C CLIENTS] [-o DIR]
#
#   -r RELAYS   comma-separated relays: fr-relay, aiomoqt (its
#               moq-interop-relay), moq-relay (moq-dev); default all three
#   -C CLIENTS  comma-separated clients: fr-interop, aiomoqt (its
#               moq-interop-client); default both
#   -c          check: exit 1 unless, in every cell that ran, each of the
#               runner's six cases passes (or is a known gap listed in
#               tap_matrix.py with its reason)
#   -d          write the matrix into docs/INTEROP.md, between its
#               "matrix:begin" and "matrix:end" markers
#   -o DIR      keep every cell's TAP output in DIR
#
# Draft 19 cells run where both ends speak it: fr-interop against
# fr-relay and moq-relay (aiomoqt speaks 14, 16, 18, 20 and 22).
#
# A peer that cannot be installed here leaves its row or column "not
# installed"; with -c that is a skip (exit 77), a failure when CI=true.
# Needs root. FR_BIN_DIR holds fr-relay and fr-interop (default: the
# examples of build/test, the tree test/run.sh builds).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/test/netns/netns.sh"

FR_BIN_DIR=${FR_BIN_DIR:-$root/build/test/examples}
peers_dir=${FR_PEERS_DIR:-$root/build/peers}
relays=fr-relay,aiomoqt,moq-relay
clients=fr-interop,aiomoqt
check=0 write_doc=0 keep=

usage() { sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while getopts ":cdr:C:o:h" opt; do
    case $opt in
    c) check=1 ;;
    d) write_doc=1 ;;
    r) relays=$OPTARG ;;
    C) clients=$OPTARG ;;
    o) keep=$OPTARG ;;
    h) usage; exit 0 ;;
    :) echo "matrix.sh: -$OPTARG needs a value" >&2; exit 2 ;;
    *) echo "matrix.sh: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
(($# == 0)) || { echo "matrix.sh: unexpected argument '$1'" >&2; exit 2; }
IFS=, read -ra relay_list <<<"$relays"
IFS=, read -ra client_list <<<"$clients"
for r in "${relay_list[@]}"; do
    [[ $r =~ ^(fr-relay|aiomoqt|moq-relay)$ ]] ||
        { echo "matrix.sh: unknown relay '$r'" >&2; exit 2; }
done
for c in "${client_list[@]}"; do
    [[ $c =~ ^(fr-interop|aiomoqt)$ ]] ||
        { echo "matrix.sh: unknown client '$c'" >&2; exit 2; }
done

fr_netns_init
fr_require_bins fr-relay fr-interop
d=$FR_TMPDIR
readonly URL=moqt://198.18.2.1:4433

# Which peers are here: peers.sh exits 2 for one that cannot be installed.
declare -A have=([fr-relay]=1 [fr-interop]=1)
want_peer() {
    local rc=0
    [[ -n ${have[$1]:-} ]] && return 0
    bash "$here/peers.sh" "$1" || rc=$?
    ((rc == 0 || rc == 2)) || fr_fail "peers.sh $1 failed ($rc)"
    ((rc == 0)) && have[$1]=1
    return 0
}
for p in "${relay_list[@]}" "${client_list[@]}"; do
    want_peer "$p"
done
relay_ok() { [[ -n ${have[$1]:-} ]]; }
client_ok() { [[ -n ${have[$1]:-} ]]; }

fr_relay_hosts

# speaks PEER DRAFT: whether the peer speaks the draft.
speaks() {
    [[ $2 == 18 || $1 =~ ^(fr-relay|fr-interop|moq-relay)$ ]]
}

# start_relay RELAY [DRAFT=18]
start_relay() {
    local draft=${2:-18}
    case $1 in
    fr-relay) fr_relay_start relay "$d" ;;
    aiomoqt)
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -nodes -days 2 -subj /CN=relay -keyout "$d/aiomoqt.key" \
            -out "$d/aiomoqt.pem" >/dev/null 2>&1 ||
            fr_fail "openssl cannot make a certificate"
        fr_spawn relay relay "$peers_dir/aiomoqt/bin/moq-interop-relay" \
            --quic --bind 198.18.2.1 --port 4433 --draft 18 \
            --cert "$d/aiomoqt.pem" --key "$d/aiomoqt.key"
        fr_wait_log relay 'listening on' 20
        ;;
    moq-relay)
        # Anonymous sessions may publish and subscribe anywhere; IETF
        # MoQT draft 18 only (it speaks moq-lite too).
        fr_spawn relay relay "$peers_dir/moq-relay/bin/moq-relay" \
            --listen 198.18.2.1:4433 --listen-tls-generate relay \
            --auth-public '**' --listen-version "moq-transport-$draft" \
            --log-level info
        fr_wait_log relay 'listening' 20
        ;;
    esac
}

# run_client CLIENT TAPFILE DRAFT: every case the client lists, one TAP
# stream.
run_client() {
    local client=$1 tap=$2 draft=$3 t
    case $client in
    fr-interop)
        fr_exec sub env MOQT_DRAFT="draft-$draft" timeout 120 \
            "$FR_BIN_DIR/fr-interop" -r "$URL" --tls-disable-verify \
            >"$tap" 2>"$tap.err" || true
        ;;
    aiomoqt)
        # One run per case: a run of all of them leaves out fetch and join.
        local bin=$peers_dir/aiomoqt/bin/moq-interop-client
        : >"$tap"
        while read -r t; do
            fr_exec sub timeout 30 "$bin" -r "$URL" --draft "$draft" \
                --tls-disable-verify -t "$t" >>"$tap" 2>>"$tap.err" || true
        done < <(fr_exec sub "$bin" -l)
        ;;
    esac
}

mkdir -p "$d/cells"
for draft in 18 19; do
    for relay in "${relay_list[@]}"; do
        relay_ok "$relay" && speaks "$relay" "$draft" || continue
        start_relay "$relay" "$draft"
        for client in "${client_list[@]}"; do
            client_ok "$client" && speaks "$client" "$draft" || continue
            echo "matrix: $client against $relay, draft $draft" >&2
            run_client "$client" "$d/cells/$client@$relay@$draft.tap" \
                "$draft"
        done
        fr_stop relay || echo "matrix: $relay did not exit cleanly" \
            >>"$d/cells/relay-$relay.note"
    done
done
# Media both ways, every object checked as far as the peer's tools allow:
# fr-sub verifies fr-origin's checksums and sequence numbers, and with
# --any-payload a third-party publisher's object IDs group by group up to
# each END_OF_GROUP; aiomoqt's moq-sub-bench counts what it got and lost.

# media_result NAME pass|fail DETAIL
media_result() {
    printf '%s\t%s\n' "$2" "$3" >"$d/cells/media-$1.result"
    echo "matrix: media $1: $2: $3" >&2
}

# fr_sub_verdict JSON: "pass|fail<TAB>detail" from fr-sub's summary.
fr_sub_verdict() {
    python3 - "$1" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["sessions"][0]
except (OSError, ValueError, KeyError, IndexError) as e:
    print(f"fail\tno fr-sub summary ({e})")
    sys.exit()
ok = (s["objects_received"] >= 100 and s["objects_missing"] == 0 and
      s["objects_corrupt"] == 0 and s["groups_skipped"] == 0 and
      s["track_ended"])
print("{}\t{} objects in groups {}-{}, {} missing, {} corrupt, track {}"
      .format("pass" if ok else "fail", s["objects_received"],
              s["start_group"], s["last_group"], s["objects_missing"],
              s["objects_corrupt"],
              "ended" if s["track_ended"] else "not ended"))
PY
}

# A third-party publisher (aiomoqt's moq-pub-bench, PUBLISH) -> fr-relay
# -> fr-sub, which subscribes first and has the relay hold its SUBSCRIBE
# until the track appears, so it gets the track from its first object.
media_aiomoqt_to_fr_sub() {
    local v
    fr_spawn sub fsub "$FR_BIN_DIR/fr-sub" --connect 198.18.2.1:4433 \
        --ca "$d/relay.pem" --namespace aiomoqt --track bench --any-payload \
        --rendezvous 10s --duration 30 --stats-interval 0.2 \
        --json "$d/m-pub.json"
    fr_wait_log fsub 'up 1/1' 10
    fr_exec origin timeout 40 "$peers_dir/aiomoqt/bin/moq-pub-bench" \
        "$URL" -k --draft 18 -T bench -s 1000 -g 30 -r 30 -t 5 \
        >"$d/m-pub.log" 2>&1 || true
    fr_wait fsub 45 || true
    v=$(fr_sub_verdict "$d/m-pub.json")
    media_result aiomoqt-pub-fr-relay-fr-sub "${v%%$'\t'*}" \
        "${v#*$'\t'}; moq-pub-bench says: $(grep -o 'Sent: [0-9]* objects' \
        "$d/m-pub.log" || echo 'nothing')"
}

# fr-origin -> fr-relay -> a third-party subscriber (aiomoqt's
# moq-sub-bench): it must get every object fr-origin sent the relay.
media_fr_origin_to_aiomoqt() {
    local got lost sent
    fr_origin_start forigin "$d" 6 500k --json "$d/m-origin.json"
    fr_exec sub timeout 40 "$peers_dir/aiomoqt/bin/moq-sub-bench" "$URL" \
        -k --draft 18 -N live -T video -t 15 -i 30 >"$d/m-sub.log" 2>&1 ||
        true
    fr_wait forigin 20 || true
    got=$(sed -n 's/^ *Objects: *\([0-9,]*\).*/\1/p' "$d/m-sub.log" | tr -d ,)
    lost=$(sed -n 's/^ *Lost: *\([0-9,]*\).*/\1/p' "$d/m-sub.log" | tr -d ,)
    sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))
        ["objects_sent"])' "$d/m-origin.json" 2>/dev/null || echo "?")
    if [[ -n $got && $got == "$sent" && $lost == 0 && $got -ge 50 ]]; then
        media_result fr-origin-fr-relay-aiomoqt-sub pass \
            "$got objects of $sent sent, $lost lost"
    else
        media_result fr-origin-fr-relay-aiomoqt-sub fail \
            "moq-sub-bench got ${got:-none} of $sent, lost ${lost:-?}"
    fi
}

# fr-origin -> fr-relay --fastpath (tls: the kernel opens each upstream
# packet and seals each copy) -> a third-party subscriber on another QUIC
# stack (aiomoqt's moq-sub-bench, picoquic): every object, and most copies
# from the kernel.
media_fr_origin_fastpath_to_aiomoqt() {
    local got lost sent share
    fr_origin_start forigin "$d" 6 500k --json "$d/f-origin.json"
    fr_exec sub timeout 40 "$peers_dir/aiomoqt/bin/moq-sub-bench" "$URL" \
        -k --draft 18 -N live -T video -t 15 -i 30 >"$d/f-sub.log" 2>&1 ||
        true
    fr_wait forigin 20 || true
    fr_stop relay || true
    got=$(sed -n 's/^ *Objects: *\([0-9,]*\).*/\1/p' "$d/f-sub.log" | tr -d ,)
    lost=$(sed -n 's/^ *Lost: *\([0-9,]*\).*/\1/p' "$d/f-sub.log" | tr -d ,)
    sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))
        ["objects_sent"])' "$d/f-origin.json" 2>/dev/null || echo "?")
    share=$(python3 -c 'import json,sys
from checks import kernel_share
print(round(100 * kernel_share(json.load(open(sys.argv[1]))["fastpath"]), 1))
' "$d/relay.json" 2>/dev/null || echo 0)
    if [[ -n $got && $got == "$sent" && $lost == 0 && $got -ge 50 ]] &&
        python3 -c "import sys; sys.exit(float('$share') < 90)"; then
        media_result fr-origin-fr-relay-fastpath-aiomoqt-sub pass \
            "$got objects of $sent sent, $lost lost, $share % of the copies by the kernel"
    else
        media_result fr-origin-fr-relay-fastpath-aiomoqt-sub fail \
            "moq-sub-bench got ${got:-none} of $sent, lost ${lost:-?}; kernel share $share %"
    fi
}

# fr-origin -> a third-party relay (moq-relay) -> fr-sub, over raw QUIC or
# with fr-sub over WebTransport (moq-relay serves HTTP/3 on its QUIC port;
# the URL's path is the root its namespaces hang from, and the origin's
# raw QUIC session, without a PATH, publishes at the root). moq-relay
# drops subgroup streams other than 0, so fr-origin sends each group as
# one.
media_via_moq_relay() {
    local name=$1 target=$2 v
    fr_spawn origin forigin "$FR_BIN_DIR/fr-origin" --connect \
        198.18.2.1:4433 --insecure --one-subgroup --fps 30 --gop 30 \
        --bitrate 500k --duration 6
    fr_wait_log forigin 'namespace live accepted' 10
    fr_exec sub timeout 40 "$FR_BIN_DIR/fr-sub" --connect "$target" \
        --insecure --duration 15 --stats-interval 0 \
        --json "$d/m-$name.json" >"$d/m-$name.log" 2>&1 || true
    fr_wait forigin 20 || true
    v=$(fr_sub_verdict "$d/m-$name.json")
    media_result "$name" "${v%%$'\t'*}" "${v#*$'\t'}"
}
media_fr_origin_via_moq_relay() {
    media_via_moq_relay fr-origin-moq-relay-fr-sub 198.18.2.1:4433
}
media_fr_origin_via_moq_relay_webtransport() {
    media_via_moq_relay fr-origin-moq-relay-fr-sub-webtransport \
        https://198.18.2.1:4433/
}

run_media() {
    local relay=$1 flow=$2
    start_relay "$relay"
    "$flow"
    fr_stop relay || true
}
if [[ ,$relays, == *,fr-relay,* && -n ${have[aiomoqt]:-} ]]; then
    run_media fr-relay media_aiomoqt_to_fr_sub
    run_media fr-relay media_fr_origin_to_aiomoqt
    # The relay's JSON summary is written as it exits: the flow stops it.
    fr_fastpath_relay relay "$d" --stats-interval 0
    media_fr_origin_fastpath_to_aiomoqt
fi
if [[ ,$relays, == *,moq-relay,* && -n ${have[moq-relay]:-} ]]; then
    run_media moq-relay media_fr_origin_via_moq_relay
    run_media moq-relay media_fr_origin_via_moq_relay_webtransport
fi
[[ -z $keep ]] || { mkdir -p "$keep" && cp -r "$d/cells/." "$keep/"; }

# What ran: the pins peers.sh recorded.
versions=
for p in aiomoqt moq-relay; do
    [[ -z ${have[$p]:-} || ! -f $peers_dir/$p/.installed ]] ||
        versions+="${versions:+, }$(<"$peers_dir/$p/.installed")"
done
args=(--relays "${relay_list[*]}" --clients "${client_list[*]}"
    --versions "$versions"
    --missing "$(for p in "${relay_list[@]}" "${client_list[@]}"; do
        [[ -n ${have[$p]:-} ]] || printf '%s ' "$p"; done)")
((write_doc == 0)) || args+=(--doc "$root/docs/INTEROP.md")
((check == 0)) || args+=(--check)
rc=0
python3 "$here/tap_matrix.py" "$d/cells" "${args[@]}" || rc=$?
((rc != 77)) || fr_skip "peers missing: see above"
exit "$rc"
