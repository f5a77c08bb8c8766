/*
 * Test-only packet impairment for tc (clsact or tcx), standing in for netem,
 * which this project's test kernels lack: seeded, deterministic random loss.
 *
 * Non-IP frames (ARP above all) always pass. With IMPAIR_F_UDP_ONLY, IP
 * packets other than UDP pass too; the IPv6 check reads the first next
 * header only. Passed packets return TC_ACT_UNSPEC (== TCX_NEXT), so later
 * programs or filters on the same hook still see them.
 *
 * Reordering is not offered: a tc program cannot hold a packet back, and the
 * departure-time alternative (skb->tstamp) needs the fq qdisc, which these
 * kernels do not have either.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "impair_kern_user.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct impair_config);
} impair_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct impair_stats);
} impair_stats SEC(".maps");

/* Reads the IP protocol (IPv4) or first next header (IPv6) behind the
 * Ethernet header. Returns 0, or a negative value for non-IP frames. */
static __always_inline int ip_protocol(struct __sk_buff *skb, __u8 *proto)
{
    __u32 off;

    if (skb->protocol == bpf_htons(ETH_P_IP))
        off = ETH_HLEN + __builtin_offsetof(struct iphdr, protocol);
    else if (skb->protocol == bpf_htons(ETH_P_IPV6))
        off = ETH_HLEN + __builtin_offsetof(struct ipv6hdr, nexthdr);
    else
        return -1;
    return bpf_skb_load_bytes(skb, off, proto, sizeof(*proto));
}

SEC("tc")
int impair(struct __sk_buff *skb)
{
    const __u32 key = 0;
    struct impair_config *cfg = bpf_map_lookup_elem(&impair_config, &key);
    struct impair_stats *stats = bpf_map_lookup_elem(&impair_stats, &key);
    __u64 index;
    __u8 proto;

    if (!cfg || !stats)
        return TC_ACT_UNSPEC;
    if (ip_protocol(skb, &proto) < 0 ||
        ((cfg->flags & IMPAIR_F_UDP_ONLY) && proto != IPPROTO_UDP)) {
        __sync_fetch_and_add(&stats->skipped, 1);
        return TC_ACT_UNSPEC;
    }
    index = __sync_fetch_and_add(&stats->seen, 1);
    if (!impair_drop(cfg->seed, index, cfg->loss_ppm))
        return TC_ACT_UNSPEC;
    __sync_fetch_and_add(&stats->dropped, 1);
    return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
