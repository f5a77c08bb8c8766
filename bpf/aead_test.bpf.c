/*
 * ChaCha20-Poly1305 sealing (aead.bpf.h) as a tc program, for its tests
 * (test/bpf/test_aead.c): the packet after a 14-byte Ethernet header
 * carries the key (32 bytes), the nonce (12), the AAD's length (1 byte),
 * the text's length (2, little endian), the AAD, the text and 16 bytes
 * of room; the program writes the ciphertext over the text and the tag
 * into the room. Returns 0, or 1 when the input does not fit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "aead.bpf.h"

#define IN_AT 14
#define HDR_LEN 47

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct aead_buf);
} fr_aead_scratch SEC(".maps");

SEC("tc")
int fr_aead_seal(struct __sk_buff *skb)
{
    __u32 zero = 0, aad_len, text_len, at;
    struct aead_buf *a = bpf_map_lookup_elem(&fr_aead_scratch, &zero);

    /* The header goes where the AAD will be. */
    if (!a || bpf_skb_load_bytes(skb, IN_AT, a->b, HDR_LEN))
        return 1;
    chacha20_setup(&a->key, a->b, a->b + 32);
    aad_len = a->b[44];
    text_len = (__u32)a->b[45] | (__u32)a->b[46] << 8;
    if (aad_len > AEAD_AAD_MAX || text_len == 0 || text_len > AEAD_TEXT_MAX)
        return 1;
    at = IN_AT + HDR_LEN;
    if (aad_len && bpf_skb_load_bytes(skb, at, a->b, aad_len))
        return 1;
    if (bpf_skb_load_bytes(skb, at + aad_len,
                           a->b + (((aad_len + 15) & ~15u) & 63), text_len))
        return 1;
    if (aead_seal(a, aad_len, text_len) ||
        bpf_skb_store_bytes(skb, at + aad_len, a->b + (a->text_at & 63),
                            text_len, 0) ||
        bpf_skb_store_bytes(skb, at + aad_len + text_len, a->tag,
                            AEAD_TAG_LEN, 0))
        return 1;
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
