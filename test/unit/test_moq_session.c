/*
 * MoQT session tests in virtual time: subscribe / publish / PUBLISH_DONE,
 * rejection, FETCH from a cache, a namespace announced and withdrawn,
 * GOAWAY, SUBSCRIBEs held for a publisher (the relay's rendezvous list),
 * and malformed or out-of-state input, which must close the session with
 * the draft's error code.
 */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

#include "moq_pair.h"
#include "../../lib/moq/rendezvous.h"

typedef struct moq_test {
    int ready;
    /* Publisher side. */
    int reject_code;         /* nonzero: reject subscriptions with it */
    fr_rdv *hold;            /* non-NULL: hold subscriptions there */
    uint64_t held_timeout_ms;
    fr_moq_pub *pub;
    fr_moq_cache *cache;
    /* Subscriber side. */
    fr_moq_sub *sub;
    int sub_ok;
    int sub_done;
    int sub_rejected;
    uint64_t sub_code;
    int objects;
    int fetched;
    int bad_payload;
    int fetch_done;
    /* Namespaces: announced to the server, answered, withdrawn. */
    int ns_announced;
    uint64_t ns_req;
    int ns_answers;
    int ns_accepted;
    int ns_withdrawn;
    uint64_t ns_withdrawn_req;
    /* GOAWAY as the client saw it. */
    int goaways;
    uint64_t goaway_timeout;
    char goaway_uri[64];
    int closed_client;
    int closed_server;
    uint64_t close_code;
} moq_test;

static moq_test T;
static fr_moq_pair P;

static void on_ready(fr_moq_session *s, void *ud)
{
    (void)ud;
    if (s == P.cs)
        T.ready = 1;
}

static void on_closed(fr_moq_session *s, uint64_t code, const char *reason,
                      void *ud)
{
    (void)reason;
    (void)ud;
    if (s == P.cs) {
        T.closed_client = 1;
        T.close_code = code;
        P.cs = NULL;
    } else if (s == P.ss) {
        T.closed_server = 1;
        P.ss = NULL;
    }
}

static void on_subscribe(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, const fr_moq_sub_params *p,
                         void *ud)
{
    fr_moq_track_info info = {.track_alias = 7,
                              .group_order = FR_MOQ_ORDER_ASCENDING,
                              .publisher_priority = 128};

    (void)ud;
    if (T.hold) {
        T.held_timeout_ms = p->rendezvous_timeout_ms;
        assert_int_equal(fr_rdv_hold(T.hold, s, req, name, p,
                                     fr_sim_now(P.sim) +
                                         p->rendezvous_timeout_ms *
                                             FR_MILLISECONDS),
                         0);
        return;
    }
    (void)name;
    if (T.reject_code) {
        fr_moq_reject(s, req, (uint64_t)T.reject_code, "go away");
        return;
    }
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &T.pub, NULL), 0);
}

static void on_pub_done(fr_moq_pub *pub, void *ud)
{
    (void)ud;
    if (pub == T.pub)
        T.pub = NULL;
}

static int serve(const fr_moq_object *obj, void *f)
{
    return fr_moq_fetch_write(f, obj);
}

static void on_fetch(fr_moq_session *s, uint64_t req,
                     const fr_moq_fetch_request *f, void *ud)
{
    fr_moq_fetch *out;

    (void)ud;
    if (!fr_moq_cache_covers(T.cache, f->start, f->end)) {
        fr_moq_reject(s, req, FR_MOQ_REQ_INVALID_RANGE, "not held");
        return;
    }
    assert_int_equal(fr_moq_accept_fetch(s, req, f->end, 0, &out), 0);
    assert_int_equal(fr_moq_cache_each(T.cache, f->start, f->end,
                                       f->group_order, serve, out),
                     0);
    assert_int_equal(fr_moq_fetch_close(out), 0);
}

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    (void)ud;
    assert_ptr_equal(sub, T.sub);
    assert_int_equal(info->track_alias, 7);
    T.sub_ok = 1;
}

static void on_sub_done(fr_moq_sub *sub, int rejected, uint64_t code,
                        const char *reason, void *ud)
{
    (void)reason;
    (void)ud;
    if (sub == T.sub)
        T.sub = NULL;
    T.sub_done = 1;
    T.sub_rejected = rejected;
    T.sub_code = code;
}

