/* A peer's 1-RTT packet protection, for tests (short_protect.h). */
#include "short_protect.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define TAG_LEN 16
#define SAMPLE_LEN 16
#define MASK_LEN 5

/* The header protection mask of the sample at pkt + at. */
static int mask_of(const fr_packet_keys *k, const uint8_t *sample,
                   uint8_t mask[MASK_LEN])
{
    static const uint8_t zeros[MASK_LEN];
    gnutls_datum_t key = {(unsigned char *)k->hp, FR_PACKET_HP_LEN};
    gnutls_datum_t iv = {(unsigned char *)sample, SAMPLE_LEN};
    gnutls_cipher_hd_t hd;
    int rv;

    if (gnutls_cipher_init(&hd, GNUTLS_CIPHER_CHACHA20_32, &key, &iv))
        return -1;
    rv = gnutls_cipher_encrypt2(hd, zeros, MASK_LEN, mask, MASK_LEN);
    gnutls_cipher_deinit(hd);
    return rv ? -1 : 0;
}

static void nonce_of(uint8_t nonce[FR_PACKET_IV_LEN],
                     const fr_packet_keys *k, uint64_t pn)
{
    memcpy(nonce, k->iv, FR_PACKET_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[FR_PACKET_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

void fr_tp_seal(uint8_t *pkt, size_t len, size_t dcid_len, uint64_t pn,
                const fr_packet_keys *k)
{
    size_t at = 1 + dcid_len, hlen = at + (size_t)(pkt[0] & 3) + 1;
    size_t outlen = len - hlen;
    gnutls_datum_t key = {(unsigned char *)k->key, FR_PACKET_KEY_LEN};
    gnutls_aead_cipher_hd_t aead;
    uint8_t nonce[FR_PACKET_IV_LEN], mask[MASK_LEN];

    nonce_of(nonce, k, pn);
    if (gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_CHACHA20_POLY1305,
                                &key) ||
        gnutls_aead_cipher_encrypt(aead, nonce, sizeof(nonce), pkt, hlen,
                                   TAG_LEN, pkt + hlen, len - hlen - TAG_LEN,
                                   pkt + hlen, &outlen))
        abort();
    gnutls_aead_cipher_deinit(aead);
    if (mask_of(k, pkt + at + 4, mask))
        abort();
    for (size_t i = 0; i < hlen - at; i++)
        pkt[at + i] ^= mask[1 + i];
    pkt[0] ^= mask[0] & 0x1f;
}

int fr_tp_open(const uint8_t *pkt, size_t len, size_t dcid_len,
               const fr_packet_keys *k, uint8_t *out, fr_tp_opened *o)
{
    size_t at = 1 + dcid_len, outlen = len;
    gnutls_datum_t key = {(unsigned char *)k->key, FR_PACKET_KEY_LEN};
    gnutls_aead_cipher_hd_t aead;
    uint8_t hdr[64], mask[MASK_LEN], nonce[FR_PACKET_IV_LEN];
    int rv;

    if (len < at + 4 + SAMPLE_LEN || at + 4 > sizeof(hdr) ||
        mask_of(k, pkt + at + 4, mask))
        return -1;
    hdr[0] = pkt[0] ^ (mask[0] & 0x1f);
    o->pn_len = (size_t)(hdr[0] & 3) + 1;
    o->key_phase = (hdr[0] & 0x04) != 0;
    o->hdr_len = at + o->pn_len;
    memcpy(hdr + 1, pkt + 1, o->hdr_len - 1);
    o->pn = 0;
    for (size_t i = 0; i < o->pn_len; i++) {
        hdr[at + i] ^= mask[1 + i];
        o->pn = o->pn << 8 | hdr[at + i];
    }
    if (len < o->hdr_len + TAG_LEN)
        return -1;
    nonce_of(nonce, k, o->pn);
    if (gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_CHACHA20_POLY1305,
                                &key))
        return -1;
    rv = gnutls_aead_cipher_decrypt(aead, nonce, sizeof(nonce), hdr,
                                    o->hdr_len, TAG_LEN, pkt + o->hdr_len,
                                    len - o->hdr_len, out, &outlen);
    gnutls_aead_cipher_deinit(aead);
    o->len = outlen;
    return rv ? -1 : 0;
}
