/*
 * The subscriber side of a MoQT session: SUBSCRIBE and its updates, the
 * end of a subscription (PUBLISH_DONE's stream count), FETCH.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "session_internal.h"

void fr_moq_params_to_wire(fr_moq_params *w, const fr_moq_sub_params *p)
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
    fr_moq_params_to_wire(&m.u.subscribe.params, p);
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
    fr_moq_params_to_wire(&m.u.request_update.params, p);
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
    fr_moq_params_to_wire(&m.u.fetch.params, &sub->params);
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
        f->s->tp->reset(f->s, f->data_stream,
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
