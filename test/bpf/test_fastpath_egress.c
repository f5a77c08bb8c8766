/*
 * The subscriber-egress program through BPF_PROG_TEST_RUN: fixture clones
 * in, the exact bytes a subscriber must receive out (MACs, addresses,
 * ports, IPv4 and UDP checksums, CIDs of several lengths, the 4-byte wire
 * packet number from the slot's counter, key phase, translated stream ID),
 * the record the splice layer gets of each copy sent, and the packets it
 * must leave alone or drop.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "fastpath.skel.h"
#include "fastpath_kern_user.h"
#include "packet.h"

#define SLOT 5
#define UP_SLOT 9
#define UP_SID 7
#define SUB_SID 70 /* a 2-byte varint where the upstream ID takes 1 */
#define DATA_LEN 100

static const uint8_t up_cid[8] = {0xa0, 0xa1, 0xa2, 0xa3,
                                  0xa4, 0xa5, 0xa6, 0xa7};

static const uint8_t up_dmac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t up_smac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t sub_dmac[6] = {2, 0, 0, 0, 0xbb, 1};
static const uint8_t sub_smac[6] = {2, 0, 0, 0, 0xbb, 2};

/* The STREAM frame's fields after its stream ID (the offset, shortest
 * varint, where `type` has OFF), data, and the tag. */
static size_t frame_rest(uint8_t *p, uint8_t type, uint16_t offset)
{
    size_t n = 0;

    if ((type & 0x04) && offset < 64) {
        p[n++] = (uint8_t)offset;
    } else if (type & 0x04) {
        p[n++] = (uint8_t)(0x40 | (offset >> 8));
        p[n++] = (uint8_t)offset;
    }
    p[n++] = 0x40; /* length 100 */
    p[n++] = DATA_LEN;
    for (int i = 0; i < DATA_LEN; i++)
        p[n++] = (uint8_t)(i * 3);
    memset(p + n, 0, 16);
    return n + 16;
}

/* An upstream packet as the relay received it, one STREAM frame of `type`
 * at `offset`; with `ack`, an ACK frame (for the relay's own packets)
 * comes first. */
static size_t upstream_frame(uint8_t *out, int ack, uint8_t type,
                             uint16_t offset)
{
    static const uint8_t ack_frame[] = {0x02, 0x45, 0x00, 0x00, 0x01,
                                        0x03, 0x02, 0x00}; /* 2 ranges */
    uint8_t *q = out + 42;
    size_t n = 0;

    q[n++] = 0x41; /* short header, 2-byte packet number */
    memcpy(q + n, up_cid, 8);
    n += 8;
    q[n++] = 0x12;
    q[n++] = 0x34;
    if (ack) {
        memcpy(q + n, ack_frame, sizeof(ack_frame));
        n += sizeof(ack_frame);
    }
    q[n++] = type;
    q[n++] = UP_SID;
    n += frame_rest(q + n, type, offset);
    return fr_test_frame(out, n, up_dmac, up_smac, "198.18.1.1",
                         "198.18.1.2", 4433, 4433, 17);
}

/* The usual one: STREAM with OFF and LEN at offset 1400. */
static size_t upstream_packet_ack(uint8_t *out, int ack)
{
    return upstream_frame(out, ack, 0x0e, 1400);
}

static size_t upstream_packet(uint8_t *out)
{
    return upstream_packet_ack(out, 0);
}

/* What the subscriber must get of upstream_frame(type, offset). */
static size_t expected_frame(uint8_t *out, const uint8_t *cid, size_t cidlen,
                             uint32_t pn, uint8_t type, uint16_t offset)
{
    uint8_t *q = out + 42;
    size_t n = 0;

    q[n++] = 0x40 | 0x04 | 0x03; /* key phase 1, 4-byte packet number */
    memcpy(q + n, cid, cidlen);
    n += cidlen;
    q[n++] = (uint8_t)(pn >> 24);
    q[n++] = (uint8_t)(pn >> 16);
    q[n++] = (uint8_t)(pn >> 8);
    q[n++] = (uint8_t)pn;
    q[n++] = type;
    q[n++] = 0x40 | (SUB_SID >> 8);
    q[n++] = SUB_SID & 0xff;
    n += frame_rest(q + n, type, offset);
    return fr_test_frame(out, n, sub_dmac, sub_smac, "198.18.2.1",
                         "198.18.2.2", 4433, 51000, 17);
}

