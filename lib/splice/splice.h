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

#include "../../bpf/fastpath_kern_user.h"
#include "../quic/quic_internal.h"

typedef struct fr_splice_stats {
    uint64_t kernel_packets;  /* records of packets the kernel sent */
    uint64_t registered;      /* ... registered by a shadow write */
    uint64_t stale;           /* ... whose bytes ngtcp2 had sent already */
    uint64_t extra_packets;   /* frames ngtcp2 bundled, sent on their own */
    uint64_t userspace_bytes; /* kernel-stream bytes userspace sent */
    uint64_t held;            /* subscriber datagrams held back
                                 (fr_splice_hold) */
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
     * stream `stream_id`, the kernel's copy of `upstream_stream` (called
     * after the ngtcp2 call, never inside it). */
    void (*lost)(void *arg, fr_quic_conn *c, int64_t stream_id,
                 uint64_t upstream_stream);
} fr_splice_ops;

/* Makes every server connection of `ep` a spliced one, served by `ops`
 * (kept by pointer; NULL: no kernel side). Call before the endpoint
 * accepts connections. */
void fr_splice_enable(fr_quic_endpoint *ep, fr_splice_ops *ops);

int fr_splice_new(fr_quic_conn *c);
void fr_splice_free(fr_quic_conn *c);

/* The send state shared with the kernel: the local one until
 * fr_splice_use_tx moves it (counter and key phase carried over) into a
 * kernel slot's entry, or back to the local one with NULL (the caller
 * makes sure the kernel no longer sends on it). */
struct fr_fp_tx *fr_splice_tx_state(fr_quic_conn *c);
void fr_splice_use_tx(fr_quic_conn *c, struct fr_fp_tx *shared);

/* A pointer the fast path keeps with the connection (its slot). */
void fr_splice_set_ref(fr_quic_conn *c, void *ref);
void *fr_splice_ref(const fr_quic_conn *c);

/* Opens a uni stream whose data the kernel sends, for a pool. */
int fr_splice_open_stream(fr_quic_conn *c, int64_t *pstream_id);

/* A record of a packet the kernel sent on this connection. */
int fr_splice_kernel_sent(fr_quic_conn *c, const struct fr_fp_sent_event *ev);

/* Before every ngtcp2 call that may read, time out or write: withdraws the
 * kernel's budget, drains and registers the kernel's packets. */
void fr_splice_sync(fr_quic_conn *c, fr_tstamp now);
/* After the write loop sent a packet: registers kernel packets it may have
 * unblocked (bytes the kernel declined sent before them). */
void fr_splice_retry(fr_quic_conn *c, fr_tstamp now);
/* After it: publishes the budget ngtcp2's state allows. */
void fr_splice_publish(fr_quic_conn *c);

/* Rewrites a datagram from the subscriber (its 1-RTT packet's ACKs),
 * received at `now`, into the splice's buffer. Returns the new length with
 * *out set, 0 to hand ngtcp2 the datagram unchanged, or -1 to drop it. */
ssize_t fr_splice_rx(fr_quic_conn *c, const uint8_t *d, size_t len,
                     fr_tstamp now, const uint8_t **out);

/* ngtcp2 samples the RTT when an ACK newly acknowledges its largest
 * packet; a kernel packet registered `lag` late may lead one only `lag`
 * after its acknowledgement arrived (see pnmap.h). Rather than leave such
 * an acknowledgement for a later subscriber datagram (there may be none
 * for a while, and the congestion window stays full meanwhile), the
 * datagram that carries it is held until then, at most a few
 * milliseconds; datagrams after it wait behind it, in order. Returns 1 if
 * `d` (received at `now` on `path`) is held, 0 to read it now. */
int fr_splice_hold(fr_quic_conn *c, const fr_quic_path *path,
                   const uint8_t *d, size_t len, fr_tstamp now);
/* When the oldest held datagram is due (FR_TSTAMP_MAX: none held). */
fr_tstamp fr_splice_held_due(const fr_quic_conn *c);
/* Takes the oldest held datagram if it is due by `due_by`: copies it to
 * buf and its path to *path. Returns its length, or 0. */
size_t fr_splice_release(fr_quic_conn *c, fr_tstamp due_by,
                         fr_quic_path *path, uint8_t buf[FR_MAX_UDP_PAYLOAD]);

/* Gives the datagram ngtcp2 wrote into buf[0..n) (room for n + 3 bytes)
 * its wire number and records it. Returns the new length. */
size_t fr_splice_tx(fr_quic_conn *c, uint8_t *buf, size_t n);

/* Resets kernel stream `stream_id` with `code` once every packet the
 * kernel sent on it is registered, so that the final size covers them
 * (the kernel must have stopped forwarding it). Returns 0, or
 * FR_ERR_STREAM_NOT_FOUND. */
int fr_splice_reset_stream(fr_quic_conn *c, int64_t stream_id,
                           uint64_t code);

/* ngtcp2 declared 1-RTT packet `pkt` (its own number) lost; called from
 * inside ngtcp2, so the splice layer acts on it after the call. */
void fr_splice_packet_lost(fr_quic_conn *c, uint64_t pkt);

/* ngtcp2 raised the flow-control credit of one of the connection's
 * streams. */
void fr_splice_stream_credit(fr_quic_conn *c, int64_t stream_id,
                             uint64_t max_data);

/* The write loop sent `bytes` of a kernel stream (bytes the kernel
 * declined). */
void fr_splice_declined_sent(fr_quic_conn *c, uint64_t bytes);

void fr_splice_get_stats(const fr_quic_conn *c, fr_splice_stats *stats);

#endif
