/*
 * Data streams: receiving subgroup and fetch streams, and writing them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "session_internal.h"

/* Bytes a subgroup stream may buffer while its track alias is unknown
 * (SUBSCRIBE_OK can arrive after the first objects when packets are lost). */
#define FR_PENDING_ALIAS_MAX (1024 * 1024)

void fr_moq_rstream_free(fr_moq_session *s, fr_moq_rstream *rs)
{
    (void)s;
    fr_moq_buf_free(&rs->buf);
    free(rs);
}

static void rstream_drop(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_hmap_remove_u64(&s->rstreams, (uint64_t)rs->id);
    fr_moq_rstream_free(s, rs);
}

/* Stops reading a stream we no longer want; later bytes are dropped. */
static void rstream_abandon(fr_moq_session *s, fr_moq_rstream *rs)
{
    rs->kind = FR_RS_IGNORE;
    rs->sub = NULL;
    rs->fetch = NULL;
    fr_moq_buf_free(&rs->buf);
    if (!s->closed)
        s->tp->reset(s, rs->id, FR_MOQ_STREAM_CANCELLED);
}

void fr_moq_rstream_detach_sub(void *rstream, void *sub)
{
    fr_moq_rstream *rs = rstream;

    if (rs->sub == sub) {
        rs->sub = NULL;
        rs->kind = FR_RS_IGNORE;
        fr_moq_buf_free(&rs->buf);
    }
}

void fr_moq_rstream_warn_open(void *rstream, void *sub)
{
    fr_moq_rstream *rs = rstream;
    fr_moq_sub *sb = sub;
    char last[24] = "none";

    if (rs->sub != sb || !rs->hdr_done)
        return;
    if (rs->has_prev_object)
        snprintf(last, sizeof(last), "%llu",
                 (unsigned long long)rs->prev_object);
    FR_WARN(&sb->s->settings.log,
            "subgroup stream %lld (group %llu, subgroup %llu, last object "
            "%s) never ended",
            (long long)rs->id, (unsigned long long)rs->hdr.group,
            (unsigned long long)rs->hdr.subgroup, last);
}

void fr_moq_rstream_detach_fetch(void *rstream, void *fetch)
{
    fr_moq_rstream *rs = rstream;

    if (rs->fetch == fetch) {
        rs->fetch = NULL;
        rs->kind = FR_RS_IGNORE;
        fr_moq_buf_free(&rs->buf);
    }
}

static void subgroup_begin(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_moq_subgroup_info info;

    memset(&info, 0, sizeof(info));
    info.group = rs->hdr.group;
    info.subgroup = rs->hdr.subgroup;
    info.publisher_priority = rs->hdr.has_priority
                                  ? rs->hdr.publisher_priority
                                  : rs->sub->info.publisher_priority;
    info.end_of_group = (rs->hdr.type & FR_MOQ_SG_END_OF_GROUP) != 0;
    info.has_properties = (rs->hdr.type & FR_MOQ_SG_PROPERTIES) != 0;
    info.first_object = (rs->hdr.type & FR_MOQ_SG_FIRST_OBJECT) != 0;
    rs->begun = 1;
    if (s->cb.subgroup_begin)
        s->cb.subgroup_begin(rs->sub, (uint64_t)rs->id, &info, s->user_data);
}

/* The subgroup ID of mode 1 headers is the first object's ID. */
static int subgroup_id_from_first_object(const fr_moq_rstream *rs)
{
    return ((rs->hdr.type & FR_MOQ_SG_ID_MODE_MASK) >> 1) == 1;
}

/* Parses and delivers every complete object buffered on a subgroup
 * stream. Returns 0, or -1 if the session failed. */
