/*
 * fr_moq_endpoint: a libev QUIC endpoint whose connections each run a
 * MoQT session. It routes every QUIC event of a connection to its session.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>
#include <fastrelay/moq.h>
#include <fastrelay/quic_ev.h>

#include "../quic/layouts.h"
#include "codec.h"
#include "layouts.h"
#include "session_internal.h"

struct fr_moq_endpoint {
    fr_quic_ev *qev;
    fr_moq_endpoint_callbacks ecb;
    fr_moq_callbacks cb;
    fr_moq_settings settings;
    char *implementation;
    char *wt_path;
    void *user_data;
};

static fr_moq_session *session_of(fr_quic_conn *conn)
{
    return fr_quic_conn_get_user_data(conn);
}

static int start_session(fr_moq_endpoint *ep, fr_quic_conn *conn,
                         fr_moq_session **ps)
{
    fr_moq_session *s;
    int rv = fr_moq_session_new(&s, conn, &ep->cb, &ep->settings,
                                ep->user_data);

    if (rv)
        return rv;
    if (ep->ecb.session_new)
        ep->ecb.session_new(ep, s, ep->user_data);
    if (ps)
        *ps = s;
    return 0;
}

static int on_accept(fr_quic_conn *conn, void *ud)
{
    return start_session(ud, conn, NULL);
}

static int on_handshake(fr_quic_conn *conn, void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    return s ? fr_moq_session_on_handshake(s) : 0;
}

static int on_stream_data(fr_quic_conn *conn, int64_t sid, const uint8_t *d,
                          size_t len, int fin, void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_stream_data(s, sid, d, len, fin);
    return 0;
}

static int on_stream_reset(fr_quic_conn *conn, int64_t sid, uint64_t code,
                           void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_stream_reset(s, sid, code);
    return 0;
}

static int on_stop_sending(fr_quic_conn *conn, int64_t sid, uint64_t code,
                           void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_stream_stop_sending(s, sid, code);
    return 0;
}

static int on_datagram(fr_quic_conn *conn, const uint8_t *d, size_t len,
                       void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_datagram(s, d, len);
    return 0;
}

static int on_stream_close(fr_quic_conn *conn, int64_t sid, void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_stream_close(s, sid);
    return 0;
}

static int on_streams_available(fr_quic_conn *conn, void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_streams_available(s);
    return 0;
}

static void on_closed(fr_quic_conn *conn, const fr_quic_close_info *info,
                      void *ud)
{
    fr_moq_session *s = session_of(conn);

    (void)ud;
    if (s)
        fr_moq_session_on_closed(s, info);
}

int fr_moq_endpoint_new_versioned(fr_moq_endpoint **pep,
                                  struct ev_loop *loop, int version,
                                  const fr_moq_endpoint_callbacks *ecb,
                                  const fr_moq_callbacks *cb,
                                  const fr_moq_settings *settings,
                                  fr_quic_settings *quic,
                                  const struct sockaddr *bind_addr,
                                  socklen_t bind_addr_len, void *user_data)
{
    fr_quic_callbacks qcb;
    fr_quic_settings qs;
    fr_moq_endpoint *ep;
    int rv;

    if (!pep || !loop || !cb || !settings || !quic || !bind_addr ||
        fr_quic_take_settings(&qs, quic, version))
        return FR_ERR_INVALID_ARGUMENT;
    ep = calloc(1, sizeof(*ep));
    if (!ep)
        return FR_ERR_NOMEM;
    if ((ecb && fr_moq_take_endpoint_callbacks(&ep->ecb, ecb, version)) ||
        fr_moq_take_callbacks(&ep->cb, cb, version) ||
        fr_moq_take_settings(&ep->settings, settings, version)) {
        free(ep);
        return FR_ERR_INVALID_ARGUMENT;
    }
    ep->user_data = user_data;
    if (ep->settings.implementation) {
        ep->implementation = strdup(ep->settings.implementation);
        ep->settings.implementation = ep->implementation;
    }
    if (ep->settings.webtransport_path) {
        ep->wt_path = strdup(ep->settings.webtransport_path);
        ep->settings.webtransport_path = ep->wt_path;
    }
    memset(&qcb, 0, sizeof(qcb));
    qcb.accept = on_accept;
    qcb.handshake_completed = on_handshake;
    qcb.stream_data = on_stream_data;
    qcb.streams_available = on_streams_available;
    qcb.stream_reset = on_stream_reset;
    qcb.stream_stop_sending = on_stop_sending;
    qcb.datagram = on_datagram;
    qcb.stream_close = on_stream_close;
    qcb.closed = on_closed;
    if (!quic->alpn)
        quic->alpn = qs.alpn =
            !ep->settings.webtransport_path ? FR_MOQ_ALPNS
            : qs.accept_connections          ? FR_MOQ_ALPNS ",h3"
                                             : "h3";
    rv = fr_quic_ev_new(&ep->qev, loop, &qcb, &qs, bind_addr, bind_addr_len,
                        ep);
    if (rv) {
        free(ep->implementation);
        free(ep->wt_path);
        free(ep);
        return rv;
    }
    *pep = ep;
    return 0;
}

#undef fr_moq_endpoint_new
int fr_moq_endpoint_new(fr_moq_endpoint **pep, struct ev_loop *loop,
                        const fr_moq_endpoint_callbacks *ecb,
                        const fr_moq_callbacks *cb,
                        const fr_moq_settings *settings,
                        fr_quic_settings *quic,
                        const struct sockaddr *bind_addr,
                        socklen_t bind_addr_len, void *user_data)
{
    return fr_moq_endpoint_new_versioned(pep, loop, 1, ecb, cb, settings, quic,
                                         bind_addr, bind_addr_len, user_data);
}

void fr_moq_endpoint_del(fr_moq_endpoint *ep)
{
    fr_quic_endpoint *qep;
    fr_quic_conn *conn;

    if (!ep)
        return;
    /* Sessions end (with their callbacks) before their connections go. */
    qep = fr_quic_ev_get_endpoint(ep->qev);
    for (conn = fr_quic_endpoint_next_conn(qep, NULL); conn;
         conn = fr_quic_endpoint_next_conn(qep, conn))
        if (session_of(conn))
            fr_moq_session_del(session_of(conn));
    fr_quic_ev_del(ep->qev);
    free(ep->implementation);
    free(ep->wt_path);
    free(ep);
}

