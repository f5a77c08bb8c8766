/*
 * One QUIC connection over ngtcp2: creation, the ngtcp2 callbacks, reading,
 * timers and the close/drain life cycle. Streams and the write loop are in
 * stream.c.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "quic_internal.h"

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    return ((fr_quic_conn *)ref->user_data)->conn;
}

/* Marks the connection failed by an application callback. */
static int app_failed(fr_quic_conn *c)
{
    c->pending_error = FR_ERR_CALLBACK_FAILURE;
    return NGTCP2_ERR_CALLBACK_FAILURE;
}

static void notify_closed(fr_quic_conn *c)
{
    fr_quic_endpoint *ep = c->ep;

    if (c->closed_notified)
        return;
    c->closed_notified = 1;
    if (!c->close_info.message)
        c->close_info.message = "connection closed";
    FR_INFO(&ep->settings.log, "connection %p closed: %s", (void *)c,
            c->close_info.message);
    if (c->app_visible && ep->cb.closed)
        ep->cb.closed(c, &c->close_info, ep->user_data);
}

/* Records why the connection ends, from an ngtcp2 close error. */
static void set_close_info(fr_quic_conn *c, fr_close_reason reason,
                           const ngtcp2_ccerr *ccerr, const char *what)
{
    const char *hint = NULL;
    int n;

    c->close_info.reason = reason;
    c->close_info.app_error = ccerr->type == NGTCP2_CCERR_TYPE_APPLICATION;
    c->close_info.error_code = ccerr->error_code;
    if (!c->close_info.app_error)
        hint = fr_tls_alert_hint(ccerr->error_code);
    n = snprintf(c->close_msg, sizeof(c->close_msg), "%s (%s error 0x%llx",
                 what, c->close_info.app_error ? "application" : "transport",
                 (unsigned long long)ccerr->error_code);
    if (n > 0 && (size_t)n < sizeof(c->close_msg) && ccerr->reasonlen)
        n += snprintf(c->close_msg + n, sizeof(c->close_msg) - (size_t)n,
                      ", reason \"%.*s\"", (int)ccerr->reasonlen,
                      (const char *)ccerr->reason);
    if (n > 0 && (size_t)n < sizeof(c->close_msg))
        snprintf(c->close_msg + n, sizeof(c->close_msg) - (size_t)n, ")%s%s",
                 hint ? ": " : "", hint ? hint : "");
    c->close_info.message = c->close_msg;
}

static void enter_dead(fr_quic_conn *c, fr_close_reason reason,
                       const char *msg)
{
    if (!c->close_info.message) {
        c->close_info.reason = reason;
        snprintf(c->close_msg, sizeof(c->close_msg), "%s", msg);
        c->close_info.message = c->close_msg;
    }
    c->state = FR_CONN_DEAD;
    fr_conn_want_write(c); /* to be freed at the next flush */
    notify_closed(c);
}

/* Sends CONNECTION_CLOSE with `ccerr` and starts the closing period. */
static void start_closing(fr_quic_conn *c, const ngtcp2_ccerr *ccerr,
                          fr_close_reason reason, const char *what,
                          fr_tstamp now)
{
    fr_quic_endpoint *ep = c->ep;
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    uint8_t *buf;
    ngtcp2_ssize n;

    if (c->state != FR_CONN_ACTIVE)
        return;
    if (!c->close_info.message)
        set_close_info(c, reason, ccerr, what);
    if (ngtcp2_conn_in_closing_period(c->conn) ||
        ngtcp2_conn_in_draining_period(c->conn)) {
        enter_dead(c, reason, what);
        return;
    }
    ngtcp2_path_storage_zero(&ps);
    buf = fr_ep_tx_slot(ep);
    n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, buf,
                                           fr_conn_pkt_size(c), ccerr, now);
    if (n <= 0) {
        /* Nothing can be sent (for example before any key exists). */
        enter_dead(c, reason, what);
        return;
    }
    if (c->ext)
        n = (ngtcp2_ssize)c->hooks->tx(c->ext, buf, (size_t)n, 0);
    if (c->wp && fr_wp_seal(c, buf, (size_t)n)) {
        enter_dead(c, reason, what);
        return;
    }
    c->close_pkt = malloc((size_t)n);
    if (c->close_pkt) {
        memcpy(c->close_pkt, buf, (size_t)n);
        c->close_pktlen = (size_t)n;
    }
    fr_ep_tx_commit(ep, &c->path, (size_t)n);
    c->stats.pkts_sent++;
    c->stats.bytes_sent += (uint64_t)n;
    c->state = FR_CONN_CLOSING;
    c->close_deadline = now + 3 * ngtcp2_conn_get_pto(c->conn);
    fr_conn_want_write(c); /* its timer is the closing period's now */
    notify_closed(c);
}

