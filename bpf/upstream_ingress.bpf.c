/*
 * Kernel fast path, upstream ingress (the other half is
 * subscriber_egress.bpf.c; the maps both use are in fastpath_shared.bpf.h,
 * the parsing helpers in quic_parse.bpf.h and moq_parse.bpf.h).
 *
 * The program runs on tc ingress of the relay's upstream-facing interface.
 * For 1-RTT (short header, cleartext) packets of registered upstream connections it
 * walks the frames and, for each STREAM frame at offset 0 of a
 * unidirectional stream, parses the MoQT SUBGROUP_HEADER and records the
 * stream's track alias, group, subgroup and priority. A packet whose every
 * frame is PADDING, PING or STREAM data of a known media stream is
 * forwardable; with one ACK frame besides (common: the origin acknowledges
 * the relay's flow-control updates) it is forwardable once the egress
 * takes the ACK out. For each subscriber slot of the packet's track it
 * sends a copy (bpf_clone_redirect, the slot in skb->mark) towards the
 * subscriber egress program, which rewrites it. Every packet goes on
 * up to the stack unchanged: userspace sees every byte.
 *
 * In tls mode (fastpath_crypto.bpf.h) the packet is opened first: header
 * protection off, the tag checked (a packet that does not authenticate is
 * never forwarded), the plaintext written over the packet so that the
 * frame walk reads it and the clones carry it; once the clones are made
 * the original bytes are put back.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fastpath_kern_user.h"
#include "fastpath_shared.bpf.h"
#include "fastpath_crypto.bpf.h"
#include "moq_parse.bpf.h"
#include "quic_parse.bpf.h"

#define MAX_FRAMES 32
#define PADDING_CHUNKS 192  /* 8-byte chunks checked for padding */

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FR_FP_MAX_STREAMS);
    __type(key, struct fr_fp_stream_key);
    __type(value, struct fr_fp_stream);
} fr_fp_streams SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct fr_fp_stream_key);
    __type(value, struct fr_fp_pending);
} fr_fp_pending SEC(".maps");


struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} fr_fp_scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FR_FP_REASONS);
    __type(key, __u32);
    __type(value, __u64);
} fr_fp_reasons SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct fr_fp_track_key);
    __type(value, struct fr_fp_subscribers);
} fr_fp_track_slots SEC(".maps");

/* Mmapable: userspace refills a pool in place while the kernel takes from
 * it (a whole-value update would race with the kernel's head). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FR_FP_MAX_SLOTS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct fr_fp_pool);
} fr_fp_pools SEC(".maps");

/* tls mode: the largest packet number each upstream slot opened, plus
 * one (0: none yet; userspace zeroes it with the slot). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FR_FP_MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} fr_fp_rx_pn SEC(".maps");

/* tls mode: the packet as it came, put back after the clones. */
struct orig {
    __u8 b[AEAD_BUF];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct orig);
} fr_fp_orig SEC(".maps");

static __always_inline void count(__u32 reason)
{
    __u64 *c = bpf_map_lookup_elem(&fr_fp_reasons, &reason);

    if (c)
        *c += 1;
}

static __always_inline struct scratch *scratch(void)
{
    __u32 zero = 0;

    return bpf_map_lookup_elem(&fr_fp_scratch, &zero);
}

/* Records a stream whose header parsed; returns 1 if it is new, 0 if
 * its start was seen before (a retransmission). */
static __always_inline int record(struct fr_fp_stream_key *key,
                                  struct fr_fp_stream *st)
{
    if (bpf_map_update_elem(&fr_fp_streams, key, st, BPF_NOEXIST))
        return 0;
    count(FR_FP_NEW_SUBGROUP);
    return 1;
}

/* The first STREAM frame of a stream (offset 0, `len` bytes at `data`);
 * *fresh tells whether it is the first time this start passes. Returns a
 * fr_fp_reason, 0 for media. */