static int subgroup_objects(fr_moq_session *s, fr_moq_rstream *rs)
{
    size_t off = 0;

    while (rs->sub && off < rs->buf.len) {
        fr_moq_object_header oh;
        fr_moq_object obj;
        fr_moq_error err;
        ssize_t n = fr_moq_subgroup_object_decode(
            rs->buf.data + off, rs->buf.len - off, rs->hdr.type, &oh, &err);
        uint64_t id;

        if (n == FR_MOQ_NEED_MORE)
            break;
        if (n < 0) {
            fr_moq_fail(s, err.code, err.reason);
            return FR_ERR_PROTO;
        }
        if (oh.payload_len > s->settings.max_object_size) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "object too large");
            return FR_ERR_PROTO;
        }
        if (rs->buf.len - off - (size_t)n < oh.payload_len)
            break;
        if (rs->has_prev_object) {
            if (oh.id_delta >= UINT64_MAX - rs->prev_object) {
                fr_moq_fail(s, FR_MOQ_PROTOCOL_VIOLATION,
                            "object ID overflow");
                return FR_ERR_PROTO;
            }
            id = rs->prev_object + oh.id_delta + 1;
        } else {
            id = oh.id_delta;
            if (subgroup_id_from_first_object(rs))
                rs->hdr.subgroup = id;
        }
        if (!rs->begun) {
            /* Mode 1: the header's subgroup is known only now; hand the
             * bytes held back so far to relays. */
            subgroup_begin(s, rs);
            if (rs->sub && s->cb.subgroup_data)
                s->cb.subgroup_data(rs->sub, (uint64_t)rs->id,
                                    rs->buf.data + off, rs->buf.len - off,
                                    s->user_data);
        }
        if (!rs->sub)
            return 0; /* the application unsubscribed in the callback */
        rs->has_prev_object = 1;
        rs->prev_object = id;
        memset(&obj, 0, sizeof(obj));
        obj.loc.group = rs->hdr.group;
        obj.loc.object = id;
        obj.subgroup = rs->hdr.subgroup;
        obj.publisher_priority = rs->hdr.has_priority
                                     ? rs->hdr.publisher_priority
                                     : rs->sub->info.publisher_priority;
        obj.status = oh.payload_len ? FR_MOQ_OBJ_NORMAL : oh.status;
        obj.properties = oh.properties.base;
        obj.properties_len = oh.properties.len;
        obj.payload = rs->buf.data + off + (size_t)n;
        obj.payload_len = (size_t)oh.payload_len;
        off += (size_t)n + (size_t)oh.payload_len;
        if (s->cb.object)
            s->cb.object(rs->sub, NULL, &obj, s->user_data);
    }
    if (rs->sub)
        fr_moq_buf_consume(&rs->buf, off);
    return 0;
}

static int subgroup_end(fr_moq_session *s, fr_moq_rstream *rs, int reset,
                        uint64_t code)
{
    fr_moq_sub *sub = rs->sub;

    if (sub && !reset && !rs->begun && rs->hdr_done)
        subgroup_begin(s, rs); /* an empty subgroup still began */
    if (rs->sub && rs->begun && s->cb.subgroup_end)
        s->cb.subgroup_end(rs->sub, (uint64_t)rs->id, reset, code,
                           s->user_data);
    sub = rs->sub; /* NULL if it ended in a callback */
    rstream_drop(s, rs);
    if (sub) {
        sub->streams_open--;
        fr_moq_sub_maybe_done(sub);
    }
    return 0;
}

/* Reads the header of a subgroup stream from its buffer. Returns bytes of
 * header, 0 if incomplete, -1 on error. */
static ssize_t subgroup_header(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_moq_error err;
    ssize_t n = fr_moq_subgroup_header_decode(rs->buf.data, rs->buf.len,
                                              &rs->hdr, &err);

    if (n < 0)
        fr_moq_fail(s, err.code, err.reason);
    return n;
}

