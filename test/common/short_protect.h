/*
 * A peer's view of 1-RTT packet protection with
 * TLS_CHACHA20_POLY1305_SHA256 (RFC 9001 sections 5.3, 5.4.4), written
 * with GnuTLS, independent of lib/quic and the BPF programs: what tests
 * seal a stand-in kernel's packets with, and check others' packets
 * against.
 */
#ifndef FR_TEST_SHORT_PROTECT_H
#define FR_TEST_SHORT_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/quic/packet_keys.h"

/* What fr_tp_open found. */
typedef struct fr_tp_opened {
    uint64_t pn;       /* the packet number as written (truncated) */
    size_t pn_len;
    int key_phase;
    size_t hdr_len;    /* header and packet number */
    size_t len;        /* plaintext bytes, at out */
} fr_tp_opened;

/* Seals the cleartext short-header packet pkt[0..len) in place: the
 * payload after its header (`dcid_len`-byte CID, the packet number its
 * first byte says) and a 16-byte tag's room at the end, the nonce from
 * `pn`, then header protection. */
void fr_tp_seal(uint8_t *pkt, size_t len, size_t dcid_len, uint64_t pn,
                const fr_packet_keys *k);

/* Opens a sealed short-header packet with `k`, the full packet number
 * taken to be the truncated one (tests' numbers stay below 2^32 with
 * 4-byte numbers). Returns 0 if it authenticates, the plaintext in out
 * (room for len bytes). */
int fr_tp_open(const uint8_t *pkt, size_t len, size_t dcid_len,
               const fr_packet_keys *k, uint8_t *out, fr_tp_opened *o);

#endif
