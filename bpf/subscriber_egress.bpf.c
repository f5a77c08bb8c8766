/*
 * Kernel fast path, subscriber egress: rewrites a clone of an upstream
 * packet (from upstream_ingress.bpf.c) for one subscriber
 * (docs/FASTPATH.md, step 3). The front of the packet (UDP
 * header, short header, the first STREAM frame's type and stream ID) is
 * replaced in one go, its size change made with one adjust_room, so the
 * payload never moves. In tls mode the clone carries the plaintext
 * (upstream_ingress.bpf.c opened it); the copy is sealed with the
 * subscriber's key of the key phase it names and a nonce from its wire
 * packet number, and header protection applied, before the checksum.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fastpath_kern_user.h"
#include "fastpath_shared.bpf.h"
#include "fastpath_crypto.bpf.h"
#include "quic_parse.bpf.h"
#include "udp_csum.bpf.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define IPV4_HLEN 20
#define HEAD_MAX 64         /* UDP + short header + first frame head */

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FR_FP_MAX_STREAMS);
    __type(key, struct fr_fp_credit_key);
    __type(value, __u64);
} fr_fp_credit SEC(".maps");

/* Send state of each slot, shared with userspace (mmapable) so that both
 * senders draw wire numbers from one sequence and the kernel stays inside
 * the budget userspace publishes. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FR_FP_MAX_SLOTS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct fr_fp_tx);
} fr_fp_tx SEC(".maps");

#define BUDGET_TRIES 4
/* A field userspace changes concurrently, read once. */
#define ONCE(x) (*(volatile typeof(x) *)&(x))

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FR_FP_EG_REASONS);
    __type(key, __u32);
    __type(value, __u64);
} fr_fp_egress_reasons SEC(".maps");

/* Copies sent, for the splice layer (struct fr_fp_sent_event). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} fr_fp_sent SEC(".maps");

/* The copy's new head, and what is built of it besides: kept here, not on
 * the stack, which the program shares with the sealing's bpf_loop
 * callbacks (512 bytes in all). */
struct head {
    __u8 b[HEAD_MAX];
    struct fr_fp_sent_event ev;
    __u8 ip[IPV4_HLEN] __attribute__((aligned(4)));
    struct {
        __be32 src;
        __be32 dst;
        __u8 zero;
        __u8 proto;
        __be16 len;
    } pseudo; /* the UDP checksum's pseudo-header */
    struct fr_fp_cid_key ukey;
    struct fr_fp_substream_key skey;
    struct fr_fp_credit_key ckey;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct head);
} fr_fp_head SEC(".maps");

static __always_inline int egress_verdict(__u32 reason, int verdict)
{
    __u64 *c = bpf_map_lookup_elem(&fr_fp_egress_reasons, &reason);

    if (c)
        *c += 1;
    return verdict;
}

static __always_inline __u32 varint_len(__u64 v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : v < (1u << 30) ? 4 : 8;
}

/* Writes v as a QUIC varint of `len` bytes at h->b[off]. */
static __always_inline void put_varint(struct head *h, __u32 off, __u64 v,
                                       __u32 len)
{
    __u8 prefix = len == 1 ? 0x00 : len == 2 ? 0x40 : len == 4 ? 0x80 : 0xc0;

#pragma unroll
    for (__u32 i = 0; i < 8; i++)
        if (i < len)
            h->b[(off + i) & (HEAD_MAX - 1)] =
                (__u8)(v >> (8 * (len - 1 - i)));
    h->b[off & (HEAD_MAX - 1)] |= prefix;
}

/* Offset, length and FIN of the STREAM frame of `type` whose fields after
 * the stream ID start at `o` (the packet's AEAD tag ends at `end`). */
static __always_inline int stream_frame_data(struct __sk_buff *skb, __u32 o,
                                             __u32 end, __u8 type,
                                             struct fr_fp_sent_event *ev)
{
    __u64 len;

    if (o + QUIC_TAG_LEN > end ||
        stream_fields(skb, &o, end - QUIC_TAG_LEN, type, &ev->offset, &len))
        return -1;
    ev->length = (__u32)len;
    ev->fin = type & 0x01;
    return 0;
}

/* Takes `len` bytes of the slot's budget, all or nothing. */
static __always_inline int take_budget(struct fr_fp_tx *tx, __u32 len)
{
    for (int i = 0; i < BUDGET_TRIES; i++) {
        __s64 b = ONCE(tx->budget);

        if (b < (__s64)len)
            return -1;
        if (__sync_val_compare_and_swap(&tx->budget, b, b - len) == b)
            return 0;
    }
    return -1;
}

