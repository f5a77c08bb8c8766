#!/usr/bin/env bash
# Runs tests N times in a row and reports each one's failure rate: a flaky
# test is a bug, and this measures it.
#
#   test/flake.sh [-n N] [-b BUILD_DIR] [-x] TEST_REGEX
#
#   -n N          runs (default 10)
#   -b BUILD_DIR  an already configured and built tree (default build/test,
#                 the tree test/run.sh builds; build it first)
#   -x            stop at the first failure (default: run all N)
#
# The logs of failed runs are kept under $TMPDIR/fastrelay-flake/, with
# the files of a failed netns test (FR_KEEP_FAILED, see netns.sh). Exits 0
# only when every run of every matching test passed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=10
build=${FR_BUILD_DIR:-$root/build/test}
stop_first=0

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while getopts ":n:b:xh" opt; do
    case $opt in
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    x) stop_first=1 ;;
    h) usage; exit 0 ;;
    :) echo "flake.sh: -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    *) echo "flake.sh: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [[ $# -ne 1 ]]; then
    echo "flake.sh: give one test regex (ctest -R)" >&2
    usage >&2
    exit 2
fi
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
    echo "flake.sh: -n needs a positive count, not '$runs'" >&2
    exit 2
fi
if [[ ! -f $build/CTestTestfile.cmake ]]; then
    echo "flake.sh: $build is no built test tree; run test/run.sh first" \
        "or give one with -b" >&2
    exit 2
fi

regex=$1
logs="${TMPDIR:-/tmp}/fastrelay-flake/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$logs"
mapfile -t tests < <(cd "$build" && ctest -N -R "$regex" |
    sed -n 's/^ *Test *#[0-9]*: //p')
if [[ ${#tests[@]} -eq 0 ]]; then
    echo "flake.sh: no test matches '$regex'" >&2
    exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
declare -A failed=()
total_failed=0
for t in "${tests[@]}"; do
    failed[$t]=0
done
for ((i = 1; i <= runs; i++)); do
    for t in "${tests[@]}"; do
        log="$logs/$t.run$i.log"
        start=$SECONDS
        if (cd "$build" && FR_KEEP_FAILED="$logs/$t.run$i.files" \
            ctest --output-on-failure --timeout 900 -R "^${t}\$") \
            >"$log" 2>&1; then
            printf 'run %d/%d %-28s pass %3ds\n' "$i" "$runs" "$t" \
                $((SECONDS - start))
            rm -f "$log"
        else
            printf 'run %d/%d %-28s FAIL %3ds (log: %s)\n' "$i" "$runs" \
                "$t" $((SECONDS - start)) "$log"
            failed[$t]=$((failed[$t] + 1))
            total_failed=$((total_failed + 1))
            if [[ $stop_first -eq 1 ]]; then
                runs=$i
                break 2
            fi
        fi
    done
done

echo "failure rate over $runs runs:"
for t in "${tests[@]}"; do
    printf '  %-28s %d/%d failed (%d%%)\n' "$t" "${failed[$t]}" "$runs" \
        $((100 * failed[$t] / runs))
done
rmdir "$logs" 2>/dev/null || true
[[ $total_failed -eq 0 ]]
