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
 */
#include <stdlib.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <fastrelay/error.h>

#include "conn_view.h"
#include "quic_internal.h"

#define KEY_MAX 64

struct fr_rx_keys {
    fr_packet_keys k[2];
    int have[2];
    int unusable;       /* the suite is not ChaCha20-Poly1305 */
    uint64_t gen;       /* the newest generation kept */
    uint32_t changes;
};

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

uint32_t fr_conn_rx_keys_changes(const fr_quic_conn *c)
{
    return c->rx_keys ? c->rx_keys->changes : 0;
}
