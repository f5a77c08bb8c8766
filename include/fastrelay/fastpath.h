/*
 * libfastrelay — the kernel fast path of a relay.
 *
 * With a fast path, the relay's media reaches subscribers from the kernel:
 * a tc program on the interface facing the upstream (origin) clones each
 * media packet, one copy per subscriber of its track, and a program on the
 * subscriber-facing interface rewrites each copy into a packet of that
 * subscriber's QUIC connection. The relay still receives every packet and
 * keeps every subscriber connection coherent (ngtcp2 learns of each kernel
 * packet, acknowledges, retransmits and controls congestion as if it had
 * sent it), so subscribers are plain QUIC/MoQT clients that know nothing
 * of it. Whatever the kernel cannot or may not send, userspace sends.
 *
 * Requirements: cleartext mode (the kernel reads and writes the 1-RTT
 * payload), IPv4, root or CAP_BPF + CAP_NET_ADMIN, and the same
 * connection-ID length on every endpoint of the relay. Copies leave by
 * the interface of the subscriber's route in the main routing table, to
 * the next hop's MAC address in the ARP table (the subscriber's, or its
 * route's gateway's); a subscriber without both is served by userspace.
 */
#ifndef FASTRELAY_FASTPATH_H
#define FASTRELAY_FASTPATH_H

#include <fastrelay/moq.h>
#include <fastrelay/relay.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fr_fastpath fr_fastpath;

/* Bytes by which the kernel's copy of an upstream packet may outgrow it
 * (packet number 1 -> 4 bytes, a CID up to 16 bytes longer, a stream ID
 * varint up to 7). Copies that would not fit the subscriber's path are
 * left to userspace. Connections the upstream opens to the relay's
 * fast-path endpoint ask it for packets this much smaller by themselves;
 * for upstreams the relay dials, set that endpoint's
 * fr_quic_settings.max_udp_payload_recv to the subscribers' endpoint's
 * max_udp_payload_size minus this. */
#define FR_FASTPATH_HEADROOM 32

typedef enum fr_fastpath_attach {
    FR_FASTPATH_ATTACH_AUTO = 0, /* tcx where the kernel has it, else tc */
    FR_FASTPATH_ATTACH_TCX,
    FR_FASTPATH_ATTACH_TC
} fr_fastpath_attach;

typedef struct fr_fastpath_settings {
    fr_fastpath_attach attach;
    fr_log log;
} fr_fastpath_settings;

/* Fills `s`, of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_fastpath_settings_default), with defaults: attach mode auto, logging
 * off. Returns 0, or FR_ERR_INVALID_ARGUMENT for an unknown layout
 * (nothing written). */
FR_EXTERN int fr_fastpath_settings_default_versioned(int version,
                                                     fr_fastpath_settings *s);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_fastpath_settings_default(fr_fastpath_settings *s);
#define fr_fastpath_settings_default(s)                                     \
    ((void)fr_fastpath_settings_default_versioned(FR_LAYOUT_VERSION, (s)))

/* Counters, defined once with their descriptions. Media copies are
 * counted once per packet sent to one subscriber, first transmissions
 * only; the kernel's share is kernel_copies / (kernel_copies +
 * userspace_copies). */
#define FR_FASTPATH_STATS_FOREACH(X)                                          \
    X(kernel_copies, "media packet copies the kernel sent")                   \
    X(userspace_copies, "media packet copies userspace sent of subgroups "    \
                        "that began after the subscriber joined")             \
    X(cache_replay_copies, "packets userspace sent to late joiners from the " \
                           "cache")                                           \
    X(registered, "kernel copies registered with their connection")           \
    X(unregistered, "kernel copies of open connections not registered "      \
                    "yet")                                                    \
    X(retransmitted, "packets declared lost on subscriber connections, "      \
                     "their data sent again")                                 \
    X(stale, "kernel copies whose bytes userspace had sent already")          \
    X(orphaned, "kernel copies made for a subscriber connection as it left")  \
    X(declined_bytes, "bytes of kernel streams userspace sent itself")        \
    X(extra_packets, "packets carrying frames ngtcp2 bundled with kernel "    \
                     "data")                                                  \
    X(held_datagrams, "subscriber datagrams held back a little so that "      \
                      "ngtcp2's RTT samples stay true")                       \
    X(policy_drops, "subgroups not sent to a subscriber by its priority "     \
                    "policy")                                                 \
    X(lost_resets, "kernel streams reset after a loss, by the on_lost hook")  \
    X(cid_changes, "subscribers' new connection IDs the kernel followed")     \
    X(moves, "subscribers' new addresses or ports the kernel followed")      \
    X(next_hop_changes, "changes of a subscriber's route or next-hop MAC "   \
                        "address the kernel followed")                        \
    X(subscribers, "subscriber connections the kernel serves now")           \
    X(upstreams, "upstream connections the kernel reads now")                \
    X(late_starts, "subgroup starts the kernel took on while userspace "     \
                   "looked for them (the kernel serves them)")

