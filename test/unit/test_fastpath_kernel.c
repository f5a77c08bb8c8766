/*
 * The fast path's bookkeeping over its data plane (lib/fastpath/kernel.c),
 * on the in-memory data plane of fp_sim.h: slots and their generations,
 * what a freed slot leaves behind, track lists, pools, who serves a
 * stream (the claim, and the kernel winning it), credit, upstream CIDs and
 * their packet-number record, sent events and next hops. No root, no BPF.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <string.h>

#include <fastrelay/error.h>

#include "../../lib/fastpath/kernel.h"
#include "fp_sim.h"

/* An upstream slot number no test allocates (the claims do not check it). */
#define UP 4000

typedef struct fixture {
    fr_fp_kernel *k;
    fr_fp_dataplane *dp; /* the kernel's, to act as the programs do */
    fr_fp_sim *sim;
} fixture;

static int setup_cap(void **state, size_t capacity)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dp = fr_fp_sim_new(capacity, &f->sim);
    assert_non_null(f->dp);
    assert_int_equal(fr_fp_kernel_on(&f->k, f->dp), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_cap(state, 1024);
}

static int setup_large(void **state)
{
    return setup_cap(state, FR_FP_MAX_SLOTS);
}

static int setup_small(void **state)
{
    return setup_cap(state, 2);
}

static int teardown(void **state)
{
    fixture *f = *state;

    fr_fp_kernel_close(f->k);
    free(f);
    return 0;
}

static uint32_t slot_of(fixture *f)
{
    uint32_t s;

    assert_int_equal(fr_fp_kernel_slot_alloc(f->k, &s), 0);
    return s;
}

/* A freed slot loses its entry, its streams' translations and credits
 * (and, as an upstream, the translations of its streams for others), its
 * pool and its send state, and comes back with a new generation; other
 * slots keep theirs. */
static void test_slot_free_forgets(void **state)
{
    fixture *f = *state;
    uint32_t a = slot_of(f), b = slot_of(f), again;
    struct fr_fp_slot s = {.active = 1, .dcid_len = 4};
    uint64_t ids[3] = {3, 7, 11}, stream;
    uint16_t gen = fr_fp_kernel_slot_gen(f->k, a);
    int late;

    assert_int_not_equal(a, b);
    assert_int_equal(fr_fp_kernel_slot_set(f->k, a, &s), 0);
    assert_int_equal(fr_fp_kernel_slot_set(f->k, b, &s), 0);
    assert_int_equal(fr_fp_kernel_pool_refill(f->k, a, ids, 3), 3);
    assert_int_equal(fr_fp_kernel_credit_set(f->k, a, 3, 5000), 0);
    assert_int_equal(fr_fp_kernel_credit_set(f->k, b, 3, 5000), 0);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 40, &stream,
                                                  &late),
                     1);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, b, UP, 40, &stream,
                                                  &late),
                     1);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, b, a, 40, &stream,
                                                  &late),
                     1);
    fr_fp_kernel_tx(f->k, a)->next_pn = 99;

    fr_fp_kernel_slot_free(f->k, a);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_SLOTS), 1);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_SUBSTREAMS), 1);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_CREDIT), 1);
    assert_null(fr_fp_kernel_tx(f->k, a));
    assert_int_equal(fr_fp_kernel_pool_level(f->k, a), 0);
    assert_int_equal(fr_fp_kernel_slot_gen(f->k, a), (uint16_t)(gen + 1));

    /* The same slot again: empty, and stamped with the new generation. */
    again = slot_of(f);
    assert_int_equal(again, a);
    assert_int_equal(fr_fp_kernel_pool_level(f->k, a), 0);
    assert_int_equal(fr_fp_kernel_tx(f->k, a)->next_pn, 0);
    assert_int_equal(fr_fp_kernel_slot_set(f->k, a, &s), 0);
}

