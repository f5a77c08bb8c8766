/*
 * The fast path's userspace half in virtual time: the relay world of
 * relay_world.h in cleartext mode with fr_fastpath on the relay, over the
 * in-memory data plane (fp_sim.h) whose programs are modelled in C
 * (fp_model.h): the kernel's copies reach the subscribers on the
 * simulated network, and the splice layer registers them with each
 * subscriber's connection. No root, no BPF; seconds of media in
 * milliseconds.
 */
#include "fr_test.h"

#include <unistd.h>

#include <fastrelay/fastrelay.h>

#include "../../lib/fastpath/fastpath_internal.h"
#include "fp_model.h"
#include "fp_sim.h"
#include "relay_world.h"

typedef struct fp_world {
    fr_world w;
    fr_fastpath *fp;
    fr_fp_sim *sim;
    fr_fp_model *model;
} fp_world;

static void fp_world_new(fp_world *f, size_t nsubs, uint64_t groups)
{
    fr_fastpath_settings fs;
    fr_fp_dataplane *dp;
    char why[256] = "";

    fr_world_new(&f->w, nsubs, groups, 0, FR_CRYPTO_CLEARTEXT);
    dp = fr_fp_sim_new(4096, &f->sim);
    assert_non_null(dp);
    for (size_t i = 0; i < nsubs; i++) {
        const uint8_t mac[6] = {2, 0, 0, 0, 1, (uint8_t)i};

        fr_fp_sim_host(f->sim, f->w.subs[i].ip, mac);
    }
    fr_fastpath_settings_default(&fs);
    if (fr_fp_new_on(&f->fp, f->w.relay, f->w.relay_ep, dp, &fs, why,
                     sizeof(why)) != 0)
        fail_msg("fast path: %s", why);
    f->model = fr_fp_model_new(dp, f->sim,
                               fr_ep_settings(f->w.relay_ep)->cid_len,
                               f->w.net);
    assert_non_null(f->model);
    fr_net_set_tap(f->w.net, f->w.relay_ep, fr_fp_model_tap, f->model);
}

static void fp_world_del(fp_world *f)
{
    fr_net_set_tap(f->w.net, f->w.relay_ep, NULL, NULL);
    fr_fastpath_del(f->fp);
    fr_fp_model_del(f->model);
    fr_world_del(&f->w);
}

/* The subscription got the whole track, intact and in order. */
static void check_whole(const fp_world *f, const fr_world_rx *rx)
{
    assert_false(rx->rejected);
    assert_int_equal(rx->received, f->w.groups * FR_WORLD_FPS);
    assert_int_equal(rx->corrupt, 0);
    assert_int_equal(rx->out_of_order, 0);
}

/* Share of the media copies the kernel sent, in per cent. */
static uint64_t kernel_share(const fr_fastpath_stats *st)
{
    uint64_t all = st->kernel_copies + st->userspace_copies;

    return all ? 100 * st->kernel_copies / all : 0;
}

/* Runs the world to its end (every subscription and joining FETCH over,
 * the track done) and checks the fast path's books: every copy the
 * kernel sent registered, none left over, no track list left behind. */
static void run(fp_world *f, fr_fastpath_stats *st)
{
    assert_true(fr_net_run(f->w.net, fr_world_all_ended, fr_world_tick,
                           &f->w, 30 * FR_SECONDS));
    fr_fastpath_get_stats(f->fp, st);
    print_message("kernel %llu, userspace %llu media copies (%llu %%); "
                  "registered %llu, retransmitted %llu, cache replay %llu\n",
                  (unsigned long long)st->kernel_copies,
                  (unsigned long long)st->userspace_copies,
                  (unsigned long long)kernel_share(st),
                  (unsigned long long)st->registered,
                  (unsigned long long)st->retransmitted,
                  (unsigned long long)st->cache_replay_copies);
    assert_int_equal(st->kernel_copies, fr_fp_model_copies(f->model));
    assert_int_equal(st->registered, st->kernel_copies);
    assert_int_equal(st->unregistered, 0);
    assert_int_equal(fr_net_unroutable(f->w.net), 0);
    /* The track ended: the kernel forwards it to nobody any more, though
     * the sessions stay. */
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_TRACK_SLOTS), 0);
}