static int subgroup_data(fr_moq_session *s, fr_moq_rstream *rs,
                         const uint8_t *data, size_t len, int fin)
{
    if (rs->hdr_done) {
        /* Relays forward the bytes as they come, before parsing. */
        if (len && s->cb.subgroup_data && rs->begun)
            s->cb.subgroup_data(rs->sub, (uint64_t)rs->id, data, len,
                                s->user_data);
        if (fr_moq_buf_append(&rs->buf, data, len) != 0) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
            return FR_ERR_NOMEM;
        }
    } else {
        ssize_t n;
        if (fr_moq_buf_append(&rs->buf, data, len) != 0) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
            return FR_ERR_NOMEM;
        }
        n = subgroup_header(s, rs);
        if (n < 0)
            return FR_ERR_PROTO;
        if (n == 0) {
            if (fin)
                rstream_drop(s, rs);
            return 0;
        }
        rs->sub = fr_hmap_find_u64(&s->aliases, rs->hdr.track_alias);
        if (!rs->sub) {
            /* Wait for the SUBSCRIBE_OK naming this alias. */
            rs->pending_alias = 1;
            rs->fin_seen = fin;
            if (rs->buf.len > FR_PENDING_ALIAS_MAX)
                rstream_abandon(s, rs);
            return 0;
        }
        rs->hdr_done = 1;
        rs->sub->streams_seen++;
        rs->sub->streams_open++;
        rs->hdr_raw_len = (size_t)n <= sizeof(rs->hdr_raw) ? (size_t)n : 0;
        memcpy(rs->hdr_raw, rs->buf.data, rs->hdr_raw_len);
        fr_moq_buf_consume(&rs->buf, (size_t)n);
        if (!subgroup_id_from_first_object(rs))
            subgroup_begin(s, rs);
        if (!rs->sub)
            return 0;
        if (rs->buf.len && s->cb.subgroup_data && rs->begun)
            s->cb.subgroup_data(rs->sub, (uint64_t)rs->id, rs->buf.data,
                                rs->buf.len, s->user_data);
    }
    if (rs->sub && subgroup_objects(s, rs) < 0)
        return FR_ERR_PROTO;
    /* With mode 1 the begin waits for the first object; relays get the
     * bytes buffered so far once it is known. */
    if (fin)
        return subgroup_end(s, rs, 0, 0);
    return 0;
}

typedef struct pending_scan {
    uint64_t alias;
    fr_moq_rstream *found[64];
    size_t n;
} pending_scan;

static void collect_pending(void *rstream, void *arg)
{
    fr_moq_rstream *rs = rstream;
    pending_scan *ps = arg;

    if (rs->kind == FR_RS_SUBGROUP && rs->pending_alias &&
        rs->hdr.track_alias == ps->alias && ps->n < 64)
        ps->found[ps->n++] = rs;
}

void fr_moq_alias_ready(fr_moq_session *s, uint64_t alias)
{
    pending_scan ps = {alias, {0}, 0};

    /* Collect first: handling a stream may remove it from the map. */
    fr_hmap_each(&s->rstreams, collect_pending, &ps);
    for (size_t i = 0; i < ps.n && !s->closed; i++) {
        fr_moq_rstream *rs = ps.found[i];
        fr_moq_buf b = rs->buf;
        memset(&rs->buf, 0, sizeof(rs->buf));
        rs->pending_alias = 0;
        subgroup_data(s, rs, b.data, b.len, rs->fin_seen);
        free(b.data);
    }
}

/* Fetch streams. */

