/*
 * 1-RTT packet protection at the wire for hooked connections in tls mode
 * (quic_internal.h, "wire_protect.c"). The layer that hooks a connection
 * renumbers every packet ngtcp2 writes and rewrites every ACK it reads;
 * under AEAD the packet number is the nonce, so that layer must see the
 * packets in clear. ngtcp2 therefore runs the identity protection of
 * cleartext mode (marker contexts, cleartext.c), and this file protects
 * each 1-RTT packet as it leaves (after the hooks) and opens each one as
 * it arrives (before them), with the real keys derived from the TLS
 * secrets: any suite, key updates either side initiates. The hooks' `keys`
 * hook gets our ChaCha20-Poly1305 keys, which the kernel fast path seals
 * its copies with.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "conn_view.h"
#include "quic_internal.h"
#include "wire.h"

#define KEY_MAX 32
#define IV_LEN 12 /* every QUIC AEAD's nonce */
#define TAG_LEN 16
#define SAMPLE_LEN 16
#define MASK_LEN 5
#define KEY_PHASE 0x04
#define SECRET_MAX 64

/* One generation's packet protection key. */
typedef struct wp_key {
    ngtcp2_crypto_aead_ctx ctx;
    uint8_t iv[IV_LEN];
    int set;
} wp_key;

/* One direction's header protection. */
typedef struct wp_hp {
    gnutls_cipher_hd_t hd;
    int set;
} wp_hp;

typedef struct fr_wire_protect fr_wire_protect;

struct fr_wire_protect {
    ngtcp2_crypto_aead aead;
    gnutls_cipher_algorithm_t hp_alg;
    wp_hp hp[2];            /* rx, tx; a key update keeps them */
    uint8_t tx_hp_key[KEY_MAX]; /* for the hooks' `keys` */
    /* Receiving: the generation in use, the one before (packets that
     * arrive late) and the next (the peer's key update), as ngtcp2 keeps
     * them. */
    wp_key rx_prev;
    wp_key rx_cur;
    wp_key rx_next;
    uint64_t rx_gen;        /* rx_cur's generation */
    uint64_t rx_cur_first;  /* the first number rx_cur opened */
    /* Sending: by key phase bit, as ngtcp2 wrote it into the packet (the
     * next generation is derived before ngtcp2 uses it). */
    wp_key tx[2];
    uint64_t tx_gen;        /* the newest generation derived */
    uint64_t tx_largest;
    int tx_any;
    uint8_t out[FR_MAX_UDP_PAYLOAD];
};

static void key_clear(wp_key *k)
{
    if (k->set)
        ngtcp2_crypto_aead_ctx_free(&k->ctx);
    memset(k, 0, sizeof(*k));
}

void fr_wp_free(fr_quic_conn *c)
{
    fr_wire_protect *wp = c->wp;

    if (!wp)
        return;
    key_clear(&wp->rx_prev);
    key_clear(&wp->rx_cur);
    key_clear(&wp->rx_next);
    key_clear(&wp->tx[0]);
    key_clear(&wp->tx[1]);
    for (int i = 0; i < 2; i++)
        if (wp->hp[i].set)
            gnutls_cipher_deinit(wp->hp[i].hd);
    free(wp);
    c->wp = NULL;
}

/* HKDF-Expand-Label(secret, label, "", len) (RFC 8446 section 7.1) with
 * the suite's hash; the QUIC labels of RFC 9001 section 5.1 (version 1)
 * or RFC 9369 section 3.3.2 (version 2). */
static int expand_label(uint8_t *out, size_t len, const ngtcp2_crypto_md *md,
                        const uint8_t *secret, size_t secretlen,
                        uint32_t version, const char *what)
{
    static const char tls13[] = "tls13 ";
    const char *quic = version == NGTCP2_PROTO_VER_V2 ? "quicv2 " : "quic ";
    uint8_t info[64];
    size_t n = 0, llen = strlen(tls13) + strlen(quic) + strlen(what);

    info[n++] = (uint8_t)(len >> 8);
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)llen;
    memcpy(info + n, tls13, strlen(tls13));
    n += strlen(tls13);
    memcpy(info + n, quic, strlen(quic));
    n += strlen(quic);
    memcpy(info + n, what, strlen(what));
    n += strlen(what);
    info[n++] = 0; /* no context */
    return ngtcp2_crypto_hkdf_expand(out, len, md, secret, secretlen, info,
                                     n);
}

