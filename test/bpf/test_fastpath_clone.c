/*
 * Ingress fan-out to the wire, in a network namespace of the test's own
 * (veth pair fca/fcb): the upstream-ingress program runs on an upstream
 * packet (BPF_PROG_TEST_RUN) and clones it to fca once per subscriber of
 * its track; the subscriber-egress program attached to fca rewrites each
 * clone; what arrives on fcb must be, byte for byte, each subscriber's
 * packet (an ACK in front of the media left out), and userspace must
 * hear of each copy. A subscriber whose stream-ID pool is empty, or who
 * joined after the stream began, gets no copy and is counted; one that
 * left gets none. Everything is set up through lib/fastpath/kernel, the
 * module that owns the maps. In tls mode the upstream packet is sealed
 * with the origin's keys and each copy must be exactly what GnuTLS seals
 * with the subscriber's keys of its key phase (and open to the expected
 * plaintext); a tampered tag or header is never forwarded, and counted.
 * The original always leaves the ingress program as it came.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fastrelay/error.h>

#include "../../lib/fastpath/kernel.h"
#include "fastpath.skel.h"
#include "packet.h"
#include "short_protect.h"
#include "veth.h"

#define ALIAS 3
#define UP_SID 7
#define NSUBS 3
#define PAYLOAD 60

/* Stream IDs in each subscriber's pool; the last pool is empty. */
static const uint64_t sub_sid[NSUBS] = {70, 3, 0};
static const uint8_t up_cid[8] = {0xa0, 0xa1, 0xa2, 0xa3,
                                  0xa4, 0xa5, 0xa6, 0xa7};
static const uint8_t up_mac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t relay_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t sub_mac[6] = {2, 0, 0, 0, 0xcc, 1};

static int ifindex_a, ifindex_b;
/* The subgroup header's priority byte (-1: none, the track's default
 * applies) and the track's default publisher priority. */
static int header_priority = 0x80;
static uint8_t track_default = 128;
/* The alias the subscribers know the track by: the kernel writes it over
 * ALIAS in the subgroup headers it forwards, when they differ. */
static uint64_t down_alias = ALIAS;
/* tls mode, and the key phase the subscribers' copies go out in. */
static int tls;
static int key_phase;

/* The origin's keys (the upstream slot's) and each subscriber's, for
 * both key phases: made-up bytes, as the maps take any. */
static fr_packet_keys key_of(int who, int phase)
{
    fr_packet_keys k;

    for (size_t i = 0; i < sizeof(k.key); i++)
        k.key[i] = (uint8_t)(who * 41 + phase * 17 + i);
    for (size_t i = 0; i < sizeof(k.iv); i++)
        k.iv[i] = (uint8_t)(who * 13 + phase * 5 + 3 * i);
    for (size_t i = 0; i < sizeof(k.hp); i++)
        k.hp[i] = (uint8_t)(who * 7 + 11 * i);
    return k;
}

#define ORIGIN NSUBS /* key_of's `who` for the origin */

static struct fr_fp_keys map_keys(int who)
{
    struct fr_fp_keys m;

    memset(&m, 0, sizeof(m));
    for (int phase = 0; phase < 2; phase++) {
        fr_packet_keys k = key_of(who, phase);

        memcpy(m.hp, k.hp, sizeof(m.hp));
        memcpy(m.phase[phase].key, k.key, sizeof(k.key));
        memcpy(m.phase[phase].iv, k.iv, sizeof(k.iv));
        m.phase[phase].set = 1;
    }
    return m;
}

/* tls mode: seals the UDP payload of frame f[0..len) (a short header with
 * a CID of cidlen bytes, packet number pn) with `who`'s keys and frames
 * it again (checksums). */
static size_t seal_frame(uint8_t *f, size_t len, size_t cidlen, uint64_t pn,
                         int who, int phase, const uint8_t *dmac,
                         const uint8_t *smac, const char *src,
                         const char *dst, uint16_t sport, uint16_t dport)
{
    fr_packet_keys k = key_of(who, phase);
    size_t n = len - FR_TEST_L4_OFFSET;

    if (!tls)
        return len;
    fr_tp_seal(f + FR_TEST_L4_OFFSET, n, cidlen, pn, &k);
    return fr_test_frame(f, n, dmac, smac, src, dst, sport, dport, 17);
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    return fr_test_private_veth("fca", "fcb", &ifindex_a, &ifindex_b);
}

