/*
 * A connection's 1-RTT receive keys, kept for a layer that opens its
 * packets somewhere else (the kernel fast path opens each upstream packet
 * in its ingress program), in tls mode: a client connection of an
 * endpoint told to keep them (conn_hooks.h, fr_conn_keep_rx_keys), whose
 * ngtcp2 protects it itself (the GnuTLS secret callback and ngtcp2's key
 * update callback are ngtcp2_crypto's, which also hand out what they
 * derive), and any connection protected at the wire (wire_protect.c
 * keeps them alike). Each generation is kept under its key-phase bit;
 * ngtcp2 derives the next one ahead of the peer's update. The same
 * callbacks feed the key log (keylog.c).
 *
 * With the keys goes the largest 1-RTT packet number opened here: the
 * other opener decodes truncated packet numbers against it, and must be
 * able to start from it, or catch up with it after packets it missed.
 * ngtcp2 opens them through the decrypt callback, which names no
 * connection: the connection being read is set around each read
 * (fr_rx_keys_reading).
 */
#include <stdlib.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <fastrelay/error.h>

#include "conn_view.h"
#include "wire.h"
#include "quic_internal.h"

#define KEY_MAX 64

struct fr_rx_keys {
    fr_packet_keys k[2];
    int have[2];
    int unusable;       /* the suite is not ChaCha20-Poly1305 */
    uint64_t gen;       /* the newest generation kept */
    uint32_t changes;
    uint64_t largest;   /* the largest packet number opened, if `opened` */
    int opened;
};

/* The connection whose packet ngtcp2 is reading on this thread. */
static _Thread_local fr_quic_conn *reading;

int fr_rx_keys_keep(fr_quic_conn *c, uint64_t gen, const uint8_t *key,
                    const uint8_t *iv, const uint8_t *hp)
{
    fr_rx_keys *rk = c->rx_keys;
    fr_packet_keys *k;

    if (!rk) {
        rk = c->rx_keys = calloc(1, sizeof(*rk));
        if (!rk)
            return -1;
    }
    rk->changes++;
    if (!fr_tls_is_chacha20(&ngtcp2_conn_get_crypto_ctx(c->conn)->aead)) {
        rk->unusable = 1;
        return 0;
    }
    k = &rk->k[gen & 1];
    memcpy(k->key, key, FR_PACKET_KEY_LEN);
    memcpy(k->iv, iv, FR_PACKET_IV_LEN);
    memcpy(k->hp, hp ? hp : rk->k[(gen + 1) & 1].hp, FR_PACKET_HP_LEN);
    rk->have[gen & 1] = 1;
    rk->gen = gen;
    return 0;
}

static int secret_func(gnutls_session_t session,
                       gnutls_record_encryption_level_t gtls_level,
                       const void *rx_secret, const void *tx_secret,
                       size_t secretlen)
{
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
    fr_quic_conn *c = ref->user_data;
    ngtcp2_encryption_level level =
        ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(gtls_level);
    int one_rtt = level == NGTCP2_ENCRYPTION_LEVEL_1RTT;
    uint8_t key[KEY_MAX], iv[KEY_MAX], hp[KEY_MAX];
    int rv = 0;

    if (rx_secret) {
        if (ngtcp2_crypto_derive_and_install_rx_key(c->conn, key, iv, hp,
                                                    level, rx_secret,
                                                    secretlen) ||
            (one_rtt && c->ep->keep_rx_keys &&
             fr_rx_keys_keep(c, 0, key, iv, hp)))
            rv = -1;
        else if (one_rtt)
            fr_keylog_write(c, 0, key, iv, hp);
    }
    if (!rv && tx_secret) {
        if (ngtcp2_crypto_derive_and_install_tx_key(c->conn, key, iv, hp,
                                                    level, tx_secret,
                                                    secretlen))
            rv = -1;
        else if (one_rtt)
            fr_keylog_write(c, 1, key, iv, hp);
    }
    memset(key, 0, sizeof(key));
    memset(hp, 0, sizeof(hp));
    return rv;
}

