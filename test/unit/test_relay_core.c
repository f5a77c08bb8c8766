/*
 * The relay core in virtual time: an origin, the relay and many
 * subscribers on the simulated network of net_sim.h, each a real QUIC and
 * MoQT endpoint. The origin connects to the relay and announces its
 * namespace; subscribers subscribe through the relay.
 */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

#include "moq_glue.h"
#include "net_sim.h"

#define RELAY_IP "198.18.0.2"
#define RELAY_PORT 4433
#define MAX_SUBS 32
#define FPS 30
#define PAYLOAD 200

typedef struct world world;

typedef struct sub {
    world *w;
    fr_quic_endpoint *ep;
    fr_moq_session *s;
    fr_moq_sub *sub;
    uint64_t received;
    uint64_t corrupt;
    uint64_t out_of_order;
    int has_last;
    fr_moq_location last;
    fr_moq_location first;    /* the subscription's first object */
    int ended;
    int rejected;
    /* The joining FETCH of a late joiner. */
    fr_moq_fetch *fetch;
    uint64_t fetched;
    int has_fetch_last;
    fr_moq_location fetch_last;
    int fetch_ended;
    int fetch_rejected;
} sub;

struct world {
    fr_net *net;
    fr_quic_settings client_settings;
    fr_cert *cert;
    fr_relay *relay;
    fr_quic_endpoint *relay_ep;
    fr_quic_endpoint *origin_ep;
    fr_moq_session *origin;
    fr_moq_pub *pub;          /* the relay's subscription to the origin */
    fr_moq_subgroup *sg;
    fr_moq_cache *cache;      /* what the origin published, for FETCH */
    uint64_t origin_fetches;  /* FETCHes the origin answered */
    uint64_t groups;          /* the track's length */
    uint64_t next;            /* next object, counted from 0 */
    int done_sent;
    sub subs[MAX_SUBS];
    size_t nsubs;
    size_t late_from;         /* subscribers from this index join late */
    uint64_t late_at;         /* ... once this many objects went out */
    uint64_t rendezvous_ms;   /* subscribers' RENDEZVOUS_TIMEOUT */
    fr_tstamp origin_at;      /* when the origin connects */
    int origin_up;
    uint64_t held_max;        /* most SUBSCRIBEs the relay held at once */
    int leaver;               /* this subscriber unsubscribes (-1: none) */
    uint64_t leave_at;        /* ... once this many objects went out */
    uint64_t subscribers_after_leave; /* the relay's count just after */
};

static fr_moq_name track_name(void)
{
    fr_moq_name n;

    assert_int_equal(fr_moq_name_set(&n, "live", "video"), 0);
    return n;
}

static uint8_t pattern(fr_moq_location loc, size_t i)
{
    return (uint8_t)(loc.group * 31 + loc.object * 7 + i);
}

static int q_accept(fr_quic_conn *c, void *ud)
{
    world *w = fr_net_app(ud);
    fr_moq_settings ms;
    fr_moq_session *s;

    fr_moq_settings_default(&ms);
    return fr_moq_session_new(&s, c, fr_relay_moq_callbacks(), &ms,
                              w->relay);
}

static fr_quic_callbacks quic_callbacks(int server)
{
    fr_quic_callbacks cb = {0};

    fr_glue_callbacks(&cb);
    if (server)
        cb.accept = q_accept;
    return cb;
}

/* The origin. */

static void origin_ready(fr_moq_session *s, void *ud)
{
    fr_moq_name ns;
    uint64_t req;

    (void)ud;
    assert_int_equal(fr_moq_name_set(&ns, "live", ""), 0);
    assert_int_equal(fr_moq_publish_namespace(s, &ns, &req), 0);
}

static void origin_subscribe(fr_moq_session *s, uint64_t req,
                             const fr_moq_name *name,
                             const fr_moq_sub_params *p, void *ud)
{
    world *w = ud;
    fr_moq_track_info info = {.track_alias = 1, .publisher_priority = 128};

    (void)name;
    (void)p;
    assert_null(w->pub);
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &w->pub, w), 0);
}

static int fetch_one(const fr_moq_object *obj, void *f)
{
    return fr_moq_fetch_write(f, obj) != 0;
}

