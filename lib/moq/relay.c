/*
 * The relay core: tracks with one upstream subscription each, fan-out of
 * subgroup streams to downstream subscriptions, an object cache for FETCH.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>
#include <fastrelay/cache.h>
#include <fastrelay/relay.h>

#include "../util/logf.h"
#include "relay_fastpath.h"
#include "rendezvous.h"
#include "session_internal.h"

typedef struct relay_track relay_track;
typedef struct relay_down relay_down;

/* A downstream copy of one upstream subgroup. */
typedef struct relay_out {
    relay_down *down;
    fr_moq_subgroup *sg;     /* NULL: given up for this subscriber */
    int raw;                 /* forwarding bytes (else whole objects) */
    struct relay_out *next;
} relay_out;

/* An upstream subgroup stream in flight. */
typedef struct relay_subgroup {
    uint64_t stream;
    fr_moq_subgroup_info info;
    relay_out *outs;
    struct relay_subgroup *next;
} relay_subgroup;

/* One downstream subscription. */
struct relay_down {
    relay_track *t;
    fr_moq_pub *pub;
    fr_moq_location start;   /* first location it may receive */
    int has_joining;
    fr_moq_location joining; /* largest object when it subscribed */
    int kernel;              /* the kernel forwards its new subgroups */
    struct relay_down *next;
};

/* A downstream SUBSCRIBE waiting for the upstream one to be answered. */
typedef struct relay_wait {
    fr_moq_session *s;
    uint64_t req;
    fr_moq_sub_params params;
    struct relay_wait *next;
} relay_wait;

struct relay_track {
    fr_relay *r;
    fr_moq_name_copy name;
    fr_moq_sub *up;
    int established;
    fr_moq_track_info info;
    int has_largest;
    fr_moq_location largest;
    relay_down *downs;
    relay_wait *waits;
    relay_subgroup *subgroups;
    fr_moq_cache *cache;
    struct relay_track *next;
};

/* A FETCH the cache cannot answer, passed on to the upstream. */
typedef struct relay_fetch {
    fr_relay *r;
    relay_track *t;
    fr_moq_session *s;       /* downstream session and its request */
    uint64_t req;
    fr_moq_fetch *up;        /* our FETCH upstream */
    fr_moq_fetch *down;      /* the answer downstream, once accepted */
    struct relay_fetch *next;
} relay_fetch;

/* A namespace a publisher session announced to us. */
typedef struct relay_ns {
    fr_moq_session *s;
    uint64_t req;
    fr_moq_name_copy ns;
    struct relay_ns *next;
} relay_ns;

/* A session's SUBSCRIBE_NAMESPACE: it hears of announced namespaces under
 * `prefix`; or its SUBSCRIBE_TRACKS (`tracks`): the relay PUBLISHes it
 * every track under `prefix` that others publish. */
typedef struct relay_nssub {
    fr_moq_session *s;
    uint64_t req;
    int tracks;
    fr_moq_name_copy prefix;
    struct relay_nssub *next;
} relay_nssub;

struct fr_relay {
    fr_relay_settings settings;
    void *user_data;
    relay_track *tracks;
    relay_ns *namespaces;
    relay_nssub *nssubs;
    relay_fetch *fetches;
    fr_moq_session *upstream;
    fr_rdv held;             /* SUBSCRIBEs waiting for a publisher */
    fr_relay_stats stats;
    int has_fp;
    fr_relay_fastpath fp;
};

static fr_relay *relay_of(void *user_data)
{
    return user_data;
}

static relay_track *track_find(fr_relay *r, const fr_moq_name *name)
{
    for (relay_track *t = r->tracks; t; t = t->next)
        if (fr_moq_name_eq(&t->name.name, name))
            return t;
    return NULL;
}

/* The session to subscribe upstream for `name`: the publisher with the
 * longest announced namespace covering it, else the configured upstream. */
static fr_moq_session *upstream_for(fr_relay *r, const fr_moq_name *name)
{
    fr_moq_session *best = NULL;
    size_t best_len = 0;

    for (relay_ns *n = r->namespaces; n; n = n->next)
        if (fr_moq_ns_covers(&n->ns.name, name) &&
            (!best || n->ns.name.nfields > best_len)) {
            best = n->s;
            best_len = n->ns.name.nfields;
        }
    return best ? best : r->upstream;
}

/* Downstream subscriptions. */

