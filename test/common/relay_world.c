/* The relay core's world in virtual time (relay_world.h). */
#include "fr_test.h"

#include "moq_glue.h"
#include "relay_world.h"

static fr_moq_name track_name(const fr_world *w, size_t origin)
{
    fr_moq_name n;

    assert_int_equal(fr_moq_name_set(&n, w->origins[origin].ns, "video"), 0);
    return n;
}

/* Byte i of the object at `loc` of origin k's track: the origins' tracks
 * differ in every byte, so one's object delivered as the other's shows. */
static uint8_t pattern(size_t origin, fr_moq_location loc, size_t i)
{
    return (uint8_t)(loc.group * 31 + loc.object * 7 + i + origin * 101);
}

static int q_accept(fr_quic_conn *c, void *ud)
{
    fr_world *w = fr_net_app(ud);
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

/* The origins. */

static void origin_ready(fr_moq_session *s, void *ud)
{
    fr_world_origin *o = ud;
    fr_moq_name ns;
    uint64_t req;

    assert_int_equal(fr_moq_name_set(&ns, o->ns, ""), 0);
    assert_int_equal(fr_moq_publish_namespace(s, &ns, &req), 0);
}

static void origin_subscribe(fr_moq_session *s, uint64_t req,
                             const fr_moq_name *name,
                             const fr_moq_sub_params *p, void *ud)
{
    fr_world_origin *o = ud;
    fr_moq_track_info info = {.track_alias = 1, .publisher_priority = 128};

    (void)name;
    (void)p;
    assert_null(o->pub);
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &o->pub, o), 0);
}

static int fetch_one(const fr_moq_object *obj, void *f)
{
    return fr_moq_fetch_write(f, obj) != 0;
}

/* A FETCH the relay passed up: answered from everything published. */
static void origin_fetch(fr_moq_session *s, uint64_t req,
                         const fr_moq_fetch_request *f, void *ud)
{
    fr_world_origin *o = ud;
    fr_moq_fetch *out;

    assert_false(f->joining);
    assert_true(fr_moq_cache_covers(o->cache, f->start, f->end));
    assert_int_equal(fr_moq_accept_fetch(s, req, f->end, 0, &out), 0);
    fr_moq_cache_each(o->cache, f->start, f->end, f->group_order, fetch_one,
                      out);
    assert_int_equal(fr_moq_fetch_close(out), 0);
    o->fetches++;
}

/* Writes the origin's object if one is due (FR_WORLD_FPS a second, a
 * group a second, one subgroup per group; PUBLISH_DONE after the last);
 * returns when it has the next one. */
static fr_tstamp origin_tick(fr_world_origin *o)
{
    fr_world *w = o->w;
    uint8_t payload[FR_WORLD_PAYLOAD];
    fr_moq_location loc;

    if (!o->pub || o->done_sent)
        return fr_net_now(w->net) + 10 * FR_MILLISECONDS;
    if (o->next == w->groups * FR_WORLD_FPS) {
        assert_int_equal(fr_moq_pub_done(o->pub, FR_MOQ_DONE_TRACK_ENDED,
                                         "track ended"),
                         0);
        o->sg = NULL;
        o->done_sent = 1;
        return FR_TSTAMP_MAX;
    }
    loc.group = o->next / FR_WORLD_FPS;
    loc.object = o->next % FR_WORLD_FPS;
    if (loc.object == 0) {
        fr_moq_subgroup_info info = {.group = loc.group,
                                     .publisher_priority = 128,
                                     .first_object = 1};
        info.end_of_group = 1;
        assert_int_equal(fr_moq_pub_open_subgroup(o->pub, &info, &o->sg), 0);
    }
    for (size_t i = 0; i < FR_WORLD_PAYLOAD; i++)
        payload[i] = pattern(o->index, loc, i);
    assert_int_equal(fr_moq_subgroup_write(o->sg, loc.object, payload,
                                           FR_WORLD_PAYLOAD),
                     0);
    /* The group's last object ends its subgroup, as fr-origin does: the
     * FIN goes with it, not with the next group's first bytes. */
    if (loc.object == FR_WORLD_FPS - 1) {
        assert_int_equal(fr_moq_subgroup_close(o->sg), 0);
        o->sg = NULL;
    }
    {
        fr_moq_object obj = {.loc = loc, .publisher_priority = 128,
                             .payload = payload, .payload_len = FR_WORLD_PAYLOAD};
        assert_int_equal(fr_moq_cache_add(o->cache, &obj), 0);
    }
    o->next++;
    return fr_net_now(w->net) + FR_SECONDS / FR_WORLD_FPS;
}