/* A copy that failed halfway (it cannot, short of a kernel bug): its
 * record is withdrawn and its budget given back. Its packet number is
 * skipped, which QUIC allows. */
static __always_inline int egress_abort(struct fr_fp_sent_event *rec,
                                        struct fr_fp_tx *tx, __u32 len,
                                        __u32 reason)
{
    bpf_ringbuf_discard(rec, 0);
    __sync_fetch_and_add(&tx->budget, (__s64)len);
    return egress_verdict(reason, TC_ACT_SHOT);
}

/* tls mode: seals the copy whose short header (`hlen` bytes, a 4-byte
 * packet number pn) starts at `at` and whose tag ends at `end`, with
 * phase key pk and header protection key hp. Returns 0, or -1. */
static __always_inline int seal_copy(struct __sk_buff *skb, __u32 at,
                                     __u32 end, __u32 hlen, __u64 pn,
                                     const struct fr_fp_phase_key *pk,
                                     const __u8 *hp)
{
    struct fp_crypto *c = fp_crypto();
    __u32 text_len, text_at;

    if (!c || hlen > 32 || hlen < 5 || end < at + hlen + QUIC_TAG_LEN)
        return -1;
    text_len = end - at - hlen - QUIC_TAG_LEN;
    text_at = ((hlen + 15) & ~15u) & 63;
    if (text_len < QUIC_HP_SAMPLE || text_len > AEAD_TEXT_MAX ||
        bpf_skb_load_bytes(skb, at, c->a.b, hlen) ||
        bpf_skb_load_bytes(skb, at + hlen, c->a.b + text_at, text_len))
        return -1;
    fp_packet_key(c, pk, pn);
    if (aead_seal(&c->a, hlen, text_len))
        return -1;
    /* The sample starts 4 bytes into the packet number: the text. */
#pragma unroll
    for (__u32 i = 0; i < QUIC_HP_SAMPLE; i++)
        c->hp.sample[i] = c->a.b[(text_at + i) & 63];
    fp_hp_mask(c, hp);
    c->a.b[0] ^= c->hp.mask[0] & 0x1f;
#pragma unroll
    for (__u32 i = 0; i < 4; i++)
        c->a.b[(hlen - 4 + i) & 31] ^= c->hp.mask[1 + i];
    if (bpf_skb_store_bytes(skb, at, c->a.b, hlen, 0) ||
        bpf_skb_store_bytes(skb, at + hlen, c->a.b + text_at, text_len, 0) ||
        bpf_skb_store_bytes(skb, end - QUIC_TAG_LEN, c->a.tag, QUIC_TAG_LEN,
                            0))
        return -1;
    return 0;
}

