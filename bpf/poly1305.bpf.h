/*
 * Poly1305 (RFC 8439 section 2.5) for the tc programs, in five 26-bit
 * limbs so that every product fits 64 bits. Header-only; include after
 * vmlinux.h and chacha20.bpf.h (for chacha20_le32).
 */
#ifndef FR_POLY1305_BPF_H
#define FR_POLY1305_BPF_H

#define POLY1305_BLOCK 16
#define POLY1305_LIMB 0x3ffffff

struct poly1305 {
    __u32 r[5];
    __u32 s[4];
    __u32 h[5];
};

/* Starts a MAC with one-time key `key` (r, clamped, then s). */
static __always_inline void poly1305_init(struct poly1305 *p,
                                          const __u8 key[32])
{
    p->r[0] = chacha20_le32(key + 0) & 0x3ffffff;
    p->r[1] = (chacha20_le32(key + 3) >> 2) & 0x3ffff03;
    p->r[2] = (chacha20_le32(key + 6) >> 4) & 0x3ffc0ff;
    p->r[3] = (chacha20_le32(key + 9) >> 6) & 0x3f03fff;
    p->r[4] = (chacha20_le32(key + 12) >> 8) & 0x00fffff;
#pragma unroll
    for (int i = 0; i < 4; i++)
        p->s[i] = chacha20_le32(key + 16 + 4 * i);
#pragma unroll
    for (int i = 0; i < 5; i++)
        p->h[i] = 0;
}

/* Adds the 16-byte block m (with the 2^128 bit: every full block) and
 * multiplies by r, modulo 2^130 - 5. m is 8-byte aligned: it is read
 * as two little-endian words (the programs run little-endian). */
static __always_inline void poly1305_block(struct poly1305 *p,
                                           const __u8 m[16])
{
    __u64 lo = *(const __u64 *)m, hi = *(const __u64 *)(m + 8);
    __u64 r0 = p->r[0], r1 = p->r[1], r2 = p->r[2], r3 = p->r[3],
          r4 = p->r[4];
    __u64 s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    __u64 h0 = p->h[0] + (lo & POLY1305_LIMB);
    __u64 h1 = p->h[1] + ((lo >> 26) & POLY1305_LIMB);
    __u64 h2 = p->h[2] + (((lo >> 52) | (hi << 12)) & POLY1305_LIMB);
    __u64 h3 = p->h[3] + ((hi >> 14) & POLY1305_LIMB);
    __u64 h4 = p->h[4] + ((hi >> 40) | (1u << 24));
    __u64 d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
    __u64 d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
    __u64 d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
    __u64 d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
    __u64 d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;

    d1 += d0 >> 26;
    d2 += d1 >> 26;
    d3 += d2 >> 26;
    d4 += d3 >> 26;
    h0 = (d0 & POLY1305_LIMB) + (d4 >> 26) * 5;
    p->h[1] = (__u32)((d1 & POLY1305_LIMB) + (h0 >> 26));
    p->h[0] = (__u32)(h0 & POLY1305_LIMB);
    p->h[2] = (__u32)(d2 & POLY1305_LIMB);
    p->h[3] = (__u32)(d3 & POLY1305_LIMB);
    p->h[4] = (__u32)(d4 & POLY1305_LIMB);
}

/* The tag: h reduced modulo 2^130 - 5, plus s, modulo 2^128, little
 * endian into tag. */
static __always_inline void poly1305_finish(struct poly1305 *p,
                                            __u8 tag[16])
{
    __u32 h0 = p->h[0], h1 = p->h[1], h2 = p->h[2], h3 = p->h[3],
          h4 = p->h[4], g0, g1, g2, g3, g4, c, mask;
    __u64 f;

    c = h1 >> 26;
    h1 &= POLY1305_LIMB;
    h2 += c;
    c = h2 >> 26;
    h2 &= POLY1305_LIMB;
    h3 += c;
    c = h3 >> 26;
    h3 &= POLY1305_LIMB;
    h4 += c;
    c = h4 >> 26;
    h4 &= POLY1305_LIMB;
    h0 += c * 5;
    c = h0 >> 26;
    h0 &= POLY1305_LIMB;
    h1 += c;

    /* g = h + 5 - 2^130: h itself unless g did not go negative. */
    g0 = h0 + 5;
    c = g0 >> 26;
    g0 &= POLY1305_LIMB;
    g1 = h1 + c;
    c = g1 >> 26;
    g1 &= POLY1305_LIMB;
    g2 = h2 + c;
    c = g2 >> 26;
    g2 &= POLY1305_LIMB;
    g3 = h3 + c;
    c = g3 >> 26;
    g3 &= POLY1305_LIMB;
    g4 = h4 + c - (1u << 26);
    mask = (g4 >> 31) - 1; /* all ones when g4 >= 0: take g */
    h0 = (h0 & ~mask) | (g0 & mask);
    h1 = (h1 & ~mask) | (g1 & mask);
    h2 = (h2 & ~mask) | (g2 & mask);
    h3 = (h3 & ~mask) | (g3 & mask);
    h4 = (h4 & ~mask) | (g4 & mask);

    /* To four 32-bit words, then + s. */
    h0 = h0 | (h1 << 26);
    h1 = (h1 >> 6) | (h2 << 20);
    h2 = (h2 >> 12) | (h3 << 14);
    h3 = (h3 >> 18) | (h4 << 8);
    f = (__u64)h0 + p->s[0];
    h0 = (__u32)f;
    f = (__u64)h1 + p->s[1] + (f >> 32);
    h1 = (__u32)f;
    f = (__u64)h2 + p->s[2] + (f >> 32);
    h2 = (__u32)f;
    f = (__u64)h3 + p->s[3] + (f >> 32);
    h3 = (__u32)f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        tag[i] = (__u8)(h0 >> (8 * i));
        tag[4 + i] = (__u8)(h1 >> (8 * i));
        tag[8 + i] = (__u8)(h2 >> (8 * i));
        tag[12 + i] = (__u8)(h3 >> (8 * i));
    }
}

#endif
