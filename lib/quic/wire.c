/* Short packet headers: finding, reading and renumbering them. */
#include "wire.h"

#include <string.h>

#include <fastrelay/error.h>

#include "../util/qvarint.h"

#define LONG_HEADER 0x80
#define FIXED_BIT 0x40
#define KEY_PHASE 0x04
#define PN_LEN_MASK 0x03
#define LONG_TYPE(b) (((b) >> 4) & 0x03)
#define LONG_INITIAL 0
#define LONG_RETRY 3

/* Moves *pos past a long-header packet at d[*pos..len). */
static int skip_long(const uint8_t *d, size_t len, size_t *pos)
{
    size_t p = *pos + 5; /* first byte, version */
    uint8_t type = LONG_TYPE(d[*pos]);
    uint64_t n;

    for (int cid = 0; cid < 2; cid++) {
        if (p >= len || d[p] > 20 || (size_t)d[p] + 1 > len - p)
            return FR_ERR_PROTO;
        p += 1u + d[p];
    }
    if (type == LONG_RETRY)
        return FR_ERR_PROTO; /* never coalesced with a short packet */
    if (type == LONG_INITIAL) {
        if (fr_qvarint_get(d, len, &p, &n) || n > len - p)
            return FR_ERR_PROTO;
        p += (size_t)n;
    }
    if (fr_qvarint_get(d, len, &p, &n) || n > len - p)
        return FR_ERR_PROTO;
    *pos = p + (size_t)n;
    return 0;
}

ssize_t fr_wire_find_short(const uint8_t *d, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        if (!(d[pos] & LONG_HEADER))
            return (ssize_t)pos;
        if (skip_long(d, len, &pos))
            return FR_ERR_PROTO;
    }
    return FR_ERR_PROTO;
}

int fr_wire_parse_short(const uint8_t *p, size_t len, size_t dcid_len,
                        fr_short_hdr *h)
{
    if (len < 1 || (p[0] & (LONG_HEADER | FIXED_BIT)) != FIXED_BIT)
        return FR_ERR_PROTO;
    h->pn_off = 1 + dcid_len;
    h->pn_len = (size_t)(p[0] & PN_LEN_MASK) + 1;
    if (len < h->pn_off + h->pn_len)
        return FR_ERR_PROTO;
    h->pn_trunc = 0;
    for (size_t i = 0; i < h->pn_len; i++)
        h->pn_trunc = h->pn_trunc << 8 | p[h->pn_off + i];
    h->key_phase = (p[0] & KEY_PHASE) != 0;
    return 0;
}

uint64_t fr_wire_pn_decode(int have_largest, uint64_t largest,
                           uint64_t trunc, size_t pn_len)
{
    uint64_t expected = have_largest ? largest + 1 : 0;
    uint64_t win = (uint64_t)1 << (8 * pn_len), hwin = win / 2;
    uint64_t cand = (expected & ~(win - 1)) | trunc;

    if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win)
        return cand + win;
    if (cand > expected + hwin && cand >= win)
        return cand - win;
    return cand;
}

size_t fr_wire_set_pn(uint8_t *p, size_t len, const fr_short_hdr *h,
                      uint64_t wire)
{
    size_t grow = FR_WIRE_PN_LEN - h->pn_len;
    size_t rest = h->pn_off + h->pn_len;

    memmove(p + rest + grow, p + rest, len - rest);
    p[0] = (uint8_t)((p[0] & ~PN_LEN_MASK) | (FR_WIRE_PN_LEN - 1));
    for (size_t i = 0; i < FR_WIRE_PN_LEN; i++)
        p[h->pn_off + i] = (uint8_t)(wire >> (8 * (FR_WIRE_PN_LEN - 1 - i)));
    return len + grow;
}
