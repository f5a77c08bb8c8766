/*
 * ChaCha20-Poly1305 sealing and opening (RFC 8439 section 2.8) for the
 * tc programs, over a buffer in a map value laid out as Poly1305 reads
 * it: the AAD at b[0], zero padding, the text at b[text_at] (encrypted or
 * decrypted in place), zero padding, the two lengths. Blocks go through bpf_loop, so the
 * verifier checks each callback once whatever the packet's size.
 * Header-only; include after vmlinux.h and bpf_helpers.h.
 */
#ifndef FR_AEAD_BPF_H
#define FR_AEAD_BPF_H

#include "chacha20.bpf.h"
#include "poly1305.bpf.h"

#define AEAD_TAG_LEN 16
#define AEAD_AAD_MAX 48
#define AEAD_TEXT_MAX 1500
#define AEAD_BUF 2048 /* a power of two past AAD, text, padding, lengths */

struct aead_buf {
    __u8 b[AEAD_BUF];
    struct chacha20_key key;
    struct poly1305 mac;
    __u32 text_at; /* the AAD's length rounded up to 16 */
    __u32 text_len;
    /* Kept here, not on the stack, which the programs and their
     * bpf_loop callbacks share (512 bytes). */
    union {
        __u32 ks[16]; /* a keystream block, as chacha20_block makes it */
        __u64 ks64[8]; /* the same, as XORed into whole blocks */
    };
    __u8 otk[32];  /* the one-time Poly1305 key */
    __u8 tag[AEAD_TAG_LEN];  /* sealing: the tag made; opening: given */
    __u8 computed[AEAD_TAG_LEN]; /* opening: the tag computed */
};

_Static_assert(AEAD_AAD_MAX + 16 + AEAD_TEXT_MAX + 16 + 16 <= AEAD_BUF,
               "room for the MAC's input");

struct aead_walk {
    struct aead_buf *a;
};

/* XORs keystream block 1 + i into the text's 64 bytes from 64 * i: a
 * whole block eight bytes at a time (text_at and the block are 16-byte
 * aligned in b), the last one byte by byte. */
static long aead_xor_block(__u32 i, void *ctx)
{
    struct aead_buf *a = ((struct aead_walk *)ctx)->a;
    __u32 base = 64 * i;

    if (base >= a->text_len)
        return 1;
    chacha20_block(&a->key, 1 + i, a->ks);
    if (base + 64 <= a->text_len) {
        __u32 at = a->text_at + base;

#pragma unroll
        for (__u32 j = 0; j < 8; j++)
            *(__u64 *)&a->b[(at + 8 * j) & (AEAD_BUF - 8)] ^= a->ks64[j];
        return 0;
    }
#pragma unroll
    for (__u32 j = 0; j < 64; j++)
        if (base + j < a->text_len)
            a->b[(a->text_at + base + j) & (AEAD_BUF - 1)] ^=
                (__u8)(a->ks[j / 4] >> (8 * (j % 4)));
    return 0;
}

/* Feeds the MAC's input block i. */
static long aead_mac_block(__u32 i, void *ctx)
{
    struct aead_buf *a = ((struct aead_walk *)ctx)->a;

    poly1305_block(&a->mac, &a->b[(16 * i) & (AEAD_BUF - 16)]);
    return 0;
}

/* Zeroes b[from, to) where to - from < 16. */
static __always_inline void aead_pad(struct aead_buf *a, __u32 from,
                                     __u32 to)
{
#pragma unroll
    for (__u32 j = 0; j < 16; j++)
        if (from + j < to)
            a->b[(from + j) & (AEAD_BUF - 1)] = 0;
}

/* Little-endian 64-bit v at b[at]. */
static __always_inline void aead_put_le64(struct aead_buf *a, __u32 at,
                                          __u64 v)
{
#pragma unroll
    for (__u32 j = 0; j < 8; j++)
        a->b[(at + j) & (AEAD_BUF - 1)] = (__u8)(v >> (8 * j));
}

/* The MAC's one-time key: keystream block 0. A bpf_loop callback of one
 * round, so that the block's state is on the callback's stack, not the
 * program's (their sum is what the 512 bytes bound). */
static long aead_otk_block(__u32 i, void *ctx)
{
    struct aead_buf *a = ((struct aead_walk *)ctx)->a;

    chacha20_block(&a->key, 0, a->ks);
#pragma unroll
    for (int j = 0; j < 32; j++)
        a->otk[j] = (__u8)(a->ks[j / 4] >> (8 * (j % 4)));
    poly1305_init(&a->mac, a->otk);
    return 1;
}

/* Starts sealing or opening: the text's place and the MAC's one-time
 * key. Returns -1 for lengths out of range. */
static __always_inline int aead_begin(struct aead_buf *a, __u32 aad_len,
                                      __u32 text_len)
{
    struct aead_walk w = {.a = a};

    if (aad_len > AEAD_AAD_MAX || text_len > AEAD_TEXT_MAX)
        return -1;
    a->text_at = (aad_len + 15) & ~15u;
    a->text_len = text_len;
    bpf_loop(1, aead_otk_block, &w, 0);
    return 0;
}

/* The tag over the AAD b[0, aad_len) and the ciphertext at text_at, into
 * `tag` (MAC input padding and lengths written around them). */
static __always_inline void aead_mac(struct aead_buf *a, __u32 aad_len,
                                     __u8 tag[AEAD_TAG_LEN])
{
    struct aead_walk w = {.a = a};
    __u32 end = a->text_at + a->text_len, padded = (end + 15) & ~15u;

    aead_pad(a, aad_len, a->text_at);
    aead_pad(a, end, padded);
    aead_put_le64(a, padded, aad_len);
    aead_put_le64(a, padded + 8, a->text_len);
    bpf_loop(padded / 16 + 1, aead_mac_block, &w, 0);
    poly1305_finish(&a->mac, tag);
}

/* Encrypts a->b[text_at, + text_len) in place with a->key (its nonce
 * set) and puts the tag over the AAD b[0, aad_len) and the ciphertext
 * into a->tag. The caller placed the AAD at b[0] and the text at
 * text_at, aad_len rounded up to 16. Returns 0, or -1 for lengths out of
 * range. */
static __always_inline int aead_seal(struct aead_buf *a, __u32 aad_len,
                                     __u32 text_len)
{
    struct aead_walk w = {.a = a};

    if (aead_begin(a, aad_len, text_len))
        return -1;
    bpf_loop((text_len + 63) / 64, aead_xor_block, &w, 0);
    aead_mac(a, aad_len, a->tag);
    return 0;
}

/* Checks the tag in a->tag over the AAD b[0, aad_len) and the ciphertext
 * at text_at (placed as for aead_seal), then decrypts it in place.
 * Returns 0, or -1 when the tag does not match (nothing decrypted) or
 * the lengths are out of range. */
static __always_inline int aead_open(struct aead_buf *a, __u32 aad_len,
                                     __u32 text_len)
{
    struct aead_walk w = {.a = a};
    __u8 diff = 0;

    if (aead_begin(a, aad_len, text_len))
        return -1;
    aead_mac(a, aad_len, a->computed);
#pragma unroll
    for (int i = 0; i < AEAD_TAG_LEN; i++)
        diff |= a->computed[i] ^ a->tag[i];
    if (diff)
        return -1;
    bpf_loop((text_len + 63) / 64, aead_xor_block, &w, 0);
    return 0;
}

#endif