/* Forgets every output of `down` (its subgroups are already gone). */
static void outs_drop_down(relay_track *t, relay_down *down)
{
    for (relay_subgroup *rsg = t->subgroups; rsg; rsg = rsg->next) {
        relay_out **pp = &rsg->outs;
        while (*pp) {
            if ((*pp)->down == down) {
                relay_out *o = *pp;
                *pp = o->next;
                free(o);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

static fr_moq_session *down_session(const relay_down *d)
{
    return fr_moq_pub_session(d->pub);
}

static void down_remove(relay_down *d)
{
    relay_track *t = d->t;
    relay_down **pp = &t->downs;
    fr_relay *r = t->r;

    if (d->kernel && t->up)
        r->fp.leave(r->fp.arg, fr_moq_sub_session(t->up),
                    t->info.track_alias, down_session(d));
    outs_drop_down(t, d);
    while (*pp && *pp != d)
        pp = &(*pp)->next;
    if (*pp)
        *pp = d->next;
    t->r->stats.subscribers--;
    free(d);
}

/* The kernel forwards the subgroup streams of the track that begin from now
 * on to `d`. */
static void down_join(relay_down *d)
{
    relay_track *t = d->t;
    fr_relay *r = t->r;

    if (r->has_fp && !d->kernel && t->up)
        d->kernel = r->fp.join(r->fp.arg, fr_moq_sub_session(t->up),
                               t->info.track_alias,
                               t->info.publisher_priority,
                               down_session(d)) == 0;
}

static uint64_t alias_for(const relay_track *t)
{
    /* Downstream sessions get the upstream alias: subgroup headers then
     * travel unchanged, which the kernel fast path relies on. */
    return t->info.track_alias;
}

/* What a new downstream subscription of `t` is told of the track. */
static fr_moq_track_info down_info(const relay_track *t)
{
    fr_moq_track_info info = t->info;

    info.track_alias = alias_for(t);
    info.has_largest = t->has_largest;
    info.largest = t->largest;
    return info;
}

/* Links `d`, made for `t`, in as one of its downstream subscriptions; the
 * kernel may forward what it wants from the next subgroup on. */
static void down_link(relay_track *t, relay_down *d, int kernel_ok)
{
    d->next = t->downs;
    t->downs = d;
    t->r->stats.subscribers++;
    if (kernel_ok)
        down_join(d);
}

/* A downstream subscription of `t`, not yet linked, that starts after
 * the track's largest object; NULL when out of memory. */
static relay_down *down_new(relay_track *t)
{
    relay_down *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->t = t;
    d->has_joining = t->has_largest;
    d->joining = t->largest;
    if (t->has_largest) {
        d->start.group = t->largest.group;
        d->start.object = t->largest.object + 1;
    }
    return d;
}

static int accept_down(relay_track *t, fr_moq_session *s, uint64_t req,
                       const fr_moq_sub_params *p)
{
    fr_moq_track_info info = down_info(t);
    relay_down *d = down_new(t);
    int rv;

    if (!d)
        return fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                             "out of memory");
    switch (p->filter) {
    case FR_MOQ_FILTER_NEXT_GROUP:
        d->start.group = t->has_largest ? t->largest.group + 1 : 0;
        d->start.object = 0;
        break;
    case FR_MOQ_FILTER_ABSOLUTE_START:
    case FR_MOQ_FILTER_ABSOLUTE_RANGE:
        d->start = p->start;
        break;
    default: /* none, largest: what comes after the largest object */
        break;
    }
    rv = fr_moq_accept_subscribe(s, req, &info, &d->pub, d);
    if (rv) {
        free(d);
        return rv;
    }
    /* Every subgroup that begins after the largest object is wanted:
     * the kernel may forward them all. Other filters join at the first
     * subgroup wanted from its start. */
    down_link(t, d, p->forward && (p->filter == FR_MOQ_FILTER_NONE ||
                                   p->filter == FR_MOQ_FILTER_LARGEST));
    return 0;
}

/* SUBSCRIBE_TRACKS: offers `t` to session `s` (PUBLISH); it gets what
 * comes after the largest object, as a SUBSCRIBE with no filter would.
 * Not to the track's own publisher, nor twice to a session. */
static void publish_down(relay_track *t, fr_moq_session *s)
{
    fr_moq_track_info info = down_info(t);
    relay_down *d;

    if (t->up && fr_moq_sub_session(t->up) == s)
        return;
    for (d = t->downs; d; d = d->next)
        if (down_session(d) == s)
            return;
    d = down_new(t);
    if (!d)
        return;
    if (fr_moq_publish(s, &t->name.name, &info, &d->pub, d) != 0) {
        free(d);
        return;
    }
    down_link(t, d, 1);
}

/* Track `t` is established: every SUBSCRIBE_TRACKS it falls under gets
 * it. */
static void tracks_tell(relay_track *t)
{
    for (relay_nssub *q = t->r->nssubs; q; q = q->next)
        if (q->tracks && fr_moq_ns_covers(&q->prefix.name, &t->name.name))
            publish_down(t, q->s);
}

/* Tracks. */

/* Caches an object of `t`, then keeps all tracks' caches within the total
 * limit, taking from the track that holds the most. */
static void cache_add(relay_track *t, const fr_moq_object *obj)
{
    fr_relay *r = t->r;
    size_t before = fr_moq_cache_bytes(t->cache);

    fr_moq_cache_add(t->cache, obj);
    r->stats.cached_bytes += fr_moq_cache_bytes(t->cache);
    r->stats.cached_bytes -= before;
    while (r->settings.cache_total_bytes &&
           r->stats.cached_bytes > r->settings.cache_total_bytes) {
        relay_track *big = NULL;
        size_t freed;

        for (relay_track *u = r->tracks; u; u = u->next)
            if (fr_moq_cache_groups(u->cache) > 1 &&
                (!big || fr_moq_cache_bytes(u->cache) >
                             fr_moq_cache_bytes(big->cache)))
                big = u;
        freed = big ? fr_moq_cache_evict_oldest(big->cache) : 0;
        if (freed == 0)
            break; /* only the tracks' newest groups are left */
        r->stats.cached_bytes -= freed;
        r->stats.cache_evictions++;
    }
}

static void track_free(relay_track *t)
{
    fr_relay *r = t->r;
    relay_track **pp = &r->tracks;

    for (relay_fetch *rf = r->fetches; rf; rf = rf->next)
        if (rf->t == t)
            rf->t = NULL; /* its objects still go downstream, uncached */
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    while (t->subgroups) {
        relay_subgroup *rsg = t->subgroups;
        t->subgroups = rsg->next;
        while (rsg->outs) {
            relay_out *o = rsg->outs;
            rsg->outs = o->next;
            free(o);
        }
        free(rsg);
    }
    while (t->waits) {
        relay_wait *w = t->waits;
        t->waits = w->next;
        free(w);
    }
    r->stats.cached_bytes -= fr_moq_cache_bytes(t->cache);
    fr_moq_cache_del(t->cache);
    fr_moq_name_copy_free(&t->name);
    if (t->established)
        r->stats.tracks--;
    free(t);
}

/* Ends a track: every downstream subscription with `status`, every waiting
 * request with `code`. */
static void track_end(relay_track *t, uint64_t status, uint64_t code,
                      const char *reason)
{
    /* Subgroups cut short upstream are reset downstream, never closed: a
     * FIN there would end a stream in the middle of an object. */
    for (relay_subgroup *rsg = t->subgroups; rsg; rsg = rsg->next)
        while (rsg->outs) {
            relay_out *o = rsg->outs;
            if (o->sg)
                fr_moq_subgroup_reset(o->sg, FR_MOQ_STREAM_CANCELLED);
            rsg->outs = o->next;
            free(o);
        }
    while (t->waits) {
        relay_wait *w = t->waits;
        t->waits = w->next;
        fr_moq_reject(w->s, w->req, code, reason);
        free(w);
    }
    while (t->downs)
        fr_moq_pub_done(t->downs->pub, status, reason);
    track_free(t);
}

/* A new track in the registry, with no upstream yet. */
static relay_track *track_alloc(fr_relay *r, const fr_moq_name *name)
{
    relay_track *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->r = r;
    if (fr_moq_name_copy_set(&t->name, name) != 0 ||
        fr_moq_cache_new(&t->cache, r->settings.cache_groups,
                         r->settings.cache_bytes) != 0) {
        fr_moq_name_copy_free(&t->name);
        free(t);
        return NULL;
    }
    t->next = r->tracks;
    r->tracks = t;
    return t;
}

/* A track fed by a subscription to `up`. */
static relay_track *track_new(fr_relay *r, const fr_moq_name *name,
                              fr_moq_session *up)
{
    relay_track *t = track_alloc(r, name);
    fr_moq_sub_params p;

    if (!t)
        return NULL;
    fr_moq_sub_params_default(&p);
    if (fr_moq_subscribe(up, &t->name.name, &p, &t->up, t) != 0) {
        track_free(t);
        return NULL;
    }
    return t;
}

/* Session callbacks: publisher side (downstream). */

/* Holds a SUBSCRIBE no publisher can answer yet, if its subscriber wants
 * to wait (RENDEZVOUS_TIMEOUT) and the relay lets it. Returns 0 if held. */
static int hold(fr_relay *r, fr_moq_session *s, uint64_t req,
                const fr_moq_name *name, const fr_moq_sub_params *p)
{
    fr_quic_endpoint *ep = fr_quic_conn_get_endpoint(fr_moq_session_conn(s));
    fr_duration wait = r->settings.max_rendezvous;

    if (!p->rendezvous_timeout_ms || !wait)
        return -1;
    if (p->rendezvous_timeout_ms < wait / FR_MILLISECONDS)
        wait = p->rendezvous_timeout_ms * FR_MILLISECONDS;
    if (fr_rdv_hold(&r->held, s, req, name, p, fr_quic_endpoint_now(ep) + wait))
        return -1;
    r->stats.subscribes_held = r->held.count;
    return 0;
}

/* A downstream SUBSCRIBE: served from the track if the relay has it, else
 * by subscribing upstream; with no publisher, held for one or refused. */
static void subscribe_down(fr_relay *r, fr_moq_session *s, uint64_t req,
                           const fr_moq_name *name,
                           const fr_moq_sub_params *p, int may_hold)
{
    relay_track *t = track_find(r, name);
    fr_moq_session *up;
    relay_wait *w;

    if (t && t->established) {
        accept_down(t, s, req, p);
        return;
    }
    if (!t) {
        up = upstream_for(r, name);
        if (!up || up == s) {
            if (!may_hold || hold(r, s, req, name, p) != 0)
                fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST,
                              "no publisher for this track");
            return;
        }
        t = track_new(r, name, up);
        if (!t) {
            fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                          "cannot subscribe upstream");
            return;
        }
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    w->s = s;
    w->req = req;
    w->params = *p;
    w->next = t->waits;
    t->waits = w;
}

static void on_subscribe(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, const fr_moq_sub_params *p,
                         void *ud)
{
    subscribe_down(relay_of(ud), s, req, name, p, 1);
}

/* A held SUBSCRIBE whose publisher appeared. */
static void rendezvous(void *arg, fr_moq_session *s, uint64_t req,
                       const fr_moq_name *name, const fr_moq_sub_params *p)
{
    subscribe_down(arg, s, req, name, p, 0);
}

/* Publishers for `name` appeared (`exact`: that track; else every track
 * under the namespace `name`): held SUBSCRIBEs for them proceed. */
static void publisher_appeared(fr_relay *r, const fr_moq_name *name,
                               int exact)
{
    fr_rdv_release(&r->held, name, exact, rendezvous, r);
    r->stats.subscribes_held = r->held.count;
}

static void on_pub_done(fr_moq_pub *pub, void *ud)
{
    relay_down *d = fr_moq_pub_get_user_data(pub);

    (void)ud;
    if (d)
        down_remove(d);
}

static void on_track_status(fr_moq_session *s, uint64_t req,
                            const fr_moq_name *name, void *ud)
{
    relay_track *t = track_find(relay_of(ud), name);
    fr_moq_track_info info;

    if (!t || !t->established) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST, "track not active");
        return;
    }
    info = t->info;
    info.has_largest = t->has_largest;
    info.largest = t->largest;
    fr_moq_accept_track_status(s, req, &info);
}

