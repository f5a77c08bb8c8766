/*
 * What a stream of a subscriber connection carries, so that the fast path
 * can tell which media copies userspace sent: those of subgroups that
 * began after the subscriber joined (which the kernel could have sent)
 * and those replayed from the cache to a late joiner.
 */
#ifndef FR_QUIC_COPY_CLASS_H
#define FR_QUIC_COPY_CLASS_H

#include <stdint.h>

#include <fastrelay/quic.h>

typedef enum fr_copy_class {
    FR_COPY_NONE = 0,
    FR_COPY_ELIGIBLE, /* a subgroup the kernel could forward */
    FR_COPY_REPLAY,   /* objects from the cache for a late joiner */
    FR_COPY_CLASSES
} fr_copy_class;

/* Counts the packets of stream `stream_id` of `c` as media copies of this
 * class (endpoint statistics the fast path reports). */
void fr_stream_set_copy_class(fr_quic_conn *c, int64_t stream_id,
                              fr_copy_class cls);
/* Packets the endpoint sent with stream data of class `cls`. */
uint64_t fr_ep_copy_packets(const fr_quic_endpoint *ep, fr_copy_class cls);

#endif