void fr_conn_fail(fr_quic_conn *c, int liberr, fr_tstamp now)
{
    ngtcp2_ccerr ccerr;
    fr_close_reason reason =
        c->handshake_completed ? FR_CLOSE_ERROR : FR_CLOSE_HANDSHAKE_FAILED;
    const char *what = "closed on local error";

    ngtcp2_ccerr_default(&ccerr);
    if (liberr == NGTCP2_ERR_CRYPTO) {
        ngtcp2_ccerr_set_tls_alert(&ccerr, ngtcp2_conn_get_tls_alert(c->conn),
                                   NULL, 0);
        what = "TLS handshake failed";
    } else if (liberr == NGTCP2_ERR_CALLBACK_FAILURE &&
               c->pending_error == FR_ERR_TLS) {
        /* The server chose an ALPN we did not offer. */
        ngtcp2_ccerr_set_tls_alert(&ccerr, GNUTLS_A_NO_APPLICATION_PROTOCOL,
                                   NULL, 0);
        what = "peer selected an unexpected ALPN";
    } else if (liberr == NGTCP2_ERR_CALLBACK_FAILURE && c->pending_error) {
        what = fr_strerror(c->pending_error);
        ngtcp2_ccerr_set_liberr(&ccerr, liberr, (const uint8_t *)what,
                                strlen(what));
    } else {
        ngtcp2_ccerr_set_liberr(&ccerr, liberr, NULL, 0);
        what = ngtcp2_strerror(liberr);
    }
    start_closing(c, &ccerr, reason, what, now);
}

/* ngtcp2 callbacks. */

static int rand_cb_bytes(uint8_t *dest, size_t len)
{
    return gnutls_rnd(GNUTLS_RND_NONCE, dest, len);
}

static void rand_cb(uint8_t *dest, size_t destlen,
                    const ngtcp2_rand_ctx *rand_ctx)
{
    (void)rand_ctx;
    if (rand_cb_bytes(dest, destlen) != 0)
        memset(dest, 0, destlen);
}

static int make_cid(fr_quic_conn *c, ngtcp2_cid *cid, size_t len)
{
    fr_quic_endpoint *ep = c->ep;

    cid->datalen = len;
    if (ep->cb.generate_cid)
        return ep->cb.generate_cid(c, cid->data, len, ep->user_data) < 0
                   ? FR_ERR_CALLBACK_FAILURE
                   : 0;
    return rand_cb_bytes(cid->data, len) == 0 ? 0 : FR_ERR_INTERNAL;
}

/* Registers one of our CIDs with the endpoint and tells the application. */
static int add_scid(fr_quic_conn *c, const ngtcp2_cid *cid)
{
    fr_quic_endpoint *ep = c->ep;
    int rv;

    if (c->nscids == sizeof(c->scids) / sizeof(c->scids[0]))
        return FR_ERR_INTERNAL;
    rv = fr_ep_register_cid(ep, cid, c);
    if (rv)
        return rv;
    c->scids[c->nscids++] = *cid;
    c->cid_gen++;
    if (ep->cb.cid_changed)
        ep->cb.cid_changed(c, FR_CID_LOCAL_ISSUED, cid->data, cid->datalen,
                           ep->user_data);
    return 0;
}

static int get_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                          size_t cidlen, void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    /* Retry a few times should the hook or chance produce a CID in use. */
    for (int tries = 0; tries < 8; tries++) {
        int rv = make_cid(c, cid, cidlen);
        if (rv == FR_ERR_CALLBACK_FAILURE)
            return app_failed(c);
        if (rv)
            return NGTCP2_ERR_CALLBACK_FAILURE;
        if (fr_hmap_find(&ep->cids, cid->data, cid->datalen))
            continue;
        if (ngtcp2_crypto_generate_stateless_reset_token(
                token, ep->static_secret, sizeof(ep->static_secret), cid) !=
                0 ||
            add_scid(c, cid) != 0)
            return NGTCP2_ERR_CALLBACK_FAILURE;
        return 0;
    }
    return NGTCP2_ERR_CALLBACK_FAILURE;
}

static int remove_cid_cb(ngtcp2_conn *conn, const ngtcp2_cid *cid,
                         void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    for (size_t i = 0; i < c->nscids; i++) {
        if (ngtcp2_cid_eq(&c->scids[i], cid)) {
            fr_ep_unregister_cid(ep, cid);
            c->scids[i] = c->scids[--c->nscids];
            c->cid_gen++;
            if (ep->cb.cid_changed)
                ep->cb.cid_changed(c, FR_CID_LOCAL_RETIRED, cid->data,
                                   cid->datalen, ep->user_data);
            break;
        }
    }
    return 0;
}