static int fetch_objects(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_moq_fetch *f = rs->fetch;
    size_t off = 0;

    while (f && off < rs->buf.len) {
        fr_moq_fetch_object fo;
        fr_moq_object obj;
        fr_moq_error err;
        ssize_t n = fr_moq_fetch_object_decode_ordered(
            rs->buf.data + off, rs->buf.len - off, f->group_order,
            f->has_prev ? &f->prev : NULL, &fo, &err);

        if (n == FR_MOQ_NEED_MORE)
            break;
        if (n < 0) {
            fr_moq_fail(s, err.code, err.reason);
            return FR_ERR_PROTO;
        }
        if (fo.payload_len > s->settings.max_object_size) {
            fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "object too large");
            return FR_ERR_PROTO;
        }
        if (rs->buf.len - off - (size_t)n < fo.payload_len)
            break;
        f->prev = fo;
        f->prev.properties.base = NULL; /* points into the buffer */
        f->prev.properties.len = 0;
        f->has_prev = 1;
        off += (size_t)n;
        if (fo.end_of_range)
            continue;
        memset(&obj, 0, sizeof(obj));
        obj.loc.group = fo.loc.group;
        obj.loc.object = fo.loc.object;
        obj.subgroup = fo.subgroup;
        obj.publisher_priority = fo.publisher_priority;
        obj.status = FR_MOQ_OBJ_NORMAL;
        obj.properties = fo.properties.base;
        obj.properties_len = fo.properties.len;
        obj.payload = rs->buf.data + off;
        obj.payload_len = (size_t)fo.payload_len;
        off += (size_t)fo.payload_len;
        if (s->cb.object)
            s->cb.object(f->joined, f, &obj, s->user_data);
        f = rs->fetch; /* the callback may have cancelled it */
    }
    if (rs->fetch)
        fr_moq_buf_consume(&rs->buf, off);
    return 0;
}

/* Delivers the objects of a fetch stream once FETCH_OK has come (objects
 * may arrive first: the stream and the answer travel apart). */
static int fetch_deliver(fr_moq_session *s, fr_moq_rstream *rs)
{
    fr_moq_fetch *f = rs->fetch;

    if (f && !f->ok)
        return 0;
    if (f && fetch_objects(s, rs) < 0)
        return FR_ERR_PROTO;
    if (rs->fin_seen) {
        f = rs->fetch;
        rstream_drop(s, rs);
        if (f) {
            f->data_done = 1;
            fr_moq_fetch_end(f, 0, 0, "fetch complete");
        }
    }
    return 0;
}

static int fetch_data(fr_moq_session *s, fr_moq_rstream *rs,
                      const uint8_t *data, size_t len, int fin)
{
    if (fr_moq_buf_append(&rs->buf, data, len) != 0) {
        fr_moq_fail(s, FR_MOQ_INTERNAL_ERROR, "out of memory");
        return FR_ERR_NOMEM;
    }
    if (!rs->hdr_done) {
        fr_moq_error err;
        uint64_t req_id;
        fr_moq_req *r;
        ssize_t n = fr_moq_fetch_header_decode(rs->buf.data, rs->buf.len,
                                               &req_id, &err);
        if (n < 0) {
            fr_moq_fail(s, err.code, err.reason);
            return FR_ERR_PROTO;
        }
        if (n == 0) {
            if (fin)
                rstream_drop(s, rs);
            return 0;
        }
        rs->hdr_done = 1;
        fr_moq_buf_consume(&rs->buf, (size_t)n);
        r = fr_hmap_find_u64(&s->requests, req_id);
        if (!r || r->kind != FR_REQ_FETCH || !r->fetch ||
            r->fetch->data_stream >= 0) {
            rstream_abandon(s, rs);
            return 0;
        }
        rs->fetch = r->fetch;
        rs->fetch->data_stream = rs->id;
    }
    rs->fin_seen |= fin;
    return fetch_deliver(s, rs);
}

void fr_moq_fetch_ready(fr_moq_session *s, fr_moq_fetch *f)
{
    fr_moq_rstream *rs;

    if (f->data_stream < 0)
        return;
    rs = fr_hmap_find_u64(&s->rstreams, (uint64_t)f->data_stream);
    if (rs && rs->fetch == f)
        fetch_deliver(s, rs);
}

int fr_moq_rstream_data(fr_moq_session *s, fr_moq_rstream *rs,
                        const uint8_t *data, size_t len, int fin)
{
    switch (rs->kind) {
    case FR_RS_SUBGROUP:
        return subgroup_data(s, rs, data, len, fin);
    case FR_RS_FETCH:
        return fetch_data(s, rs, data, len, fin);
    default:
        if (fin)
            rstream_drop(s, rs);
        return 0;
    }
}

