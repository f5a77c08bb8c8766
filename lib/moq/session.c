/*
 * MoQT session: life cycle, errors and sending, stream dispatch. The
 * subscriber side is in subscriber.c, the publisher side in publisher.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "layouts.h"
#include "session_internal.h"

/* Errors and sending. */

void fr_moq_fail(fr_moq_session *s, uint64_t code, const char *reason)
{
    if (s->closed)
        return;
    FR_WARN(&s->settings.log, "closing MoQT session: %s (error 0x%llx)",
            reason, (unsigned long long)code);
    s->closed = 1;
    s->tp->close(s, code, reason);
}

ssize_t fr_moq_msg_encode_alloc(const fr_moq_session *s,
                                const fr_moq_msg *msg, uint8_t **pbuf)
{
    uint8_t *buf = malloc(FR_MOQ_MAX_CONTROL_PAYLOAD + 16);
    ssize_t n;

    if (!buf)
        return FR_ERR_NOMEM;
    n = fr_moq_msg_encode_draft(s->draft, buf, FR_MOQ_MAX_CONTROL_PAYLOAD + 16,
                                msg);
    if (n < 0) {
        free(buf);
        return FR_ERR_INVALID_ARGUMENT;
    }
    *pbuf = buf;
    return n;
}

int fr_moq_send_msg(fr_moq_session *s, int64_t stream_id,
                    const fr_moq_msg *msg, int fin)
{
    uint8_t *buf;
    ssize_t n = fr_moq_msg_encode_alloc(s, msg, &buf);
    int rv;

    if (n < 0)
        return (int)n;
    rv = fr_quic_conn_stream_write(s->conn, stream_id, buf, (size_t)n, fin);
    free(buf);
    return rv;
}

/* Session life cycle. */

int fr_moq_settings_default_versioned(int version, fr_moq_settings *s)
{
    fr_moq_settings st;

    memset(&st, 0, sizeof(st));
    st.max_object_size = 16 * 1024 * 1024;
    st.max_queued = 32 * 1024 * 1024;
    st.log.level = FR_LOG_NONE;
    st.max_subscriptions = 1000;
    return fr_moq_give_settings(s, &st, version);
}

#undef fr_moq_settings_default
void fr_moq_settings_default(fr_moq_settings *s)
{
    fr_moq_settings_default_versioned(1, s);
}

unsigned fr_moq_draft_of(const char *protocol)
{
    return protocol && strcmp(protocol, FR_MOQ_ALPN_19) == 0
               ? FR_MOQ_DRAFT_19
               : FR_MOQ_DRAFT_18;
}

int fr_moq_session_start(fr_moq_session *s)
{
    fr_moq_msg m;
    int rv;

    rv = s->tp->open_uni(s, &s->ctrl_out);
    if (rv)
        return rv;
    fr_quic_conn_stream_set_priority(s->conn, s->ctrl_out, 0);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SETUP;
    if (s->implementation) {
        m.u.setup.has_implementation = 1;
        m.u.setup.implementation.base = (const uint8_t *)s->implementation;
        m.u.setup.implementation.len = strlen(s->implementation);
    }
    return fr_moq_send_msg(s, s->ctrl_out, &m, 0);
}

int fr_moq_session_new_versioned(fr_moq_session **ps, fr_quic_conn *conn,
                                 int version, const fr_moq_callbacks *cb,
                                 const fr_moq_settings *settings,
                                 void *user_data)
{
    fr_moq_session *s;

    if (!ps || !conn || !cb || !settings)
        return FR_ERR_INVALID_ARGUMENT;
    s = calloc(1, sizeof(*s));
    if (!s)
        return FR_ERR_NOMEM;
    if (fr_moq_take_callbacks(&s->cb, cb, version) ||
        fr_moq_take_settings(&s->settings, settings, version)) {
        free(s);
        return FR_ERR_INVALID_ARGUMENT;
    }
    s->conn = conn;
    if (s->settings.implementation) {
        s->implementation = strdup(s->settings.implementation);
        if (!s->implementation) {
            free(s);
            return FR_ERR_NOMEM;
        }
    }
    s->settings.implementation = NULL;
    if (s->settings.webtransport_path) {
        s->wt_path = strdup(s->settings.webtransport_path);
        if (!s->wt_path) {
            free(s->implementation);
            free(s);
            return FR_ERR_NOMEM;
        }
    }
    s->settings.webtransport_path = NULL;
    s->user_data = user_data;
    s->is_server = fr_quic_conn_is_server(conn);
    s->next_request_id = s->is_server ? 1 : 0;
    s->peer_next_id = s->is_server ? 0 : 1;
    s->ctrl_out = -1;
    s->tp = &fr_moq_quic_transport;
    fr_hmap_init(&s->rstreams);
    fr_hmap_init(&s->requests);
    fr_hmap_init(&s->aliases);
    fr_quic_conn_set_user_data(conn, s);
    if (fr_quic_conn_is_handshake_completed(conn) &&
        fr_moq_transport_start(s) != 0) {
        fr_quic_conn_set_user_data(conn, NULL);
        fr_wt_del(s->wt);
        free(s->wt_path);
        free(s->implementation);
        free(s);
        return FR_ERR_INTERNAL;
    }
    *ps = s;
    return 0;
}

