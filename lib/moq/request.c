/*
 * Requests of a MoQT session and their bidirectional streams.
 *
 * Draft 18 bounds a peer's concurrent requests by its QUIC stream limit
 * alone (no MAX_REQUEST_ID). A request made while that limit is reached
 * waits here, its messages encoded and queued, and goes out in order when
 * the peer grants more streams: the caller sees it made, never refused. A
 * relay sending one upstream FETCH per joining subscriber relies on this.
 */
#include <stdlib.h>

#include <fastrelay/error.h>

#include "session_internal.h"

fr_moq_req *fr_moq_req_new(fr_moq_session *s, fr_moq_req_kind kind,
                           uint64_t id, int64_t stream_id)
{
    fr_moq_req *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->s = s;
    r->kind = kind;
    r->id = id;
    r->stream_id = stream_id;
    fr_moq_sub_params_default(&r->params);
    if (fr_hmap_insert_u64(&s->requests, id, r) != 0) {
        free(r);
        return NULL;
    }
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prev = r;
    s->reqs = r;
    if (kind == FR_REQ_IN_SUBSCRIBE)
        s->in_subscriptions++;
    return r;
}

static void unblock(fr_moq_req *r)
{
    fr_moq_session *s = r->s;
    fr_moq_req **pp = &s->blocked_head;

    while (*pp && *pp != r)
        pp = &(*pp)->next_blocked;
    if (!*pp)
        return;
    *pp = r->next_blocked;
    if (s->blocked_tail == r) {
        s->blocked_tail = NULL;
        for (fr_moq_req *q = s->blocked_head; q; q = q->next_blocked)
            s->blocked_tail = q;
    }
    r->next_blocked = NULL;
    s->nblocked--;
}

void fr_moq_req_end(fr_moq_req *r)
{
    fr_moq_session *s = r->s;

    if (r->stream_id >= 0) {
        fr_moq_rstream *rs =
            fr_hmap_find_u64(&s->rstreams, (uint64_t)r->stream_id);
        /* The stream closes, and the peer gets its credit back, only once
         * both directions are done. */
        if (!r->write_closed && !s->closed)
            fr_quic_conn_stream_write(s->conn, r->stream_id, NULL, 0, 1);
        if (rs && rs->req == r) {
            fr_hmap_remove_u64(&s->rstreams, (uint64_t)r->stream_id);
            fr_moq_rstream_free(s, rs);
        }
    } else {
        /* Still waiting for a stream: it never reached the peer. */
        unblock(r);
    }
    fr_hmap_remove_u64(&s->requests, r->id);
    if (r->kind == FR_REQ_IN_SUBSCRIBE)
        s->in_subscriptions--;
    if (r->prev)
        r->prev->next = r->next;
    else
        s->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    fr_moq_buf_free(&r->queued);
    fr_moq_name_copy_free(&r->name);
    free(r);
}

void fr_moq_req_reset(fr_moq_req *r, uint64_t code)
{
    if (!r->s->closed && r->stream_id >= 0 && !r->write_closed)
        r->s->tp->reset(r->s, r->stream_id, code);
    r->write_closed = 1;
}

/* Gives `r` the bidirectional stream `sid`. */
static int attach_stream(fr_moq_req *r, int64_t sid)
{
    fr_moq_session *s = r->s;
    fr_moq_rstream *rs = calloc(1, sizeof(*rs));

    if (!rs || fr_hmap_insert_u64(&s->rstreams, (uint64_t)sid, rs)) {
        free(rs);
        s->tp->reset(s, sid, FR_MOQ_STREAM_INTERNAL_ERROR);
        return FR_ERR_NOMEM;
    }
    fr_quic_conn_stream_set_priority(s->conn, sid, 1);
    rs->id = sid;
    rs->kind = FR_RS_REQUEST;
    rs->req = r;
    r->stream_id = sid;
    return 0;
}

int fr_moq_req_open(fr_moq_session *s, fr_moq_req_kind kind,
                    fr_moq_req **pr)
{
    fr_moq_req *r;
    int64_t sid = -1;
    int rv;

    if (s->closed)
        return FR_ERR_CONN_CLOSED;
    if (s->ctrl_out < 0)
        return FR_ERR_INVALID_STATE;
    if (s->goaway_received)
        return FR_ERR_GOING_AWAY;
    /* Requests keep their order: none overtakes one that waits. */
    if (!s->blocked_head) {
        rv = s->tp->open_bidi(s, &sid);
        if (rv && rv != FR_ERR_STREAM_LIMIT)
            return rv;
    }
    r = fr_moq_req_new(s, kind, s->next_request_id, -1);
    if (!r) {
        if (sid >= 0)
            s->tp->reset(s, sid, FR_MOQ_STREAM_INTERNAL_ERROR);
        return FR_ERR_NOMEM;
    }
    if (sid >= 0) {
        rv = attach_stream(r, sid);
        if (rv) {
            fr_moq_req_end(r);
            return rv;
        }
    } else {
        if (s->blocked_tail)
            s->blocked_tail->next_blocked = r;
        else
            s->blocked_head = r;
        s->blocked_tail = r;
        s->nblocked++;
        FR_DEBUG(&s->settings.log,
                 "request %llu waits for the peer's stream limit "
                 "(%zu waiting)",
                 (unsigned long long)r->id, s->nblocked);
    }
    s->next_request_id += 2;
    *pr = r;
    return 0;
}

int fr_moq_req_send(fr_moq_req *r, const fr_moq_msg *msg, int fin)
{
    uint8_t *buf;
    ssize_t n;
    int rv;

    if (r->stream_id >= 0)
        return fr_moq_send_msg(r->s, r->stream_id, msg, fin);
    n = fr_moq_msg_encode_alloc(r->s, msg, &buf);
    if (n < 0)
        return (int)n;
    rv = fr_moq_buf_append(&r->queued, buf, (size_t)n);
    free(buf);
    if (rv == 0 && fin)
        r->queued_fin = 1;
    return rv;
}

int fr_moq_in_streams_available(fr_moq_session *s)
{
    int rv = 0;

    while (s->blocked_head && !s->closed) {
        fr_moq_req *r = s->blocked_head;
        int64_t sid;

        rv = s->tp->open_bidi(s, &sid);
        if (rv == FR_ERR_STREAM_LIMIT) {
            rv = 0;
            break;
        }
        if (rv == 0)
            rv = attach_stream(r, sid);
        if (rv) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "cannot open a request "
                                                  "stream");
            break;
        }
        unblock(r);
        rv = fr_quic_conn_stream_write(s->conn, sid, r->queued.data,
                                       r->queued.len, r->queued_fin);
        if (r->queued_fin)
            r->write_closed = 1;
        fr_moq_buf_free(&r->queued);
        if (rv) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "cannot send a request");
            break;
        }
    }
    return rv;
}

int fr_moq_session_on_streams_available(fr_moq_session *s)
{
    int rv = 0;

    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_streams_available(s->wt);
    else
        rv = fr_moq_in_streams_available(s);
    fr_moq_leave(s);
    return rv;
}
