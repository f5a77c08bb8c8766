/*
 * The C model of the fast path's programs (test/common/fp_model.h)
 * against the programs themselves: the same packets through both, over
 * two data planes set up alike through kernel.c, the BPF one and the
 * in-memory one. Ingress: every reason counter equal after each packet.
 * Egress: the same verdict, the same bytes out, the same sent event and
 * send state. Whatever the virtual-time fast-path tests conclude holds of
 * the programs only as far as this test holds.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fastrelay/error.h>

#include "../../lib/fastpath/kernel.h"
#include "../../lib/moq/codec.h"
#include "../../lib/util/qvarint.h"
#include "fastpath.skel.h"
#include "fp_model.h"
#include "fp_sim.h"
#include "packet.h"

#define CID_LEN 8
#define TC_ACT_SHOT 2
#define UP_SID 6       /* client-initiated unidirectional */
#define SUB_SID 70     /* a 2-byte varint where the upstream one takes 1 */

static const uint8_t up_cid[CID_LEN] = {0xc0, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac_b[6] = {2, 0, 0, 0, 0, 2};

/* The two sides, set up alike. */
typedef struct side {
    fr_fp_dataplane *dp;
    fr_fp_kernel *k;
} side;

static struct {
    side bpf, sim;
    fr_fp_sim *fsim;
    fr_fp_model *model;
    uint32_t up, sub;
} T;

static int setup(void **state)
{
    char why[256];

    (void)state;
    if (geteuid() != 0)
        return 0;
    if (fr_fp_dataplane_bpf(&T.bpf.dp, CID_LEN, 0, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    assert_int_equal(fr_fp_kernel_on(&T.bpf.k, T.bpf.dp), 0);
    T.sim.dp = fr_fp_sim_new(1024, &T.fsim);
    assert_non_null(T.sim.dp);
    assert_int_equal(fr_fp_kernel_on(&T.sim.k, T.sim.dp), 0);
    T.model = fr_fp_model_new(T.sim.dp, T.fsim, CID_LEN, NULL);
    assert_non_null(T.model);
    for (int i = 0; i < 2; i++) {
        side *s = i ? &T.sim : &T.bpf;

        assert_int_equal(fr_fp_kernel_slot_alloc(s->k, &T.up), 0);
        assert_int_equal(fr_fp_kernel_slot_alloc(s->k, &T.sub), 0);
        assert_int_equal(
            fr_fp_kernel_upstream_cid_add(s->k, T.up, up_cid, CID_LEN), 0);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fr_fp_model_del(T.model);
    fr_fp_kernel_close(T.sim.k);
    fr_fp_kernel_close(T.bpf.k);
    return 0;
}

/* Packet building: a short header with up_cid and a 2-byte packet
 * number, frames, a 16-byte tag. */

static size_t begin(uint8_t *p)
{
    size_t n = 0;

    p[n++] = 0x41;
    memcpy(p + n, up_cid, CID_LEN);
    n += CID_LEN;
    p[n++] = 0x12;
    p[n++] = 0x34;
    return n;
}

static void varint(uint8_t *p, size_t *n, uint64_t v)
{
    assert_int_equal(fr_qvarint_put(p, 1500, n, v), 0);
}

/* A STREAM frame: with an offset field unless `off` is 0, with a length
 * field when `sized`, `fin` as given. */
static void stream(uint8_t *p, size_t *n, uint64_t sid, uint64_t off,
                   const uint8_t *data, size_t len, int sized, int fin)
{
    p[(*n)++] = (uint8_t)(0x08 | (off ? 0x04 : 0) | (sized ? 0x02 : 0) |
                          (fin ? 0x01 : 0));
    varint(p, n, sid);
    if (off)
        varint(p, n, off);
    if (sized)
        varint(p, n, len);
    memcpy(p + *n, data, len);
    *n += len;
}

static void ack(uint8_t *p, size_t *n)
{
    static const uint8_t frame[] = {0x02, 0x45, 0x00, 0x00, 0x01,
                                    0x03, 0x02, 0x00};

    memcpy(p + *n, frame, sizeof(frame));
    *n += sizeof(frame);
}

static size_t finish(uint8_t *p, size_t n)
{
    memset(p + n, 0, 16);
    return n + 16;
}

/* A subgroup stream's first bytes: its SUBGROUP_HEADER, then `extra`
 * bytes of object. Returns the header's length. */
static size_t subgroup_start(uint8_t *b, size_t extra, uint64_t group)
{
    fr_moq_subgroup_header h = {
        .type = fr_moq_subgroup_type(0, 2, 1, 0, 0),
        .track_alias = 300,
        .group = group,
        .subgroup = 0,
        .has_priority = 1,
        .publisher_priority = 100,
    };
    ssize_t n = fr_moq_subgroup_header_encode(b, 64, &h);

    assert_true(n > 0);
    for (size_t i = 0; i < extra; i++)
        b[n + i] = (uint8_t)i;
    return (size_t)n;
}

/* Ingress: one packet through both; every reason counter must agree. */

static void ingress_both(const uint8_t *d, size_t len)
{
    struct fastpath *skel = fr_fp_kernel_skeleton(T.bpf.k);
    fr_quic_path path = {0};
    uint8_t buf[2048];
    size_t n;

    memcpy(buf + FR_TEST_L4_OFFSET, d, len);
    n = fr_test_frame(buf, len, mac_a, mac_b, "198.18.0.2", "198.18.0.1",
                      4433, 5000, 17);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
                .data_size_in = (uint32_t)n);
    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_upstream_ingress),
                         &opts),
                     0);
    fr_fp_model_tap(T.model, &path, d, len, 0);
    for (uint32_t r = 0; r < FR_FP_REASONS; r++) {
        uint64_t b = fr_fp_kernel_count(T.bpf.k, FR_FP_ROLE_UPSTREAM, r);
        uint64_t s = fr_fp_kernel_count(T.sim.k, FR_FP_ROLE_UPSTREAM, r);

        if (b != s)
            fail_msg("reason %u: program %llu, model %llu", r,
                     (unsigned long long)b, (unsigned long long)s);
    }
}