static void on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                      const fr_moq_object *obj, void *ud)
{
    char want[32];

    (void)sub;
    (void)ud;
    snprintf(want, sizeof(want), "g%llu-o%llu",
             (unsigned long long)obj->loc.group,
             (unsigned long long)obj->loc.object);
    if (obj->payload_len != strlen(want) ||
        memcmp(obj->payload, want, obj->payload_len) != 0)
        T.bad_payload++;
    if (f)
        T.fetched++;
    else
        T.objects++;
}

static void on_fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                          const char *reason, void *ud)
{
    (void)f;
    (void)rejected;
    (void)code;
    (void)reason;
    (void)ud;
    T.fetch_done++;
}

static void on_publish_namespace(fr_moq_session *s, uint64_t req,
                                 const fr_moq_name *ns, void *ud)
{
    (void)ud;
    assert_int_equal(ns->nfields, 2);
    T.ns_announced++;
    T.ns_req = req;
    assert_int_equal(fr_moq_accept_request(s, req), 0);
}

static void on_publish_namespace_done(fr_moq_session *s, uint64_t req,
                                      void *ud)
{
    (void)s;
    (void)ud;
    T.ns_withdrawn++;
    T.ns_withdrawn_req = req;
}

static void on_namespace_answer(fr_moq_session *s, uint64_t req, int accepted,
                                uint64_t code, const char *reason, void *ud)
{
    (void)s;
    (void)req;
    (void)code;
    (void)reason;
    (void)ud;
    T.ns_answers++;
    T.ns_accepted = accepted;
}

static void on_goaway(fr_moq_session *s, const char *uri,
                      uint64_t timeout_ms, void *ud)
{
    (void)ud;
    if (s != P.cs)
        return;
    T.goaways++;
    T.goaway_timeout = timeout_ms;
    snprintf(T.goaway_uri, sizeof(T.goaway_uri), "%s", uri);
}

static const fr_moq_callbacks moq_cb = {
    .goaway = on_goaway,
    .publish_namespace = on_publish_namespace,
    .publish_namespace_done = on_publish_namespace_done,
    .namespace_answer = on_namespace_answer,
    .session_ready = on_ready,
    .session_closed = on_closed,
    .subscribe = on_subscribe,
    .pub_done = on_pub_done,
    .fetch = on_fetch,
    .sub_ok = on_sub_ok,
    .sub_done = on_sub_done,
    .object = on_object,
    .fetch_done = on_fetch_done,
};

/* The client offers only this draft's ALPN (NULL: both, so draft 19). */
static const char *g_client_alpn;

static void client_alpn(fr_quic_callbacks *cb, fr_quic_settings *s)
{
    (void)cb;
    if (g_client_alpn)
        s->alpn = g_client_alpn;
}

static void setup(int raw_client)
{
    memset(&T, 0, sizeof(T));
    assert_int_equal(fr_moq_cache_new(&T.cache, 4, 1 << 20), 0);
    fr_moq_pair_setup(&P, &moq_cb, NULL, FR_CRYPTO_TLS, raw_client,
                      client_alpn);
}

static void teardown(void)
{
    fr_moq_pair_teardown(&P);
    fr_moq_cache_del(T.cache);
}

static int never_done(void *a)
{
    (void)a;
    return 0;
}

static int is_ready(void *a)
{
    (void)a;
    return T.ready && P.ss;
}

static int subscribed(void *a)
{
    (void)a;
    return T.sub_ok || T.sub_done;
}

static int sub_finished(void *a)
{
    (void)a;
    return T.sub_done;
}

static int fetch_finished(void *a)
{
    (void)a;
    return T.fetch_done;
}

static int raw_closed(void *a)
{
    (void)a;
    return P.raw_closed;
}

static int ns_answered(void *a)
{
    (void)a;
    return T.ns_answers > 0;
}

static int ns_withdrawn(void *a)
{
    (void)a;
    return T.ns_withdrawn > 0;
}

static int got_goaway(void *a)
{
    (void)a;
    return T.goaways > 0;
}