int fr_moq_rstream_reset(fr_moq_session *s, fr_moq_rstream *rs,
                         uint64_t code)
{
    if (rs->kind == FR_RS_SUBGROUP && rs->hdr_done)
        return subgroup_end(s, rs, 1, code);
    if (rs->kind == FR_RS_UNKNOWN || rs->kind == FR_RS_SUBGROUP) {
        rstream_drop(s, rs);
        fr_moq_unattributed_stream(s);
        return 0;
    }
    if (rs->kind == FR_RS_FETCH && rs->fetch) {
        fr_moq_fetch *f = rs->fetch;
        rstream_drop(s, rs);
        fr_moq_fetch_end(f, 0, code, "fetch stream reset");
        return 0;
    }
    rstream_drop(s, rs);
    return 0;
}

/* Datagrams. */

int fr_moq_in_datagram(fr_moq_session *s, const uint8_t *data, size_t len)
{
    fr_moq_datagram d;
    fr_moq_error err;
    fr_moq_object obj;
    fr_moq_sub *sub;
    ssize_t n;

    if (s->closed)
        return 0;
    n = fr_moq_datagram_decode(data, len, &d, &err);
    if (n <= 0) {
        fr_moq_fail(s, n < 0 ? err.code : FR_MOQ_PROTOCOL_VIOLATION,
                    n < 0 ? err.reason : "truncated datagram");
        return FR_ERR_PROTO;
    }
    /* Datagrams of unknown or ended subscriptions are dropped. */
    sub = fr_hmap_find_u64(&s->aliases, d.track_alias);
    if (!sub || !s->cb.object)
        return 0;
    memset(&obj, 0, sizeof(obj));
    obj.loc.group = d.loc.group;
    obj.loc.object = d.loc.object;
    obj.publisher_priority = d.has_priority ? d.publisher_priority
                                            : sub->info.publisher_priority;
    obj.status = d.has_status ? d.status : FR_MOQ_OBJ_NORMAL;
    obj.properties = d.properties.base;
    obj.properties_len = d.properties.len;
    obj.payload = d.payload.base;
    obj.payload_len = d.payload.len;
    s->cb.object(sub, NULL, &obj, s->user_data);
    return 0;
}

int fr_moq_session_on_datagram(fr_moq_session *s, const uint8_t *data,
                               size_t len)
{
    int rv = 0;

    fr_moq_enter(s);
    if (s->wt)
        fr_wt_on_datagram(s->wt, data, len);
    else
        rv = fr_moq_in_datagram(s, data, len);
    fr_moq_leave(s);
    return rv;
}

/* Writing subgroups. */

static int queue_room(fr_moq_session *s, size_t len)
{
    if (s->closed)
        return FR_ERR_CONN_CLOSED;
    if (fr_quic_conn_send_buffered(s->conn) + len > s->settings.max_queued)
        return FR_ERR_QUEUE_FULL;
    return 0;
}

/* Makes `sg` the subgroup of `pub` on stream `sid`, at the priority its
 * subscription gives it. */
static void subgroup_link(fr_moq_pub *pub, fr_moq_subgroup *sg, int64_t sid,
                          const fr_moq_subgroup_info *info, uint64_t type)
{
    fr_moq_session *s = pub->s;

    fr_quic_conn_stream_set_priority(
        s->conn, sid,
        fr_moq_data_priority(&pub->params, info->publisher_priority,
                             info->group, info->subgroup,
                             pub->info.group_order));
    sg->pub = pub;
    sg->stream_id = sid;
    sg->type = type;
    sg->next = pub->subgroups;
    pub->subgroups = sg;
    pub->streams_opened++;
}

