/*
 * The relay core in virtual time: origins, the relay and many
 * subscribers on the simulated network (relay_world.h), each a real QUIC
 * and MoQT endpoint. Origins connect to the relay and announce their
 * namespaces; subscribers subscribe through the relay.
 */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

#include "relay_world.h"

/* Twenty subscribers from the start: each gets every object of the
 * 3-second track in order and intact, and its subscription ends with the
 * track; the relay holds no subscription after. */
static void test_fan_out(void **state)
{
    static fr_world w;
    fr_relay_stats st;

    (void)state;
    fr_world_new(&w, 20, 3, 0, FR_CRYPTO_TLS);
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const fr_world_sub *u = &w.subs[i];

        assert_false(u->rx[0].rejected);
        assert_int_equal(u->rx[0].received, w.groups * FR_WORLD_FPS);
        assert_int_equal(u->rx[0].corrupt, 0);
        assert_int_equal(u->rx[0].out_of_order, 0);
    }
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.subscribers, 0);
    assert_int_equal(st.objects_received, w.groups * FR_WORLD_FPS);
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
    fr_world_del(&w);
}

/* Two origins publish a track each, both under track alias 1 (a
 * publisher picks its aliases on its own), and every subscriber
 * subscribes to both in one session. The relay must tell it two aliases:
 * the same one twice is DUPLICATE_TRACK_ALIAS, which ends the session.
 * Each subscriber gets both tracks whole, each object on its own track
 * (the origins' payloads differ in every byte). */
static void test_two_publishers_one_alias(void **state)
{
    static fr_world w;
    fr_relay_stats st;

    (void)state;
    fr_world_new(&w, 3, 2, 0, FR_CRYPTO_TLS);
    w.norigins = 2;
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++)
        for (size_t k = 0; k < w.norigins; k++) {
            const fr_world_rx *rx = &w.subs[i].rx[k];

            assert_false(rx->rejected);
            assert_int_equal(rx->received, w.groups * FR_WORLD_FPS);
            assert_int_equal(rx->corrupt, 0);
            assert_int_equal(rx->out_of_order, 0);
        }
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.objects_received, 2 * w.groups * FR_WORLD_FPS);
    fr_world_del(&w);
}

/* Subscribers that join half-way through a group get the objects after
 * the largest one at their joining, to the end, in order; their joining
 * FETCH, answered from the relay's cache, brings the objects from the
 * group before up to the joining one: together, no gap. */
static void test_late_joiners(void **state)
{
    static fr_world w;
    fr_relay_stats st;

    (void)state;
    fr_world_new(&w, 6, 3, 0, FR_CRYPTO_TLS);
    w.late_from = 3;
    w.late_at = FR_WORLD_FPS + FR_WORLD_FPS / 2;
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const fr_world_sub *u = &w.subs[i];

        assert_false(u->rx[0].rejected);
        assert_int_equal(u->rx[0].corrupt, 0);
        assert_int_equal(u->rx[0].out_of_order, 0);
        if (i < w.late_from) {
            assert_int_equal(u->rx[0].received, w.groups * FR_WORLD_FPS);
        } else {
            assert_true(u->rx[0].received > 0 && u->rx[0].received < w.groups * FR_WORLD_FPS);
            assert_false(u->fetch_rejected);
            assert_true(u->has_fetch_last);
            assert_true(u->fetched > FR_WORLD_FPS);
            assert_true(fr_world_same(fr_world_after(u->fetch_last),
                                      u->rx[0].first));
        }
        assert_int_equal(u->rx[0].last.group, w.groups - 1);
        assert_int_equal(u->rx[0].last.object, FR_WORLD_FPS - 1);
    }
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.fetches_served, w.nsubs - w.late_from);
    assert_int_equal(st.fetches_upstream, 0);
    fr_world_del(&w);
}

/* Subscribers that come before the publisher and ask for a rendezvous
 * are held by the relay until the origin announces the namespace, then
 * served the whole track; those that ask for none are refused at once. */