/* Five subscribers from the start get the 3-second track whole, every
 * media copy from the kernel. */
static void test_kernel_serves(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;

    (void)state;
    fp_world_new(&f, 5, 3);
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        check_whole(&f, &f.w.subs[i].rx[0]);
    assert_int_equal(st.kernel_copies, f.w.nsubs * f.w.groups * FR_WORLD_FPS);
    assert_int_equal(st.userspace_copies, 0);
    assert_int_equal(st.retransmitted, 0);
    assert_int_equal(st.subscribers, f.w.nsubs);
    assert_int_equal(st.upstreams, 1);
    fp_world_del(&f);
}

/* Two origins, both with track alias 1 and the same stream IDs, and
 * every subscriber takes both tracks: the relay tells its subscribers
 * another alias for the track established second, which the kernel
 * writes into the subgroup headers it forwards, and keeps the two
 * upstreams' streams apart. The kernel serves both tracks whole. */
static void test_two_publishers_one_alias(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;

    (void)state;
    fp_world_new(&f, 3, 2);
    f.w.norigins = 2;
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        for (size_t k = 0; k < f.w.norigins; k++)
            check_whole(&f, &f.w.subs[i].rx[k]);
    assert_int_equal(st.kernel_copies,
                     2 * f.w.nsubs * f.w.groups * FR_WORLD_FPS);
    assert_int_equal(st.userspace_copies, 0);
    fp_world_del(&f);
}

/* Subscribers of twenty tracks (a conference: each participant's origin
 * publishes its own): the kernel serves them all, however many tracks a
 * subscriber takes. */
static void test_many_tracks(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;

    (void)state;
    fp_world_new(&f, 2, 1);
    f.w.norigins = FR_WORLD_MAX_ORIGINS;
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        for (size_t k = 0; k < f.w.norigins; k++)
            check_whole(&f, &f.w.subs[i].rx[k]);
    assert_int_equal(st.kernel_copies, f.w.norigins * f.w.nsubs *
                                           f.w.groups * FR_WORLD_FPS);
    assert_int_equal(st.userspace_copies, 0);
    fp_world_del(&f);
}

/* Every seventh kernel copy is lost on the way: ngtcp2 declares the
 * registered packets lost and userspace sends their bytes again, so every
 * subscriber still gets the whole track. */
static void test_lost_copies(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;

    (void)state;
    fp_world_new(&f, 4, 3);
    fr_fp_model_drop_every(f.model, 7);
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        check_whole(&f, &f.w.subs[i].rx[0]);
    assert_true(fr_fp_model_dropped(f.model) > 0);
    assert_true(st.retransmitted >= fr_fp_model_dropped(f.model));
    assert_true(kernel_share(&st) >= 90);
    fp_world_del(&f);
}

/* Two of five subscribers join half-way through the second group: the
 * kernel serves them from the next subgroup on (the rest of the current
 * one goes from userspace), their joining FETCH brings the objects before
 * from the relay's cache, and nothing is missing. */
static void test_late_joiners(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;

    (void)state;
    fp_world_new(&f, 5, 3);
    f.w.late_from = 3;
    f.w.late_at = FR_WORLD_FPS + FR_WORLD_FPS / 2;
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++) {
        const fr_world_sub *u = &f.w.subs[i];

        assert_int_equal(u->rx[0].corrupt, 0);
        assert_int_equal(u->rx[0].out_of_order, 0);
        if (i < f.w.late_from) {
            check_whole(&f, &u->rx[0]);
            continue;
        }
        assert_false(u->fetch_rejected);
        assert_true(
            fr_world_same(fr_world_after(u->fetch_last), u->rx[0].first));
        assert_int_equal(u->rx[0].last.group, f.w.groups - 1);
        assert_int_equal(u->rx[0].last.object, FR_WORLD_FPS - 1);
    }
    assert_true(st.cache_replay_copies > 0);
    assert_true(kernel_share(&st) >= 90);
    fp_world_del(&f);
}