/* A FETCH the relay passed up: answered from everything published. */
static void origin_fetch(fr_moq_session *s, uint64_t req,
                         const fr_moq_fetch_request *f, void *ud)
{
    world *w = ud;
    fr_moq_fetch *out;

    assert_false(f->joining);
    assert_true(fr_moq_cache_covers(w->cache, f->start, f->end));
    assert_int_equal(fr_moq_accept_fetch(s, req, f->end, 0, &out), 0);
    fr_moq_cache_each(w->cache, f->start, f->end, f->group_order, fetch_one,
                      out);
    assert_int_equal(fr_moq_fetch_close(out), 0);
    w->origin_fetches++;
}

/* Writes the objects that are due: FPS a second, a group a second, one
 * subgroup per group; PUBLISH_DONE after the last. */
static fr_tstamp origin_tick(void *arg, fr_tstamp now)
{
    world *w = arg;
    uint8_t payload[PAYLOAD];
    fr_moq_location loc;

    (void)now;
    if (!w->pub || w->done_sent)
        return fr_net_now(w->net) + 10 * FR_MILLISECONDS;
    if (w->next == w->groups * FPS) {
        assert_int_equal(fr_moq_pub_done(w->pub, FR_MOQ_DONE_TRACK_ENDED,
                                         "track ended"),
                         0);
        w->sg = NULL;
        w->done_sent = 1;
        return FR_TSTAMP_MAX;
    }
    loc.group = w->next / FPS;
    loc.object = w->next % FPS;
    if (loc.object == 0) {
        fr_moq_subgroup_info info = {.group = loc.group,
                                     .publisher_priority = 128,
                                     .first_object = 1};
        if (w->sg)
            assert_int_equal(fr_moq_subgroup_close(w->sg), 0);
        info.end_of_group = 1;
        assert_int_equal(fr_moq_pub_open_subgroup(w->pub, &info, &w->sg), 0);
    }
    for (size_t i = 0; i < PAYLOAD; i++)
        payload[i] = pattern(loc, i);
    assert_int_equal(fr_moq_subgroup_write(w->sg, loc.object, payload,
                                           PAYLOAD),
                     0);
    {
        fr_moq_object obj = {.loc = loc, .publisher_priority = 128,
                             .payload = payload, .payload_len = PAYLOAD};
        assert_int_equal(fr_moq_cache_add(w->cache, &obj), 0);
    }
    w->next++;
    return fr_net_now(w->net) + FR_SECONDS / FPS;
}

/* Subscribers. */

static void subscribe(sub *u)
{
    fr_moq_name n = track_name();
    fr_moq_sub_params p;

    fr_moq_sub_params_default(&p);
    p.rendezvous_timeout_ms = u->w->rendezvous_ms;
    assert_int_equal(fr_moq_subscribe(u->s, &n, &p, &u->sub, u), 0);
}

static void sub_ready(fr_moq_session *s, void *ud)
{
    world *w = ud;

    for (size_t i = 0; i < w->late_from && i < w->nsubs; i++)
        if (w->subs[i].s == s)
            subscribe(&w->subs[i]);
}

/* The object after `loc` in the origin's track. */
static fr_moq_location after(fr_moq_location loc)
{
    fr_moq_location n = loc;

    if (++n.object == FPS) {
        n.group++;
        n.object = 0;
    }
    return n;
}

static int same(fr_moq_location a, fr_moq_location b)
{
    return a.group == b.group && a.object == b.object;
}

/* Counts an object of a subscription (has_last/last) or of a fetch. */
static void take(sub *u, const fr_moq_object *obj, int *has_last,
                 fr_moq_location *last)
{
    if (obj->payload_len != PAYLOAD)
        u->corrupt++;
    for (size_t i = 0; i < obj->payload_len; i++)
        if (obj->payload[i] != pattern(obj->loc, i)) {
            u->corrupt++;
            break;
        }
    if (*has_last && !same(obj->loc, after(*last)))
        u->out_of_order++;
    *has_last = 1;
    *last = obj->loc;
}

static void sub_object(fr_moq_sub *s, fr_moq_fetch *f,
                       const fr_moq_object *obj, void *ud)
{
    sub *u;

    (void)ud;
    if (f) {
        u = fr_moq_fetch_get_user_data(f);
        u->fetched++;
        take(u, obj, &u->has_fetch_last, &u->fetch_last);
        return;
    }
    u = fr_moq_sub_get_user_data(s);
    if (!u->has_last)
        u->first = obj->loc;
    u->received++;
    take(u, obj, &u->has_last, &u->last);
}

static void fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                       const char *reason, void *ud)
{
    sub *u = fr_moq_fetch_get_user_data(f);

    (void)code;
    (void)reason;
    (void)ud;
    u->fetch_ended = 1;
    u->fetch_rejected = rejected;
    u->fetch = NULL;
}