static __always_inline int stream_start(struct __sk_buff *skb, __u32 data,
                                        __u64 len,
                                        struct fr_fp_stream_key *key,
                                        __u32 *fresh)
{
    struct fr_fp_pending pend = {0};
    struct fr_fp_stream st = {0};
    struct scratch *sc = scratch();
    __u32 n = len < FR_FP_HEADER_MAX ? (__u32)len : FR_FP_HEADER_MAX;
    int r;

    if (!sc || n == 0 || bpf_skb_load_bytes(skb, data, sc->b, n))
        return FR_FP_NOT_MEDIA;
    r = fr_fp_parse_header(sc, n, &st);
    if (r == 0) {
        *fresh = (__u32)record(key, &st);
        return 0;
    }
    if (r > 0) {
        /* The header goes on in the stream's next frame. */
        pend.len = (__u8)n;
        __builtin_memcpy(pend.bytes, sc->b, FR_FP_HEADER_MAX);
        bpf_map_update_elem(&fr_fp_pending, key, &pend, BPF_ANY);
    }
    return FR_FP_NOT_MEDIA;
}

/* A later STREAM frame of a stream whose header was cut short: completes
 * and records the header. The stream's start went up the normal path, so
 * this packet is not forwardable as it is. */
static __always_inline int stream_rest(struct __sk_buff *skb, __u32 data,
                                       __u64 len, __u64 offset,
                                       struct fr_fp_stream_key *key)
{
    struct fr_fp_pending *pend = bpf_map_lookup_elem(&fr_fp_pending, key);
    struct fr_fp_stream st = {0};
    struct scratch *sc = scratch();
    __u32 have, m;

    if (!sc || !pend || pend->len != offset ||
        pend->len >= FR_FP_HEADER_MAX)
        return FR_FP_NOT_MEDIA;
    have = pend->len;
    __builtin_memcpy(sc->b, pend->bytes, FR_FP_HEADER_MAX);
    m = len < FR_FP_HEADER_MAX - have ? (__u32)len : FR_FP_HEADER_MAX - have;
    if (m == 0 || m > FR_FP_HEADER_MAX ||
        bpf_skb_load_bytes(skb, data, sc->b + (have & 63),
                           m))
        return FR_FP_NOT_MEDIA;
    switch (fr_fp_parse_header(sc, have + m, &st)) {
    case 0:
        record(key, &st);
        count(FR_FP_SPLIT_HEADER);
        bpf_map_delete_elem(&fr_fp_pending, key);
        break;
    case 1:
        pend->len = (__u8)(have + m);
        __builtin_memcpy(pend->bytes, sc->b, FR_FP_HEADER_MAX);
        break;
    default:
        bpf_map_delete_elem(&fr_fp_pending, key);
        break;
    }
    return FR_FP_NOT_MEDIA;
}

/* True if every byte of [off, end) is zero (PADDING frames to the end). */
static __always_inline int all_padding(struct __sk_buff *skb, __u32 off,
                                       __u32 end)
{
    __u64 chunk;
    __u8 byte;

    for (int i = 0; i < PADDING_CHUNKS; i++) {
        if (off + 8 > end)
            break;
        if (bpf_skb_load_bytes(skb, off, &chunk, 8) || chunk)
            return 0;
        off += 8;
    }
    for (int i = 0; i < 8; i++) {
        if (off >= end)
            return 1;
        if (bpf_skb_load_bytes(skb, off, &byte, 1) || byte)
            return 0;
        off++;
    }
    return off >= end;
}

/* What fr_fp_stream_frame found. */
struct frame_out {
    __u32 next;             /* offset after the frame */
    __u32 fresh;            /* its stream's start, passing for the first
                               time (not a retransmission of it) */
    __u64 stream_id;
    __u32 header_at;        /* a frame at its stream's start: where its
                               data, the subgroup header, begins; else 0 */
    __u32 pad;
};

/* One STREAM frame whose type byte is at `off`, of the upstream
 * connection slot << 8 | frame type (BPF functions take five arguments).
 * Returns a fr_fp_reason, 0 when the frame is media. Global, so the
 * verifier checks it once rather than in every frame-walk state. */
