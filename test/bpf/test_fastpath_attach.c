/*
 * Attaching the fast-path program and cleaning up after a crash, in a
 * network namespace of the test's own (veth pair fra/frb): tcx links
 * vanish with the process that held them; a tc filter left by a process
 * that died is found and removed by fr_fp_remove_stale.
 */
#include "fr_test.h"

#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../lib/fastpath/attach.h"
#include "fastpath.skel.h"
#include "veth.h"

#define HANDLE 0xfa57
#define PRIORITY 0xfa

static int ifindex;

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    return fr_test_private_veth("fra", "frb", &ifindex, NULL);
}

static struct fastpath *load(int egress)
{
    struct fastpath *skel = fastpath__open();

    assert_non_null(skel);
    fr_fp_set_direction(skel->progs.fr_upstream_ingress, egress);
    assert_int_equal(fastpath__load(skel), 0);
    return skel;
}

/* Programs attached to fra's ingress through tcx. */
static uint32_t tcx_count(void)
{
    uint32_t count = 0;
    LIBBPF_OPTS(bpf_prog_query_opts, q);

    if (bpf_prog_query_opts(ifindex, BPF_TCX_INGRESS, &q) == 0)
        count = q.count;
    return count;
}

static int tc_filter_present(void)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HANDLE, .priority = PRIORITY);
    libbpf_print_fn_t print = libbpf_set_print(NULL);
    int err = bpf_tc_query(&hook, &opts);

    libbpf_set_print(print);
    return err == 0;
}

/* Attaches in `mode` from a child process that then dies without
 * detaching; returns the mode the child used. */
static int attach_and_die(fr_fp_attach_mode mode)
{
    int fds[2], used = -1, status;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct fastpath *skel = load(0);
        fr_fp_attachment a;
        int m = fr_fp_attach(&a, skel->progs.fr_upstream_ingress, ifindex,
                             0, mode, HANDLE, PRIORITY, NULL, 0) == 0
                    ? (int)a.mode
                    : -1;
        (void)!write(fds[1], &m, sizeof(m));
        _exit(0); /* no detach: as if the relay crashed */
    }
    assert_int_equal(read(fds[0], &used, sizeof(used)), sizeof(used));
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    return used;
}

static void test_attach_detach(void **state)
{
    struct fastpath *skel;
    fr_fp_attachment a;
    char why[256];

    (void)state;
    FR_TEST_REQUIRE_ROOT();
    skel = load(0);
    assert_int_equal(fr_fp_attach(&a, skel->progs.fr_upstream_ingress,
                                  ifindex, 0, FR_FP_ATTACH_AUTO, HANDLE,
                                  PRIORITY, why, sizeof(why)),
                     0);
    assert_int_equal(a.mode, FR_FP_ATTACH_TCX);
    assert_int_equal(tcx_count(), 1);
    fr_fp_detach(&a);
    assert_int_equal(tcx_count(), 0);

    assert_int_equal(fr_fp_attach(&a, skel->progs.fr_upstream_ingress,
                                  ifindex, 0, FR_FP_ATTACH_TC, HANDLE,
                                  PRIORITY, why, sizeof(why)),
                     0);
    assert_true(tc_filter_present());
    /* A second instance at the same handle is refused, with a reason. */
    {
        fr_fp_attachment b;
        assert_true(fr_fp_attach(&b, skel->progs.fr_upstream_ingress,
                                 ifindex, 0, FR_FP_ATTACH_TC, HANDLE,
                                 PRIORITY, why, sizeof(why)) < 0);
        assert_non_null(strstr(why, "another instance"));
    }
    fr_fp_detach(&a);
    assert_false(tc_filter_present());
    fastpath__destroy(skel);
}

static void test_crash_leftovers(void **state)
{
    (void)state;
    FR_TEST_REQUIRE_ROOT();
    /* tcx: the link dies with its process. */
    assert_int_equal(attach_and_die(FR_FP_ATTACH_TCX), FR_FP_ATTACH_TCX);
    assert_int_equal(tcx_count(), 0);
    /* tc: the filter stays; the next start removes it. */
    assert_int_equal(attach_and_die(FR_FP_ATTACH_TC), FR_FP_ATTACH_TC);
    assert_true(tc_filter_present());
    assert_int_equal(fr_fp_remove_stale(ifindex, 0, HANDLE, PRIORITY), 1);
    assert_false(tc_filter_present());
    assert_int_equal(fr_fp_remove_stale(ifindex, 0, HANDLE, PRIORITY), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_detach),
        cmocka_unit_test(test_crash_leftovers),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
