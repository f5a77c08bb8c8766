/*
 * Walking the frames of a 1-RTT packet's payload: enough of every frame
 * type RFC 9000 defines (and DATAGRAM) to find where it ends.
 */
#ifndef FR_SPLICE_FRAMES_H
#define FR_SPLICE_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FR_FRAME_PADDING 0x00
#define FR_FRAME_ACK 0x02
#define FR_FRAME_ACK_ECN 0x03
#define FR_FRAME_IS_STREAM(t) ((t) >= 0x08 && (t) <= 0x0f)

/* Skips `count` varints at *pos. Returns 0, or FR_ERR_PROTO if one is cut
 * off. */
int fr_frame_skip_varints(const uint8_t *p, size_t len, size_t *pos,
                          int count);

/* Moves *pos past the body of a frame whose type (already read) is
 * `type`. Returns 0, or FR_ERR_PROTO for an unknown type or a frame cut
 * off. */
int fr_frame_skip_body(const uint8_t *p, size_t len, size_t *pos,
                       uint64_t type);

#endif
