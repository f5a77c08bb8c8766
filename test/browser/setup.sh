#!/usr/bin/env bash
# Installs what the browser test runs, test tools only (libfastrelay never
# depends on them), and prints nothing but errors:
#   - Debian's chromium (apt; headless, QUIC and WebTransport built in);
#   - Node.js 20 or later: the one on PATH, else Debian's nodejs and npm
#     with the npm registry's node@20 package for the binary;
#   - the npm packages pinned in package.json / package-lock.json
#     (playwright-core, esbuild, @moq/net) into $FR_BROWSER_DIR.
#
#   test/browser/setup.sh     (as root; FR_BROWSER_DIR, default
#                              build/browser under the source tree)
#
# Idempotent: a directory installed from the same lock file is kept.
# Prints the node binary to use on stdout. Exits 0, or 2 when something
# cannot be installed here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${FR_BROWSER_DIR:-$here/../../build/browser}
readonly NODE_FALLBACK=20.20.2

log() { printf 'browser setup: %s\n' "$*" >&2; }

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@" >"$dir/apt.log" 2>&1 || {
        log "cannot install $* (see $dir/apt.log):"
        tail -n 5 "$dir/apt.log" >&2
        exit 2
    }
}

# Prints a node of version 20 or later, installing one if need be.
find_node() {
    local node
    node=$(command -v node || true)
    if [[ -n $node ]] &&
        "$node" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
        printf '%s\n' "$node"
        return
    fi
    node=$dir/node-$NODE_FALLBACK/node_modules/node/bin/node
    if [[ ! -x $node ]]; then
        command -v npm >/dev/null || apt_install nodejs npm
        mkdir -p "${node%/node_modules/*}"
        npm install --prefix "${node%/node_modules/*}" --no-audit --no-fund \
            "node@$NODE_FALLBACK" >"$dir/node-install.log" 2>&1 || {
            log "cannot install node $NODE_FALLBACK (see $dir/node-install.log)"
            exit 2
        }
    fi
    printf '%s\n' "$node"
}

mkdir -p "$dir"
command -v chromium >/dev/null || apt_install chromium
node=$(find_node)
npm=$(dirname "$node")/npm
[[ -x $npm ]] || npm=$(command -v npm)
if ! cmp -s "$here/package-lock.json" "$dir/package-lock.json" ||
    [[ ! -d $dir/node_modules/@moq/net ]]; then
    cp "$here/package.json" "$here/package-lock.json" "$dir/"
    (cd "$dir" && PATH=$(dirname "$node"):$PATH "$npm" ci --no-audit --no-fund \
        >"$dir/npm.log" 2>&1) || {
        log "cannot install the pinned npm packages (see $dir/npm.log):"
        tail -n 5 "$dir/npm.log" >&2
        rm -f "$dir/package-lock.json"
        exit 2
    }
fi
printf '%s\n' "$node"
