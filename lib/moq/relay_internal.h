/*
 * The relay core's own structures and the functions its files share
 * (relay.c: tracks, downstream subscriptions, sessions and the API;
 * relay_fanout.c: subgroups and objects to subscribers; relay_fetch.c:
 * FETCH; relay_ns.c: namespaces). Internal to lib/moq.
 */
#ifndef FR_MOQ_RELAY_INTERNAL_H
#define FR_MOQ_RELAY_INTERNAL_H

#include <fastrelay/cache.h>
#include <fastrelay/relay.h>

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
    int kernel_later;        /* the kernel could not take it yet: asked
                                again (fr_relay_fastpath_retry) */
    int never_kernel;        /* the kernel cannot serve it (its suite):
                                its copies are not ones the kernel could
                                have sent */
    uint64_t mark;           /* the track's out_mark when it was last
                                found among a subgroup's outs */
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
    fr_moq_session *up_later; /* the upstream SUBSCRIBE to this session
                                 waits for the fast path (prepare) */
    int established;
    fr_moq_track_info info;  /* as the upstream told it */
    uint64_t alias;          /* what downstream sessions know it by */
    int has_largest;
    fr_moq_location largest;
    relay_down *downs;
    relay_wait *waits;
    relay_subgroup *subgroups;
    uint64_t out_mark;       /* a new value per fan-out (relay_fanout.c) */
    fr_moq_cache *cache;
    struct relay_track *next;
};

/* A downstream FETCH that an upstream one answers. */
typedef struct relay_fetch_wait {
    fr_moq_session *s;       /* downstream session and its request */
    uint64_t req;
    fr_moq_fetch *down;      /* the answer downstream, once accepted */
    struct relay_fetch_wait *next;
} relay_fetch_wait;

/* A FETCH the cache cannot answer, passed on to the upstream once for
 * every downstream FETCH of the same range that comes before its first
 * object (a storm of joiners asks the origin once). */
typedef struct relay_fetch {
    fr_relay *r;
    relay_track *t;          /* NULL once the track is gone */
    fr_moq_location start, end;
    fr_moq_fetch *up;        /* our FETCH upstream */
    int answered;            /* FETCH_OK came: */
    fr_moq_location ok_end;  /* ... with this end */
    int ok_end_of_track;
    uint64_t objects;        /* relayed so far */
    relay_fetch_wait *waits;
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

static inline fr_relay *relay_of(void *user_data)
{
    return user_data;
}

static inline fr_moq_session *down_session(const relay_down *d)
{
    return fr_moq_pub_session(d->pub);
}

/* relay.c */
relay_track *fr_relay_track_find(fr_relay *r, const fr_moq_name *name);
void fr_relay_cache_add(relay_track *t, const fr_moq_object *obj);
void fr_relay_down_join(relay_down *d);
/* fr_relay_fastpath.prepare, if there is a fast path: nonzero while it
 * is not ready for `up` and `down` (either may be NULL: a session that
 * may publish, or subscribe, asked ahead). */
int fr_relay_fastpath_prepare(fr_relay *r, fr_moq_session *up,
                              fr_moq_session *down);
void fr_relay_publish_down(relay_track *t, fr_moq_session *s);
void fr_relay_publisher_appeared(fr_relay *r, const fr_moq_name *name,
                                 int exact);

/* relay_fanout.c: upstream subgroups and objects to subscribers */
void fr_relay_on_subgroup_begin(fr_moq_sub *sub, uint64_t stream,
                                const fr_moq_subgroup_info *info, void *ud);
void fr_relay_on_subgroup_data(fr_moq_sub *sub, uint64_t stream,
                               const uint8_t *data, size_t len, void *ud);
void fr_relay_on_subgroup_end(fr_moq_sub *sub, uint64_t stream, int reset,
                              uint64_t code, void *ud);
void fr_relay_on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                        const fr_moq_object *obj, void *ud);

/* relay_fetch.c */
void fr_relay_fetched_object(fr_moq_fetch *f, const fr_moq_object *obj);
/* Session `s` closed: its FETCHes wait no more (an upstream FETCH nobody
 * waits for is cancelled). */
void fr_relay_fetch_session_closed(fr_relay *r, fr_moq_session *s);
void fr_relay_on_fetch(fr_moq_session *s, uint64_t req,
                       const fr_moq_fetch_request *f, void *ud);
void fr_relay_on_fetch_ok(fr_moq_fetch *f, fr_moq_location end,
                          int end_of_track, void *ud);
void fr_relay_on_fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                            const char *reason, void *ud);

/* relay_ns.c */
void fr_relay_nssub_remove_where(fr_relay *r, const fr_moq_session *s,
                                 int by_req, uint64_t req);
void fr_relay_ns_remove_where(fr_relay *r, fr_moq_session *s, int by_req,
                              uint64_t req);
void fr_relay_on_publish_namespace(fr_moq_session *s, uint64_t req,
                                   const fr_moq_name *ns, void *ud);
void fr_relay_on_publish_namespace_done(fr_moq_session *s, uint64_t req,
                                        void *ud);
void fr_relay_on_subscribe_namespace(fr_moq_session *s, uint64_t req,
                                     const fr_moq_name *prefix, int tracks,
                                     void *ud);
void fr_relay_on_subscribe_namespace_done(fr_moq_session *s, uint64_t req,
                                          void *ud);

#endif
