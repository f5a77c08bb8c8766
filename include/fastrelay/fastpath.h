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
 * payload), IPv4, subscribers on the same link as the relay, root or
 * CAP_BPF + CAP_NET_ADMIN, and the same connection-ID length on every
 * endpoint of the relay.
 */
#ifndef FASTRELAY_FASTPATH_H
#define FASTRELAY_FASTPATH_H

#include <fastrelay/moq.h>
#include <fastrelay/relay.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fr_fastpath fr_fastpath;

typedef enum fr_fastpath_attach {
    FR_FASTPATH_ATTACH_AUTO = 0, /* tcx where the kernel has it, else tc */
    FR_FASTPATH_ATTACH_TCX,
    FR_FASTPATH_ATTACH_TC
} fr_fastpath_attach;

typedef struct fr_fastpath_settings {
    fr_fastpath_attach attach;
    fr_log log;
} fr_fastpath_settings;

FR_EXTERN void fr_fastpath_settings_default(fr_fastpath_settings *s);

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
    X(retransmitted, "packets declared lost on subscriber connections, "      \
                     "their data sent again")                                 \
    X(stale, "kernel copies whose bytes userspace had sent already")          \
    X(declined_bytes, "bytes of kernel streams userspace sent itself")        \
    X(extra_packets, "packets carrying frames ngtcp2 bundled with kernel "    \
                     "data")                                                  \
    X(subscribers, "subscriber connections the kernel serves now")           \
    X(upstreams, "upstream connections the kernel reads now")

typedef struct fr_fastpath_stats {
#define FR_FASTPATH_STAT_FIELD_(name, desc) uint64_t name;
    FR_FASTPATH_STATS_FOREACH(FR_FASTPATH_STAT_FIELD_)
#undef FR_FASTPATH_STAT_FIELD_
} fr_fastpath_stats;

/* Loads and starts the fast path for `relay`, whose subscribers connect
 * to `downstream` (an endpoint that has accepted no connection yet).
 * Programs are attached to interfaces as connections appear on them.
 * Returns 0, or a negative FR_ERR_* with a readable reason in `why`
 * (whylen bytes): FR_ERR_INVALID_ARGUMENT when the endpoint is not in
 * cleartext mode, FR_ERR_BPF when the programs cannot be loaded (naming
 * the missing capability). */
FR_EXTERN int fr_fastpath_new(fr_fastpath **pfp, fr_relay *relay,
                              fr_moq_endpoint *downstream,
                              const fr_fastpath_settings *settings,
                              char *why, size_t whylen);

/* Detaches every program and removes every map. Call before the
 * endpoints and the relay are deleted. NULL is ignored. */
FR_EXTERN void fr_fastpath_del(fr_fastpath *fp);

FR_EXTERN void fr_fastpath_get_stats(const fr_fastpath *fp,
                                     fr_fastpath_stats *st);

/* Why packets went to userspace instead of the kernel, counted by the
 * programs: reason i (0 <= i < fr_fastpath_fallback_reasons()) has a
 * short name (e.g. "no_budget") and a count since the fast path started.
 * Some reasons (unknown_frame) also count packets that are not media. */
FR_EXTERN size_t fr_fastpath_fallback_reasons(void);
FR_EXTERN const char *fr_fastpath_fallback_name(size_t i);
FR_EXTERN uint64_t fr_fastpath_fallback_count(const fr_fastpath *fp,
                                              size_t i);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_FASTPATH_H */
