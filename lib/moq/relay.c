/*
 * The relay core: tracks with one upstream subscription each and their
 * downstream subscriptions, sessions, the API. Fan-out of subgroups is in
 * relay_fanout.c, FETCH in relay_fetch.c, namespaces in relay_ns.c.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "../util/layout.h"
#include "relay_internal.h"

relay_track *fr_relay_track_find(fr_relay *r, const fr_moq_name *name)
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

/* The kernel stops forwarding the track's new subgroups to `d`, if it
 * did. */
static void down_leave_kernel(relay_down *d)
{
    relay_track *t = d->t;
    fr_relay *r = t->r;

    if (d->kernel && t->up)
        r->fp.leave(r->fp.arg, fr_moq_sub_session(t->up),
                    t->info.track_alias, down_session(d));
    d->kernel = 0;
}

static void down_remove(relay_down *d)
{
    relay_track *t = d->t;
    relay_down **pp = &t->downs;

    down_leave_kernel(d);
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
void fr_relay_down_join(relay_down *d)
{
    relay_track *t = d->t;
    fr_relay *r = t->r;

    int rv;

    if (!r->has_fp || d->kernel || !t->up)
        return;
    rv = r->fp.join(r->fp.arg, fr_moq_sub_session(t->up), t->info.track_alias,
                    t->alias, t->info.publisher_priority, down_session(d));
    d->kernel = rv == 0;
    d->never_kernel = rv == FR_ERR_UNSUPPORTED;
    d->kernel_later = rv != 0 && !d->never_kernel;
}

/* What a new downstream subscription of `t` is told of the track. */
static fr_moq_track_info down_info(const relay_track *t)
{
    fr_moq_track_info info = t->info;

    info.track_alias = t->alias;
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
        fr_relay_down_join(d);
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
void fr_relay_publish_down(relay_track *t, fr_moq_session *s)
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
            fr_relay_publish_down(t, q->s);
}

/* Tracks. */

/* Caches an object of `t`, then keeps all tracks' caches within the total
 * limit, taking from the track that holds the most. */
void fr_relay_cache_add(relay_track *t, const fr_moq_object *obj)
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

/* Subscribes upstream for `t`. Returns 0, or -1 (nothing sent). */
static int track_subscribe(relay_track *t, fr_moq_session *up)
{
    fr_moq_sub_params p;

    fr_moq_sub_params_default(&p);
    return fr_moq_subscribe(up, &t->name.name, &p, &t->up, t) == 0 ? 0 : -1;
}

/* Whether the upstream SUBSCRIBE of a track from `up` (`down` asked
 * first) must wait: for `up` to finish its handshake and SETUP (a relay
 * that dials its upstream may have subscribers before that), or for the
 * fast path to be ready. */
static int upstream_waits(fr_relay *r, fr_moq_session *up,
                          fr_moq_session *down)
{
    return !fr_moq_session_is_ready(up) ||
           fr_relay_fastpath_prepare(r, up, down);
}

/* A track fed by a subscription to `up` (`down` asked first): made at
 * once, or once `up` and the fast path are ready for it. */
static relay_track *track_new(fr_relay *r, const fr_moq_name *name,
                              fr_moq_session *up, fr_moq_session *down)
{
    relay_track *t = track_alloc(r, name);

    if (!t)
        return NULL;
    if (upstream_waits(r, up, down)) {
        t->up_later = up;
        return t;
    }
    if (track_subscribe(t, up) != 0) {
        track_free(t);
        return NULL;
    }
    return t;
}

/* The upstream SUBSCRIBE `t` held: sent if `up` and the fast path are
 * ready now (or the fast path refuses); the track goes if no one waits
 * for it any more. */
static void track_subscribe_later(relay_track *t)
{
    fr_moq_session *up = t->up_later;

    if (t->waits && upstream_waits(t->r, up, t->waits->s))
        return;
    t->up_later = NULL;
    if (!t->waits)
        track_free(t);
    else if (track_subscribe(t, up) != 0)
        track_end(t, FR_MOQ_DONE_TRACK_ENDED, FR_MOQ_REQ_INTERNAL_ERROR,
                  "cannot subscribe upstream");
}

/* Session callbacks: publisher side (downstream). */

/* Holds a SUBSCRIBE no publisher can answer yet, if its subscriber wants
 * to wait (RENDEZVOUS_TIMEOUT) and the relay lets it. Returns whether it
 * is held. */
static int hold(fr_relay *r, fr_moq_session *s, uint64_t req,
                const fr_moq_name *name, const fr_moq_sub_params *p)
{
    fr_quic_endpoint *ep = fr_quic_conn_get_endpoint(fr_moq_session_conn(s));
    fr_duration wait = r->settings.max_rendezvous;

    if (!p->rendezvous_timeout_ms || !wait)
        return 0;
    if (p->rendezvous_timeout_ms < wait / FR_MILLISECONDS)
        wait = p->rendezvous_timeout_ms * FR_MILLISECONDS;
    if (fr_rdv_hold(&r->held, s, req, name, p, fr_quic_endpoint_now(ep) + wait))
        return 0;
    r->stats.subscribes_held = r->held.count;
    return 1;
}

/* A downstream SUBSCRIBE: served from the track if the relay has it, else
 * by subscribing upstream; with no publisher, held for one or refused. */
static void subscribe_down(fr_relay *r, fr_moq_session *s, uint64_t req,
                           const fr_moq_name *name,
                           const fr_moq_sub_params *p, int may_hold)
{
    relay_track *t = fr_relay_track_find(r, name);
    fr_moq_session *up;
    relay_wait *w;

    if (t && t->established) {
        accept_down(t, s, req, p);
        return;
    }
    if (!t) {
        up = upstream_for(r, name);
        if (!up || up == s) {
            if (!may_hold || !hold(r, s, req, name, p))
                fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST,
                              "no publisher for this track");
            return;
        }
        t = track_new(r, name, up, s);
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
void fr_relay_publisher_appeared(fr_relay *r, const fr_moq_name *name,
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
    relay_track *t = fr_relay_track_find(relay_of(ud), name);
    fr_moq_track_info info;

    if (!t || !t->established) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST, "track not active");
        return;
    }
    info = down_info(t);
    fr_moq_accept_track_status(s, req, &info);
}

