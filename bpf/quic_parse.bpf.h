/*
 * Reading QUIC 1-RTT packets in tc BPF programs: the UDP payload, QUIC
 * varints, STREAM frame fields and ACK frames. Shared by the fast-path
 * programs and the benchmark's packet tap; include after vmlinux.h and
 * bpf_helpers.h.
 *
 * Its global functions are weak: a program linked from several objects
 * that each include this header (bpftool gen object) keeps one copy.
 */
#ifndef FR_QUIC_PARSE_BPF_H
#define FR_QUIC_PARSE_BPF_H

#define TC_ACT_UNSPEC (-1)
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP_ 17
#define QUIC_TAG_LEN 16
#define MAX_ACK_RANGES 16

/* Finds the UDP payload: sets *off to its start and *end past it. */
static __always_inline int udp_payload(struct __sk_buff *skb, __u32 *off,
                                       __u32 *end)
{
    __u32 l4;
    __u16 ulen;
    __u8 proto;

    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        __u8 vihl;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &vihl, 1) ||
            bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1))
            return -1;
        l4 = ETH_HLEN + (vihl & 0x0f) * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &proto, 1))
            return -1;
        l4 = ETH_HLEN + 40;
    } else {
        return -1;
    }
    if (proto != IPPROTO_UDP_ ||
        bpf_skb_load_bytes(skb, l4 + 4, &ulen, 2))
        return -1;
    ulen = bpf_ntohs(ulen);
    if (ulen < 8 || l4 + ulen > skb->len)
        return -1;
    *off = l4 + 8;
    *end = l4 + ulen;
    return 0;
}

/* A QUIC variable-length integer at `off` (before `end`). Returns its
 * length, or -1. A global function: the verifier checks it once, not at
 * every call site. */
__weak __noinline int fr_fp_quic_varint(struct __sk_buff *skb, __u32 off, __u32 end,
                                 __u64 *v)
{
    __u8 b[8];
    __u32 len;

    if (!v || off >= end || bpf_skb_load_bytes(skb, off, b, 1))
        return -1;
    len = 1u << (b[0] >> 6);
    if (off + len > end)
        return -1;
    switch (len) {
    case 1:
        *v = b[0] & 0x3f;
        break;
    case 2:
        if (bpf_skb_load_bytes(skb, off, b, 2))
            return -1;
        *v = (__u64)(b[0] & 0x3f) << 8 | b[1];
        break;
    case 4:
        if (bpf_skb_load_bytes(skb, off, b, 4))
            return -1;
        *v = (__u64)(b[0] & 0x3f) << 24 | (__u64)b[1] << 16 |
             (__u64)b[2] << 8 | b[3];
        break;
    default:
        if (bpf_skb_load_bytes(skb, off, b, 8))
            return -1;
        *v = (__u64)(b[0] & 0x3f) << 56 | (__u64)b[1] << 48 |
             (__u64)b[2] << 40 | (__u64)b[3] << 32 | (__u64)b[4] << 24 |
             (__u64)b[5] << 16 | (__u64)b[6] << 8 | b[7];
        break;
    }
    return (int)len;
}

/* Reads a QUIC varint at *off and advances it. */
static __always_inline int quic_varint(struct __sk_buff *skb, __u32 *off,
                                       __u32 end, __u64 *v)
{
    int n = fr_fp_quic_varint(skb, *off, end, v);

    if (n < 0)
        return -1;
    *off += (__u32)n;
    return 0;
}

/* The fields of a STREAM frame of `type` after its stream ID, which start
 * at *off: the offset (0 without OFF) and the data's length (up to `end`
 * without LEN). Leaves *off at the data. Returns 0, or -1 if they do not
 * fit before `end`. Ingress and egress read frames with it alike. */
static __always_inline int stream_fields(struct __sk_buff *skb, __u32 *off,
                                         __u32 end, __u32 type,
                                         __u64 *offset, __u64 *len)
{
    *offset = 0;
    if ((type & 0x04) && quic_varint(skb, off, end, offset))
        return -1;
    if (type & 0x02) {
        if (quic_varint(skb, off, end, len))
            return -1;
    } else {
        *len = end - *off; /* to the end of the packet */
    }
    return *off > end || *len > end - *off ? -1 : 0;
}

/* Skips an ACK frame whose type byte is at `off`: ACKs in upstream
 * packets are for the relay's own packets and must not reach subscribers.
 * Returns the offset after it, or -1. Global, so verified once. */
__weak __noinline int fr_fp_skip_ack(struct __sk_buff *skb, __u32 off, __u32 end,
                              __u32 type)
{
    __u64 count, v;
    int n;

    off += 1;
    for (int i = 0; i < 4; i++) { /* largest, delay, count, first range */
        n = fr_fp_quic_varint(skb, off, end, &v);
        if (n < 0)
            return -1;
        off += (__u32)n;
        if (i == 2)
            count = v;
    }
    if (count > MAX_ACK_RANGES)
        return -1;
    /* Gap and length per further range, then three ECN counts. */
    count = count * 2 + (type == 0x03 ? 3 : 0);
    for (__u32 i = 0; i < 2 * MAX_ACK_RANGES + 3; i++) {
        if (i >= count)
            break;
        n = fr_fp_quic_varint(skb, off, end, &v);
        if (n < 0)
            return -1;
        off += (__u32)n;
    }
    return (int)off;
}

#endif