static int attached_both(const fp_world *f)
{
    return fr_fp_sim_attached(f->sim, FR_FP_ROLE_UPSTREAM) == 1 &&
           fr_fp_sim_attached(f->sim, FR_FP_ROLE_SUBSCRIBERS) == 1;
}

/* The origin has sent an object. */
static int media_started(void *arg)
{
    const fr_world *w = arg;

    return w->origins[0].next > 0;
}

/* Attachments made off the loop, as the BPF data plane makes them, held
 * back for two seconds: the relay holds its upstream SUBSCRIBE until they
 * are in (were it sent at once, the first group would begin before the
 * kernel could take the subscribers and go from userspace whole), and
 * the kernel then serves every group; everyone gets the whole track. */
static void test_attach_off_loop(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;
    uint64_t group;

    (void)state;
    fp_world_new(&f, 5, 3);
    fr_fp_sim_attach_on_threads(f.sim);
    fr_fp_sim_attach_gate(f.sim, 0);
    assert_false(fr_net_run(f.w.net, media_started, fr_world_tick, &f.w,
                            2 * FR_SECONDS));
    assert_int_equal(fr_fp_sim_attached(f.sim, FR_FP_ROLE_SUBSCRIBERS), 0);
    /* Both made (on their threads, in real time) before the world goes
     * on. */
    fr_fp_sim_attach_gate(f.sim, 1);
    for (int ms = 0; ms < 5000 && !attached_both(&f); ms++)
        usleep(1000);
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        check_whole(&f, &f.w.subs[i].rx[0]);
    assert_int_equal(fr_fp_sim_attached(f.sim, FR_FP_ROLE_UPSTREAM), 1);
    assert_int_equal(fr_fp_sim_attached(f.sim, FR_FP_ROLE_SUBSCRIBERS), 1);
    group = f.w.nsubs * FR_WORLD_FPS;
    assert_int_equal(st.kernel_copies, 3 * group);
    assert_int_equal(st.userspace_copies, 0);
    fp_world_del(&f);
}

/* A subscriber that unsubscribes half-way leaves the track's kernel list
 * at once: it gets no more copies, the others the whole track. */
static void test_leaver(void **state)
{
    static fp_world f;
    fr_fastpath_stats st;
    uint64_t expected;

    (void)state;
    fp_world_new(&f, 4, 3);
    f.w.leaver = 1;
    f.w.leave_at = FR_WORLD_FPS + FR_WORLD_FPS / 2;
    run(&f, &st);
    for (size_t i = 0; i < f.w.nsubs; i++)
        if (i != 1)
            check_whole(&f, &f.w.subs[i].rx[0]);
    assert_true(f.w.subs[1].rx[0].received >= f.w.leave_at - FR_WORLD_FPS / 2);
    assert_true(f.w.subs[1].rx[0].received < f.w.groups * FR_WORLD_FPS);
    /* The leaver's copies stop with its subscription. */
    expected = (f.w.nsubs - 1) * f.w.groups * FR_WORLD_FPS +
               f.w.subs[1].rx[0].received;
    assert_true(st.kernel_copies + st.userspace_copies <= expected + 2);
    fp_world_del(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_serves),
        cmocka_unit_test(test_two_publishers_one_alias),
        cmocka_unit_test(test_many_tracks),
        cmocka_unit_test(test_lost_copies),
        cmocka_unit_test(test_late_joiners),
        cmocka_unit_test(test_leaver),
        cmocka_unit_test(test_attach_off_loop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