int fr_moq_pub_open_subgroup(fr_moq_pub *pub, const fr_moq_subgroup_info *info,
                             fr_moq_subgroup **psg)
{
    fr_moq_session *s = pub->s;
    fr_moq_subgroup_header h;
    uint8_t buf[64];
    fr_moq_subgroup *sg;
    ssize_t n;
    int64_t sid;
    int rv;

    if (!info || !psg || pub->done)
        return FR_ERR_INVALID_ARGUMENT;
    rv = queue_room(s, sizeof(buf));
    if (rv)
        return rv;
    memset(&h, 0, sizeof(h));
    h.track_alias = pub->info.track_alias;
    h.group = info->group;
    h.subgroup = info->subgroup;
    h.has_priority = info->publisher_priority != pub->info.publisher_priority;
    h.publisher_priority = info->publisher_priority;
    h.type = fr_moq_subgroup_type(info->has_properties,
                                  info->subgroup ? 2 : 0, info->end_of_group,
                                  !h.has_priority, info->first_object);
    n = fr_moq_subgroup_header_encode(buf, sizeof(buf), &h);
    if (n < 0)
        return FR_ERR_INTERNAL;
    sg = calloc(1, sizeof(*sg));
    if (!sg)
        return FR_ERR_NOMEM;
    rv = s->tp->open_uni(s, &sid);
    if (rv) {
        free(sg);
        return rv;
    }
    rv = fr_quic_conn_stream_write(s->conn, sid, buf, (size_t)n, 0);
    if (rv) {
        s->tp->reset(s, sid, FR_MOQ_STREAM_INTERNAL_ERROR);
        free(sg);
        return rv;
    }
    subgroup_link(pub, sg, sid, info, h.type);
    *psg = sg;
    return 0;
}

int fr_moq_pub_adopt_subgroup(fr_moq_pub *pub, int64_t stream_id,
                              const fr_moq_subgroup_info *info,
                              fr_moq_subgroup **psg)
{
    fr_moq_subgroup *sg;

    if (!info || !psg || pub->done)
        return FR_ERR_INVALID_ARGUMENT;
    sg = calloc(1, sizeof(*sg));
    if (!sg)
        return FR_ERR_NOMEM;
    subgroup_link(pub, sg, stream_id, info, 0);
    *psg = sg;
    return 0;
}

void fr_moq_stream_set_copy_class(fr_moq_session *s, int64_t stream_id,
                                  fr_copy_class cls)
{
    fr_stream_set_copy_class(s->conn, stream_id, cls);
}

int fr_moq_subgroup_raw_header(fr_moq_session *s, uint64_t stream,
                               const uint8_t **p, size_t *n)
{
    fr_moq_rstream *rs = fr_hmap_find_u64(&s->rstreams, stream);

    if (!rs || rs->kind != FR_RS_SUBGROUP || !rs->hdr_raw_len)
        return FR_ERR_STREAM_NOT_FOUND;
    *p = rs->hdr_raw;
    *n = rs->hdr_raw_len;
    return 0;
}

int fr_moq_subgroup_write_object(fr_moq_subgroup *sg, const fr_moq_object *o)
{
    fr_moq_session *s;
    fr_moq_object_header oh;
    uint64_t id;
    uint8_t stackbuf[256], *hdr = stackbuf;
    size_t cap = sizeof(stackbuf);
    ssize_t n;
    int rv;

    if (!sg || !o || (o->payload_len && !o->payload) ||
        (o->properties_len && !o->properties))
        return FR_ERR_INVALID_ARGUMENT;
    s = sg->pub->s;
    id = o->loc.object;
    if (sg->has_prev && id <= sg->prev_id)
        return FR_ERR_INVALID_ARGUMENT;
    rv = queue_room(s, o->payload_len + o->properties_len + 32);
    if (rv)
        return rv;
    memset(&oh, 0, sizeof(oh));
    oh.id_delta = sg->has_prev ? id - sg->prev_id - 1 : id;
    oh.payload_len = o->payload_len;
    oh.status = o->payload_len ? FR_MOQ_OBJ_NORMAL : o->status;
    if (sg->type & FR_MOQ_SG_PROPERTIES) {
        oh.properties.base = o->properties;
        oh.properties.len = o->properties_len;
    }
    if (oh.properties.len + 64 > cap) {
        cap = oh.properties.len + 64;
        hdr = malloc(cap);
        if (!hdr)
            return FR_ERR_NOMEM;
    }
    n = fr_moq_subgroup_object_encode(hdr, cap, sg->type, &oh);
    rv = n < 0 ? FR_ERR_INTERNAL
               : fr_quic_conn_stream_write(s->conn, sg->stream_id, hdr,
                                           (size_t)n, 0);
    if (hdr != stackbuf)
        free(hdr);
    if (rv == 0 && o->payload_len)
        rv = fr_quic_conn_stream_write(s->conn, sg->stream_id, o->payload,
                                       o->payload_len, 0);
    if (rv)
        return rv;
    sg->has_prev = 1;
    sg->prev_id = id;
    return 0;
}