static void test_slot_arguments(void **state)
{
    fixture *f = *state;
    struct fr_fp_slot s = {.dcid_len = FR_FP_CID_MAX + 1};
    uint32_t a = slot_of(f);

    assert_int_equal(fr_fp_kernel_slot_set(f->k, a, &s), FR_ERR_INVALID_ARGUMENT);
    s.dcid_len = 8;
    assert_int_equal(fr_fp_kernel_slot_set(f->k, a + 1, &s),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_fp_kernel_credit_set(f->k, a + 1, 3, 1),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(fr_fp_kernel_tx(f->k, FR_FP_MAX_SLOTS));
    fr_fp_kernel_slot_free(f->k, a + 1); /* not allocated: ignored */
    assert_int_equal(fr_fp_kernel_slot_gen(f->k, a + 1), 0);
}

/* A track's subscriber list: each slot once, the entry gone with the
 * last, the default priority of the latest join. */
static void test_track_lists(void **state)
{
    fixture *f = *state;
    uint32_t up = slot_of(f), s1 = slot_of(f), s2 = slot_of(f);

    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 5, 5, 64, s1), 0);
    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 5, 5, 32, s2), 0);
    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 5, 5, 32, s2),
                     FR_ERR_INVALID_STATE);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_TRACK_SLOTS), 1);
    assert_int_equal(fr_fp_kernel_track_leave(f->k, up, 5, s1), 0);
    assert_int_equal(fr_fp_kernel_track_leave(f->k, up, 5, s1),
                     FR_ERR_INVALID_STATE);
    assert_int_equal(fr_fp_kernel_track_leave(f->k, up, 6, s2),
                     FR_ERR_INVALID_STATE);
    /* Still there with s2 alone, then gone. */
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_TRACK_SLOTS), 1);
    assert_int_equal(fr_fp_kernel_track_leave(f->k, up, 5, s2), 0);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_TRACK_SLOTS), 0);
    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 5, 5, 0, up + 100),
                     FR_ERR_INVALID_ARGUMENT);
}

/* How often each slot is on the track's list (pages read as the
 * ingress program reads them: from 0 until one is missing). */
static void track_counts(fixture *f, uint32_t up, uint64_t alias,
                         uint32_t *times, uint32_t *npages)
{
    struct fr_fp_track_key key = {.upstream_slot = up, .track_alias = alias};
    struct fr_fp_subscribers page;

    memset(times, 0, FR_FP_MAX_SLOTS * sizeof(*times));
    for (*npages = 0; *npages < FR_FP_TRACK_PAGES; (*npages)++) {
        key.page = *npages;
        if (f->dp->ops->lookup(f->dp, FR_FP_MAP_TRACK_SLOTS, &key, &page))
            break;
        assert_true(page.count > 0 && page.count <= FR_FP_MAX_FANOUT);
        for (uint32_t i = 0; i < page.count; i++)
            times[page.slots[i]]++;
    }
}

/* A track's list spans pages: up to FR_FP_TRACK_PAGES of FR_FP_MAX_FANOUT
 * subscribers; a leave keeps every page but the last full, and every
 * other subscriber on the list exactly once. */
static void test_track_pages(void **state)
{
    enum { N = FR_FP_MAX_FANOUT * FR_FP_TRACK_PAGES };
    fixture *f = *state;
    uint32_t up = slot_of(f), *subs = calloc(N, sizeof(*subs));
    uint32_t *times = calloc(FR_FP_MAX_SLOTS, sizeof(*times)), npages;

    assert_non_null(subs);
    assert_non_null(times);
    for (int i = 0; i < N; i++)
        assert_int_equal(fr_fp_kernel_track_join(f->k, up, 1, 1, 0,
                                                 (subs[i] = slot_of(f))),
                         0);
    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 1, 1, 0, slot_of(f)),
                     FR_ERR_LIMIT);
    assert_int_equal(fr_fp_kernel_track_join(f->k, up, 1, 1, 0, subs[N - 1]),
                     FR_ERR_INVALID_STATE);
    track_counts(f, up, 1, times, &npages);
    assert_int_equal(npages, FR_FP_TRACK_PAGES);
    /* Leave from the first pages, the middle and the last: the last
     * page shrinks, then goes. */
    for (int i = 0; i < FR_FP_MAX_FANOUT + 10; i++)
        assert_int_equal(
            fr_fp_kernel_track_leave(f->k, up, 1, subs[(i * 7) % N]), 0);
    track_counts(f, up, 1, times, &npages);
    assert_int_equal(npages, FR_FP_TRACK_PAGES - 1);
    for (int i = 0; i < N; i++) {
        int left = 0;

        for (int j = 0; j < FR_FP_MAX_FANOUT + 10; j++)
            left |= subs[(j * 7) % N] == subs[i];
        assert_int_equal(times[subs[i]], left ? 0 : 1);
    }
    for (int i = 0; i < N; i++)
        fr_fp_kernel_track_leave(f->k, up, 1, subs[i]);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_TRACK_SLOTS), 0);
    free(subs);
    free(times);
}