static void test_ingress_verdicts(void **state)
{
    uint8_t p[1500], data[400];
    size_t n, h;

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    /* A subgroup's start, whole: recorded, forwardable. */
    h = subgroup_start(data, 100, 70000);
    n = begin(p);
    stream(p, &n, UP_SID, 0, data, h + 100, 1, 0);
    ingress_both(p, finish(p, n));
    /* Its continuation; behind a leading ACK; with an ACK after it;
     * behind a PING; without a length field. */
    n = begin(p);
    stream(p, &n, UP_SID, h + 100, data, 200, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    ack(p, &n);
    stream(p, &n, UP_SID, h + 300, data, 50, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, UP_SID, h + 350, data, 50, 1, 0);
    ack(p, &n);
    ingress_both(p, finish(p, n));
    n = begin(p);
    p[n++] = 0x01;
    stream(p, &n, UP_SID, h + 400, data, 50, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, UP_SID, h + 450, data, 60, 0, 1);
    ingress_both(p, finish(p, n));
    /* The same start again (a retransmission): not a new subgroup. */
    n = begin(p);
    stream(p, &n, UP_SID, 0, data, h + 100, 1, 0);
    ingress_both(p, finish(p, n));
    /* Two streams in one packet; a request stream; a header cut in two
     * frames, then the rest of that stream; ACK and PING alone; PADDING
     * with a stray byte; a frame we do not forward; a cut-off frame. */
    h = subgroup_start(data, 20, 70001);
    n = begin(p);
    stream(p, &n, UP_SID, h + 510, data, 10, 1, 0);
    stream(p, &n, UP_SID + 4, 0, data, h + 20, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, 0, 0, data, 30, 1, 0);
    ingress_both(p, finish(p, n));
    h = subgroup_start(data, 40, 70002);
    n = begin(p);
    stream(p, &n, UP_SID + 8, 0, data, 3, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, UP_SID + 8, 3, data + 3, h + 37, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, UP_SID + 8, h + 40, data, 30, 1, 0);
    ingress_both(p, finish(p, n));
    n = begin(p);
    ack(p, &n);
    p[n++] = 0x01;
    ingress_both(p, finish(p, n));
    n = begin(p);
    stream(p, &n, UP_SID, h + 600, data, 10, 1, 0);
    memset(p + n, 0, 30);
    p[n + 20] = 0x01;
    ingress_both(p, finish(p, n + 30));
    n = begin(p);
    p[n++] = 0x04; /* RESET_STREAM */
    varint(p, &n, UP_SID);
    varint(p, &n, 0);
    varint(p, &n, 10);
    ingress_both(p, finish(p, n));
    n = begin(p);
    p[n++] = 0x0a;
    varint(p, &n, UP_SID);
    varint(p, &n, 900);
    ingress_both(p, finish(p, n));
    /* Not for the fast path: another CID, a long header, too short. */
    n = begin(p);
    p[1] ^= 0xff;
    stream(p, &n, UP_SID, 0, data, h + 10, 1, 0);
    ingress_both(p, finish(p, n));
    p[0] = 0xc0;
    ingress_both(p, finish(p, n));
    ingress_both(p, 12);
}

/* The track's subscribers know it by another alias: a stream's start
 * gets it written over the upstream's when it fits the bytes that one
 * took (300 takes two: 5 fits, 20000 does not, and leaves the stream to
 * userspace). */
static void test_ingress_down_alias(void **state)
{
    static const uint64_t down[] = {20000, 5};
    uint8_t p[1500], data[400];
    size_t n, h;

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    for (size_t i = 0; i < sizeof(down) / sizeof(down[0]); i++) {
        for (int k = 0; k < 2; k++)
            assert_int_equal(fr_fp_kernel_track_join(
                                 (k ? &T.sim : &T.bpf)->k, T.up, 300,
                                 down[i], 100, T.sub),
                             0);
        h = subgroup_start(data, 100, 80000 + i);
        n = begin(p);
        stream(p, &n, UP_SID + 64 + 4 * i, 0, data, h + 100, 1, 0);
        ingress_both(p, finish(p, n));
        for (int k = 0; k < 2; k++)
            assert_int_equal(fr_fp_kernel_track_leave(
                                 (k ? &T.sim : &T.bpf)->k, T.up, 300, T.sub),
                             0);
    }
    assert_int_equal(fr_fp_kernel_count(T.bpf.k, FR_FP_ROLE_UPSTREAM,
                                        FR_FP_ALIAS_TOO_LONG),
                     1);
}

/* Egress: one copy through both, for `cid_len` and `key_phase`. */

typedef struct copy_case {
    const char *what;
    size_t cid_len;
    int key_phase;
    int leading_ack;
    int sized;
    uint64_t credit;     /* 0: the slot's */
    int64_t budget;
    uint16_t max_payload;
    int stream;          /* 0: the kernel's, 1: none, 2: userspace's */
    int active;
} copy_case;

static void setup_slot(side *s, const copy_case *c)
{
    struct fr_fp_substream_key k = {.slot = T.sub, .up_slot = T.up,
                                    .upstream_stream = UP_SID};
    uint64_t id = c->stream == 2 ? FR_FP_SUBSTREAM_USERSPACE : SUB_SID;
    struct fr_fp_slot slot = {0};
    struct fr_fp_tx *tx = fr_fp_kernel_tx(s->k, T.sub);

    slot.active = (uint8_t)c->active;
    slot.stream_credit = 1 << 20;
    slot.max_payload = c->max_payload;
    slot.dcid_len = (uint8_t)c->cid_len;
    for (size_t i = 0; i < c->cid_len; i++)
        slot.dcid[i] = (uint8_t)(0xd0 + i);
    inet_pton(AF_INET, "198.18.2.1", &slot.src_ip);
    inet_pton(AF_INET, "198.18.2.2", &slot.dst_ip);
    slot.src_port = htons(4433);
    slot.dst_port = htons(51000);
    assert_int_equal(fr_fp_kernel_slot_set(s->k, T.sub, &slot), 0);
    s->dp->ops->remove(s->dp, FR_FP_MAP_SUBSTREAMS, &k);
    if (c->stream != 1)
        assert_int_equal(s->dp->ops->update(s->dp, FR_FP_MAP_SUBSTREAMS, &k,
                                            &id, FR_FP_ANY),
                         0);
    assert_int_equal(fr_fp_kernel_credit_set(s->k, T.sub, SUB_SID,
                                             c->credit ? c->credit
                                                       : 1 << 20),
                     0);
    tx->next_pn = 1000;
    tx->budget = c->budget;
    tx->key_phase = (uint32_t)c->key_phase;
}

static void take_event(const struct fr_fp_sent_event *ev, void *arg)
{
    struct fr_fp_sent_event *out = arg;

    *out = *ev;
    out->time_ns = 0; /* the clocks differ */
}

static void egress_both(const copy_case *c)
{
    struct fastpath *skel = fr_fp_kernel_skeleton(T.bpf.k);
    uint8_t p[1500], data[300], in[2048], out[2048], mine[1500];
    struct fr_fp_sent_event eb = {0}, es = {0};
    struct __sk_buff ctx = {.mark = FR_FP_MARK_MAGIC | T.sub};
    struct fr_fp_slot slot;
    size_t n = begin(p), len, got;
    int nb, ns;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    setup_slot(&T.bpf, c);
    setup_slot(&T.sim, c);
    if (c->leading_ack)
        ack(p, &n);
    stream(p, &n, UP_SID, 1400, data, sizeof(data), c->sized, !c->sized);
    len = finish(p, n);
    memcpy(in + FR_TEST_L4_OFFSET, p, len);
    n = fr_test_frame(in, len, mac_a, mac_b, "198.18.0.2", "198.18.0.1",
                      4433, 5000, 17);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
                .data_size_in = (uint32_t)n, .data_out = out,
                .data_size_out = sizeof(out), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx));
    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_subscriber_egress),
                         &opts),
                     0);
    got = fr_fp_model_rewrite(T.model, T.sub, p, len, 0, mine, &slot);
    print_message("%s: program %s, model %s\n", c->what,
                  (int)opts.retval == TC_ACT_SHOT ? "dropped" : "sent",
                  got ? "sent" : "dropped");
    assert_int_equal((int)opts.retval == TC_ACT_SHOT, got == 0);
    if (got) {
        assert_int_equal(opts.data_size_out - FR_TEST_L4_OFFSET, got);
        assert_memory_equal(out + FR_TEST_L4_OFFSET, mine, got);
    }
    nb = fr_fp_kernel_poll_sent(T.bpf.k, take_event, &eb);
    ns = fr_fp_kernel_poll_sent(T.sim.k, take_event, &es);
    assert_int_equal(nb, ns);
    assert_memory_equal(&eb, &es, sizeof(eb));
    assert_int_equal(fr_fp_kernel_tx(T.bpf.k, T.sub)->next_pn,
                     fr_fp_kernel_tx(T.sim.k, T.sub)->next_pn);
    assert_int_equal(fr_fp_kernel_tx(T.bpf.k, T.sub)->budget,
                     fr_fp_kernel_tx(T.sim.k, T.sub)->budget);
    for (uint32_t r = 0; r < FR_FP_EG_REASONS; r++)
        assert_int_equal(
            fr_fp_kernel_count(T.bpf.k, FR_FP_ROLE_SUBSCRIBERS, r),
            fr_fp_kernel_count(T.sim.k, FR_FP_ROLE_SUBSCRIBERS, r));
}