static void publish_group(uint64_t g, int n)
{
    fr_moq_subgroup_info info = {.group = g, .publisher_priority = 128,
                                 .end_of_group = 1, .first_object = 1};
    fr_moq_subgroup *sg;
    char payload[32];

    assert_int_equal(fr_moq_pub_open_subgroup(T.pub, &info, &sg), 0);
    for (int o = 0; o < n; o++) {
        fr_moq_object obj = {.loc = {g, (uint64_t)o},
                             .publisher_priority = 128};
        snprintf(payload, sizeof(payload), "g%llu-o%d",
                 (unsigned long long)g, o);
        obj.payload = (const uint8_t *)payload;
        obj.payload_len = strlen(payload);
        assert_int_equal(fr_moq_subgroup_write_object(sg, &obj), 0);
        assert_int_equal(fr_moq_cache_add(T.cache, &obj), 0);
    }
    assert_int_equal(fr_moq_subgroup_close(sg), 0);
}

/* The client subscribes; the server publishes three groups of ten objects
 * and PUBLISH_DONE; every object arrives whole. */
static void subscribe_three_groups(void)
{
    fr_moq_name name;

    assert_int_equal(fr_moq_name_set(&name, "live/cam", "video"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL), 0);
    assert_true(fr_sim_run(P.sim, subscribed, NULL, 5 * FR_SECONDS));
    assert_true(T.sub_ok);
    assert_non_null(T.pub);
    for (uint64_t g = 0; g < 3; g++)
        publish_group(g, 10);
    /* PUBLISH_DONE goes out at once, but the subscription ends only when
     * all three streams have delivered. */
    assert_int_equal(fr_moq_pub_done(T.pub, FR_MOQ_DONE_TRACK_ENDED, "end"),
                     0);
    assert_true(fr_sim_run(P.sim, sub_finished, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.objects, 30);
    assert_int_equal(T.bad_payload, 0);
    assert_int_equal(T.sub_rejected, 0);
    assert_int_equal(T.sub_code, FR_MOQ_DONE_TRACK_ENDED);
}

static void test_subscribe_publish_done(void **state)
{
    (void)state;
    setup(0);
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    subscribe_three_groups();
    teardown();
}

/* The same over WebTransport (ALPN h3, CONNECT to /moq): the draft comes
 * from wt-protocol (the server's first choice, 19), the objects arrive
 * whole, and both sessions say they run over WebTransport. */
static void test_subscribe_over_webtransport(void **state)
{
    (void)state;
    fr_moq_pair_webtransport = "/moq";
    setup(0);
    fr_moq_pair_webtransport = NULL;
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_true(fr_moq_session_is_webtransport(P.cs));
    assert_true(fr_moq_session_is_webtransport(P.ss));
    assert_string_equal(fr_quic_conn_get_alpn(P.conn), "h3");
    assert_int_equal(fr_moq_session_draft(P.cs), 19);
    assert_int_equal(fr_moq_session_draft(P.ss), 19);
    subscribe_three_groups();
    teardown();
}

static void test_subscribe_rejected(void **state)
{
    fr_moq_name name;

    (void)state;
    setup(0);
    T.reject_code = FR_MOQ_REQ_DOES_NOT_EXIST;
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_name_set(&name, "live", "nothing"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL), 0);
    assert_true(fr_sim_run(P.sim, sub_finished, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.sub_rejected, 1);
    assert_int_equal(T.sub_code, FR_MOQ_REQ_DOES_NOT_EXIST);
    assert_false(T.closed_client); /* a rejection is not a session error */
    teardown();
}

/* Draft 18 withdraws a namespace by cancelling its request stream (not by
 * FIN): the receiving side must drop it all the same. */
static void test_namespace_withdrawn_by_cancel(void **state)
{
    fr_moq_name ns;
    uint64_t req;

    (void)state;
    setup(0);
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_name_set(&ns, "moq-test/interop", ""), 0);
    assert_int_equal(fr_moq_publish_namespace(P.cs, &ns, &req), 0);
    assert_true(fr_sim_run(P.sim, ns_answered, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.ns_announced, 1);
    assert_int_equal(T.ns_accepted, 1);
    assert_int_equal(fr_moq_publish_namespace_done(P.cs, req), 0);
    /* Withdrawn once; a second withdrawal names nothing. */
    assert_int_equal(fr_moq_publish_namespace_done(P.cs, req),
                     FR_ERR_INVALID_ARGUMENT);
    assert_true(fr_sim_run(P.sim, ns_withdrawn, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.ns_withdrawn, 1);
    assert_int_equal(T.ns_withdrawn_req, T.ns_req);
    assert_int_equal(T.ns_answers, 1); /* no callback for our own cancel */
    assert_false(T.closed_client);
    assert_false(T.closed_server);
    teardown();
}

/* A GOAWAY from the server: the client hears of it and makes no new
 * request; a request already on its way when the server sent it is
 * refused GOING_AWAY; the session itself goes on. */
static void goaway_case(const char *alpn, unsigned draft)
{
    fr_moq_name name;

    g_client_alpn = alpn;
    setup(0);
    g_client_alpn = NULL;
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_session_draft(P.cs), draft);
    assert_int_equal(fr_moq_session_draft(P.ss), draft);
    assert_int_equal(fr_moq_name_set(&name, "live", "video"), 0);
    /* Sent before the GOAWAY reaches the client. */
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL), 0);
    assert_int_equal(fr_moq_session_goaway(P.ss, "moqt://198.18.0.9:4433",
                                           1500),
                     0);
    assert_int_equal(fr_moq_session_goaway(P.ss, NULL, 0),
                     FR_ERR_INVALID_STATE);
    assert_true(fr_sim_run(P.sim, got_goaway, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.goaway_timeout, 1500);
    assert_string_equal(T.goaway_uri, "moqt://198.18.0.9:4433");
    assert_true(fr_sim_run(P.sim, sub_finished, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.sub_rejected, 1);
    assert_int_equal(T.sub_code, FR_MOQ_REQ_GOING_AWAY);
    assert_null(T.pub);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL),
                     FR_ERR_GOING_AWAY);
    /* A client's GOAWAY names no URI. */
    assert_int_equal(fr_moq_session_goaway(P.cs, "moqt://x:1", 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_false(T.closed_client);
    assert_false(T.closed_server);
    teardown();
}

/* Draft 19's GOAWAY has no Request ID; the refusal works the same. */
static void test_goaway(void **state)
{
    (void)state;
    goaway_case(NULL, 19);
    goaway_case(FR_MOQ_ALPN_18, 18);
}

static int rdv_again_calls;

/* A publisher appeared: the held SUBSCRIBE is answered now. */
static void rdv_again(void *arg, fr_moq_session *s, uint64_t req,
                      const fr_moq_name *name, const fr_moq_sub_params *p)
{
    fr_moq_track_info info = {.track_alias = 7,
                              .group_order = FR_MOQ_ORDER_ASCENDING,
                              .publisher_priority = 128};

    assert_ptr_equal(arg, &rdv_again_calls);
    assert_int_equal(name->nfields, 2);
    assert_int_equal(p->rendezvous_timeout_ms, 300);
    rdv_again_calls++;
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &T.pub, NULL), 0);
}