typedef struct fr_fastpath_stats {
#define FR_FASTPATH_STAT_FIELD_(name, desc) uint64_t name;
    FR_FASTPATH_STATS_FOREACH(FR_FASTPATH_STAT_FIELD_)
#undef FR_FASTPATH_STAT_FIELD_
} fr_fastpath_stats;

/* Layouts of fr_fastpath_stats (FR_LAYOUT_VERSION): counters are only
 * ever appended, and a caller built against an older header gets its
 * layout filled, not a byte more. 1: up to `upstreams`; 2: `late_starts`
 * too. */
#define FR_FASTPATH_STATS_V1 1
#define FR_FASTPATH_STATS_V2 2
#define FR_FASTPATH_STATS_VERSION FR_LAYOUT_VERSION

/* What the policies know of one subscriber connection. */
typedef struct fr_fastpath_subscriber {
    fr_moq_session *session;
    fr_duration smoothed_rtt;
    fr_duration min_rtt;
    uint64_t cwnd;               /* congestion window, bytes */
    uint64_t bytes_in_flight;
    uint64_t queued;             /* bytes not yet sent or acknowledged */
    uint64_t delivery_rate;      /* bytes acknowledged per second, over
                                    the last 100 ms or more */
    uint64_t lost_packets;       /* declared lost so far */
} fr_fastpath_subscriber;

typedef enum fr_fastpath_lost_action {
    FR_FASTPATH_RETRANSMIT = 0,  /* ngtcp2 sends the data again, on the
                                    same stream and offset */
    FR_FASTPATH_RESET            /* the subgroup's stream is reset: stale
                                    media is given up */
} fr_fastpath_lost_action;

/* The application's say in the fast path. Every member may be NULL. */
typedef struct fr_fastpath_hooks {
    void *user_data;
    /* Priority policy: the least urgent publisher priority this
     * subscriber still gets; subgroups with a greater priority value are
     * sent to it neither by the kernel nor by userspace. Decided at each
     * subgroup's first packet, never in the middle of one. Asked for a
     * subscriber the kernel serves after its connection did work, at most
     * every 10 ms (every time while `budget` is set); for one it does not
     * serve, at each subgroup. NULL: fr_fastpath_default_priority_floor. */
    uint8_t (*priority_floor)(const fr_fastpath_subscriber *sub,
                              void *user_data);
    /* Congestion policy: the bytes the kernel may send ahead for this
     * subscriber now, at most `allowed` (what its congestion window and
     * flow-control credit leave). Asked after every read, timer and
     * write on the subscriber's connection: keep it cheap. NULL:
     * `allowed`. */
    uint64_t (*budget)(const fr_fastpath_subscriber *sub, uint64_t allowed,
                       void *user_data);
    /* The connection ID the kernel writes into the subscriber's packets
     * changed (set first when the kernel starts serving it). */
    void (*cid_update)(fr_moq_session *s, const uint8_t *cid, size_t len,
                       void *user_data);
    /* A packet the kernel sent was registered with the subscriber's
     * connection: `length` bytes at `offset` of stream `stream_id`. */
    void (*registered)(fr_moq_session *s, int64_t stream_id, uint64_t offset,
                       size_t length, void *user_data);
    /* A packet with stream data the kernel had sent was declared lost.
     * NULL: FR_FASTPATH_RETRANSMIT. */
    fr_fastpath_lost_action (*on_lost)(fr_moq_session *s, int64_t stream_id,
                                       void *user_data);
} fr_fastpath_hooks;

/* The default priority policy: every priority while the subscriber keeps
 * up; once more than two seconds of data waits for it, only publisher
 * priorities up to 127 (e.g. key frames at 0, not other frames at 128),
 * so that it catches up on what matters. Seconds are reckoned at the
 * faster of its measured delivery rate and its congestion window per
 * smoothed RTT (a connection that had little to send delivered less than
 * it can). A subscriber whose rate is not measured yet (just joined, or
 * not served by the kernel) gets every priority. */
FR_EXTERN uint8_t
fr_fastpath_default_priority_floor(const fr_fastpath_subscriber *sub,
                                   void *user_data);