static size_t expected_packet(uint8_t *out, const uint8_t *cid, size_t cidlen,
                              uint32_t pn)
{
    return expected_frame(out, cid, cidlen, pn, 0x0e, 1400);
}

static struct fastpath *load(void)
{
    struct fastpath *skel = fastpath__open();

    assert_non_null(skel);
    skel->rodata->upstream_dcid_len = 8;
    assert_int_equal(fastpath__load(skel), 0);
    return skel;
}

static void put_slot(struct fastpath *skel, const struct fr_fp_slot *s)
{
    uint32_t key = SLOT;

    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_slots, &key,
                                          sizeof(key), s, sizeof(*s), 0),
                     0);
}

static struct fr_fp_slot get_slot(struct fastpath *skel)
{
    struct fr_fp_slot s;
    uint32_t key = SLOT;

    assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_fp_slots, &key,
                                          sizeof(key), &s, sizeof(s), 0),
                     0);
    return s;
}

static void set_slot(struct fastpath *skel, const uint8_t *cid, size_t cidlen,
                     int active)
{
    struct fr_fp_slot s;

    memset(&s, 0, sizeof(s));
    memcpy(s.dst_mac, sub_dmac, 6);
    memcpy(s.src_mac, sub_smac, 6);
    inet_pton(AF_INET, "198.18.2.1", &s.src_ip);
    inet_pton(AF_INET, "198.18.2.2", &s.dst_ip);
    s.src_port = htons(4433);
    s.dst_port = htons(51000);
    s.active = (uint8_t)active;
    s.stream_credit = 1 << 20;
    s.max_payload = 1452;
    s.gen = 0x1234;
    s.dcid_len = (uint8_t)cidlen;
    memcpy(s.dcid, cid, cidlen);
    put_slot(skel, &s);
}

/* The upstream the copies come from (by their CID) and its stream's
 * translation for the slot. */
static void set_stream(struct fastpath *skel)
{
    struct fr_fp_substream_key k = {.slot = SLOT, .up_slot = UP_SLOT,
                                    .upstream_stream = UP_SID};
    struct fr_fp_cid_key ck = {.len = sizeof(up_cid)};
    struct fr_fp_upstream up = {.slot = UP_SLOT};
    uint64_t sub = SUB_SID;

    memcpy(ck.cid, up_cid, sizeof(up_cid));
    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_upstream_cids, &ck,
                                          sizeof(ck), &up, sizeof(up), 0),
                     0);
    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_substreams, &k,
                                          sizeof(k), &sub, sizeof(sub), 0),
                     0);
}

#define BIG_BUDGET 1000000

/* The slot's send state: next wire number, budget, key phase 1. */
static void set_tx(struct fastpath *skel, uint64_t pn, int64_t budget)
{
    struct fr_fp_tx tx = {.next_pn = pn, .budget = budget, .key_phase = 1};
    uint32_t key = SLOT;

    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_tx, &key,
                                          sizeof(key), &tx, sizeof(tx), 0),
                     0);
}

static struct fr_fp_tx get_tx(struct fastpath *skel)
{
    uint32_t key = SLOT;
    struct fr_fp_tx tx;

    assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_fp_tx, &key,
                                          sizeof(key), &tx, sizeof(tx), 0),
                     0);
    return tx;
}

static uint64_t get_pn(struct fastpath *skel)
{
    return get_tx(skel).next_pn;
}

/* Runs one packet with skb->mark; returns the verdict, output in out. */
static int run(struct fastpath *skel, uint32_t mark, const uint8_t *in,
               size_t inlen, uint8_t *out, uint32_t *outlen)
{
    struct __sk_buff ctx = {.mark = mark};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)inlen,
                .data_out = out, .data_size_out = *outlen, .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx));

    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_subscriber_egress),
                         &opts),
                     0);
    *outlen = opts.data_size_out;
    return (int)opts.retval;
}