typedef struct fetch_ctx {
    fr_relay *r;
    fr_moq_fetch *f;
    int failed;
} fetch_ctx;

static int fetch_one(const fr_moq_object *obj, void *arg)
{
    fetch_ctx *fc = arg;

    if (fr_moq_fetch_write(fc->f, obj) != 0) {
        fc->failed = 1;
        return 1;
    }
    fc->r->stats.objects_fetched++;
    return 0;
}

/* Answers a FETCH with an error. */
static void fetch_refuse(fr_relay *r, fr_moq_session *s, uint64_t req,
                         uint64_t code, const char *reason)
{
    r->stats.fetches_refused++;
    fr_moq_reject(s, req, code, reason);
}

static void relay_fetch_free(relay_fetch *rf)
{
    relay_fetch **pp = &rf->r->fetches;

    while (*pp && *pp != rf)
        pp = &(*pp)->next;
    if (*pp)
        *pp = rf->next;
    free(rf);
}

/* Asks the track's upstream for a range the cache lacks; the answer is
 * passed downstream (and cached) as it comes. */
static void fetch_upstream(relay_track *t, fr_moq_session *s, uint64_t req,
                           fr_moq_location start, fr_moq_location end)
{
    relay_fetch *rf;

    if (!t->up) {
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INVALID_RANGE, "not cached");
        return;
    }
    rf = calloc(1, sizeof(*rf));
    if (!rf) {
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                     "out of memory");
        return;
    }
    rf->r = t->r;
    rf->t = t;
    rf->s = s;
    rf->req = req;
    if (fr_moq_fetch_range(fr_moq_sub_session(t->up), &t->name.name, start,
                           end, &rf->up, rf) != 0) {
        free(rf);
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                     "cannot fetch upstream");
        return;
    }
    rf->next = t->r->fetches;
    t->r->fetches = rf;
    t->r->stats.fetches_upstream++;
}