void fr_moq_endpoint_shutdown(fr_moq_endpoint *ep, uint64_t code,
                              const char *reason)
{
    fr_quic_endpoint *qep = fr_quic_ev_get_endpoint(ep->qev);
    fr_quic_conn *conn = fr_quic_endpoint_next_conn(qep, NULL);

    while (conn) {
        fr_quic_conn *next = fr_quic_endpoint_next_conn(qep, conn);
        fr_moq_session *s = session_of(conn);
        /* Closing runs the session's teardown through `closed`. */
        if (s)
            fr_moq_session_close(s, code, reason);
        else
            fr_quic_conn_close(conn, code, reason);
        conn = next;
    }
}

void fr_moq_endpoint_goaway(fr_moq_endpoint *ep, uint64_t timeout_ms)
{
    fr_quic_endpoint *qep = fr_quic_ev_get_endpoint(ep->qev);

    for (fr_quic_conn *c = fr_quic_endpoint_next_conn(qep, NULL); c;
         c = fr_quic_endpoint_next_conn(qep, c)) {
        fr_moq_session *s = session_of(c);
        if (s && fr_moq_session_is_ready(s))
            fr_moq_session_goaway(s, NULL, timeout_ms);
    }
}

int fr_moq_endpoint_idle(const fr_moq_endpoint *ep)
{
    return fr_quic_endpoint_conn_count(fr_quic_ev_get_endpoint(ep->qev)) == 0;
}

int fr_moq_endpoint_connect(fr_moq_endpoint *ep, const struct sockaddr *remote,
                            socklen_t remote_len, const char *server_name,
                            fr_moq_session **ps)
{
    fr_quic_conn *conn;
    fr_moq_session *s;
    int rv = fr_quic_ev_connect(ep->qev, &conn, remote, remote_len,
                                server_name, NULL);

    if (rv)
        return rv;
    rv = start_session(ep, conn, &s);
    if (rv == 0 && ep->settings.webtransport_path)
        rv = fr_moq_session_set_authority(s, server_name, remote);
    if (rv == 0 && ps)
        *ps = s;
    return rv;
}

fr_quic_endpoint *fr_moq_endpoint_quic(const fr_moq_endpoint *ep)
{
    return fr_quic_ev_get_endpoint(ep->qev);
}

int fr_moq_endpoint_local_addr(const fr_moq_endpoint *ep,
                               struct sockaddr_storage *addr, socklen_t *len)
{
    return fr_quic_ev_local_addr(ep->qev, addr, len);
}

int fr_moq_endpoint_migrate(fr_moq_endpoint *ep)
{
    return fr_quic_ev_migrate(ep->qev);
}
