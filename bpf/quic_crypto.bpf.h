/*
 * QUIC packet protection with TLS_CHACHA20_POLY1305_SHA256 (RFC 9001
 * sections 5.3 and 5.4.4): the AEAD nonce of a packet number, and the
 * header protection mask of a sample. Header-only; include after
 * vmlinux.h, bpf_helpers.h and chacha20.bpf.h.
 */
#ifndef FR_QUIC_CRYPTO_BPF_H
#define FR_QUIC_CRYPTO_BPF_H

#define QUIC_IV_LEN 12
#define QUIC_HP_SAMPLE 16
#define QUIC_HP_MASK 5

/* k's nonce for packet number pn: the IV with pn, big endian, XORed
 * into its last eight bytes. */
static __always_inline void quic_nonce(struct chacha20_key *k,
                                       const __u8 iv[QUIC_IV_LEN], __u64 pn)
{
    __u8 n[QUIC_IV_LEN];

#pragma unroll
    for (int i = 0; i < QUIC_IV_LEN; i++)
        n[i] = iv[i];
#pragma unroll
    for (int i = 0; i < 8; i++)
        n[QUIC_IV_LEN - 1 - i] ^= (__u8)(pn >> (8 * i));
#pragma unroll
    for (int i = 0; i < 3; i++)
        k->nonce[i] = chacha20_le32(n + 4 * i);
}

/* The header protection mask for `sample`: ChaCha20 under the HP key
 * (hp's key words; its nonce is overwritten) with the sample's first
 * four bytes as the block counter and the rest as the nonce. `ks` is
 * room for the block. */
static __always_inline void quic_hp_mask(struct chacha20_key *hp,
                                         const __u8 sample[QUIC_HP_SAMPLE],
                                         __u32 ks[16],
                                         __u8 mask[QUIC_HP_MASK])
{
#pragma unroll
    for (int i = 0; i < 3; i++)
        hp->nonce[i] = chacha20_le32(sample + 4 + 4 * i);
    chacha20_block(hp, chacha20_le32(sample), ks);
#pragma unroll
    for (int i = 0; i < QUIC_HP_MASK; i++)
        mask[i] = (__u8)(ks[i / 4] >> (8 * (i % 4)));
}

/* Header protection's state, in a map value: the program and its
 * bpf_loop callbacks share 512 bytes of stack. */
struct quic_hp {
    struct chacha20_key key; /* the HP key; the nonce comes from sample */
    __u8 sample[QUIC_HP_SAMPLE];
    __u32 ks[16];
    __u8 mask[8];            /* QUIC_HP_MASK used */
};

struct quic_hp_walk {
    struct quic_hp *hp;
};

/* One block in a callback of one round, so that its state counts against
 * the callback's stack, not the program's. */
static long quic_hp_block(__u32 i, void *ctx)
{
    struct quic_hp *h = ((struct quic_hp_walk *)ctx)->hp;

    quic_hp_mask(&h->key, h->sample, h->ks, h->mask);
    return 1;
}

/* h->mask from h->key's key words and h->sample. */
static __always_inline void quic_hp_compute(struct quic_hp *h)
{
    struct quic_hp_walk w = {.hp = h};

    bpf_loop(1, quic_hp_block, &w, 0);
}

#endif
