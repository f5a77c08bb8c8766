/*
 * Does a clone's egress program run inside the ingress program's
 * bpf_clone_redirect, on the same CPU? (The encrypted fast path opens
 * each upstream packet once into a per-CPU buffer; that buffer serves
 * every copy only if so.) Real traffic, not BPF_PROG_TEST_RUN: frames
 * sent on one end of a veth pair, in a network namespace of the test's
 * own, reach the other end's tc ingress in softirq, where
 * bpf/clone_probe.bpf.c clones each to that end's egress.
 */
#include "fr_test.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clone_probe.skel.h"
#include "packet.h"
#include "veth.h"

#define FRAMES 200

static int ifindex_a, ifindex_b;

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    return fr_test_private_veth("cpa", "cpb", &ifindex_a, &ifindex_b);
}

/* Attaches prog at ifindex's `point` (its clsact qdisc made already). */
static void attach(const struct bpf_program *prog, int ifindex,
                   enum bpf_tc_attach_point point)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));

    assert_int_equal(bpf_tc_attach(&hook, &opts), 0);
}

static uint64_t count(struct clone_probe *skel, uint32_t i)
{
    uint64_t v = 0;

    assert_int_equal(bpf_map__lookup_elem(skel->maps.fr_probe_counts, &i,
                                          sizeof(i), &v, sizeof(v), 0),
                     0);
    return v;
}

static void test_egress_inside_clone(void **state)
{
    static const uint8_t mac_a[6] = {2, 0, 0, 0, 0xc1, 1};
    static const uint8_t mac_b[6] = {2, 0, 0, 0, 0xc1, 2};
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_ifindex = 0, .sll_halen = 6};
    struct clone_probe *skel;
    uint8_t frame[256];
    size_t n;
    int fd;

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF, namespaces)");
    skel = clone_probe__open();
    assert_non_null(skel);
    skel->rodata->clone_ifindex = (uint32_t)ifindex_b;
    assert_int_equal(clone_probe__load(skel), 0);
    {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_b,
                    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

        assert_int_equal(bpf_tc_hook_create(&hook), 0);
    }
    attach(skel->progs.fr_probe_ingress, ifindex_b, BPF_TC_INGRESS);
    attach(skel->progs.fr_probe_egress, ifindex_b, BPF_TC_EGRESS);

    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    assert_true(fd >= 0);
    to.sll_ifindex = ifindex_a;
    memcpy(to.sll_addr, mac_b, 6);
    for (int i = 0; i < FRAMES; i++) {
        memset(frame + FR_TEST_L4_OFFSET, i, 40);
        n = fr_test_frame(frame, 40, mac_b, mac_a, "198.18.9.1",
                          "198.18.9.2", (uint16_t)(5000 + i), 4433, 17);
        assert_int_equal(sendto(fd, frame, n, 0, (struct sockaddr *)&to,
                                sizeof(to)),
                         (ssize_t)n);
    }
    /* Delivery is in softirq, soon after each send; wait a little. */
    for (int i = 0; i < 100 && count(skel, 1) + count(skel, 2) < FRAMES;
         i++)
        usleep(10000);
    print_message("clones %llu: egress inside the clone call %llu, "
                  "outside %llu\n",
                  (unsigned long long)count(skel, 0),
                  (unsigned long long)count(skel, 1),
                  (unsigned long long)count(skel, 2));
    /* The kernel's own frames (IPv6 neighbour discovery) may add a few. */
    assert_true(count(skel, 0) >= FRAMES);
    assert_int_equal(count(skel, 1), count(skel, 0));
    assert_int_equal(count(skel, 2), 0);
    close(fd);
    clone_probe__destroy(skel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_egress_inside_clone),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
