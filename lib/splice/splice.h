/*
 * The splice layer of one subscriber connection: ngtcp2 stays the one source
 * of truth while the kernel pre-sends media on it (DESIGN.md section 6).
 *
 * Every 1-RTT packet ngtcp2 writes is renumbered from the connection's wire
 * counter (shared with the kernel) and recorded in the packet-number map;
 * every packet the kernel sent is registered by a shadow write (the same
 * stream bytes written through ngtcp2, kept off the wire); every ACK from
 * the subscriber is rewritten from wire numbers to ngtcp2's. The kernel's
 * budget is withdrawn around each ngtcp2 call and republished afterwards.
 *
 * A kernel-owned stream's bytes are queued by the application as usual;
 * the write loop sends only what no kernel packet carries (what the kernel
 * declined), everything else is registered from the kernel's records.
 */
#ifndef FR_SPLICE_SPLICE_H
#define FR_SPLICE_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <fastrelay/quic.h>

#include "../../bpf/fastpath_kern_user.h"
#include "../quic/packet_keys.h"

typedef struct fr_splice_stats {
    uint64_t kernel_packets;  /* records of packets the kernel sent */
    uint64_t registered;      /* ... registered by a shadow write */
    uint64_t stale;           /* ... whose bytes ngtcp2 had sent already */
    uint64_t extra_packets;   /* frames ngtcp2 bundled, sent on their own */
    uint64_t userspace_bytes; /* kernel-stream bytes userspace sent */
    uint64_t held;            /* subscriber datagrams held back
                                 (the hold hook) */
} fr_splice_stats;

/* Records not registered yet: each record is counted once, registered at
 * its first shadow write or stale when dropped before one. */
static inline uint64_t fr_splice_unregistered(const fr_splice_stats *s)
{
    return s->kernel_packets - s->registered - s->stale;
}

/* What the kernel side provides to spliced connections. */
typedef struct fr_splice_ops {
    void *arg;
    /* Called before each ngtcp2 call on spliced connection `c`: must hand
     * over, through fr_splice_kernel_sent, every record of a packet the
     * kernel sent so far (for any connection); may also bring the
     * kernel's view of `c` up to date. */
    void (*drain)(void *arg, fr_quic_conn *c);
    /* Optional: called once per flush of the endpoint, before it writes
     * its connections: hands over, through fr_splice_kernel_sent, the
     * records of packets the kernel sent, so that their connections are
     * written (only connections with something to do are). */
    void (*poll)(void *arg);
    /* Optional: when poll must run next at the latest (FR_TSTAMP_MAX:
     * at the next flush, whenever that is). */
    fr_tstamp (*poll_by)(void *arg);
    /* The subscriber raised kernel stream `stream_id`'s flow-control
     * credit to `max_data`. */
    void (*credit)(void *arg, fr_quic_conn *c, int64_t stream_id,
                   uint64_t max_data);
    /* How much of `allowed` (congestion window and credit left) the
     * kernel may send ahead now. */
    uint64_t (*budget)(void *arg, fr_quic_conn *c, uint64_t allowed);
    /* A kernel packet was registered. */
    void (*registered)(void *arg, fr_quic_conn *c,
                       const struct fr_fp_sent_event *ev);
    /* ngtcp2 declared lost a registered kernel packet of subscriber
     * stream `stream_id`, the kernel's copy of stream `upstream_stream`
     * of upstream slot `up_slot` (called after the ngtcp2 call, never
     * inside it). */
    void (*lost)(void *arg, fr_quic_conn *c, int64_t stream_id,
                 uint32_t up_slot, uint64_t upstream_stream);
    /* Optional, tls mode: the keys of key phase `phase` changed
     * (fr_splice_keys has them, or says the suite is not one the kernel
     * can use), before ngtcp2 sends with them. Called from inside ngtcp2:
     * store them, do not call into the connection. */
    void (*keys)(void *arg, fr_quic_conn *c, int phase);
} fr_splice_ops;

/* Makes every server connection `ep` makes from now on a spliced one
 * (lib/splice implements lib/quic's connection hooks), served by `ops`
 * (kept by pointer; NULL: no kernel side, also for those spliced
 * already). Call before the endpoint accepts connections. */
void fr_splice_enable(fr_quic_endpoint *ep, fr_splice_ops *ops);

/* Whether `c` is a spliced connection. */
int fr_splice_active(const fr_quic_conn *c);

/* The send state shared with the kernel: the local one until
 * fr_splice_use_tx moves it (counter and key phase carried over) into a
 * kernel slot's entry, or back to the local one with NULL (the caller
 * makes sure the kernel no longer sends on it). */
struct fr_fp_tx *fr_splice_tx_state(fr_quic_conn *c);
void fr_splice_use_tx(fr_quic_conn *c, struct fr_fp_tx *shared);

/* A pointer the fast path keeps with the connection (its slot); NULL on
 * a connection that is not spliced. */
void fr_splice_set_ref(fr_quic_conn *c, void *ref);
void *fr_splice_ref(const fr_quic_conn *c);

/* In tls mode, the keys the kernel seals its copies with in key phase
 * `phase` (0 or 1): each generation of the connection's 1-RTT keys is
 * kept under its phase bit from before ngtcp2 uses it. Returns 0,
 * FR_ERR_UNSUPPORTED when the negotiated suite is not ChaCha20-Poly1305,
 * FR_ERR_INVALID_STATE when there are none (cleartext mode, a connection
 * that is not spliced, before the handshake, or the phase has had no
 * generation yet). */
int fr_splice_keys(const fr_quic_conn *c, int phase, fr_packet_keys *k);

/* Opens a uni stream whose data the kernel sends, for a pool. */
int fr_splice_open_stream(fr_quic_conn *c, int64_t *pstream_id);

/* A record of a packet the kernel sent on this connection. */
int fr_splice_kernel_sent(fr_quic_conn *c, const struct fr_fp_sent_event *ev);

/* Resets kernel stream `stream_id` with `code` once every packet the
 * kernel sent on it is registered, so that the final size covers them
 * (the kernel must have stopped forwarding it). Returns 0, or
 * FR_ERR_STREAM_NOT_FOUND. */
int fr_splice_reset_stream(fr_quic_conn *c, int64_t stream_id,
                           uint64_t code);

void fr_splice_get_stats(const fr_quic_conn *c, fr_splice_stats *stats);

#endif