/* RENDEZVOUS_TIMEOUT travels with the SUBSCRIBE; a held one proceeds when
 * a namespace covering it comes, not for another, and one that waits too
 * long is answered TIMEOUT. */
static void test_rendezvous(void **state)
{
    fr_moq_sub_params p;
    fr_moq_name name, other, ns;
    fr_rdv v = {0};
    fr_tstamp t0;

    (void)state;
    setup(0);
    T.hold = &v;
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    fr_moq_sub_params_default(&p);
    p.rendezvous_timeout_ms = 300;
    assert_int_equal(fr_moq_name_set(&name, "live/cam", "video"), 0);
    t0 = fr_sim_now(P.sim);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, &p, &T.sub, NULL), 0);
    assert_false(fr_sim_run(P.sim, never_done, NULL, 50 * FR_MILLISECONDS));
    assert_int_equal(v.count, 1);
    assert_int_equal(T.held_timeout_ms, 300);
    assert_true(fr_rdv_next_expiry(&v) > t0);
    assert_true(fr_rdv_next_expiry(&v) <= fr_sim_now(P.sim) +
                                              300 * FR_MILLISECONDS);
    /* Another namespace, or a track of another name: still held. */
    assert_int_equal(fr_moq_name_set(&other, "live/mic", ""), 0);
    fr_rdv_release(&v, &other, 0, rdv_again, &rdv_again_calls);
    assert_int_equal(fr_moq_name_set(&other, "live/cam", "audio"), 0);
    fr_rdv_release(&v, &other, 1, rdv_again, &rdv_again_calls);
    assert_int_equal(v.count, 1);
    assert_int_equal(rdv_again_calls, 0);
    assert_int_equal(fr_moq_name_set(&ns, "live", ""), 0);
    fr_rdv_release(&v, &ns, 0, rdv_again, &rdv_again_calls);
    assert_int_equal(rdv_again_calls, 1);
    assert_int_equal(v.count, 0);
    assert_int_equal(fr_rdv_next_expiry(&v), FR_TSTAMP_MAX);
    assert_true(fr_sim_run(P.sim, subscribed, NULL, 5 * FR_SECONDS));
    assert_true(T.sub_ok);

    /* The second one nobody publishes: TIMEOUT once its time is up. */
    T.sub_ok = 0;
    assert_int_equal(fr_moq_name_set(&name, "live/cam", "depth"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, &p, &T.sub, NULL), 0);
    assert_false(fr_sim_run(P.sim, never_done, NULL, 50 * FR_MILLISECONDS));
    assert_int_equal(v.count, 1);
    fr_rdv_expire(&v, fr_rdv_next_expiry(&v) - 1);
    assert_int_equal(v.count, 1); /* not yet */
    fr_rdv_expire(&v, fr_rdv_next_expiry(&v));
    assert_int_equal(v.count, 0);
    assert_true(fr_sim_run(P.sim, sub_finished, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.sub_rejected, 1);
    assert_int_equal(T.sub_code, FR_MOQ_REQ_TIMEOUT);
    fr_rdv_drop(&v, NULL);
    teardown();
}

