/*
 * QUIC packet protection keys from a TLS 1.3 traffic secret (RFC 9001
 * section 5.1: HKDF-Expand-Label with the labels "quic key", "quic iv"
 * and "quic hp"), and the next key phase's secret ("quic ku", section
 * 6.1), for TLS_CHACHA20_POLY1305_SHA256: what the kernel fast path
 * protects packets with once userspace has written the keys into its
 * maps (docs/FASTPATH.md, "Encrypted fast path").
 */
#ifndef FR_QUIC_PACKET_KEYS_H
#define FR_QUIC_PACKET_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define FR_PACKET_KEY_LEN 32
#define FR_PACKET_IV_LEN 12
#define FR_PACKET_HP_LEN 32
#define FR_PACKET_SECRET_LEN 32 /* SHA-256 */

typedef struct fr_packet_keys {
    uint8_t key[FR_PACKET_KEY_LEN];
    uint8_t iv[FR_PACKET_IV_LEN];
    uint8_t hp[FR_PACKET_HP_LEN];
} fr_packet_keys;

/* The ChaCha20-Poly1305 packet key, IV and header protection key of a
 * SHA-256 traffic secret. Returns 0, or FR_ERR_TLS. */
int fr_packet_keys_chacha20(fr_packet_keys *k,
                            const uint8_t secret[FR_PACKET_SECRET_LEN]);

/* The secret of the next key phase (a key update keeps the header
 * protection key). Returns 0, or FR_ERR_TLS. */
int fr_packet_secret_next(uint8_t next[FR_PACKET_SECRET_LEN],
                          const uint8_t secret[FR_PACKET_SECRET_LEN]);

#endif
