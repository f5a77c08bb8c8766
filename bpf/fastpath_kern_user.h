/*
 * Maps and events of the kernel fast path, shared by its programs
 * (bpf/upstream_ingress.bpf.c, bpf/subscriber_egress.bpf.c) and
 * lib/fastpath/ (and its tests). Every structure that crosses the
 * kernel/user boundary is defined here once: fixed-width fields, explicit
 * padding, sizes asserted.
 */
#ifndef FR_FASTPATH_KERN_USER_H
#define FR_FASTPATH_KERN_USER_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define FR_FP_CID_MAX 20
/* Streams tracked per upstream connection at most (LRU). */
#define FR_FP_MAX_STREAMS 65536
#define FR_FP_MAX_UPSTREAM_CIDS 1024

/* Key of fr_fp_upstream_cids: one of our CIDs on an upstream connection. */
struct fr_fp_cid_key {
    __u8 len;
    __u8 cid[FR_FP_CID_MAX];
    __u8 pad[3];
};
_Static_assert(sizeof(struct fr_fp_cid_key) == 24, "fr_fp_cid_key layout");

/* Value of fr_fp_upstream_cids. */
struct fr_fp_upstream {
    __u32 slot;              /* upstream connection slot */
    __u32 pad;
};
_Static_assert(sizeof(struct fr_fp_upstream) == 8, "fr_fp_upstream layout");

/* Key of fr_fp_streams: an upstream connection's stream. */
struct fr_fp_stream_key {
    __u32 slot;
    __u32 pad;
    __u64 stream_id;
};
_Static_assert(sizeof(struct fr_fp_stream_key) == 16,
               "fr_fp_stream_key layout");

/* Value of fr_fp_streams: what its MoQT SUBGROUP_HEADER said. */
struct fr_fp_stream {
    __u64 track_alias;
    __u64 group;
    __u64 subgroup;
    __u64 header_type;       /* the SUBGROUP_HEADER type */
    __u8 priority;           /* the header's publisher priority, if
                                has_priority; else the track's default
                                (fr_fp_subscribers) applies */
    __u8 has_priority;
    __u8 alias_at;           /* where the header's track alias begins */
    __u8 alias_len;          /* ... and its encoded length */
    __u8 pad[4];
};
_Static_assert(sizeof(struct fr_fp_stream) == 40, "fr_fp_stream layout");

/* Clones for subscribers carry this in skb->mark, with the slot in the
 * low 16 bits. */
#define FR_FP_MARK_MAGIC 0xfa570000u
#define FR_FP_MARK_MASK 0xffff0000u
#define FR_FP_MAX_SLOTS 4096

/* Value of fr_fp_slots: where and how a subscriber's copies go. Addresses
 * and ports are in network byte order. */
struct fr_fp_slot {
    __u64 stream_credit;     /* the subscriber's initial flow-control
                                credit per uni stream (its
                                initial_max_stream_data_uni): how far a
                                stream without an fr_fp_credit entry may
                                go */
    __u8 dst_mac[6];
    __u8 src_mac[6];
    __u32 src_ip;
    __u32 dst_ip;
    __u16 src_port;
    __u16 dst_port;
    __u32 ifindex;           /* where its copies leave */
    __u8 active;
    __u8 dcid_len;
    __u8 dcid[FR_FP_CID_MAX];
    __u8 priority_floor;     /* subgroups with a greater publisher
                                priority are not forwarded (policy) */
    __u8 stream_shift;       /* bytes each of the subscriber's uni
                                streams carries before the MoQT bytes
                                (a WebTransport stream header, written
                                by userspace): added to every copy's
                                stream offset */
    __u16 max_payload;       /* largest UDP payload towards the
                                subscriber: a copy that grew past it is
                                left to userspace */
    __u16 gen;               /* which connection holds the slot now: it
                                changes whenever the slot is freed */
};
_Static_assert(sizeof(struct fr_fp_slot) == 64, "fr_fp_slot layout");

/* Key of fr_fp_substreams: an upstream stream as one subscriber gets it;
 * the value is the subscriber's stream ID (__u64), or
 * FR_FP_SUBSTREAM_USERSPACE. Whoever writes the entry first (with
 * BPF_NOEXIST) decides who serves the stream to the subscriber: the
 * kernel at the stream's first packet, or userspace when it reaches the
 * stream's start and finds no entry. A subscriber may get tracks of
 * several upstream connections, whose stream IDs are each their own:
 * the upstream's slot is part of the key. */
struct fr_fp_substream_key {
    __u32 slot;
    __u32 up_slot;
    __u64 upstream_stream;
};
_Static_assert(sizeof(struct fr_fp_substream_key) == 16,
               "fr_fp_substream_key layout");