/* A joining FETCH's range: relative counts groups back from the joining
 * one (not past group 0), absolute names the start group; both end just
 * after the joining location. */
static void test_joining_range(void **state)
{
    const fr_moq_location joining = {.group = 5, .object = 7};
    fr_moq_fetch_request f;
    fr_moq_location start, end;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.joining = 1;
    f.relative = 1;
    f.joining_start = 2;
    fr_moq_joining_range(&f, joining, &start, &end);
    assert_int_equal(start.group, 3);
    assert_int_equal(start.object, 0);
    assert_int_equal(end.group, 5);
    assert_int_equal(end.object, 8);
    f.joining_start = 9;
    fr_moq_joining_range(&f, joining, &start, &end);
    assert_int_equal(start.group, 0);
    f.relative = 0;
    f.joining_start = 4;
    fr_moq_joining_range(&f, joining, &start, &end);
    assert_int_equal(start.group, 4);
    assert_int_equal(end.group, 5);
}

static void test_fetch_from_cache(void **state)
{
    fr_moq_name name;
    fr_moq_fetch *f;

    (void)state;
    setup(0);
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_name_set(&name, "live", "video"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL), 0);
    assert_true(fr_sim_run(P.sim, subscribed, NULL, 5 * FR_SECONDS));
    publish_group(5, 4);
    publish_group(6, 4);
    /* Group 5 and the first two objects of group 6 (end exclusive). */
    assert_int_equal(fr_moq_fetch_range(P.cs, &name,
                                        (fr_moq_location){5, 0},
                                        (fr_moq_location){6, 2}, &f, NULL),
                     0);
    assert_true(fr_sim_run(P.sim, fetch_finished, NULL, 5 * FR_SECONDS));
    assert_int_equal(T.fetched, 6);
    assert_int_equal(T.bad_payload, 0);
    teardown();
}

/* More requests than the peer's stream limit (draft 18 has no other
 * request limit): the ones past it wait and go out as streams free up;
 * none is refused. */

static int all_fetches_done(void *a)
{
    return T.fetch_done == *(const int *)a;
}

