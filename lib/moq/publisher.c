/*
 * The publisher side of a MoQT session: namespaces we announce, answers to
 * the peer's requests (SUBSCRIBE, PUBLISH, TRACK_STATUS and the rest), our
 * publications and their end.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "props.h"
#include "session_internal.h"

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
    fr_moq_params_to_wire(&m.u.request_ok.params, p);
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