static void sub_done(fr_moq_sub *s, int rejected, uint64_t code,
                     const char *reason, void *ud)
{
    sub *u = fr_moq_sub_get_user_data(s);

    (void)code;
    (void)reason;
    (void)ud;
    u->ended = 1;
    u->rejected = rejected;
    u->sub = NULL;
}

static int subs_ended(void *arg)
{
    world *w = arg;

    for (size_t i = 0; i < w->nsubs; i++)
        if (!w->subs[i].ended)
            return 0;
    return 1;
}

static int all_ended(void *arg)
{
    world *w = arg;

    for (size_t i = 0; i < w->nsubs; i++)
        if (!w->subs[i].ended ||
            (i >= w->late_from && !w->subs[i].fetch_ended))
            return 0;
    return w->done_sent;
}

static void origin_connect(world *w);

/* The origin connects at origin_at. Late joiners subscribe once late_at
 * objects went out, and fetch what came before, from the previous group
 * on (a joining FETCH). */
static fr_tstamp tick(void *arg, fr_tstamp now)
{
    world *w = arg;
    fr_relay_stats st;

    if (!w->origin_up && now >= w->origin_at)
        origin_connect(w);
    fr_relay_get_stats(w->relay, &st);
    if (st.subscribes_held > w->held_max)
        w->held_max = st.subscribes_held;

    for (size_t i = w->late_from; i < w->nsubs; i++) {
        sub *u = &w->subs[i];

        if (!u->sub && !u->ended && w->next >= w->late_at &&
            fr_moq_session_is_ready(u->s)) {
            subscribe(u);
            assert_int_equal(fr_moq_fetch_joining(u->sub, 1, 1, &u->fetch,
                                                  u),
                             0);
        }
    }
    if (w->leaver >= 0 && w->subs[w->leaver].sub && w->next >= w->leave_at) {
        assert_int_equal(fr_moq_unsubscribe(w->subs[w->leaver].sub), 0);
        w->leaver = -1;
    } else if (w->leave_at && w->leaver < 0 &&
               !w->subscribers_after_leave) {
        fr_relay_get_stats(w->relay, &st);
        w->subscribers_after_leave = st.subscribers;
    }
    if (!w->origin_up)
        return w->origin_at;
    return origin_tick(arg, now);
}

/* A world of `nsubs` subscribers and a track of `groups` groups; the
 * relay caches `cache_groups` groups per track (0: its default). */
static void world_new(world *w, size_t nsubs, uint64_t groups,
                      size_t cache_groups)
{
    fr_quic_callbacks rcb = quic_callbacks(1), ccb;
    fr_quic_settings rs, cs;
    fr_relay_settings relay_settings;
    fr_moq_settings ms;
    fr_moq_callbacks scb = {0};
    fr_quic_conn *c;
    fr_quic_path path;
    size_t len;

    memset(w, 0, sizeof(*w));
    w->groups = groups;
    w->nsubs = nsubs;
    w->late_from = nsubs;
    w->leaver = -1;
    w->net = fr_net_new(1 * FR_MILLISECONDS);
    assert_int_equal(fr_cert_generate(&w->cert, RELAY_IP), 0);
    assert_int_equal(fr_moq_cache_new(&w->cache, 64, 64 << 20), 0);
    fr_relay_settings_default(&relay_settings);
    if (cache_groups)
        relay_settings.cache_groups = cache_groups;
    assert_int_equal(fr_relay_new(&w->relay, &relay_settings, w), 0);

    fr_quic_settings_default(&rs);
    rs.alpn = cs.alpn = FR_MOQ_ALPNS;
    rs.cert = w->cert;
    rs.accept_connections = 1;
    w->relay_ep = fr_net_endpoint(w->net, RELAY_IP, RELAY_PORT, &rcb, &rs, w);
    assert_non_null(w->relay_ep);

    fr_quic_settings_default(&cs);
    cs.alpn = FR_MOQ_ALPNS;
    cs.ca_pem = fr_cert_pem(w->cert, &len);
    cs.ca_pem_len = len;
    fr_moq_settings_default(&ms);

    w->client_settings = cs;
    ccb = quic_callbacks(0);
    w->origin_ep = fr_net_endpoint(w->net, "198.18.0.1", 5000, &ccb, &cs, w);
    assert_non_null(w->origin_ep);

    scb.session_ready = sub_ready;
    scb.object = sub_object;
    scb.sub_done = sub_done;
    scb.fetch_done = fetch_done;
    for (size_t i = 0; i < nsubs; i++) {
        sub *u = &w->subs[i];
        char ip[32];

        snprintf(ip, sizeof(ip), "198.18.1.%zu", 10 + i);
        u->w = w;
        ccb = quic_callbacks(0);
        u->ep = fr_net_endpoint(w->net, ip, 6000, &ccb, &cs, w);
        assert_non_null(u->ep);
        path = fr_net_path(ip, 6000, RELAY_IP, RELAY_PORT);
        assert_int_equal(fr_quic_endpoint_connect(u->ep, &c, &path,
                                                  RELAY_IP, NULL,
                                                  fr_net_now(w->net)),
                         0);
        assert_int_equal(fr_moq_session_new(&u->s, c, &scb, &ms, w), 0);
    }
}

