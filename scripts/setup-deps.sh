#!/usr/bin/env bash
# Install everything libfastrelay needs to build and test on Debian 12.
# Idempotent: adds bookworm-backports only if missing and installs only
# packages that are not installed yet. Needs root when something is missing.
set -euo pipefail

BACKPORTS_LIST=/etc/apt/sources.list.d/fastrelay-backports.sources

# Packages from bookworm-backports (newer than bookworm ships).
BACKPORTS_PKGS=(libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev
                libbpf-dev bpftool)
# Packages from bookworm itself. libunistring-dev is what GnuTLS's
# `pkg-config --static` needs beyond the others (the packaging test links a
# consumer that way); python3 checks the end-to-end tests' JSON, openssl
# makes the certificate a restarted relay keeps (test_relay_faults).
BASE_PKGS=(build-essential cmake pkg-config clang llvm libelf-dev zlib1g-dev
           libgnutls28-dev libev-dev libcmocka-dev iproute2 ffmpeg
           libclang-rt-14-dev libunistring-dev python3 openssl)

log() { printf 'setup-deps: %s\n' "$*" >&2; }

has_backports() {
    grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null
}

missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || printf '%s\n' "$p"
    done
}

# True when an installed package's version is at least $2.
version_at_least() {
    local v
    v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge "$2"
}

need_bp=()
mapfile -t need_bp < <(missing "${BACKPORTS_PKGS[@]}")
version_at_least libbpf-dev 1:1.4 || need_bp+=(libbpf-dev)
version_at_least libngtcp2-dev 1.11 || need_bp+=(libngtcp2-dev)
need_base=()
mapfile -t need_base < <(missing "${BASE_PKGS[@]}")

if [ ${#need_bp[@]} -eq 0 ] && [ ${#need_base[@]} -eq 0 ]; then
    log "all dependencies present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${need_bp[*]} ${need_base[*]}"
    log "run this script as root to install them"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! has_backports; then
    log "adding bookworm-backports to $BACKPORTS_LIST"
    cat >"$BACKPORTS_LIST" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

log "apt-get update"
apt-get update -qq
if [ ${#need_base[@]} -gt 0 ]; then
    log "installing from bookworm: ${need_base[*]}"
    apt-get install -y -qq --no-install-recommends "${need_base[@]}" >/dev/null
fi
if [ ${#need_bp[@]} -gt 0 ]; then
    log "installing from bookworm-backports: ${need_bp[*]}"
    apt-get install -y -qq --no-install-recommends -t bookworm-backports \
        "${BACKPORTS_PKGS[@]}" >/dev/null
fi
log "done"