/* Value of a fr_fp_substreams entry: userspace serves the stream. */
#define FR_FP_SUBSTREAM_USERSPACE (~(__u64)0)

/* Key of fr_fp_credit (LRU): a subscriber stream whose flow-control credit
 * grew past the initial one; the value is the stream offset its data may
 * reach (__u64, MAX_STREAM_DATA). A missing entry means the slot's
 * stream_credit, never more than the real credit. */
struct fr_fp_credit_key {
    __u32 slot;
    __u32 pad;
    __u64 stream;
};
_Static_assert(sizeof(struct fr_fp_credit_key) == 16,
               "fr_fp_credit_key layout");

/* Key of fr_fp_track_slots: one page of the list of subscriber slots that
 * get a track of an upstream connection. A track's pages are numbered
 * from 0 without a gap, every page but the last full; the kernel reads
 * them in order until one is missing. */
#define FR_FP_MAX_FANOUT 255     /* subscribers per page */
#define FR_FP_TRACK_PAGES 8      /* pages per track: 2040 subscribers */
struct fr_fp_track_key {
    __u32 upstream_slot;
    __u32 page;
    __u64 track_alias;
};
_Static_assert(sizeof(struct fr_fp_track_key) == 16, "fr_fp_track_key layout");

struct fr_fp_subscribers {
    __u32 count;
    __u8 default_priority;   /* the track's publisher priority, for
                                subgroup headers that carry none */
    __u8 pad[3];
    __u64 down_alias;        /* the alias the subscribers know the track
                                by: a subgroup header that names another
                                gets it written over its own, encoded in
                                as many bytes (the same on every page) */
    __u32 slots[FR_FP_MAX_FANOUT];
    __u32 pad2;
};
_Static_assert(sizeof(struct fr_fp_subscribers) == 1040,
               "fr_fp_subscribers layout");

/* Value of fr_fp_pools (one per slot): unidirectional stream IDs userspace
 * opened on the subscriber's connection for the kernel to use. head and
 * tail count freely (wrapping); the kernel takes ids[head % size] while
 * head != tail, userspace refills ids[tail % size] and then moves tail. */
#define FR_FP_POOL_SIZE 32
struct fr_fp_pool {
    __u32 head;
    __u32 tail;
    __u64 ids[FR_FP_POOL_SIZE];
};
_Static_assert(sizeof(struct fr_fp_pool) == 264, "fr_fp_pool layout");

/* Value of fr_fp_tx (an mmapable array indexed by slot): the send state of
 * one subscriber connection, shared by the egress program and the
 * library's send path, kept in one entry so the fields change together. */
struct fr_fp_tx {
    __u64 next_pn;           /* next wire packet number (atomic add) */
    __s64 budget;            /* UDP payload bytes the kernel may still send
                              * (compare-and-swap); userspace sets it to 0
                              * around every ngtcp2 call and republishes */
    __u32 key_phase;         /* of the newest packet ngtcp2 wrote */
    __u32 pad;
};
_Static_assert(sizeof(struct fr_fp_tx) == 24, "fr_fp_tx layout");

/* Value of fr_fp_keys (an array indexed by slot): a connection's 1-RTT
 * keys for TLS_CHACHA20_POLY1305_SHA256 in tls mode (RFC 9001 section
 * 5.1) -- ours for a subscriber slot (egress seals with them), the
 * peer's for an upstream slot (ingress opens with them). Each key phase
 * holds its newest generation; userspace writes the next one into the
 * phase not in use before ngtcp2 (or the peer) uses it, so a program never
 * reads a phase while it changes. */
#define FR_FP_KEY_LEN 32
#define FR_FP_IV_LEN 12
struct fr_fp_phase_key {
    __u8 key[FR_FP_KEY_LEN];
    __u8 iv[FR_FP_IV_LEN];
    __u8 set;
    __u8 pad[3];
};
_Static_assert(sizeof(struct fr_fp_phase_key) == 48,
               "fr_fp_phase_key layout");

struct fr_fp_keys {
    __u8 hp[FR_FP_KEY_LEN];  /* header protection: kept across updates */
    struct fr_fp_phase_key phase[2];
};
_Static_assert(sizeof(struct fr_fp_keys) == 128, "fr_fp_keys layout");

/* Record of the ring buffer fr_fp_sent, one per copy the egress program
 * sent: what the splice layer needs to register the packet with the
 * subscriber's connection as if ngtcp2 had sent it. */