/* Subscriber i's connection ID: 4 + 4 * i bytes. */
static size_t sub_cid(int i, uint8_t *cid)
{
    size_t len = 4 + 4 * (size_t)i;

    for (size_t k = 0; k < len; k++)
        cid[k] = (uint8_t)(0xc0 + 16 * i + k);
    return len;
}

static uint16_t sub_port(int i)
{
    return (uint16_t)(51000 + i);
}

/* The STREAM frame's data after its type and stream ID (an OFF frame's
 * offset comes first), then the AEAD tag; the subgroup header names the
 * track by `alias` (one byte). */
static size_t frame_rest(uint8_t *p, uint64_t offset, uint8_t alias)
{
    size_t n = 0;

    if (offset) {
        p[n++] = (uint8_t)(0x40 | offset >> 8);
        p[n++] = (uint8_t)offset;
    }
    p[n++] = PAYLOAD;
    if (!offset) {
        /* SUBGROUP_HEADER: type 0x10 (subgroup 0, priority present) or
         * 0x30 (no priority), track alias, group 5, publisher priority. */
        p[n++] = header_priority < 0 ? 0x30 : 0x10;
        p[n++] = alias;
        p[n++] = 5;
        if (header_priority >= 0)
            p[n++] = (uint8_t)header_priority;
    }
    for (; n < PAYLOAD + 1u + (offset ? 2u : 0u); n++)
        p[n] = (uint8_t)(n * 7);
    memset(p + n, 0, 16);
    return n + 16;
}

static uint8_t frame_type(uint64_t offset)
{
    return offset ? 0x0e : 0x0a; /* STREAM with LEN, and OFF if not 0 */
}

/* The stream's packet at `offset`; with `ack`, an ACK frame (for the
 * relay's own packets) comes first. */
static size_t upstream_packet(uint8_t *out, uint64_t offset, int ack)
{
    static const uint8_t ack_frame[] = {0x02, 0x05, 0x00, 0x00, 0x00};
    uint8_t *q = out + FR_TEST_L4_OFFSET;
    size_t n = 0;

    q[n++] = 0x41; /* short header, 2-byte packet number */
    memcpy(q + n, up_cid, sizeof(up_cid));
    n += sizeof(up_cid);
    q[n++] = 0x12;
    q[n++] = 0x34;
    if (ack) {
        memcpy(q + n, ack_frame, sizeof(ack_frame));
        n += sizeof(ack_frame);
    }
    q[n++] = frame_type(offset);
    q[n++] = UP_SID;
    n += frame_rest(q + n, offset, ALIAS);
    n = fr_test_frame(out, n, relay_mac, up_mac, "198.18.1.1", "198.18.1.2",
                      4433, 4433, 17);
    return seal_frame(out, n, sizeof(up_cid), 0x1234, ORIGIN, 0, relay_mac,
                      up_mac, "198.18.1.1", "198.18.1.2", 4433, 4433);
}

/* The stream's packet at offset 300 with a second STREAM frame of the
 * same stream (offset 360) before the tag. */
static size_t two_frame_packet(uint8_t *out)
{
    size_t udp = upstream_packet(out, 300, 0) - FR_TEST_L4_OFFSET;
    uint8_t *q = out + FR_TEST_L4_OFFSET + udp - 16;
    size_t n = 0;

    q[n++] = 0x0e;
    q[n++] = UP_SID;
    q[n++] = 0x41; /* offset 360 */
    q[n++] = 0x68;
    q[n++] = PAYLOAD;
    memset(q + n, 0x5a, PAYLOAD);
    n += PAYLOAD;
    memset(q + n, 0, 16);
    return fr_test_frame(out, udp + n, relay_mac, up_mac, "198.18.1.1",
                         "198.18.1.2", 4433, 4433, 17);
}

