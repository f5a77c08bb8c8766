/*
 * The QUIC endpoint: settings, the connection table keyed by our connection
 * IDs, dispatch of received datagrams, the transmit batch and timers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <fastrelay/error.h>

#include "../util/layout.h"
#include "quic_internal.h"

static const fr_layout callbacks_layouts[] = FR_LAYOUT_ONE(fr_quic_callbacks);
static const fr_layout settings_layouts[] = FR_LAYOUT_ONE(fr_quic_settings);

int fr_quic_settings_default_versioned(int version,
                                       fr_quic_settings *settings)
{
    fr_quic_settings d, *s = &d;

    memset(s, 0, sizeof(*s));
    s->crypto_mode = FR_CRYPTO_TLS;
    s->idle_timeout = 30 * FR_SECONDS;
    s->handshake_timeout = 10 * FR_SECONDS;
    s->max_data = 16 * 1024 * 1024;
    s->max_stream_data = 1024 * 1024;
    s->max_streams_bidi = 100;
    s->max_streams_uni = 1000;
    s->max_datagram_frame_size = 1200;
    s->max_udp_payload_size = 1452;
    s->cid_len = 8;
    s->max_send_buffer = 64 * 1024 * 1024;
    s->log.level = FR_LOG_NONE;
    s->keep_alive = 1;
    return fr_layout_copy(settings, s, FR_LAYOUTS(settings_layouts), version);
}

#undef fr_quic_settings_default
void fr_quic_settings_default(fr_quic_settings *settings)
{
    fr_quic_settings_default_versioned(1, settings);
}

int fr_quic_take_callbacks(fr_quic_callbacks *dst,
                           const fr_quic_callbacks *src, int version)
{
    memset(dst, 0, sizeof(*dst));
    return fr_layout_copy(dst, src, FR_LAYOUTS(callbacks_layouts), version);
}

int fr_quic_take_settings(fr_quic_settings *dst, const fr_quic_settings *src,
                          int version)
{
    fr_quic_settings_default(dst);
    return fr_layout_copy(dst, src, FR_LAYOUTS(settings_layouts), version);
}

int fr_quic_cleartext_alpn(char *buf, size_t buflen, const char *alpn)
{
    int n = snprintf(buf, buflen, "%s%s", alpn, FR_CLEARTEXT_ALPN_SUFFIX);

    return n < 0 || (size_t)n >= buflen ? FR_ERR_NOBUF : n;
}

/* Splits settings->alpn into ep->alpn and their wire forms. Returns 0 or
 * FR_ERR_INVALID_ARGUMENT (an empty or too long entry, too many). */
