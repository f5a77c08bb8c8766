#!/usr/bin/env bash
# Installs the build to a temporary prefix and builds a consumer program
# against it three ways: pkg-config (shared), pkg-config --static, and CMake
# find_package(fastrelay). Also checks the ABI: SONAME and that every
# exported symbol is an fr_ symbol carrying the FASTRELAY_ version.
#
#   check_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS...]
set -euo pipefail

build=$1
src=$2
shift 2
extra=("$@")
prefix=$(mktemp -d /tmp/fr-pkg-XXXXXX)
trap 'rm -rf "$prefix"' EXIT

fail() { echo "check_install: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name libfastrelay.pc -printf '%h\n' | head -1)
[ -n "$libdir" ] || fail "libfastrelay.pc not installed"
libdir=${libdir%/pkgconfig}
export PKG_CONFIG_PATH=$libdir/pkgconfig

# ABI: SONAME and versioned exports only.
so=$libdir/libfastrelay.so
soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libfastrelay.so.0 ] || fail "SONAME is '$soname'"
bad=$(nm -D --defined-only "$so" | awk '$3 != "FASTRELAY_0" {print $3}' |
      grep -vE '^fr_[a-z0-9_]+@@FASTRELAY_[0-9_]+$' || true)
[ -z "$bad" ] || fail "unversioned or non-fr_ exports: $bad"
count=$(nm -D --defined-only "$so" | grep -c '@@FASTRELAY_')
echo "check_install: ABI ok: $soname, $count versioned fr_ symbols"

cc=${CC:-cc}
# 1. pkg-config, shared.
# shellcheck disable=SC2046
$cc "${extra[@]}" -o "$prefix/c-shared" "$src/test/pkg/consumer.c" \
    $(pkg-config --cflags --libs libfastrelay)
LD_LIBRARY_PATH=$libdir "$prefix/c-shared" || fail "shared consumer"
deps=$(LD_LIBRARY_PATH=$libdir ldd "$prefix/c-shared")
[[ $deps == *"libfastrelay.so.0 => $libdir/"* ]] ||
    fail "shared consumer did not load the installed library"

# 2. pkg-config --static: the archive plus Requires.private/Libs.private.
libs=$(pkg-config --static --libs libfastrelay |
       sed 's/-lfastrelay\b/-l:libfastrelay.a/')
# shellcheck disable=SC2046,SC2086
$cc "${extra[@]}" -o "$prefix/c-static" "$src/test/pkg/consumer.c" \
    $(pkg-config --cflags libfastrelay) $libs
"$prefix/c-static" || fail "static consumer"
deps=$(ldd "$prefix/c-static")
[[ $deps != *libfastrelay* ]] || fail "static consumer links the shared library"

# 3. CMake find_package(fastrelay).
cmake -S "$src/test/pkg/cmake" -B "$prefix/cmake-build" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="${extra[*]}" >/dev/null || fail "find_package configure"
cmake --build "$prefix/cmake-build" >/dev/null || fail "find_package build"
LD_LIBRARY_PATH=$libdir "$prefix/cmake-build/consumer" ||
    fail "find_package consumer"
echo "check_install: pkg-config shared, pkg-config --static and find_package OK"
