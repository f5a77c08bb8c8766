/*
 * NAT rebinding for the tests: once switched on, the client's UDP port
 * towards the server port changes as a NAT's new mapping would (one bit of
 * the port flipped on the way out, flipped back on the way in), so the
 * server sees its peer move to a new address mid-connection. The old
 * mapping keeps working for packets that still use it until userspace
 * declares it expired, as a NAT's times out. The client never knows. Attached by
 * test/netns/fr-rebind to both directions of the client's interface.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "quic_parse.bpf.h"

#define FLIP 0x4000
#define TC_ACT_SHOT 2

/* Set by userspace (through the skeleton's bss) to start rebinding. */
volatile __u32 active;
/* Set once the old mapping has timed out: packets to it are dropped. */
volatile __u32 old_dead;
/* The client's port, learnt from its packets before the rebinding. */
volatile __u16 client_port;
const volatile __u16 server_port = 4433;

static __always_inline int remap(struct __sk_buff *skb, int egress)
{
    __u32 off, end, l4, at;
    __u16 ports[2], old, new;

    if (udp_payload(skb, &off, &end))
        return TC_ACT_UNSPEC;
    l4 = off - 8;
    if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
        return TC_ACT_UNSPEC;
    if (egress) {
        if (ports[1] != bpf_htons(server_port))
            return TC_ACT_UNSPEC;
        if (!active) {
            client_port = ports[0];
            return TC_ACT_UNSPEC;
        }
        if (ports[0] != client_port)
            return TC_ACT_UNSPEC;
        at = l4;
        old = ports[0];
        new = old ^ bpf_htons(FLIP);
    } else {
        if (!active || ports[0] != bpf_htons(server_port))
            return TC_ACT_UNSPEC;
        if (ports[1] == client_port)
            return old_dead ? TC_ACT_SHOT : TC_ACT_UNSPEC;
        /* The new mapping is translated back. */
        if (ports[1] != (__u16)(client_port ^ bpf_htons(FLIP)))
            return TC_ACT_UNSPEC;
        at = l4 + 2;
        old = ports[1];
        new = client_port;
    }
    bpf_l4_csum_replace(skb, l4 + 6, old, new,
                        sizeof(new) | BPF_F_MARK_MANGLED_0);
    bpf_skb_store_bytes(skb, at, &new, sizeof(new), BPF_F_RECOMPUTE_CSUM);
    return TC_ACT_UNSPEC;
}

SEC("tc")
int rebind_egress(struct __sk_buff *skb)
{
    return remap(skb, 1);
}

SEC("tc")
int rebind_ingress(struct __sk_buff *skb)
{
    return remap(skb, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