static void on_fetch_ok(fr_moq_fetch *f, fr_moq_location end,
                        int end_of_track, void *ud)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    (void)ud;
    if (fr_moq_accept_fetch(rf->s, rf->req, end, end_of_track, &rf->down) !=
        0) {
        fr_moq_fetch_cancel(f);
        return;
    }
    fr_moq_stream_set_copy_class(rf->s, rf->down->data_stream,
                                 FR_COPY_REPLAY);
}

static void on_fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                          const char *reason, void *ud)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    (void)ud;
    if (!rf)
        return;
    if (rf->down) {
        fr_moq_fetch_close(rf->down);
        rf->r->stats.fetches_served++;
    } else {
        fetch_refuse(rf->r, rf->s, rf->req,
                     rejected ? code : FR_MOQ_REQ_INTERNAL_ERROR,
                     reason ? reason : "upstream fetch failed");
    }
    relay_fetch_free(rf);
}

/* An object of a FETCH we passed upstream. */
static void fetched_object(fr_moq_fetch *f, const fr_moq_object *obj)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    if (!rf || !rf->down)
        return;
    if (rf->t)
        cache_add(rf->t, obj);
    if (fr_moq_fetch_write(rf->down, obj) == 0)
        rf->r->stats.objects_fetched++;
}