static void test_requests_wait_for_stream_limit(void **state)
{
    fr_moq_name name;
    fr_moq_fetch *f;
    int n = 250; /* the server allows 100 request streams at a time */

    (void)state;
    setup(0);
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_name_set(&name, "live", "video"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &T.sub, NULL), 0);
    assert_true(fr_sim_run(P.sim, subscribed, NULL, 5 * FR_SECONDS));
    publish_group(1, 3);
    for (int i = 0; i < n; i++)
        assert_int_equal(fr_moq_fetch_range(P.cs, &name,
                                            (fr_moq_location){1, 0},
                                            (fr_moq_location){1, 3}, &f, NULL),
                         0);
    /* One queued and then cancelled never reaches the server. */
    assert_int_equal(fr_moq_fetch_range(P.cs, &name, (fr_moq_location){1, 0},
                                        (fr_moq_location){1, 3}, &f, NULL),
                     0);
    assert_int_equal(fr_moq_fetch_cancel(f), 0);
    assert_int_equal(T.fetch_done, 1); /* the cancelled one */
    n++;
    assert_true(fr_sim_run(P.sim, all_fetches_done, &n, 20 * FR_SECONDS));
    n--;
    assert_int_equal(T.fetched, 3 * n);
    assert_int_equal(T.bad_payload, 0);
    assert_false(T.closed_client);
    assert_false(T.closed_server);
    /* Every stream came back: another 250 go out as the first did. */
    T.fetch_done = 0;
    T.fetched = 0;
    for (int i = 0; i < n; i++)
        assert_int_equal(fr_moq_fetch_range(P.cs, &name,
                                            (fr_moq_location){1, 0},
                                            (fr_moq_location){1, 3}, &f, NULL),
                         0);
    assert_true(fr_sim_run(P.sim, all_fetches_done, &n, 20 * FR_SECONDS));
    assert_int_equal(T.fetched, 3 * n);
    teardown();
}

/* The server's subscription limit: past it a SUBSCRIBE gets
 * EXCESSIVE_LOAD and the session goes on; a freed place can be taken. */

static int lim_ok, lim_rejected;
static uint64_t lim_code;
static fr_moq_sub *lim_gone; /* the rejected one (freed) */

static void lim_on_subscribe(fr_moq_session *s, uint64_t req,
                             const fr_moq_name *name,
                             const fr_moq_sub_params *p, void *ud)
{
    fr_moq_track_info info = {.track_alias = req,
                              .group_order = FR_MOQ_ORDER_ASCENDING,
                              .publisher_priority = 128};
    fr_moq_pub *pub;

    (void)name;
    (void)p;
    (void)ud;
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &pub, NULL), 0);
}

static void lim_on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                          void *ud)
{
    (void)sub;
    (void)info;
    (void)ud;
    lim_ok++;
}

static void lim_on_sub_done(fr_moq_sub *sub, int rejected, uint64_t code,
                            const char *reason, void *ud)
{
    (void)sub;
    (void)reason;
    (void)ud;
    if (rejected) {
        lim_rejected++;
        lim_code = code;
        lim_gone = sub;
    }
}

static int lim_answered(void *a)
{
    return lim_ok + lim_rejected >= *(const int *)a;
}

