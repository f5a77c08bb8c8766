/*
 * 1-RTT packet protection keys for the layer that hooks a connection
 * (conn_hooks.h, `keys`), in tls mode: the GnuTLS secret callback and
 * ngtcp2's key update callback as ngtcp2_crypto_gnutls has them, which
 * also hand the layer what they derived.
 */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "quic_internal.h"

static int is_chacha20(ngtcp2_conn *conn)
{
    const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(conn);

    return ctx->aead.native_handle ==
           (void *)GNUTLS_CIPHER_CHACHA20_POLY1305;
}

/* Hands the layer 1-RTT keys; hp NULL keeps the ones it was given (a key
 * update keeps the header protection key). */
static void tell(fr_quic_conn *c, int tx, const uint8_t *key,
                 const uint8_t *iv, const uint8_t *hp)
{
    fr_packet_keys k;
    uint8_t *keep = tx ? c->tx_hp : c->rx_hp;
    uint64_t *gen = tx ? &c->tx_key_gen : &c->rx_key_gen;

    if (!is_chacha20(c->conn)) {
        c->hooks->keys(c->ext, tx, *gen, NULL);
        return;
    }
    if (hp)
        memcpy(keep, hp, FR_PACKET_HP_LEN);
    memcpy(k.key, key, FR_PACKET_KEY_LEN);
    memcpy(k.iv, iv, FR_PACKET_IV_LEN);
    memcpy(k.hp, keep, FR_PACKET_HP_LEN);
    c->hooks->keys(c->ext, tx, *gen, &k);
    memset(&k, 0, sizeof(k));
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
    uint8_t key[64], iv[64], hp[64];
    int one_rtt = level == NGTCP2_ENCRYPTION_LEVEL_1RTT;

    if (rx_secret) {
        if (ngtcp2_crypto_derive_and_install_rx_key(
                c->conn, key, iv, hp, level, rx_secret, secretlen) != 0)
            return -1;
        if (one_rtt)
            tell(c, 0, key, iv, hp);
    }
    if (tx_secret) {
        if (ngtcp2_crypto_derive_and_install_tx_key(
                c->conn, key, iv, hp, level, tx_secret, secretlen) != 0)
            return -1;
        if (one_rtt)
            tell(c, 1, key, iv, hp);
    }
    memset(key, 0, sizeof(key));
    return 0;
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
    uint8_t rx_key[64], tx_key[64];
    int rv = ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx,
                                      rx_key, rx_iv, tx_aead_ctx, tx_key,
                                      tx_iv, current_rx_secret,
                                      current_tx_secret, secretlen);

    if (rv != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    c->rx_key_gen++;
    c->tx_key_gen++;
    tell(c, 0, rx_key, rx_iv, NULL);
    tell(c, 1, tx_key, tx_iv, NULL);
    memset(rx_key, 0, sizeof(rx_key));
    memset(tx_key, 0, sizeof(tx_key));
    return 0;
}

int fr_hooked_keys_wanted(const fr_quic_endpoint *ep, int is_server)
{
    return is_server && ep->settings.crypto_mode == FR_CRYPTO_TLS &&
           ep->hooks && ep->hooks->keys;
}

void fr_hooked_keys_configure_session(gnutls_session_t session)
{
    gnutls_handshake_set_secret_function(session, secret_func);
}

void fr_hooked_keys_set_callbacks(ngtcp2_callbacks *cb)
{
    cb->update_key = update_key_cb;
}
