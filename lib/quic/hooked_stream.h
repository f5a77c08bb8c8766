/*
 * Streams that the layer hooking a connection (conn_hooks.h) takes over:
 * lib/quic opens them with the layer's extension, shows the layer their
 * state, lets it hold one back or cap what the write loop sends of it,
 * and writes a range of one for it, handing the packet back instead of
 * sending it (lib/splice registers the kernel's packets with ngtcp2 so:
 * its shadow writes). The layer never sees lib/quic's stream struct.
 */
#ifndef FR_QUIC_HOOKED_STREAM_H
#define FR_QUIC_HOOKED_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2.h>

#include <fastrelay/quic.h>

#include "copy_class.h"

/* A stream as the hooking layer sees it. */
typedef struct fr_hooked_stream {
    void *ext;           /* the layer's mark on the stream, or NULL */
    uint64_t sent_off;   /* bytes handed to ngtcp2 */
    uint64_t queued_end; /* end of the bytes queued to send */
    unsigned fin_queued : 1;
    unsigned fin_sent : 1;
    unsigned reset : 1; /* reset or shut: no more writes */
    unsigned held : 1;  /* the layer holds it back */
} fr_hooked_stream;

/* A packet fr_hooked_stream_write wrote and did not send. */
typedef struct fr_hooked_pkt {
    uint8_t *buf;    /* in the endpoint's transmit batch, until the next
                        packet of the endpoint is written */
    size_t len;
    uint64_t off;    /* stream offset of the stream bytes it carries */
    uint64_t datalen; /* how many */
    int fin_sent;     /* the stream's FIN went (with it or before) */
    ngtcp2_path_storage ps;
} fr_hooked_pkt;

/* Opens a unidirectional stream marked with `ext`, its packets counted as
 * `cls`. Returns 0 with *pstream_id set, or an FR_ERR_* code. */
int fr_hooked_stream_open(fr_quic_conn *c, void *ext, fr_copy_class cls,
                          int64_t *pstream_id);
/* Fills *st with stream `stream_id`'s state: 0, or FR_ERR_STREAM_NOT_FOUND
 * for a stream lib/quic does not know (any more). */
int fr_hooked_stream_get(const fr_quic_conn *c, int64_t stream_id,
                         fr_hooked_stream *st);
/* Sets the end of what the write loop sends of the stream (and its FIN
 * only while that is UINT64_MAX). Unknown streams are ignored. */
void fr_hooked_stream_set_limit(fr_quic_conn *c, int64_t stream_id,
                                uint64_t limit);
/* Lowers that end to `limit` if it is beyond it. */
void fr_hooked_stream_cap_limit(fr_quic_conn *c, int64_t stream_id,
                                uint64_t limit);
/* Holds the stream back from the write loop (held: 1) or lets it go. */
void fr_hooked_stream_hold(fr_quic_conn *c, int64_t stream_id, int held);
/* Puts the stream back in the write loop's turn if it has something to
 * send (after its limit rose or a range of it was written). */
void fr_hooked_stream_requeue(fr_quic_conn *c, int64_t stream_id);

/* Writes one packet of stream `stream_id`'s queued bytes from where its
 * sending is up to `end` (with the FIN when `fin`, `end` then being the
 * stream's end), through ngtcp2, into *pkt: the bytes count as sent, the
 * packet is the caller's to commit, send or drop. Packets ngtcp2 must
 * send before it (retransmissions) go out first, a few at most. Returns 1
 * with *pkt filled; 0 when nothing could be written now (congestion, the
 * stream's flow control: the stream then waits for credit, or ngtcp2
 * still sending others first); FR_ERR_STREAM_NOT_FOUND when ngtcp2 no
 * longer sends on the stream; another FR_ERR_* when the connection failed
 * (it is closing). */
int fr_hooked_stream_write(fr_quic_conn *c, int64_t stream_id, uint64_t end,
                           int fin, fr_tstamp now, fr_hooked_pkt *pkt);
/* Sends pkt as ngtcp2 wrote it (through the `tx` hook). */
void fr_hooked_pkt_commit(fr_quic_conn *c, const fr_hooked_pkt *pkt);
/* Sends the first `n` bytes of pkt->buf as they are: the layer rewrote
 * them, packet numbers included. */
void fr_hooked_pkt_send(fr_quic_conn *c, const fr_hooked_pkt *pkt, size_t n);

#endif