static size_t expected_packet(uint8_t *out, int i, uint32_t pn,
                              uint64_t offset)
{
    uint8_t *q = out + FR_TEST_L4_OFFSET;
    size_t n = 0;

    q[n++] = (uint8_t)(0x40 | key_phase << 2 | 0x03); /* 4-byte number */
    n += sub_cid(i, q + n);
    q[n++] = (uint8_t)(pn >> 24);
    q[n++] = (uint8_t)(pn >> 16);
    q[n++] = (uint8_t)(pn >> 8);
    q[n++] = (uint8_t)pn;
    q[n++] = frame_type(offset);
    if (sub_sid[i] < 64) {
        q[n++] = (uint8_t)sub_sid[i];
    } else {
        q[n++] = (uint8_t)(0x40 | sub_sid[i] >> 8);
        q[n++] = (uint8_t)sub_sid[i];
    }
    n += frame_rest(q + n, offset, (uint8_t)down_alias);
    return fr_test_frame(out, n, sub_mac, relay_mac, "198.18.2.1",
                         "198.18.2.2", 4433, sub_port(i), 17);
}

/* expected_packet as it goes on the wire: sealed in tls mode. */
static size_t expected_wire(uint8_t *out, int i, uint32_t pn, uint64_t offset)
{
    uint8_t cid[FR_FP_CID_MAX];
    size_t n = expected_packet(out, i, pn, offset);

    return seal_frame(out, n, sub_cid(i, cid), pn, i, key_phase, sub_mac,
                      relay_mac, "198.18.2.1", "198.18.2.2", 4433,
                      sub_port(i));
}

static uint32_t up_slot, sub_slot[NSUBS];

/* One upstream connection whose track ALIAS has NSUBS subscribers, set up
 * through the module that owns the maps. The first subscriber's slot was
 * held and freed before (its generation is 1). */
/* The slot of subscriber `i` (its port and CID), active, with room. */
static void subscriber_slot(struct fr_fp_slot *s, int i)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->dst_mac, sub_mac, 6);
    memcpy(s->src_mac, relay_mac, 6);
    inet_pton(AF_INET, "198.18.2.1", &s->src_ip);
    inet_pton(AF_INET, "198.18.2.2", &s->dst_ip);
    s->src_port = htons(4433);
    s->dst_port = htons(sub_port(i));
    s->ifindex = (uint32_t)ifindex_a;
    s->active = 1;
    s->stream_credit = 1 << 20;
    s->priority_floor = 255;
    s->max_payload = 1452;
    s->dcid_len = (uint8_t)sub_cid(i, s->dcid);
}

static void configure(fr_fp_kernel *k)
{
    uint32_t up, before;
    struct fr_fp_keys keys = map_keys(ORIGIN);

    assert_int_equal(fr_fp_kernel_slot_alloc(k, &up_slot), 0);
    up = up_slot;
    if (tls)
        assert_int_equal(fr_fp_kernel_keys_set(k, up, &keys), 0);
    assert_int_equal(fr_fp_kernel_upstream_cid_add(k, up, up_cid,
                                                   sizeof(up_cid)),
                     0);
    assert_int_equal(fr_fp_kernel_slot_alloc(k, &before), 0);
    fr_fp_kernel_slot_free(k, before);
    for (int i = 0; i < NSUBS; i++) {
        struct fr_fp_slot s;

        assert_int_equal(fr_fp_kernel_slot_alloc(k, &sub_slot[i]), 0);
        subscriber_slot(&s, i);
        keys = map_keys(i);
        if (tls)
            assert_int_equal(fr_fp_kernel_keys_set(k, sub_slot[i], &keys), 0);
        assert_int_equal(fr_fp_kernel_slot_set(k, sub_slot[i], &s), 0);
        if (sub_sid[i])
            assert_int_equal(fr_fp_kernel_pool_refill(k, sub_slot[i],
                                                      &sub_sid[i], 1),
                             1);
        fr_fp_kernel_tx(k, sub_slot[i])->next_pn = 100 * (uint64_t)(i + 1);
        fr_fp_kernel_tx(k, sub_slot[i])->budget = 1000000;
        assert_int_equal(fr_fp_kernel_track_join(k, up, ALIAS, down_alias,
                                                 track_default, sub_slot[i]),
                         0);
    }
    /* Joining twice is refused. */
    assert_int_equal(fr_fp_kernel_track_join(k, up, ALIAS, down_alias,
                                             track_default, sub_slot[0]),
                     FR_ERR_INVALID_STATE);
}

/* A raw socket that sees every frame arriving on fcb. */
static int capture(void)
{
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(ETH_P_ALL),
                              .sll_ifindex = ifindex_b};
    struct timeval tv = {.tv_sec = 1};
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                     0);
    return fd;
}

/* Receives the subscribers' UDP frames (others, such as IPv6 neighbour
 * discovery, are skipped) until `want` arrived or a second passed with
 * none; each lands in got[subscriber]. Returns how many arrived. */