/* Whether an established track other than `self` is known downstream by
 * `alias`. */
static int alias_taken(const fr_relay *r, const relay_track *self,
                       uint64_t alias)
{
    for (const relay_track *t = r->tracks; t; t = t->next)
        if (t != self && t->established && t->alias == alias)
            return 1;
    return 0;
}

/* The upstream accepted `t` (SUBSCRIBE_OK, or its PUBLISH): the track is
 * up, as `info` says. Downstream it gets an alias no other track of the
 * relay has: one session may subscribe to tracks of several publishers,
 * and each picks its aliases on its own (two fr-origins both take 1).
 * The upstream's alias when it is free: subgroup headers then go
 * downstream as they came. Else the smallest free one, which the kernel
 * writes over the upstream's in the headers it forwards: it must fit in
 * the bytes the upstream's takes there. */
static void track_establish(relay_track *t, const fr_moq_track_info *info)
{
    uint64_t alias = info->track_alias;

    if (alias_taken(t->r, t, alias))
        for (alias = 0; alias_taken(t->r, t, alias); alias++)
            ;
    t->established = 1;
    t->info = *info;
    t->alias = alias;
    t->has_largest = info->has_largest;
    t->largest = info->largest;
    t->r->stats.tracks++;
}

/* A publisher pushes a track (PUBLISH): it becomes the track's upstream
 * subscription without a SUBSCRIBE. */
static void on_publish(fr_moq_session *s, uint64_t req,
                       const fr_moq_name *name, const fr_moq_track_info *info,
                       void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_track *t;

    if (fr_relay_track_find(r, name)) {
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
    track_establish(t, info);
    fr_relay_publisher_appeared(r, name, 1);
    tracks_tell(t);
}


/* Session callbacks: subscriber side (upstream). */

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);

    (void)ud;
    track_establish(t, info);
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
    /* While the upstream session is known: the kernel's lists of the
     * track go with it (a subscriber's session may outlive many tracks). */
    for (relay_down *d = t->downs; d; d = d->next)
        down_leave_kernel(d);
    t->up = NULL;
    track_end(t, FR_MOQ_DONE_TRACK_ENDED,
              rejected ? code : FR_MOQ_REQ_DOES_NOT_EXIST,
              reason ? reason : "upstream ended");
}

/* Sessions. */