static int on_sent(void *ctx, void *data, size_t len)
{
    struct fr_fp_sent_event *ev = ctx;

    assert_int_equal(len, sizeof(*ev));
    memcpy(ev, data, sizeof(*ev));
    return 0;
}

/* Takes every record waiting in fr_fp_sent; *ev holds the last one.
 * Returns how many there were. */
static int take_events(struct fastpath *skel, struct fr_fp_sent_event *ev)
{
    struct ring_buffer *rb = ring_buffer__new(
        bpf_map__fd(skel->maps.fr_fp_sent), on_sent, ev, NULL);
    int n;

    assert_non_null(rb);
    n = ring_buffer__consume(rb);
    ring_buffer__free(rb);
    return n;
}

/* Runs a marked copy of `in` through the program: it goes on to later
 * programs (TC_ACT_UNSPEC), rewritten into exactly `want`. */
static void assert_rewritten(struct fastpath *skel, const uint8_t *in,
                             size_t inlen, const uint8_t *want, size_t wantlen)
{
    uint8_t out[512];
    uint32_t outlen = sizeof(out);

    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     -1);
    assert_int_equal(outlen, wantlen);
    assert_memory_equal(out, want, wantlen);
}

static void rewrite_with_cid(size_t cidlen)
{
    static const uint8_t cid[20] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
                                    0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd,
                                    0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3};
    uint8_t in[512], want[512];
    size_t inlen, wantlen;
    struct fr_fp_sent_event ev;
    struct fastpath *skel = load();

    set_slot(skel, cid, cidlen, 1);
    set_stream(skel);
    set_tx(skel, 0x01020304, BIG_BUDGET);
    inlen = upstream_packet(in);
    wantlen = expected_packet(want, cid, cidlen, 0x01020304);
    assert_rewritten(skel, in, inlen, want, wantlen);
    assert_int_equal(get_pn(skel), 0x01020305);
    assert_int_equal(get_tx(skel).budget, BIG_BUDGET - (int64_t)(wantlen - 42));

    /* What the splice layer learns of it. */
    assert_int_equal(take_events(skel, &ev), 1);
    assert_int_equal(ev.pn, 0x01020304);
    assert_int_equal(ev.slot, SLOT);
    assert_int_equal(ev.gen, 0x1234);
    assert_int_equal(ev.upstream_stream, UP_SID);
    assert_int_equal(ev.up_slot, UP_SLOT);
    assert_int_equal(ev.stream, SUB_SID);
    assert_int_equal(ev.offset, 1400);
    assert_int_equal(ev.length, DATA_LEN);
    assert_int_equal(ev.fin, 0);
    assert_int_equal(ev.packet_len, wantlen - 42);
    assert_true(ev.time_ns > 0);
    fastpath__destroy(skel);
}

/* A leading ACK frame is left out; the rest is as without it. */
static void test_leading_ack_left_out(void **state)
{
    static const uint8_t cid[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    uint8_t in[512], want[512];
    size_t inlen, wantlen;
    struct fr_fp_sent_event ev;
    struct fastpath *skel;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    set_slot(skel, cid, sizeof(cid), 1);
    set_stream(skel);
    set_tx(skel, 77, BIG_BUDGET);
    inlen = upstream_packet_ack(in, 1);
    wantlen = expected_packet(want, cid, sizeof(cid), 77);
    assert_rewritten(skel, in, inlen, want, wantlen);
    assert_int_equal(take_events(skel, &ev), 1);
    assert_int_equal(ev.offset, 1400);
    assert_int_equal(ev.length, DATA_LEN);
    fastpath__destroy(skel);
}

/* A subscriber whose streams carry a header of their own (WebTransport's,
 * 2 bytes, written by userspace) gets every copy 2 bytes further into the
 * stream: the offset rewritten, or added (with the OFF bit) where the
 * upstream frame had none; the record says the same. */
static void test_stream_shift(void **state)
{
    static const uint8_t cid[8] = {0xc0, 0xc1, 0xc2, 0xc3,
                                   0xc4, 0xc5, 0xc6, 0xc7};
    static const struct {
        uint8_t up_type;
        uint16_t up_offset, sub_offset;
    } cases[] = {{0x0e, 1400, 1402}, {0x0a, 0, 2}, {0x0f, 300, 302}};
    struct fastpath *skel;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t in[512], want[512];
        size_t inlen, wantlen;
        struct fr_fp_sent_event ev;
        struct fr_fp_slot s;

        set_slot(skel, cid, sizeof(cid), 1);
        s = get_slot(skel);
        s.stream_shift = 2;
        put_slot(skel, &s);
        set_stream(skel);
        set_tx(skel, 1000 + i, BIG_BUDGET);
        inlen = upstream_frame(in, 0, cases[i].up_type, cases[i].up_offset);
        wantlen = expected_frame(want, cid, sizeof(cid), (uint32_t)(1000 + i),
                                 cases[i].up_type | 0x04, cases[i].sub_offset);
        assert_rewritten(skel, in, inlen, want, wantlen);
        assert_int_equal(take_events(skel, &ev), 1);
        assert_int_equal(ev.offset, cases[i].sub_offset);
        assert_int_equal(ev.length, DATA_LEN);
        assert_int_equal(ev.fin, cases[i].up_type & 1);
        assert_int_equal(ev.packet_len, wantlen - 42);
    }
    fastpath__destroy(skel);
}

