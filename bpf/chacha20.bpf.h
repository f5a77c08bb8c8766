/*
 * ChaCha20 (RFC 8439 section 2.3) for the tc programs: one 64-byte
 * keystream block from a key, a block counter and a nonce. Header-only;
 * include after vmlinux.h. The encrypted fast path's packet protection
 * (docs/FASTPATH.md, "Encrypted fast path") builds on it.
 */
#ifndef FR_CHACHA20_BPF_H
#define FR_CHACHA20_BPF_H

#define CHACHA20_BLOCK 64

/* A key and nonce as the cipher's little-endian words. */
struct chacha20_key {
    __u32 key[8];
    __u32 nonce[3];
};

static __always_inline __u32 chacha20_rotl(__u32 v, int c)
{
    return (v << c) | (v >> (32 - c));
}

#define CHACHA20_QR(x, a, b, c, d)                                          \
    do {                                                                    \
        x[a] += x[b];                                                       \
        x[d] = chacha20_rotl(x[d] ^ x[a], 16);                              \
        x[c] += x[d];                                                       \
        x[b] = chacha20_rotl(x[b] ^ x[c], 12);                              \
        x[a] += x[b];                                                       \
        x[d] = chacha20_rotl(x[d] ^ x[a], 8);                               \
        x[c] += x[d];                                                       \
        x[b] = chacha20_rotl(x[b] ^ x[c], 7);                               \
    } while (0)

/* Keystream block `counter` of k, as 16 little-endian words in out. */
static __always_inline void chacha20_block(const struct chacha20_key *k,
                                           __u32 counter, __u32 out[16])
{
    __u32 x[16];

    x[0] = 0x61707865;
    x[1] = 0x3320646e;
    x[2] = 0x79622d32;
    x[3] = 0x6b206574;
#pragma unroll
    for (int i = 0; i < 8; i++)
        x[4 + i] = k->key[i];
    x[12] = counter;
    x[13] = k->nonce[0];
    x[14] = k->nonce[1];
    x[15] = k->nonce[2];
#pragma unroll
    for (int i = 0; i < 16; i++)
        out[i] = x[i];
#pragma unroll
    for (int i = 0; i < 10; i++) {
        CHACHA20_QR(x, 0, 4, 8, 12);
        CHACHA20_QR(x, 1, 5, 9, 13);
        CHACHA20_QR(x, 2, 6, 10, 14);
        CHACHA20_QR(x, 3, 7, 11, 15);
        CHACHA20_QR(x, 0, 5, 10, 15);
        CHACHA20_QR(x, 1, 6, 11, 12);
        CHACHA20_QR(x, 2, 7, 8, 13);
        CHACHA20_QR(x, 3, 4, 9, 14);
    }
#pragma unroll
    for (int i = 0; i < 16; i++)
        out[i] += x[i];
}

/* The little-endian word at p. */
static __always_inline __u32 chacha20_le32(const __u8 *p)
{
    return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
           (__u32)p[3] << 24;
}

/* A key (32 bytes) and nonce (12 bytes) as words. */
static __always_inline void chacha20_setup(struct chacha20_key *k,
                                           const __u8 key[32],
                                           const __u8 nonce[12])
{
#pragma unroll
    for (int i = 0; i < 8; i++)
        k->key[i] = chacha20_le32(key + 4 * i);
#pragma unroll
    for (int i = 0; i < 3; i++)
        k->nonce[i] = chacha20_le32(nonce + 4 * i);
}

#endif
