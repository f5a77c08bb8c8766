/* QUIC packet protection keys from a traffic secret (packet_keys.h). */
#include "packet_keys.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <fastrelay/error.h>

/* HKDF-Expand-Label(secret, label, "", len) of TLS 1.3 (RFC 8446 section
 * 7.1), SHA-256. */
static int expand_label(uint8_t *out, size_t len,
                        const uint8_t secret[FR_PACKET_SECRET_LEN],
                        const char *label)
{
    static const char prefix[] = "tls13 ";
    uint8_t info[2 + 1 + 255 + 1];
    size_t llen = sizeof(prefix) - 1 + strlen(label), n = 0;
    gnutls_datum_t key = {(unsigned char *)secret, FR_PACKET_SECRET_LEN};
    gnutls_datum_t inf;

    if (llen > 255)
        return FR_ERR_INVALID_ARGUMENT;
    info[n++] = (uint8_t)(len >> 8);
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)llen;
    memcpy(info + n, prefix, sizeof(prefix) - 1);
    n += sizeof(prefix) - 1;
    memcpy(info + n, label, strlen(label));
    n += strlen(label);
    info[n++] = 0; /* no context */
    inf.data = info;
    inf.size = (unsigned)n;
    return gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &key, &inf, out, len) == 0
               ? 0
               : FR_ERR_TLS;
}

int fr_packet_keys_chacha20(fr_packet_keys *k,
                            const uint8_t secret[FR_PACKET_SECRET_LEN])
{
    int rv = expand_label(k->key, sizeof(k->key), secret, "quic key");

    if (!rv)
        rv = expand_label(k->iv, sizeof(k->iv), secret, "quic iv");
    if (!rv)
        rv = expand_label(k->hp, sizeof(k->hp), secret, "quic hp");
    return rv;
}

int fr_packet_secret_next(uint8_t next[FR_PACKET_SECRET_LEN],
                          const uint8_t secret[FR_PACKET_SECRET_LEN])
{
    return expand_label(next, FR_PACKET_SECRET_LEN, secret, "quic ku");
}
