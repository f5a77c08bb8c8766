/*
 * The relay core's namespaces: PUBLISH_NAMESPACE from publishers, and
 * SUBSCRIBE_NAMESPACE / SUBSCRIBE_TRACKS from sessions that want to hear of
 * them (or of their tracks).
 */
#include <stdlib.h>

#include "relay_internal.h"

/* True if another announcement than `except` has namespace `ns`. */
static int ns_announced(const fr_relay *r, const fr_moq_name *ns,
                        const relay_ns *except)
{
    for (const relay_ns *n = r->namespaces; n; n = n->next)
        if (n != except && fr_moq_name_eq(&n->ns.name, ns))
            return 1;
    return 0;
}

/* Namespace `ns` appeared (or, `active` 0, went): every namespace
 * subscription it falls under hears of it. */
static void ns_tell(fr_relay *r, const fr_moq_name *ns, int active)
{
    for (relay_nssub *q = r->nssubs; q; q = q->next)
        if (!q->tracks && fr_moq_ns_covers(&q->prefix.name, ns))
            fr_moq_namespace_update(q->s, q->req, ns, active);
}

static int prefixes_overlap(const fr_moq_name *a, const fr_moq_name *b)
{
    return fr_moq_ns_covers(a, b) || fr_moq_ns_covers(b, a);
}

void fr_relay_on_subscribe_namespace(fr_moq_session *s, uint64_t req,
                                     const fr_moq_name *prefix, int tracks,
                                     void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_nssub *q;

    /* SUBSCRIBE_NAMESPACE and SUBSCRIBE_TRACKS overlap independently. */
    for (q = r->nssubs; q; q = q->next)
        if (q->s == s && q->tracks == tracks &&
            prefixes_overlap(&q->prefix.name, prefix)) {
            fr_moq_reject(s, req, FR_MOQ_REQ_PREFIX_OVERLAP,
                          "overlaps a namespace subscription of this "
                          "session");
            return;
        }
    q = calloc(1, sizeof(*q));
    if (!q || fr_moq_name_copy_set(&q->prefix, prefix) != 0) {
        free(q);
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    q->s = s;
    q->req = req;
    q->tracks = tracks;
    q->next = r->nssubs;
    r->nssubs = q;
    if (fr_moq_accept_request(s, req) != 0)
        return;
    if (tracks) {
        for (relay_track *t = r->tracks; t; t = t->next)
            if (t->established && fr_moq_ns_covers(prefix, &t->name.name))
                fr_relay_publish_down(t, s);
        return;
    }
    /* The namespaces announced so far, each once. */
    for (relay_ns *n = r->namespaces; n; n = n->next) {
        int first = 1;
        for (relay_ns *m = r->namespaces; m != n; m = m->next)
            if (fr_moq_name_eq(&m->ns.name, &n->ns.name))
                first = 0;
        if (first && fr_moq_ns_covers(prefix, &n->ns.name))
            fr_moq_namespace_update(s, req, &n->ns.name, 1);
    }
}

/* Forgets the namespace subscriptions of `s` (by_req: only `req`). */
void fr_relay_nssub_remove_where(fr_relay *r, const fr_moq_session *s,
                                 int by_req, uint64_t req)
{
    relay_nssub **pp = &r->nssubs;

    while (*pp) {
        relay_nssub *q = *pp;
        if ((!s || q->s == s) && (!by_req || q->req == req)) {
            *pp = q->next;
            fr_moq_name_copy_free(&q->prefix);
            free(q);
        } else {
            pp = &q->next;
        }
    }
}

void fr_relay_on_subscribe_namespace_done(fr_moq_session *s, uint64_t req,
                                          void *ud)
{
    fr_relay_nssub_remove_where(relay_of(ud), s, 1, req);
}

void fr_relay_on_publish_namespace(fr_moq_session *s, uint64_t req,
                                   const fr_moq_name *ns, void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_ns *n = calloc(1, sizeof(*n));

    if (!n || fr_moq_name_copy_set(&n->ns, ns) != 0) {
        free(n);
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    n->s = s;
    n->req = req;
    if (!ns_announced(r, ns, NULL))
        ns_tell(r, &n->ns.name, 1);
    n->next = r->namespaces;
    r->namespaces = n;
    fr_moq_accept_request(s, req);
    fr_relay_fastpath_prepare(r, s, NULL);
    fr_relay_publisher_appeared(r, ns, 0);
}

void fr_relay_ns_remove_where(fr_relay *r, fr_moq_session *s, int by_req,
                              uint64_t req)
{
    relay_ns **pp = &r->namespaces;

    while (*pp) {
        relay_ns *n = *pp;
        if (n->s == s && (!by_req || n->req == req)) {
            *pp = n->next;
            if (!ns_announced(r, &n->ns.name, n))
                ns_tell(r, &n->ns.name, 0);
            fr_moq_name_copy_free(&n->ns);
            free(n);
        } else {
            pp = &n->next;
        }
    }
}

void fr_relay_on_publish_namespace_done(fr_moq_session *s, uint64_t req,
                                        void *ud)
{
    fr_relay_ns_remove_where(relay_of(ud), s, 1, req);
}