int fr_moq_subgroup_write(fr_moq_subgroup *sg, uint64_t object_id,
                          const uint8_t *payload, size_t len)
{
    fr_moq_object obj;

    memset(&obj, 0, sizeof(obj));
    obj.loc.object = object_id;
    obj.payload = payload;
    obj.payload_len = len;
    return fr_moq_subgroup_write_object(sg, &obj);
}

int fr_moq_subgroup_write_status(fr_moq_subgroup *sg, uint64_t object_id,
                                 uint64_t status)
{
    fr_moq_object obj;

    if (status == FR_MOQ_OBJ_NORMAL)
        return FR_ERR_INVALID_ARGUMENT;
    memset(&obj, 0, sizeof(obj));
    obj.loc.object = object_id;
    obj.status = status;
    return fr_moq_subgroup_write_object(sg, &obj);
}

int fr_moq_subgroup_write_raw(fr_moq_subgroup *sg, const uint8_t *data,
                              size_t len)
{
    fr_moq_session *s;
    int rv;

    if (!sg || (len && !data))
        return FR_ERR_INVALID_ARGUMENT;
    s = sg->pub->s;
    rv = queue_room(s, len);
    if (rv)
        return rv;
    return fr_quic_conn_stream_write(s->conn, sg->stream_id, data, len, 0);
}

static void subgroup_unlink(fr_moq_subgroup *sg)
{
    fr_moq_subgroup **pp = &sg->pub->subgroups;

    while (*pp && *pp != sg)
        pp = &(*pp)->next;
    if (*pp)
        *pp = sg->next;
    free(sg);
}

int fr_moq_subgroup_close(fr_moq_subgroup *sg)
{
    fr_moq_session *s = sg->pub->s;
    int rv = 0;

    if (!s->closed)
        rv = fr_quic_conn_stream_write(s->conn, sg->stream_id, NULL, 0, 1);
    subgroup_unlink(sg);
    return rv;
}

int fr_moq_subgroup_reset(fr_moq_subgroup *sg, uint64_t code)
{
    fr_moq_session *s = sg->pub->s;

    if (!s->closed)
        s->tp->reset(s, sg->stream_id, code);
    subgroup_unlink(sg);
    return 0;
}

void fr_moq_subgroups_free(fr_moq_pub *pub)
{
    while (pub->subgroups)
        fr_moq_subgroup_reset(pub->subgroups, FR_MOQ_STREAM_CANCELLED);
}

/* Serving fetches. */

void fr_moq_joining_range(const fr_moq_fetch_request *f,
                          fr_moq_location joining, fr_moq_location *start,
                          fr_moq_location *end)
{
    start->group = !f->relative ? f->joining_start
                   : f->joining_start > joining.group
                       ? 0
                       : joining.group - f->joining_start;
    start->object = 0;
    end->group = joining.group;
    end->object = joining.object + 1;
}

