/*
 * The short (1-RTT) packet header on the wire: found, read and renumbered
 * by the splice layer, protected and opened by wire_protect.c. Without
 * header protection (cleartext mode, or once removed) the first byte and
 * the packet number are readable as they are.
 */
#ifndef FR_QUIC_WIRE_H
#define FR_QUIC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every wire packet number is written in this many bytes. */
#define FR_WIRE_PN_LEN 4

typedef struct fr_short_hdr {
    size_t pn_off;      /* where the packet number starts */
    size_t pn_len;      /* 1..4 */
    uint64_t pn_trunc;  /* the truncated number as written */
    int key_phase;
} fr_short_hdr;

/* Offset of the short-header packet in a datagram that may begin with
 * coalesced long-header packets, or FR_ERR_PROTO if there is none or a
 * long header does not parse. */
ssize_t fr_wire_find_short(const uint8_t *d, size_t len);

/* Reads the short header at p[0..len) with a destination CID of
 * `dcid_len` bytes. Returns 0, or FR_ERR_PROTO if it is no short header or
 * too short to hold one. */
int fr_wire_parse_short(const uint8_t *p, size_t len, size_t dcid_len,
                        fr_short_hdr *h);

/* The full packet number of a truncated one (RFC 9000 appendix A.3),
 * given the largest number seen so far in that space (`have_largest` 0 if
 * none). */
uint64_t fr_wire_pn_decode(int have_largest, uint64_t largest,
                           uint64_t trunc, size_t pn_len);

/* Rewrites the packet at p[0..len) to carry `wire` in FR_WIRE_PN_LEN bytes,
 * moving the payload as needed; p must have room for len + 3 bytes.
 * Returns the new length. */
size_t fr_wire_set_pn(uint8_t *p, size_t len, const fr_short_hdr *h,
                      uint64_t wire);

#endif
