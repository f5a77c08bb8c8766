/*
 * Benchmark packet tap: records, for each STREAM frame of a cleartext
 * 1-RTT packet, when it passed this point; in raw mode, for encrypted
 * ones, when each passed and its first bytes (see tap_kern_user.h). Never
 * changes or drops a packet. Attached by test/bench/fr-tap.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "quic_parse.bpf.h"
#include "tap_kern_user.h"

#define MAX_FRAMES 8

/* Length of the destination CIDs on the tapped link. */
const volatile __u8 dcid_len = 8;
/* Raw mode: records the packets' first bytes instead of their frames. */
const volatile __u8 raw_mode = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} fr_tap_recs SEC(".maps");

/* Raw mode: the short-header packet at [off, end) as it is. */
static __always_inline void raw_record(struct __sk_buff *skb, __u64 now,
                                       __u32 off, __u32 end,
                                       const __u16 ports[2])
{
    struct fr_tap_raw *r;
    __u32 n = end - off;

    if (n > FR_TAP_RAW)
        n = FR_TAP_RAW;
    if (n == 0)
        return;
    r = bpf_ringbuf_reserve(&fr_tap_recs, sizeof(*r), 0);
    if (!r)
        return;
    r->time_ns = now;
    r->mark = skb->mark;
    r->sport = bpf_ntohs(ports[0]);
    r->dport = bpf_ntohs(ports[1]);
    r->len = (__u16)(end - off);
    r->caplen = (__u16)n;
    r->pad = 0;
    if (bpf_skb_load_bytes(skb, off, r->bytes, n)) {
        bpf_ringbuf_discard(r, 0);
        return;
    }
    bpf_ringbuf_submit(r, 0);
}

SEC("tc")
int fr_tap(struct __sk_buff *skb)
{
    __u64 now = bpf_ktime_get_ns(), stream, offset, len, conn = 0;
    __u32 off, end, o;
    __u16 ports[2];
    __u8 first, type;

    if (udp_payload(skb, &off, &end) || end < off + QUIC_TAG_LEN ||
        bpf_skb_load_bytes(skb, off - 8, ports, 4) ||
        bpf_skb_load_bytes(skb, off, &first, 1) || (first & 0x80) ||
        dcid_len > 20 ||
        bpf_skb_load_bytes(skb, off + 1, &conn, dcid_len >= 8 ? 8 : 4))
        return TC_ACT_UNSPEC;
    if (raw_mode) {
        raw_record(skb, now, off, end, ports);
        return TC_ACT_UNSPEC;
    }
    end -= QUIC_TAG_LEN;
    o = off + 1 + dcid_len + (first & 3) + 1;
    for (int i = 0; i < MAX_FRAMES; i++) {
        struct fr_tap_rec *r;
        int next;

        if (o >= end || bpf_skb_load_bytes(skb, o, &type, 1))
            break;
        if (type == 0x02 || type == 0x03) {
            next = fr_fp_skip_ack(skb, o, end, type);
            if (next < 0)
                break;
            o = (__u32)next;
            continue;
        }
        if ((type & 0xf8) != 0x08)
            break; /* PADDING (the rest), or a frame not of interest */
        o += 1;
        if (quic_varint(skb, &o, end, &stream) ||
            stream_fields(skb, &o, end, type, &offset, &len))
            break;
        r = bpf_ringbuf_reserve(&fr_tap_recs, sizeof(*r), 0);
        if (!r)
            break;
        r->time_ns = now;
        r->conn = conn;
        r->stream = stream;
        r->offset = offset;
        r->length = (__u32)len;
        r->mark = skb->mark;
        r->sport = bpf_ntohs(ports[0]);
        r->dport = bpf_ntohs(ports[1]);
        r->head_len = 0;
        r->pad = 0;
        __builtin_memset(r->head, 0, FR_TAP_HEAD);
        if (offset == 0 && len >= FR_TAP_HEAD &&
            bpf_skb_load_bytes(skb, o, r->head, FR_TAP_HEAD) == 0)
            r->head_len = FR_TAP_HEAD;
        bpf_ringbuf_submit(r, 0);
        o += (__u32)len;
    }
    return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
