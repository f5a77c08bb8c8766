/*
 * The control stream (SETUP, GOAWAY) and request streams: incoming
 * requests and the responses to ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "props.h"
#include "session_internal.h"

/* Decodes the next message buffered on `rs`. Returns 1 with `m` filled,
 * 0 when more bytes are needed, FR_ERR_PROTO after failing the session. */
static int next_msg(fr_moq_session *s, fr_moq_rstream *rs, fr_moq_msg *m,
                    size_t *consumed)
{
    fr_moq_error err;
    ssize_t n = fr_moq_msg_decode_draft(s->draft, rs->buf.data, rs->buf.len,
                                        m, &err);

    if (n == FR_MOQ_NEED_MORE)
        return 0;
    if (n < 0) {
        fr_moq_fail(s, err.code, err.reason);
        return FR_ERR_PROTO;
    }
    *consumed = (size_t)n;
    return 1;
}

/* GOAWAY on the control stream: the peer closes the session soon. We
 * make no new requests on it; the application may move to a new
 * session. */
static int on_goaway(fr_moq_session *s, const fr_moq_goaway *g)
{
    char *uri;

    if (s->goaway_received) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "second GOAWAY");
        return FR_ERR_PROTO;
    }
    if (s->is_server && g->new_session_uri.len) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                    "GOAWAY from a client names a URI");
        return FR_ERR_PROTO;
    }
    /* It names one of our request IDs. */
    if (g->has_request_id &&
        (g->request_id & 1) != (uint64_t)(s->is_server ? 1 : 0)) {
        fr_moq_fail(s, FR_MOQ_INVALID_REQUEST_ID, "GOAWAY request ID");
        return FR_ERR_PROTO;
    }
    s->goaway_received = 1;
    FR_INFO(&s->settings.log, "peer sent GOAWAY (timeout %llu ms)",
            (unsigned long long)g->timeout);
    if (!s->cb.goaway)
        return 0;
    uri = malloc(g->new_session_uri.len + 1);
    if (!uri) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return FR_ERR_NOMEM;
    }
    if (g->new_session_uri.len)
        memcpy(uri, g->new_session_uri.base, g->new_session_uri.len);
    uri[g->new_session_uri.len] = '\0';
    s->cb.goaway(s, uri, g->timeout, s->user_data);
    free(uri);
    return 0;
}

int fr_moq_control_data(fr_moq_session *s, fr_moq_rstream *rs, int fin)
{
    fr_moq_msg m;
    size_t n;
    int r;

    while (!s->closed && (r = next_msg(s, rs, &m, &n)) > 0) {
        if (!s->setup_received && m.type != FR_MOQ_MSG_SETUP) {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "control stream must begin with SETUP");
            return FR_ERR_PROTO;
        }
        switch (m.type) {
        case FR_MOQ_MSG_SETUP:
            if (s->setup_received) {
                fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "second SETUP");
                return FR_ERR_PROTO;
            }
            s->setup_received = 1;
            s->ready = 1;
            if (s->cb.session_ready)
                s->cb.session_ready(s, s->user_data);
            break;
        case FR_MOQ_MSG_GOAWAY:
            if ((r = on_goaway(s, &m.u.goaway)) != 0)
                return r;
            break;
        default:
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "message not allowed on the control stream");
            return FR_ERR_PROTO;
        }
        if (s->closed)
            return 0;
        fr_moq_buf_consume(&rs->buf, n);
    }
    if (fin && !s->closed) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "control stream closed");
        return FR_ERR_PROTO;
    }
    return 0;
}

/* Checks a request ID the peer chose: the parity of its role, unused. */
static int check_peer_request_id(fr_moq_session *s, uint64_t id)
{
    /* Clients use even IDs, servers odd ones; the peer is the other. */
    if ((id & 1) != (uint64_t)(s->is_server ? 0 : 1) ||
        fr_hmap_find_u64(&s->requests, id)) {
        fr_moq_fail(s, FR_MOQ_INVALID_REQUEST_ID, "bad request ID");
        return FR_ERR_PROTO;
    }
    return 0;
}