/* Hands the hooks our key of generation `gen` (NULL: not ChaCha20, which
 * the kernel cannot use). */
static void tell(fr_quic_conn *c, uint64_t gen, const uint8_t *key,
                 const uint8_t *iv, const uint8_t *hp)
{
    fr_packet_keys k;

    if (!c->hooks->keys)
        return;
    if (!fr_tls_is_chacha20(&c->wp->aead)) {
        c->hooks->keys(c->ext, gen, NULL);
        return;
    }
    memcpy(k.key, key, FR_PACKET_KEY_LEN);
    memcpy(k.iv, iv, FR_PACKET_IV_LEN);
    memcpy(k.hp, hp, FR_PACKET_HP_LEN);
    c->hooks->keys(c->ext, gen, &k);
    memset(&k, 0, sizeof(k));
}

/* The header protection of the handshake's secret for one direction; the
 * packet key is the caller's. */
static int hp_init(fr_wire_protect *wp, int tx, const uint8_t *hp_key,
                   size_t keylen)
{
    gnutls_datum_t key = {(unsigned char *)hp_key, (unsigned)keylen};

    if (gnutls_cipher_init(&wp->hp[tx].hd, wp->hp_alg, &key, NULL) != 0)
        return -1;
    wp->hp[tx].set = 1;
    return 0;
}

/* The 5-byte mask of a sample (RFC 9001 sections 5.4.3, 5.4.4): ChaCha20
 * with the sample as counter and nonce, or one AES block. */
static int hp_mask(fr_wire_protect *wp, int tx, const uint8_t *sample,
                   uint8_t mask[MASK_LEN])
{
    static const uint8_t zeros[SAMPLE_LEN];
    uint8_t block[SAMPLE_LEN];
    gnutls_cipher_hd_t hd = wp->hp[tx].hd;

    if (wp->hp_alg == GNUTLS_CIPHER_CHACHA20_32) {
        gnutls_cipher_set_iv(hd, (void *)sample, SAMPLE_LEN);
        return gnutls_cipher_encrypt2(hd, zeros, MASK_LEN, mask, MASK_LEN)
                   ? -1
                   : 0;
    }
    /* ECB of one block: CBC from a zero IV. */
    gnutls_cipher_set_iv(hd, (void *)zeros, SAMPLE_LEN);
    if (gnutls_cipher_encrypt2(hd, sample, SAMPLE_LEN, block, SAMPLE_LEN))
        return -1;
    memcpy(mask, block, MASK_LEN);
    return 0;
}

/* Keys of a 1-RTT secret from the handshake: the AEAD key (generation 0)
 * and the header protection key of one direction. */
static int install(fr_quic_conn *c, int tx, const uint8_t *secret,
                   size_t secretlen)
{
    const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(c->conn);
    uint32_t version = ngtcp2_conn_get_negotiated_version(c->conn);
    size_t keylen = ngtcp2_crypto_aead_keylen(&ctx->aead);
    uint8_t key[KEY_MAX], hp[KEY_MAX];
    fr_wire_protect *wp = c->wp;
    wp_key *k;
    int rv;

    if (!wp) {
        wp = c->wp = calloc(1, sizeof(*wp));
        if (!wp)
            return -1;
        wp->aead = ctx->aead;
        wp->hp_alg = (gnutls_cipher_algorithm_t)(intptr_t)ctx->hp.native_handle;
    }
    k = tx ? &wp->tx[0] : &wp->rx_cur;
    if (keylen > KEY_MAX || k->set ||
        ngtcp2_crypto_packet_protection_ivlen(&ctx->aead) != IV_LEN)
        return -1;
    rv = expand_label(key, keylen, &ctx->md, secret, secretlen, version,
                      "key") ||
         expand_label(k->iv, IV_LEN, &ctx->md, secret, secretlen, version,
                      "iv") ||
         expand_label(hp, keylen, &ctx->md, secret, secretlen, version,
                      "hp") ||
         hp_init(wp, tx, hp, keylen);
    if (!rv)
        rv = tx ? ngtcp2_crypto_aead_ctx_encrypt_init(&k->ctx, &ctx->aead,
                                                      key, IV_LEN)
                : ngtcp2_crypto_aead_ctx_decrypt_init(&k->ctx, &ctx->aead,
                                                      key, IV_LEN);
    if (!rv) {
        k->set = 1;
        if (tx) {
            memcpy(wp->tx_hp_key, hp, keylen);
            tell(c, 0, key, k->iv, hp);
        } else {
            rv = fr_rx_keys_keep(c, 0, key, k->iv, hp);
        }
    }
    memset(key, 0, sizeof(key));
    memset(hp, 0, sizeof(hp));
    return rv ? -1 : 0;
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

    if (level != NGTCP2_ENCRYPTION_LEVEL_1RTT)
        return fr_tls_install_level(c->conn, level, rx_secret, tx_secret,
                                    secretlen);
    if (rx_secret &&
        (install(c, 0, rx_secret, secretlen) ||
         fr_cleartext_install_1rtt(c->conn, 1, rx_secret, secretlen)))
        return -1;
    if (tx_secret &&
        (install(c, 1, tx_secret, secretlen) ||
         fr_cleartext_install_1rtt(c->conn, 0, tx_secret, secretlen)))
        return -1;
    return 0;
}