int fr_moq_accept_fetch(fr_moq_session *s, uint64_t req, fr_moq_location end,
                        int end_of_track, fr_moq_fetch **pf)
{
    fr_moq_req *r = fr_hmap_find_u64(&s->requests, req);
    fr_moq_fetch *f;
    fr_moq_msg m;
    uint8_t hdr[32];
    ssize_t n;
    int64_t sid;
    int rv;

    if (!r || r->kind != FR_REQ_IN_FETCH || r->answered || s->closed || !pf)
        return FR_ERR_INVALID_ARGUMENT;
    f = calloc(1, sizeof(*f));
    if (!f)
        return FR_ERR_NOMEM;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH_OK;
    m.u.fetch_ok.end_of_track = end_of_track ? 1 : 0;
    m.u.fetch_ok.end.group = end.group;
    m.u.fetch_ok.end.object = end.object;
    rv = fr_moq_req_send(r, &m, 0);
    if (rv == 0)
        rv = s->tp->open_uni(s, &sid);
    if (rv) {
        free(f);
        return rv;
    }
    r->answered = 1;
    n = fr_moq_fetch_header_encode(hdr, sizeof(hdr), r->id);
    fr_quic_conn_stream_set_priority(
        s->conn, sid, fr_moq_data_priority(&r->params, 128, 0, 0, 1));
    fr_quic_conn_stream_write(s->conn, sid, hdr, (size_t)n, 0);
    f->s = s;
    f->req = r;
    f->outgoing = 1;
    f->data_stream = sid;
    f->group_order = r->params.group_order ? r->params.group_order
                                           : FR_MOQ_ORDER_ASCENDING;
    r->fetch = f;
    *pf = f;
    return 0;
}

int fr_moq_fetch_write(fr_moq_fetch *f, const fr_moq_object *obj)
{
    fr_moq_session *s = f->s;
    fr_moq_fetch_object fo;
    uint8_t stackbuf[256], *hdr = stackbuf;
    size_t cap = sizeof(stackbuf);
    ssize_t n;
    int rv;

    if (!f->outgoing || !obj)
        return FR_ERR_INVALID_ARGUMENT;
    rv = queue_room(s, obj->payload_len + obj->properties_len + 64);
    if (rv)
        return rv;
    memset(&fo, 0, sizeof(fo));
    fo.loc.group = obj->loc.group;
    fo.loc.object = obj->loc.object;
    fo.subgroup = obj->subgroup;
    fo.publisher_priority = obj->publisher_priority;
    fo.properties.base = obj->properties;
    fo.properties.len = obj->properties_len;
    fo.payload_len = obj->payload_len;
    fo.flags = fr_moq_fetch_object_flags(f->group_order,
                                         f->has_prev ? &f->prev : NULL, &fo);
    if (fo.flags == UINT64_MAX)
        return FR_ERR_INVALID_ARGUMENT; /* out of order for this fetch */
    if (obj->properties_len + 96 > cap) {
        cap = obj->properties_len + 96;
        hdr = malloc(cap);
        if (!hdr)
            return FR_ERR_NOMEM;
    }
    n = fr_moq_fetch_object_encode_ordered(hdr, cap, f->group_order,
                                           f->has_prev ? &f->prev : NULL,
                                           &fo);
    rv = n < 0 ? FR_ERR_INVALID_ARGUMENT
               : fr_quic_conn_stream_write(s->conn, f->data_stream, hdr,
                                           (size_t)n, 0);
    if (hdr != stackbuf)
        free(hdr);
    if (rv == 0 && obj->payload_len)
        rv = fr_quic_conn_stream_write(s->conn, f->data_stream, obj->payload,
                                       obj->payload_len, 0);
    if (rv)
        return rv;
    /* The previous object is kept by value; its properties view is not
     * used by the encoder's "prior object" rules. */
    f->prev = fo;
    f->prev.properties.base = NULL;
    f->prev.properties.len = 0;
    f->has_prev = 1;
    return 0;
}

int fr_moq_fetch_close(fr_moq_fetch *f)
{
    fr_moq_session *s = f->s;

    if (!f->outgoing)
        return FR_ERR_INVALID_ARGUMENT;
    if (!s->closed)
        fr_quic_conn_stream_write(s->conn, f->data_stream, NULL, 0, 1);
    if (f->req) {
        fr_moq_req *r = f->req;
        r->fetch = NULL;
        f->req = NULL;
        fr_moq_req_end(r);
    }
    f->done_notified = 1;
    free(f);
    return 0;
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