static int receive(int fd, uint8_t got[NSUBS][512], size_t gotlen[NSUBS],
                   int want)
{
    int n = 0;

    while (n < want) {
        uint8_t buf[512];
        ssize_t len = recv(fd, buf, sizeof(buf), 0);

        if (len < 0)
            break;
        if (len < FR_TEST_L4_OFFSET || buf[12] != 0x08 || buf[13] != 0 ||
            buf[23] != 17)
            continue;
        for (int i = 0; i < NSUBS; i++) {
            if (((uint16_t)buf[36] << 8 | buf[37]) == sub_port(i)) {
                memcpy(got[i], buf, (size_t)len);
                gotlen[i] = (size_t)len;
                n++;
            }
        }
    }
    return n;
}

/* Runs the ingress program on one packet: the original must go on up
 * as it came (in tls mode it was opened and written over meanwhile). */
static void run_ingress(struct fastpath *skel, const uint8_t *in, size_t len)
{
    uint8_t out[512];
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
                .data_size_in = (uint32_t)len, .data_out = out,
                .data_size_out = sizeof(out));

    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_upstream_ingress),
                         &opts),
                     0);
    assert_int_equal((int)opts.retval, -1 /* TC_ACT_UNSPEC: original goes on */);
    assert_int_equal(opts.data_size_out, len);
    assert_memory_equal(out, in, len);
}

static uint64_t reason(struct fastpath *skel, uint32_t r)
{
    uint64_t n;

    assert_int_equal(fr_fp_percpu_sum(skel->maps.fr_fp_reasons, r, &n), 0);
    return n;
}

/* Sends one upstream packet at `offset` (behind an ACK frame if `ack`)
 * and checks that each subscriber with a stream got exactly its packet,
 * numbered 100 * (i + 1) + pn_step and without any ACK, and the one
 * without got nothing. */
static void send_and_check(struct fastpath *skel, int fd, uint64_t offset,
                           uint32_t pn_step, int ack)
{
    static uint8_t got[NSUBS][512];
    size_t gotlen[NSUBS] = {0};
    uint8_t in[512], want[512];
    size_t inlen = upstream_packet(in, offset, ack);

    run_ingress(skel, in, inlen);
    assert_int_equal(receive(fd, got, gotlen, NSUBS - 1), NSUBS - 1);
    for (int i = 0; i < NSUBS; i++) {
        size_t wantlen;

        if (!sub_sid[i]) {
            assert_int_equal(gotlen[i], 0);
            continue;
        }
        wantlen = expected_wire(want, i, 100 * (uint32_t)(i + 1) + pn_step,
                                offset);
        assert_int_equal(gotlen[i], wantlen);
        assert_memory_equal(got[i], want, wantlen);
        if (tls) {
            /* As the subscriber opens it: the expected plaintext. */
            fr_packet_keys key = key_of(i, key_phase);
            uint8_t plain[512], cid[FR_FP_CID_MAX];
            size_t cidlen = sub_cid(i, cid);
            fr_tp_opened o;

            wantlen = expected_packet(want, i,
                                      100 * (uint32_t)(i + 1) + pn_step,
                                      offset);
            assert_int_equal(fr_tp_open(got[i] + FR_TEST_L4_OFFSET,
                                        gotlen[i] - FR_TEST_L4_OFFSET,
                                        cidlen, &key, plain, &o),
                             0);
            assert_int_equal(o.key_phase, key_phase);
            assert_int_equal(o.hdr_len, 1 + cidlen + 4);
            assert_int_equal(o.len, wantlen - FR_TEST_L4_OFFSET - o.hdr_len -
                                        16);
            assert_memory_equal(plain, want + FR_TEST_L4_OFFSET + o.hdr_len,
                                o.len);
        }
    }
}

static void on_sent(const struct fr_fp_sent_event *ev, void *user_data)
{
    struct fr_fp_sent_event *events = user_data;

    for (int i = 0; i < NSUBS; i++)
        if (ev->slot == sub_slot[i])
            events[i] = *ev;
}

/* Loads the programs (subscriber side attached) with configure()'s
 * subscribers and opens a capture of their copies. */
