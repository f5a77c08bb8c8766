/*
 * Connection hooks: how a layer above lib/quic (lib/splice) takes part in
 * a server connection's reads, writes and timers without lib/quic knowing
 * it. An endpoint's hooks apply to every server connection it makes from
 * then on: `attach` gives each one its extension, which every other hook
 * gets. lib/quic calls a hook only on a connection that has an extension.
 * In tls mode the hooks still read and write 1-RTT packets in clear
 * (header protection off, a 16-byte zero tag): lib/quic protects them at
 * the wire, after `tx` and before `hold` and `rx`.
 */
#ifndef FR_QUIC_CONN_HOOKS_H
#define FR_QUIC_CONN_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ngtcp2/ngtcp2.h>

#include <fastrelay/quic.h>

#include "packet_keys.h"

/* Largest UDP payload handled: the size of `release`'s buffer. */
#define FR_MAX_UDP_PAYLOAD 1500

typedef struct fr_conn_hooks {
    /* Connection `c` is being made, before its ngtcp2 connection: returns
     * its extension, or NULL when out of memory (the connection fails). */
    void *(*attach)(fr_quic_conn *c);
    /* `c` goes; its extension too. */
    void (*detach)(void *ext);
    /* What the connection's ngtcp2 settings and transport parameters
     * need to be for the layer (filled with lib/quic's own first). */
    void (*settings)(void *ext, ngtcp2_settings *ns,
                     ngtcp2_transport_params *tp);
    /* Bytes a packet may grow by in `tx`: ngtcp2 writes that much less. */
    size_t tx_growth;

    /* Before each ngtcp2 call that may read, time out or write. */
    void (*before)(void *ext, fr_tstamp now);
    /* After the reads, timers and write loop of one entry point. */
    void (*after)(void *ext);
    /* The write loop sent a packet (ngtcp2 is between calls). */
    void (*sent_one)(void *ext, fr_tstamp now);

    /* Rewrites a received datagram: returns its new length with *out
     * set, 0 to hand ngtcp2 the datagram unchanged, a negative FR_ERR_*
     * to drop it. */
    ssize_t (*rx)(void *ext, const uint8_t *d, size_t len, fr_tstamp now,
                  const uint8_t **out);
    /* Whether the datagram (received at `now` on `path`) waits: 1 if the
     * layer keeps it for `release`, 0 to read it now. */
    int (*hold)(void *ext, const fr_quic_path *path, const uint8_t *d,
                size_t len, fr_tstamp now);
    /* Takes the oldest held datagram due by `due_by` into buf (its path
     * into *path): returns its length, or 0. FR_TSTAMP_MAX: every one,
     * a datagram not held is read after them. */
    size_t (*release)(void *ext, fr_tstamp due_by, fr_quic_path *path,
                      uint8_t *buf);
    /* When the layer next needs the connection's timer (FR_TSTAMP_MAX:
     * not at all). */
    fr_tstamp (*expiry)(const void *ext);

    /* Rewrites a packet ngtcp2 wrote, buf[0..n) with tx_growth bytes of
     * room: returns its new length. `tracked`: ngtcp2 counts the packet
     * in flight and may declare it lost; 0 for one it keeps no record of
     * (only ACKs, or a CONNECTION_CLOSE). */
    size_t (*tx)(void *ext, uint8_t *buf, size_t n, int tracked);
    /* ngtcp2 declared 1-RTT packet `pkt` (its own number) lost; called
     * from inside ngtcp2. */
    void (*lost)(void *ext, uint64_t pkt);
    /* The peer raised stream `stream_id`'s flow-control credit. */
    void (*credit)(void *ext, int64_t stream_id, uint64_t max_data);
    /* The write loop sent `bytes` more of a stream; `stream_ext` is the
     * layer's mark on it (hooked_stream.h), NULL on streams of others. */
    void (*stream_sent)(void *ext, void *stream_ext, uint64_t bytes);

    /* Optional (NULL: not wanted). In tls mode lib/quic protects a hooked
     * connection's 1-RTT packets at the wire (the hooks see them in
     * clear); this hands the layer our packet protection keys of key
     * generation `gen` (0: the handshake's, then one more per key update,
     * each before ngtcp2 uses it), `k` NULL when the negotiated suite is
     * not TLS_CHACHA20_POLY1305_SHA256 (the layer cannot use them).
     * Called from inside ngtcp2 and GnuTLS: store, do not call back. With
     * it set, the endpoint's servers prefer that suite (server
     * precedence). */
    void (*keys)(void *ext, uint64_t gen, const fr_packet_keys *k);

    /* Optional: called with the endpoint's hook argument at the start of
     * every flush, before the connections that want a write are written:
     * the layer can make more of them want one (fr_conn_want_write). */
    void (*flush)(void *arg);
    /* Optional: when the layer needs the next flush at the latest (work
     * of its own under way outside the loop, which nothing else would
     * wake the loop for); FR_TSTAMP_MAX: none. */
    fr_tstamp (*flush_by)(void *arg);
} fr_conn_hooks;

/* Hooks the endpoint's next server connections (`hooks` kept by pointer,
 * NULL: none); `arg` is what fr_conn_hooks_arg returns for them. */
void fr_conn_hooks_set(fr_quic_endpoint *ep, const fr_conn_hooks *hooks,
                       void *arg);
/* The endpoint's hook argument now, as set last. */
void *fr_conn_hooks_arg(const fr_quic_conn *c);
/* In tls mode, the client connections `ep` makes from now on keep their
 * 1-RTT receive keys (conn_view.h, fr_conn_rx_keys) and offer
 * ChaCha20-Poly1305 first; connections protected at the wire keep them
 * anyway. */
void fr_conn_keep_rx_keys(fr_quic_endpoint *ep);
/* The endpoint writes the connection at its next flush (it writes only
 * the connections that were read, timed out, given something to send or
 * marked so). A layer that gives a connection work outside lib/quic's
 * calls marks it. */
void fr_conn_want_write(fr_quic_conn *c);
/* The connection's extension, or NULL if it has none. */
void *fr_conn_ext(const fr_quic_conn *c);
/* Whether the connection is up: not closing, draining or gone. */
int fr_conn_is_active(const fr_quic_conn *c);
/* The size of the packets ngtcp2 writes on the connection: the largest
 * UDP payload less the `tx_growth` of its hooks. */
size_t fr_conn_pkt_size(const fr_quic_conn *c);
/* Packets declared lost on the endpoint's hooked connections. */
uint64_t fr_conn_hooks_lost(const fr_quic_endpoint *ep);

#endif
