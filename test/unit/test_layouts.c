/*
 * Public structs by layout version (FR_LAYOUT_VERSION, lib/util/layout.h):
 * the functions that take or fill a settings, callbacks or hooks struct
 * read or write the bytes of the layout they are told and no byte past
 * it (each struct here ends right before an inaccessible page), keep
 * defaults for what a layout lacks, and refuse a layout they do not know
 * without touching anything.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include <ev.h>

#include <fastrelay/fastrelay.h>
#include <fastrelay/quic_ev.h>

#include "../../lib/quic/conn_view.h"
#include "../../lib/util/layout.h"
#include "moq_pair.h"

/* Layout 1 of every struct here is its whole current size. */
#define V1 1
#define UNKNOWN (FR_LAYOUT_VERSION + 1)

/* Room for `size` bytes that end right before an inaccessible page, so
 * that reading or writing past them faults; freed with unguard. */
static void *guarded(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + page, page, PROT_NONE), 0);
    assert_true(size <= page && size % 8 == 0);
    return m + page - size;
}

static void unguard(void *p)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    munmap((void *)((uintptr_t)p & ~(uintptr_t)(page - 1)), 2 * page);
}

/* A struct that had two layouts: `b` was appended in layout 2. */
typedef struct grown {
    uint64_t a;
    uint64_t b;
} grown;

static const fr_layout grown_layouts[] = {
    {1, offsetof(grown, b)},
    {2, sizeof(grown)},
};

static void test_layout_sizes(void **state)
{
    (void)state;
    assert_int_equal(FR_LAYOUT_VERSION, 3);
    assert_int_equal(fr_layout_size(FR_LAYOUTS(grown_layouts), 0), 0);
    assert_int_equal(fr_layout_size(FR_LAYOUTS(grown_layouts), 1),
                     offsetof(grown, b));
    assert_int_equal(fr_layout_size(FR_LAYOUTS(grown_layouts), 2),
                     sizeof(grown));
    assert_int_equal(fr_layout_size(FR_LAYOUTS(grown_layouts), UNKNOWN), 0);
}

/* A program built when the struct had layout 1 passes only `a`: the
 * library keeps its default for `b`, reads nothing past `a`, and when it
 * fills the struct writes nothing past it either. */
