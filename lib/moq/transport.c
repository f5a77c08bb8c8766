/*
 * What a MoQT session runs over: raw QUIC (ALPN "moqt-NN") or a
 * WebTransport session over HTTP/3 (ALPN "h3", lib/wt). Either way its
 * streams are QUIC streams under their QUIC IDs; over WebTransport, lib/wt
 * writes the header in front of each stream the session opens, takes it
 * off the peer's, and maps stream error codes.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "session_internal.h"

#define ALPN_H3 "h3"

/* Raw QUIC. */

static int quic_open_uni(fr_moq_session *s, int64_t *sid)
{
    return fr_quic_conn_open_uni_stream(s->conn, sid);
}

static int quic_open_bidi(fr_moq_session *s, int64_t *sid)
{
    return fr_quic_conn_open_bidi_stream(s->conn, sid);
}

static int quic_reset(fr_moq_session *s, int64_t sid, uint64_t code)
{
    return fr_quic_conn_stream_reset(s->conn, sid, code);
}

static void quic_close(fr_moq_session *s, uint64_t code, const char *reason)
{
    fr_quic_conn_close(s->conn, code, reason);
}

static int quic_adopt(fr_moq_session *s, int64_t sid, size_t *header_len)
{
    (void)s, (void)sid;
    *header_len = 0;
    return 0;
}

const fr_moq_transport fr_moq_quic_transport = {
    quic_open_uni, quic_open_bidi, quic_reset, quic_close, quic_adopt};

/* WebTransport. */

static int wt_open_uni(fr_moq_session *s, int64_t *sid)
{
    return fr_wt_open_uni(s->wt, sid);
}

static int wt_open_bidi(fr_moq_session *s, int64_t *sid)
{
    return fr_wt_open_bidi(s->wt, sid);
}

static int wt_reset(fr_moq_session *s, int64_t sid, uint64_t code)
{
    /* MoQT's stream codes are small; a larger one is an internal error. */
    return fr_wt_stream_reset(s->wt, sid,
                              code <= UINT32_MAX
                                  ? (uint32_t)code
                                  : (uint32_t)FR_MOQ_STREAM_INTERNAL_ERROR);
}

/* Draft 02 of WebTransport has no code for a session's end: the MoQT code
 * goes into the log and the reason. */
static void wt_close(fr_moq_session *s, uint64_t code, const char *reason)
{
    char why[160];

    snprintf(why, sizeof(why), "MoQT error 0x%llx: %s",
             (unsigned long long)code, reason ? reason : "");
    fr_wt_close(s->wt, code ? why : reason);
}

static int wt_adopt(fr_moq_session *s, int64_t sid, size_t *header_len)
{
    return fr_wt_adopt_uni(s->wt, sid, header_len);
}

static const fr_moq_transport wt_transport = {
    wt_open_uni, wt_open_bidi, wt_reset, wt_close, wt_adopt};

static int wt_ready(void *arg, const char *protocol)
{
    fr_moq_session *s = arg;

    s->draft = fr_moq_draft_of(protocol);
    return fr_moq_session_start(s);
}

static void wt_stream_data(void *arg, int64_t sid, const uint8_t *data,
                           size_t len, int fin)
{
    fr_moq_in_stream_data(arg, sid, data, len, fin);
}

static void wt_stream_reset(void *arg, int64_t sid, uint64_t code)
{
    fr_moq_in_stream_reset(arg, sid, code);
}

static void wt_stop_sending(void *arg, int64_t sid, uint64_t code)
{
    fr_moq_in_stop_sending(arg, sid, code);
}

static void wt_streams_available(void *arg)
{
    fr_moq_in_streams_available(arg);
}

static void wt_datagram(void *arg, const uint8_t *data, size_t len)
{
    fr_moq_in_datagram(arg, data, len);
}

static void wt_closed(void *arg, const char *why)
{
    fr_moq_session *s = arg;

    /* The connection closes next; the session ends with it. */
    s->closed = 1;
    FR_INFO(&s->settings.log, "MoQT session over WebTransport ends: %s", why);
}

static const fr_wt_callbacks wt_callbacks = {
    .ready = wt_ready,
    .stream_data = wt_stream_data,
    .stream_reset = wt_stream_reset,
    .stop_sending = wt_stop_sending,
    .streams_available = wt_streams_available,
    .datagram = wt_datagram,
    .closed = wt_closed,
};

static int wt_start(fr_moq_session *s)
{
    static const char *const protocols[] = {FR_MOQ_ALPN_19, FR_MOQ_ALPN_18};
    fr_wt_config cfg;
    int rv;

    if (!s->wt_path)
        return FR_ERR_PROTO; /* h3 without WebTransport configured */
    if (!s->is_server && !s->authority &&
        fr_moq_session_set_authority(
            s, NULL,
            (const struct sockaddr *)&fr_quic_conn_get_path(s->conn)->remote))
        return FR_ERR_NOMEM;
    memset(&cfg, 0, sizeof(cfg));
    cfg.path = s->wt_path;
    cfg.authority = s->authority;
    cfg.protocols = protocols;
    cfg.nprotocols = sizeof(protocols) / sizeof(protocols[0]);
    cfg.log = s->settings.log;
    rv = fr_wt_new(&s->wt, s->conn, &cfg, &wt_callbacks, s);
    if (rv == 0)
        s->tp = &wt_transport;
    return rv;
}

int fr_moq_transport_start(fr_moq_session *s)
{
    const char *alpn = fr_quic_conn_get_alpn(s->conn);

    if (alpn && strcmp(alpn, ALPN_H3) == 0)
        return wt_start(s);
    s->draft = fr_moq_draft_of(alpn);
    return fr_moq_session_start(s);
}

int fr_moq_session_set_authority(fr_moq_session *s, const char *host,
                                 const struct sockaddr *remote)
{
    char buf[300];

    if (host && *host) {
        unsigned port = ntohs(
            remote->sa_family == AF_INET6
                ? ((const struct sockaddr_in6 *)remote)->sin6_port
                : ((const struct sockaddr_in *)remote)->sin_port);
        int literal6 = strchr(host, ':') != NULL; /* goes in brackets */

        snprintf(buf, sizeof(buf), "%s%s%s:%u", literal6 ? "[" : "", host,
                 literal6 ? "]" : "", port);
    } else {
        fr_addr_format(buf, sizeof(buf), remote);
    }
    free(s->authority);
    s->authority = strdup(buf);
    return s->authority ? 0 : FR_ERR_NOMEM;
}

int fr_moq_session_adopt_stream(fr_moq_session *s, int64_t stream_id,
                                size_t *header_len)
{
    if (!s || !header_len)
        return FR_ERR_INVALID_ARGUMENT;
    return s->tp->adopt(s, stream_id, header_len);
}