#undef fr_moq_session_new
int fr_moq_session_new(fr_moq_session **ps, fr_quic_conn *conn,
                       const fr_moq_callbacks *cb,
                       const fr_moq_settings *settings, void *user_data)
{
    return fr_moq_session_new_versioned(ps, conn, 1, cb, settings, user_data);
}

int fr_moq_session_on_handshake(fr_moq_session *s)
{
    int rv;

    if (s->ctrl_out >= 0 || s->wt)
        return 0;
    fr_moq_enter(s);
    rv = fr_moq_transport_start(s);
    if (rv)
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "cannot start the session");
    fr_moq_leave(s);
    return rv;
}

static void free_rstream_entry(void *value, void *arg)
{
    fr_moq_rstream_free(arg, value);
}

/* Ends everything the session holds, with callbacks, and frees it. */
static void session_teardown(fr_moq_session *s, uint64_t code,
                             const char *reason)
{
    s->closed = 1;
    while (s->reqs) {
        fr_moq_req *r = s->reqs;
        if (r->sub)
            fr_moq_sub_end(r->sub, 0, code, reason);
        else if (r->pub)
            fr_moq_pub_end(r->pub);
        else if (r->fetch)
            fr_moq_fetch_end(r->fetch, 0, code, reason);
        else
            fr_moq_req_end(r);
    }
    if (s->cb.session_closed)
        s->cb.session_closed(s, code, reason, s->user_data);
    fr_hmap_each(&s->rstreams, free_rstream_entry, s);
    fr_hmap_free(&s->rstreams);
    fr_hmap_free(&s->requests);
    fr_hmap_free(&s->aliases);
    fr_quic_conn_set_user_data(s->conn, NULL);
    fr_wt_del(s->wt);
    free(s->authority);
    free(s->wt_path);
    free(s->implementation);
    free(s);
}

void fr_moq_session_del(fr_moq_session *s)
{
    if (s)
        session_teardown(s, FR_MOQ_NO_ERROR, "session deleted");
}

void fr_moq_session_on_closed(fr_moq_session *s,
                              const fr_quic_close_info *info)
{
    s->closed = 1;
    s->gone = 1;
    s->gone_code = info->error_code;
    snprintf(s->gone_reason, sizeof(s->gone_reason), "%s",
             info->message ? info->message : "closed");
    /* Inside the session's own processing (a callback closed it, or a
     * protocol error did), the teardown waits until that returns. */
    if (s->busy == 0)
        session_teardown(s, s->gone_code, s->gone_reason);
}

void fr_moq_enter(fr_moq_session *s)
{
    s->busy++;
}

int fr_moq_leave(fr_moq_session *s)
{
    if (--s->busy == 0 && s->gone) {
        session_teardown(s, s->gone_code, s->gone_reason);
        return 1;
    }
    return 0;
}

int fr_moq_session_close(fr_moq_session *s, uint64_t code, const char *reason)
{
    if (s->closed)
        return FR_ERR_CONN_CLOSED;
    s->closed = 1;
    s->tp->close(s, code, reason);
    return 0;
}

fr_quic_conn *fr_moq_session_conn(const fr_moq_session *s)
{
    return s->conn;
}

void *fr_moq_session_get_user_data(const fr_moq_session *s)
{
    return s->app_data;
}