/* Subscribers. */

/* Subscribes `u` to every origin's track. */
static void subscribe(fr_world_sub *u)
{
    fr_moq_sub_params p;

    fr_moq_sub_params_default(&p);
    p.rendezvous_timeout_ms = u->w->rendezvous_ms;
    for (size_t k = 0; k < u->w->norigins; k++) {
        fr_moq_name n = track_name(u->w, k);
        fr_world_rx *rx = &u->rx[k];

        assert_int_equal(fr_moq_subscribe(u->s, &n, &p, &rx->sub, rx), 0);
    }
}

static void sub_ready(fr_moq_session *s, void *ud)
{
    fr_world *w = ud;

    for (size_t i = 0; i < w->late_from && i < w->nsubs; i++)
        if (w->subs[i].s == s)
            subscribe(&w->subs[i]);
}

/* The object after `loc` in the origin's track. */
fr_moq_location fr_world_after(fr_moq_location loc)
{
    fr_moq_location n = loc;

    if (++n.object == FR_WORLD_FPS) {
        n.group++;
        n.object = 0;
    }
    return n;
}

int fr_world_same(fr_moq_location a, fr_moq_location b)
{
    return a.group == b.group && a.object == b.object;
}

/* Counts an object of origin k's track, of a subscription (has_last/
 * last) or of a fetch, in rx's counters. */
static void take(fr_world_rx *rx, size_t origin, const fr_moq_object *obj,
                 int *has_last, fr_moq_location *last)
{
    if (obj->payload_len != FR_WORLD_PAYLOAD)
        rx->corrupt++;
    for (size_t i = 0; i < obj->payload_len; i++)
        if (obj->payload[i] != pattern(origin, obj->loc, i)) {
            rx->corrupt++;
            break;
        }
    if (*has_last && !fr_world_same(obj->loc, fr_world_after(*last)))
        rx->out_of_order++;
    *has_last = 1;
    *last = obj->loc;
}

static void sub_object(fr_moq_sub *s, fr_moq_fetch *f,
                       const fr_moq_object *obj, void *ud)
{
    fr_world_sub *u;
    fr_world_rx *rx;

    (void)ud;
    if (f) {
        u = fr_moq_fetch_get_user_data(f);
        u->fetched++;
        take(&u->rx[0], 0, obj, &u->has_fetch_last, &u->fetch_last);
        return;
    }
    rx = fr_moq_sub_get_user_data(s);
    if (!rx->has_last)
        rx->first = obj->loc;
    rx->received++;
    take(rx, rx->origin, obj, &rx->has_last, &rx->last);
}

static void fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                       const char *reason, void *ud)
{
    fr_world_sub *u = fr_moq_fetch_get_user_data(f);

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
    fr_world_rx *rx = fr_moq_sub_get_user_data(s);

    (void)code;
    (void)reason;
    (void)ud;
    rx->ended = 1;
    rx->rejected = rejected;
    rx->sub = NULL;
}

/* Every subscription of subscriber `u` ended. */
static int sub_ended(const fr_world_sub *u)
{
    for (size_t k = 0; k < u->w->norigins; k++)
        if (!u->rx[k].ended)
            return 0;
    return 1;
}

