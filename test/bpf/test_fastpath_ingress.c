/*
 * The upstream-ingress program on real packets: a cleartext MoQT session
 * in virtual time publishes subgroups; every datagram the publisher sent
 * is run through the program with BPF_PROG_TEST_RUN, and the streams it
 * recorded must be exactly the subgroups the subscriber session saw.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fastrelay/fastrelay.h>

#include "fastpath.skel.h"
#include "../../lib/fastpath/kernel.h"
#include "fastpath_kern_user.h"
#include "moq_pair.h"
#include "packet.h"

#define ALIAS 300              /* a 2-byte draft-18 varint */
#define FIRST_GROUP 70000      /* 3-byte varints */
#define GROUPS 5
#define DELTAS 5
#define MAX_DGRAMS 4096
#define MAX_SUBGROUPS 64

typedef struct seen_subgroup {
    uint64_t group, subgroup;
    uint8_t priority;
} seen_subgroup;

static struct {
    /* Publisher. */
    fr_moq_pub *pub;
    /* Subscriber. */
    int sub_ok;
    int objects;
    seen_subgroup subgroups[MAX_SUBGROUPS];
    int nsubgroups;
    /* Our (the subscriber's) connection IDs. */
    uint8_t cids[16][FR_CID_MAX_LEN];
    size_t cidlen[16];
    int ncids;
    /* What the publisher put on the wire. */
    uint8_t *dgrams[MAX_DGRAMS];
    size_t dlen[MAX_DGRAMS];
    int ndgrams;
} C;

static fr_moq_pair P;

static void on_subscribe(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, const fr_moq_sub_params *p,
                         void *ud)
{
    fr_moq_track_info info = {.track_alias = ALIAS,
                              .group_order = FR_MOQ_ORDER_ASCENDING,
                              .publisher_priority = 128};

    (void)name;
    (void)p;
    (void)ud;
    assert_int_equal(fr_moq_accept_subscribe(s, req, &info, &C.pub, NULL), 0);
}

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    (void)sub;
    (void)ud;
    assert_int_equal(info->track_alias, ALIAS);
    C.sub_ok = 1;
}

static void on_subgroup_begin(fr_moq_sub *sub, uint64_t stream,
                              const fr_moq_subgroup_info *info, void *ud)
{
    (void)sub;
    (void)stream;
    (void)ud;
    assert_true(C.nsubgroups < MAX_SUBGROUPS);
    C.subgroups[C.nsubgroups++] = (seen_subgroup){
        info->group, info->subgroup, info->publisher_priority};
}

static void on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                      const fr_moq_object *obj, void *ud)
{
    (void)sub;
    (void)f;
    (void)obj;
    (void)ud;
    C.objects++;
}

static const fr_moq_callbacks cb = {
    .subscribe = on_subscribe,
    .sub_ok = on_sub_ok,
    .subgroup_begin = on_subgroup_begin,
    .object = on_object,
};

static void on_cid(fr_quic_conn *conn, fr_cid_event ev, const uint8_t *cid,
                   size_t len, void *ud)
{
    (void)conn;
    (void)ud;
    if (ev != FR_CID_LOCAL_ISSUED || C.ncids == 16)
        return;
    memcpy(C.cids[C.ncids], cid, len);
    C.cidlen[C.ncids++] = len;
}

static void client_quic(fr_quic_callbacks *qcb, fr_quic_settings *s)
{
    (void)s;
    qcb->cid_changed = on_cid;
}

static void tap(int from_client, const uint8_t *data, size_t len, void *arg)
{
    (void)arg;
    if (from_client || C.ndgrams == MAX_DGRAMS)
        return;
    C.dgrams[C.ndgrams] = malloc(len);
    memcpy(C.dgrams[C.ndgrams], data, len);
    C.dlen[C.ndgrams++] = len;
}

static int subscribed(void *a)
{
    (void)a;
    return C.sub_ok;
}

static int all_objects(void *a)
{
    (void)a;
    return C.objects == GROUPS * (1 + DELTAS);
}

static int session_ready(void *a)
{
    (void)a;
    return P.cs && fr_moq_session_is_ready(P.cs) && P.ss;
}

static void publish(void)
{
    uint8_t payload[1500];

    memset(payload, 0x5a, sizeof(payload));
    for (uint64_t g = FIRST_GROUP; g < FIRST_GROUP + GROUPS; g++) {
        fr_moq_subgroup_info key = {.group = g, .subgroup = 0,
                                    .publisher_priority = 0,
                                    .first_object = 1};
        fr_moq_subgroup_info delta = {.group = g, .subgroup = 1,
                                      .publisher_priority = 128,
                                      .end_of_group = 1, .first_object = 1};
        fr_moq_subgroup *sg;

        assert_int_equal(fr_moq_pub_open_subgroup(C.pub, &key, &sg), 0);
        assert_int_equal(fr_moq_subgroup_write(sg, 0, payload, 1400), 0);
        assert_int_equal(fr_moq_subgroup_close(sg), 0);
        assert_int_equal(fr_moq_pub_open_subgroup(C.pub, &delta, &sg), 0);
        for (uint64_t o = 1; o <= DELTAS; o++)
            assert_int_equal(fr_moq_subgroup_write(sg, o, payload, 300), 0);
        assert_int_equal(fr_moq_subgroup_close(sg), 0);
        /* Let each group go out before the next, as live media would. */
        fr_sim_run(P.sim, all_objects, NULL, 50 * FR_MILLISECONDS);
    }
}

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac_b[6] = {2, 0, 0, 0, 0, 2};