__noinline int fr_fp_stream_frame(struct __sk_buff *skb, __u32 off, __u32 end,
                                  __u32 slot_type, struct frame_out *out)
{
    struct fr_fp_stream_key key = {.slot = slot_type >> 8};
    __u32 type = slot_type & 0xff;
    __u64 offset, len;
    __u32 data;

    if (!out)
        return FR_FP_MALFORMED;
    off += 1;
    if (quic_varint(skb, &off, end, &key.stream_id) ||
        stream_fields(skb, &off, end, type, &offset, &len))
        return FR_FP_MALFORMED;
    data = off;
    out->next = data + (__u32)len;
    out->stream_id = key.stream_id;
    out->header_at = offset == 0 ? data : 0;
    if (!(key.stream_id & 0x02))
        return FR_FP_NOT_MEDIA; /* bidirectional: requests, not media */
    if (offset == 0)
        return stream_start(skb, data, len, &key, &out->fresh);
    if (bpf_map_lookup_elem(&fr_fp_streams, &key))
        return 0;
    return stream_rest(skb, data, len, offset, &key);
}

/* State of the frame walk, shared with its bpf_loop callback (which the
 * verifier checks once instead of once per frame). */
struct walk {
    struct __sk_buff *skb;
    __u32 off;
    __u32 end;
    __u32 slot;
    int verdict;
    __u64 stream_id;        /* the first media frame's stream */
    __u32 header_at;        /* where its subgroup header is, if it has it */
    /* Flags, not counts (a count keeps the verifier from converging on
     * the loop body); bytes, since the stack is all but used up. */
    __u8 media;             /* a STREAM frame of a media stream was seen */
    __u8 multi;             /* ... and another one after it */
    __u8 fresh;             /* it is the stream's start, first seen */
    __u8 ack_lead;          /* the first frame is an ACK */
    __u8 ack_other;         /* an ACK frame elsewhere */
    __u8 media_late;        /* the media frame is not first (or second,
                               behind a leading ACK) */
};

/* One frame; returns 1 to stop the walk. */
static long walk_frame(__u32 index, void *arg)
{
    struct walk *w = arg;
    struct frame_out fo = {.next = w->end};
    __u8 type;
    int r;

    if (w->off >= w->end)
        return 1;
    if (bpf_skb_load_bytes(w->skb, w->off, &type, 1)) {
        w->verdict = FR_FP_MALFORMED;
        return 1;
    }
    if (type == 0x00) {
        if (!all_padding(w->skb, w->off, w->end))
            w->verdict = FR_FP_UNKNOWN_FRAME;
        w->off = w->end;
        return 1;
    }
    if (type == 0x01) {
        w->off++;
        return 0;
    }
    if (type == 0x02 || type == 0x03) {
        int next = fr_fp_skip_ack(w->skb, w->off, w->end, type);
        if (next < 0) {
            w->verdict = FR_FP_MALFORMED;
            return 1;
        }
        w->off = (__u32)next;
        if (index == 0)
            w->ack_lead = 1;
        else
            w->ack_other = 1;
        return 0;
    }
    if ((type & 0xf8) != 0x08) {
        w->verdict = FR_FP_UNKNOWN_FRAME;
        return 1;
    }
    r = fr_fp_stream_frame(w->skb, w->off, w->end, w->slot << 8 | type, &fo);
    w->off = fo.next;
    if (r == 0 && w->media) {
        w->multi = 1;
    } else if (r == 0) {
        if (index != (w->ack_lead ? 1u : 0u))
            w->media_late = 1;
        w->media = 1;
        w->stream_id = fo.stream_id;
        w->fresh = fo.fresh != 0;
        w->header_at = fo.header_at;
    }
    /* Later frames may still carry subgroup headers worth recording; the
     * first problem decides the packet. */
    if (r && w->verdict == FR_FP_FORWARDABLE)
        w->verdict = r;
    return r == FR_FP_MALFORMED;
}