static int update_key_cb(ngtcp2_conn *conn, uint8_t *rx_secret,
                         uint8_t *tx_secret,
                         ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                         ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                         const uint8_t *current_rx_secret,
                         const uint8_t *current_tx_secret, size_t secretlen,
                         void *user_data)
{
    fr_quic_conn *c = user_data;
    uint8_t rx_key[KEY_MAX], tx_key[KEY_MAX];
    int rv = ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx,
                                      rx_key, rx_iv, tx_aead_ctx, tx_key,
                                      tx_iv, current_rx_secret,
                                      current_tx_secret, secretlen);

    if (rv == 0 && c->rx_keys)
        rv = fr_rx_keys_keep(c, c->rx_keys->gen + 1, rx_key, rx_iv, NULL);
    memset(rx_key, 0, sizeof(rx_key));
    memset(tx_key, 0, sizeof(tx_key));
    return rv ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

void fr_rx_keys_reading(fr_quic_conn *c)
{
    reading = c;
}

void fr_rx_keys_opened(fr_quic_conn *c, uint64_t pn)
{
    fr_rx_keys *rk = c->rx_keys;

    if (!rk)
        return;
    if (!rk->opened || pn > rk->largest)
        rk->largest = pn;
    rk->opened = 1;
}

/* ngtcp2's decrypt callback; an opened short-header packet's number,
 * decoded from the header as ngtcp2 passes it (the AAD: first byte, DCID,
 * packet number), is noted for the connection being read. */
static int decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                      const ngtcp2_crypto_aead_ctx *aead_ctx,
                      const uint8_t *ciphertext, size_t ciphertextlen,
                      const uint8_t *nonce, size_t noncelen,
                      const uint8_t *aad, size_t aadlen)
{
    int rv = ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext,
                                      ciphertextlen, nonce, noncelen, aad,
                                      aadlen);
    fr_rx_keys *rk = reading ? reading->rx_keys : NULL;
    size_t pnlen;
    uint64_t trunc = 0;

    if (rv || !rk || aadlen < 1 || (aad[0] & 0x80))
        return rv;
    pnlen = (size_t)(aad[0] & 0x03) + 1;
    if (aadlen < 1 + pnlen)
        return rv;
    for (size_t i = aadlen - pnlen; i < aadlen; i++)
        trunc = trunc << 8 | aad[i];
    fr_rx_keys_opened(reading, fr_wire_pn_decode(rk->opened, rk->largest,
                                                 trunc, pnlen));
    return rv;
}

int fr_rx_keys_wanted(const fr_quic_endpoint *ep, int is_server)
{
    return !is_server && ep->settings.crypto_mode == FR_CRYPTO_TLS &&
           (ep->keep_rx_keys || ep->keylog);
}

void fr_conn_keep_rx_keys(fr_quic_endpoint *ep)
{
    ep->keep_rx_keys = 1;
}

void fr_rx_keys_configure_session(gnutls_session_t session)
{
    gnutls_handshake_set_secret_function(session, secret_func);
}

void fr_rx_keys_set_callbacks(ngtcp2_callbacks *cb)
{
    cb->update_key = update_key_cb;
    cb->decrypt = decrypt_cb;
}

void fr_rx_keys_free(fr_quic_conn *c)
{
    if (c->rx_keys)
        memset(c->rx_keys, 0, sizeof(*c->rx_keys));
    free(c->rx_keys);
    c->rx_keys = NULL;
}

int fr_conn_rx_keys(const fr_quic_conn *c, int phase, fr_packet_keys *k)
{
    const fr_rx_keys *rk = c->rx_keys;

    if (rk && rk->unusable)
        return FR_ERR_UNSUPPORTED;
    if (!rk || phase < 0 || phase > 1 || !rk->have[phase])
        return FR_ERR_INVALID_STATE;
    *k = rk->k[phase];
    return 0;
}

int fr_conn_rx_largest_pn(const fr_quic_conn *c, uint64_t *pn)
{
    const fr_rx_keys *rk = c->rx_keys;

    if (!rk || !rk->opened)
        return FR_ERR_INVALID_STATE;
    *pn = rk->largest;
    return 0;
}

uint32_t fr_conn_rx_keys_changes(const fr_quic_conn *c)
{
    return c->rx_keys ? c->rx_keys->changes : 0;
}
