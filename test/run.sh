#!/usr/bin/env bash
# Builds libfastrelay with -Werror, AddressSanitizer and UBSan, and runs every
# test: unit tests, BPF program tests, network-namespace end-to-end tests and
# the packaging checks. Installs missing dependencies first (needs root then).
#
#   test/run.sh                 everything
#   test/run.sh -R quic         only tests whose name matches (ctest -R)
#
# Tests that need root, BPF or namespaces skip with a reason when they cannot
# run; with CI=true such a skip is a failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FR_BUILD_DIR:-$root/build/test}

bash "$root/scripts/setup-deps.sh"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DFR_WERROR=ON -DFR_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
exec ctest --output-on-failure --timeout 900 "$@"
