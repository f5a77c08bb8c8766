/* Attaching tc BPF programs: tcx links, or clsact qdisc and filter. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"

void fr_fp_set_direction(struct bpf_program *prog, int egress)
{
    bpf_program__set_expected_attach_type(prog, egress ? BPF_TCX_EGRESS
                                                       : BPF_TCX_INGRESS);
}

/* On egress, ahead of the programs already there: whatever comes later
 * (a shaper, a tap) sees the packets as rewritten. On ingress, after them:
 * what came first sees the packets as they arrived. */
static int attach_tcx(fr_fp_attachment *a, const struct bpf_program *prog,
                      int ifindex, int egress)
{
    LIBBPF_OPTS(bpf_tcx_opts, opts, .flags = egress ? BPF_F_BEFORE : 0);

    a->link = bpf_program__attach_tcx(prog, ifindex, &opts);
    return a->link ? 0 : -errno;
}

/* libbpf's print function is one global, and attachments may be made on
 * several threads at once: quiet() silences it until unquiet(). */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static libbpf_print_fn_t quiet(void)
{
    pthread_mutex_lock(&print_lock);
    return libbpf_set_print(NULL);
}

static void unquiet(libbpf_print_fn_t print)
{
    libbpf_set_print(print);
    pthread_mutex_unlock(&print_lock);
}

static void set_hook(struct bpf_tc_hook *hook, int ifindex,
                     enum bpf_tc_attach_point point)
{
    /* libbpf rejects options whose padding is not zero. */
    memset(hook, 0, sizeof(*hook));
    hook->sz = sizeof(*hook);
    hook->ifindex = ifindex;
    hook->attach_point = point;
}

static int attach_tc(fr_fp_attachment *a, const struct bpf_program *prog,
                     int ifindex, int egress)
{
    LIBBPF_OPTS(bpf_tc_opts, filter, .handle = a->handle,
                .priority = a->priority, .prog_fd = bpf_program__fd(prog));
    libbpf_print_fn_t print;
    int err;

    set_hook(&a->hook, ifindex, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
    /* An existing clsact qdisc (EEXIST) is fine; keep libbpf from logging
     * the kernel's message about it. */
    print = quiet();
    err = bpf_tc_hook_create(&a->hook);
    unquiet(print);
    if (err && err != -EEXIST)
        return err;
    a->qdisc_created = !err;
    err = bpf_tc_attach(&a->hook, &filter);
    if (err)
        return err;
    a->filter_attached = 1;
    return 0;
}

int fr_fp_attach(fr_fp_attachment *a, const struct bpf_program *prog,
                 int ifindex, int egress, fr_fp_attach_mode mode,
                 uint32_t handle, uint32_t priority, char *why,
                 size_t whylen)
{
    int err = 0;

    memset(a, 0, sizeof(*a));
    a->handle = handle;
    a->priority = priority;
    if (mode != FR_FP_ATTACH_TC) {
        err = attach_tcx(a, prog, ifindex, egress);
        if (!err) {
            a->mode = FR_FP_ATTACH_TCX;
            return 0;
        }
        if (mode == FR_FP_ATTACH_TCX) {
            if (why)
                snprintf(why, whylen, "tcx attach failed: %s",
                         strerror(-err));
            return err;
        }
    }
    err = attach_tc(a, prog, ifindex, egress);
    if (!err) {
        a->mode = FR_FP_ATTACH_TC;
        return 0;
    }
    if (why)
        snprintf(why, whylen, "tc clsact attach failed: %s%s",
                 strerror(-err),
                 err == -EEXIST ? " (the filter handle and priority are "
                                  "taken: is another instance running?)"
                                : "");
    fr_fp_detach(a);
    return err;
}

/* True when the hook holds no filter at (handle, priority). */
static int hook_lacks_filter(const struct bpf_tc_hook *hook, uint32_t handle,
                             uint32_t priority)
{
    LIBBPF_OPTS(bpf_tc_opts, filter, .handle = handle, .priority = priority);
    libbpf_print_fn_t print = quiet();
    int err;

    /* The kernel answers EINVAL for a hook without any filter (and libbpf
     * would log its message), ENOENT for a hook without this one. */
    err = bpf_tc_query(hook, &filter);
    unquiet(print);
    return err == -EINVAL || err == -ENOENT;
}

void fr_fp_detach(fr_fp_attachment *a)
{
    LIBBPF_OPTS(bpf_tc_opts, filter, .handle = a->handle,
                .priority = a->priority);
    struct bpf_tc_hook other;

    if (a->link) {
        bpf_link__destroy(a->link);
        a->link = NULL;
    }
    if (a->filter_attached) {
        bpf_tc_detach(&a->hook, &filter);
        a->filter_attached = 0;
    }
    if (!a->qdisc_created)
        return;
    a->qdisc_created = 0;
    set_hook(&other, a->hook.ifindex,
             a->hook.attach_point == BPF_TC_EGRESS ? BPF_TC_INGRESS
                                                   : BPF_TC_EGRESS);
    if (!hook_lacks_filter(&other, a->handle, a->priority))
        return;
    a->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
    bpf_tc_hook_destroy(&a->hook);
}

int fr_fp_remove_stale(int ifindex, int egress, uint32_t handle,
                       uint32_t priority)
{
    LIBBPF_OPTS(bpf_tc_opts, filter, .handle = handle, .priority = priority);
    struct bpf_tc_hook hook;
    int err;

    set_hook(&hook, ifindex, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
    if (hook_lacks_filter(&hook, handle, priority))
        return 0;
    err = bpf_tc_detach(&hook, &filter);
    return err ? err : 1;
}