static int dcid_status_cb(ngtcp2_conn *conn,
                          ngtcp2_connection_id_status_type type, uint64_t seq,
                          const ngtcp2_cid *cid, const uint8_t *token,
                          void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    (void)seq;
    (void)token;
    if (ep->cb.cid_changed)
        ep->cb.cid_changed(c,
                           type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE
                               ? FR_CID_REMOTE_ACTIVATED
                               : FR_CID_REMOTE_DEACTIVATED,
                           cid->data, cid->datalen, ep->user_data);
    return 0;
}

/* A client's keep-alive: a PING after half the idle timeout that
 * applies, the shorter of ours and the peer's (RFC 9000 section 10.1),
 * once the peer's is known; until then, half ours. */
static void keep_alive_set(fr_quic_conn *c)
{
    const fr_quic_settings *st = &c->ep->settings;
    const ngtcp2_transport_params *peer;
    uint64_t idle = st->idle_timeout;

    if (c->is_server || !st->keep_alive || !idle)
        return;
    peer = c->handshake_completed
               ? ngtcp2_conn_get_remote_transport_params(c->conn)
               : NULL;
    if (peer && peer->max_idle_timeout && peer->max_idle_timeout < idle)
        idle = peer->max_idle_timeout;
    ngtcp2_conn_set_keep_alive_timeout(c->conn, idle / 2);
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    if (fr_tls_check_alpn(c) != 0) {
        c->pending_error = FR_ERR_TLS;
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    c->handshake_completed = 1;
    keep_alive_set(c);
    if (ep->settings.crypto_mode == FR_CRYPTO_CLEARTEXT)
        FR_WARN(&ep->settings.log,
                "connection %p uses CLEARTEXT 1-RTT packets: payloads are "
                "readable and forgeable on the wire",
                (void *)c);
    if (ep->settings.insecure && !c->is_server)
        FR_WARN(&ep->settings.log,
                "connection %p: server certificate NOT verified (insecure)",
                (void *)c);
    if (ep->cb.handshake_completed &&
        ep->cb.handshake_completed(c, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags,
                               int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t datalen,
                               void *user_data, void *stream_user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;
    int fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;

    (void)offset;
    (void)stream_user_data;
    c->stats.stream_bytes_recv += datalen;
    if (ep->cb.stream_data &&
        ep->cb.stream_data(c, stream_id, data, datalen, fin, ep->user_data) <
            0)
        return app_failed(c);
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen);
    ngtcp2_conn_extend_max_offset(conn, datalen);
    return 0;
}

static int stream_open_cb(ngtcp2_conn *conn, int64_t stream_id,
                          void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    if (fr_stream_peer_opened(c, stream_id) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (ep->cb.stream_open &&
        ep->cb.stream_open(c, stream_id, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int is_local_stream(const fr_quic_conn *c, int64_t stream_id)
{
    /* Bit 0 of a stream ID is set for server-initiated streams. */
    return (int)(stream_id & 1) == (c->is_server ? 1 : 0);
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags,
                           int64_t stream_id, uint64_t app_error_code,
                           void *user_data, void *stream_user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)flags;
    (void)app_error_code;
    (void)stream_user_data;
    fr_stream_forget(c, stream_id);
    if (!is_local_stream(c, stream_id)) {
        /* Give the peer back the credit for one more stream. */
        if (stream_id & 2)
            ngtcp2_conn_extend_max_streams_uni(conn, 1);
        else
            ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    }
    if (ep->cb.stream_close &&
        ep->cb.stream_close(c, stream_id, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int stream_reset_cb(ngtcp2_conn *conn, int64_t stream_id,
                           uint64_t final_size, uint64_t app_error_code,
                           void *user_data, void *stream_user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    (void)final_size;
    (void)stream_user_data;
    if (ep->cb.stream_reset &&
        ep->cb.stream_reset(c, stream_id, app_error_code, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int stream_stop_sending_cb(ngtcp2_conn *conn, int64_t stream_id,
                                  uint64_t app_error_code, void *user_data,
                                  void *stream_user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    (void)stream_user_data;
    /* ngtcp2 answers STOP_SENDING with RESET_STREAM itself; stop queuing. */
    fr_stream_abandon(c, stream_id);
    if (ep->cb.stream_stop_sending &&
        ep->cb.stream_stop_sending(c, stream_id, app_error_code,
                                   ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int acked_stream_data_cb(ngtcp2_conn *conn, int64_t stream_id,
                                uint64_t offset, uint64_t datalen,
                                void *user_data, void *stream_user_data)
{
    fr_quic_conn *c = user_data;

    (void)conn;
    (void)stream_user_data;
    c->stats.stream_bytes_acked += datalen;
    fr_stream_acked(c, stream_id, offset + datalen);
    return 0;
}

static int extend_max_local_streams_cb(ngtcp2_conn *conn,
                                       uint64_t max_streams, void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    (void)max_streams;
    if (ep->cb.streams_available &&
        ep->cb.streams_available(c, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

static int extend_max_stream_data_cb(ngtcp2_conn *conn, int64_t stream_id,
                                     uint64_t max_data, void *user_data,
                                     void *stream_user_data)
{
    fr_quic_conn *c = user_data;

    (void)conn;
    (void)stream_user_data;
    if (c->ext)
        c->hooks->credit(c->ext, stream_id, max_data);
    fr_stream_unblock(c, stream_id);
    return 0;
}

static int recv_datagram_cb(ngtcp2_conn *conn, uint32_t flags,
                            const uint8_t *data, size_t datalen,
                            void *user_data)
{
    fr_quic_conn *c = user_data;
    fr_quic_endpoint *ep = c->ep;

    (void)conn;
    (void)flags;
    c->stats.datagrams_recv++;
    if (ep->cb.datagram &&
        ep->cb.datagram(c, data, datalen, ep->user_data) < 0)
        return app_failed(c);
    return 0;
}

/* Whether a qlog event is a declared loss. ngtcp2 (ngtcp2_qlog.c) starts
 * every event with its time and then its name: only the name is looked
 * at (most events are whole packets with every frame; scanning them cost
 * more than formatting them). */
static int qlog_is_loss(const char *d, size_t len)
{
    static const char name[] = ",\"name\":\"recovery:packet_lost\"";
    const char *comma = memchr(d, ',', len);

    return comma && (size_t)(d + len - comma) >= sizeof(name) - 1 &&
           memcmp(comma, name, sizeof(name) - 1) == 0;
}

/* ngtcp2 reports declared losses only through qlog; count them there. */
static void qlog_cb(void *user_data, uint32_t flags, const void *data,
                    size_t datalen)
{
    fr_quic_conn *c = user_data;

    (void)flags;
    if (qlog_is_loss(data, datalen)) {
        c->stats.pkts_lost++;
        if (c->ext) {
            static const char pn[] = "\"packet_number\":";
            const char *at = memmem(data, datalen, pn, sizeof(pn) - 1);

            c->ep->hooked_lost++;
            if (at)
                c->hooks->lost(c->ext,
                               strtoull(at + sizeof(pn) - 1, NULL, 10));
        }
    }
}

static void ngtcp2_log_cb(void *user_data, const char *fmt, ...)
{
    fr_quic_conn *c = user_data;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    FR_DEBUG(&c->ep->settings.log, "ngtcp2: %s", msg);
}

static void fill_callbacks(ngtcp2_callbacks *cb, const fr_quic_endpoint *ep,
                           int is_server)
{
    memset(cb, 0, sizeof(*cb));
    if (is_server) {
        cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
        cb->client_initial = ngtcp2_crypto_client_initial_cb;
        cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    if (ep->settings.crypto_mode == FR_CRYPTO_CLEARTEXT)
        fr_cleartext_set_callbacks(cb);
    else if (fr_wp_wanted(ep, is_server))
        fr_wp_set_callbacks(cb);
    else if (fr_rx_keys_wanted(ep, is_server))
        fr_rx_keys_set_callbacks(cb);
    cb->rand = rand_cb;
    cb->get_new_connection_id = get_new_cid_cb;
    cb->remove_connection_id = remove_cid_cb;
    cb->dcid_status = dcid_status_cb;
    cb->handshake_completed = handshake_completed_cb;
    cb->recv_stream_data = recv_stream_data_cb;
    cb->stream_open = stream_open_cb;
    cb->stream_close = stream_close_cb;
    cb->stream_reset = stream_reset_cb;
    cb->stream_stop_sending = stream_stop_sending_cb;
    cb->acked_stream_data_offset = acked_stream_data_cb;
    cb->extend_max_local_streams_bidi = extend_max_local_streams_cb;
    cb->extend_max_local_streams_uni = extend_max_local_streams_cb;
    cb->extend_max_stream_data = extend_max_stream_data_cb;
    cb->recv_datagram = recv_datagram_cb;
}

static void fill_settings(ngtcp2_settings *ns, ngtcp2_transport_params *tp,
                          fr_quic_conn *c, fr_tstamp now)
{
    const fr_quic_settings *s = &c->ep->settings;

    ngtcp2_settings_default(ns);
    ns->initial_ts = now;
    ns->max_tx_udp_payload_size = fr_conn_pkt_size(c);
    ns->handshake_timeout = s->handshake_timeout;
    ns->qlog_write = qlog_cb;
    if (fr_log_enabled(&s->log, FR_LOG_DEBUG))
        ns->log_printf = ngtcp2_log_cb;

    ngtcp2_transport_params_default(tp);
    tp->initial_max_data = s->max_data;
    tp->initial_max_stream_data_bidi_local = s->max_stream_data;
    tp->initial_max_stream_data_bidi_remote = s->max_stream_data;
    tp->initial_max_stream_data_uni = s->max_stream_data;
    tp->initial_max_streams_bidi = s->max_streams_bidi;
    tp->initial_max_streams_uni = s->max_streams_uni;
    tp->max_idle_timeout = s->idle_timeout;
    tp->max_datagram_frame_size = s->max_datagram_frame_size;
    tp->active_connection_id_limit = 4;
    if (s->max_udp_payload_recv)
        tp->max_udp_payload_size = s->max_udp_payload_recv;
    if (c->ext)
        c->hooks->settings(c->ext, ns, tp);
}

static fr_quic_conn *conn_alloc(fr_quic_endpoint *ep, const fr_quic_path *path,
                                int is_server)
{
    fr_quic_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->ep = ep;
    c->is_server = is_server;
    c->alpn_index = -1;
    c->path = *path;
    c->conn_ref.get_conn = get_conn;
    c->conn_ref.user_data = c;
    fr_hmap_init(&c->streams);
    return c;
}

static void to_ngtcp2_path(ngtcp2_path *np, fr_quic_path *p)
{
    np->local.addr = (ngtcp2_sockaddr *)&p->local;
    np->local.addrlen = p->local_len;
    np->remote.addr = (ngtcp2_sockaddr *)&p->remote;
    np->remote.addrlen = p->remote_len;
    np->user_data = NULL;
}

void fr_path_from_ngtcp2(fr_quic_path *p, const ngtcp2_path *np)
{
    memcpy(&p->local, np->local.addr, np->local.addrlen);
    p->local_len = (socklen_t)np->local.addrlen;
    memcpy(&p->remote, np->remote.addr, np->remote.addrlen);
    p->remote_len = (socklen_t)np->remote.addrlen;
}

/* A server's connection moves when its client migrates or a NAT rebinds
 * it: keep c->path the one ngtcp2 sends on. */
static void follow_path(fr_quic_conn *c)
{
    const ngtcp2_path *np = ngtcp2_conn_get_path(c->conn);

    if (np->remote.addrlen != c->path.remote_len ||
        memcmp(np->remote.addr, &c->path.remote, np->remote.addrlen) != 0 ||
        np->local.addrlen != c->path.local_len ||
        memcmp(np->local.addr, &c->path.local, np->local.addrlen) != 0)
        fr_path_from_ngtcp2(&c->path, np);
}

/* Links a new connection into the endpoint and starts its TLS session. */
static int conn_start(fr_quic_conn *c, const char *server_name)
{
    fr_quic_endpoint *ep = c->ep;
    int rv = fr_tls_session_new(c, server_name);

    if (rv)
        return rv;
    ngtcp2_conn_set_tls_native_handle(c->conn, c->session);
    c->next = ep->conns;
    if (ep->conns)
        ep->conns->prev = c;
    ep->conns = c;
    ep->nconns++;
    fr_conn_want_write(c);
    return 0;
}

int fr_conn_new_client(fr_quic_conn **pc, fr_quic_endpoint *ep,
                       const fr_quic_path *path, const char *server_name,
                       fr_tstamp now)
{
    fr_quic_conn *c = conn_alloc(ep, path, 0);
    ngtcp2_callbacks cb;
    ngtcp2_settings ns;
    ngtcp2_transport_params tp;
    ngtcp2_cid dcid, scid;
    ngtcp2_path np;
    int rv;

    if (!c)
        return FR_ERR_NOMEM;
    fill_callbacks(&cb, ep, 0);
    fill_settings(&ns, &tp, c, now);
    to_ngtcp2_path(&np, &c->path);
    dcid.datalen = NGTCP2_MAX_CIDLEN;
    rv = rand_cb_bytes(dcid.data, dcid.datalen) ? FR_ERR_INTERNAL
                                                : make_cid(c, &scid,
                                                           ep->settings.cid_len);
    if (rv)
        goto fail;
    if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &np,
                               NGTCP2_PROTO_VER_V1, &cb, &ns, &tp, NULL,
                               c) != 0) {
        rv = FR_ERR_NOMEM;
        goto fail;
    }
    keep_alive_set(c);
    rv = add_scid(c, &scid);
    if (rv)
        goto fail;
    rv = conn_start(c, server_name);
    if (rv)
        goto fail;
    c->app_visible = 1;
    *pc = c;
    return 0;

fail:
    for (size_t i = 0; i < c->nscids; i++)
        fr_ep_unregister_cid(ep, &c->scids[i]);
    if (c->conn)
        ngtcp2_conn_del(c->conn);
    free(c);
    return rv;
}

int fr_conn_new_server(fr_quic_conn **pc, fr_quic_endpoint *ep,
                       const fr_quic_path *path, const ngtcp2_pkt_hd *hd,
                       fr_tstamp now)
{
    fr_quic_conn *c = conn_alloc(ep, path, 1);
    ngtcp2_callbacks cb;
    ngtcp2_settings ns;
    ngtcp2_transport_params tp;
    ngtcp2_cid scid;
    ngtcp2_path np;
    int rv;

    if (!c)
        return FR_ERR_NOMEM;
    if (ep->hooks) {
        c->hooks = ep->hooks;
        c->ext = c->hooks->attach(c);
        if (!c->ext) {
            free(c);
            return FR_ERR_NOMEM;
        }
    }
    fill_callbacks(&cb, ep, 1);
    fill_settings(&ns, &tp, c, now);
    to_ngtcp2_path(&np, &c->path);
    tp.original_dcid = hd->dcid;
    tp.original_dcid_present = 1;
    rv = make_cid(c, &scid, ep->settings.cid_len);
    if (rv || fr_hmap_find(&ep->cids, scid.data, scid.datalen)) {
        rv = rv ? rv : FR_ERR_INTERNAL;
        goto fail;
    }
    if (ngtcp2_crypto_generate_stateless_reset_token(
            tp.stateless_reset_token, ep->static_secret,
            sizeof(ep->static_secret), &scid) != 0) {
        rv = FR_ERR_INTERNAL;
        goto fail;
    }
    tp.stateless_reset_token_present = 1;
    if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &np, hd->version,
                               &cb, &ns, &tp, NULL, c) != 0) {
        rv = FR_ERR_NOMEM;
        goto fail;
    }
    rv = add_scid(c, &scid);
    if (rv)
        goto fail;
    /* The client addresses its first packets to the CID it chose. */
    rv = fr_ep_register_cid(ep, &hd->dcid, c);
    if (rv)
        goto fail;
    c->odcid = hd->dcid;
    c->odcid_registered = 1;
    rv = conn_start(c, NULL);
    if (rv)
        goto fail;
    *pc = c;
    return 0;

fail:
    if (c->odcid_registered)
        fr_ep_unregister_cid(ep, &c->odcid);
    for (size_t i = 0; i < c->nscids; i++)
        fr_ep_unregister_cid(ep, &c->scids[i]);
    if (c->conn)
        ngtcp2_conn_del(c->conn);
    if (c->ext)
        c->hooks->detach(c->ext);
    free(c);
    return rv;
}

void fr_conn_free(fr_quic_conn *c)
{
    fr_quic_endpoint *ep = c->ep;

    if (c->prev)
        c->prev->next = c->next;
    else
        ep->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ep->nconns--;
    fr_sched_forget(c);
    for (size_t i = 0; i < c->nscids; i++)
        fr_ep_unregister_cid(ep, &c->scids[i]);
    if (c->odcid_registered)
        fr_ep_unregister_cid(ep, &c->odcid);
    fr_streams_free(c);
    if (c->ext)
        c->hooks->detach(c->ext);
    ngtcp2_conn_del(c->conn);
    fr_wp_free(c);
    fr_rx_keys_free(c);
    gnutls_deinit(c->session);
    free(c->close_pkt);
    free(c);
}

static int conn_read(fr_quic_conn *c, const fr_quic_path *path,
                     const uint8_t *data, size_t len, fr_tstamp now)
{
    ngtcp2_path np;
    fr_quic_path p = *path;
    ngtcp2_pkt_info pi = {0};
    int rv;

    if (c->state == FR_CONN_DEAD || c->state == FR_CONN_DRAINING)
        return 0;
    if (c->state == FR_CONN_CLOSING) {
        /* Answer anything the peer sends with our CONNECTION_CLOSE. */
        if (c->close_pkt) {
            uint8_t *buf = fr_ep_tx_slot(c->ep);
            memcpy(buf, c->close_pkt, c->close_pktlen);
            fr_ep_tx_commit(c->ep, &c->path, c->close_pktlen);
        }
        return 0;
    }
    c->stats.pkts_recv++;
    c->stats.bytes_recv += len;
    to_ngtcp2_path(&np, &p);
    if (c->ext) {
        const uint8_t *rewritten;
        ssize_t n;

        c->hooks->before(c->ext, now);
        n = c->hooks->rx(c->ext, data, len, now, &rewritten);
        if (n < 0)
            return 0;
        if (n > 0) {
            data = rewritten;
            len = (size_t)n;
        }
    }
    fr_rx_keys_reading(c);
    rv = ngtcp2_conn_read_pkt(c->conn, &np, &pi, data, len, now);
    fr_rx_keys_reading(NULL);
    if (c->is_server)
        follow_path(c);
    if (c->ext)
        /* An ACK may have opened the window: the layer need not wait for
         * the next write. */
        c->hooks->after(c->ext);
    if (rv == 0)
        return 0;
    switch (rv) {
    case NGTCP2_ERR_DRAINING: {
        const ngtcp2_ccerr *ccerr = ngtcp2_conn_get_ccerr(c->conn);
        set_close_info(c,
                       c->handshake_completed ? FR_CLOSE_PEER
                                              : FR_CLOSE_HANDSHAKE_FAILED,
                       ccerr, "closed by peer");
        c->state = FR_CONN_DRAINING;
        c->close_deadline = now + 3 * ngtcp2_conn_get_pto(c->conn);
        fr_conn_want_write(c);
        notify_closed(c);
        return 0;
    }
    case NGTCP2_ERR_DROP_CONN:
        enter_dead(c, FR_CLOSE_ERROR, "connection dropped");
        return 0;
    case NGTCP2_ERR_DISCARD_PKT:
        return 0;
    default:
        fr_conn_fail(c, rv, now);
        return 0;
    }
}

/* Hands ngtcp2 the datagrams the hooks held that are due by `due_by`. */
static void read_held(fr_quic_conn *c, fr_tstamp due_by, fr_tstamp now)
{
    uint8_t buf[FR_MAX_UDP_PAYLOAD];
    fr_quic_path p;
    size_t n;

    while (c->state == FR_CONN_ACTIVE &&
           (n = c->hooks->release(c->ext, due_by, &p, buf)) > 0)
        conn_read(c, &p, buf, n, now);
}

int fr_conn_read(fr_quic_conn *c, const fr_quic_path *path,
                 const uint8_t *data, size_t len, fr_tstamp now)
{
    const uint8_t *opened;
    size_t n;

    fr_conn_want_write(c);
    if (c->wp && (n = fr_wp_open(c, data, len, &opened)) > 0) {
        data = opened;
        len = n;
    }
    if (c->ext && c->state == FR_CONN_ACTIVE) {
        read_held(c, now, now);
        if (c->state == FR_CONN_ACTIVE &&
            c->hooks->hold(c->ext, path, data, len, now))
            return 0;
        /* Not held (no room, or not a 1-RTT packet): the datagrams held
         * before it go first, due or not, so ngtcp2 reads them in order. */
        read_held(c, FR_TSTAMP_MAX, now);
    }
    return conn_read(c, path, data, len, now);
}

int fr_conn_handle_expiry(fr_quic_conn *c, fr_tstamp now)
{
    int rv;

    switch (c->state) {
    case FR_CONN_CLOSING:
    case FR_CONN_DRAINING:
        if (now >= c->close_deadline)
            c->state = FR_CONN_DEAD;
        return 0;
    case FR_CONN_DEAD:
        return 0;
    case FR_CONN_ACTIVE:
        break;
    }
    if (c->ext) {
        read_held(c, now, now);
        /* The layer's timer (a held datagram due), not ngtcp2's: nothing
         * more to do here (the flush that follows writes the
         * connection); probes are for ngtcp2's own timeouts. */
        if (c->state != FR_CONN_ACTIVE ||
            ngtcp2_conn_get_expiry(c->conn) > now)
            return 0;
        c->hooks->before(c->ext, now);
    }
    rv = ngtcp2_conn_handle_expiry(c->conn, now);
    if (c->ext) {
        /* A PTO's probes must reach the peer: on a spliced connection
         * the next write loop would first register kernel packets, and a
         * registration is an ngtcp2 packet kept off the wire, so the
         * probes would go there. With ngtcp2's own packets lost at the
         * tail and the congestion window full, nothing else would ever
         * elicit an ACK. */
        if (rv == 0 && fr_conn_write_probes(c, now) != 0)
            return 0;
        c->hooks->after(c->ext);
    }
    if (rv == 0)
        return 0;
    if (rv == NGTCP2_ERR_IDLE_CLOSE)
        enter_dead(c, FR_CLOSE_IDLE, "idle timeout");
    else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT)
        enter_dead(c, FR_CLOSE_HANDSHAKE_FAILED,
                   "handshake timed out: no answer from the peer");
    else
        fr_conn_fail(c, rv, now);
    return 0;
}

fr_tstamp fr_conn_expiry(const fr_quic_conn *c)
{
    switch (c->state) {
    case FR_CONN_CLOSING:
    case FR_CONN_DRAINING:
        return c->close_deadline;
    case FR_CONN_DEAD:
        return 0;
    default: {
        fr_tstamp e = ngtcp2_conn_get_expiry(c->conn);

        if (c->ext && c->hooks->expiry(c->ext) < e)
            e = c->hooks->expiry(c->ext);
        return e;
    }
    }
}

/* Public accessors and close. */

fr_quic_endpoint *fr_quic_conn_get_endpoint(const fr_quic_conn *c)
{
    return c->ep;
}

void *fr_quic_conn_get_user_data(const fr_quic_conn *conn)
{
    return conn->user_data;
}

void fr_quic_conn_set_user_data(fr_quic_conn *conn, void *ud)
{
    conn->user_data = ud;
}

int fr_quic_conn_is_server(const fr_quic_conn *conn)
{
    return conn->is_server;
}

int fr_quic_conn_is_handshake_completed(const fr_quic_conn *conn)
{
    return conn->handshake_completed;
}

const fr_quic_path *fr_quic_conn_get_path(const fr_quic_conn *conn)
{
    return &conn->path;
}

int fr_quic_conn_update_key(fr_quic_conn *c, fr_tstamp now)
{
    if (!c)
        return FR_ERR_INVALID_ARGUMENT;
    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    fr_conn_want_write(c);
    switch (ngtcp2_conn_initiate_key_update(c->conn, fr_ep_clock(c->ep, now))) {
    case 0:
        return 0;
    case NGTCP2_ERR_INVALID_STATE:
        return FR_ERR_INVALID_STATE;
    default:
        return FR_ERR_INTERNAL;
    }
}

int fr_quic_conn_migrate(fr_quic_conn *c, const struct sockaddr *local,
                         socklen_t local_len, fr_tstamp now)
{
    fr_quic_path p;
    ngtcp2_path np;
    int rv;

    if (!c || !local || local_len > sizeof(p.local) ||
        local->sa_family != c->path.local.ss_family)
        return FR_ERR_INVALID_ARGUMENT;
    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    if (c->is_server || !c->handshake_completed)
        return FR_ERR_INVALID_STATE;
    p = c->path;
    memcpy(&p.local, local, local_len);
    p.local_len = local_len;
    to_ngtcp2_path(&np, &p);
    fr_conn_want_write(c);
    rv = ngtcp2_conn_initiate_immediate_migration(c->conn, &np,
                                                  fr_ep_clock(c->ep, now));
    switch (rv) {
    case 0:
        c->path = p;
        return 0;
    case NGTCP2_ERR_CONN_ID_BLOCKED:
        return FR_ERR_LIMIT; /* the peer gave us no spare CID */
    case NGTCP2_ERR_INVALID_STATE:
        /* The handshake is not confirmed yet, or the peer disabled
         * migration. */
        return FR_ERR_INVALID_STATE;
    case NGTCP2_ERR_INVALID_ARGUMENT:
        return FR_ERR_INVALID_ARGUMENT; /* the current local address */
    case NGTCP2_ERR_NOMEM:
        return FR_ERR_NOMEM;
    default:
        return FR_ERR_INTERNAL;
    }
}

fr_crypto_mode fr_quic_conn_get_crypto_mode(const fr_quic_conn *c)
{
    return c->ep->settings.crypto_mode;
}

const char *fr_quic_conn_get_alpn(const fr_quic_conn *c)
{
    return c->alpn_index < 0 ? NULL : c->ep->alpn[c->alpn_index];
}

int fr_quic_conn_close(fr_quic_conn *c, uint64_t app_error_code,
                       const char *reason)
{
    ngtcp2_ccerr ccerr;
    size_t rlen = reason ? strlen(reason) : 0;

    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    ngtcp2_ccerr_default(&ccerr);
    ngtcp2_ccerr_set_application_error(&ccerr, app_error_code,
                                       (const uint8_t *)reason, rlen);
    start_closing(c, &ccerr, FR_CLOSE_LOCAL, "closed locally", c->ep->now);
    return 0;
}

void fr_quic_conn_get_stats(const fr_quic_conn *c, fr_quic_conn_stats *stats)
{
    ngtcp2_conn_info ci;

    *stats = c->stats;
    ngtcp2_conn_get_conn_info(c->conn, &ci);
    stats->smoothed_rtt = ci.smoothed_rtt;
    stats->min_rtt = ci.min_rtt;
    stats->latest_rtt = ci.latest_rtt;
    stats->cwnd = ci.cwnd;
    stats->bytes_in_flight = ci.bytes_in_flight;
}

size_t fr_quic_conn_get_local_cid(const fr_quic_conn *c,
                                  uint8_t cid[FR_CID_MAX_LEN])
{
    if (c->nscids == 0)
        return 0;
    memcpy(cid, c->scids[0].data, c->scids[0].datalen);
    return c->scids[0].datalen;
}

size_t fr_quic_conn_get_remote_cid(const fr_quic_conn *c,
                                   uint8_t cid[FR_CID_MAX_LEN])
{
    const ngtcp2_cid *dcid = ngtcp2_conn_get_dcid(c->conn);

    memcpy(cid, dcid->data, dcid->datalen);
    return dcid->datalen;
}