SEC("tc")
int fr_subscriber_egress(struct __sk_buff *skb)
{
    struct fr_fp_sent_event *rec;
    struct fr_fp_upstream *up;
    struct fr_fp_keys *keys = NULL;
    struct fr_fp_slot *slot;
    struct fr_fp_tx *tx;
    __u32 zero = 0, slot_id, off, end, l4, oldhead, newhead, pnlen, fo, o;
    __u32 plen;
    __u64 sid, *sub, *credit, pn;
    __s64 sum;
    __u16 word;
    struct head *h;
    __u8 first, type, phase, shift, *ip;
    int delta;

    egress_verdict(FR_FP_EG_SEEN, 0);
    if ((skb->mark & FR_FP_MARK_MASK) != FR_FP_MARK_MAGIC)
        return egress_verdict(FR_FP_EG_NOT_CLONE, TC_ACT_UNSPEC);
    slot_id = skb->mark & 0xffff;
    slot = bpf_map_lookup_elem(&fr_fp_slots, &slot_id);
    tx = bpf_map_lookup_elem(&fr_fp_tx, &slot_id);
    h = bpf_map_lookup_elem(&fr_fp_head, &zero);
    if (!slot || !tx || !h || !slot->active)
        return egress_verdict(FR_FP_EG_NO_SLOT, TC_ACT_SHOT);
    ip = h->ip;
    __builtin_memset(&h->ev, 0, sizeof(h->ev));
    if (tls_mode) {
        keys = bpf_map_lookup_elem(&fr_fp_keys, &slot_id);
        if (!keys)
            return egress_verdict(FR_FP_EG_NO_KEYS, TC_ACT_SHOT);
    }
    if (skb->protocol != bpf_htons(ETH_P_IP) || udp_payload(skb, &off, &end) ||
        bpf_skb_load_bytes(skb, ETH_HLEN, ip, IPV4_HLEN) || (ip[0] & 0x0f) != 5)
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    l4 = ETH_HLEN + IPV4_HLEN;
    /* The upstream short header and the first frame, which must be STREAM. */
    if (bpf_skb_load_bytes(skb, off, &first, 1) || (first & 0x80) ||
        upstream_dcid_len > FR_FP_CID_MAX)
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    /* Its upstream, by the CID the copy still carries. */
    h->ukey = (struct fr_fp_cid_key){.len = upstream_dcid_len};
    if (bpf_skb_load_bytes(skb, off + 1, h->ukey.cid,
                           upstream_dcid_len & 0x1f))
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    up = bpf_map_lookup_elem(&fr_fp_upstream_cids, &h->ukey);
    if (!up)
        return egress_verdict(FR_FP_EG_NO_STREAM, TC_ACT_SHOT);
    pnlen = (first & 3) + 1;
    fo = off + 1 + upstream_dcid_len + pnlen;
    if (bpf_skb_load_bytes(skb, fo, &type, 1))
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    /* A leading ACK acknowledges the relay's packets, not the
     * subscriber's: it falls inside the replaced head and is left out. */
    if (type == 0x02 || type == 0x03) {
        int next = fr_fp_skip_ack(skb, fo, end - QUIC_TAG_LEN, type);

        if (next < 0 || bpf_skb_load_bytes(skb, (__u32)next, &type, 1))
            return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
        fo = (__u32)next;
    }
    if ((type & 0xf8) != 0x08)
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    o = fo + 1;
    if (quic_varint(skb, &o, end, &sid))
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    h->skey = (struct fr_fp_substream_key){
        .slot = slot_id, .up_slot = up->slot, .upstream_stream = sid};
    sub = bpf_map_lookup_elem(&fr_fp_substreams, &h->skey);
    if (!sub || *sub == FR_FP_SUBSTREAM_USERSPACE)
        return egress_verdict(FR_FP_EG_NO_STREAM, TC_ACT_SHOT);
    if (stream_frame_data(skb, o, end, type, &h->ev))
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    /* A shifted stream: the head takes in the offset field, rewritten
     * (and added where the frame had none). */
    shift = slot->stream_shift;
    if (shift) {
        __u64 up_off;

        if ((type & 0x04) && quic_varint(skb, &o, end, &up_off))
            return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
        type |= 0x04;
        h->ev.offset += shift;
    }
    /* A byte past the stream's credit would end the connection. */
    h->ckey = (struct fr_fp_credit_key){.slot = slot_id, .stream = *sub};
    credit = bpf_map_lookup_elem(&fr_fp_credit, &h->ckey);
    if (h->ev.offset + h->ev.length > (credit ? *credit : slot->stream_credit))
        return egress_verdict(FR_FP_EG_NO_CREDIT, TC_ACT_SHOT);

    /* Old head: UDP header to the end of the stream ID (of the offset,
     * shifted); new head: the same for the subscriber's CID, a 4-byte
     * packet number, its stream (and offset). */
    oldhead = o - l4;
    newhead = 8 + 1 + slot->dcid_len + 4 + 1 + varint_len(*sub) +
              (shift ? varint_len(h->ev.offset) : 0);
    if (slot->dcid_len > FR_FP_CID_MAX || newhead > HEAD_MAX)
        return egress_verdict(FR_FP_EG_UNSUPPORTED, TC_ACT_SHOT);
    delta = (int)newhead - (int)oldhead;
    plen = (__u32)((int)end + delta) - l4 - 8;
    if (plen > slot->max_payload)
        return egress_verdict(FR_FP_EG_TOO_BIG, TC_ACT_SHOT);

    /* Nothing is changed before the copy is sure to be reported and
     * inside the budget. */
    rec = bpf_ringbuf_reserve(&fr_fp_sent, sizeof(*rec), 0);
    if (!rec)
        return egress_verdict(FR_FP_EG_NO_ROOM, TC_ACT_SHOT);
    if (take_budget(tx, plen)) {
        bpf_ringbuf_discard(rec, 0);
        return egress_verdict(FR_FP_EG_NO_BUDGET, TC_ACT_SHOT);
    }
    pn = __sync_fetch_and_add(&tx->next_pn, 1);
    /* Read after the number is taken (DESIGN rule 7): a number after the
     * one of ngtcp2's newest packet carries that packet's key phase. */
    phase = ONCE(tx->key_phase) ? 1 : 0;
    if (keys && !keys->phase[phase].set)
        return egress_abort(rec, tx, plen, FR_FP_EG_NO_KEYS);

    __builtin_memset(h->b, 0, HEAD_MAX);
    /* UDP header: ports now, length and checksum below. */
    __builtin_memcpy(&h->b[0], &slot->src_port, 2);
    __builtin_memcpy(&h->b[2], &slot->dst_port, 2);
    h->b[8] = 0x40 | (phase << 2) | 0x03;
    for (__u32 i = 0; i < FR_FP_CID_MAX; i++)
        if (i < slot->dcid_len)
            h->b[(9 + i) & (HEAD_MAX - 1)] = slot->dcid[i];
    o = 9 + slot->dcid_len;
    h->b[o & (HEAD_MAX - 1)] = (__u8)(pn >> 24);
    h->b[(o + 1) & (HEAD_MAX - 1)] = (__u8)(pn >> 16);
    h->b[(o + 2) & (HEAD_MAX - 1)] = (__u8)(pn >> 8);
    h->b[(o + 3) & (HEAD_MAX - 1)] = (__u8)pn;
    h->b[(o + 4) & (HEAD_MAX - 1)] = type;
    put_varint(h, o + 5, *sub, varint_len(*sub));
    if (shift)
        put_varint(h, o + 5 + varint_len(*sub), h->ev.offset,
                   varint_len(h->ev.offset));

    if (delta && bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_NET, 0))
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);
    end = (__u32)((int)end + delta);
    word = bpf_htons((__u16)(end - l4));
    __builtin_memcpy(&h->b[4], &word, 2);
    if (newhead == 0 || newhead > HEAD_MAX ||
        bpf_skb_store_bytes(skb, l4, h->b, newhead, 0))
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);

    /* IPv4 header: addresses, length, checksum. */
    __builtin_memcpy(&ip[12], &slot->src_ip, 4);
    __builtin_memcpy(&ip[16], &slot->dst_ip, 4);
    word = bpf_htons((__u16)(end - ETH_HLEN));
    __builtin_memcpy(&ip[2], &word, 2);
    ip[10] = ip[11] = 0;
    word = csum_finish(bpf_csum_diff(NULL, 0, (__be32 *)ip, IPV4_HLEN, 0));
    __builtin_memcpy(&ip[10], &word, 2);
    if (bpf_skb_store_bytes(skb, ETH_HLEN, ip, IPV4_HLEN, 0) ||
        bpf_skb_store_bytes(skb, 0, slot->dst_mac, 6, 0) ||
        bpf_skb_store_bytes(skb, 6, slot->src_mac, 6, 0))
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);

    if (keys && seal_copy(skb, l4 + 8, end, 1 + slot->dcid_len + 4, pn,
                          &keys->phase[phase], keys->hp))
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);

    /* UDP checksum over the pseudo-header and the whole segment (its
     * checksum field still zero). */
    h->pseudo.src = slot->src_ip;
    h->pseudo.dst = slot->dst_ip;
    h->pseudo.zero = 0;
    h->pseudo.proto = IPPROTO_UDP_;
    h->pseudo.len = bpf_htons((__u16)(end - l4));
    sum = bpf_csum_diff(NULL, 0, (__be32 *)&h->pseudo, sizeof(h->pseudo), 0);
    if (sum < 0 || (sum = segment_sum(skb, l4, end - l4, sum)) < 0)
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);
    word = csum_finish(sum);
    if (word == 0)
        word = 0xffff; /* zero means "no checksum" in UDP */
    if (bpf_skb_store_bytes(skb, l4 + 6, &word, 2, 0))
        return egress_abort(rec, tx, plen, FR_FP_EG_UNSUPPORTED);

    h->ev.time_ns = bpf_ktime_get_ns();
    h->ev.pn = pn;
    h->ev.upstream_stream = sid;
    h->ev.up_slot = (__u16)h->skey.up_slot;
    h->ev.stream = *sub;
    h->ev.slot = slot_id;
    h->ev.gen = slot->gen;
    h->ev.packet_len = (__u16)plen;
    __builtin_memcpy(rec, &h->ev, sizeof(h->ev));
    bpf_ringbuf_submit(rec, 0);
    /* On to later programs (and then out): the copy is final. */
    return egress_verdict(FR_FP_EG_SENT, TC_ACT_UNSPEC);
}