/* The origin connects to the relay (and announces its namespace once its
 * session is up). */
static void origin_connect(world *w)
{
    fr_moq_callbacks ocb = {0};
    fr_moq_settings ms;
    fr_quic_path path = fr_net_path("198.18.0.1", 5000, RELAY_IP,
                                    RELAY_PORT);
    fr_quic_conn *c;

    ocb.session_ready = origin_ready;
    ocb.subscribe = origin_subscribe;
    ocb.fetch = origin_fetch;
    fr_moq_settings_default(&ms);
    assert_int_equal(fr_quic_endpoint_connect(w->origin_ep, &c, &path,
                                              RELAY_IP, NULL,
                                              fr_net_now(w->net)),
                     0);
    assert_int_equal(fr_moq_session_new(&w->origin, c, &ocb, &ms, w), 0);
    w->origin_up = 1;
}

static void del_sessions(fr_quic_endpoint *ep)
{
    for (fr_quic_conn *c = fr_quic_endpoint_next_conn(ep, NULL); c;
         c = fr_quic_endpoint_next_conn(ep, c))
        if (fr_glue_session(c))
            fr_moq_session_del(fr_glue_session(c));
}

static void world_del(world *w)
{
    del_sessions(w->relay_ep);
    del_sessions(w->origin_ep);
    for (size_t i = 0; i < w->nsubs; i++)
        del_sessions(w->subs[i].ep);
    fr_quic_endpoint_del(w->relay_ep);
    fr_quic_endpoint_del(w->origin_ep);
    for (size_t i = 0; i < w->nsubs; i++)
        fr_quic_endpoint_del(w->subs[i].ep);
    fr_relay_del(w->relay);
    fr_moq_cache_del(w->cache);
    fr_cert_del(w->cert);
    fr_net_del(w->net);
}

/* Twenty subscribers from the start: each gets every object of the
 * 3-second track in order and intact, and its subscription ends with the
 * track; the relay holds no subscription after. */
static void test_fan_out(void **state)
{
    static world w;
    fr_relay_stats st;

    (void)state;
    world_new(&w, 20, 3, 0);
    assert_true(fr_net_run(w.net, all_ended, tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const sub *u = &w.subs[i];

        assert_false(u->rejected);
        assert_int_equal(u->received, w.groups * FPS);
        assert_int_equal(u->corrupt, 0);
        assert_int_equal(u->out_of_order, 0);
    }
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.subscribers, 0);
    assert_int_equal(st.objects_received, w.groups * FPS);
    assert_int_equal(fr_net_unroutable(w.net), 0);
    /* The stats by layout version: the plain symbol (programs built
     * before versions) gives layout 1, a version from a newer header is
     * refused and nothing written. */
    {
        fr_relay_stats v1, newer;

        memset(&v1, 0xa5, sizeof(v1));
        (fr_relay_get_stats)(w.relay, &v1);
        assert_memory_equal(&v1, &st, sizeof(st));
        memset(&newer, 0xa5, sizeof(newer));
        assert_int_equal(fr_relay_get_stats_versioned(
                             w.relay, FR_RELAY_STATS_VERSION + 1, &newer),
                         FR_ERR_INVALID_ARGUMENT);
        memset(&v1, 0xa5, sizeof(v1));
        assert_memory_equal(&newer, &v1, sizeof(v1));
    }
    world_del(&w);
}

/* Subscribers that join half-way through a group get the objects after
 * the largest one at their joining, to the end, in order; their joining
 * FETCH, answered from the relay's cache, brings the objects from the
 * group before up to the joining one: together, no gap. */
