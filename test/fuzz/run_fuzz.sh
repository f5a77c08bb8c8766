#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer, seeds each with valid inputs, and
# runs each for FR_FUZZ_SECONDS (default 60): the parsers that read peer
# input (MoQT codec, the splice layer's ACK rewrite), a QUIC server endpoint
# driven by arbitrary and mutated datagrams, and the relay core fed
# arbitrary MoQT control messages.
#
# Usage: run_fuzz.sh BUILD_DIR
#
# Everything (binaries, corpora, logs, crash artifacts) stays in BUILD_DIR;
# the corpora grow across runs. Exits non-zero if a target fails to build or
# finds a crash, a leak, a sanitizer report or an oracle failure. Prints one
# summary line per target.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
seconds=${FR_FUZZ_SECONDS:-60}
cc=${CC_FUZZ:-clang}
src=$(cd "$(dirname "$0")/../.." && pwd)

# lib/util and lib/quic (which needs nothing of lib/splice), without the
# libev adapter, and the virtual-time network of the tests.
quic="lib/util/addr.c lib/util/error.c lib/util/grow.c lib/util/hmap.c \
lib/util/layout.c lib/util/log.c lib/util/qvarint.c lib/util/sbuf.c \
lib/quic/cert.c \
lib/quic/cleartext.c lib/quic/conn.c lib/quic/conn_hooks.c \
lib/quic/conn_sched.c lib/quic/conn_view.c lib/quic/endpoint.c lib/quic/keylog.c \
lib/quic/rx_keys.c lib/quic/stream.c lib/quic/tls.c lib/quic/wire.c \
lib/quic/wire_protect.c \
test/common/quic_sim.c"
moq="lib/moq/buf.c lib/moq/cache.c lib/moq/codec.c lib/moq/control.c \
lib/moq/data.c lib/moq/layouts.c lib/moq/name.c lib/moq/props.c \
lib/moq/publisher.c lib/moq/relay.c lib/moq/relay_fanout.c \
lib/moq/relay_fetch.c lib/moq/relay_ns.c lib/moq/rendezvous.c \
lib/moq/request.c lib/moq/session.c lib/moq/subscriber.c \
lib/moq/transport.c lib/wt/session.c lib/wt/wire.c"
quic_libs="libngtcp2 libngtcp2_crypto_gnutls gnutls"

# Each target: name, the library sources it needs, pkg-config modules.
targets=(
    "fuzz_moq_control|lib/moq/codec.c|"
    "fuzz_moq_data|lib/moq/codec.c|"
    "fuzz_ack_rewrite|lib/splice/ack_rewrite.c lib/splice/frames.c lib/splice/pnmap.c lib/util/qvarint.c|"
    "fuzz_quic_server|$quic|$quic_libs"
    "fuzz_relay_control|$quic $moq test/common/moq_glue.c|$quic_libs libnghttp3"
)

warn=(-std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Werror)
fuzz_flags=(-g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=all)
seed_flags=(-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
            -DFR_FUZZ_SEED_MAIN)

mkdir -p "$build"
status=0
# Headers CMake generates (version.h), for sources that include them.
gen=$build/include
mkdir -p "$gen/fastrelay"
sed 's/@[A-Za-z_]*@/0/g' "$src/include/fastrelay/version.h.in" \
    >"$gen/fastrelay/version.h"
for target in "${targets[@]}"; do
    IFS='|' read -r name files pkgs <<<"$target"
    sources=()
    for f in $files; do
        sources+=("$src/$f")
    done
    libs=()
    if [[ -n $pkgs ]]; then
        read -ra libs <<<"$(pkg-config --cflags --libs $pkgs)"
    fi
    target_src=$src/test/fuzz/$name.c
    corpus=$build/corpus_$name
    log=$build/$name.log

    "$cc" "${warn[@]}" "${fuzz_flags[@]}" -I"$src/include" -I"$gen" \
        "${sources[@]}" "$target_src" "${libs[@]}" -o "$build/$name"
    "$cc" "${warn[@]}" "${seed_flags[@]}" -I"$src/include" -I"$gen" \
        "${sources[@]}" "$target_src" "${libs[@]}" -o "$build/${name}_seeds"
    mkdir -p "$corpus"
    "$build/${name}_seeds" "$corpus"

    rc=0
    "$build/$name" -max_total_time="$seconds" -print_final_stats=1 \
        -use_value_profile=1 -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
        -artifact_prefix="$build/$name-" "$corpus" >"$log" 2>&1 || rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | sed 's/cov: //')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | sed 's/ft: //')
    units=$(find "$corpus" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        result=ok
    else
        result="FAILED (exit $rc, see $log)"
        status=1
    fi
    printf '%s: %s, %s execs in %ss, cov %s, ft %s, corpus %s\n' \
        "$name" "$result" "${execs:-?}" "$seconds" "${cov:-?}" "${ft:-?}" \
        "$units"
    if [[ $rc -ne 0 ]]; then
        grep -E 'ERROR|oracle failure|SUMMARY|artifact' "$log" | head -n 20 >&2
    fi
done
exit $status
