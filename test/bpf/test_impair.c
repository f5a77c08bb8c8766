/* BPF_PROG_TEST_RUN tests of bpf/impair.bpf.c, the seeded loss program. */
#include "fr_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "impair.skel.h"
#include "impair_kern_user.h"

#define PASS TC_ACT_UNSPEC
#define DROP TC_ACT_SHOT
#define SEED 0x5eed5eed12345678ULL

enum frame_kind { FRAME_UDP4, FRAME_UDP6, FRAME_TCP4, FRAME_ARP, FRAME_KINDS };

struct frame {
    uint8_t data[128];
    uint32_t len;
};

static const uint8_t mac_a[ETH_ALEN] = {0x02, 0, 0, 0, 0, 1};
static const uint8_t mac_b[ETH_ALEN] = {0x02, 0, 0, 0, 0, 2};
static const uint8_t mac_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff};

/* Appends a header; headers are built aligned and copied in. */
static void frame_append(struct frame *f, const void *hdr, size_t len)
{
    assert_true(f->len + len <= sizeof(f->data));
    memcpy(f->data + f->len, hdr, len);
    f->len += (uint32_t)len;
}

static void put_eth(struct frame *f, const uint8_t *dst, uint16_t proto)
{
    struct ethhdr eth = {.h_proto = htons(proto)};

    memcpy(eth.h_dest, dst, ETH_ALEN);
    memcpy(eth.h_source, mac_a, ETH_ALEN);
    frame_append(f, &eth, sizeof(eth));
}

/* 198.18.0.1 -> 198.18.0.2 */
static void put_ipv4(struct frame *f, uint8_t protocol, size_t l4_len)
{
    struct iphdr ip = {.version = 4, .ihl = 5, .ttl = 64,
                       .protocol = protocol,
                       .tot_len = htons((uint16_t)(sizeof(ip) + l4_len)),
                       .saddr = htonl(0xc6120001),
                       .daddr = htonl(0xc6120002)};

    frame_append(f, &ip, sizeof(ip));
}

/* fd00::1 -> fd00::2 */
static void put_ipv6(struct frame *f, uint8_t nexthdr, size_t l4_len)
{
    struct ipv6hdr ip6 = {.version = 6, .nexthdr = nexthdr, .hop_limit = 64,
                          .payload_len = htons((uint16_t)l4_len)};

    inet_pton(AF_INET6, "fd00::1", &ip6.saddr);
    inet_pton(AF_INET6, "fd00::2", &ip6.daddr);
    frame_append(f, &ip6, sizeof(ip6));
}

static void put_udp(struct frame *f)
{
    struct udphdr udp = {.source = htons(4433), .dest = htons(4433),
                         .len = htons(sizeof(udp))};

    frame_append(f, &udp, sizeof(udp));
}

static void put_tcp_syn(struct frame *f)
{
    struct tcphdr tcp = {.source = htons(40000), .dest = htons(443),
                         .doff = sizeof(tcp) / 4, .syn = 1};

    frame_append(f, &tcp, sizeof(tcp));
}

/* ARP request: who has 198.18.0.2, tell 198.18.0.1. */
static void put_arp_request(struct frame *f)
{
    static const uint8_t sender_ip[4] = {198, 18, 0, 1};
    static const uint8_t target_ip[4] = {198, 18, 0, 2};
    static const uint8_t no_mac[ETH_ALEN];
    struct arphdr arp = {.ar_hrd = htons(ARPHRD_ETHER),
                         .ar_pro = htons(ETH_P_IP), .ar_hln = ETH_ALEN,
                         .ar_pln = 4, .ar_op = htons(ARPOP_REQUEST)};

    frame_append(f, &arp, sizeof(arp));
    frame_append(f, mac_a, ETH_ALEN);
    frame_append(f, sender_ip, sizeof(sender_ip));
    frame_append(f, no_mac, ETH_ALEN);
    frame_append(f, target_ip, sizeof(target_ip));
}

/* Builds a small frame of the given kind. The program reads no checksum,
 * so none is set. */
static void frame_build(struct frame *f, enum frame_kind kind)
{
    f->len = 0;
    switch (kind) {
    case FRAME_UDP4:
        put_eth(f, mac_b, ETH_P_IP);
        put_ipv4(f, IPPROTO_UDP, sizeof(struct udphdr));
        put_udp(f);
        break;
    case FRAME_UDP6:
        put_eth(f, mac_b, ETH_P_IPV6);
        put_ipv6(f, IPPROTO_UDP, sizeof(struct udphdr));
        put_udp(f);
        break;
    case FRAME_TCP4:
        put_eth(f, mac_b, ETH_P_IP);
        put_ipv4(f, IPPROTO_TCP, sizeof(struct tcphdr));
        put_tcp_syn(f);
        break;
    default:
        put_eth(f, mac_broadcast, ETH_P_ARP);
        put_arp_request(f);
        break;
    }
}

static int setup(void **state)
{
    struct impair *skel;

    *state = NULL;
    if (geteuid() != 0)
        return 0; /* the test body skips */
    skel = impair__open_and_load();
    if (!skel) {
        fprintf(stderr, "loading impair.bpf.o failed: %s\n", strerror(errno));
        return -1;
    }
    *state = skel;
    return 0;
}

static int teardown(void **state)
{
    impair__destroy(*state);
    return 0;
}

/* Sets the configuration and resets the counters (and so the packet index). */
static void configure(struct impair *skel, uint32_t loss_ppm, uint64_t seed,
                      uint32_t flags)
{
    const uint32_t key = 0;
    struct impair_config cfg = {.seed = seed, .loss_ppm = loss_ppm,
                                .flags = flags};
    struct impair_stats zero = {0};

    assert_int_equal(bpf_map__update_elem(skel->maps.impair_config, &key,
                                          sizeof(key), &cfg, sizeof(cfg), 0),
                     0);
    assert_int_equal(bpf_map__update_elem(skel->maps.impair_stats, &key,
                                          sizeof(key), &zero, sizeof(zero), 0),
                     0);
}

