/* ACK frames from wire packet numbers to ngtcp2's. */
#include "ack_rewrite.h"

#include <string.h>

#include <fastrelay/error.h>

#include "../util/qvarint.h"
#include "frames.h"

/* Reads an ACK frame's ranges (type already read) into the map; the ACK
 * delay goes to *delay. */
static int read_ack(fr_pnmap *m, const uint8_t *p, size_t len, size_t *pos,
                    uint64_t type, uint64_t *delay, uint64_t now)
{
    uint64_t largest, count, first, gap, rlen;
    fr_pn_range r;

    if (fr_qvarint_get(p, len, pos, &largest) ||
        fr_qvarint_get(p, len, pos, delay) ||
        fr_qvarint_get(p, len, pos, &count) ||
        fr_qvarint_get(p, len, pos, &first) || first > largest)
        return FR_ERR_PROTO;
    r.last = largest;
    r.first = largest - first;
    fr_pnmap_wire_acked(m, &r, 1, now);
    for (uint64_t i = 0; i < count; i++) {
        if (fr_qvarint_get(p, len, pos, &gap) ||
            fr_qvarint_get(p, len, pos, &rlen) || gap + 2 > r.first ||
            rlen > r.first - gap - 2)
            return FR_ERR_PROTO;
        r.last = r.first - gap - 2;
        r.first = r.last - rlen;
        fr_pnmap_wire_acked(m, &r, 1, now);
    }
    return type == FR_FRAME_ACK_ECN ? fr_frame_skip_varints(p, len, pos, 3) : 0;
}

/* Writes one ACK frame of `ranges` (largest first). */
static int write_ack(uint8_t *out, size_t cap, size_t *pos,
                     const fr_pn_range *r, size_t n, uint64_t delay)
{
    int err = fr_qvarint_put(out, cap, pos, FR_FRAME_ACK) ||
              fr_qvarint_put(out, cap, pos, r[0].last) ||
              fr_qvarint_put(out, cap, pos, delay) ||
              fr_qvarint_put(out, cap, pos, n - 1) ||
              fr_qvarint_put(out, cap, pos, r[0].last - r[0].first);

    for (size_t i = 1; i < n && !err; i++)
        err = fr_qvarint_put(out, cap, pos, r[i - 1].first - r[i].last - 2) ||
              fr_qvarint_put(out, cap, pos, r[i].last - r[i].first);
    return err ? FR_ERR_NOBUF : 0;
}

ssize_t fr_ack_rewrite(fr_pnmap *m, const uint8_t *in, size_t inlen,
                       uint8_t *out, size_t cap, uint64_t now)
{
    size_t pos = 0, o = 0, ack_at = 0, nr;
    uint64_t type, delay = 0, d;
    fr_pn_range r[FR_ACK_REWRITE_RANGES];
    int seen = 0;

    if (cap < inlen + FR_ACK_REWRITE_ROOM)
        return FR_ERR_NOBUF;
    /* First pass: every other frame is copied, ACKs feed the map. */
    while (pos < inlen) {
        size_t start = pos;

        if (fr_qvarint_get(in, inlen, &pos, &type))
            return FR_ERR_PROTO;
        if (type == FR_FRAME_ACK || type == FR_FRAME_ACK_ECN) {
            if (read_ack(m, in, inlen, &pos, type, &d, now))
                return FR_ERR_PROTO;
            if (!seen) {
                seen = 1;
                ack_at = o;
                delay = d;
            }
            continue;
        }
        if (fr_frame_skip_body(in, inlen, &pos, type))
            return FR_ERR_PROTO;
        memcpy(out + o, in + start, pos - start);
        o += pos - start;
    }
    /* Packets completed by ACKs held earlier are reported even when this
     * packet carries no ACK of its own. */
    nr = fr_pnmap_take_acked(m, r, FR_ACK_REWRITE_RANGES, now);
    if (nr > 0) {
        uint8_t ack[FR_ACK_REWRITE_ROOM];
        size_t alen = 0;

        if (write_ack(ack, sizeof(ack), &alen, r, nr, delay))
            return FR_ERR_NOBUF;
        memmove(out + ack_at + alen, out + ack_at, o - ack_at);
        memcpy(out + ack_at, ack, alen);
        o += alen;
    }
    if (o == 0)
        out[o++] = 0x00; /* PADDING */
    return (ssize_t)o;
}

int fr_ack_feed(fr_pnmap *m, const uint8_t *in, size_t inlen, uint64_t now)
{
    size_t pos = 0;
    uint64_t type, delay;

    while (pos < inlen) {
        if (fr_qvarint_get(in, inlen, &pos, &type))
            return FR_ERR_PROTO;
        if (type == FR_FRAME_ACK || type == FR_FRAME_ACK_ECN) {
            if (read_ack(m, in, inlen, &pos, type, &delay, now))
                return FR_ERR_PROTO;
        } else if (fr_frame_skip_body(in, inlen, &pos, type)) {
            return FR_ERR_PROTO;
        }
    }
    return 0;
}