static void test_older_layout_keeps_defaults(void **state)
{
    grown *old = guarded(offsetof(grown, b));
    grown mine = {.a = 0, .b = 77};
    grown filled = {.a = 5, .b = 6};

    (void)state;
    old->a = 42;
    assert_int_equal(fr_layout_copy(&mine, old, FR_LAYOUTS(grown_layouts), 1),
                     0);
    assert_int_equal(mine.a, 42);
    assert_int_equal(mine.b, 77);
    assert_int_equal(
        fr_layout_copy(old, &filled, FR_LAYOUTS(grown_layouts), 1), 0);
    assert_int_equal(old->a, 5);
    assert_int_equal(
        fr_layout_copy(&mine, old, FR_LAYOUTS(grown_layouts), UNKNOWN),
        FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(mine.a, 42);
    unguard(old);
}

/* Each `*_default_versioned` fills layout 1 (its first `v1` bytes) as the
 * plain name does, and refuses versions 0 and UNKNOWN with the struct
 * untouched. */
#define CHECK_DEFAULTS_V1(type, fn, v1)                                     \
    do {                                                                    \
        type *g = guarded(sizeof(type)), plain, untouched;                  \
                                                                            \
        memset(&plain, 0, sizeof(plain));                                   \
        fn(&plain);                                                         \
        memset(g, 0x5a, sizeof(type));                                      \
        memcpy(&untouched, g, sizeof(type));                                \
        assert_int_equal(fn##_versioned(0, g), FR_ERR_INVALID_ARGUMENT);    \
        assert_int_equal(fn##_versioned(UNKNOWN, g),                        \
                         FR_ERR_INVALID_ARGUMENT);                          \
        assert_memory_equal(g, &untouched, sizeof(type));                   \
        assert_int_equal(fn##_versioned(V1, g), 0);                         \
        assert_memory_equal(g, &plain, (v1));                               \
        unguard(g);                                                         \
    } while (0)
#define CHECK_DEFAULTS(type, fn) CHECK_DEFAULTS_V1(type, fn, sizeof(type))

static void test_defaults(void **state)
{
    (void)state;
    CHECK_DEFAULTS(fr_quic_settings, fr_quic_settings_default);
    CHECK_DEFAULTS_V1(fr_moq_settings, fr_moq_settings_default,
                      offsetof(fr_moq_settings, webtransport_path));
    CHECK_DEFAULTS(fr_relay_settings, fr_relay_settings_default);
    CHECK_DEFAULTS(fr_fastpath_settings, fr_fastpath_settings_default);
}

static int no_send(fr_quic_endpoint *ep, const fr_quic_path *path,
                   const struct iovec *d, size_t n, void *ud)
{
    (void)ep;
    (void)path;
    (void)d;
    (void)n;
    (void)ud;
    return 0;
}

static void test_quic_endpoint(void **state)
{
    fr_quic_callbacks *cb = guarded(sizeof(*cb));
    fr_quic_settings *s = guarded(sizeof(*s));
    fr_quic_endpoint *ep = NULL;

    (void)state;
    memset(cb, 0, sizeof(*cb));
    cb->send = no_send;
    fr_quic_settings_default_versioned(V1, s);
    s->alpn = "moqt-18";
    assert_int_equal(fr_quic_endpoint_new_versioned(&ep, UNKNOWN, cb, s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(ep);
    assert_int_equal(fr_quic_endpoint_new_versioned(&ep, V1, cb, s, NULL), 0);
    assert_int_equal(fr_ep_settings(ep)->cid_len, s->cid_len);
    fr_quic_endpoint_del(ep);
    unguard(cb);
    unguard(s);
}

static struct sockaddr_in loopback(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void test_quic_ev(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fr_quic_callbacks *cb = guarded(sizeof(*cb));
    fr_quic_settings *s = guarded(sizeof(*s));
    struct sockaddr_in a = loopback();
    fr_quic_ev *qev = NULL;

    (void)state;
    memset(cb, 0, sizeof(*cb));
    fr_quic_settings_default_versioned(V1, s);
    s->alpn = "moqt-18";
    assert_int_equal(fr_quic_ev_new_versioned(&qev, loop, UNKNOWN, cb, s,
                                              (struct sockaddr *)&a,
                                              sizeof(a), NULL),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(qev);
    assert_int_equal(fr_quic_ev_new_versioned(&qev, loop, V1, cb, s,
                                              (struct sockaddr *)&a,
                                              sizeof(a), NULL),
                     0);
    fr_quic_ev_del(qev);
    ev_loop_destroy(loop);
    unguard(cb);
    unguard(s);
}

static void test_moq_endpoint(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fr_moq_endpoint_callbacks *ecb = guarded(sizeof(*ecb));
    fr_moq_callbacks *cb = guarded(sizeof(*cb));
    fr_moq_settings *ms = guarded(sizeof(*ms));
    fr_quic_settings *qs = guarded(sizeof(*qs));
    struct sockaddr_in a = loopback();
    fr_moq_endpoint *ep = NULL;

    (void)state;
    memset(ecb, 0, sizeof(*ecb));
    memset(cb, 0, sizeof(*cb));
    fr_moq_settings_default_versioned(V1, ms);
    fr_quic_settings_default_versioned(V1, qs);
    assert_int_equal(fr_moq_endpoint_new_versioned(&ep, loop, UNKNOWN, ecb, cb,
                                                   ms, qs,
                                                   (struct sockaddr *)&a,
                                                   sizeof(a), NULL),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(ep);
    assert_null(qs->alpn);
    assert_int_equal(fr_moq_endpoint_new_versioned(&ep, loop, V1, ecb, cb, ms,
                                                   qs, (struct sockaddr *)&a,
                                                   sizeof(a), NULL),
                     0);
    /* As documented: a NULL ALPN becomes both drafts', in the caller's
     * struct too. */
    assert_string_equal(qs->alpn, FR_MOQ_ALPNS);
    fr_moq_endpoint_del(ep);
    ev_loop_destroy(loop);
    unguard(ecb);
    unguard(cb);
    unguard(ms);
    unguard(qs);
}

static void test_moq_session(void **state)
{
    fr_moq_callbacks none = {0};
    fr_moq_callbacks *cb = guarded(sizeof(*cb));
    fr_moq_settings *ms = guarded(sizeof(*ms));
    fr_moq_session *s = NULL;
    fr_moq_pair p;

    (void)state;
    fr_moq_pair_setup(&p, &none, NULL, FR_CRYPTO_TLS, 1, NULL);
    memset(cb, 0, sizeof(*cb));
    fr_moq_settings_default_versioned(V1, ms);
    assert_int_equal(
        fr_moq_session_new_versioned(&s, p.conn, UNKNOWN, cb, ms, NULL),
        FR_ERR_INVALID_ARGUMENT);
    assert_null(s);
    assert_int_equal(fr_moq_session_new_versioned(&s, p.conn, V1, cb, ms, NULL),
                     0);
    assert_non_null(s);
    fr_moq_pair_teardown(&p);
    unguard(cb);
    unguard(ms);
}

static void test_relay(void **state)
{
    fr_relay_settings *s = guarded(sizeof(*s));
    fr_relay *r = NULL;

    (void)state;
    fr_relay_settings_default_versioned(V1, s);
    assert_int_equal(fr_relay_new_versioned(&r, UNKNOWN, s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(r);
    assert_int_equal(fr_relay_new_versioned(&r, V1, s, NULL), 0);
    fr_relay_del(r);
    unguard(s);
}

/* An unknown layout is refused before anything is loaded, so this needs
 * no BPF; a known one is test_fastpath_stats's business. */
static void test_fastpath_refuses_unknown(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fr_moq_callbacks cb = {0};
    fr_moq_settings ms;
    fr_quic_settings qs;
    fr_fastpath_settings fs;
    struct sockaddr_in a = loopback();
    fr_moq_endpoint *ep;
    fr_relay_settings rs;
    fr_relay *r;
    fr_fastpath *fp = NULL;
    char why[128] = "";

    (void)state;
    fr_moq_settings_default(&ms);
    fr_quic_settings_default(&qs);
    fr_relay_settings_default(&rs);
    fr_fastpath_settings_default(&fs);
    assert_int_equal(fr_relay_new(&r, &rs, NULL), 0);
    assert_int_equal(fr_moq_endpoint_new(&ep, loop, NULL, &cb, &ms, &qs,
                                         (struct sockaddr *)&a, sizeof(a),
                                         NULL),
                     0);
    assert_int_equal(fr_fastpath_new_versioned(&fp, r, ep, UNKNOWN, &fs, why,
                                               sizeof(why)),
                     FR_ERR_INVALID_ARGUMENT);
    assert_null(fp);
    assert_non_null(strstr(why, "layout"));
    fr_moq_endpoint_del(ep);
    fr_relay_del(r);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_sizes),
        cmocka_unit_test(test_older_layout_keeps_defaults),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_quic_endpoint),
        cmocka_unit_test(test_quic_ev),
        cmocka_unit_test(test_moq_endpoint),
        cmocka_unit_test(test_moq_session),
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_fastpath_refuses_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