int fr_world_subs_ended(void *arg)
{
    fr_world *w = arg;

    for (size_t i = 0; i < w->nsubs; i++)
        if (!sub_ended(&w->subs[i]))
            return 0;
    return 1;
}

int fr_world_all_ended(void *arg)
{
    fr_world *w = arg;

    for (size_t i = 0; i < w->nsubs; i++)
        if (!sub_ended(&w->subs[i]) ||
            (i >= w->late_from && !w->subs[i].fetch_ended))
            return 0;
    for (size_t k = 0; k < w->norigins; k++)
        if (!w->origins[k].done_sent)
            return 0;
    return 1;
}

static void origin_connect(fr_world_origin *o);

/* The origins connect at origin_at. Late joiners subscribe once late_at
 * objects of the first origin's track went out, and fetch what came
 * before, from the previous group on (a joining FETCH). */
fr_tstamp fr_world_tick(void *arg, fr_tstamp now)
{
    fr_world *w = arg;
    const uint64_t sent = w->origins[0].next;
    fr_relay_stats st;
    fr_tstamp next = FR_TSTAMP_MAX;

    if (!w->origins_up && now >= w->origin_at) {
        for (size_t k = 0; k < w->norigins; k++)
            origin_connect(&w->origins[k]);
        w->origins_up = 1;
    }
    fr_relay_get_stats(w->relay, &st);
    if (st.subscribes_held > w->held_max)
        w->held_max = st.subscribes_held;

    for (size_t i = w->late_from; i < w->nsubs; i++) {
        fr_world_sub *u = &w->subs[i];

        if (!u->rx[0].sub && !u->rx[0].ended && sent >= w->late_at &&
            fr_moq_session_is_ready(u->s)) {
            subscribe(u);
            assert_int_equal(fr_moq_fetch_joining(u->rx[0].sub, 1, 1,
                                                  &u->fetch, u),
                             0);
        }
    }
    if (w->leaver >= 0 && w->subs[w->leaver].rx[0].sub &&
        sent >= w->leave_at) {
        assert_int_equal(fr_moq_unsubscribe(w->subs[w->leaver].rx[0].sub), 0);
        w->leaver = -1;
    } else if (w->leave_at && w->leaver < 0 &&
               !w->subscribers_after_leave) {
        fr_relay_get_stats(w->relay, &st);
        w->subscribers_after_leave = st.subscribers;
    }
    if (!w->origins_up)
        return w->origin_at;
    for (size_t k = 0; k < w->norigins; k++) {
        fr_tstamp t = origin_tick(&w->origins[k]);

        if (t < next)
            next = t;
    }
    return next;
}

/* A world of `nsubs` subscribers and tracks of `groups` groups; the
 * relay caches `cache_groups` groups per track (0: its default). Every
 * origin's endpoint is made here, whether or not a test sets norigins
 * to use it. */