static int run_packet(struct fastpath *skel, const uint8_t *data, size_t len,
                      uint8_t proto)
{
    uint8_t buf[2048];
    size_t n;

    memcpy(buf + FR_TEST_L4_OFFSET, data, len);
    n = fr_test_frame(buf, len, mac_a, mac_b, "198.18.0.2", "198.18.0.1",
                      4433, 5000, proto);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = n);

    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_upstream_ingress),
                         &opts),
                     0);
    return (int)opts.retval;
}

static uint64_t reason(struct fastpath *skel, uint32_t r)
{
    uint64_t n;

    assert_int_equal(fr_fp_percpu_sum(skel->maps.fr_fp_reasons, r, &n), 0);
    return n;
}

static int count_streams(struct fastpath *skel)
{
    struct fr_fp_stream_key k, next;
    struct fr_fp_stream st;
    int n = 0, fd = bpf_map__fd(skel->maps.fr_fp_streams);
    void *prev = NULL;

    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        int found = 0;
        assert_int_equal(bpf_map_lookup_elem(fd, &next, &st), 0);
        assert_int_equal(next.slot, 7);
        assert_int_equal(st.track_alias, ALIAS);
        for (int i = 0; i < C.nsubgroups; i++)
            found |= C.subgroups[i].group == st.group &&
                     C.subgroups[i].subgroup == st.subgroup &&
                     (!st.has_priority ||
                      C.subgroups[i].priority == st.priority);
        assert_true(found);
        /* Key frames carry their priority (0); deltas inherit the track's
         * (applied at fan-out, from the track's subscriber list). */
        assert_int_equal(st.has_priority, st.subgroup == 0);
        k = next;
        prev = &k;
        n++;
    }
    return n;
}

static void test_ingress_records_subgroups(void **state)
{
    struct fastpath *skel;
    fr_moq_name name;
    fr_moq_sub *sub;
    uint32_t slot_key_count = 0;
    int recorded;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    memset(&C, 0, sizeof(C));
    fr_moq_pair_setup(&P, &cb, NULL, FR_CRYPTO_CLEARTEXT, 0, client_quic);
    fr_sim_set_tap(P.sim, tap, NULL);
    assert_true(fr_sim_run(P.sim, session_ready, NULL, 5 * FR_SECONDS));
    assert_int_equal(fr_moq_name_set(&name, "live", "video"), 0);
    assert_int_equal(fr_moq_subscribe(P.cs, &name, NULL, &sub, NULL), 0);
    assert_true(fr_sim_run(P.sim, subscribed, NULL, 5 * FR_SECONDS));
    publish();
    assert_true(fr_sim_run(P.sim, all_objects, NULL, 5 * FR_SECONDS));
    assert_int_equal(C.nsubgroups, 2 * GROUPS);
    assert_true(C.ncids >= 1);

    skel = fastpath__open();
    assert_non_null(skel);
    skel->rodata->upstream_dcid_len = (uint8_t)C.cidlen[0];
    assert_int_equal(fastpath__load(skel), 0);

    /* Unregistered connection: nothing is recorded. */
    for (int i = 0; i < C.ndgrams; i++)
        assert_int_equal(run_packet(skel, C.dgrams[i], C.dlen[i], 17), -1);
    assert_int_equal(count_streams(skel), 0);
    assert_true(reason(skel, FR_FP_UNKNOWN_CID) > 0);

    for (int i = 0; i < C.ncids; i++) {
        struct fr_fp_cid_key k = {.len = (uint8_t)C.cidlen[i]};
        struct fr_fp_upstream up = {.slot = 7};
        memcpy(k.cid, C.cids[i], C.cidlen[i]);
        assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_upstream_cids,
                                              &k, sizeof(k), &up, sizeof(up),
                                              0),
                         0);
        slot_key_count++;
    }
    for (int i = 0; i < C.ndgrams; i++)
        /* Every packet goes on up to the stack. */
        assert_int_equal(run_packet(skel, C.dgrams[i], C.dlen[i], 17), -1);
    /* Each recorded stream is a subgroup the subscriber saw, with the same
     * group, subgroup and priority; ACK frames in front of a stream's first
     * bytes do not hide it. */
    recorded = count_streams(skel);
    assert_int_equal(reason(skel, FR_FP_NEW_SUBGROUP), (uint64_t)recorded);
    assert_int_equal(recorded, 2 * GROUPS);
    assert_true(reason(skel, FR_FP_FORWARDABLE) > 0);
    /* ngtcp2 splits some headers across packets; they are still found. */
    assert_true(reason(skel, FR_FP_SPLIT_HEADER) > 0);
    assert_true(reason(skel, FR_FP_LONG_HEADER) > 0);
    assert_int_equal(reason(skel, FR_FP_MALFORMED), 0);
    assert_int_equal(reason(skel, FR_FP_SEEN), 2 * (uint64_t)C.ndgrams);

    /* Not UDP: untouched and counted. */
    assert_int_equal(run_packet(skel, C.dgrams[0], C.dlen[0], 6), -1);
    assert_true(reason(skel, FR_FP_NOT_QUIC) >= 1);
    fprintf(stderr,
            "ingress: %d datagrams, %u CIDs, %d of %d subgroups recorded "
            "(%llu split across packets), %llu forwardable, %llu after "
            "leaving out a leading ACK, %llu with several streams or "
            "misplaced ACKs, %llu with other frames, %llu handshake\n",
            C.ndgrams, slot_key_count, recorded, C.nsubgroups,
            (unsigned long long)reason(skel, FR_FP_SPLIT_HEADER),
            (unsigned long long)reason(skel, FR_FP_FORWARDABLE),
            (unsigned long long)reason(skel, FR_FP_LEADING_ACK),
            (unsigned long long)(reason(skel, FR_FP_MULTI_STREAM) +
                                 reason(skel, FR_FP_NEEDS_ACK_STRIP) +
                                 reason(skel, FR_FP_MEDIA_NOT_FIRST)),
            (unsigned long long)(reason(skel, FR_FP_UNKNOWN_FRAME) +
                                 reason(skel, FR_FP_NOT_MEDIA)),
            (unsigned long long)reason(skel, FR_FP_LONG_HEADER));

    fastpath__destroy(skel);
    fr_moq_pair_teardown(&P);
    for (int i = 0; i < C.ndgrams; i++)
        free(C.dgrams[i]);
}