/* Starts an incoming request of `kind` on stream `rs`. */
static fr_moq_req *in_request(fr_moq_session *s, fr_moq_rstream *rs,
                              fr_moq_req_kind kind, uint64_t id)
{
    fr_moq_req *r;

    if (check_peer_request_id(s, id))
        return NULL;
    r = fr_moq_req_new(s, kind, id, rs->id);
    if (!r) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    rs->req = r;
    if (id >= s->peer_next_id)
        s->peer_next_id = id + 2;
    /* After our GOAWAY every new request is refused. */
    if (s->goaway_sent) {
        fr_moq_reject(s, id, FR_MOQ_REQ_GOING_AWAY, "session going away");
        return NULL;
    }
    return r;
}

static void on_subscribe(fr_moq_session *s, fr_moq_rstream *rs,
                         const fr_moq_msg_subscribe *m, fr_moq_req_kind kind)
{
    fr_moq_name name;
    fr_moq_req *r = in_request(s, rs, kind, m->request_id);

    if (!r)
        return;
    fr_moq_name_from_wire(&name, &m->track);
    if (fr_moq_name_copy_set(&r->name, &name) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    fr_moq_params_from_wire(&r->params, &m->params);
    if (kind == FR_REQ_IN_SUBSCRIBE && s->settings.max_subscriptions &&
        s->in_subscriptions > s->settings.max_subscriptions) {
        fr_moq_reject(s, r->id, FR_MOQ_REQ_EXCESSIVE_LOAD,
                      "too many subscriptions on this session");
        return;
    }
    if (kind == FR_REQ_IN_TRACK_STATUS) {
        if (s->cb.track_status)
            s->cb.track_status(s, r->id, &r->name.name, s->user_data);
        else
            fr_moq_reject(s, r->id, FR_MOQ_REQ_NOT_SUPPORTED,
                          "track status not supported");
        return;
    }
    if (s->cb.subscribe)
        s->cb.subscribe(s, r->id, &r->name.name, &r->params, s->user_data);
    else
        fr_moq_reject(s, r->id, FR_MOQ_REQ_NOT_SUPPORTED, "not a publisher");
}

static void on_fetch(fr_moq_session *s, fr_moq_rstream *rs,
                     const fr_moq_msg_fetch *m)
{
    fr_moq_fetch_request fr;
    fr_moq_req *r = in_request(s, rs, FR_REQ_IN_FETCH, m->request_id);

    if (!r)
        return;
    memset(&fr, 0, sizeof(fr));
    fr_moq_params_from_wire(&r->params, &m->params);
    fr.subscriber_priority = r->params.subscriber_priority;
    fr.group_order = r->params.group_order ? r->params.group_order
                                           : FR_MOQ_ORDER_ASCENDING;
    if (m->fetch_type == FR_MOQ_FETCH_STANDALONE) {
        fr_moq_name name;
        fr_moq_name_from_wire(&name, &m->track);
        if (fr_moq_name_copy_set(&r->name, &name) != 0) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
            return;
        }
        fr.name = r->name.name;
        fr.start.group = m->start.group;
        fr.start.object = m->start.object;
        fr.end.group = m->end.group;
        fr.end.object = m->end.object;
    } else {
        fr_moq_req *joined = fr_hmap_find_u64(&s->requests,
                                              m->joining_request_id);
        if (!joined || !joined->pub) {
            fr_moq_reject(s, r->id, FR_MOQ_REQ_INVALID_JOINING_REQUEST_ID,
                          "no such established subscription");
            return;
        }
        fr.joining = 1;
        fr.joining_pub = joined->pub;
        fr.relative = m->fetch_type == FR_MOQ_FETCH_RELATIVE_JOINING;
        fr.joining_start = m->joining_start;
        fr.name = joined->name.name;
    }
    if (s->cb.fetch)
        s->cb.fetch(s, r->id, &fr, s->user_data);
    else
        fr_moq_reject(s, r->id, FR_MOQ_REQ_NOT_SUPPORTED, "fetch not served");
}

/* PUBLISH_NAMESPACE (kind FR_REQ_IN_PUBLISH_NS), SUBSCRIBE_NAMESPACE
 * (FR_REQ_IN_SUBSCRIBE_NS) or SUBSCRIBE_TRACKS (_TRACKS). */
