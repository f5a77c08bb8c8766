/* ACK frames from wire packet numbers to ngtcp2's. */
#include "ack_rewrite.h"

#include <string.h>

#include "../util/qvarint.h"

#define ACK 0x02
#define ACK_ECN 0x03

/* Skips `count` varints. */
static int skip_varints(const uint8_t *p, size_t len, size_t *pos, int count)
{
    uint64_t v;

    for (int i = 0; i < count; i++)
        if (fr_qvarint_get(p, len, pos, &v))
            return -1;
    return 0;
}

/* Skips a length-prefixed byte string. */
static int skip_bytes(const uint8_t *p, size_t len, size_t *pos)
{
    uint64_t n;

    if (fr_qvarint_get(p, len, pos, &n) || n > len - *pos)
        return -1;
    *pos += (size_t)n;
    return 0;
}

/* Skips one frame other than ACK whose type (already read) is `type`. */
static int skip_frame(const uint8_t *p, size_t len, size_t *pos,
                      uint64_t type)
{
    if (type >= 0x08 && type <= 0x0f) { /* STREAM */
        if (skip_varints(p, len, pos, 1 + ((type & 0x04) != 0)))
            return -1;
        if (type & 0x02)
            return skip_bytes(p, len, pos);
        *pos = len; /* runs to the end of the packet */
        return 0;
    }
    switch (type) {
    case 0x00: /* PADDING */
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
        return skip_varints(p, len, pos, 1);
    case 0x05: /* STOP_SENDING */
    case 0x11: /* MAX_STREAM_DATA */
    case 0x15: /* STREAM_DATA_BLOCKED */
        return skip_varints(p, len, pos, 2);
    case 0x04: /* RESET_STREAM */
        return skip_varints(p, len, pos, 3);
    case 0x06: /* CRYPTO */
        return skip_varints(p, len, pos, 1) || skip_bytes(p, len, pos);
    case 0x07: /* NEW_TOKEN */
        return skip_bytes(p, len, pos);
    case 0x18: /* NEW_CONNECTION_ID: seq, retire, 1-byte length, CID,
                  16-byte reset token */
        if (skip_varints(p, len, pos, 2) || *pos >= len ||
            p[*pos] < 1 || p[*pos] > 20 || 1u + p[*pos] + 16u > len - *pos)
            return -1;
        *pos += 1u + p[*pos] + 16u;
        return 0;
    case 0x1a: /* PATH_CHALLENGE */
    case 0x1b: /* PATH_RESPONSE */
        if (len - *pos < 8)
            return -1;
        *pos += 8;
        return 0;
    case 0x1c: /* CONNECTION_CLOSE (transport) */
        return skip_varints(p, len, pos, 2) || skip_bytes(p, len, pos);
    case 0x1d: /* CONNECTION_CLOSE (application) */
        return skip_varints(p, len, pos, 1) || skip_bytes(p, len, pos);
    case 0x30: /* DATAGRAM to the end */
        *pos = len;
        return 0;
    case 0x31: /* DATAGRAM with length */
        return skip_bytes(p, len, pos);
    default:
        return -1;
    }
}

/* Reads an ACK frame's ranges (type already read) into the map; the ACK
 * delay goes to *delay. */
static int read_ack(fr_pnmap *m, const uint8_t *p, size_t len, size_t *pos,
                    uint64_t type, uint64_t *delay)
{
    uint64_t largest, count, first, gap, rlen;
    fr_pn_range r;

    if (fr_qvarint_get(p, len, pos, &largest) ||
        fr_qvarint_get(p, len, pos, delay) ||
        fr_qvarint_get(p, len, pos, &count) ||
        fr_qvarint_get(p, len, pos, &first) || first > largest)
        return -1;
    r.last = largest;
    r.first = largest - first;
    fr_pnmap_wire_acked(m, &r, 1);
    for (uint64_t i = 0; i < count; i++) {
        if (fr_qvarint_get(p, len, pos, &gap) ||
            fr_qvarint_get(p, len, pos, &rlen) || gap + 2 > r.first ||
            rlen > r.first - gap - 2)
            return -1;
        r.last = r.first - gap - 2;
        r.first = r.last - rlen;
        fr_pnmap_wire_acked(m, &r, 1);
    }
    return type == ACK_ECN ? skip_varints(p, len, pos, 3) : 0;
}

/* Writes one ACK frame of `ranges` (largest first). */
static int write_ack(uint8_t *out, size_t cap, size_t *pos,
                     const fr_pn_range *r, size_t n, uint64_t delay)
{
    int err = fr_qvarint_put(out, cap, pos, ACK) ||
              fr_qvarint_put(out, cap, pos, r[0].last) ||
              fr_qvarint_put(out, cap, pos, delay) ||
              fr_qvarint_put(out, cap, pos, n - 1) ||
              fr_qvarint_put(out, cap, pos, r[0].last - r[0].first);

    for (size_t i = 1; i < n && !err; i++)
        err = fr_qvarint_put(out, cap, pos, r[i - 1].first - r[i].last - 2) ||
              fr_qvarint_put(out, cap, pos, r[i].last - r[i].first);
    return err ? -1 : 0;
}

ssize_t fr_ack_rewrite(fr_pnmap *m, const uint8_t *in, size_t inlen,
                       uint8_t *out, size_t cap)
{
    size_t pos = 0, o = 0, ack_at = 0, nr;
    uint64_t type, delay = 0, d;
    fr_pn_range r[FR_ACK_REWRITE_RANGES];
    int seen = 0;

    if (cap < inlen + FR_ACK_REWRITE_ROOM)
        return -1;
    /* First pass: every other frame is copied, ACKs feed the map. */
    while (pos < inlen) {
        size_t start = pos;

        if (fr_qvarint_get(in, inlen, &pos, &type))
            return -1;
        if (type == ACK || type == ACK_ECN) {
            if (read_ack(m, in, inlen, &pos, type, &d))
                return -1;
            if (!seen) {
                seen = 1;
                ack_at = o;
                delay = d;
            }
            continue;
        }
        if (skip_frame(in, inlen, &pos, type))
            return -1;
        memcpy(out + o, in + start, pos - start);
        o += pos - start;
    }
    nr = seen ? fr_pnmap_take_acked(m, r, FR_ACK_REWRITE_RANGES) : 0;
    if (nr > 0) {
        uint8_t ack[FR_ACK_REWRITE_ROOM];
        size_t alen = 0;

        if (write_ack(ack, sizeof(ack), &alen, r, nr, delay))
            return -1;
        memmove(out + ack_at + alen, out + ack_at, o - ack_at);
        memcpy(out + ack_at, ack, alen);
        o += alen;
    }
    if (o == 0)
        out[o++] = 0x00; /* PADDING */
    return (ssize_t)o;
}