/* Loads and starts the fast path for `relay`, whose subscribers connect
 * to `downstream` (an endpoint that has accepted no connection yet).
 * Programs are attached to interfaces as connections appear on them.
 * In tls mode (the normal one) the kernel opens each upstream packet and
 * seals each copy with TLS_CHACHA20_POLY1305_SHA256, which the endpoint
 * then prefers; a connection that negotiates another suite is served by
 * userspace (fallback `cipher`). In cleartext mode it reads and rewrites
 * the packets as they are. `settings` are of layout `version`
 * (FR_LAYOUT_VERSION; callers use fr_fastpath_new). Returns 0, or a
 * negative FR_ERR_* with a readable reason in `why` (whylen bytes):
 * FR_ERR_INVALID_ARGUMENT when the layout is unknown, FR_ERR_BPF when the
 * programs cannot be loaded (naming the missing capability). */
FR_EXTERN int fr_fastpath_new_versioned(fr_fastpath **pfp, fr_relay *relay,
                                        fr_moq_endpoint *downstream,
                                        int version,
                                        const fr_fastpath_settings *settings,
                                        char *why, size_t whylen);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_fastpath_new(fr_fastpath **pfp, fr_relay *relay,
                              fr_moq_endpoint *downstream,
                              const fr_fastpath_settings *settings,
                              char *why, size_t whylen);
#define fr_fastpath_new(pfp, relay, downstream, settings, why, whylen)       \
    fr_fastpath_new_versioned((pfp), (relay), (downstream),                  \
                              FR_LAYOUT_VERSION, (settings), (why), (whylen))

/* An endpoint of the relay's own upstream connections besides
 * `downstream` (one it connects from to an origin or relay): in tls mode
 * its connections must keep the keys the kernel opens their packets with,
 * and offer ChaCha20-Poly1305 first. Call before it connects. Returns 0,
 * FR_ERR_INVALID_STATE when it has connections already. */
FR_EXTERN int fr_fastpath_add_upstream_endpoint(fr_fastpath *fp,
                                                fr_moq_endpoint *upstream);

/* Installs the application's hooks, of layout `version` (FR_LAYOUT_VERSION;
 * callers use fr_fastpath_set_hooks), copied; NULL restores the defaults.
 * Returns 0, or FR_ERR_INVALID_ARGUMENT for an unknown layout (the hooks
 * stay as they were). */
FR_EXTERN int fr_fastpath_set_hooks_versioned(fr_fastpath *fp, int version,
                                              const fr_fastpath_hooks *hooks);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_fastpath_set_hooks(fr_fastpath *fp,
                                     const fr_fastpath_hooks *hooks);
#define fr_fastpath_set_hooks(fp, hooks)                                    \
    ((void)fr_fastpath_set_hooks_versioned((fp), FR_LAYOUT_VERSION, (hooks)))

/* Detaches every program and removes every map. Call before the
 * endpoints and the relay are deleted. NULL is ignored. */
FR_EXTERN void fr_fastpath_del(fr_fastpath *fp);

/* Fills `st`, a fr_fastpath_stats of layout `version` (callers use
 * fr_fastpath_get_stats). Returns 0, or FR_ERR_INVALID_ARGUMENT for a
 * version this library does not know (nothing written). */
FR_EXTERN int fr_fastpath_get_stats_versioned(const fr_fastpath *fp,
                                              int version,
                                              fr_fastpath_stats *st);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_fastpath_get_stats(const fr_fastpath *fp,
                                     fr_fastpath_stats *st);
#define fr_fastpath_get_stats(fp, st)                                       \
    ((void)fr_fastpath_get_stats_versioned((fp), FR_FASTPATH_STATS_VERSION, \
                                           (st)))

/* Why packets went to userspace instead of the kernel, counted by the
 * programs: reason i (0 <= i < fr_fastpath_fallback_reasons()) has a
 * short name (e.g. "no_budget") and a count since the fast path started.
 * Some reasons (unknown_frame) also count packets that are not media.
 * One counts connections, not packets: "cipher", those (subscribers or
 * upstreams) that negotiated a suite the kernel cannot seal or open with
 * (all their media goes through userspace). "open_failed" counts upstream
 * packets that did not authenticate: never forwarded. */
FR_EXTERN size_t fr_fastpath_fallback_reasons(void);
FR_EXTERN const char *fr_fastpath_fallback_name(size_t i);
FR_EXTERN uint64_t fr_fastpath_fallback_count(const fr_fastpath *fp,
                                              size_t i);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_FASTPATH_H */