static void on_namespace_request(fr_moq_session *s, fr_moq_rstream *rs,
                                 const fr_moq_namespace_request *m,
                                 fr_moq_req_kind kind)
{
    fr_moq_name ns;
    fr_moq_req *r = in_request(s, rs, kind, m->request_id);

    if (!r)
        return;
    fr_moq_ns_from_wire(&ns, &m->ns);
    if (fr_moq_name_copy_set(&r->name, &ns) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (kind != FR_REQ_IN_PUBLISH_NS) {
        if (s->cb.subscribe_namespace)
            s->cb.subscribe_namespace(s, r->id, &r->name.name,
                                      kind == FR_REQ_IN_SUBSCRIBE_TRACKS,
                                      s->user_data);
        else
            fr_moq_reject(s, r->id, FR_MOQ_REQ_NOT_SUPPORTED,
                          "namespace subscriptions not served");
    } else if (s->cb.publish_namespace) {
        s->cb.publish_namespace(s, r->id, &r->name.name, s->user_data);
    } else {
        fr_moq_reject(s, r->id, FR_MOQ_REQ_UNINTERESTED,
                      "namespaces not accepted");
    }
}

static void on_publish(fr_moq_session *s, fr_moq_rstream *rs,
                       const fr_moq_msg_publish *m)
{
    fr_moq_name name;
    fr_moq_req *r = in_request(s, rs, FR_REQ_IN_PUBLISH, m->request_id);

    if (!r)
        return;
    fr_moq_name_from_wire(&name, &m->track);
    if (fr_moq_name_copy_set(&r->name, &name) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->info.track_alias = m->track_alias;
    r->info.has_largest = (m->params.present & FR_MOQ_P_LARGEST_OBJECT) != 0;
    r->info.largest = m->params.largest_object;
    if (fr_moq_track_props_decode(m->track_properties.base,
                                  m->track_properties.len,
                                  &r->info.publisher_priority,
                                  &r->info.group_order) != 0) {
        fr_moq_reject(s, r->id, FR_MOQ_REQ_UNSUPPORTED_EXTENSION,
                      "unsupported track property");
        return;
    }
    if (s->cb.publish)
        s->cb.publish(s, r->id, &r->name.name, &r->info, s->user_data);
    else
        fr_moq_reject(s, r->id, FR_MOQ_REQ_UNINTERESTED,
                      "not taking published tracks");
}

/* The first message of a request stream the peer opened. */
static void on_new_request(fr_moq_session *s, fr_moq_rstream *rs,
                           const fr_moq_msg *m)
{
    fr_moq_req *r;

    switch (m->type) {
    case FR_MOQ_MSG_SUBSCRIBE:
        on_subscribe(s, rs, &m->u.subscribe, FR_REQ_IN_SUBSCRIBE);
        return;
    case FR_MOQ_MSG_TRACK_STATUS:
        on_subscribe(s, rs, &m->u.subscribe, FR_REQ_IN_TRACK_STATUS);
        return;
    case FR_MOQ_MSG_FETCH:
        on_fetch(s, rs, &m->u.fetch);
        return;
    case FR_MOQ_MSG_PUBLISH_NAMESPACE:
        on_namespace_request(s, rs, &m->u.ns_request, FR_REQ_IN_PUBLISH_NS);
        return;
    case FR_MOQ_MSG_PUBLISH:
        on_publish(s, rs, &m->u.publish);
        return;
    case FR_MOQ_MSG_SUBSCRIBE_NAMESPACE:
        on_namespace_request(s, rs, &m->u.ns_request, FR_REQ_IN_SUBSCRIBE_NS);
        return;
    case FR_MOQ_MSG_SUBSCRIBE_TRACKS:
        on_namespace_request(s, rs, &m->u.ns_request,
                             FR_REQ_IN_SUBSCRIBE_TRACKS);
        return;
    default:
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                    "request stream must begin with a request");
        return;
    }
    /* Requests this implementation does not serve yet. */
    if (r)
        fr_moq_reject(s, r->id, FR_MOQ_REQ_NOT_SUPPORTED,
                      "request type not supported");
}

static void on_subscribe_ok(fr_moq_session *s, fr_moq_req *r,
                            const fr_moq_subscribe_ok *m)
{
    fr_moq_sub *sub = r->sub;
    fr_moq_sub *other;

    if (sub->established) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "second SUBSCRIBE_OK");
        return;
    }
    other = fr_hmap_find_u64(&s->aliases, m->track_alias);
    if (other) {
        fr_moq_fail(s, FR_MOQ_DUPLICATE_TRACK_ALIAS, "track alias in use");
        return;
    }
    if (fr_hmap_insert_u64(&s->aliases, m->track_alias, sub) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    sub->established = 1;
    r->answered = 1;
    sub->info.track_alias = m->track_alias;
    sub->info.has_largest =
        (m->params.present & FR_MOQ_P_LARGEST_OBJECT) != 0;
    sub->info.largest.group = m->params.largest_object.group;
    sub->info.largest.object = m->params.largest_object.object;
    if (fr_moq_track_props_decode(m->track_properties.base,
                                  m->track_properties.len,
                                  &sub->info.publisher_priority,
                                  &sub->info.group_order) != 0) {
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "bad track properties");
        return;
    }
    if (s->cb.sub_ok)
        s->cb.sub_ok(sub, &sub->info, s->user_data);
    if (!s->closed)
        fr_moq_alias_ready(s, m->track_alias);
}