/* Classifies a short-header packet's frames (walk state in *w); returns a
 * fr_fp_reason. */
static __always_inline int frames(struct walk *w)
{
    w->verdict = FR_FP_FORWARDABLE;
    bpf_loop(MAX_FRAMES, walk_frame, w, 0);
    if (w->verdict == FR_FP_FORWARDABLE && w->off < w->end)
        return FR_FP_UNKNOWN_FRAME; /* more frames than we walk */
    if (w->verdict == FR_FP_FORWARDABLE && !w->media)
        return FR_FP_NOT_MEDIA; /* ACK, PING or padding alone */
    if (w->verdict != FR_FP_FORWARDABLE)
        return w->verdict;
    /* The egress rewrites the packet's front: one ACK frame at most, then
     * the media frame, whose stream ID is the only one it translates. */
    if (w->ack_other)
        return FR_FP_NEEDS_ACK_STRIP;
    if (w->media_late)
        return FR_FP_MEDIA_NOT_FIRST;
    if (w->multi)
        return FR_FP_MULTI_STREAM;
    return w->ack_lead ? FR_FP_LEADING_ACK : FR_FP_FORWARDABLE;
}

/* Copies of one packet, one per subscriber slot of its track. */
struct fanout {
    struct __sk_buff *skb;
    struct fr_fp_subscribers *subs;
    __u32 up_slot;
    __u64 stream_id;
    int fresh;               /* the packet starts its stream, first seen */
    __u8 priority;           /* the subgroup's publisher priority */
};

/* The kernel forwards upstream stream `k` to its subscriber: there is an
 * entry, and userspace did not claim the stream. */
static __always_inline int mapped(struct fr_fp_substream_key *k)
{
    __u64 *v = bpf_map_lookup_elem(&fr_fp_substreams, k);

    return v && *v != FR_FP_SUBSTREAM_USERSPACE;
}

/* Makes sure subscriber `slot_id` has a stream for stream `stream_id` of
 * upstream `up_slot`: an existing mapping, or at the stream's first packet the
 * next ID of the slot's pool, unless the slot's policy `excludes` the
 * subgroup (decided there, once: its later packets find no stream).
 * Only the first time a stream's start passes: userspace has seen that
 * start by the time a retransmission of it comes, and sent the subgroup
 * itself to a subscriber that joined in between (seen: such a subscriber
 * got a second stream for it from the kernel, which no FIN ever closed).
 * Nor when userspace claimed the stream first (it reached a copy of the
 * start that another CPU let through while this one was on its way).
 * Returns 0, -2 for a policy drop, -1 for none. */
static __always_inline int substream(__u32 slot_id, __u32 up_slot,
                                     __u64 stream_id, int fresh, int excludes)
{
    struct fr_fp_substream_key k = {.slot = slot_id, .up_slot = up_slot,
                                    .upstream_stream = stream_id};
    struct fr_fp_pool *pool;
    __u64 *v, id;
    __u32 i;

    v = bpf_map_lookup_elem(&fr_fp_substreams, &k);
    if (v)
        return *v == FR_FP_SUBSTREAM_USERSPACE ? -1 : 0;
    if (!fresh)
        return -1; /* its start went up to userspace */
    if (excludes)
        return -2;
    pool = bpf_map_lookup_elem(&fr_fp_pools, &slot_id);
    if (!pool)
        return -1;
    /* One compare-and-swap: head never passes tail, so an ID is never
     * skipped; losing the race to another CPU counts as empty. */
    i = pool->head;
    if (i == pool->tail ||
        __sync_val_compare_and_swap(&pool->head, i, i + 1) != i)
        return -1;
    id = pool->ids[i % FR_FP_POOL_SIZE];
    /* Another CPU may have mapped the stream meanwhile, or userspace
     * claimed it: then that stands and this ID is not given back (it
     * stays an unused stream on the subscriber's connection). */
    if (bpf_map_update_elem(&fr_fp_substreams, &k, &id, BPF_NOEXIST))
        return mapped(&k) ? 0 : -1;
    return 0;
}

