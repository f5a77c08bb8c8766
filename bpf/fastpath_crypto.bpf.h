/*
 * What the fast path's two programs share in tls mode (docs/FASTPATH.md,
 * "Encrypted fast path"): the keys of each slot, one per-CPU crypto
 * scratch, and setting up a packet key. Ingress opens each upstream packet
 * once and writes the plaintext over it for its clones; egress seals each
 * copy. Egress runs inside ingress's bpf_clone_redirect on the same CPU
 * (test_clone_probe), after ingress is done with the scratch. Weak
 * definitions, as in fastpath_shared.bpf.h.
 */
#ifndef FR_FASTPATH_CRYPTO_BPF_H
#define FR_FASTPATH_CRYPTO_BPF_H

#include "aead.bpf.h"
#include "quic_crypto.bpf.h"

/* Set at load: 1-RTT packets are protected (tls mode), not cleartext. */
const volatile __u8 tls_mode __weak = 0;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FR_FP_MAX_SLOTS);
    __type(key, __u32);
    __type(value, struct fr_fp_keys);
} fr_fp_keys SEC(".maps") __weak;

struct fp_crypto {
    struct aead_buf a;
    struct quic_hp hp;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fp_crypto);
} fr_fp_crypto SEC(".maps") __weak;

static __always_inline struct fp_crypto *fp_crypto(void)
{
    __u32 zero = 0;

    return bpf_map_lookup_elem(&fr_fp_crypto, &zero);
}

/* c->a's key for packet number pn under `pk`. */
static __always_inline void fp_packet_key(struct fp_crypto *c,
                                          const struct fr_fp_phase_key *pk,
                                          __u64 pn)
{
    chacha20_setup(&c->a.key, pk->key, pk->iv);
    quic_nonce(&c->a.key, pk->iv, pn);
}

/* c->hp.mask for the sample already in c->hp.sample, under HP key hp. */
static __always_inline void fp_hp_mask(struct fp_crypto *c, const __u8 *hp)
{
    chacha20_setup(&c->hp.key, hp, c->hp.sample);
    quic_hp_compute(&c->hp);
}

#endif