static void test_rewrite_cid_lengths(void **state)
{
    (void)state;
    FR_TEST_REQUIRE_ROOT();
    rewrite_with_cid(0);
    rewrite_with_cid(8);
    rewrite_with_cid(12);
    rewrite_with_cid(20);
}

/* A last STREAM frame without a length field runs to the tag; FIN set. */
static void test_event_of_unsized_final_frame(void **state)
{
    static const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t in[512], out[512];
    uint32_t outlen = sizeof(out);
    size_t inlen;
    struct fr_fp_sent_event ev;
    struct fastpath *skel;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    set_slot(skel, cid, sizeof(cid), 1);
    set_stream(skel);
    set_tx(skel, 40, BIG_BUDGET);
    inlen = upstream_packet(in);
    in[42 + 1 + 8 + 2] = 0x0d; /* STREAM with OFF and FIN, no LEN */
    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     -1);
    assert_int_equal(take_events(skel, &ev), 1);
    assert_int_equal(ev.pn, 40);
    assert_int_equal(ev.offset, 1400);
    assert_int_equal(ev.length, DATA_LEN + 2); /* the old length bytes too */
    assert_int_equal(ev.fin, 1);
    fastpath__destroy(skel);
}

static void test_untouched_and_dropped(void **state)
{
    static const uint8_t cid[4] = {1, 2, 3, 4};
    uint8_t in[512], out[512];
    uint32_t outlen;
    size_t inlen;
    struct fr_fp_sent_event ev;
    struct fastpath *skel;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    inlen = upstream_packet(in);

    /* Not one of our clones: passes unchanged. */
    outlen = sizeof(out);
    assert_int_equal(run(skel, 0, in, inlen, out, &outlen), -1);
    assert_int_equal(outlen, inlen);
    assert_memory_equal(out, in, inlen);

    /* A clone for a slot that is not active: dropped. */
    set_slot(skel, cid, sizeof(cid), 0);
    outlen = sizeof(out);
    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     2 /* TC_ACT_SHOT */);

    /* Active, but the stream has no subscriber stream: dropped, and the
     * packet number is not spent. */
    set_slot(skel, cid, sizeof(cid), 1);
    set_tx(skel, 9, BIG_BUDGET);
    outlen = sizeof(out);
    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     2);
    assert_int_equal(get_pn(skel), 9);

    /* A long-header packet is never rewritten. */
    set_stream(skel);
    in[42] = 0xc0;
    outlen = sizeof(out);
    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     2);
    assert_int_equal(get_pn(skel), 9);

    /* Nothing dropped is reported as sent. */
    assert_int_equal(take_events(skel, &ev), 0);
    fastpath__destroy(skel);
}

/* The copy of in[0..inlen) is dropped with nothing spent: the packet
 * number stays `pn`, the budget `budget`, and no record is made. */
static void assert_dropped_unspent(struct fastpath *skel, const uint8_t *in,
                                   size_t inlen, uint64_t pn, int64_t budget)
{
    uint8_t out[512];
    uint32_t outlen = sizeof(out);
    struct fr_fp_sent_event ev;

    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     2);
    assert_int_equal(get_pn(skel), pn);
    assert_int_equal(get_tx(skel).budget, budget);
    assert_int_equal(take_events(skel, &ev), 0);
}