static fr_fp_kernel *open_configured(int *fd)
{
    fr_fp_kernel *k;
    char why[256] = "";

    if (fr_fp_kernel_open(&k, sizeof(up_cid), tls, why, sizeof(why)) ||
        fr_fp_kernel_attach(k, ifindex_a, FR_FP_ROLE_SUBSCRIBERS,
                            FR_FP_ATTACH_AUTO, why, sizeof(why)))
        fail_msg("fast path: %s", why);
    configure(k);
    *fd = capture();
    return k;
}

static void test_clone_to_each_subscriber(void **state)
{
    struct fr_fp_sent_event events[NSUBS];
    struct fastpath *skel;
    fr_fp_kernel *k;
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    k = open_configured(&fd);
    skel = fr_fp_kernel_skeleton(k);

    /* The stream's first packet: the first two subscribers take a stream
     * from their pools; the third has none and misses it. */
    send_and_check(skel, fd, 0, 0, 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 2);
    assert_int_equal(reason(skel, FR_FP_NO_SUBSTREAM), 1);
    assert_int_equal(fr_fp_kernel_pool_level(k, sub_slot[0]), 0);

    /* Userspace learns of both copies. */
    memset(events, 0, sizeof(events));
    assert_int_equal(fr_fp_kernel_poll_sent(k, on_sent, events), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(events[i].pn, 100 * (i + 1));
        assert_int_equal(events[i].stream, sub_sid[i]);
        assert_int_equal(events[i].upstream_stream, UP_SID);
        assert_int_equal(events[i].offset, 0);
        assert_int_equal(events[i].length, PAYLOAD);
        /* Made for the slot's present holder, not a previous one. */
        assert_int_equal(events[i].gen,
                         fr_fp_kernel_slot_gen(k, sub_slot[i]));
    }
    assert_int_equal(fr_fp_kernel_slot_gen(k, sub_slot[0]), 1);

    /* Its next packet goes on the same streams, each subscriber's packet
     * number one further; the third still has no stream for it, even
     * with a refilled pool (the stream's start went to userspace). */
    {
        const uint64_t id = 11;

        assert_int_equal(fr_fp_kernel_pool_refill(k, sub_slot[2], &id, 1), 1);
    }
    send_and_check(skel, fd, 300, 1, 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 4);
    assert_int_equal(reason(skel, FR_FP_NO_SUBSTREAM), 2);
    assert_int_equal(fr_fp_kernel_pool_level(k, sub_slot[2]), 1);

    /* Two STREAM frames in one packet: the egress would translate only the
     * first one's stream ID, so the packet is left to userspace. */
    {
        static uint8_t got[NSUBS][512];
        size_t gotlen[NSUBS] = {0};
        uint8_t in[512];
        size_t inlen = two_frame_packet(in);

        run_ingress(skel, in, inlen);
        assert_int_equal(reason(skel, FR_FP_MULTI_STREAM), 1);
        assert_int_equal(receive(fd, got, gotlen, 1), 0);
        assert_int_equal(reason(skel, FR_FP_CLONES), 4);
    }

    /* Media behind a leading ACK: forwarded, the ACK left out. */
    send_and_check(skel, fd, 360, 2, 1);
    assert_int_equal(reason(skel, FR_FP_LEADING_ACK), 1);
    assert_int_equal(reason(skel, FR_FP_CLONES), 6);

    /* A subscriber that leaves gets no more copies. */
    assert_int_equal(fr_fp_kernel_track_leave(k, up_slot, ALIAS, sub_slot[1]), 0);
    {
        static uint8_t got[NSUBS][512];
        size_t gotlen[NSUBS] = {0};
        uint8_t in[512];
        size_t inlen = upstream_packet(in, 400, 0);

        run_ingress(skel, in, inlen);
        assert_int_equal(receive(fd, got, gotlen, 2), 1);
        assert_int_not_equal(gotlen[0], 0);
        assert_int_equal(gotlen[1], 0);
    }

    /* Freeing its slot forgets its stream translations and pool, and the
     * slot is handed out again. */
    {
        struct fr_fp_substream_key sk = {.slot = sub_slot[1],
                                         .up_slot = up_slot,
                                         .upstream_stream = UP_SID};
        uint64_t sid;
        uint32_t again;

        assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_fp_substreams,
                                              &sk, sizeof(sk), &sid,
                                              sizeof(sid), 0),
                         0);
        assert_int_equal(fr_fp_kernel_pool_refill(k, sub_slot[1],
                                                  (uint64_t[]){7, 11}, 2),
                         2);
        fr_fp_kernel_slot_free(k, sub_slot[1]);
        assert_int_not_equal(bpf_map__lookup_elem(skel->maps.fr_fp_substreams,
                                                  &sk, sizeof(sk), &sid,
                                                  sizeof(sid), 0),
                             0);
        assert_int_equal(fr_fp_kernel_slot_alloc(k, &again), 0);
        assert_int_equal(again, sub_slot[1]);
        assert_int_equal(fr_fp_kernel_pool_level(k, again), 0);
        assert_int_equal(fr_fp_kernel_tx(k, again)->next_pn, 0);
        assert_int_equal(fr_fp_kernel_tx(k, again)->budget, 0);
    }

    close(fd);
    fr_fp_kernel_close(k);
}