static void on_fetch(fr_moq_session *s, uint64_t req,
                     const fr_moq_fetch_request *f, void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_track *t = track_find(r, &f->name);
    fr_moq_location start, end;
    fetch_ctx fc = {r, NULL, 0};

    if (!t || !t->established || !t->has_largest) {
        fetch_refuse(r, s, req, FR_MOQ_REQ_DOES_NOT_EXIST,
                     "nothing cached for this track");
        return;
    }
    if (f->joining) {
        /* Up to and including the joining location: the largest object
         * when the subscription began. */
        relay_down *d = fr_moq_pub_get_user_data(f->joining_pub);
        if (!d || !d->has_joining) {
            fetch_refuse(r, s, req, FR_MOQ_REQ_INVALID_RANGE,
                         "nothing published before the subscription");
            return;
        }
        start.group = f->relative ? (f->joining_start > d->joining.group
                                         ? 0
                                         : d->joining.group - f->joining_start)
                                  : f->joining_start;
        start.object = 0;
        end.group = d->joining.group;
        end.object = d->joining.object + 1;
    } else {
        start = f->start;
        end = f->end;
        if (end.group > t->largest.group) {
            end.group = t->largest.group;
            end.object = t->largest.object + 1;
        }
    }
    if (start.group > end.group) {
        fetch_refuse(r, s, req, FR_MOQ_REQ_INVALID_RANGE, "empty range");
        return;
    }
    if (!fr_moq_cache_covers(t->cache, start, end)) {
        fetch_upstream(t, s, req, start, end);
        return;
    }
    if (fr_moq_accept_fetch(s, req, end, 0, &fc.f) != 0)
        return;
    fr_moq_stream_set_copy_class(s, fc.f->data_stream, FR_COPY_REPLAY);
    fr_moq_cache_each(t->cache, start, end, f->group_order, fetch_one, &fc);
    fr_moq_fetch_close(fc.f);
    r->stats.fetches_served++;
}

/* A publisher pushes a track (PUBLISH): it becomes the track's upstream
 * subscription without a SUBSCRIBE. */
static void on_publish(fr_moq_session *s, uint64_t req,
                       const fr_moq_name *name, const fr_moq_track_info *info,
                       void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_track *t;

    if (track_find(r, name)) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DUPLICATE_SUBSCRIPTION,
                      "the relay already has this track");
        return;
    }
    t = track_alloc(r, name);
    if (!t) {
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (fr_moq_accept_publish(s, req, NULL, &t->up, t) != 0) {
        track_free(t);
        return;
    }
    t->established = 1;
    t->info = *info;
    t->has_largest = info->has_largest;
    t->largest = info->largest;
    r->stats.tracks++;
    publisher_appeared(r, name, 1);
    tracks_tell(t);
}

/* Namespace discovery. */

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

static void on_subscribe_namespace(fr_moq_session *s, uint64_t req,
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
                publish_down(t, s);
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
static void nssub_remove_where(fr_relay *r, const fr_moq_session *s,
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

static void on_subscribe_namespace_done(fr_moq_session *s, uint64_t req,
                                        void *ud)
{
    nssub_remove_where(relay_of(ud), s, 1, req);
}

static void on_publish_namespace(fr_moq_session *s, uint64_t req,
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
    publisher_appeared(r, ns, 0);
}

static void ns_remove_where(fr_relay *r, fr_moq_session *s, int by_req,
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

static void on_publish_namespace_done(fr_moq_session *s, uint64_t req,
                                      void *ud)
{
    ns_remove_where(relay_of(ud), s, 1, req);
}

/* Session callbacks: subscriber side (upstream). */

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);

    (void)ud;
    t->established = 1;
    t->info = *info;
    t->has_largest = info->has_largest;
    t->largest = info->largest;
    t->r->stats.tracks++;
    while (t->waits) {
        relay_wait *w = t->waits;
        t->waits = w->next;
        accept_down(t, w->s, w->req, &w->params);
        free(w);
    }
    tracks_tell(t);
}

static void on_sub_done(fr_moq_sub *sub, int rejected, uint64_t code,
                        const char *reason, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);

    (void)ud;
    if (!t)
        return;
    t->up = NULL;
    track_end(t, FR_MOQ_DONE_TRACK_ENDED,
              rejected ? code : FR_MOQ_REQ_DOES_NOT_EXIST,
              reason ? reason : "upstream ended");
}

