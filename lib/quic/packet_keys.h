/*
 * A connection's 1-RTT packet protection keys for
 * TLS_CHACHA20_POLY1305_SHA256 as ngtcp2 derives them (RFC 9001 section
 * 5.1): what a hooking layer gets (conn_hooks.h, `keys`) and the kernel
 * fast path will protect packets with (docs/FASTPATH.md, "Encrypted fast
 * path").
 */
#ifndef FR_QUIC_PACKET_KEYS_H
#define FR_QUIC_PACKET_KEYS_H

#include <stdint.h>

#define FR_PACKET_KEY_LEN 32
#define FR_PACKET_IV_LEN 12
#define FR_PACKET_HP_LEN 32

typedef struct fr_packet_keys {
    uint8_t key[FR_PACKET_KEY_LEN];
    uint8_t iv[FR_PACKET_IV_LEN];
    uint8_t hp[FR_PACKET_HP_LEN];
} fr_packet_keys;

#endif
