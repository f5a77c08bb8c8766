/* QUIC variable-length integers (RFC 9000, section 16): 1, 2, 4 or 8
 * bytes, the length in the first byte's two high bits, values below
 * 2^62. Not MoQT's varints (lib/moq/codec.h), which differ. */
#ifndef FR_QVARINT_H
#define FR_QVARINT_H

#include <stddef.h>
#include <stdint.h>

#define FR_QVARINT_MAX ((UINT64_C(1) << 62) - 1)

/* Bytes the shortest encoding of v takes (v <= FR_QVARINT_MAX). */
size_t fr_qvarint_len(uint64_t v);

/* Reads one at *pos within buf[0..len); advances *pos. Returns 0, or
 * FR_ERR_PROTO if it runs past len. */
int fr_qvarint_get(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v);

/* Writes the shortest encoding at *pos within buf[0..cap); advances *pos.
 * Returns 0, or FR_ERR_NOBUF if it does not fit or v is too large. */
int fr_qvarint_put(uint8_t *buf, size_t cap, size_t *pos, uint64_t v);

#endif
