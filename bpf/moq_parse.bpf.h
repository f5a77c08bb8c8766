/*
 * MoQT parsing for the tc programs: draft-18 varints and the
 * SUBGROUP_HEADER at a data stream's start, read from a scratch copy of
 * the stream's first bytes. Header-only; its global function is weak,
 * like quic_parse.bpf.h's.
 */
#ifndef FR_MOQ_PARSE_BPF_H
#define FR_MOQ_PARSE_BPF_H

#define HDR_BUF 128 /* scratch bytes for a header (power of two) */

/* Room to assemble a subgroup header; a map value, so that bytes can be
 * written at a variable offset. */
struct scratch {
    __u8 b[HDR_BUF];
};

/* Number of leading one bits of a byte: a draft-18 varint's length - 1. */
static __always_inline __u32 leading_ones(__u8 b)
{
    if (b < 0x80)
        return 0;
    if (b < 0xc0)
        return 1;
    if (b < 0xe0)
        return 2;
    if (b < 0xf0)
        return 3;
    if (b < 0xf8)
        return 4;
    if (b < 0xfc)
        return 5;
    if (b < 0xfe)
        return 6;
    return b == 0xfe ? 7 : 8;
}

/* A MoQT draft-18 varint (length from the leading one bits, 1-9 bytes) at
 * buf[*off] with `len` valid bytes; advances *off. */
static __always_inline int moq_varint(const __u8 *buf, __u32 len, __u32 *off,
                                      __u64 *v)
{
    __u32 o = *off, n;
    __u8 first;

    if (o >= len || o >= HDR_BUF)
        return -1;
    first = buf[o & (HDR_BUF - 1)];
    n = leading_ones(first);
    if (o + n + 1 > len)
        return -1;
    *v = n < 7 ? first & (0x7f >> n) : 0;
#pragma unroll
    for (__u32 i = 1; i <= 8; i++)
        if (i <= n)
            *v = *v << 8 | buf[(o + i) & (HDR_BUF - 1)];
    *off = o + n + 1;
    return 0;
}

/* Parses a SUBGROUP_HEADER from the first `n` bytes of a stream. Returns
 * 0, 1 if more bytes are needed, -1 if it is no subgroup header. Global,
 * so verified once. */
__weak __noinline int fr_fp_parse_header(struct scratch *sc, __u32 n,
                                  struct fr_fp_stream *st)
{
    __u32 o = 0;
    __u64 type;
    int more = n < FR_FP_HEADER_MAX ? 1 : -1;

    if (!sc || !st)
        return -1;
    if (moq_varint(sc->b, n, &o, &type))
        return more;
    /* 0b0XX1XXXX with subgroup ID mode 3 reserved. */
    if ((type & ~0x6fULL) != 0x10 || ((type >> 1) & 3) == 3)
        return -1;
    st->header_type = type;
    st->subgroup = 0;
    st->has_priority = !(type & 0x20);
    st->priority = 0;
    st->alias_at = (__u8)o;
    if (moq_varint(sc->b, n, &o, &st->track_alias))
        return more;
    st->alias_len = (__u8)(o - st->alias_at);
    if (moq_varint(sc->b, n, &o, &st->group) ||
        (((type >> 1) & 3) == 2 && moq_varint(sc->b, n, &o, &st->subgroup)))
        return more;
    if (st->has_priority) {
        if (o >= n || o >= HDR_BUF)
            return more;
        st->priority = sc->b[o & (HDR_BUF - 1)];
    }
    return 0;
}

#endif