static void on_response(fr_moq_session *s, fr_moq_req *r, const fr_moq_msg *m)
{
    const fr_moq_request_error *e = &m->u.request_error;
    char reason[FR_MOQ_MAX_REASON + 1];

    if (m->type == FR_MOQ_MSG_REQUEST_ERROR) {
        snprintf(reason, sizeof(reason), "%.*s", (int)e->reason.len,
                 (const char *)e->reason.base);
        if (r->answered && r->kind != FR_REQ_PUBLISH_NS) {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION, "late REQUEST_ERROR");
            return;
        }
    }
    switch (r->kind) {
    case FR_REQ_SUBSCRIBE:
        if (m->type == FR_MOQ_MSG_SUBSCRIBE_OK) {
            on_subscribe_ok(s, r, &m->u.subscribe_ok);
        } else if (m->type == FR_MOQ_MSG_REQUEST_ERROR) {
            fr_moq_sub_end(r->sub, 1, e->error_code, reason);
        } else if (m->type == FR_MOQ_MSG_PUBLISH_DONE && r->answered) {
            fr_moq_sub *sub = r->sub;
            /* Objects can still be in flight on data streams: the
             * subscription ends once all the streams it announces have
             * ended. */
            snprintf(sub->done_reason, sizeof(sub->done_reason), "%.*s",
                     (int)m->u.publish_done.reason.len,
                     (const char *)m->u.publish_done.reason.base);
            sub->done_pending = 1;
            sub->done_status = m->u.publish_done.status_code;
            sub->streams_expected = m->u.publish_done.stream_count;
            fr_moq_sub_maybe_done(sub);
        } else if (m->type == FR_MOQ_MSG_REQUEST_OK && r->answered) {
            /* answer to a REQUEST_UPDATE */
        } else {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "unexpected answer to SUBSCRIBE");
        }
        return;
    case FR_REQ_FETCH:
        if (m->type == FR_MOQ_MSG_FETCH_OK && !r->answered) {
            fr_moq_location end = {m->u.fetch_ok.end.group,
                                   m->u.fetch_ok.end.object};
            fr_moq_fetch *f = r->fetch;
            r->answered = 1;
            f->ok = 1;
            if (s->cb.fetch_ok)
                s->cb.fetch_ok(f, end, m->u.fetch_ok.end_of_track,
                               s->user_data);
            /* Objects that came before FETCH_OK go out now. */
            fr_moq_fetch_ready(s, f);
        } else if (m->type == FR_MOQ_MSG_REQUEST_ERROR) {
            fr_moq_fetch_end(r->fetch, 1, e->error_code, reason);
        } else {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "unexpected answer to FETCH");
        }
        return;
    case FR_REQ_PUBLISH_NS:
        if (m->type == FR_MOQ_MSG_REQUEST_OK && !r->answered) {
            r->answered = 1;
            if (s->cb.namespace_answer)
                s->cb.namespace_answer(s, r->id, 1, 0, NULL, s->user_data);
        } else if (m->type == FR_MOQ_MSG_REQUEST_ERROR) {
            uint64_t id = r->id;
            fr_moq_req_end(r);
            if (s->cb.namespace_answer)
                s->cb.namespace_answer(s, id, 0, e->error_code, reason,
                                       s->user_data);
        } else {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "unexpected answer to PUBLISH_NAMESPACE");
        }
        return;
    case FR_REQ_PUBLISH:
        if ((m->type == FR_MOQ_MSG_REQUEST_OK ||
             m->type == FR_MOQ_MSG_PUBLISH_OK) &&
            !r->answered) {
            r->answered = 1;
            fr_moq_params_from_wire(&r->pub->params, &m->u.request_ok.params);
            if (s->cb.pub_updated)
                s->cb.pub_updated(r->pub, &r->pub->params, s->user_data);
            return;
        }
        if (m->type == FR_MOQ_MSG_REQUEST_ERROR && !r->answered) {
            fr_moq_pub_end(r->pub);
            return;
        }
        /* Accepted, it behaves as a subscription the peer made. */
        if (r->answered && m->type == FR_MOQ_MSG_REQUEST_UPDATE) {
            fr_moq_msg ok;
            fr_moq_params_from_wire(&r->pub->params,
                                    &m->u.request_update.params);
            memset(&ok, 0, sizeof(ok));
            ok.type = FR_MOQ_MSG_REQUEST_OK;
            fr_moq_req_send(r, &ok, 0);
            if (s->cb.pub_updated)
                s->cb.pub_updated(r->pub, &r->pub->params, s->user_data);
            return;
        }
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                    "unexpected answer to PUBLISH");
        return;
    case FR_REQ_IN_SUBSCRIBE:
        if (m->type == FR_MOQ_MSG_REQUEST_UPDATE && r->pub) {
            fr_moq_msg ok;
            fr_moq_params_from_wire(&r->pub->params,
                                    &m->u.request_update.params);
            memset(&ok, 0, sizeof(ok));
            ok.type = FR_MOQ_MSG_REQUEST_OK;
            fr_moq_req_send(r, &ok, 0);
            if (s->cb.pub_updated)
                s->cb.pub_updated(r->pub, &r->pub->params, s->user_data);
        } else {
            fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                        "unexpected message on a subscription");
        }
        return;
    default:
        fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                    "unexpected message on a request stream");
        return;
    }
}

