/*
 * ChaCha20-Poly1305 (aead.bpf.h) and QUIC packet protection
 * (quic_crypto.bpf.h) as tc programs, for their tests
 * (test/bpf/test_aead.c). Each reads its input after a 14-byte Ethernet
 * header and writes its output in place; it returns 0, or 1 when the
 * input does not fit or (opening) does not authenticate.
 *
 * fr_aead_seal, fr_aead_open: the key (32 bytes), the nonce (12), the
 * AAD's length (1 byte), the text's length (2, little endian), the AAD,
 * the text, 16 bytes of tag (seal: room; open: the tag). Sealing writes
 * the ciphertext and the tag, opening the plaintext.
 *
 * fr_quic_protect: the packet key (32), IV (12), header protection key
 * (32), the packet number (8, little endian), the header's length (1),
 * the packet number's length (1), the payload's length (2, little
 * endian), the unprotected short header, the payload, 16 bytes of room;
 * out comes the protected packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "aead.bpf.h"
#include "quic_crypto.bpf.h"

#define IN_AT 14
#define HDR_LEN 47

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct aead_buf);
} fr_aead_scratch SEC(".maps");

/* Reads the AEAD tests' input into `a`: key, nonce, AAD and text (and
 * the tag after it into a->tag). Returns 0, or 1. */
static __always_inline int aead_input(struct __sk_buff *skb,
                                      struct aead_buf *a, __u32 *aad_len,
                                      __u32 *text_len)
{
    __u32 at = IN_AT + HDR_LEN;

    /* The header goes where the AAD will be. */
    if (bpf_skb_load_bytes(skb, IN_AT, a->b, HDR_LEN))
        return 1;
    chacha20_setup(&a->key, a->b, a->b + 32);
    *aad_len = a->b[44];
    *text_len = (__u32)a->b[45] | (__u32)a->b[46] << 8;
    if (*aad_len > AEAD_AAD_MAX || *text_len == 0 ||
        *text_len > AEAD_TEXT_MAX)
        return 1;
    if (*aad_len && bpf_skb_load_bytes(skb, at, a->b, *aad_len))
        return 1;
    if (bpf_skb_load_bytes(skb, at + *aad_len,
                           a->b + (((*aad_len + 15) & ~15u) & 63),
                           *text_len) ||
        bpf_skb_load_bytes(skb, at + *aad_len + *text_len, a->tag,
                           AEAD_TAG_LEN))
        return 1;
    return 0;
}

SEC("tc")
int fr_aead_seal(struct __sk_buff *skb)
{
    __u32 zero = 0, aad_len, text_len, at = IN_AT + HDR_LEN;
    struct aead_buf *a = bpf_map_lookup_elem(&fr_aead_scratch, &zero);

    if (!a || aead_input(skb, a, &aad_len, &text_len) ||
        aead_seal(a, aad_len, text_len) ||
        bpf_skb_store_bytes(skb, at + aad_len, a->b + (a->text_at & 63),
                            text_len, 0) ||
        bpf_skb_store_bytes(skb, at + aad_len + text_len, a->tag,
                            AEAD_TAG_LEN, 0))
        return 1;
    return 0;
}

SEC("tc")
int fr_aead_open(struct __sk_buff *skb)
{
    __u32 zero = 0, aad_len, text_len, at = IN_AT + HDR_LEN;
    struct aead_buf *a = bpf_map_lookup_elem(&fr_aead_scratch, &zero);

    if (!a || aead_input(skb, a, &aad_len, &text_len) ||
        aead_open(a, aad_len, text_len) ||
        bpf_skb_store_bytes(skb, at + aad_len, a->b + (a->text_at & 63),
                            text_len, 0))
        return 1;
    return 0;
}

/* What fr_quic_protect keeps besides the AEAD buffer. */
struct protect_scratch {
    __u8 in[88];
    struct quic_hp hp;
    __u8 header[AEAD_AAD_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct protect_scratch);
} fr_protect_scratch SEC(".maps");

SEC("tc")
int fr_quic_protect(struct __sk_buff *skb)
{
    __u32 zero = 0, hdr_len, pn_len, text_len, at = IN_AT + 88, pn_at;
    struct aead_buf *a = bpf_map_lookup_elem(&fr_aead_scratch, &zero);
    struct protect_scratch *p =
        bpf_map_lookup_elem(&fr_protect_scratch, &zero);
    __u64 pn = 0;

    if (!a || !p || bpf_skb_load_bytes(skb, IN_AT, p->in, sizeof(p->in)))
        return 1;
    chacha20_setup(&a->key, p->in, p->in + 32); /* nonce set below */
    chacha20_setup(&p->hp.key, p->in + 44, p->in + 32);
#pragma unroll
    for (int i = 0; i < 8; i++)
        pn |= (__u64)p->in[76 + i] << (8 * i);
    quic_nonce(&a->key, p->in + 32, pn);
    hdr_len = p->in[84];
    pn_len = p->in[85];
    text_len = (__u32)p->in[86] | (__u32)p->in[87] << 8;
    if (hdr_len < 2 || hdr_len > AEAD_AAD_MAX || pn_len < 1 || pn_len > 4 ||
        pn_len >= hdr_len || text_len == 0 || text_len > AEAD_TEXT_MAX ||
        bpf_skb_load_bytes(skb, at, a->b, hdr_len) ||
        bpf_skb_load_bytes(skb, at + hdr_len,
                           a->b + (((hdr_len + 15) & ~15u) & 63), text_len) ||
        aead_seal(a, hdr_len, text_len) ||
        bpf_skb_store_bytes(skb, at + hdr_len, a->b + (a->text_at & 63),
                            text_len, 0) ||
        bpf_skb_store_bytes(skb, at + hdr_len + text_len, a->tag,
                            AEAD_TAG_LEN, 0))
        return 1;
    /* The sample starts four bytes past the packet number's start. */
    pn_at = hdr_len - pn_len;
    if (bpf_skb_load_bytes(skb, at + pn_at + 4, p->hp.sample,
                           QUIC_HP_SAMPLE) ||
        bpf_skb_load_bytes(skb, at, p->header, hdr_len & 63))
        return 1;
    quic_hp_compute(&p->hp);
    p->header[0] ^= p->hp.mask[0] & 0x1f;
#pragma unroll
    for (__u32 i = 0; i < 4; i++)
        if (i < pn_len)
            p->header[(pn_at + i) & (AEAD_AAD_MAX - 1)] ^= p->hp.mask[1 + i];
    return bpf_skb_store_bytes(skb, at, p->header, hdr_len & 63, 0) ? 1 : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