static long fan_one(__u32 i, void *arg)
{
    struct fanout *f = arg;
    struct fr_fp_slot *slot;
    __u32 slot_id;

    if (i >= FR_FP_MAX_FANOUT)
        return 1;
    slot_id = f->subs->slots[i];
    slot = bpf_map_lookup_elem(&fr_fp_slots, &slot_id);
    if (!slot || !slot->active)
        return 0;
    switch (substream(slot_id, f->up_slot, f->stream_id, f->fresh,
                      f->priority > slot->priority_floor)) {
    case 0:
        break;
    case -2:
        count(FR_FP_POLICY_DROP);
        return 0;
    default:
        count(FR_FP_NO_SUBSTREAM);
        return 0;
    }
    f->skb->mark = FR_FP_MARK_MAGIC | slot_id;
    if (bpf_clone_redirect(f->skb, slot->ifindex, 0) == 0)
        count(FR_FP_CLONES);
    return 0;
}

/* Writes `v` over the packet's MoQT varint of `len` bytes at `at`, in as
 * many bytes (n bytes hold 7n bits up to n = 8, nine all 64), assembled
 * in the scratch buffer (the stack is all but used up). Returns -1, the
 * packet untouched, if it does not fit. */
static __always_inline int varint_write(struct __sk_buff *skb, __u32 at,
                                        __u32 len, __u64 v)
{
    struct scratch *sc = scratch();
    __u8 *b;

    if (!sc || len < 1 || len > 9 || (len < 9 && v >> (7 * len)))
        return -1;
    b = sc->b;
    if (len == 9) {
        b[0] = 0xff;
#pragma unroll
        for (__u32 i = 1; i < 9; i++)
            b[i] = (__u8)(v >> (8 * (8 - i)));
    } else {
#pragma unroll
        for (__u32 i = 0; i < 8; i++)
            if (i < len)
                b[i] = (__u8)(v >> (8 * (len - 1 - i)));
        b[0] |= (__u8)(0xff00u >> (len - 1));
    }
    return bpf_skb_store_bytes(skb, at, b, len, 0) ? -1 : 0;
}

/* Sends a copy of the packet to every subscriber of its track. A packet
 * that starts its stream carries the subgroup header: its copies name the
 * track by the subscribers' alias, written over the upstream's for them
 * (and put back after, which tls mode's restore does with the rest). */
static __always_inline void fan_out(struct __sk_buff *skb, __u32 up_slot,
                                    const struct walk *w)
{
    struct fr_fp_stream_key sk = {.slot = up_slot, .stream_id = w->stream_id};
    struct fr_fp_track_key tk = {.upstream_slot = up_slot};
    struct fanout f = {.skb = skb, .up_slot = up_slot,
                       .stream_id = w->stream_id, .fresh = w->fresh};
    struct fr_fp_stream *st = bpf_map_lookup_elem(&fr_fp_streams, &sk);
    __u32 alias_at;
    int realiased = 0;

    if (!st)
        return;
    tk.track_alias = st->track_alias;
    alias_at = w->header_at + st->alias_at;
    f.subs = bpf_map_lookup_elem(&fr_fp_track_slots, &tk);
    if (f.subs && w->header_at && f.subs->down_alias != st->track_alias) {
        if (varint_write(skb, alias_at, st->alias_len, f.subs->down_alias)) {
            count(FR_FP_ALIAS_TOO_LONG);
            return;
        }
        realiased = 1;
    }
    for (__u32 page = 0; page < FR_FP_TRACK_PAGES; page++) {
        __u32 n;

        tk.page = page;
        if (page > 0)
            f.subs = bpf_map_lookup_elem(&fr_fp_track_slots, &tk);
        if (!f.subs)
            break;
        f.priority = st->has_priority ? st->priority
                                      : f.subs->default_priority;
        n = f.subs->count < FR_FP_MAX_FANOUT ? f.subs->count
                                             : FR_FP_MAX_FANOUT;
        bpf_loop(n, fan_one, &f, 0);
    }
    skb->mark = 0;
    if (realiased && !tls_mode)
        varint_write(skb, alias_at, st->alias_len, st->track_alias);
}