static void test_egress_copies(void **state)
{
    static const copy_case cases[] = {
        {"8-byte CID", 8, 1, 0, 1, 0, 100000, 1452, 0, 1},
        {"4-byte CID, key phase 0", 4, 0, 0, 1, 0, 100000, 1452, 0, 1},
        {"20-byte CID", 20, 1, 0, 1, 0, 100000, 1452, 0, 1},
        {"no CID", 0, 0, 0, 1, 0, 100000, 1452, 0, 1},
        {"leading ACK left out", 8, 0, 1, 1, 0, 100000, 1452, 0, 1},
        {"unsized final frame", 8, 1, 0, 0, 0, 100000, 1452, 0, 1},
        {"past the stream's credit", 8, 1, 0, 1, 1500, 100000, 1452, 0, 1},
        {"no budget", 8, 1, 0, 1, 0, 100, 1452, 0, 1},
        {"too big for the path", 8, 1, 0, 1, 0, 100000, 300, 0, 1},
        {"no stream", 8, 1, 0, 1, 0, 100000, 1452, 1, 1},
        {"userspace's stream", 8, 1, 0, 1, 0, 100000, 1452, 2, 1},
        {"inactive slot", 8, 1, 0, 1, 0, 100000, 1452, 0, 0},
    };

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        egress_both(&cases[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingress_verdicts),
        cmocka_unit_test(test_ingress_down_alias),
        cmocka_unit_test(test_egress_copies),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