void fr_moq_session_set_user_data(fr_moq_session *s, void *ud)
{
    s->app_data = ud;
}

int fr_moq_session_goaway(fr_moq_session *s, const char *new_uri,
                          uint64_t timeout_ms)
{
    fr_moq_msg m;
    size_t len = new_uri ? strlen(new_uri) : 0;

    if (!s || (len && s->is_server == 0))
        return FR_ERR_INVALID_ARGUMENT;
    if (s->closed || s->ctrl_out < 0 || s->goaway_sent)
        return FR_ERR_INVALID_STATE;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_GOAWAY;
    m.u.goaway.new_session_uri.base = (const uint8_t *)new_uri;
    m.u.goaway.new_session_uri.len = len;
    m.u.goaway.timeout = timeout_ms;
    m.u.goaway.has_request_id = 1;
    m.u.goaway.request_id = s->peer_next_id;
    s->goaway_sent = 1;
    return fr_moq_send_msg(s, s->ctrl_out, &m, 0);
}

unsigned fr_moq_session_draft(const fr_moq_session *s)
{
    return s->ctrl_out >= 0 ? s->draft : 0;
}

int fr_moq_session_is_ready(const fr_moq_session *s)
{
    return s->ready;
}

/* Stream events. */

static fr_moq_rstream *rstream_get(fr_moq_session *s, int64_t sid)
{
    fr_moq_rstream *rs = fr_hmap_find_u64(&s->rstreams, (uint64_t)sid);

    if (rs)
        return rs;
    rs = calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    rs->id = sid;
    /* Bit 1 of a stream ID marks unidirectional streams. */
    rs->kind = (sid & 2) ? FR_RS_UNKNOWN : FR_RS_REQUEST;
    if (fr_hmap_insert_u64(&s->rstreams, (uint64_t)sid, rs) != 0) {
        free(rs);
        return NULL;
    }
    return rs;
}

/* Reads a unidirectional stream's type and decides its kind. */
static int classify(fr_moq_session *s, fr_moq_rstream *rs)
{
    uint64_t type;
    ssize_t n = fr_moq_varint_decode(rs->buf.data, rs->buf.len, &type);

    if (n == FR_MOQ_NEED_MORE)
        return 0;
    if (type == FR_MOQ_STREAM_SETUP) {
        rs->kind = FR_RS_CONTROL; /* the type is SETUP's message type */
    } else if (type == FR_MOQ_STREAM_FETCH_HEADER) {
        rs->kind = FR_RS_FETCH;
    } else if (fr_moq_is_subgroup_type(type)) {
        rs->kind = FR_RS_SUBGROUP;
    } else if (type == FR_MOQ_STREAM_PADDING) {
        rs->kind = FR_RS_IGNORE;
    } else {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "unknown stream type");
        return FR_ERR_PROTO;
    }
    return 0;
}

int fr_moq_in_stream_data(fr_moq_session *s, int64_t sid,
                          const uint8_t *data, size_t len, int fin)
{
    fr_moq_rstream *rs;
    int rv;

    if (s->closed)
        return 0;
    rs = rstream_get(s, sid);
    if (!rs) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return FR_ERR_NOMEM;
    }
    if (rs->kind == FR_RS_SUBGROUP || rs->kind == FR_RS_FETCH ||
        rs->kind == FR_RS_IGNORE)
        return fr_moq_rstream_data(s, rs, data, len, fin);
    if (fr_moq_buf_append(&rs->buf, data, len) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return FR_ERR_NOMEM;
    }
    if (rs->kind == FR_RS_UNKNOWN) {
        rv = classify(s, rs);
        if (rv || rs->kind == FR_RS_UNKNOWN)
            return rv;
        if (rs->kind != FR_RS_CONTROL) {
            /* Data streams parse from their own buffer state. */
            fr_moq_buf b = rs->buf;
            memset(&rs->buf, 0, sizeof(rs->buf));
            rv = fr_moq_rstream_data(s, rs, b.data, b.len, fin);
            free(b.data);
            return rv;
        }
    }
    if (rs->kind == FR_RS_CONTROL)
        return fr_moq_control_data(s, rs, fin);
    return fr_moq_request_data(s, rs, fin);
}