struct fr_fp_sent_event {
    __u64 time_ns;           /* CLOCK_MONOTONIC, when it left */
    __u64 pn;                /* its packet number on the subscriber's side */
    __u64 upstream_stream;
    __u64 stream;            /* the subscriber's stream */
    __u64 offset;            /* of its STREAM frame's data */
    __u32 length;            /* ... and that data's length */
    __u32 slot;
    __u16 packet_len;        /* UDP payload bytes */
    __u16 gen;               /* the slot's gen when the copy was made */
    __u8 fin;
    __u8 pad;
    __u16 up_slot;           /* the upstream connection it came from */
};
_Static_assert(sizeof(struct fr_fp_sent_event) == 56,
               "fr_fp_sent_event layout");

/* Why the subscriber egress program did what it did; counted in the
 * per-CPU array fr_fp_egress_reasons. */
enum fr_fp_egress_reason {
    FR_FP_EG_SEEN = 0,       /* every packet the program ran on */
    FR_FP_EG_NOT_CLONE,      /* not one of our clones: untouched */
    FR_FP_EG_NO_SLOT,        /* a clone for an inactive slot: dropped */
    FR_FP_EG_UNSUPPORTED,    /* a clone we cannot rewrite: dropped */
    FR_FP_EG_NO_STREAM,      /* no subscriber stream for it: dropped */
    FR_FP_EG_SENT,           /* rewritten and sent */
    FR_FP_EG_NO_ROOM,        /* fr_fp_sent was full: dropped, since the
                                subscriber's connection could not learn
                                of it */
    FR_FP_EG_NO_BUDGET,      /* the subscriber's congestion window or
                                flow-control credit is used up: dropped,
                                userspace sends those bytes */
    FR_FP_EG_NO_CREDIT,      /* beyond the stream's flow-control credit:
                                dropped, userspace sends those bytes */
    FR_FP_EG_TOO_BIG,        /* the rewritten copy would exceed the
                                subscriber path's payload size: dropped,
                                userspace sends those bytes */
    FR_FP_EG_NO_KEYS,        /* tls mode: no key for the key phase: not
                                sent (cannot happen: keys come first) */
    FR_FP_EG_REASONS
};

/* The longest SUBGROUP_HEADER (type, alias, group, subgroup as 9-byte
 * varints and a priority byte) is 37 bytes. */
#define FR_FP_HEADER_MAX 48

/* Value of fr_fp_pending: the first bytes of a stream whose header did not
 * fit its first STREAM frame (senders split frames at packet ends). */
struct fr_fp_pending {
    __u8 len;
    __u8 pad[7];
    __u8 bytes[FR_FP_HEADER_MAX];
};
_Static_assert(sizeof(struct fr_fp_pending) == 56, "fr_fp_pending layout");

/* Why the upstream ingress program did what it did with a packet; counted
 * in the per-CPU array fr_fp_reasons. */
enum fr_fp_reason {
    FR_FP_SEEN = 0,          /* every packet the program ran on */
    FR_FP_NOT_QUIC,          /* not IPv4/IPv6 UDP, or too short */
    FR_FP_LONG_HEADER,       /* handshake packets */
    FR_FP_UNKNOWN_CID,       /* not an upstream connection of ours */
    FR_FP_UNKNOWN_FRAME,     /* a frame other than PADDING, PING, STREAM */
    FR_FP_NOT_MEDIA,         /* a stream with no known subgroup header */
    FR_FP_MALFORMED,         /* frames that do not parse */
    FR_FP_NEW_SUBGROUP,      /* a subgroup header was recorded */
    FR_FP_SPLIT_HEADER,      /* ... of which it spanned STREAM frames */
    FR_FP_FORWARDABLE,       /* every frame is understood media */
    FR_FP_NEEDS_ACK_STRIP,   /* media with ACK frames elsewhere than
                                first: left to userspace */
    FR_FP_MULTI_STREAM,      /* media of several streams in one packet */
    FR_FP_CLONES,            /* copies sent towards subscribers */
    FR_FP_NO_SUBSTREAM,      /* a subscriber missed a copy: no stream of
                                its own for it (its start went up to
                                userspace, or its pool was empty) */
    FR_FP_LEADING_ACK,       /* media behind one leading ACK frame, which
                                egress leaves out: forwarded */
    FR_FP_MEDIA_NOT_FIRST,   /* media behind other frames (PING...) */
    FR_FP_POLICY_DROP,       /* a subgroup a subscriber's priority floor
                                excludes: not forwarded to it */
    FR_FP_NO_KEYS,           /* tls mode: no key for the packet's key
                                phase (yet): up to userspace */
    FR_FP_OPEN_FAILED,       /* tls mode: the packet did not authenticate
                                (tampered, or not the key it names): never
                                forwarded, up to userspace untouched */
    FR_FP_ALIAS_TOO_LONG,    /* a stream's start whose header's alias
                                field is too short for the subscribers'
                                alias: the stream is left to userspace */
    FR_FP_REASONS
};

#endif