static void test_rendezvous(void **state)
{
    static fr_world w;

    (void)state;
    fr_world_new(&w, 5, 2, 0, FR_CRYPTO_TLS);
    w.rendezvous_ms = 5000;
    w.origin_at = fr_net_now(w.net) + 1 * FR_SECONDS;
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    assert_int_equal(w.held_max, w.nsubs);
    for (size_t i = 0; i < w.nsubs; i++) {
        assert_false(w.subs[i].rx[0].rejected);
        assert_int_equal(w.subs[i].rx[0].received, w.groups * FR_WORLD_FPS);
        assert_int_equal(w.subs[i].rx[0].corrupt, 0);
    }
    fr_world_del(&w);

    fr_world_new(&w, 2, 2, 0, FR_CRYPTO_TLS);
    w.origin_at = fr_net_now(w.net) + 1 * FR_SECONDS;
    assert_true(fr_net_run(w.net, fr_world_subs_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    assert_int_equal(w.held_max, 0);
    for (size_t i = 0; i < w.nsubs; i++) {
        assert_true(w.subs[i].rx[0].rejected);
        assert_int_equal(w.subs[i].rx[0].received, 0);
    }
    fr_world_del(&w);
}

/* One of four subscribers unsubscribes half-way: it gets no more, the
 * relay drops its subscription at once, the others get the whole track. */
static void test_unsubscribe(void **state)
{
    static fr_world w;
    fr_relay_stats st;

    (void)state;
    fr_world_new(&w, 4, 3, 0, FR_CRYPTO_TLS);
    w.leaver = 1;
    w.leave_at = FR_WORLD_FPS + FR_WORLD_FPS / 2;
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    for (size_t i = 0; i < w.nsubs; i++) {
        const fr_world_sub *u = &w.subs[i];

        assert_int_equal(u->rx[0].corrupt, 0);
        assert_int_equal(u->rx[0].out_of_order, 0);
        if (i == 1)
            assert_true(u->rx[0].received >= FR_WORLD_FPS && u->rx[0].received < w.groups * FR_WORLD_FPS);
        else
            assert_int_equal(u->rx[0].received, w.groups * FR_WORLD_FPS);
    }
    assert_int_equal(w.subscribers_after_leave, w.nsubs - 1);
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.subscribers, 0);
    fr_world_del(&w);
}

/* A relay that caches one group and `joiners` late joiners at once: their
 * joining FETCHes from two groups back reach past the cache, so the
 * relay passes one FETCH to the origin, whatever their number (a storm of
 * joiners does not multiply the origin's load), and relays the answer to
 * each; none has a gap. */
static void fetch_upstream(size_t joiners)
{
    static fr_world w;
    fr_relay_stats st;

    fr_world_new(&w, 1 + joiners, 4, 1, FR_CRYPTO_TLS);
    w.late_from = 1;
    w.late_at = 2 * FR_WORLD_FPS + FR_WORLD_FPS / 2;
    assert_true(fr_net_run(w.net, fr_world_all_ended, fr_world_tick, &w, 30 * FR_SECONDS));
    assert_int_equal(w.subs[0].rx[0].received, w.groups * FR_WORLD_FPS);
    for (size_t i = w.late_from; i < w.nsubs; i++) {
        const fr_world_sub *u = &w.subs[i];

        assert_false(u->fetch_rejected);
        assert_int_equal(u->rx[0].corrupt, 0);
        assert_int_equal(u->rx[0].out_of_order, 0);
        assert_true(u->fetched > FR_WORLD_FPS);
        assert_true(
            fr_world_same(fr_world_after(u->fetch_last), u->rx[0].first));
    }
    assert_int_equal(w.origins[0].fetches, 1);
    fr_relay_get_stats(w.relay, &st);
    assert_int_equal(st.fetches_upstream, 1);
    assert_int_equal(st.fetches_served, joiners);
    fr_world_del(&w);
}

static void test_fetch_upstream(void **state)
{
    (void)state;
    fetch_upstream(1);
}

static void test_fetch_upstream_once(void **state)
{
    (void)state;
    fetch_upstream(5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_two_publishers_one_alias),
        cmocka_unit_test(test_late_joiners),
        cmocka_unit_test(test_rendezvous),
        cmocka_unit_test(test_unsubscribe),
        cmocka_unit_test(test_fetch_upstream),
        cmocka_unit_test(test_fetch_upstream_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