/* Who serves a stream to a subscriber is decided once: userspace claims
 * the stream for the first subscriber before its first packet, so the
 * kernel leaves it (and its pool) alone and serves the second; the second
 * one's claim finds the kernel's stream. Once userspace forgets the
 * stream, the kernel sends no more of it. */
static void test_userspace_claim(void **state)
{
    static uint8_t got[NSUBS][512];
    size_t gotlen[NSUBS] = {0};
    struct fastpath *skel;
    fr_fp_kernel *k;
    uint8_t in[512];
    uint64_t sid = 0;
    int fd, late = -1;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    k = open_configured(&fd);
    skel = fr_fp_kernel_skeleton(k);
    assert_int_equal(fr_fp_kernel_substream_claim(k, sub_slot[0], up_slot,
                                                  UP_SID, &sid, &late),
                     1);
    assert_int_equal(late, 0);
    run_ingress(skel, in, upstream_packet(in, 0, 0));
    assert_int_equal(receive(fd, got, gotlen, 2), 1);
    assert_int_equal(gotlen[0], 0);
    assert_int_not_equal(gotlen[1], 0);
    assert_int_equal(fr_fp_kernel_pool_level(k, sub_slot[0]), 1);
    /* Asked again, the answer stands. */
    assert_int_equal(fr_fp_kernel_substream_claim(k, sub_slot[0], up_slot,
                                                  UP_SID, &sid, &late),
                     1);
    assert_int_equal(fr_fp_kernel_substream_claim(k, sub_slot[1], up_slot,
                                                  UP_SID, &sid, &late),
                     0);
    assert_int_equal(sid, sub_sid[1]);
    assert_int_equal(late, 0);

    fr_fp_kernel_substream_forget(k, sub_slot[1], up_slot, UP_SID);
    run_ingress(skel, in, upstream_packet(in, 300, 0));
    memset(gotlen, 0, sizeof(gotlen));
    assert_int_equal(receive(fd, got, gotlen, 1), 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 1);
    close(fd);
    fr_fp_kernel_close(k);
}

/* open_configured, the first subscriber with priority floor 127. */
static fr_fp_kernel *open_floor_127(int *fd)
{
    fr_fp_kernel *k = open_configured(fd);
    struct fastpath *skel = fr_fp_kernel_skeleton(k);
    struct fr_fp_slot s;

    assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_fp_slots,
                                          &sub_slot[0], sizeof(sub_slot[0]),
                                          &s, sizeof(s), 0),
                     0);
    s.priority_floor = 127;
    assert_int_equal(fr_fp_kernel_slot_set(k, sub_slot[0], &s), 0);
    return k;
}

/* A subscriber whose priority floor excludes the subgroup (publisher
 * priority 128) gets no stream for it at its start, so none of its
 * packets, and its pool keeps the ID; the others are not affected. */
static void test_policy_floor(void **state)
{
    static uint8_t got[NSUBS][512];
    size_t gotlen[NSUBS] = {0};
    struct fastpath *skel;
    fr_fp_kernel *k;
    uint8_t in[512];
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    k = open_floor_127(&fd);
    skel = fr_fp_kernel_skeleton(k);
    run_ingress(skel, in, upstream_packet(in, 0, 0));
    assert_int_equal(receive(fd, got, gotlen, 2), 1);
    assert_int_equal(gotlen[0], 0);
    assert_int_not_equal(gotlen[1], 0);
    assert_int_equal(reason(skel, FR_FP_POLICY_DROP), 1);
    assert_int_equal(fr_fp_kernel_pool_level(k, sub_slot[0]), 1);

    run_ingress(skel, in, upstream_packet(in, 300, 0));
    memset(gotlen, 0, sizeof(gotlen));
    assert_int_equal(receive(fd, got, gotlen, 2), 1);
    assert_int_equal(gotlen[0], 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 2);
    close(fd);
    fr_fp_kernel_close(k);
}