/* The peer cancelled a request (RESET_STREAM or STOP_SENDING on its
 * stream, draft 18 section 3.3.2): whatever the request carried ends, and
 * the application hears of it as for any other end. */
static void request_cancelled(fr_moq_session *s, fr_moq_req *r,
                              uint64_t code, const char *why)
{
    uint64_t id = r->id;

    if (r->sub) {
        fr_moq_sub_end(r->sub, 0, code, why);
    } else if (r->pub) {
        fr_moq_pub_end(r->pub);
    } else if (r->fetch) {
        fr_moq_fetch_end(r->fetch, 0, code, why);
    } else if (r->kind == FR_REQ_IN_PUBLISH_NS ||
               r->kind == FR_REQ_IN_SUBSCRIBE_NS ||
               r->kind == FR_REQ_IN_SUBSCRIBE_TRACKS) {
        fr_moq_ns_request_ended(s, r);
    } else if (r->kind == FR_REQ_PUBLISH_NS) {
        /* The peer revokes (or never gives) its acceptance. */
        fr_moq_req_end(r);
        if (s->cb.namespace_answer)
            s->cb.namespace_answer(s, id, 0, code, why, s->user_data);
    } else {
        fr_moq_req_end(r);
    }
}

int fr_moq_in_stream_reset(fr_moq_session *s, int64_t sid, uint64_t code)
{
    fr_moq_rstream *rs = fr_hmap_find_u64(&s->rstreams, (uint64_t)sid);

    if (s->closed)
        return 0;
    if (!rs) {
        /* A unidirectional stream reset before any of its bytes came. */
        if (sid & 2)
            fr_moq_unattributed_stream(s);
        return 0;
    }
    switch (rs->kind) {
    case FR_RS_CONTROL:
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "control stream reset");
        return FR_ERR_PROTO;
    case FR_RS_REQUEST:
        if (rs->req) {
            request_cancelled(s, rs->req, code, "request stream reset");
        } else {
            fr_hmap_remove_u64(&s->rstreams, (uint64_t)sid);
            fr_moq_rstream_free(s, rs);
        }
        return 0;
    default:
        return fr_moq_rstream_reset(s, rs, code);
    }
}

int fr_moq_in_stop_sending(fr_moq_session *s, int64_t sid, uint64_t code)
{
    fr_moq_rstream *rs = fr_hmap_find_u64(&s->rstreams, (uint64_t)sid);

    (void)code;
    if (s->closed)
        return 0;
    if (sid == s->ctrl_out) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "control stream stopped");
        return FR_ERR_PROTO;
    }
    /* STOP_SENDING on a request stream cancels the request. */
    if (rs && rs->kind == FR_RS_REQUEST && rs->req) {
        request_cancelled(s, rs->req, code, "cancelled by peer");
        return 0;
    }
    /* On one of our data streams the QUIC layer already stopped writing:
     * later writes to it fail with FR_ERR_STREAM_SHUT_WR. */
    return 0;
}

/* Entry points for QUIC events: the session stays alive until they return
 * even if it closes meanwhile. */

int fr_moq_session_on_stream_data(fr_moq_session *s, int64_t sid,
                                  const uint8_t *data, size_t len, int fin)
{
    int rv = 0;

    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_stream_data(s->wt, sid, data, len, fin);
    else
        rv = fr_moq_in_stream_data(s, sid, data, len, fin);
    fr_moq_leave(s);
    return rv;
}

int fr_moq_session_on_stream_reset(fr_moq_session *s, int64_t sid,
                                   uint64_t code)
{
    int rv = 0;

    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_stream_reset(s->wt, sid, code);
    else
        rv = fr_moq_in_stream_reset(s, sid, code);
    fr_moq_leave(s);
    return rv;
}

int fr_moq_session_on_stream_stop_sending(fr_moq_session *s, int64_t sid,
                                          uint64_t code)
{
    int rv = 0;

    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_stop_sending(s->wt, sid, code);
    else
        rv = fr_moq_in_stop_sending(s, sid, code);
    fr_moq_leave(s);
    return rv;
}

void fr_moq_session_on_stream_close(fr_moq_session *s, int64_t sid)
{
    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_stream_close(s->wt, sid);
    fr_moq_leave(s);
}

int fr_moq_session_is_webtransport(const fr_moq_session *s)
{
    return s->wt != NULL;
}
