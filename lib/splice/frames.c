/* Lengths of QUIC frames (RFC 9000 section 19, RFC 9221). */
#include "frames.h"

#include <fastrelay/error.h>

#include "../util/qvarint.h"

int fr_frame_skip_varints(const uint8_t *p, size_t len, size_t *pos, int count)
{
    uint64_t v;

    for (int i = 0; i < count; i++)
        if (fr_qvarint_get(p, len, pos, &v))
            return FR_ERR_PROTO;
    return 0;
}

/* Skips a length-prefixed byte string. */
static int skip_bytes(const uint8_t *p, size_t len, size_t *pos)
{
    uint64_t n;

    if (fr_qvarint_get(p, len, pos, &n) || n > len - *pos)
        return FR_ERR_PROTO;
    *pos += (size_t)n;
    return 0;
}

int fr_frame_skip_body(const uint8_t *p, size_t len, size_t *pos,
                       uint64_t type)
{
    uint64_t count;

    if (FR_FRAME_IS_STREAM(type)) {
        if (fr_frame_skip_varints(p, len, pos, 1 + ((type & 0x04) != 0)))
            return FR_ERR_PROTO;
        if (type & 0x02)
            return skip_bytes(p, len, pos);
        *pos = len; /* runs to the end of the packet */
        return 0;
    }
    switch (type) {
    case FR_FRAME_ACK:
    case FR_FRAME_ACK_ECN:
        /* largest, delay, range count, first range; then gap and length
         * per range; then three ECN counts */
        if (fr_frame_skip_varints(p, len, pos, 2) ||
            fr_qvarint_get(p, len, pos, &count) || count > len ||
            fr_frame_skip_varints(p, len, pos, 1 + 2 * (int)count))
            return FR_ERR_PROTO;
        return type == FR_FRAME_ACK_ECN ? fr_frame_skip_varints(p, len, pos, 3)
                                        : 0;
    case FR_FRAME_PADDING:
    case 0x01: /* PING */
    case 0x1e: /* HANDSHAKE_DONE */
        return 0;
    case 0x10: /* MAX_DATA */
    case 0x12: /* MAX_STREAMS */
    case 0x13:
    case 0x14: /* DATA_BLOCKED */
    case 0x16: /* STREAMS_BLOCKED */
    case 0x17:
    case 0x19: /* RETIRE_CONNECTION_ID */
        return fr_frame_skip_varints(p, len, pos, 1);
    case 0x05: /* STOP_SENDING */
    case 0x11: /* MAX_STREAM_DATA */
    case 0x15: /* STREAM_DATA_BLOCKED */
        return fr_frame_skip_varints(p, len, pos, 2);
    case 0x04: /* RESET_STREAM */
        return fr_frame_skip_varints(p, len, pos, 3);
    case 0x06: /* CRYPTO */
        return fr_frame_skip_varints(p, len, pos, 1) || skip_bytes(p, len, pos);
    case 0x07: /* NEW_TOKEN */
        return skip_bytes(p, len, pos);
    case 0x18: /* NEW_CONNECTION_ID: seq, retire, 1-byte length, CID,
                  16-byte reset token */
        if (fr_frame_skip_varints(p, len, pos, 2) || *pos >= len ||
            p[*pos] < 1 || p[*pos] > 20 || 1u + p[*pos] + 16u > len - *pos)
            return FR_ERR_PROTO;
        *pos += 1u + p[*pos] + 16u;
        return 0;
    case 0x1a: /* PATH_CHALLENGE */
    case 0x1b: /* PATH_RESPONSE */
        if (len - *pos < 8)
            return FR_ERR_PROTO;
        *pos += 8;
        return 0;
    case 0x1c: /* CONNECTION_CLOSE (transport) */
        return fr_frame_skip_varints(p, len, pos, 2) || skip_bytes(p, len, pos);
    case 0x1d: /* CONNECTION_CLOSE (application) */
        return fr_frame_skip_varints(p, len, pos, 1) || skip_bytes(p, len, pos);
    case 0x30: /* DATAGRAM to the end */
        *pos = len;
        return 0;
    case 0x31: /* DATAGRAM with length */
        return skip_bytes(p, len, pos);
    default:
        return FR_ERR_PROTO;
    }
}

