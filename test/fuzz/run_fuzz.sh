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

# The .c files of directory $1 (relative to the source tree) except the
# files named after it: a file added to the library is built in without
# a word.
sources_in() {
    local dir=$1 f
    shift
    for f in "$src/$dir"/*.c; do
        f=${f#"$src"/}
        [[ " $* " == *" $f "* ]] || printf '%s ' "$f"
    done
}
# lib/util and lib/quic (which needs nothing of lib/splice), without the
# libev adapter, and the virtual-time network of the tests; lib/moq
# without its libev endpoint, and lib/wt.
quic="$(sources_in lib/util)$(sources_in lib/quic lib/quic/ev_adapter.c)\
test/common/quic_sim.c"
moq="$(sources_in lib/moq lib/moq/endpoint.c)$(sources_in lib/wt)"
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