void fr_world_new(fr_world *w, size_t nsubs, uint64_t groups,
                  size_t cache_groups, fr_crypto_mode mode)
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
    w->norigins = 1;
    w->net = fr_net_new(1 * FR_MILLISECONDS);
    assert_int_equal(fr_cert_generate(&w->cert, FR_WORLD_RELAY_IP), 0);
    fr_relay_settings_default(&relay_settings);
    if (cache_groups)
        relay_settings.cache_groups = cache_groups;
    assert_int_equal(fr_relay_new(&w->relay, &relay_settings, w), 0);

    fr_quic_settings_default(&rs);
    rs.alpn = FR_MOQ_ALPNS;
    rs.crypto_mode = mode;
    rs.cert = w->cert;
    rs.accept_connections = 1;
    w->relay_ep = fr_net_endpoint(w->net, FR_WORLD_RELAY_IP,
                                  FR_WORLD_RELAY_PORT, &rcb, &rs, w);
    assert_non_null(w->relay_ep);

    fr_quic_settings_default(&cs);
    cs.alpn = FR_MOQ_ALPNS;
    cs.crypto_mode = mode;
    cs.ca_pem = fr_cert_pem(w->cert, &len);
    cs.ca_pem_len = len;
    fr_moq_settings_default(&ms);

    w->client_settings = cs;
    for (size_t k = 0; k < FR_WORLD_MAX_ORIGINS; k++) {
        fr_world_origin *o = &w->origins[k];

        o->w = w;
        o->index = k;
        snprintf(o->ip, sizeof(o->ip), "198.18.0.%zu", k ? 2 + k : 1);
        if (k)
            snprintf(o->ns, sizeof(o->ns), "live%zu", k + 1);
        else
            snprintf(o->ns, sizeof(o->ns), "live");
        assert_int_equal(fr_moq_cache_new(&o->cache, 64, 64 << 20), 0);
        ccb = quic_callbacks(0);
        o->ep = fr_net_endpoint(w->net, o->ip, 5000, &ccb, &cs, w);
        assert_non_null(o->ep);
    }

    scb.session_ready = sub_ready;
    scb.object = sub_object;
    scb.sub_done = sub_done;
    scb.fetch_done = fetch_done;
    for (size_t i = 0; i < nsubs; i++) {
        fr_world_sub *u = &w->subs[i];

        snprintf(u->ip, sizeof(u->ip), "198.18.1.%zu", 10 + i);
        u->w = w;
        for (size_t k = 0; k < FR_WORLD_MAX_ORIGINS; k++) {
            u->rx[k].u = u;
            u->rx[k].origin = k;
        }
        ccb = quic_callbacks(0);
        u->ep = fr_net_endpoint(w->net, u->ip, 6000, &ccb, &cs, w);
        assert_non_null(u->ep);
        path = fr_net_path(u->ip, 6000, FR_WORLD_RELAY_IP,
                           FR_WORLD_RELAY_PORT);
        assert_int_equal(fr_quic_endpoint_connect(u->ep, &c, &path,
                                                  FR_WORLD_RELAY_IP, NULL,
                                                  fr_net_now(w->net)),
                         0);
        assert_int_equal(fr_moq_session_new(&u->s, c, &scb, &ms, w), 0);
    }
}

/* An origin connects to the relay (and announces its namespace once its
 * session is up). */
static void origin_connect(fr_world_origin *o)
{
    fr_moq_callbacks ocb = {0};
    fr_moq_settings ms;
    fr_quic_path path = fr_net_path(o->ip, 5000, FR_WORLD_RELAY_IP,
                                    FR_WORLD_RELAY_PORT);
    fr_quic_conn *c;

    ocb.session_ready = origin_ready;
    ocb.subscribe = origin_subscribe;
    ocb.fetch = origin_fetch;
    fr_moq_settings_default(&ms);
    assert_int_equal(fr_quic_endpoint_connect(o->ep, &c, &path,
                                              FR_WORLD_RELAY_IP, NULL,
                                              fr_net_now(o->w->net)),
                     0);
    assert_int_equal(fr_moq_session_new(&o->s, c, &ocb, &ms, o), 0);
}

void fr_world_del(fr_world *w)
{
    fr_glue_del_sessions(w->relay_ep);
    for (size_t k = 0; k < FR_WORLD_MAX_ORIGINS; k++)
        fr_glue_del_sessions(w->origins[k].ep);
    for (size_t i = 0; i < w->nsubs; i++)
        fr_glue_del_sessions(w->subs[i].ep);
    fr_quic_endpoint_del(w->relay_ep);
    for (size_t k = 0; k < FR_WORLD_MAX_ORIGINS; k++)
        fr_quic_endpoint_del(w->origins[k].ep);
    for (size_t i = 0; i < w->nsubs; i++)
        fr_quic_endpoint_del(w->subs[i].ep);
    fr_relay_del(w->relay);
    for (size_t k = 0; k < FR_WORLD_MAX_ORIGINS; k++)
        fr_moq_cache_del(w->origins[k].cache);
    fr_cert_del(w->cert);
    fr_net_del(w->net);
}