/* A subgroup header without a priority has the track's default: with a
 * default of 200 the subscriber whose floor is 127 gets no stream for it,
 * with 100 it does. */
static void test_policy_track_default(void **state)
{
    static const uint8_t defaults[2] = {200, 100};

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    header_priority = -1;
    for (int round = 0; round < 2; round++) {
        static uint8_t got[NSUBS][512];
        size_t gotlen[NSUBS] = {0};
        struct fastpath *skel;
        fr_fp_kernel *k;
        uint8_t in[512];
        int fd;

        track_default = defaults[round];
        k = open_floor_127(&fd);
        skel = fr_fp_kernel_skeleton(k);
        run_ingress(skel, in, upstream_packet(in, 0, 0));
        assert_int_equal(receive(fd, got, gotlen, 2), round == 0 ? 1 : 2);
        assert_int_not_equal(gotlen[1], 0);
        if (round == 0) {
            assert_int_equal(gotlen[0], 0);
            assert_int_equal(reason(skel, FR_FP_POLICY_DROP), 1);
        } else {
            assert_int_not_equal(gotlen[0], 0);
            assert_int_equal(reason(skel, FR_FP_POLICY_DROP), 0);
        }
        close(fd);
        fr_fp_kernel_close(k);
    }
    header_priority = 0x80;
    track_default = 128;
}

/* A track's list spans pages of FR_FP_MAX_FANOUT (255) subscribers: the
 * program copies to the subscribers of every page, here 3 + 300 over two
 * pages (the third of configure's has no stream and gets none); the list
 * is full at FR_FP_TRACK_PAGES pages. */
#define MORE_SUBS 300
static void test_track_pages(void **state)
{
    struct fastpath *skel;
    fr_fp_kernel *k;
    uint8_t in[512];
    uint32_t slot;
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    k = open_configured(&fd);
    skel = fr_fp_kernel_skeleton(k);
    for (int i = 0; i < MORE_SUBS; i++) {
        struct fr_fp_slot s;
        const uint64_t id = 3;

        assert_int_equal(fr_fp_kernel_slot_alloc(k, &slot), 0);
        subscriber_slot(&s, 0);
        assert_int_equal(fr_fp_kernel_slot_set(k, slot, &s), 0);
        assert_int_equal(fr_fp_kernel_pool_refill(k, slot, &id, 1), 1);
        fr_fp_kernel_tx(k, slot)->budget = 1000000;
        assert_int_equal(
            fr_fp_kernel_track_join(k, up_slot, ALIAS, ALIAS, track_default,
                                    slot),
            0);
    }
    run_ingress(skel, in, upstream_packet(in, 0, 0));
    assert_int_equal(reason(skel, FR_FP_CLONES), 2 + MORE_SUBS);
    assert_int_equal(reason(skel, FR_FP_NO_SUBSTREAM), 1);
    close(fd);
    /* Up to the last page, then refused (that subscriber stays on the
     * userspace path). */
    for (int i = NSUBS + MORE_SUBS;
         i < FR_FP_MAX_FANOUT * FR_FP_TRACK_PAGES; i++) {
        assert_int_equal(fr_fp_kernel_slot_alloc(k, &slot), 0);
        assert_int_equal(
            fr_fp_kernel_track_join(k, up_slot, ALIAS, ALIAS, track_default,
                                    slot),
            0);
    }
    assert_int_equal(fr_fp_kernel_slot_alloc(k, &slot), 0);
    assert_int_equal(
        fr_fp_kernel_track_join(k, up_slot, ALIAS, ALIAS, track_default,
                                slot),
        FR_ERR_LIMIT);
    /* One leaves: there is room again. */
    assert_int_equal(fr_fp_kernel_track_leave(k, up_slot, ALIAS, slot - 1),
                     0);
    assert_int_equal(
        fr_fp_kernel_track_join(k, up_slot, ALIAS, ALIAS, track_default,
                                slot),
        0);
    fr_fp_kernel_close(k);
}

/* tls mode: each copy sealed for its subscriber (CIDs of 4, 8 and 12
 * bytes) in key phase 0, then 1; behind a leading ACK too. */