static relay_subgroup *subgroup_find(relay_track *t, uint64_t stream)
{
    for (relay_subgroup *g = t->subgroups; g; g = g->next)
        if (g->stream == stream)
            return g;
    return NULL;
}

static int down_wants(const relay_down *d, uint64_t group, uint64_t object)
{
    const fr_moq_sub_params *p = fr_moq_pub_params(d->pub);

    if (!p->forward)
        return 0;
    if (group < d->start.group ||
        (group == d->start.group && object < d->start.object))
        return 0;
    return p->filter != FR_MOQ_FILTER_ABSOLUTE_RANGE || p->end_group == 0 ||
           group <= p->end_group;
}

/* An entry without a stream: `d` skips this subgroup. */
static relay_out *out_skip(relay_subgroup *rsg, relay_down *d)
{
    relay_out *o = calloc(1, sizeof(*o));

    if (o) {
        o->down = d;
        o->next = rsg->outs;
        rsg->outs = o;
    }
    return o;
}

/* Opens a downstream copy of `rsg` for `d`. A subscriber too far behind
 * to take it keeps an entry without a stream: it skips this subgroup. */
static void out_open(relay_subgroup *rsg, relay_down *d, int raw)
{
    relay_out *o = out_skip(rsg, d);
    fr_relay *r = d->t->r;

    if (!o)
        return;
    o->raw = raw;
    if (fr_moq_pub_open_subgroup(d->pub, &rsg->info, &o->sg) != 0) {
        o->sg = NULL;
        r->stats.subgroups_reset++;
        return;
    }
    /* A whole subgroup began after the subscriber joined: the kernel could
     * have sent it. The rest of one in flight comes from the cache. */
    fr_moq_stream_set_copy_class(down_session(d), o->sg->stream_id,
                                 raw ? FR_COPY_ELIGIBLE : FR_COPY_REPLAY);
    r->stats.subgroups_forwarded++;
}

/* A write to a subscriber failed (it fell behind, or left): give up on the
 * whole subgroup for it, and do not come back to it. */
static void out_fail(relay_out *o)
{
    fr_moq_subgroup_reset(o->sg, FR_MOQ_STREAM_TOO_FAR_BEHIND);
    o->sg = NULL;
    o->down->t->r->stats.subgroups_reset++;
}

/* Takes kernel stream `ks`, on which the kernel forwards `rsg` to `d`: the
 * relay writes the upstream stream's bytes there as they are, header
 * included, for the splice layer to register the kernel's packets. */
static void out_open_kernel(relay_subgroup *rsg, relay_down *d, int64_t ks,
                            fr_moq_session *up)
{
    relay_out *o = calloc(1, sizeof(*o));
    fr_relay *r = d->t->r;
    const uint8_t *hdr;
    size_t hlen;

    if (!o ||
        fr_moq_subgroup_raw_header(up, rsg->stream, &hdr, &hlen) != 0 ||
        fr_moq_pub_adopt_subgroup(d->pub, ks, &rsg->info, &o->sg) != 0) {
        /* Without its bytes the kernel's packets cannot be registered:
         * the stream goes. */
        fr_quic_conn_stream_reset(fr_moq_session_conn(down_session(d)), ks,
                                  FR_MOQ_STREAM_INTERNAL_ERROR);
        free(o);
        r->stats.subgroups_reset++;
        return;
    }
    o->down = d;
    o->raw = 1;
    o->next = rsg->outs;
    rsg->outs = o;
    r->stats.subgroups_forwarded++;
    r->stats.subgroups_kernel++;
    if (fr_moq_subgroup_write_raw(o->sg, hdr, hlen) != 0)
        out_fail(o);
}