/* ngtcp2 derives the next generation ahead of its use: ours take the
 * real contexts, ngtcp2 keeps markers. */
static int update_key_cb(ngtcp2_conn *conn, uint8_t *rx_secret,
                         uint8_t *tx_secret,
                         ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                         ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                         const uint8_t *current_rx_secret,
                         const uint8_t *current_tx_secret, size_t secretlen,
                         void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_wire_protect *wp = c->wp;
    uint8_t rx_key[KEY_MAX * 2], tx_key[KEY_MAX * 2];
    wp_key *next;
    int rv;

    if (!wp)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    rv = ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx,
                                  rx_key, rx_iv, tx_aead_ctx, tx_key, tx_iv,
                                  current_rx_secret, current_tx_secret,
                                  secretlen);
    if (rv != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    key_clear(&wp->rx_next);
    wp->rx_next.ctx = *rx_aead_ctx;
    memcpy(wp->rx_next.iv, rx_iv, IV_LEN);
    wp->rx_next.set = 1;
    wp->tx_gen++;
    next = &wp->tx[wp->tx_gen & 1];
    key_clear(next);
    next->ctx = *tx_aead_ctx;
    memcpy(next->iv, tx_iv, IV_LEN);
    next->set = 1;
    fr_cleartext_mark(rx_aead_ctx);
    fr_cleartext_mark(tx_aead_ctx);
    tell(c, wp->tx_gen, tx_key, tx_iv, wp->tx_hp_key);
    rv = fr_rx_keys_keep(c, wp->tx_gen, rx_key, rx_iv, NULL);
    memset(rx_key, 0, sizeof(rx_key));
    memset(tx_key, 0, sizeof(tx_key));
    return rv ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

/* The nonce of packet number pn (RFC 9001 section 5.3). */
static void nonce_of(uint8_t nonce[IV_LEN], const uint8_t iv[IV_LEN],
                     uint64_t pn)
{
    memcpy(nonce, iv, IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* Opens the packet with `k`: header hdr[0..hlen) (unprotected), the
 * ciphertext and tag ct[0..ctlen), the plaintext into pt. */
static int open_with(const fr_wire_protect *wp, const wp_key *k, uint64_t pn,
                     const uint8_t *hdr, size_t hlen, const uint8_t *ct,
                     size_t ctlen, uint8_t *pt)
{
    uint8_t nonce[IV_LEN];

    if (!k->set)
        return -1;
    nonce_of(nonce, k->iv, pn);
    return ngtcp2_crypto_decrypt(pt, &wp->aead, &k->ctx, ct, ctlen, nonce,
                                 IV_LEN, hdr, hlen)
               ? -1
               : 0;
}

/* The peer's packets of another key phase than rx_cur's: the previous
 * generation's (late) or the next one's (a key update; then it becomes
 * the current one, as in ngtcp2, RFC 9001 section 6.3). */
static int open_other(fr_wire_protect *wp, uint64_t pn, const uint8_t *hdr,
                      size_t hlen, const uint8_t *ct, size_t ctlen,
                      uint8_t *pt)
{
    int late = wp->rx_prev.set && pn < wp->rx_cur_first;

    if (late)
        return open_with(wp, &wp->rx_prev, pn, hdr, hlen, ct, ctlen, pt);
    if (open_with(wp, &wp->rx_next, pn, hdr, hlen, ct, ctlen, pt))
        return -1;
    key_clear(&wp->rx_prev);
    wp->rx_prev = wp->rx_cur;
    wp->rx_cur = wp->rx_next;
    memset(&wp->rx_next, 0, sizeof(wp->rx_next));
    wp->rx_gen++;
    wp->rx_cur_first = pn;
    return 0;
}

size_t fr_wp_open(fr_quic_conn *c, const uint8_t *d, size_t len,
                  const uint8_t **out)
{
    fr_wire_protect *wp = c->wp;
    size_t cidlen = c->ep->settings.cid_len, at, hlen;
    ssize_t pos = fr_wire_find_short(d, len);
    uint8_t mask[MASK_LEN], *o;
    fr_short_hdr h;
    uint64_t pn, largest = 0;
    int r, any;

    if (!wp || !wp->rx_cur.set || pos < 0 || len > sizeof(wp->out))
        return 0;
    at = (size_t)pos;
    if (len - at < 1 + cidlen + 4 + SAMPLE_LEN ||
        hp_mask(wp, 0, d + at + 1 + cidlen + 4, mask))
        return 0;
    /* Header protection off: the first byte, then as many packet number
     * bytes as it says. */
    o = wp->out;
    memcpy(o, d, at + 1 + cidlen + 4);
    o[at] ^= mask[0] & 0x1f;
    hlen = 1 + cidlen + (size_t)(o[at] & 0x03) + 1;
    for (size_t i = 1 + cidlen; i < hlen; i++)
        o[at + i] ^= mask[i - cidlen];
    if (len - at < hlen + TAG_LEN ||
        fr_wire_parse_short(o + at, hlen, cidlen, &h))
        return 0;
    /* Against the largest number opened so far, which rx_keys.c keeps
     * with the receive keys (every generation of them is kept there). */
    any = fr_conn_rx_largest_pn(c, &largest) == 0;
    pn = fr_wire_pn_decode(any, largest, h.pn_trunc, h.pn_len);
    if (h.key_phase == (int)(wp->rx_gen & 1))
        r = open_with(wp, &wp->rx_cur, pn, o + at, hlen, d + at + hlen,
                      len - at - hlen, o + at + hlen);
    else
        r = open_other(wp, pn, o + at, hlen, d + at + hlen, len - at - hlen,
                       o + at + hlen);
    if (r)
        return 0;
    fr_rx_keys_opened(c, pn);
    memset(o + len - TAG_LEN, 0, TAG_LEN);
    *out = o;
    return len;
}

int fr_wp_seal(fr_quic_conn *c, uint8_t *buf, size_t n)
{
    fr_wire_protect *wp = c->wp;
    size_t cidlen = ngtcp2_conn_get_dcid(c->conn)->datalen, at, hlen;
    ssize_t pos = fr_wire_find_short(buf, n);
    uint8_t mask[MASK_LEN], nonce[IV_LEN];
    const wp_key *k;
    fr_short_hdr h;
    uint64_t pn;

    if (pos < 0)
        return 0; /* handshake packets only: ngtcp2 protected them */
    at = (size_t)pos;
    if (!wp || fr_wire_parse_short(buf + at, n - at, cidlen, &h))
        return -1;
    hlen = h.pn_off + h.pn_len;
    k = &wp->tx[h.key_phase];
    if (!k->set || n - at < h.pn_off + 4 + SAMPLE_LEN ||
        n - at < hlen + TAG_LEN)
        return -1;
    pn = fr_wire_pn_decode(wp->tx_any, wp->tx_largest, h.pn_trunc, h.pn_len);
    if (!wp->tx_any || pn > wp->tx_largest)
        wp->tx_largest = pn;
    wp->tx_any = 1;
    nonce_of(nonce, k->iv, pn);
    if (ngtcp2_crypto_encrypt(buf + at + hlen, &wp->aead, &k->ctx,
                              buf + at + hlen, n - at - hlen - TAG_LEN, nonce,
                              IV_LEN, buf + at, hlen) ||
        hp_mask(wp, 1, buf + at + h.pn_off + 4, mask))
        return -1;
    buf[at] ^= mask[0] & 0x1f;
    for (size_t i = 0; i < h.pn_len; i++)
        buf[at + h.pn_off + i] ^= mask[1 + i];
    return 0;
}

int fr_wp_wanted(const fr_quic_endpoint *ep, int is_server)
{
    return is_server && ep->settings.crypto_mode == FR_CRYPTO_TLS &&
           ep->hooks != NULL;
}

void fr_wp_configure_session(gnutls_session_t session)
{
    gnutls_handshake_set_secret_function(session, secret_func);
}

void fr_wp_set_callbacks(ngtcp2_callbacks *cb)
{
    fr_cleartext_set_callbacks(cb);
    cb->update_key = update_key_cb;
}