/* The subscribers know the track by another alias than the upstream's
 * (the relay has another track with ALIAS): the copies of the stream's
 * start carry it, written over the upstream's in as many bytes, in both
 * modes, and the packet goes up unchanged (run_ingress checks). An alias
 * that needs more bytes than the upstream's took there cannot be written:
 * the stream is left to userspace. */
static void test_copies_carry_down_alias(void **state)
{
    static uint8_t got[NSUBS][512];
    size_t gotlen[NSUBS] = {0};
    struct fastpath *skel;
    fr_fp_kernel *k;
    uint8_t in[512];
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    for (tls = 0; tls < 2; tls++) {
        down_alias = 9;
        k = open_configured(&fd);
        skel = fr_fp_kernel_skeleton(k);
        send_and_check(skel, fd, 0, 0, 0);
        send_and_check(skel, fd, 300, 1, 0);
        assert_int_equal(reason(skel, FR_FP_CLONES), 4);
        close(fd);
        fr_fp_kernel_close(k);

        down_alias = 200;
        k = open_configured(&fd);
        skel = fr_fp_kernel_skeleton(k);
        run_ingress(skel, in, upstream_packet(in, 0, 0));
        assert_int_equal(reason(skel, FR_FP_ALIAS_TOO_LONG), 1);
        assert_int_equal(reason(skel, FR_FP_CLONES), 0);
        assert_int_equal(receive(fd, got, gotlen, 1), 0);
        close(fd);
        fr_fp_kernel_close(k);
    }
    tls = 0;
    down_alias = ALIAS;
}

static void test_tls_copies_sealed(void **state)
{
    struct fastpath *skel;
    fr_fp_kernel *k;
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    tls = 1;
    key_phase = 0;
    k = open_configured(&fd);
    skel = fr_fp_kernel_skeleton(k);
    send_and_check(skel, fd, 0, 0, 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 2);
    key_phase = 1;
    for (int i = 0; i < NSUBS; i++)
        fr_fp_kernel_tx(k, sub_slot[i])->key_phase = 1;
    send_and_check(skel, fd, 300, 1, 0);
    send_and_check(skel, fd, 360, 2, 1);
    assert_int_equal(reason(skel, FR_FP_CLONES), 6);
    assert_int_equal(reason(skel, FR_FP_OPEN_FAILED), 0);
    close(fd);
    fr_fp_kernel_close(k);
    tls = 0;
    key_phase = 0;
}

/* tls mode: a packet whose tag or protected header was changed on the way
 * is never forwarded, and counted; the intact one then is. */
static void test_tls_tampered_not_forwarded(void **state)
{
    static uint8_t got[NSUBS][512];
    size_t gotlen[NSUBS] = {0};
    uint8_t in[512];
    size_t inlen;
    struct fastpath *skel;
    fr_fp_kernel *k;
    int fd;

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    tls = 1;
    k = open_configured(&fd);
    skel = fr_fp_kernel_skeleton(k);
    inlen = upstream_packet(in, 0, 0);
    in[inlen - 1] ^= 0x01; /* the tag */
    run_ingress(skel, in, inlen);
    assert_int_equal(reason(skel, FR_FP_OPEN_FAILED), 1);
    in[inlen - 1] ^= 0x01;
    in[FR_TEST_L4_OFFSET + 1 + sizeof(up_cid)] ^= 0x40; /* packet number */
    run_ingress(skel, in, inlen);
    assert_int_equal(reason(skel, FR_FP_OPEN_FAILED), 2);
    assert_int_equal(receive(fd, got, gotlen, 1), 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 0);
    assert_int_equal(reason(skel, FR_FP_NEW_SUBGROUP), 0);
    send_and_check(skel, fd, 0, 0, 0);
    assert_int_equal(reason(skel, FR_FP_CLONES), 2);
    close(fd);
    fr_fp_kernel_close(k);
    tls = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_to_each_subscriber),
        cmocka_unit_test(test_userspace_claim),
        cmocka_unit_test(test_policy_floor),
        cmocka_unit_test(test_policy_track_default),
        cmocka_unit_test(test_track_pages),
        cmocka_unit_test(test_copies_carry_down_alias),
        cmocka_unit_test(test_tls_copies_sealed),
        cmocka_unit_test(test_tls_tampered_not_forwarded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
