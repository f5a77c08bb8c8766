/* QUIC variable-length integers. */
#include "qvarint.h"

#include <fastrelay/error.h>

size_t fr_qvarint_len(uint64_t v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : v < (UINT64_C(1) << 30) ? 4 : 8;
}

int fr_qvarint_get(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    size_t n, p = *pos;
    uint64_t x;

    if (p >= len)
        return FR_ERR_PROTO;
    n = (size_t)1 << (buf[p] >> 6);
    if (n > len - p)
        return FR_ERR_PROTO;
    x = buf[p] & 0x3f;
    for (size_t i = 1; i < n; i++)
        x = x << 8 | buf[p + i];
    *v = x;
    *pos = p + n;
    return 0;
}

int fr_qvarint_put(uint8_t *buf, size_t cap, size_t *pos, uint64_t v)
{
    size_t n = fr_qvarint_len(v), p = *pos;
    static const uint8_t prefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0};

    if (v > FR_QVARINT_MAX || p > cap || n > cap - p)
        return FR_ERR_NOBUF;
    for (size_t i = n; i > 0; i--) {
        buf[p + i - 1] = (uint8_t)v;
        v >>= 8;
    }
    buf[p] |= prefix[n];
    *pos = p + n;
    return 0;
}
