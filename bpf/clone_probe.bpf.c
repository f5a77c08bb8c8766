/*
 * Where a clone's egress program runs, for the encrypted fast path's
 * design (docs/FASTPATH.md, step 4): fr_probe_ingress marks its CPU,
 * clones the packet to an interface's egress, and unmarks; fr_probe_egress,
 * on that egress, counts the clones that found their CPU marked by the
 * very packet they are a copy of (run inside the ingress program's
 * bpf_clone_redirect) and those that did not. Test-only
 * (test/bpf/test_clone_probe.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TC_ACT_OK 0
#define PROBE_MARK 0xc10e0000u

/* The interface the clones go out of; set at load. */
const volatile __u32 clone_ifindex = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} fr_probe_marker SEC(".maps");

/* [0]: clones made, [1]: egress runs inside the clone call, [2]:
 * outside it. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} fr_probe_counts SEC(".maps");

static __always_inline void bump(__u32 i)
{
    __u64 *c = bpf_map_lookup_elem(&fr_probe_counts, &i);

    if (c)
        __sync_fetch_and_add(c, 1);
}

SEC("tc")
int fr_probe_ingress(struct __sk_buff *skb)
{
    __u32 zero = 0;
    __u64 *m = bpf_map_lookup_elem(&fr_probe_marker, &zero);

    if (!m || skb->mark == PROBE_MARK)
        return TC_ACT_OK;
    /* The marker names this packet: its hash and length. */
    *m = (__u64)bpf_get_hash_recalc(skb) << 32 | skb->len;
    skb->mark = PROBE_MARK;
    /* Counted whatever it returns: the egress program drops the clone,
     * which makes the transmit report a drop. */
    bpf_clone_redirect(skb, clone_ifindex, 0);
    bump(0);
    skb->mark = 0;
    *m = 0;
    return TC_ACT_OK;
}

SEC("tc")
int fr_probe_egress(struct __sk_buff *skb)
{
    __u32 zero = 0;
    __u64 *m = bpf_map_lookup_elem(&fr_probe_marker, &zero);

    if (!m || skb->mark != PROBE_MARK)
        return TC_ACT_OK;
    bump(*m == ((__u64)bpf_get_hash_recalc(skb) << 32 | skb->len) ? 1 : 2);
    return 2; /* TC_ACT_SHOT: the clone has done its work */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
