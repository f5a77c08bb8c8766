#!/usr/bin/env bash
# Installs the third-party MoQT peers the interop tests run, at pinned
# versions, into a cache directory, and prints nothing but errors. Test
# tools only: libfastrelay never depends on them.
#
#   test/interop/peers.sh [PEER]...     (default: every peer below)
#
# Peers:
#   aiomoqt   PyPI aiomoqt (QUIC by picoquic through aiopquic), in a
#             python3.12 virtual environment: moq-interop-client and
#             friends in $FR_PEERS_DIR/aiomoqt/bin
#   moq-relay crates.io moq-relay (moq-dev), built by cargo once into
#             $FR_PEER_CACHE (default ~/.cache/fastrelay-peers; a release
#             build takes 20-40 minutes on 2 cores), linked as
#             $FR_PEERS_DIR/moq-relay/bin/moq-relay
#
# FR_PEERS_DIR: where they go (default build/peers under the source
# tree). Idempotent: a peer whose pinned version is in place is kept.
# Exits 0, 2 for a peer that cannot be installed here (no python3.12 or
# cargo, the registry unreachable), 1 for bad usage.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${FR_PEERS_DIR:-$root/build/peers}

readonly AIOMOQT_VERSION=0.13.3 AIOPQUIC_VERSION=0.6.1
readonly MOQ_RELAY_VERSION=0.17.10
cache=${FR_PEER_CACHE:-$HOME/.cache/fastrelay-peers}

log() { printf 'peers: %s\n' "$*" >&2; }

# Prints a working python3.12: on PATH, or one of pyenv's.
find_python312() {
    local py
    for py in "$(command -v python3.12 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        [[ -n $py && -x $py ]] || continue
        "$py" -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
            2>/dev/null || continue
        printf '%s\n' "$py"
        return 0
    done
    return 1
}

install_aiomoqt() {
    local venv=$dir/aiomoqt py want
    want="aiomoqt==$AIOMOQT_VERSION aiopquic==$AIOPQUIC_VERSION"
    [[ -f $venv/.installed && $(<"$venv/.installed") == "$want" ]] &&
        return 0
    py=$(find_python312) || {
        log "aiomoqt needs python3.12 (on PATH or in pyenv); none works"
        return 2
    }
    rm -rf -- "$venv"
    "$py" -m venv "$venv" || return 2
    # shellcheck disable=SC2086 # $want is two requirement words
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check $want \
        >"$dir/aiomoqt-install.log" 2>&1; then
        log "cannot install $want (see $dir/aiomoqt-install.log):"
        tail -n 5 "$dir/aiomoqt-install.log" >&2
        return 2
    fi
    printf '%s\n' "$want" >"$venv/.installed"
}

# Not --locked: its lock file pins crate versions the registry here does
# not serve; cargo picks the newest compatible ones.
install_moq_relay() {
    local want="moq-relay==$MOQ_RELAY_VERSION" prefix
    prefix=$cache/moq-relay-$MOQ_RELAY_VERSION
    if [[ ! -x $prefix/bin/moq-relay ]]; then
        command -v cargo >/dev/null || {
            log "moq-relay needs cargo (rustup); none on PATH"
            return 2
        }
        mkdir -p "$cache"
        log "building moq-relay $MOQ_RELAY_VERSION (once; long)"
        if ! CARGO_TARGET_DIR=$cache/target cargo install moq-relay \
            --version "$MOQ_RELAY_VERSION" --root "$prefix" \
            >"$cache/moq-relay-build.log" 2>&1; then
            log "cannot build $want (see $cache/moq-relay-build.log):"
            tail -n 5 "$cache/moq-relay-build.log" >&2
            return 2
        fi
    fi
    mkdir -p "$dir/moq-relay/bin"
    ln -sfn "$prefix/bin/moq-relay" "$dir/moq-relay/bin/moq-relay"
    printf '%s\n' "$want" >"$dir/moq-relay/.installed"
}

peers=("$@")
((${#peers[@]})) || peers=(aiomoqt moq-relay)
mkdir -p "$dir"
for p in "${peers[@]}"; do
    case $p in
    aiomoqt) install_aiomoqt ;;
    moq-relay) install_moq_relay ;;
    *)
        log "unknown peer '$p' (known: aiomoqt moq-relay)"
        exit 1
        ;;
    esac
done