static int split_alpn(fr_quic_endpoint *ep, const fr_quic_settings *s)
{
    const char *p = s->alpn;

    if (!p || !*p)
        return FR_ERR_INVALID_ARGUMENT;
    for (;;) {
        size_t n = strcspn(p, ",");
        char *wire;

        if (n == 0 || n > FR_ALPN_MAX || ep->nalpn == FR_ALPN_LIST_MAX)
            return FR_ERR_INVALID_ARGUMENT;
        memcpy(ep->alpn[ep->nalpn], p, n);
        ep->alpn[ep->nalpn][n] = '\0';
        wire = ep->alpn_wire[ep->nalpn];
        if (s->crypto_mode == FR_CRYPTO_CLEARTEXT)
            fr_quic_cleartext_alpn(wire, sizeof(ep->alpn_wire[0]),
                                   ep->alpn[ep->nalpn]);
        else
            memcpy(wire, ep->alpn[ep->nalpn], n + 1);
        ep->nalpn++;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static int check_settings(const fr_quic_settings *s)
{
    if (!s->alpn || !*s->alpn ||
        strlen(s->alpn) >= FR_ALPN_LIST_MAX * (FR_ALPN_MAX + 1))
        return FR_ERR_INVALID_ARGUMENT;
    if (s->crypto_mode != FR_CRYPTO_TLS &&
        s->crypto_mode != FR_CRYPTO_CLEARTEXT)
        return FR_ERR_INVALID_ARGUMENT;
    if (s->cid_len < 4 || s->cid_len > FR_CID_MAX_LEN)
        return FR_ERR_INVALID_ARGUMENT;
    if (s->max_udp_payload_size < 1200 ||
        s->max_udp_payload_size > FR_MAX_UDP_PAYLOAD)
        return FR_ERR_INVALID_ARGUMENT;
    if (s->max_udp_payload_recv &&
        (s->max_udp_payload_recv < 1200 ||
         s->max_udp_payload_recv > FR_MAX_UDP_PAYLOAD))
        return FR_ERR_INVALID_ARGUMENT;
    if (s->accept_connections && !s->cert)
        return FR_ERR_INVALID_ARGUMENT;
    return 0;
}

int fr_quic_endpoint_new_versioned(fr_quic_endpoint **pep, int version,
                                   const fr_quic_callbacks *cbs,
                                   const fr_quic_settings *ss,
                                   void *user_data)
{
    fr_quic_callbacks cb;
    fr_quic_settings set;
    const fr_quic_callbacks *callbacks = &cb;
    const fr_quic_settings *settings = &set;
    fr_quic_endpoint *ep;
    int rv;

    if (!pep || !cbs || !ss || fr_quic_take_callbacks(&cb, cbs, version) ||
        fr_quic_take_settings(&set, ss, version) || !cb.send)
        return FR_ERR_INVALID_ARGUMENT;
    rv = check_settings(settings);
    if (rv)
        return rv;
    ep = calloc(1, sizeof(*ep));
    if (!ep)
        return FR_ERR_NOMEM;
    ep->cb = *callbacks;
    ep->settings = *settings;
    ep->user_data = user_data;
    ep->send_user_data = user_data;
    fr_hmap_init(&ep->cids);
    if (split_alpn(ep, settings) != 0) {
        free(ep);
        return FR_ERR_INVALID_ARGUMENT;
    }
    /* Keep copies of the strings the settings point to. */
    snprintf(ep->alpn_setting, sizeof(ep->alpn_setting), "%s",
             settings->alpn);
    ep->settings.alpn = ep->alpn_setting;
    ep->settings.ca_file = NULL;
    ep->settings.ca_pem = NULL;
    if (settings->ca_file) {
        ep->ca_file = strdup(settings->ca_file);
        ep->settings.ca_file = ep->ca_file;
    } else if (settings->ca_pem) {
        ep->ca_pem = malloc(settings->ca_pem_len);
        if (ep->ca_pem)
            memcpy(ep->ca_pem, settings->ca_pem, settings->ca_pem_len);
        ep->settings.ca_pem = ep->ca_pem;
    }
    if ((settings->ca_file && !ep->ca_file) ||
        (!settings->ca_file && settings->ca_pem && !ep->ca_pem) ||
        gnutls_rnd(GNUTLS_RND_RANDOM, ep->static_secret,
                   sizeof(ep->static_secret)) != 0) {
        fr_quic_endpoint_del(ep);
        return FR_ERR_NOMEM;
    }
    rv = fr_tls_client_cred_new(ep);
    if (rv) {
        fr_quic_endpoint_del(ep);
        return rv;
    }
    if (settings->crypto_mode == FR_CRYPTO_CLEARTEXT)
        FR_WARN(&ep->settings.log,
                "cleartext crypto mode: 1-RTT packets are NOT encrypted "
                "(ALPN %s%s)",
                ep->alpn_wire[0], ep->nalpn > 1 ? ", ..." : "");
    fr_keylog_open(ep);
    *pep = ep;
    return 0;
}

#undef fr_quic_endpoint_new
int fr_quic_endpoint_new(fr_quic_endpoint **pep,
                         const fr_quic_callbacks *callbacks,
                         const fr_quic_settings *settings, void *user_data)
{
    return fr_quic_endpoint_new_versioned(pep, 1, callbacks, settings,
                                          user_data);
}

void fr_quic_endpoint_del(fr_quic_endpoint *ep)
{
    if (!ep)
        return;
    while (ep->conns)
        fr_conn_free(ep->conns);
    fr_sched_free(ep);
    fr_hmap_free(&ep->cids);
    if (ep->client_cred)
        gnutls_certificate_free_credentials(ep->client_cred);
    free(ep->ca_file);
    free(ep->ca_pem);
    fr_keylog_close(ep);
    free(ep);
}

void *fr_quic_endpoint_get_user_data(const fr_quic_endpoint *ep)
{
    return ep->user_data;
}

fr_quic_conn *fr_quic_endpoint_next_conn(fr_quic_endpoint *ep,
                                         fr_quic_conn *prev)
{
    fr_quic_conn *c = prev ? prev->next : ep->conns;

    while (c && c->state == FR_CONN_DEAD)
        c = c->next;
    return c;
}

size_t fr_quic_endpoint_conn_count(const fr_quic_endpoint *ep)
{
    return ep->nconns;
}

uint64_t fr_quic_endpoint_refused_count(const fr_quic_endpoint *ep)
{
    return ep->refused;
}

int fr_ep_register_cid(fr_quic_endpoint *ep, const ngtcp2_cid *cid,
                       fr_quic_conn *c)
{
    return fr_hmap_insert(&ep->cids, cid->data, cid->datalen, c);
}

void fr_ep_unregister_cid(fr_quic_endpoint *ep, const ngtcp2_cid *cid)
{
    fr_hmap_remove(&ep->cids, cid->data, cid->datalen);
}

/* Transmit batch. */

static int path_eq(const fr_quic_path *a, const fr_quic_path *b)
{
    return a->local_len == b->local_len && a->remote_len == b->remote_len &&
           memcmp(&a->local, &b->local, a->local_len) == 0 &&
           memcmp(&a->remote, &b->remote, a->remote_len) == 0;
}

int fr_ep_tx_flush(fr_quic_endpoint *ep)
{
    int rv = 0;

    if (ep->ntx == 0)
        return 0;
    if (ep->cb.send(ep, &ep->txpath, ep->txv, ep->ntx, ep->send_user_data) < 0)
        rv = FR_ERR_SOCKET;
    ep->ntx = 0;
    return rv;
}

uint8_t *fr_ep_tx_slot(fr_quic_endpoint *ep)
{
    if (ep->ntx == FR_TX_BATCH)
        fr_ep_tx_flush(ep);
    return ep->txbuf[ep->ntx];
}

void fr_ep_tx_commit(fr_quic_endpoint *ep, const fr_quic_path *path,
                     size_t len)
{
    if (ep->ntx > 0 && !path_eq(&ep->txpath, path)) {
        /* A batch goes out on one path: send what is queued for the old
         * one and move this datagram to the front. */
        size_t i = ep->ntx;
        fr_ep_tx_flush(ep);
        memmove(ep->txbuf[0], ep->txbuf[i], len);
    }
    if (ep->ntx == 0)
        ep->txpath = *path;
    ep->txv[ep->ntx].iov_base = ep->txbuf[ep->ntx];
    ep->txv[ep->ntx].iov_len = len;
    ep->ntx++;
}

/* Receiving. */

static void send_version_negotiation(fr_quic_endpoint *ep,
                                     const fr_quic_path *path,
                                     const ngtcp2_version_cid *vc)
{
    uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
    uint8_t unused;
    uint8_t *buf = fr_ep_tx_slot(ep);
    ngtcp2_ssize n;

    if (gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1) != 0)
        unused = 0;
    n = ngtcp2_pkt_write_version_negotiation(
        buf, ep->settings.max_udp_payload_size, unused, vc->scid, vc->scidlen,
        vc->dcid, vc->dcidlen, versions, 1);
    if (n > 0)
        fr_ep_tx_commit(ep, path, (size_t)n);
}

/* At max_connections: answers the client's Initial with CONNECTION_REFUSED
 * and keeps no state, so a full server costs a refused client one round
 * trip and itself no handshake. */
static void refuse_conn(fr_quic_endpoint *ep, const fr_quic_path *path,
                        const ngtcp2_pkt_hd *hd)
{
    static const char reason[] = "server is at its connection limit";
    uint8_t *buf = fr_ep_tx_slot(ep);
    ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
        buf, ep->settings.max_udp_payload_size, hd->version, &hd->scid,
        &hd->dcid, NGTCP2_CONNECTION_REFUSED, (const uint8_t *)reason,
        sizeof(reason) - 1);

    if (n > 0)
        fr_ep_tx_commit(ep, path, (size_t)n);
    ep->refused++;
}