void fr_moq_ns_request_ended(fr_moq_session *s, fr_moq_req *r)
{
    uint64_t id = r->id;
    fr_moq_req_kind kind = r->kind;

    fr_moq_req_end(r);
    if (kind != FR_REQ_IN_PUBLISH_NS) {
        if (s->cb.subscribe_namespace_done)
            s->cb.subscribe_namespace_done(s, id, s->user_data);
    } else if (s->cb.publish_namespace_done) {
        s->cb.publish_namespace_done(s, id, s->user_data);
    }
}

/* The peer finished its side of a request stream. */
static void request_fin(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_moq_req *r = rs->req;

    /* A namespace is withdrawn, and a namespace subscription ends, by
     * ending its request stream (or by cancelling it, see session.c);
     * other requests end through their messages or their data streams. */
    if (r && (r->kind == FR_REQ_IN_PUBLISH_NS ||
              r->kind == FR_REQ_IN_SUBSCRIBE_NS ||
              r->kind == FR_REQ_IN_SUBSCRIBE_TRACKS))
        fr_moq_ns_request_ended(s, r);
}

int fr_moq_request_data(fr_moq_session *s, fr_moq_rstream *rs, int fin)
{
    int64_t sid = rs->id;
    fr_moq_msg m;
    size_t n;
    int r;

    while (!s->closed && (r = next_msg(s, rs, &m, &n)) > 0) {
        if (!rs->req)
            on_new_request(s, rs, &m);
        else
            on_response(s, rs->req, &m);
        /* The handlers may have freed the stream with its request. */
        if (s->closed || fr_hmap_find_u64(&s->rstreams, (uint64_t)sid) != rs)
            return 0;
        fr_moq_buf_consume(&rs->buf, n);
    }
    if (fin && !s->closed)
        request_fin(s, rs);
    return 0;
}