/* Hand-built packets: an ACK in front of a subgroup's first bytes, and
 * frames the program must not take for media. */
static void test_ingress_ack_and_other_frames(void **state)
{
    static const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* SUBGROUP_HEADER: type 0x10 (no subgroup ID, priority present), alias
     * 300 (0x812c), group 5, priority 7; then a 3-byte object. */
    static const uint8_t header[] = {0x10, 0x81, 0x2c, 0x05, 0x07,
                                     0x00, 0x03, 'a', 'b', 'c'};
    struct fr_fp_cid_key k = {.len = 8};
    struct fr_fp_upstream up = {.slot = 3};
    struct fr_fp_stream_key sk = {.slot = 3, .stream_id = 2};
    struct fr_fp_stream st;
    struct fastpath *skel;
    uint8_t pkt[128];
    size_t n;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = fastpath__open();
    assert_non_null(skel);
    skel->rodata->upstream_dcid_len = 8;
    assert_int_equal(fastpath__load(skel), 0);
    memcpy(k.cid, cid, 8);
    assert_int_equal(bpf_map__update_elem(skel->maps.fr_fp_upstream_cids, &k,
                                          sizeof(k), &up, sizeof(up), 0),
                     0);

    /* Short header, 4-byte packet number, then ACK(largest 5, delay 0,
     * no more ranges, first range 0) and STREAM(id 2, LEN) at offset 0. */
    n = 0;
    pkt[n++] = 0x43;
    memcpy(pkt + n, cid, 8);
    n += 8;
    memset(pkt + n, 0, 4);
    n += 4;
    memcpy(pkt + n, (uint8_t[]){0x02, 0x05, 0x00, 0x00, 0x00}, 5);
    n += 5;
    pkt[n++] = 0x0a;
    pkt[n++] = 0x02;
    pkt[n++] = sizeof(header);
    memcpy(pkt + n, header, sizeof(header));
    n += sizeof(header);
    memset(pkt + n, 0, 16); /* the cleartext tag */
    n += 16;
    assert_int_equal(run_packet(skel, pkt, n, 17), -1);
    assert_int_equal(reason(skel, FR_FP_LEADING_ACK), 1);
    assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_fp_streams, &sk,
                                          sizeof(sk), &st, sizeof(st), 0),
                     0);
    assert_int_equal(st.track_alias, 300);
    assert_int_equal(st.group, 5);
    assert_int_equal(st.priority, 7);
    assert_int_equal(st.has_priority, 1);

    /* A MAX_DATA frame (0x10) is not media: the packet stays whole. */
    pkt[13] = 0x10;
    assert_int_equal(run_packet(skel, pkt, n, 17), -1);
    assert_int_equal(reason(skel, FR_FP_UNKNOWN_FRAME), 1);

    /* A truncated STREAM frame is malformed, never read past its end. */
    pkt[13] = 0x02;
    pkt[20] = 0x3f; /* a length past the packet */
    assert_int_equal(run_packet(skel, pkt, n, 17), -1);
    assert_int_equal(reason(skel, FR_FP_MALFORMED), 1);
    fastpath__destroy(skel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingress_records_subgroups),
        cmocka_unit_test(test_ingress_ack_and_other_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
