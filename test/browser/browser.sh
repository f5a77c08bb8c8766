# browser.sh: what the browser tests share. Source it after netns.sh and
# fr_netns_init; needs FR_BIN_DIR (the tools) and $d (this run's files).

# fr_browser_tools DIR DRIVER...: installs the browser tools into DIR
# (setup.sh) and copies the drivers (node modules beside this file) and
# the module they share there; prints the node binary to use. Skips the
# test when the tools cannot be installed.
fr_browser_tools() {
    local dir=$1 here node f
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    node=$(FR_BROWSER_DIR=$dir "$here/setup.sh") ||
        fr_skip "cannot install the browser test's tools (see above)"
    for f in launch.mjs "${@:2}"; do
        cp "$here/$f" "$dir/$f"
    done
    printf '%s\n' "$node"
}

# fr_browser_clip FILE SECONDS: a 320x240 30 fps VP8 clip of ffmpeg's test
# pattern, a key frame every second.
fr_browser_clip() {
    ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240:rate=30 \
        -t "$2" -c:v libvpx -g 30 -b:v 400k "$1" ||
        fr_fail "ffmpeg cannot make the VP8 clip"
}

# fr_browser_relay DIR [ARG]...: fr-relay (job "relay") with WebTransport
# on /moq and a certificate a browser pins, its files in DIR, more ARGs;
# sets $hash to the certificate's SHA-256.
fr_browser_relay() {
    local dir=$1
    mkdir -p "$dir"
    fr_relay_start relay "$dir" --webtransport /moq --browser-cert -v "${@:2}"
    hash=$(grep -o 'certificate sha-256 [0-9a-f]*' "$(fr_job_log relay)" |
        awk '{ print $3 }')
    [[ ${#hash} == 64 ]] || fr_fail "fr-relay printed no certificate hash"
}