static int accept_conn(fr_quic_endpoint *ep, const fr_quic_path *path,
                       const uint8_t *data, size_t len, fr_tstamp now)
{
    ngtcp2_pkt_hd hd;
    fr_quic_conn *c;
    int rv;

    if (!ep->settings.accept_connections)
        return FR_ERR_PROTO;
    if (ngtcp2_accept(&hd, data, len) != 0)
        return FR_ERR_PROTO;
    if (ep->settings.max_connections &&
        ep->nconns >= ep->settings.max_connections) {
        refuse_conn(ep, path, &hd);
        return FR_ERR_LIMIT;
    }
    rv = fr_conn_new_server(&c, ep, path, &hd, now);
    if (rv) {
        FR_WARN(&ep->settings.log, "cannot accept a connection: %s",
                fr_strerror(rv));
        return rv;
    }
    c->app_visible = 1;
    if (ep->cb.accept && ep->cb.accept(c, ep->user_data) < 0) {
        c->app_visible = 0;
        fr_conn_free(c);
        return FR_ERR_CALLBACK_FAILURE;
    }
    return fr_conn_read(c, path, data, len, now);
}

fr_tstamp fr_quic_endpoint_now(const fr_quic_endpoint *ep)
{
    return ep->now;
}

fr_tstamp fr_ep_clock(fr_quic_endpoint *ep, fr_tstamp now)
{
    if (now > ep->now)
        ep->now = now;
    return ep->now;
}

