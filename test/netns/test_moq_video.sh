#!/usr/bin/env bash
# Real video through the relay: a few seconds of VP8 test pattern made with
# ffmpeg, published frame by frame by fr-origin, written back to IVF by
# fr-sub behind fr-relay. The copy must hold the same number of frames
# with identical frame data. Needs root and ffmpeg; FR_BIN_DIR names the
# directory holding fr-origin, fr-relay and fr-sub.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

fr_netns_init
fr_require_cmd ffmpeg ffprobe
bin=${FR_BIN_DIR:?FR_BIN_DIR must name the tools directory}
d=$FR_TMPDIR

ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240:rate=25 -t 4 \
    -c:v libvpx -g 25 -b:v 500k "$d/in.ivf"

fr_host_add origin
fr_host_add relay
fr_host_add sub
fr_link origin relay 198.18.5.1/24 198.18.5.2/24
fr_link relay sub 198.18.6.1/24 198.18.6.2/24
fr_route origin 198.18.6.0/24 198.18.5.2

fr_spawn relay relay "$bin/fr-relay" --listen 198.18.6.1:4433 \
    --write-cert "$d/relay.pem" --stats-interval 0
fr_wait_log relay 'listening on' 10
fr_spawn sub sub "$bin/fr-sub" --connect 198.18.6.1:4433 --ca "$d/relay.pem" \
    --output "$d/out.ivf" --duration 30 --stats-interval 0 \
    --json "$d/sub.json"
# In either order: fr-sub subscribes again while the track does not exist
# yet, and fr-origin starts the file at its first subscriber.
fr_spawn origin origin "$bin/fr-origin" --connect 198.18.6.1:4433 \
    --ca "$d/relay.pem" --input "$d/in.ivf" --stats-interval 0
fr_wait origin 40 || fr_fail "origin failed"
fr_wait sub 40 || fr_fail "subscriber failed"
fr_stop relay || true

frames() {
    ffprobe -v error -count_frames -select_streams v:0 \
        -show_entries stream=nb_read_frames -of csv=p=0 "$1"
}
in_frames=$(frames "$d/in.ivf")
out_frames=$(frames "$d/out.ivf")
echo "frames: published $in_frames, received $out_frames"
[[ $in_frames -gt 0 && $in_frames == "$out_frames" ]] ||
    fr_fail "frame count differs: $in_frames in, $out_frames out"
# Per-frame hashes of the decoded pictures must match one for one.
ffmpeg -loglevel error -i "$d/in.ivf" -f framemd5 "$d/in.md5"
ffmpeg -loglevel error -i "$d/out.ivf" -f framemd5 "$d/out.md5"
diff <(grep -v '^#' "$d/in.md5") <(grep -v '^#' "$d/out.md5") >/dev/null ||
    fr_fail "decoded frames differ"
echo "PASS: $in_frames VP8 frames through the relay, identical after decoding"
