/*
 * The subscriber's ACK frames name wire packet numbers; ngtcp2 must see its
 * own. This rewrites the frames of one cleartext 1-RTT packet from a
 * subscriber before ngtcp2 reads it.
 */
#ifndef FR_SPLICE_ACK_REWRITE_H
#define FR_SPLICE_ACK_REWRITE_H

#include <stddef.h>
#include <sys/types.h>

#include "pnmap.h"

/* ngtcp2 reads this many ACK ranges at most; the rest wait in the map. */
#define FR_ACK_REWRITE_RANGES 32
/* How much longer the output may be than the input. */
#define FR_ACK_REWRITE_ROOM (1 + 8 + 8 + 8 + 8 + 16 * FR_ACK_REWRITE_RANGES)

/* Every ACK frame in in[0..inlen) (the packet's frames) feeds the map;
 * the first one's place gets a single ACK of the ngtcp2 packets now
 * complete, with that frame's ACK delay (no ECN counts: the relay does not
 * use ECN); later ACK frames are left out, every other frame is copied
 * unchanged. A packet without ACK frames gets one in front (delay 0) if
 * packets completed meanwhile (acknowledgements held until their wire
 * packets were registered). With nothing to acknowledge and nothing else left, the
 * output is one PADDING frame, so the packet stays valid. Returns the
 * output length, FR_ERR_PROTO if a frame does not parse, or FR_ERR_NOBUF
 * if `cap` (at least inlen + FR_ACK_REWRITE_ROOM) is too small. The packet arrived at `now`
 * (see fr_pnmap_take_acked). */
ssize_t fr_ack_rewrite(fr_pnmap *m, const uint8_t *in, size_t inlen,
                       uint8_t *out, size_t cap, uint64_t now);

/* Feeds the map with the ACK frames of in[0..inlen) (received at `now`)
 * and changes nothing else; fr_ack_rewrite of the same frames later reads
 * them again to no further effect. Returns 0, or FR_ERR_PROTO if a frame
 * does not parse. */
int fr_ack_feed(fr_pnmap *m, const uint8_t *in, size_t inlen, uint64_t now);

#endif