/* The copy needs its whole UDP payload of budget: one byte short and it
 * is dropped with nothing spent; exactly enough and it goes, leaving 0. */
static void test_budget(void **state)
{
    static const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t in[512], want[512];
    size_t inlen, wantlen;
    int64_t need;
    struct fr_fp_sent_event ev;
    struct fastpath *skel;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    set_slot(skel, cid, sizeof(cid), 1);
    set_stream(skel);
    inlen = upstream_packet(in);
    wantlen = expected_packet(want, cid, sizeof(cid), 5);
    need = (int64_t)(wantlen - 42);
    set_tx(skel, 5, need - 1);
    assert_dropped_unspent(skel, in, inlen, 5, need - 1);
    set_tx(skel, 5, need);
    assert_rewritten(skel, in, inlen, want, wantlen);
    assert_int_equal(get_tx(skel).budget, 0);
    assert_int_equal(take_events(skel, &ev), 1);
    assert_int_equal(ev.packet_len, need);
    fastpath__destroy(skel);
}

/* A copy reaching past its stream's flow-control credit is dropped with
 * nothing spent; a raised credit (fr_fp_credit) lets it through. */
static void test_stream_credit(void **state)
{
    static const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct fr_fp_credit_key ck = {.slot = SLOT, .stream = SUB_SID};
    uint8_t in[512], out[512];
    uint32_t outlen = sizeof(out);
    uint64_t credit = 1400 + DATA_LEN;
    size_t inlen;
    struct fr_fp_sent_event ev;
    struct fastpath *skel;
    struct fr_fp_slot s;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    set_slot(skel, cid, sizeof(cid), 1);
    /* The initial credit ends one byte short of the frame's end. */
    s = get_slot(skel);
    s.stream_credit = 1400 + DATA_LEN - 1;
    put_slot(skel, &s);
    set_stream(skel);
    set_tx(skel, 3, BIG_BUDGET);
    inlen = upstream_packet(in);
    assert_dropped_unspent(skel, in, inlen, 3, BIG_BUDGET);
    /* MAX_STREAM_DATA raised it to exactly the frame's end. */
    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_credit, &ck,
                                          sizeof(ck), &credit,
                                          sizeof(credit), 0),
                     0);
    assert_int_equal(run(skel, FR_FP_MARK_MAGIC | SLOT, in, inlen, out,
                         &outlen),
                     -1);
    assert_int_equal(get_pn(skel), 4);
    assert_int_equal(take_events(skel, &ev), 1);
    fastpath__destroy(skel);
}

/* A copy that would outgrow the subscriber path's payload size is left to
 * userspace, with nothing spent. */
static void test_too_big(void **state)
{
    static const uint8_t cid[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                    11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    uint8_t in[512], want[512];
    size_t inlen, wantlen;
    struct fastpath *skel;
    struct fr_fp_slot s;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load();
    set_slot(skel, cid, sizeof(cid), 1);
    set_stream(skel);
    set_tx(skel, 9, BIG_BUDGET);
    inlen = upstream_packet(in);
    wantlen = expected_packet(want, cid, sizeof(cid), 9);
    /* The upstream packet fits; with a 20-byte CID its copy does not. */
    s = get_slot(skel);
    s.max_payload = (uint16_t)(wantlen - 42 - 1);
    assert_true(inlen - 42 <= s.max_payload);
    put_slot(skel, &s);
    assert_dropped_unspent(skel, in, inlen, 9, BIG_BUDGET);
    /* One byte more and it goes. */
    s.max_payload = (uint16_t)(wantlen - 42);
    put_slot(skel, &s);
    assert_rewritten(skel, in, inlen, want, wantlen);
    fastpath__destroy(skel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrite_cid_lengths),
        cmocka_unit_test(test_leading_ack_left_out),
        cmocka_unit_test(test_stream_shift),
        cmocka_unit_test(test_event_of_unsized_final_frame),
        cmocka_unit_test(test_untouched_and_dropped),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_stream_credit),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
