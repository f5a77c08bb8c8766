/*
 * fr_fastpath_stats by layout version: a caller built against an older
 * header gets its layout filled and not a byte more; an unknown version
 * is refused; programs built before versions reach layout 1 through the
 * plain symbol.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ev.h>
#include <fastrelay/fastrelay.h>

#define CANARY 0xa5

typedef struct fixture {
    struct ev_loop *loop;
    fr_cert *cert;
    fr_relay *relay;
    fr_moq_endpoint *ep;
    fr_fastpath *fp;
} fixture;

static int setup(void **state)
{
    static fixture f;
    fr_quic_settings qs;
    fr_moq_settings ms;
    fr_relay_settings rs;
    fr_fastpath_settings fs;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    char why[256] = "";

    if (geteuid() != 0) {
        *state = NULL;
        return 0;
    }
    memset(&f, 0, sizeof(f));
    f.loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(f.loop);
    assert_int_equal(fr_cert_generate(&f.cert, "relay.test"), 0);
    fr_quic_settings_default(&qs);
    qs.crypto_mode = FR_CRYPTO_CLEARTEXT;
    qs.accept_connections = 1;
    qs.cert = f.cert;
    fr_moq_settings_default(&ms);
    fr_relay_settings_default(&rs);
    assert_int_equal(fr_relay_new(&f.relay, &rs, NULL), 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(fr_moq_endpoint_new(&f.ep, f.loop, NULL,
                                         fr_relay_moq_callbacks(), &ms, &qs,
                                         (struct sockaddr *)&addr,
                                         sizeof(addr), f.relay),
                     0);
    fr_fastpath_settings_default(&fs);
    if (fr_fastpath_new(&f.fp, f.relay, f.ep, &fs, why, sizeof(why)) != 0)
        fail_msg("fast path: %s", why);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    if (!f)
        return 0;
    fr_fastpath_del(f->fp);
    fr_moq_endpoint_del(f->ep);
    fr_relay_del(f->relay);
    fr_cert_del(f->cert);
    ev_loop_destroy(f->loop);
    return 0;
}

static fixture *need_root(void **state)
{
    FR_TEST_REQUIRE_ROOT();
    return *state;
}

/* True if every byte of p[from..to) is the canary. */
static int untouched(const uint8_t *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != CANARY)
            return 0;
    return 1;
}

static void test_layouts(void **state)
{
    fixture *f = need_root(state);
    const size_t v1 = offsetof(fr_fastpath_stats, late_starts);
    union {
        fr_fastpath_stats st;
        uint8_t b[sizeof(fr_fastpath_stats)];
    } u;

    /* Layout 1 ends before late_starts: what lies after is not written,
     * what lies before is (no subscribers yet: zero). */
    memset(u.b, CANARY, sizeof(u.b));
    assert_int_equal(
        fr_fastpath_get_stats_versioned(f->fp, FR_FASTPATH_STATS_V1, &u.st),
        0);
    assert_true(untouched(u.b, v1, sizeof(u.b)));
    assert_int_equal(u.st.kernel_copies, 0);
    assert_int_equal(u.st.upstreams, 0);

    /* The plain symbol, as a program built before versions calls it. */
    memset(u.b, CANARY, sizeof(u.b));
    (fr_fastpath_get_stats)(f->fp, &u.st);
    assert_true(untouched(u.b, v1, sizeof(u.b)));
    assert_int_equal(u.st.subscribers, 0);

    /* The present layout, through the macro: all of it. */
    memset(u.b, CANARY, sizeof(u.b));
    fr_fastpath_get_stats(f->fp, &u.st);
    assert_int_equal(u.st.late_starts, 0);

    /* A version from a newer header: refused, nothing written. */
    memset(u.b, CANARY, sizeof(u.b));
    assert_int_equal(fr_fastpath_get_stats_versioned(
                         f->fp, FR_FASTPATH_STATS_VERSION + 1, &u.st),
                     FR_ERR_INVALID_ARGUMENT);
    assert_true(untouched(u.b, 0, sizeof(u.b)));
}

static void test_hooks_layouts(void **state)
{
    fixture *f = need_root(state);
    fr_fastpath_hooks h = {0};

    h.priority_floor = fr_fastpath_default_priority_floor;
    assert_int_equal(fr_fastpath_set_hooks_versioned(f->fp, 1, &h), 0);
    assert_int_equal(
        fr_fastpath_set_hooks_versioned(f->fp, FR_LAYOUT_VERSION + 1, &h),
        FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_fastpath_set_hooks_versioned(f->fp, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_hooks_layouts),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