int fr_quic_endpoint_recv(fr_quic_endpoint *ep, const fr_quic_path *path,
                          const uint8_t *data, size_t len, fr_tstamp now)
{
    ngtcp2_version_cid vc;
    fr_quic_conn *c;
    int rv;

    now = fr_ep_clock(ep, now);
    rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, ep->settings.cid_len);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
        if (ep->settings.accept_connections)
            send_version_negotiation(ep, path, &vc);
        return 0;
    }
    if (rv != 0)
        return FR_ERR_PROTO;
    c = fr_hmap_find(&ep->cids, vc.dcid, vc.dcidlen);
    if (c)
        return fr_conn_read(c, path, data, len, now);
    return accept_conn(ep, path, data, len, now);
}

int fr_quic_endpoint_flush(fr_quic_endpoint *ep, fr_tstamp now)
{
    fr_sched_flush(ep, fr_ep_clock(ep, now));
    return fr_ep_tx_flush(ep);
}

int fr_quic_endpoint_handle_expiry(fr_quic_endpoint *ep, fr_tstamp now)
{
    now = fr_ep_clock(ep, now);
    fr_sched_expire(ep, now);
    return fr_quic_endpoint_flush(ep, now);
}

fr_tstamp fr_quic_endpoint_next_expiry(const fr_quic_endpoint *ep)
{
    return fr_sched_next(ep);
}

int fr_quic_endpoint_connect(fr_quic_endpoint *ep, fr_quic_conn **pconn,
                             const fr_quic_path *path,
                             const char *server_name, void *conn_user_data,
                             fr_tstamp now)
{
    fr_quic_conn *c;
    int rv;

    if (!ep || !pconn || !path)
        return FR_ERR_INVALID_ARGUMENT;
    now = fr_ep_clock(ep, now);
    rv = fr_conn_new_client(&c, ep, path, server_name, now);
    if (rv)
        return rv;
    c->user_data = conn_user_data;
    if (ep->settings.insecure)
        FR_WARN(&ep->settings.log,
                "connecting to %s WITHOUT verifying its certificate "
                "(insecure)",
                server_name ? server_name : "(no name)");
    *pconn = c;
    return 0;
}
