/*
 * Packet numbers of one subscriber connection in two spaces: the wire
 * numbers the subscriber sees (one counter shared by the kernel and
 * userspace) and ngtcp2's own numbers. One ngtcp2 packet may travel in
 * several wire packets (kernel-sent stream data plus userspace-sent extra
 * frames); it counts as acknowledged once all of them are. ACKs from the
 * subscriber name wire numbers; this map turns them into ngtcp2 numbers,
 * holding acknowledgements of wire packets not registered yet (the ACK can
 * overtake the kernel's ring-buffer event) until they are.
 *
 * Numbers older than the window (FR_PNMAP_WINDOW packets behind the newest)
 * are forgotten: an ACK for them is ignored. The map holds fewer slots
 * while fewer packets are in flight, and grows (to the window at most)
 * when a number would push out one that still matters.
 *
 * ngtcp2 takes a packet's send time to be when it was registered; for a
 * kernel packet that is `lag` after it really left. An RTT sample from it
 * would be `lag` short (ngtcp2 samples the largest newly acknowledged
 * packet), and on a fast link min_rtt would collapse. So a packet is
 * reported as the largest of an ACK only once ngtcp2's sample would come
 * out at least three quarters of the true round trip: `lag` less a
 * quarter of that round trip after its acknowledgement arrived (at once
 * when the lag is smaller). Until then it waits, or goes out below a
 * larger packet's number (no sample then).
 * Times are nanoseconds on the clock of the kernel's records
 * (CLOCK_MONOTONIC).
 */
#ifndef FR_SPLICE_PNMAP_H
#define FR_SPLICE_PNMAP_H

#include <stddef.h>
#include <stdint.h>

/* Packets in flight per subscriber stay well below this: the splice
 * layer lets the kernel have half of it in flight at most (256 full
 * packets, about 300 KB: 24 Mbit/s at a 100 ms round trip; beyond that
 * userspace sends). The map and the splice layer's per-packet record
 * cost about 100 bytes per slot and subscriber. */
#define FR_PNMAP_WINDOW 512 /* power of two */
#define FR_PNMAP_MAX_WIRES 4 /* wire packets per ngtcp2 packet */

/* Packet numbers first..last, inclusive. */
typedef struct fr_pn_range {
    uint64_t first;
    uint64_t last;
} fr_pn_range;

typedef struct fr_pnmap fr_pnmap;

/* NULL when out of memory. */
fr_pnmap *fr_pnmap_new(void);
void fr_pnmap_del(fr_pnmap *m);

/* How many numbers of each space the map has room for now. */
size_t fr_pnmap_slots(const fr_pnmap *m);

/* ngtcp2 packet `pkt` went out in wire packets wires[0..n), the first of
 * them `lag` ns before it was registered at `now` (lag 0: when
 * registered). The last `ack_only` of them (fewer than n) hold only ACK
 * frames: the subscriber may leave those unacknowledged for its whole
 * ACK delay, so pkt counts as acknowledged without them. Should one be
 * lost, ngtcp2 takes its ACK frame for delivered and need not repeat
 * it; the cost, on loss only, is that the subscriber may resend what
 * that ACK covered. Returns 0, or
 * FR_ERR_INVALID_ARGUMENT (n out of 1..FR_PNMAP_MAX_WIRES, ack_only not
 * below n, a wire number or pkt already registered). */
int fr_pnmap_register(fr_pnmap *m, uint64_t pkt, const uint64_t *wires,
                      size_t n, size_t ack_only, uint64_t lag, uint64_t now);

/* Whether wire number `wire` was acknowledged and is not registered yet. */
int fr_pnmap_acked_early(const fr_pnmap *m, uint64_t wire);

/* ngtcp2 keeps no record of registered packet `pkt` (only ACKs: it is
 * not in flight and cannot be declared lost), so it holds back no other
 * packet's report (see fr_pnmap_take_acked). */
void fr_pnmap_untracked(fr_pnmap *m, uint64_t pkt);

/* The subscriber acknowledged these wire numbers (ranges in any order);
 * the acknowledgement arrived at `now`. */
void fr_pnmap_wire_acked(fr_pnmap *m, const fr_pn_range *ranges, size_t n,
                         uint64_t now);

/* Takes ngtcp2 packets whose every wire packet is now acknowledged, as at
 * most `max` ranges, largest first (an ACK frame for ngtcp2); the rest wait
 * for the next call. A complete packet also waits while a packet with a
 * lower ngtcp2 number but sent later on the wire is still unacknowledged
 * and not yet overtaken by three wire numbers (QUIC's reordering
 * threshold): a kernel packet registered after ngtcp2 sent others must not
 * make ngtcp2 declare those lost. An untracked packet holds none back:
 * the subscriber may not acknowledge it for its whole ACK delay. The
 * largest packet taken is one that may lead an ACK by `now` (see above):
 * late ones above it wait. Returns the number of ranges written. */
size_t fr_pnmap_take_acked(fr_pnmap *m, fr_pn_range *out, size_t max,
                           uint64_t now);

/* From when fr_pnmap_take_acked reports every packet it may report now
 * (its largest may lead an ACK); 0: at once. */
uint64_t fr_pnmap_due(fr_pnmap *m);

#endif