static void on_subgroup_begin(fr_moq_sub *sub, uint64_t stream,
                              const fr_moq_subgroup_info *info, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup *rsg = calloc(1, sizeof(*rsg));
    fr_moq_session *up = fr_moq_sub_session(sub);

    (void)ud;
    if (!rsg)
        return;
    rsg->stream = stream;
    rsg->info = *info;
    rsg->next = t->subgroups;
    t->subgroups = rsg;
    for (relay_down *d = t->downs; d; d = d->next) {
        int wants = down_wants(d, info->group, 0) &&
                    (info->group > d->start.group || d->start.object == 0);
        int64_t ks = d->kernel ? t->r->fp.stream_for(t->r->fp.arg, up, stream,
                                                     down_session(d))
                               : -1;

        /* The subscriber's policy excludes this priority: neither path
         * sends it (the kernel gave it no stream either), nor its objects
         * one by one later. */
        if (t->r->has_fp && ks < 0 && wants &&
            !t->r->fp.admit(t->r->fp.arg, down_session(d),
                            info->publisher_priority))
            out_skip(rsg, d);
        else if (ks >= 0)
            out_open_kernel(rsg, d, ks, up);
        else if (wants)
            out_open(rsg, d, 1);
        /* From the first subgroup it wants from its start, the kernel
         * may forward the subscriber's next ones. */
        if (wants &&
            fr_moq_pub_params(d->pub)->filter != FR_MOQ_FILTER_ABSOLUTE_RANGE)
            down_join(d);
    }
}

static void on_subgroup_data(fr_moq_sub *sub, uint64_t stream,
                             const uint8_t *data, size_t len, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup *rsg = subgroup_find(t, stream);
    relay_out *o, *next;

    (void)ud;
    if (!rsg)
        return;
    for (o = rsg->outs; o; o = next) {
        next = o->next;
        if (o->sg && o->raw && fr_moq_subgroup_write_raw(o->sg, data, len))
            out_fail(o);
    }
}

static void on_subgroup_end(fr_moq_sub *sub, uint64_t stream, int reset,
                            uint64_t code, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup **pp = &t->subgroups, *rsg;

    (void)ud;
    while (*pp && (*pp)->stream != stream)
        pp = &(*pp)->next;
    rsg = *pp;
    if (!rsg)
        return;
    *pp = rsg->next;
    for (relay_down *d = t->downs; d; d = d->next)
        if (d->kernel)
            t->r->fp.stream_end(t->r->fp.arg, fr_moq_sub_session(sub), stream,
                                down_session(d));
    while (rsg->outs) {
        relay_out *o = rsg->outs;
        if (o->sg && reset)
            fr_moq_subgroup_reset(o->sg, code);
        else if (o->sg)
            fr_moq_subgroup_close(o->sg);
        rsg->outs = o->next;
        free(o);
    }
    free(rsg);
}

/* Finds the upstream subgroup an object came on. */
static relay_subgroup *subgroup_of(relay_track *t, const fr_moq_object *obj)
{
    for (relay_subgroup *g = t->subgroups; g; g = g->next)
        if (g->info.group == obj->loc.group &&
            g->info.subgroup == obj->subgroup)
            return g;
    return NULL;
}

static int has_out(const relay_subgroup *rsg, const relay_down *d)
{
    for (const relay_out *o = rsg->outs; o; o = o->next)
        if (o->down == d)
            return 1;
    return 0;
}

static void on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                      const fr_moq_object *obj, void *ud)
{
    relay_track *t = sub ? fr_moq_sub_get_user_data(sub) : NULL;
    relay_subgroup *rsg;
    fr_relay *r;

    (void)ud;
    if (f) {
        fetched_object(f, obj);
        return;
    }
    if (!t)
        return;
    r = t->r;
    r->stats.objects_received++;
    if (!t->has_largest || obj->loc.group > t->largest.group ||
        (obj->loc.group == t->largest.group &&
         obj->loc.object > t->largest.object)) {
        t->has_largest = 1;
        t->largest = obj->loc;
    }
    cache_add(t, obj);
    rsg = subgroup_of(t, obj);
    if (!rsg)
        return;
    /* Subscribers that joined while this subgroup was in flight get its
     * remaining objects one by one, on a subgroup stream of their own. */
    for (relay_down *d = t->downs; d; d = d->next) {
        if (has_out(rsg, d) ||
            !down_wants(d, obj->loc.group, obj->loc.object))
            continue;
        if (r->has_fp && !r->fp.admit(r->fp.arg, down_session(d),
                                      rsg->info.publisher_priority))
            out_skip(rsg, d);
        else
            out_open(rsg, d, 0);
    }
    for (relay_out *o = rsg->outs; o; o = o->next) {
        if (!o->sg)
            continue;
        if (!o->raw && fr_moq_subgroup_write_object(o->sg, obj) != 0) {
            out_fail(o);
            continue;
        }
        r->stats.objects_forwarded++;
        r->stats.bytes_forwarded += obj->payload_len;
    }
}

/* Sessions. */

static void on_session_ready(fr_moq_session *s, void *ud)
{
    (void)s;
    relay_of(ud)->stats.sessions++;
}