/* A pool takes what fits; the kernel's takes (head) make room. */
static void test_pool(void **state)
{
    fixture *f = *state;
    uint32_t a = slot_of(f);
    uint64_t ids[FR_FP_POOL_SIZE + 5];

    for (size_t i = 0; i < FR_FP_POOL_SIZE + 5; i++)
        ids[i] = 3 + 4 * i;
    assert_int_equal(fr_fp_kernel_pool_refill(f->k, a, ids, 10), 10);
    assert_int_equal(fr_fp_kernel_pool_refill(f->k, a, ids + 10,
                                              FR_FP_POOL_SIZE),
                     FR_FP_POOL_SIZE - 10);
    assert_int_equal(fr_fp_kernel_pool_level(f->k, a), FR_FP_POOL_SIZE);
    assert_int_equal(
        fr_fp_kernel_pool_refill(f->k, a, ids + FR_FP_POOL_SIZE, 5), 0);
    /* The kernel takes two, in order. */
    assert_int_equal(f->dp->pools[a].ids[f->dp->pools[a].head %
                                         FR_FP_POOL_SIZE],
                     ids[0]);
    f->dp->pools[a].head += 2;
    assert_int_equal(fr_fp_kernel_pool_level(f->k, a), FR_FP_POOL_SIZE - 2);
    assert_int_equal(
        fr_fp_kernel_pool_refill(f->k, a, ids + FR_FP_POOL_SIZE, 5), 2);
    assert_int_equal(fr_fp_kernel_pool_refill(f->k, a + 1, ids, 1), 0);
}

/* Who serves an upstream stream to a subscriber is decided once: by the
 * kernel's entry if there is one, else userspace claims it; a kernel
 * entry that appears between the look and the claim wins (late). */
static void test_substream_claims(void **state)
{
    fixture *f = *state;
    uint32_t a = slot_of(f);
    struct fr_fp_substream_key key = {.slot = a, .up_slot = UP,
                                      .upstream_stream = 8};
    uint64_t kernel_stream = 15, stream = 0;
    int late = -1;

    /* Nobody yet: userspace claims it, and keeps it. */
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 4, &stream,
                                                  &late),
                     1);
    assert_int_equal(late, 0);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 4, &stream,
                                                  &late),
                     1);

    /* The kernel took a stream at the stream's start. */
    assert_int_equal(f->dp->ops->update(f->dp, FR_FP_MAP_SUBSTREAMS, &key,
                                        &kernel_stream, FR_FP_NOEXIST),
                     0);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 8, &stream,
                                                  &late),
                     0);
    assert_int_equal(stream, kernel_stream);
    assert_int_equal(late, 0);
    /* Another upstream's stream of the same ID is another stream. */
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP + 1, 8, &stream,
                                                  &late),
                     1);

    /* The kernel's entry lands between userspace's look and its claim. */
    key.upstream_stream = 12;
    kernel_stream = 19;
    fr_fp_sim_race(f->sim, FR_FP_MAP_SUBSTREAMS, &key, sizeof(key),
                   &kernel_stream, sizeof(kernel_stream));
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 12, &stream,
                                                  &late),
                     0);
    assert_int_equal(stream, 19);
    assert_int_equal(late, 1);

    /* Forgotten: decided anew. */
    fr_fp_kernel_substream_forget(f->k, a, UP, 12);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a, UP, 12, &stream,
                                                  &late),
                     1);
    assert_int_equal(fr_fp_kernel_substream_claim(f->k, a + 1, UP, 12,
                                                  &stream, &late),
                     FR_ERR_INVALID_ARGUMENT);
}

/* Upstream CIDs: added, replaced, removed; a full map is FR_ERR_LIMIT. */
static void test_upstream_cids(void **state)
{
    fixture *f = *state;
    uint32_t up = slot_of(f);
    const uint8_t c1[4] = {1, 2, 3, 4}, c2[4] = {5, 6, 7, 8},
                  c3[4] = {9, 9, 9, 9}, long_cid[FR_FP_CID_MAX + 1] = {0};

    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, c1, 4), 0);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, c1, 4), 0);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, c2, 4), 0);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, c3, 4),
                     FR_ERR_LIMIT);
    assert_int_equal(fr_fp_kernel_upstream_cid_remove(f->k, c1, 4), 0);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, c3, 4), 0);
    assert_int_equal(fr_fp_sim_entries(f->sim, FR_FP_MAP_UPSTREAM_CIDS), 2);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up, long_cid,
                                                   sizeof(long_cid)),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(f->k, up + 1, c1, 4),
                     FR_ERR_INVALID_ARGUMENT);
}

/* An upstream slot's packet-number record is raised from userspace only
 * upwards (the program raises it too), and only for a slot in use. */