static struct impair_stats read_stats(struct impair *skel)
{
    const uint32_t key = 0;
    struct impair_stats stats;

    assert_int_equal(bpf_map__lookup_elem(skel->maps.impair_stats, &key,
                                          sizeof(key), &stats, sizeof(stats),
                                          0),
                     0);
    return stats;
}

/* Runs the program once on the frame and returns its verdict. */
static int run(struct impair *skel, const struct frame *f)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->data,
                .data_size_in = f->len);

    assert_int_equal(
        bpf_prog_test_run_opts(bpf_program__fd(skel->progs.impair), &opts), 0);
    return (int)opts.retval;
}

/* Checks the verdict for one frame of each kind and the counters after. */
static void expect_verdicts(struct impair *skel, const int want[FRAME_KINDS],
                            uint64_t seen, uint64_t dropped, uint64_t skipped)
{
    struct impair_stats stats;
    struct frame f;
    int kind;

    for (kind = 0; kind < FRAME_KINDS; kind++) {
        frame_build(&f, (enum frame_kind)kind);
        assert_int_equal(run(skel, &f), want[kind]);
    }
    stats = read_stats(skel);
    assert_int_equal(stats.seen, seen);
    assert_int_equal(stats.dropped, dropped);
    assert_int_equal(stats.skipped, skipped);
}

static void test_no_loss_passes_everything(void **state)
{
    static const int want[FRAME_KINDS] = {PASS, PASS, PASS, PASS};

    FR_TEST_REQUIRE_ROOT();
    configure(*state, 0, SEED, 0);
    expect_verdicts(*state, want, 3, 0, 1);
}

static void test_full_loss_drops_ip_but_not_arp(void **state)
{
    static const int want[FRAME_KINDS] = {DROP, DROP, DROP, PASS};

    FR_TEST_REQUIRE_ROOT();
    configure(*state, IMPAIR_PPM_MAX, SEED, 0);
    expect_verdicts(*state, want, 3, 3, 1);
}

static void test_udp_only_spares_tcp_and_arp(void **state)
{
    static const int want[FRAME_KINDS] = {DROP, DROP, PASS, PASS};

    FR_TEST_REQUIRE_ROOT();
    configure(*state, IMPAIR_PPM_MAX, SEED, IMPAIR_F_UDP_ONLY);
    expect_verdicts(*state, want, 2, 2, 2);
}

/* Runs `count` UDP packets and records which were dropped, one bit each. */
static void record_drops(struct impair *skel, uint8_t *bitmap, size_t count)
{
    struct frame f;
    size_t i;

    frame_build(&f, FRAME_UDP4);
    memset(bitmap, 0, (count + 7) / 8);
    for (i = 0; i < count; i++) {
        int verdict = run(skel, &f);

        assert_true(verdict == PASS || verdict == DROP);
        if (verdict == DROP)
            bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
    }
}

static size_t count_bits(const uint8_t *bitmap, size_t count)
{
    size_t i, n = 0;

    for (i = 0; i < count; i++)
        n += (bitmap[i / 8] >> (i % 8)) & 1;
    return n;
}

#define RATE_PACKETS 20000

static void test_drop_rate_matches_loss(void **state)
{
    static uint8_t bitmap[RATE_PACKETS / 8];
    size_t dropped;
    struct impair_stats stats;

    FR_TEST_REQUIRE_ROOT();
    configure(*state, 100000 /* 10% */, SEED, IMPAIR_F_UDP_ONLY);
    record_drops(*state, bitmap, RATE_PACKETS);
    dropped = count_bits(bitmap, RATE_PACKETS);
    stats = read_stats(*state);
    assert_int_equal(stats.seen, RATE_PACKETS);
    assert_int_equal(stats.dropped, dropped);
    /* Binomial standard deviation is 42 packets; allow 3.5 of them. */
    assert_in_range(dropped, RATE_PACKETS / 10 - 150, RATE_PACKETS / 10 + 150);
}

#define PATTERN_PACKETS 4000

static void test_same_seed_same_pattern(void **state)
{
    static uint8_t first[PATTERN_PACKETS / 8], again[PATTERN_PACKETS / 8],
        expected[PATTERN_PACKETS / 8], other_seed[PATTERN_PACKETS / 8];
    const uint32_t loss_ppm = 100000;
    size_t i;

    FR_TEST_REQUIRE_ROOT();
    configure(*state, loss_ppm, SEED, 0);
    record_drops(*state, first, PATTERN_PACKETS);
    configure(*state, loss_ppm, SEED, 0);
    record_drops(*state, again, PATTERN_PACKETS);
    assert_memory_equal(first, again, sizeof(first));

    /* The kernel follows the shared reference decision exactly. */
    memset(expected, 0, sizeof(expected));
    for (i = 0; i < PATTERN_PACKETS; i++)
        if (impair_drop(SEED, i, loss_ppm))
            expected[i / 8] |= (uint8_t)(1u << (i % 8));
    assert_memory_equal(first, expected, sizeof(first));

    configure(*state, loss_ppm, SEED + 1, 0);
    record_drops(*state, other_seed, PATTERN_PACKETS);
    assert_memory_not_equal(first, other_seed, sizeof(first));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_loss_passes_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_loss_drops_ip_but_not_arp,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_only_spares_tcp_and_arp,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_rate_matches_loss, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_seed_same_pattern, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
