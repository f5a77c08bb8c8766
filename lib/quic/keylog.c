/*
 * FR_QUIC_KEYLOG=FILE (read when an endpoint is made): the endpoint's tls
 * client connections append a line per 1-RTT key, for decrypting
 * captures of their traffic (the latency benchmark's taps, test/bench):
 *
 *   <dcid> <key> <iv> <hp>
 *
 * in hex: the keys protecting the packets that carry DCID <dcid> (those
 * the connection receives under each of its own CIDs, and those it sends
 * to the peer's). Generation 0 only, TLS_CHACHA20_POLY1305_SHA256 only.
 * Whoever reads the file reads the traffic: the endpoint warns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quic_internal.h"

void fr_keylog_open(fr_quic_endpoint *ep)
{
    const char *path = getenv("FR_QUIC_KEYLOG");

    if (!path || !*path || ep->settings.crypto_mode != FR_CRYPTO_TLS)
        return;
    ep->keylog = fopen(path, "a");
    if (!ep->keylog) {
        FR_WARN(&ep->settings.log, "FR_QUIC_KEYLOG: cannot open %s", path);
        return;
    }
    setvbuf(ep->keylog, NULL, _IOLBF, 0);
    FR_WARN(&ep->settings.log,
            "FR_QUIC_KEYLOG: 1-RTT keys are written to %s: whoever reads "
            "it reads the traffic",
            path);
}

void fr_keylog_close(fr_quic_endpoint *ep)
{
    if (ep->keylog)
        fclose(ep->keylog);
    ep->keylog = NULL;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static void line(FILE *f, const ngtcp2_cid *cid, const fr_packet_keys *k)
{
    hex(f, cid->data, cid->datalen);
    fputc(' ', f);
    hex(f, k->key, sizeof(k->key));
    fputc(' ', f);
    hex(f, k->iv, sizeof(k->iv));
    fputc(' ', f);
    hex(f, k->hp, sizeof(k->hp));
    fputc('\n', f);
}

void fr_keylog_write(const fr_quic_conn *c, int tx, const uint8_t *key,
                     const uint8_t *iv, const uint8_t *hp)
{
    fr_packet_keys k;

    if (!c->ep->keylog ||
        !fr_tls_is_chacha20(&ngtcp2_conn_get_crypto_ctx(c->conn)->aead))
        return;
    memcpy(k.key, key, sizeof(k.key));
    memcpy(k.iv, iv, sizeof(k.iv));
    memcpy(k.hp, hp, sizeof(k.hp));
    if (tx)
        line(c->ep->keylog, ngtcp2_conn_get_dcid(c->conn), &k);
    else
        for (size_t i = 0; i < c->nscids; i++)
            line(c->ep->keylog, &c->scids[i], &k);
    memset(&k, 0, sizeof(k));
}
