/*
 * Object bodies for real video published frame by frame: the frame's
 * timestamp, on key frames the stream description a receiver needs to
 * write the IVF header, then the frame itself. The body travels inside
 * the media payload header (frt_media_wrap), which adds sequence number,
 * send time and checksum.
 */
#ifndef FR_VIDEO_H
#define FR_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "ivf.h"

#define FR_VIDEO_PTS_LEN 8
#define FR_VIDEO_INFO_LEN 16

/* Size of the body for a frame of `framelen` bytes. */
size_t fr_video_body_len(size_t framelen, int key);

/* Writes the body; `info` is required for key frames. Returns its length. */
size_t fr_video_body_write(uint8_t *out, uint64_t pts,
                           const frt_ivf_header *info, const uint8_t *frame,
                           size_t framelen, int key);

/* Parses a body. `info` is filled for key frames. Returns 0 or -1 for a
 * body too short to hold what it must. */
int fr_video_body_read(const uint8_t *body, size_t len, int key,
                       uint64_t *pts, frt_ivf_header *info,
                       const uint8_t **frame, size_t *framelen);

#endif