/* The full packet number of a truncated one (RFC 9000 appendix A.3);
 * `have` is the largest opened plus one, 0 for none. */
static __always_inline __u64 pn_decode(__u64 have, __u64 trunc, __u32 pnlen)
{
    __u64 expected = have, win = 1ull << (8 * pnlen), hwin = win / 2;
    __u64 cand = (expected & ~(win - 1)) | trunc;

    if (cand + hwin <= expected && cand < (1ull << 62) - win)
        return cand + win;
    if (cand > expected + hwin && cand >= win)
        return cand - win;
    return cand;
}

/* Raises *largest to pn + 1 unless another CPU went further. */
static __always_inline void note_pn(__u64 *largest, __u64 pn)
{
    for (int i = 0; i < 4; i++) {
        __u64 have = *(volatile __u64 *)largest;

        if (have > pn ||
            __sync_val_compare_and_swap(largest, have, pn + 1) == have)
            return;
    }
}

/* tls mode: opens the packet at [off, end) of upstream slot `slot` and
 * writes its unprotected header and plaintext over it (the original kept
 * in fr_fp_orig). Returns 0 with *pnlen set, or a fr_fp_reason with the
 * packet untouched. */
static __noinline int open_packet(struct __sk_buff *skb, __u32 off,
                               __u32 end, __u32 slot, __u32 *pnlen)
{
    __u32 zero = 0, len = end - off, dcid = upstream_dcid_len & 0x1f;
    __u32 hlen, text_len, phase, pl;
    struct orig *o = bpf_map_lookup_elem(&fr_fp_orig, &zero);
    struct fr_fp_keys *keys = bpf_map_lookup_elem(&fr_fp_keys, &slot);
    __u64 *largest = bpf_map_lookup_elem(&fr_fp_rx_pn, &slot);
    struct fp_crypto *c = fp_crypto();
    struct fr_fp_phase_key *pk;
    __u64 trunc = 0, pn;
    __u8 first;

    if (!o || !keys || !largest || !c)
        return FR_FP_NO_KEYS;
    if (len > AEAD_TEXT_MAX || len < 1 + dcid + 4 + QUIC_HP_SAMPLE ||
        bpf_skb_load_bytes(skb, off, o->b, len))
        return FR_FP_NOT_QUIC;
#pragma unroll
    for (__u32 i = 0; i < QUIC_HP_SAMPLE; i++)
        c->hp.sample[i] = o->b[(1 + dcid + 4 + i) & (AEAD_BUF - 1)];
    fp_hp_mask(c, keys->hp);
    first = o->b[0] ^ (c->hp.mask[0] & 0x1f);
    pl = (first & 0x03) + 1;
    phase = (first >> 2) & 1;
    pk = &keys->phase[phase];
    if (!pk->set)
        return FR_FP_NO_KEYS;
    /* The header as the AEAD reads it: first byte, CID, packet number. */
    c->a.b[0] = first;
    for (__u32 i = 0; i < FR_FP_CID_MAX; i++)
        if (i < dcid)
            c->a.b[1 + i] = o->b[1 + i];
#pragma unroll
    for (__u32 i = 0; i < 4; i++) {
        if (i < pl) {
            __u8 b = o->b[(1 + dcid + i) & (AEAD_BUF - 1)] ^
                     c->hp.mask[1 + i];

            c->a.b[(1 + dcid + i) & 31] = b;
            trunc = trunc << 8 | b;
        }
    }
    hlen = 1 + dcid + pl;
    if (hlen > 32 || len < hlen + QUIC_TAG_LEN)
        return FR_FP_NOT_QUIC;
    text_len = len - hlen - QUIC_TAG_LEN;
    pn = pn_decode(*largest, trunc, pl);
    fp_packet_key(c, pk, pn);
    if (text_len == 0 || text_len > AEAD_TEXT_MAX ||
        bpf_skb_load_bytes(skb, off + hlen,
                           c->a.b + (((hlen + 15) & ~15u) & 63), text_len) ||
        bpf_skb_load_bytes(skb, end - QUIC_TAG_LEN, c->a.tag, QUIC_TAG_LEN))
        return FR_FP_NOT_QUIC;
    if (aead_open(&c->a, hlen, text_len))
        return FR_FP_OPEN_FAILED;
    note_pn(largest, pn);
    if (bpf_skb_store_bytes(skb, off, c->a.b, hlen, 0) ||
        bpf_skb_store_bytes(skb, off + hlen, c->a.b + (c->a.text_at & 63),
                            text_len, 0)) {
        /* Cannot happen; what was written goes back. */
        bpf_skb_store_bytes(skb, off, o->b, len, 0);
        return FR_FP_NOT_QUIC;
    }
    *pnlen = pl;
    return 0;
}