static void test_subscription_limit(void **state)
{
    static const fr_moq_callbacks cb = {
        .session_ready = on_ready,
        .session_closed = on_closed,
        .subscribe = lim_on_subscribe,
        .sub_ok = lim_on_sub_ok,
        .sub_done = lim_on_sub_done,
    };
    fr_moq_sub *subs[4];
    fr_moq_name name;
    char track[16];
    int want = 4;

    (void)state;
    memset(&T, 0, sizeof(T));
    lim_ok = lim_rejected = 0;
    fr_moq_pair_setup(&P, &cb, NULL, FR_CRYPTO_TLS, 0, NULL);
    P.server_settings.max_subscriptions = 3;
    assert_true(fr_sim_run(P.sim, is_ready, NULL, 5 * FR_SECONDS));
    for (int i = 0; i < 4; i++) {
        snprintf(track, sizeof(track), "t%d", i);
        assert_int_equal(fr_moq_name_set(&name, "live", track), 0);
        assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &subs[i], NULL),
                         0);
    }
    assert_true(fr_sim_run(P.sim, lim_answered, &want, 5 * FR_SECONDS));
    assert_int_equal(lim_ok, 3);
    assert_int_equal(lim_rejected, 1);
    assert_int_equal(lim_code, FR_MOQ_REQ_EXCESSIVE_LOAD);
    assert_false(T.closed_client);
    /* One leaves; its place is free again. */
    assert_int_equal(fr_moq_unsubscribe(subs[0] != lim_gone ? subs[0]
                                                            : subs[1]),
                     0);
    fr_sim_run(P.sim, never_done, NULL, 100 * FR_MILLISECONDS);
    assert_int_equal(fr_moq_name_set(&name, "live", "t9"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &subs[0], NULL), 0);
    want = 5;
    assert_true(fr_sim_run(P.sim, lim_answered, &want, 5 * FR_SECONDS));
    assert_int_equal(lim_ok, 4);
    assert_int_equal(lim_rejected, 1);
    fr_moq_pair_teardown(&P);
}

/* Raw bytes from a peer that does not follow the protocol. */

static int raw_ready(void *a)
{
    (void)a;
    return fr_quic_conn_is_handshake_completed(P.conn) && P.ss;
}

static void raw_violation(const uint8_t *bytes, size_t len, int uni,
                          uint64_t want_code)
{
    int64_t sid;

    setup(1);
    assert_true(fr_sim_run(P.sim, raw_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(uni ? fr_quic_conn_open_uni_stream(P.conn, &sid)
                         : fr_quic_conn_open_bidi_stream(P.conn, &sid),
                     0);
    assert_int_equal(fr_quic_conn_stream_write(P.conn, sid, bytes, len, 0), 0);
    assert_true(fr_sim_run(P.sim, raw_closed, NULL, 5 * FR_SECONDS));
    assert_int_equal(P.raw_close_code, want_code);
    teardown();
}

static void test_unknown_stream_type(void **state)
{
    const uint8_t bytes[] = {0x3f, 1, 2, 3}; /* 0x3f: no such stream type */

    (void)state;
    raw_violation(bytes, sizeof(bytes), 1, 0x3 /* PROTOCOL_VIOLATION */);
}

static void test_control_second_setup(void **state)
{
    /* A control stream carrying two SETUP messages. */
    const uint8_t bytes[] = {0xaf, 0x00, 0x00, 0x00, 0xaf, 0x00, 0x00, 0x00};

    (void)state;
    raw_violation(bytes, sizeof(bytes), 1, 0x3);
}

static void test_request_stream_needs_request(void **state)
{
    /* A bidirectional stream opening with SUBSCRIBE_OK (not a request). */
    const uint8_t bytes[] = {0x04, 0x00, 0x02, 0x01, 0x00};

    (void)state;
    raw_violation(bytes, sizeof(bytes), 0, 0x3);
}

static void test_bad_request_id(void **state)
{
    /* SUBSCRIBE from the client with an odd (server-side) request ID. */
    const uint8_t bytes[] = {0x03, 0x00, 0x07, 0x01, 0x01, 0x01, 'a',
                             0x01, 'v', 0x00};

    (void)state;
    raw_violation(bytes, sizeof(bytes), 0, 0x4 /* INVALID_REQUEST_ID */);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_publish_done),
        cmocka_unit_test(test_subscribe_over_webtransport),
        cmocka_unit_test(test_joining_range),
        cmocka_unit_test(test_subscribe_rejected),
        cmocka_unit_test(test_namespace_withdrawn_by_cancel),
        cmocka_unit_test(test_goaway),
        cmocka_unit_test(test_rendezvous),
        cmocka_unit_test(test_fetch_from_cache),
        cmocka_unit_test(test_requests_wait_for_stream_limit),
        cmocka_unit_test(test_subscription_limit),
        cmocka_unit_test(test_unknown_stream_type),
        cmocka_unit_test(test_control_second_setup),
        cmocka_unit_test(test_request_stream_needs_request),
        cmocka_unit_test(test_bad_request_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
