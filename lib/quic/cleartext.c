/*
 * Cleartext crypto mode: the TLS handshake runs unchanged, but 1-RTT packets
 * use identity packet protection (payload copied, 16-byte all-zero tag) and
 * identity header protection (all-zero mask), so the kernel fast path can
 * read and rewrite them.
 *
 * The 1-RTT keys are installed as marker contexts from our own GnuTLS secret
 * callback; the ngtcp2 crypto callbacks check for the markers and run the
 * identity transform, and hand every other context (Initial, Handshake,
 * Retry integrity) to ngtcp2_crypto's real implementation.
 */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "quic_internal.h"

static const int aead_marker;
static const int hp_marker;

static int is_aead_marker(const ngtcp2_crypto_aead_ctx *ctx)
{
    return ctx->native_handle == (void *)&aead_marker;
}

static int is_hp_marker(const ngtcp2_crypto_cipher_ctx *ctx)
{
    return ctx->native_handle == (void *)&hp_marker;
}

static void set_markers(ngtcp2_crypto_aead_ctx *aead_ctx,
                        ngtcp2_crypto_cipher_ctx *hp_ctx)
{
    aead_ctx->native_handle = (void *)&aead_marker;
    if (hp_ctx)
        hp_ctx->native_handle = (void *)&hp_marker;
}

static int encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                      const ngtcp2_crypto_aead_ctx *aead_ctx,
                      const uint8_t *plaintext, size_t plaintextlen,
                      const uint8_t *nonce, size_t noncelen,
                      const uint8_t *aad, size_t aadlen)
{
    if (!is_aead_marker(aead_ctx))
        return ngtcp2_crypto_encrypt_cb(dest, aead, aead_ctx, plaintext,
                                        plaintextlen, nonce, noncelen, aad,
                                        aadlen);
    memmove(dest, plaintext, plaintextlen);
    memset(dest + plaintextlen, 0, aead->max_overhead);
    return 0;
}

static int decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                      const ngtcp2_crypto_aead_ctx *aead_ctx,
                      const uint8_t *ciphertext, size_t ciphertextlen,
                      const uint8_t *nonce, size_t noncelen,
                      const uint8_t *aad, size_t aadlen)
{
    size_t taglen = aead->max_overhead;

    if (!is_aead_marker(aead_ctx))
        return ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext,
                                        ciphertextlen, nonce, noncelen, aad,
                                        aadlen);
    if (ciphertextlen < taglen)
        return NGTCP2_ERR_DECRYPT;
    /* The tag must be all zero: a packet that is not ours (a stateless
     * reset, a tls-mode packet) must fail here as it would fail AEAD. */
    for (size_t i = ciphertextlen - taglen; i < ciphertextlen; i++)
        if (ciphertext[i] != 0)
            return NGTCP2_ERR_DECRYPT;
    memmove(dest, ciphertext, ciphertextlen - taglen);
    return 0;
}

static int hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                      const ngtcp2_crypto_cipher_ctx *hp_ctx,
                      const uint8_t *sample)
{
    if (!is_hp_marker(hp_ctx))
        return ngtcp2_crypto_hp_mask_cb(dest, hp, hp_ctx, sample);
    memset(dest, 0, NGTCP2_HP_MASKLEN);
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
    uint8_t rx_key[64], tx_key[64];
    int rv;

    (void)user_data;
    /* Derive the next secrets and IVs as usual so both peers stay in step,
     * then replace the AEAD contexts by markers: without this, 1-RTT would
     * silently turn into real AEAD after the first key update. */
    rv = ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx,
                                  rx_key, rx_iv, tx_aead_ctx, tx_key, tx_iv,
                                  current_rx_secret, current_tx_secret,
                                  secretlen);
    memset(rx_key, 0, sizeof(rx_key));
    memset(tx_key, 0, sizeof(tx_key));
    if (rv != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    ngtcp2_crypto_aead_ctx_free(rx_aead_ctx);
    ngtcp2_crypto_aead_ctx_free(tx_aead_ctx);
    fr_cleartext_mark(rx_aead_ctx);
    fr_cleartext_mark(tx_aead_ctx);
    return 0;
}

static void delete_aead_ctx_cb(ngtcp2_conn *conn,
                               ngtcp2_crypto_aead_ctx *aead_ctx,
                               void *user_data)
{
    if (!is_aead_marker(aead_ctx))
        ngtcp2_crypto_delete_crypto_aead_ctx_cb(conn, aead_ctx, user_data);
}

static void delete_cipher_ctx_cb(ngtcp2_conn *conn,
                                 ngtcp2_crypto_cipher_ctx *cipher_ctx,
                                 void *user_data)
{
    if (!is_hp_marker(cipher_ctx))
        ngtcp2_crypto_delete_crypto_cipher_ctx_cb(conn, cipher_ctx,
                                                  user_data);
}

void fr_cleartext_mark(ngtcp2_crypto_aead_ctx *aead_ctx)
{
    set_markers(aead_ctx, NULL);
}

int fr_cleartext_install_1rtt(ngtcp2_conn *conn, int rx, const uint8_t *secret,
                              size_t secretlen)
{
    const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(conn);
    ngtcp2_crypto_aead_ctx aead_ctx;
    ngtcp2_crypto_cipher_ctx hp_ctx;
    uint8_t iv[64] = {0};
    size_t ivlen;

    if (!ctx->aead.native_handle)
        return -1; /* the handshake keys always come first */
    ivlen = ngtcp2_crypto_packet_protection_ivlen(&ctx->aead);
    set_markers(&aead_ctx, &hp_ctx);
    if (rx)
        return ngtcp2_conn_install_rx_key(conn, secret, secretlen, &aead_ctx,
                                          iv, ivlen, &hp_ctx);
    return ngtcp2_conn_install_tx_key(conn, secret, secretlen, &aead_ctx, iv,
                                      ivlen, &hp_ctx);
}

static int secret_func(gnutls_session_t session,
                       gnutls_record_encryption_level_t gtls_level,
                       const void *rx_secret, const void *tx_secret,
                       size_t secretlen)
{
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
    ngtcp2_conn *conn = ref->get_conn(ref);
    ngtcp2_encryption_level level =
        ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(gtls_level);

    if (level == NGTCP2_ENCRYPTION_LEVEL_1RTT) {
        if (rx_secret &&
            fr_cleartext_install_1rtt(conn, 1, rx_secret, secretlen) != 0)
            return -1;
        if (tx_secret &&
            fr_cleartext_install_1rtt(conn, 0, tx_secret, secretlen) != 0)
            return -1;
        return 0;
    }
    return fr_tls_install_level(conn, level, rx_secret, tx_secret, secretlen);
}

void fr_cleartext_configure_session(gnutls_session_t session)
{
    /* Replaces the secret callback ngtcp2_crypto_gnutls installed; the
     * transport-parameter and handshake-data callbacks stay. */
    gnutls_handshake_set_secret_function(session, secret_func);
}

void fr_cleartext_set_callbacks(ngtcp2_callbacks *cb)
{
    cb->encrypt = encrypt_cb;
    cb->decrypt = decrypt_cb;
    cb->hp_mask = hp_mask_cb;
    cb->update_key = update_key_cb;
    cb->delete_crypto_aead_ctx = delete_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = delete_cipher_ctx_cb;
}