/* Walks the frames of the short-header packet at [off, end) of upstream
 * slot `slot` (packet number `pnlen` bytes, in clear) and sends its
 * copies. A subprogram of its own: its frame-walk state is off the main
 * program's stack, which the tls-mode opening's callbacks need. */
static __noinline void forward(struct __sk_buff *skb, __u32 off, __u32 end,
                               __u32 slot, __u32 pnlen)
{
    struct walk w = {0};
    int verdict;

    w.skb = skb;
    w.off = off + 1 + upstream_dcid_len + pnlen;
    w.end = end - QUIC_TAG_LEN;
    w.slot = slot;
    verdict = frames(&w);
    count(verdict);
    if (verdict == FR_FP_FORWARDABLE || verdict == FR_FP_LEADING_ACK)
        fan_out(skb, slot, &w);
}

/* tls mode: puts the packet at [off, end) back as it came. */
static __always_inline void restore(struct __sk_buff *skb, __u32 off,
                                    __u32 end)
{
    __u32 zero = 0, len = end - off;
    struct orig *o = bpf_map_lookup_elem(&fr_fp_orig, &zero);

    if (o && len > 0 && len <= AEAD_TEXT_MAX)
        bpf_skb_store_bytes(skb, off, o->b, len, 0);
}

SEC("tc")
int fr_upstream_ingress(struct __sk_buff *skb)
{
    struct fr_fp_cid_key key = {0};
    struct fr_fp_upstream *up;
    __u32 off, end, pnlen;
    __u8 first;
    int verdict;

    count(FR_FP_SEEN);
    if (udp_payload(skb, &off, &end) ||
        bpf_skb_load_bytes(skb, off, &first, 1)) {
        count(FR_FP_NOT_QUIC);
        return TC_ACT_UNSPEC;
    }
    if (first & 0x80) {
        count(FR_FP_LONG_HEADER);
        return TC_ACT_UNSPEC;
    }
    key.len = upstream_dcid_len;
    if (upstream_dcid_len == 0 || upstream_dcid_len > FR_FP_CID_MAX ||
        off + 1 + upstream_dcid_len + 4 + QUIC_TAG_LEN > end ||
        bpf_skb_load_bytes(skb, off + 1, key.cid, upstream_dcid_len & 0x1f)) {
        count(FR_FP_NOT_QUIC);
        return TC_ACT_UNSPEC;
    }
    up = bpf_map_lookup_elem(&fr_fp_upstream_cids, &key);
    if (!up) {
        count(FR_FP_UNKNOWN_CID);
        return TC_ACT_UNSPEC;
    }
    if (tls_mode) {
        verdict = open_packet(skb, off, end, up->slot, &pnlen);
        if (verdict) {
            count(verdict);
            return TC_ACT_UNSPEC;
        }
    } else {
        /* Header protection is the identity: the packet number's length
         * is readable in the first byte. */
        pnlen = (first & 0x03) + 1;
    }
    forward(skb, off, end, up->slot, pnlen);
    if (tls_mode)
        restore(skb, off, end);
    return TC_ACT_UNSPEC;
}