static void on_session_closed(fr_moq_session *s, uint64_t code,
                              const char *reason, void *ud)
{
    fr_relay *r = relay_of(ud);

    (void)code;
    (void)reason;
    if (r->has_fp)
        r->fp.session_closed(r->fp.arg, s);
    if (fr_moq_session_is_ready(s))
        r->stats.sessions--;
    nssub_remove_where(r, s, 0, 0);
    ns_remove_where(r, s, 0, 0);
    fr_rdv_drop(&r->held, s);
    r->stats.subscribes_held = r->held.count;
    if (r->upstream == s)
        r->upstream = NULL;
    /* Fetches passed upstream for this session, or through it. */
    for (relay_fetch *rf = r->fetches, *next; rf; rf = next) {
        next = rf->next;
        if (rf->s == s) {
            fr_moq_fetch_set_user_data(rf->up, NULL);
            fr_moq_fetch_cancel(rf->up);
            relay_fetch_free(rf);
        }
    }
    /* Requests of the session that still wait for an upstream answer. */
    for (relay_track *t = r->tracks; t; t = t->next) {
        relay_wait **pp = &t->waits;
        while (*pp) {
            relay_wait *w = *pp;
            if (w->s == s) {
                *pp = w->next;
                free(w);
            } else {
                pp = &w->next;
            }
        }
    }
}

static const fr_moq_callbacks relay_callbacks = {
    .session_ready = on_session_ready,
    .session_closed = on_session_closed,
    .subscribe = on_subscribe,
    .pub_done = on_pub_done,
    .fetch = on_fetch,
    .publish = on_publish,
    .publish_namespace = on_publish_namespace,
    .publish_namespace_done = on_publish_namespace_done,
    .subscribe_namespace = on_subscribe_namespace,
    .subscribe_namespace_done = on_subscribe_namespace_done,
    .track_status = on_track_status,
    .sub_ok = on_sub_ok,
    .sub_done = on_sub_done,
    .object = on_object,
    .fetch_ok = on_fetch_ok,
    .fetch_done = on_fetch_done,
    .subgroup_begin = on_subgroup_begin,
    .subgroup_data = on_subgroup_data,
    .subgroup_end = on_subgroup_end,
};

const fr_moq_callbacks *fr_relay_moq_callbacks(void)
{
    return &relay_callbacks;
}

void fr_relay_settings_default(fr_relay_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->cache_groups = 4;
    s->cache_bytes = 64 * 1024 * 1024;
    s->cache_total_bytes = (size_t)1 << 30;
    s->max_rendezvous = 10 * FR_SECONDS;
    s->log.level = FR_LOG_NONE;
}

int fr_relay_new(fr_relay **pr, const fr_relay_settings *settings,
                 void *user_data)
{
    fr_relay *r;

    if (!pr || !settings)
        return FR_ERR_INVALID_ARGUMENT;
    r = calloc(1, sizeof(*r));
    if (!r)
        return FR_ERR_NOMEM;
    r->settings = *settings;
    r->user_data = user_data;
    *pr = r;
    return 0;
}

void fr_relay_del(fr_relay *r)
{
    if (!r)
        return;
    while (r->tracks) {
        relay_track *t = r->tracks;
        if (t->up) {
            fr_moq_sub_set_user_data(t->up, NULL);
            fr_moq_unsubscribe(t->up);
        }
        track_end(t, FR_MOQ_DONE_GOING_AWAY, FR_MOQ_REQ_GOING_AWAY,
                  "relay shutting down");
    }
    fr_rdv_drop(&r->held, NULL);
    nssub_remove_where(r, NULL, 0, 0);
    while (r->namespaces) {
        relay_ns *n = r->namespaces;
        r->namespaces = n->next;
        fr_moq_name_copy_free(&n->ns);
        free(n);
    }
    free(r);
}

int fr_relay_add_upstream(fr_relay *r, fr_moq_session *s)
{
    fr_moq_name everything;

    if (!r || !s)
        return FR_ERR_INVALID_ARGUMENT;
    r->upstream = s;
    memset(&everything, 0, sizeof(everything));
    publisher_appeared(r, &everything, 0);
    return 0;
}

fr_tstamp fr_relay_next_expiry(const fr_relay *r)
{
    return fr_rdv_next_expiry(&r->held);
}

void fr_relay_handle_expiry(fr_relay *r, fr_tstamp now)
{
    fr_rdv_expire(&r->held, now);
    r->stats.subscribes_held = r->held.count;
}

void fr_relay_set_fastpath(fr_relay *r, const fr_relay_fastpath *fp)
{
    r->has_fp = fp != NULL;
    if (fp)
        r->fp = *fp;
}

void fr_relay_get_stats(const fr_relay *r, fr_relay_stats *st)
{
    *st = r->stats;
}

void *fr_relay_get_user_data(const fr_relay *r)
{
    return r->user_data;
}