static void test_rx_pn_raise(void **state)
{
    fixture *f = *state;
    uint32_t up = slot_of(f), unused = up + 1;
    uint64_t v = 0;

    fr_fp_kernel_rx_pn_raise(f->k, up, 300);
    assert_int_equal(f->dp->ops->lookup(f->dp, FR_FP_MAP_RX_PN, &up, &v), 0);
    assert_int_equal(v, 300);
    v = 500; /* the program opened further meanwhile */
    assert_int_equal(f->dp->ops->update(f->dp, FR_FP_MAP_RX_PN, &up, &v,
                                        FR_FP_ANY),
                     0);
    fr_fp_kernel_rx_pn_raise(f->k, up, 400);
    assert_int_equal(f->dp->ops->lookup(f->dp, FR_FP_MAP_RX_PN, &up, &v), 0);
    assert_int_equal(v, 500);
    fr_fp_kernel_rx_pn_raise(f->k, unused, 700);
    assert_int_not_equal(f->dp->ops->lookup(f->dp, FR_FP_MAP_RX_PN, &unused,
                                            &v),
                         0);
    /* A freed slot's record starts again from none. */
    fr_fp_kernel_slot_free(f->k, up);
    assert_int_equal(f->dp->ops->lookup(f->dp, FR_FP_MAP_RX_PN, &up, &v), 0);
    assert_int_equal(v, 0);
}

static void on_sent(const struct fr_fp_sent_event *ev, void *arg)
{
    uint64_t *sum = arg;

    *sum += ev->pn;
}

/* Sent events reach the callback once each; counters and attachments go
 * through to the data plane, each interface and program once. */
static void test_events_counts_attach(void **state)
{
    fixture *f = *state;
    struct fr_fp_sent_event ev = {.pn = 5};
    uint64_t sum = 0;
    char why[64];

    fr_fp_sim_sent(f->sim, &ev);
    ev.pn = 7;
    fr_fp_sim_sent(f->sim, &ev);
    assert_int_equal(fr_fp_kernel_poll_sent(f->k, on_sent, &sum), 2);
    assert_int_equal(sum, 12);
    assert_int_equal(fr_fp_kernel_poll_sent(f->k, on_sent, &sum), 0);

    fr_fp_sim_count(f->sim, FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_BUDGET);
    assert_int_equal(fr_fp_kernel_count(f->k, FR_FP_ROLE_SUBSCRIBERS,
                                        FR_FP_EG_NO_BUDGET),
                     1);
    assert_int_equal(
        fr_fp_kernel_count(f->k, FR_FP_ROLE_UPSTREAM, FR_FP_EG_NO_BUDGET), 0);

    assert_int_equal(fr_fp_kernel_attach(f->k, 3, FR_FP_ROLE_UPSTREAM,
                                         FR_FP_ATTACH_AUTO, why, sizeof(why)),
                     0);
    assert_true(fr_fp_kernel_is_attached(f->k, 3, FR_FP_ROLE_UPSTREAM));
    assert_false(fr_fp_kernel_is_attached(f->k, 3, FR_FP_ROLE_SUBSCRIBERS));
    assert_int_equal(fr_fp_kernel_attach(f->k, 3, FR_FP_ROLE_UPSTREAM,
                                         FR_FP_ATTACH_AUTO, why, sizeof(why)),
                     FR_ERR_INVALID_STATE);
    assert_int_equal(fr_fp_sim_attached(f->sim, FR_FP_ROLE_UPSTREAM), 1);
    assert_null(fr_fp_kernel_skeleton(f->k));
}

/* Next hops come from the data plane's tables: a host it names is on the
 * link with its MAC address; one it does not name has no next hop. */
static void test_next_hops(void **state)
{
    fixture *f = *state;
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    uint8_t own[6], next[6];
    fr_nexthop_tables t;
    struct in_addr ip;
    int ifindex = 0;

    fr_fp_sim_host(f->sim, "198.18.0.9", mac);
    assert_int_equal(fr_fp_kernel_tables_read(f->k, &t), 0);
    inet_pton(AF_INET, "198.18.0.9", &ip);
    assert_int_equal(fr_nexthop_find(&t, ip, &ifindex, own, next), 0);
    assert_true(ifindex > 0);
    assert_memory_equal(next, mac, 6);
    inet_pton(AF_INET, "198.18.0.10", &ip);
    assert_int_equal(fr_nexthop_find(&t, ip, &ifindex, own, next),
                     FR_ERR_ADDRESS);
    inet_pton(AF_INET, "198.20.0.1", &ip);
    assert_int_equal(fr_nexthop_find(&t, ip, &ifindex, own, NULL),
                     FR_ERR_ADDRESS);
    fr_nexthop_tables_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slot_free_forgets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slot_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_track_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_track_pages, setup_large,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_substream_claims, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upstream_cids, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_counts_attach, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_next_hops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_pn_raise, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
