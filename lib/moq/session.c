/*
 * MoQT session: life cycle, stream dispatch, and the request API
 * (subscribe, fetch, namespaces) of both roles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "props.h"
#include "session_internal.h"

/* Buffers. */

int fr_moq_buf_append(fr_moq_buf *b, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *n;
        while (cap < b->len + len)
            cap *= 2;
        n = realloc(b->data, cap);
        if (!n)
            return FR_ERR_NOMEM;
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void fr_moq_buf_consume(fr_moq_buf *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void fr_moq_buf_free(fr_moq_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Names. */

int fr_moq_name_copy_set(fr_moq_name_copy *dst, const fr_moq_name *src)
{
    size_t total = src->track.len;
    uint8_t *p;

    for (size_t i = 0; i < src->nfields; i++)
        total += src->ns[i].len;
    dst->bytes = malloc(total ? total : 1);
    if (!dst->bytes)
        return FR_ERR_NOMEM;
    p = dst->bytes;
    dst->name.nfields = src->nfields;
    for (size_t i = 0; i < src->nfields; i++) {
        if (src->ns[i].len)
            memcpy(p, src->ns[i].data, src->ns[i].len);
        dst->name.ns[i].data = p;
        dst->name.ns[i].len = src->ns[i].len;
        p += src->ns[i].len;
    }
    if (src->track.len) /* empty for a namespace alone */
        memcpy(p, src->track.data, src->track.len);
    dst->name.track.data = p;
    dst->name.track.len = src->track.len;
    return 0;
}

void fr_moq_name_copy_free(fr_moq_name_copy *c)
{
    free(c->bytes);
    c->bytes = NULL;
}

void fr_moq_ns_from_wire(fr_moq_name *n, const fr_moq_namespace *ns)
{
    memset(n, 0, sizeof(*n));
    n->nfields = ns->nfields;
    for (size_t i = 0; i < ns->nfields; i++) {
        n->ns[i].data = ns->fields[i].base;
        n->ns[i].len = ns->fields[i].len;
    }
}

void fr_moq_ns_to_wire(fr_moq_namespace *ns, const fr_moq_name *n)
{
    ns->nfields = n->nfields;
    for (size_t i = 0; i < n->nfields; i++) {
        ns->fields[i].base = n->ns[i].data;
        ns->fields[i].len = n->ns[i].len;
    }
}

void fr_moq_name_from_wire(fr_moq_name *n, const fr_moq_track_ref *t)
{
    fr_moq_ns_from_wire(n, &t->ns);
    n->track.data = t->name.base;
    n->track.len = t->name.len;
}

void fr_moq_name_to_wire(fr_moq_track_ref *t, const fr_moq_name *n)
{
    fr_moq_ns_to_wire(&t->ns, n);
    t->name.base = n->track.data;
    t->name.len = n->track.len;
}

uint64_t fr_moq_data_priority(const fr_moq_sub_params *p, uint8_t pub_prio,
                              uint64_t group, uint64_t subgroup,
                              uint8_t default_order)
{
    uint8_t order = p->group_order ? p->group_order : default_order;
    uint64_t g = group & 0xffffffffffULL; /* 40 bits */

    if (order == FR_MOQ_ORDER_DESCENDING)
        g = 0xffffffffffULL - g;
    /* Control (0) and request streams (1) sort before every data stream,
     * whose keys all exceed 2^48. */
    return ((uint64_t)p->subscriber_priority << 56 |
            (uint64_t)pub_prio << 48 | g << 8 |
            (subgroup > 0xff ? 0xff : subgroup)) +
           (1ULL << 48);
}

/* Errors and sending. */

void fr_moq_fail(fr_moq_session *s, uint64_t code, const char *reason)
{
    if (s->closed)
        return;
    FR_WARN(&s->settings.log, "closing MoQT session: %s (error 0x%llx)",
            reason, (unsigned long long)code);
    s->closed = 1;
    fr_quic_conn_close(s->conn, code, reason);
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

static void params_to_wire(fr_moq_params *w, const fr_moq_sub_params *p)
{
    memset(w, 0, sizeof(*w));
    if (p->subscriber_priority != 128) {
        w->present |= FR_MOQ_P_SUBSCRIBER_PRIORITY;
        w->subscriber_priority = p->subscriber_priority;
    }
    if (p->group_order) {
        w->present |= FR_MOQ_P_GROUP_ORDER;
        w->group_order = p->group_order;
    }
    if (!p->forward) {
        w->present |= FR_MOQ_P_FORWARD;
        w->forward = 0;
    }
    if (p->filter != FR_MOQ_FILTER_NONE) {
        w->present |= FR_MOQ_P_SUBSCRIPTION_FILTER;
        w->filter.type = p->filter;
        w->filter.start.group = p->start.group;
        w->filter.start.object = p->start.object;
        w->filter.end_group = p->end_group;
    }
}

void fr_moq_sub_params_default(fr_moq_sub_params *p)
{
    memset(p, 0, sizeof(*p));
    p->subscriber_priority = 128;
    p->forward = 1;
}

/* Applies wire parameters over `p` (which holds defaults or the current
 * values). */
void fr_moq_params_from_wire(fr_moq_sub_params *p, const fr_moq_params *w)
{
    if (w->present & FR_MOQ_P_SUBSCRIBER_PRIORITY)
        p->subscriber_priority = w->subscriber_priority;
    if (w->present & FR_MOQ_P_GROUP_ORDER)
        p->group_order = w->group_order;
    if (w->present & FR_MOQ_P_FORWARD)
        p->forward = w->forward;
    if (w->present & FR_MOQ_P_SUBSCRIPTION_FILTER) {
        p->filter = w->filter.type;
        p->start.group = w->filter.start.group;
        p->start.object = w->filter.start.object;
        p->end_group = w->filter.end_group;
    }
    if (w->present & FR_MOQ_P_RENDEZVOUS_TIMEOUT)
        p->rendezvous_timeout_ms = w->rendezvous_timeout;
}

int fr_moq_subscribe(fr_moq_session *s, const fr_moq_name *name,
                     const fr_moq_sub_params *p, fr_moq_sub **psub,
                     void *sub_user_data)
{
    fr_moq_sub_params defaults;
    fr_moq_sub *sub;
    fr_moq_req *r;
    fr_moq_msg m;
    int rv;

    if (!s || !name || !psub)
        return FR_ERR_INVALID_ARGUMENT;
    if (!p) {
        fr_moq_sub_params_default(&defaults);
        p = &defaults;
    }
    sub = calloc(1, sizeof(*sub));
    if (!sub)
        return FR_ERR_NOMEM;
    if (fr_moq_name_copy_set(&sub->name, name) != 0) {
        free(sub);
        return FR_ERR_NOMEM;
    }
    rv = fr_moq_req_open(s, FR_REQ_SUBSCRIBE, &r);
    if (rv) {
        fr_moq_name_copy_free(&sub->name);
        free(sub);
        return rv;
    }
    sub->s = s;
    sub->req = r;
    sub->params = *p;
    sub->user_data = sub_user_data;
    r->sub = sub;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE;
    m.u.subscribe.request_id = r->id;
    fr_moq_name_to_wire(&m.u.subscribe.track, &sub->name.name);
    params_to_wire(&m.u.subscribe.params, p);
    if (p->rendezvous_timeout_ms) {
        m.u.subscribe.params.present |= FR_MOQ_P_RENDEZVOUS_TIMEOUT;
        m.u.subscribe.params.rendezvous_timeout = p->rendezvous_timeout_ms;
    }
    rv = fr_moq_req_send(r, &m, 0);
    if (rv) {
        r->sub = NULL;
        fr_moq_req_end(r);
        fr_moq_name_copy_free(&sub->name);
        free(sub);
        return rv;
    }
    *psub = sub;
    return 0;
}

static void sub_free(fr_moq_sub *sub)
{
    fr_moq_session *s = sub->s;

    if (sub->established &&
        fr_hmap_find_u64(&s->aliases, sub->info.track_alias) == sub)
        fr_hmap_remove_u64(&s->aliases, sub->info.track_alias);
    /* Fetches joined to it outlive it; they just lose the link. */
    for (fr_moq_req *r = s->reqs; r; r = r->next)
        if (r->fetch && r->fetch->joined == sub)
            r->fetch->joined = NULL;
    fr_moq_name_copy_free(&sub->name);
    free(sub);
}

void fr_moq_sub_end(fr_moq_sub *sub, int rejected, uint64_t code,
                    const char *reason)
{
    fr_moq_session *s = sub->s;
    fr_moq_req *r = sub->req;

    if (sub->done_notified)
        return;
    sub->done_notified = 1;
    /* Ended by PUBLISH_DONE's count or not at all: say which streams the
     * count did not cover (a publisher that miscounted, or lost ends). */
    if (sub->done_pending && sub->streams_open) {
        FR_WARN(&s->settings.log,
                "subscription ends with %llu of the %llu streams PUBLISH_DONE "
                "counted, %llu seen, %llu still open",
                (unsigned long long)(sub->streams_seen - sub->streams_open),
                (unsigned long long)sub->streams_expected,
                (unsigned long long)sub->streams_seen,
                (unsigned long long)sub->streams_open);
        fr_hmap_each(&s->rstreams, fr_moq_rstream_warn_open, sub);
    }
    /* Data streams still arriving for it are ignored from now on. */
    fr_hmap_each(&s->rstreams, fr_moq_rstream_detach_sub, sub);
    if (s->cb.sub_done)
        s->cb.sub_done(sub, rejected, code, reason, s->user_data);
    if (r) {
        r->sub = NULL;
        fr_moq_req_end(r);
    }
    sub_free(sub);
}

void fr_moq_sub_maybe_done(fr_moq_sub *sub)
{
    fr_moq_session *s = sub->s;
    uint64_t missing;

    if (!sub->done_pending || sub->streams_open)
        return;
    /* Streams reset before their header (a publisher giving up on a
     * subscriber that fell behind) never show whose they were; count
     * them for the subscription that still waits for streams. */
    missing = sub->streams_expected > sub->streams_seen
                  ? sub->streams_expected - sub->streams_seen
                  : 0;
    if (missing && s->unattributed >= missing) {
        s->unattributed -= missing;
        sub->streams_seen += missing;
    }
    if (sub->streams_seen >= sub->streams_expected)
        fr_moq_sub_end(sub, 0, sub->done_status, sub->done_reason);
}

void fr_moq_unattributed_stream(fr_moq_session *s)
{
    s->unattributed++;
    for (fr_moq_req *r = s->reqs, *next; r; r = next) {
        next = r->next;
        if (r->sub && r->sub->done_pending) {
            fr_moq_sub_maybe_done(r->sub);
            return; /* one stream ends at most one wait */
        }
    }
}

int fr_moq_unsubscribe(fr_moq_sub *sub)
{
    if (!sub || sub->done_notified)
        return FR_ERR_INVALID_ARGUMENT;
    if (!sub->s->closed && sub->req)
        fr_moq_req_reset(sub->req, FR_MOQ_STREAM_CANCELLED);
    fr_moq_sub_end(sub, 0, 0, "unsubscribed");
    return 0;
}

int fr_moq_sub_update(fr_moq_sub *sub, const fr_moq_sub_params *p)
{
    fr_moq_session *s = sub->s;
    fr_moq_msg m;
    int rv;

    if (!sub->req || s->closed)
        return FR_ERR_INVALID_STATE;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_UPDATE;
    m.u.request_update.request_id = s->next_request_id;
    params_to_wire(&m.u.request_update.params, p);
    /* Group order and filter cannot change; only send what may. */
    m.u.request_update.params.present &=
        ~(unsigned)(FR_MOQ_P_GROUP_ORDER | FR_MOQ_P_SUBSCRIPTION_FILTER);
    if (!(m.u.request_update.params.present & FR_MOQ_P_FORWARD) &&
        p->forward != sub->params.forward) {
        m.u.request_update.params.present |= FR_MOQ_P_FORWARD;
        m.u.request_update.params.forward = p->forward;
    }
    if (p->subscriber_priority != sub->params.subscriber_priority) {
        m.u.request_update.params.present |= FR_MOQ_P_SUBSCRIBER_PRIORITY;
        m.u.request_update.params.subscriber_priority =
            p->subscriber_priority;
    }
    rv = fr_moq_req_send(sub->req, &m, 0);
    if (rv)
        return rv;
    s->next_request_id += 2;
    sub->params.subscriber_priority = p->subscriber_priority;
    sub->params.forward = p->forward;
    return 0;
}

const fr_moq_name *fr_moq_sub_name(const fr_moq_sub *sub)
{
    return &sub->name.name;
}

void fr_moq_sub_get_progress(const fr_moq_sub *sub, fr_moq_sub_progress *p)
{
    p->done_received = sub->done_pending;
    p->streams_expected = sub->streams_expected;
    p->streams_seen = sub->streams_seen;
    p->streams_open = sub->streams_open;
}

fr_moq_session *fr_moq_sub_session(const fr_moq_sub *sub)
{
    return sub->s;
}

void *fr_moq_sub_get_user_data(const fr_moq_sub *sub)
{
    return sub->user_data;
}

void fr_moq_sub_set_user_data(fr_moq_sub *sub, void *ud)
{
    sub->user_data = ud;
}

/* Fetches (subscriber side). */

static int fetch_send(fr_moq_session *s, fr_moq_fetch **pf, fr_moq_msg *m,
                      fr_moq_sub *joined, void *ud)
{
    fr_moq_fetch *f = calloc(1, sizeof(*f));
    fr_moq_req *r;
    int rv;

    if (!f)
        return FR_ERR_NOMEM;
    rv = fr_moq_req_open(s, FR_REQ_FETCH, &r);
    if (rv) {
        free(f);
        return rv;
    }
    f->s = s;
    f->req = r;
    f->joined = joined;
    f->data_stream = -1;
    f->user_data = ud;
    f->group_order = FR_MOQ_ORDER_ASCENDING;
    r->fetch = f;
    m->u.fetch.request_id = r->id;
    rv = fr_moq_req_send(r, m, 0);
    if (rv) {
        r->fetch = NULL;
        fr_moq_req_end(r);
        free(f);
        return rv;
    }
    *pf = f;
    return 0;
}

int fr_moq_fetch_joining(fr_moq_sub *sub, int relative, uint64_t start,
                         fr_moq_fetch **pf, void *fetch_user_data)
{
    fr_moq_msg m;

    if (!sub || !pf || !sub->req)
        return FR_ERR_INVALID_ARGUMENT;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH;
    m.u.fetch.fetch_type =
        relative ? FR_MOQ_FETCH_RELATIVE_JOINING : FR_MOQ_FETCH_ABSOLUTE_JOINING;
    m.u.fetch.joining_request_id = sub->req->id;
    m.u.fetch.joining_start = start;
    params_to_wire(&m.u.fetch.params, &sub->params);
    m.u.fetch.params.present &=
        (unsigned)(FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_GROUP_ORDER);
    return fetch_send(sub->s, pf, &m, sub, fetch_user_data);
}

int fr_moq_fetch_range(fr_moq_session *s, const fr_moq_name *name,
                       fr_moq_location start, fr_moq_location end,
                       fr_moq_fetch **pf, void *fetch_user_data)
{
    fr_moq_msg m;

    if (!s || !name || !pf)
        return FR_ERR_INVALID_ARGUMENT;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH;
    m.u.fetch.fetch_type = FR_MOQ_FETCH_STANDALONE;
    fr_moq_name_to_wire(&m.u.fetch.track, name);
    m.u.fetch.start.group = start.group;
    m.u.fetch.start.object = start.object;
    m.u.fetch.end.group = end.group;
    m.u.fetch.end.object = end.object;
    return fetch_send(s, pf, &m, NULL, fetch_user_data);
}

void fr_moq_fetch_end(fr_moq_fetch *f, int rejected, uint64_t code,
                      const char *reason)
{
    fr_moq_session *s = f->s;
    fr_moq_req *r = f->req;

    if (f->done_notified)
        return;
    f->done_notified = 1;
    fr_hmap_each(&s->rstreams, fr_moq_rstream_detach_fetch, f);
    if (!f->outgoing && s->cb.fetch_done)
        s->cb.fetch_done(f, rejected, code, reason, s->user_data);
    if (r) {
        r->fetch = NULL;
        fr_moq_req_end(r);
    }
    free(f);
}

int fr_moq_fetch_cancel(fr_moq_fetch *f)
{
    if (!f || f->done_notified || f->outgoing)
        return FR_ERR_INVALID_ARGUMENT;
    if (!f->s->closed && f->req)
        fr_moq_req_reset(f->req, FR_MOQ_STREAM_CANCELLED);
    if (!f->s->closed && f->data_stream >= 0)
        fr_quic_conn_stream_reset(f->s->conn, f->data_stream,
                                  FR_MOQ_STREAM_CANCELLED);
    fr_moq_fetch_end(f, 0, 0, "cancelled");
    return 0;
}

void *fr_moq_fetch_get_user_data(const fr_moq_fetch *f)
{
    return f->user_data;
}

void fr_moq_fetch_set_user_data(fr_moq_fetch *f, void *ud)
{
    f->user_data = ud;
}

/* Namespaces. */

int fr_moq_publish_namespace(fr_moq_session *s, const fr_moq_name *ns,
                             uint64_t *preq)
{
    fr_moq_req *r;
    fr_moq_msg m;
    int rv;

    if (!s || !ns)
        return FR_ERR_INVALID_ARGUMENT;
    rv = fr_moq_req_open(s, FR_REQ_PUBLISH_NS, &r);
    if (rv)
        return rv;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_NAMESPACE;
    m.u.ns_request.request_id = r->id;
    fr_moq_ns_to_wire(&m.u.ns_request.ns, ns);
    rv = fr_moq_req_send(r, &m, 0);
    if (rv) {
        fr_moq_req_end(r);
        return rv;
    }
    if (preq)
        *preq = r->id;
    return 0;
}

int fr_moq_publish_namespace_done(fr_moq_session *s, uint64_t req)
{
    fr_moq_req *r;

    if (!s)
        return FR_ERR_INVALID_ARGUMENT;
    r = fr_hmap_find_u64(&s->requests, req);
    if (!r || r->kind != FR_REQ_PUBLISH_NS)
        return FR_ERR_INVALID_ARGUMENT;
    fr_moq_req_reset(r, FR_MOQ_STREAM_CANCELLED);
    fr_moq_req_end(r);
    return 0;
}

int fr_moq_namespace_update(fr_moq_session *s, uint64_t req,
                            const fr_moq_name *ns, int active)
{
    fr_moq_req *r;
    fr_moq_name suffix;
    fr_moq_msg m;
    size_t skip;

    if (!s || !ns || s->closed)
        return FR_ERR_INVALID_ARGUMENT;
    r = fr_hmap_find_u64(&s->requests, req);
    if (!r || r->kind != FR_REQ_IN_SUBSCRIBE_NS || !r->answered ||
        !fr_moq_ns_covers(&r->name.name, ns))
        return FR_ERR_INVALID_ARGUMENT;
    /* The subscriber knows its prefix: only what follows it is sent. */
    skip = r->name.name.nfields;
    memset(&suffix, 0, sizeof(suffix));
    suffix.nfields = ns->nfields - skip;
    memcpy(suffix.ns, ns->ns + skip, suffix.nfields * sizeof(suffix.ns[0]));
    memset(&m, 0, sizeof(m));
    m.type = active ? FR_MOQ_MSG_NAMESPACE : FR_MOQ_MSG_NAMESPACE_DONE;
    fr_moq_ns_to_wire(&m.u.ns_suffix.suffix, &suffix);
    return fr_moq_req_send(r, &m, 0);
}

/* Answers to incoming requests. */

static fr_moq_req *pending_in(fr_moq_session *s, uint64_t req)
{
    fr_moq_req *r = fr_hmap_find_u64(&s->requests, req);

    if (!r || r->answered || s->closed)
        return NULL;
    switch (r->kind) {
    case FR_REQ_IN_SUBSCRIBE:
    case FR_REQ_IN_FETCH:
    case FR_REQ_IN_PUBLISH_NS:
    case FR_REQ_IN_SUBSCRIBE_NS:
    case FR_REQ_IN_SUBSCRIBE_TRACKS:
    case FR_REQ_IN_TRACK_STATUS:
    case FR_REQ_IN_PUBLISH:
    case FR_REQ_IN_OTHER:
        return r;
    default:
        return NULL;
    }
}

int fr_moq_reject(fr_moq_session *s, uint64_t req, uint64_t code,
                  const char *reason)
{
    fr_moq_req *r = pending_in(s, req);
    fr_moq_msg m;

    if (!r)
        return FR_ERR_INVALID_ARGUMENT;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_ERROR;
    m.u.request_error.error_code = code;
    m.u.request_error.reason.base = (const uint8_t *)(reason ? reason : "");
    m.u.request_error.reason.len = reason ? strlen(reason) : 0;
    r->answered = 1;
    fr_moq_req_send(r, &m, 1);
    r->write_closed = 1;
    fr_moq_req_end(r);
    return 0;
}

int fr_moq_accept_request(fr_moq_session *s, uint64_t req)
{
    fr_moq_req *r = pending_in(s, req);
    fr_moq_msg m;

    if (!r || (r->kind != FR_REQ_IN_PUBLISH_NS &&
               r->kind != FR_REQ_IN_SUBSCRIBE_NS &&
               r->kind != FR_REQ_IN_SUBSCRIBE_TRACKS))
        return FR_ERR_INVALID_ARGUMENT;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_OK;
    r->answered = 1;
    return fr_moq_req_send(r, &m, 0);
}

static ssize_t info_props(uint8_t *buf, size_t len,
                          const fr_moq_track_info *info)
{
    return fr_moq_track_props_encode(buf, len, info->publisher_priority,
                                     info->group_order);
}

int fr_moq_accept_track_status(fr_moq_session *s, uint64_t req,
                               const fr_moq_track_info *info)
{
    fr_moq_req *r = pending_in(s, req);
    uint8_t props[32];
    ssize_t plen;
    fr_moq_msg m;
    int rv;

    if (!r || r->kind != FR_REQ_IN_TRACK_STATUS || !info)
        return FR_ERR_INVALID_ARGUMENT;
    plen = info_props(props, sizeof(props), info);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_OK;
    if (info->has_largest) {
        m.u.request_ok.params.present |= FR_MOQ_P_LARGEST_OBJECT;
        m.u.request_ok.params.largest_object.group = info->largest.group;
        m.u.request_ok.params.largest_object.object = info->largest.object;
    }
    m.u.request_ok.track_properties.base = props;
    m.u.request_ok.track_properties.len = plen > 0 ? (size_t)plen : 0;
    r->answered = 1;
    rv = fr_moq_req_send(r, &m, 1);
    r->write_closed = 1;
    fr_moq_req_end(r);
    return rv;
}

int fr_moq_publish(fr_moq_session *s, const fr_moq_name *name,
                   const fr_moq_track_info *info, fr_moq_pub **ppub,
                   void *pub_user_data)
{
    fr_moq_pub *pub;
    fr_moq_req *r;
    uint8_t props[32];
    ssize_t plen;
    fr_moq_msg m;
    int rv;

    if (!s || !name || !info || !ppub)
        return FR_ERR_INVALID_ARGUMENT;
    pub = calloc(1, sizeof(*pub));
    if (!pub)
        return FR_ERR_NOMEM;
    rv = fr_moq_req_open(s, FR_REQ_PUBLISH, &r);
    if (rv) {
        free(pub);
        return rv;
    }
    if (fr_moq_name_copy_set(&r->name, name) != 0) {
        fr_moq_req_end(r);
        free(pub);
        return FR_ERR_NOMEM;
    }
    pub->s = s;
    pub->req = r;
    fr_moq_sub_params_default(&pub->params);
    pub->info = *info;
    if (!pub->info.group_order)
        pub->info.group_order = FR_MOQ_ORDER_ASCENDING;
    pub->user_data = pub_user_data;
    plen = info_props(props, sizeof(props), &pub->info);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH;
    m.u.publish.request_id = r->id;
    fr_moq_name_to_wire(&m.u.publish.track, &r->name.name);
    m.u.publish.track_alias = info->track_alias;
    if (info->has_largest) {
        m.u.publish.params.present |= FR_MOQ_P_LARGEST_OBJECT;
        m.u.publish.params.largest_object.group = info->largest.group;
        m.u.publish.params.largest_object.object = info->largest.object;
    }
    m.u.publish.track_properties.base = props;
    m.u.publish.track_properties.len = plen > 0 ? (size_t)plen : 0;
    rv = fr_moq_req_send(r, &m, 0);
    if (rv) {
        fr_moq_req_end(r);
        free(pub);
        return rv;
    }
    r->pub = pub;
    *ppub = pub;
    return 0;
}

int fr_moq_accept_publish(fr_moq_session *s, uint64_t req,
                          const fr_moq_sub_params *p, fr_moq_sub **psub,
                          void *sub_user_data)
{
    fr_moq_req *r = pending_in(s, req);
    fr_moq_sub_params defaults;
    fr_moq_sub *sub;
    fr_moq_msg m;
    int rv;

    if (!r || r->kind != FR_REQ_IN_PUBLISH || !psub)
        return FR_ERR_INVALID_ARGUMENT;
    if (!p) {
        fr_moq_sub_params_default(&defaults);
        p = &defaults;
    }
    if (fr_hmap_find_u64(&s->aliases, r->info.track_alias)) {
        fr_moq_fail(s, FR_MOQ_DUPLICATE_TRACK_ALIAS, "track alias in use");
        return FR_ERR_PROTO;
    }
    sub = calloc(1, sizeof(*sub));
    if (!sub || fr_moq_name_copy_set(&sub->name, &r->name.name) != 0) {
        free(sub);
        return FR_ERR_NOMEM;
    }
    if (fr_hmap_insert_u64(&s->aliases, r->info.track_alias, sub) != 0) {
        fr_moq_name_copy_free(&sub->name);
        free(sub);
        return FR_ERR_NOMEM;
    }
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_OK; /* PUBLISH_OK */
    params_to_wire(&m.u.request_ok.params, p);
    rv = fr_moq_req_send(r, &m, 0);
    if (rv) {
        fr_hmap_remove_u64(&s->aliases, r->info.track_alias);
        fr_moq_name_copy_free(&sub->name);
        free(sub);
        return rv;
    }
    sub->s = s;
    sub->req = r;
    sub->params = *p;
    sub->info = r->info;
    sub->established = 1;
    sub->user_data = sub_user_data;
    /* From here on it is a subscription like one we made. */
    r->kind = FR_REQ_SUBSCRIBE;
    r->answered = 1;
    r->sub = sub;
    *psub = sub;
    fr_moq_alias_ready(s, sub->info.track_alias);
    return 0;
}

int fr_moq_accept_subscribe(fr_moq_session *s, uint64_t req,
                            const fr_moq_track_info *info, fr_moq_pub **ppub,
                            void *pub_user_data)
{
    fr_moq_req *r = pending_in(s, req);
    fr_moq_pub *pub;
    uint8_t props[32];
    ssize_t plen;
    fr_moq_msg m;
    int rv;

    if (!r || r->kind != FR_REQ_IN_SUBSCRIBE || !info || !ppub)
        return FR_ERR_INVALID_ARGUMENT;
    pub = calloc(1, sizeof(*pub));
    if (!pub)
        return FR_ERR_NOMEM;
    pub->s = s;
    pub->req = r;
    pub->params = r->params;
    pub->info = *info;
    if (!pub->info.group_order)
        pub->info.group_order = FR_MOQ_ORDER_ASCENDING;
    pub->user_data = pub_user_data;
    plen = info_props(props, sizeof(props), &pub->info);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE_OK;
    m.u.subscribe_ok.track_alias = info->track_alias;
    if (info->has_largest) {
        m.u.subscribe_ok.params.present |= FR_MOQ_P_LARGEST_OBJECT;
        m.u.subscribe_ok.params.largest_object.group = info->largest.group;
        m.u.subscribe_ok.params.largest_object.object = info->largest.object;
    }
    m.u.subscribe_ok.track_properties.base = props;
    m.u.subscribe_ok.track_properties.len = plen > 0 ? (size_t)plen : 0;
    rv = fr_moq_req_send(r, &m, 0);
    if (rv) {
        free(pub);
        return rv;
    }
    r->answered = 1;
    r->pub = pub;
    *ppub = pub;
    return 0;
}

void fr_moq_pub_end(fr_moq_pub *pub)
{
    fr_moq_session *s = pub->s;
    fr_moq_req *r = pub->req;

    if (pub->done)
        return;
    pub->done = 1;
    fr_moq_subgroups_free(pub);
    if (s->cb.pub_done)
        s->cb.pub_done(pub, s->user_data);
    if (r) {
        r->pub = NULL;
        fr_moq_req_end(r);
    }
    free(pub);
}

int fr_moq_pub_done(fr_moq_pub *pub, uint64_t status, const char *reason)
{
    fr_moq_session *s = pub->s;
    fr_moq_msg m;

    if (pub->done)
        return FR_ERR_INVALID_STATE;
    /* Every stream of the subscription is closed before PUBLISH_DONE. */
    while (pub->subgroups)
        fr_moq_subgroup_close(pub->subgroups);
    if (!s->closed && pub->req) {
        memset(&m, 0, sizeof(m));
        m.type = FR_MOQ_MSG_PUBLISH_DONE;
        m.u.publish_done.status_code = status;
        m.u.publish_done.stream_count = pub->streams_opened;
        m.u.publish_done.reason.base = (const uint8_t *)(reason ? reason : "");
        m.u.publish_done.reason.len = reason ? strlen(reason) : 0;
        fr_moq_req_send(pub->req, &m, 1);
        pub->req->write_closed = 1;
    }
    fr_moq_pub_end(pub);
    return 0;
}

const fr_moq_sub_params *fr_moq_pub_params(const fr_moq_pub *pub)
{
    return &pub->params;
}

const fr_moq_name *fr_moq_pub_name(const fr_moq_pub *pub)
{
    return &pub->req->name.name;
}

fr_moq_session *fr_moq_pub_session(const fr_moq_pub *pub)
{
    return pub->s;
}

uint64_t fr_moq_pub_track_alias(const fr_moq_pub *pub)
{
    return pub->info.track_alias;
}

void *fr_moq_pub_get_user_data(const fr_moq_pub *pub)
{
    return pub->user_data;
}

void fr_moq_pub_set_user_data(fr_moq_pub *pub, void *ud)
{
    pub->user_data = ud;
}

size_t fr_moq_pub_queued(const fr_moq_pub *pub)
{
    return fr_quic_conn_send_buffered(pub->s->conn);
}

/* Session life cycle. */

void fr_moq_settings_default(fr_moq_settings *st)
{
    memset(st, 0, sizeof(*st));
    st->max_object_size = 16 * 1024 * 1024;
    st->max_queued = 32 * 1024 * 1024;
    st->log.level = FR_LOG_NONE;
    st->max_subscriptions = 1000;
}

/* Opens our control stream and sends SETUP. */
/* The draft the handshake settled on, by ALPN ("moqt-NN"). */
static unsigned draft_of(const fr_quic_conn *conn)
{
    const char *alpn = fr_quic_conn_get_alpn(conn);

    return alpn && strcmp(alpn, FR_MOQ_ALPN_19) == 0 ? FR_MOQ_DRAFT_19
                                                     : FR_MOQ_DRAFT_18;
}

static int session_start(fr_moq_session *s)
{
    fr_moq_msg m;
    int rv;

    s->draft = draft_of(s->conn);
    rv = fr_quic_conn_open_uni_stream(s->conn, &s->ctrl_out);
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

int fr_moq_session_new(fr_moq_session **ps, fr_quic_conn *conn,
                       const fr_moq_callbacks *cb,
                       const fr_moq_settings *settings, void *user_data)
{
    fr_moq_session *s;

    if (!ps || !conn || !cb || !settings)
        return FR_ERR_INVALID_ARGUMENT;
    s = calloc(1, sizeof(*s));
    if (!s)
        return FR_ERR_NOMEM;
    s->conn = conn;
    s->cb = *cb;
    s->settings = *settings;
    s->settings.implementation = NULL;
    if (settings->implementation) {
        s->implementation = strdup(settings->implementation);
        if (!s->implementation) {
            free(s);
            return FR_ERR_NOMEM;
        }
    }
    s->user_data = user_data;
    s->is_server = fr_quic_conn_is_server(conn);
    s->next_request_id = s->is_server ? 1 : 0;
    s->peer_next_id = s->is_server ? 0 : 1;
    s->ctrl_out = -1;
    fr_hmap_init(&s->rstreams);
    fr_hmap_init(&s->requests);
    fr_hmap_init(&s->aliases);
    fr_quic_conn_set_user_data(conn, s);
    if (fr_quic_conn_is_handshake_completed(conn) && session_start(s) != 0) {
        fr_quic_conn_set_user_data(conn, NULL);
        free(s->implementation);
        free(s);
        return FR_ERR_INTERNAL;
    }
    *ps = s;
    return 0;
}

int fr_moq_session_on_handshake(fr_moq_session *s)
{
    int rv;

    if (s->ctrl_out >= 0)
        return 0;
    fr_moq_enter(s);
    rv = session_start(s);
    if (rv)
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "cannot open control stream");
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
    return fr_quic_conn_close(s->conn, code, reason);
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

static int stream_data(fr_moq_session *s, int64_t sid, const uint8_t *data,
                       size_t len, int fin)
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

static int stream_reset(fr_moq_session *s, int64_t sid, uint64_t code)
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

static int stop_sending(fr_moq_session *s, int64_t sid, uint64_t code)
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
    int rv;

    fr_moq_enter(s);
    rv = stream_data(s, sid, data, len, fin);
    fr_moq_leave(s);
    return rv;
}

int fr_moq_session_on_stream_reset(fr_moq_session *s, int64_t sid,
                                   uint64_t code)
{
    int rv;

    fr_moq_enter(s);
    rv = stream_reset(s, sid, code);
    fr_moq_leave(s);
    return rv;
}

int fr_moq_session_on_stream_stop_sending(fr_moq_session *s, int64_t sid,
                                          uint64_t code)
{
    int rv;

    fr_moq_enter(s);
    rv = stop_sending(s, sid, code);
    fr_moq_leave(s);
    return rv;
}