static void on_session_ready(fr_moq_session *s, void *ud)
{
    fr_relay *r = relay_of(ud);

    r->stats.sessions++;
    fr_relay_fastpath_prepare(r, NULL, s);
    /* Upstream SUBSCRIBEs held for this session to come up. */
    for (relay_track *t = r->tracks, *next; t; t = next) {
        next = t->next;
        if (t->up_later == s)
            track_subscribe_later(t);
    }
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
    fr_relay_nssub_remove_where(r, s, 0, 0);
    fr_relay_ns_remove_where(r, s, 0, 0);
    fr_rdv_drop(&r->held, s);
    r->stats.subscribes_held = r->held.count;
    if (r->upstream == s)
        r->upstream = NULL;
    fr_relay_fetch_session_closed(r, s);
    /* Tracks whose upstream SUBSCRIBE to the session was held. */
    for (relay_track *t = r->tracks, *next; t; t = next) {
        next = t->next;
        if (t->up_later == s)
            track_end(t, FR_MOQ_DONE_TRACK_ENDED, FR_MOQ_REQ_DOES_NOT_EXIST,
                      "upstream ended");
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
    .fetch = fr_relay_on_fetch,
    .publish = on_publish,
    .publish_namespace = fr_relay_on_publish_namespace,
    .publish_namespace_done = fr_relay_on_publish_namespace_done,
    .subscribe_namespace = fr_relay_on_subscribe_namespace,
    .subscribe_namespace_done = fr_relay_on_subscribe_namespace_done,
    .track_status = on_track_status,
    .sub_ok = on_sub_ok,
    .sub_done = on_sub_done,
    .object = fr_relay_on_object,
    .fetch_ok = fr_relay_on_fetch_ok,
    .fetch_done = fr_relay_on_fetch_done,
    .subgroup_begin = fr_relay_on_subgroup_begin,
    .subgroup_data = fr_relay_on_subgroup_data,
    .subgroup_end = fr_relay_on_subgroup_end,
};

const fr_moq_callbacks *fr_relay_moq_callbacks(void)
{
    return &relay_callbacks;
}

static const fr_layout settings_layouts[] = FR_LAYOUT_ONE(fr_relay_settings);
static const fr_layout stats_layouts[] = FR_LAYOUT_ONE(fr_relay_stats);

int fr_relay_settings_default_versioned(int version, fr_relay_settings *s)
{
    fr_relay_settings d;

    memset(&d, 0, sizeof(d));
    d.cache_groups = 4;
    d.cache_bytes = 64 * 1024 * 1024;
    d.cache_total_bytes = (size_t)1 << 30;
    d.max_rendezvous = 10 * FR_SECONDS;
    d.log.level = FR_LOG_NONE;
    return fr_layout_copy(s, &d, FR_LAYOUTS(settings_layouts), version);
}

#undef fr_relay_settings_default
void fr_relay_settings_default(fr_relay_settings *s)
{
    fr_relay_settings_default_versioned(1, s);
}

int fr_relay_new_versioned(fr_relay **pr, int version,
                           const fr_relay_settings *settings, void *user_data)
{
    fr_relay *r;

    if (!pr || !settings)
        return FR_ERR_INVALID_ARGUMENT;
    r = calloc(1, sizeof(*r));
    if (!r)
        return FR_ERR_NOMEM;
    fr_relay_settings_default(&r->settings);
    if (fr_layout_copy(&r->settings, settings, FR_LAYOUTS(settings_layouts),
                       version)) {
        free(r);
        return FR_ERR_INVALID_ARGUMENT;
    }
    r->user_data = user_data;
    *pr = r;
    return 0;
}

#undef fr_relay_new
int fr_relay_new(fr_relay **pr, const fr_relay_settings *settings,
                 void *user_data)
{
    return fr_relay_new_versioned(pr, 1, settings, user_data);
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
    fr_relay_nssub_remove_where(r, NULL, 0, 0);
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
    fr_relay_fastpath_prepare(r, s, NULL);
    memset(&everything, 0, sizeof(everything));
    fr_relay_publisher_appeared(r, &everything, 0);
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

int fr_relay_fastpath_prepare(fr_relay *r, fr_moq_session *up,
                              fr_moq_session *down)
{
    return r->has_fp && r->fp.prepare &&
           r->fp.prepare(r->fp.arg, up, down) != 0;
}

void fr_relay_fastpath_retry(fr_relay *r)
{
    for (relay_track *t = r->tracks, *next; t; t = next) {
        next = t->next;
        if (t->up_later) {
            track_subscribe_later(t);
            continue;
        }
        for (relay_down *d = t->downs; d; d = d->next)
            if (d->kernel_later)
                fr_relay_down_join(d);
    }
}

void fr_relay_set_fastpath(fr_relay *r, const fr_relay_fastpath *fp)
{
    r->has_fp = fp != NULL;
    if (fp)
        r->fp = *fp;
}


int fr_relay_get_stats_versioned(const fr_relay *r, int version,
                                 fr_relay_stats *st)
{
    return fr_layout_copy(st, &r->stats, FR_LAYOUTS(stats_layouts), version);
}

#undef fr_relay_get_stats
void fr_relay_get_stats(const fr_relay *r, fr_relay_stats *st)
{
    fr_relay_get_stats_versioned(r, FR_RELAY_STATS_V1, st);
}

void *fr_relay_get_user_data(const fr_relay *r)
{
    return r->user_data;
}