static void test_late_joiners(void **state)
{
    static world w;
    fr_relay_stats st;

    (void)state;
    world_new(&w, 6, 3, 0);
    w.late_from = 3;
    w.late_at = FPS + FPS / 2;
    assert_true(fr_net_run(w.net, all_ended, tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const sub *u = &w.subs[i];

        assert_false(u->rejected);
        assert_int_equal(u->corrupt, 0);
        assert_int_equal(u->out_of_order, 0);
        if (i < w.late_from) {
            assert_int_equal(u->received, w.groups * FPS);
        } else {
            assert_true(u->received > 0 && u->received < w.groups * FPS);
            assert_false(u->fetch_rejected);
            assert_true(u->has_fetch_last);
            assert_true(u->fetched > FPS);
            assert_true(same(after(u->fetch_last), u->first));
        }
        assert_int_equal(u->last.group, w.groups - 1);
        assert_int_equal(u->last.object, FPS - 1);
    }
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.fetches_served, w.nsubs - w.late_from);
    assert_int_equal(st.fetches_upstream, 0);
    world_del(&w);
}

/* Subscribers that come before the publisher and ask for a rendezvous
 * are held by the relay until the origin announces the namespace, then
 * served the whole track; those that ask for none are refused at once. */
static void test_rendezvous(void **state)
{
    static world w;

    (void)state;
    world_new(&w, 5, 2, 0);
    w.rendezvous_ms = 5000;
    w.origin_at = fr_net_now(w.net) + 1 * FR_SECONDS;
    assert_true(fr_net_run(w.net, all_ended, tick, &w, 30 * FR_SECONDS));
    assert_int_equal(w.held_max, w.nsubs);
    for (size_t i = 0; i < w.nsubs; i++) {
        assert_false(w.subs[i].rejected);
        assert_int_equal(w.subs[i].received, w.groups * FPS);
        assert_int_equal(w.subs[i].corrupt, 0);
    }
    world_del(&w);

    world_new(&w, 2, 2, 0);
    w.origin_at = fr_net_now(w.net) + 1 * FR_SECONDS;
    assert_true(fr_net_run(w.net, subs_ended, tick, &w, 30 * FR_SECONDS));
    assert_int_equal(w.held_max, 0);
    for (size_t i = 0; i < w.nsubs; i++) {
        assert_true(w.subs[i].rejected);
        assert_int_equal(w.subs[i].received, 0);
    }
    world_del(&w);
}

/* One of four subscribers unsubscribes half-way: it gets no more, the
 * relay drops its subscription at once, the others get the whole track. */
static void test_unsubscribe(void **state)
{
    static world w;
    fr_relay_stats st;

    (void)state;
    world_new(&w, 4, 3, 0);
    w.leaver = 1;
    w.leave_at = FPS + FPS / 2;
    assert_true(fr_net_run(w.net, all_ended, tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const sub *u = &w.subs[i];

        assert_int_equal(u->corrupt, 0);
        assert_int_equal(u->out_of_order, 0);
        if (i == 1)
            assert_true(u->received >= FPS && u->received < w.groups * FPS);
        else
            assert_int_equal(u->received, w.groups * FPS);
    }
    assert_int_equal(w.subscribers_after_leave, w.nsubs - 1);
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.subscribers, 0);
    world_del(&w);
}

/* A relay that caches one group: a late joiner's joining FETCH from two
 * groups back reaches past it, so the relay passes it to the origin and
 * relays the answer; still no gap. */
static void test_fetch_upstream(void **state)
{
    static world w;
    fr_relay_stats st;
    const sub *u;

    (void)state;
    world_new(&w, 2, 4, 1);
    w.late_from = 1;
    w.late_at = 2 * FPS + FPS / 2;
    assert_true(fr_net_run(w.net, all_ended, tick, &w, 30 * FR_SECONDS));
    u = &w.subs[1];
    assert_false(u->fetch_rejected);
    assert_int_equal(u->corrupt, 0);
    assert_int_equal(u->out_of_order, 0);
    assert_true(u->fetched > FPS);
    assert_true(same(after(u->fetch_last), u->first));
    assert_int_equal(w.subs[0].received, w.groups * FPS);
    assert_int_equal(w.origin_fetches, 1);
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.fetches_upstream, 1);
    world_del(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_late_joiners),
        cmocka_unit_test(test_rendezvous),
        cmocka_unit_test(test_unsubscribe),
        cmocka_unit_test(test_fetch_upstream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
