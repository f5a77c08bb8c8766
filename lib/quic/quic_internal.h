/*
 * Internal definitions of the QUIC endpoint: the endpoint, its connections
 * and their streams.
 */
#ifndef FR_QUIC_INTERNAL_H
#define FR_QUIC_INTERNAL_H

#include <stdio.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <fastrelay/quic.h>

#include "../util/hmap.h"
#include "../util/logf.h"
#include "../util/sbuf.h"
#include "conn_hooks.h"
#include "copy_class.h"
#include "layouts.h"

/* Datagrams handed to `send` at once. */
#define FR_TX_BATCH 32
/* Pieces of a stream's send buffer handed to ngtcp2 at once. */
#define FR_MAX_IOV 16
/* Length of the stateless-reset secret. */
#define FR_STATIC_SECRET_LEN 32

typedef struct fr_stream {
    int64_t id;
    fr_sbuf sbuf;
    uint64_t sent_off;      /* bytes handed to ngtcp2 */
    uint64_t priority;      /* lower goes first */
    unsigned fin_queued : 1;
    unsigned fin_sent : 1;
    unsigned blocked : 1;   /* stream flow control; waits for credit */
    unsigned reset : 1;     /* we reset it: no more writes */
    unsigned on_ready : 1;
    unsigned copy_class : 2; /* fr_copy_class */
    /* Set by the layer that hooks the connection (conn_hooks.h): */
    unsigned held : 1;      /* it holds the stream back: no writes */
    /* The write loop sends only the bytes below this, and the FIN only
     * while it is UINT64_MAX (on a spliced connection: the first byte a
     * kernel packet not registered yet carries). */
    uint64_t send_limit;
    void *ext;              /* its state of the stream, or NULL */
    struct fr_stream *next_ready;
} fr_stream;

typedef struct fr_dgram {
    struct fr_dgram *next;
    size_t len;
    uint8_t data[];
} fr_dgram;

typedef enum fr_conn_state {
    FR_CONN_ACTIVE = 0,
    FR_CONN_CLOSING, /* we sent CONNECTION_CLOSE; waiting out 3 PTO */
    FR_CONN_DRAINING, /* the peer closed; waiting out 3 PTO */
    FR_CONN_DEAD      /* to be freed at the next flush */
} fr_conn_state;

struct fr_quic_conn {
    fr_quic_endpoint *ep;
    ngtcp2_conn *conn;
    ngtcp2_crypto_conn_ref conn_ref;
    gnutls_session_t session;
    fr_quic_path path;
    void *user_data;
    int is_server;
    int handshake_completed;
    int alpn_index;        /* ep->alpn[] negotiated; -1 before */
    int app_visible;       /* the application was told about this conn */
    int closed_notified;
    fr_conn_state state;
    fr_tstamp close_deadline;
    uint8_t *close_pkt;    /* CONNECTION_CLOSE packet for the closing period */
    size_t close_pktlen;
    fr_quic_close_info close_info;
    char close_msg[256];
    /* Set by a callback to end the connection with this library error. */
    int pending_error;

    fr_hmap streams;
    /* The stream fr_stream_find found last: a spliced connection looks
     * the same one up several times per packet. A memo, not state. */
    fr_stream *found;
    fr_stream *ready_head; /* streams with data or fin to send */
    fr_stream *ready_tail;
    fr_dgram *dgram_head;
    fr_dgram *dgram_tail;
    size_t buffered;       /* queued bytes: streams not acked + datagrams */
    fr_quic_conn_stats stats;

    /* Our CIDs registered in the endpoint's table (ngtcp2 keeps at most 8
     * at a time; retired ones stay registered for a short while). */
    ngtcp2_cid scids[16];
    size_t nscids;
    uint32_t cid_gen; /* changes whenever scids does */
    /* Server: the client's original destination CID, registered until the
     * handshake completes. */
    ngtcp2_cid odcid;
    int odcid_registered;

    /* The hooks the connection was made with (conn_hooks.h) and its
     * extension; both NULL on a connection without. */
    const fr_conn_hooks *hooks;
    void *ext;
    /* Its 1-RTT keys when protected at the wire (wire_protect.c), or its
     * receive keys when kept for a hooking layer (rx_keys.c). */
    struct fr_wire_protect *wp;
    struct fr_rx_keys *rx_keys;

    struct fr_quic_conn *next; /* endpoint's list of connections */
    struct fr_quic_conn *prev;

    /* Scheduling (conn_sched.c): the list of connections to write it is
     * on (none, touched, being flushed), and its place in the timer heap
     * (index + 1; 0: not in it) with the expiry it is kept under. */
    int sched_list;
    struct fr_quic_conn *touched_next;
    struct fr_quic_conn *touched_prev;
    size_t heap_pos;
    fr_tstamp heap_at;
};

struct fr_quic_endpoint {
    fr_quic_callbacks cb;
    fr_quic_settings settings;
    void *user_data;
    /* Passed to cb.send; the libev adapter routes sends to itself. */
    void *send_user_data;
    /* settings.alpn split, as given and as sent (cleartext suffix). */
    char alpn[FR_ALPN_LIST_MAX][FR_ALPN_MAX + 1];
    char alpn_wire[FR_ALPN_LIST_MAX]
                  [FR_ALPN_MAX + sizeof(FR_CLEARTEXT_ALPN_SUFFIX)];
    size_t nalpn;
    char alpn_setting[FR_ALPN_LIST_MAX * (FR_ALPN_MAX + 1)];
    char *ca_file;
    char *ca_pem;
    gnutls_certificate_credentials_t client_cred;
    int system_trust_due; /* client_cred still lacks the system's CAs */
    uint8_t static_secret[FR_STATIC_SECRET_LEN];
    fr_tstamp now; /* the endpoint's clock (fr_ep_clock) */
    fr_hmap cids;  /* our CID -> fr_quic_conn */
    fr_quic_conn *conns;
    size_t nconns;
    /* Connections to write at the next flush, those the flush under way
     * writes, and the timer heap (conn_sched.c). */
    fr_quic_conn *touched;
    fr_quic_conn *flushing;
    fr_quic_conn **heap;
    size_t nheap;
    size_t heap_cap;
    uint64_t refused; /* connections refused at max_connections */
    /* Packets sent with stream data of each fr_copy_class. */
    uint64_t copy_pkts[FR_COPY_CLASSES];
    /* Hooks of the server connections (conn_hooks.h), and their
     * argument; packets declared lost on hooked connections. */
    const fr_conn_hooks *hooks;
    void *hooks_arg;
    uint64_t hooked_lost;
    int keep_rx_keys;  /* fr_conn_keep_rx_keys */
    FILE *keylog;      /* FR_QUIC_KEYLOG (keylog.c), or NULL */

    /* Transmit batch. */
    uint8_t txbuf[FR_TX_BATCH][FR_MAX_UDP_PAYLOAD];
    struct iovec txv[FR_TX_BATCH];
    size_t ntx;
    fr_quic_path txpath;
};

/* conn.c */
int fr_conn_new_client(fr_quic_conn **pc, fr_quic_endpoint *ep,
                       const fr_quic_path *path, const char *server_name,
                       fr_tstamp now);
int fr_conn_new_server(fr_quic_conn **pc, fr_quic_endpoint *ep,
                       const fr_quic_path *path, const ngtcp2_pkt_hd *hd,
                       fr_tstamp now);
void fr_conn_free(fr_quic_conn *c);
int fr_conn_read(fr_quic_conn *c, const fr_quic_path *path,
                 const uint8_t *data, size_t len, fr_tstamp now);
int fr_conn_handle_expiry(fr_quic_conn *c, fr_tstamp now);
fr_tstamp fr_conn_expiry(const fr_quic_conn *c);
/* Ends the connection with a library or ngtcp2 error: sends
 * CONNECTION_CLOSE and notifies the application. */
void fr_conn_fail(fr_quic_conn *c, int liberr, fr_tstamp now);
/* Copies an ngtcp2 path into ours. */
void fr_path_from_ngtcp2(fr_quic_path *p, const ngtcp2_path *np);

/* conn_sched.c (fr_conn_want_write: conn_hooks.h) */
/* Writes the touched connections, frees those gone dead, and refreshes
 * their place in the timer heap. */
void fr_sched_flush(fr_quic_endpoint *ep, fr_tstamp now);
/* Runs the timers of the connections due by `now` and touches them. */
void fr_sched_expire(fr_quic_endpoint *ep, fr_tstamp now);
/* When the endpoint next needs a flush or a timer (FR_TSTAMP_MAX: never). */
fr_tstamp fr_sched_next(const fr_quic_endpoint *ep);
/* Takes a connection that goes out of the lists and the heap. */
void fr_sched_forget(fr_quic_conn *c);
/* Frees the endpoint's heap (after its connections). */
void fr_sched_free(fr_quic_endpoint *ep);

/* stream.c */
/* Writes what the connection has to send: returns 1 when its send quantum
 * ran out with more to send (it wants another write soon), else 0. */
int fr_conn_write(fr_quic_conn *c, fr_tstamp now);
/* Sends at once what ngtcp2 has to send besides new stream data (after a
 * timer: PTO probes), a few packets at most. */
int fr_conn_write_probes(fr_quic_conn *c, fr_tstamp now);
/* Sends a packet ngtcp2 wrote for `c` into the endpoint's slot buf;
 * `tracked` as for fr_conn_hooks.tx. */
void fr_conn_tx_commit(fr_quic_conn *c, const ngtcp2_path *path,
                       uint8_t *buf, size_t n, int tracked);
/* Bytes ngtcp2 counts in flight: a write that raised it wrote a packet
 * ngtcp2 tracks (a write never lowers it). */
uint64_t fr_conn_in_flight(const fr_quic_conn *c);
/* Sends the endpoint's slot buf as it is (`n` bytes, already numbered),
 * protected at the wire if the connection is. */
void fr_conn_tx_send(fr_quic_conn *c, const ngtcp2_path *path, uint8_t *buf,
                     size_t n);
/* Sets up our state of a stream the peer opened. */
int fr_stream_peer_opened(fr_quic_conn *c, int64_t stream_id);
fr_stream *fr_stream_find(const fr_quic_conn *c, int64_t stream_id);
/* Opens a stream of ours; NULL with *perr set on failure. */
fr_stream *fr_stream_open(fr_quic_conn *c, int *perr, int uni);
/* Puts a stream back on the ready list if it has something to send. */
void fr_stream_requeue(fr_quic_conn *c, fr_stream *s);
/* ngtcp2 took `len` more bytes of `s` (and its FIN, when `fin` is set and
 * they were the stream's last). */
void fr_stream_sent(fr_quic_conn *c, fr_stream *s, uint64_t len, int fin);
/* Bytes of `s` the write loop may send: up to the first kernel packet. */
uint64_t fr_stream_send_end(const fr_stream *s);
/* Drops our state of a stream ngtcp2 closed. */
void fr_stream_forget(fr_quic_conn *c, int64_t stream_id);
/* Stops sending on a stream the peer asked to stop. */
void fr_stream_abandon(fr_quic_conn *c, int64_t stream_id);
/* The peer acknowledged the stream's bytes below `upto`. */
void fr_stream_acked(fr_quic_conn *c, int64_t stream_id, uint64_t upto);
/* Flow control credit arrived for a blocked stream. */
void fr_stream_unblock(fr_quic_conn *c, int64_t stream_id);
void fr_streams_free(fr_quic_conn *c);

/* endpoint.c */
/* The endpoint's clock: the latest of the timestamps the application has
 * handed it, so what reaches ngtcp2 never goes backwards (ngtcp2 asserts on
 * that), even when a datagram batch stamped once is read after a callback
 * used a fresher stamp. Every entry point takes its `now` through it. */
fr_tstamp fr_ep_clock(fr_quic_endpoint *ep, fr_tstamp now);
int fr_ep_register_cid(fr_quic_endpoint *ep, const ngtcp2_cid *cid,
                       fr_quic_conn *c);
void fr_ep_unregister_cid(fr_quic_endpoint *ep, const ngtcp2_cid *cid);
int fr_ep_tx_flush(fr_quic_endpoint *ep);
/* Returns a buffer of max_udp_payload_size bytes for the next datagram of
 * the transmit batch (flushing the batch first if it is full). */
uint8_t *fr_ep_tx_slot(fr_quic_endpoint *ep);
/* Commits `len` bytes written into the slot from fr_ep_tx_slot, to be sent
 * on `path`. */
void fr_ep_tx_commit(fr_quic_endpoint *ep, const fr_quic_path *path,
                     size_t len);

/* tls.c */
int fr_tls_client_cred_new(fr_quic_endpoint *ep);
int fr_tls_session_new(fr_quic_conn *c, const char *server_name);
/* Checks the negotiated ALPN after the handshake. */
int fr_tls_check_alpn(fr_quic_conn *c);
/* Describes a TLS alert carried in a transport error code, for the close
 * message (NULL if the code is no TLS alert). */
const char *fr_tls_alert_hint(uint64_t error_code);
gnutls_certificate_credentials_t fr_cert_credentials(const fr_cert *cert);
/* Whether the negotiated AEAD is ChaCha20-Poly1305 (the kernel's). */
int fr_tls_is_chacha20(const ngtcp2_crypto_aead *aead);
/* What ngtcp2_crypto_gnutls's secret callback does for a level's secrets:
 * derive the keys and install them. Returns 0, or -1. */
int fr_tls_install_level(ngtcp2_conn *conn, ngtcp2_encryption_level level,
                         const void *rx_secret, const void *tx_secret,
                         size_t secretlen);

/* wire_protect.c: in tls mode, a hooked connection's ngtcp2 protects
 * 1-RTT packets with the identity of cleartext mode and lib/quic protects
 * them for real at the wire, so that its hooks read and rewrite cleartext
 * packets (the splice layer renumbers each one). */
/* Whether connections of `ep` are protected at the wire. */
int fr_wp_wanted(const fr_quic_endpoint *ep, int is_server);
/* Installs the secret callback that keeps the real 1-RTT keys. */
void fr_wp_configure_session(gnutls_session_t session);
/* ... and ngtcp2's crypto callbacks that keep ngtcp2's identity. */
void fr_wp_set_callbacks(ngtcp2_callbacks *cb);
/* Opens the 1-RTT packet of datagram d[0..len): returns the length of the
 * cleartext datagram in *out (header protection off, zero tag), or 0 to
 * hand ngtcp2 the datagram as it is (no 1-RTT packet, no keys yet, or it
 * does not authenticate: a stateless reset, garbage). */
size_t fr_wp_open(fr_quic_conn *c, const uint8_t *d, size_t len,
                  const uint8_t **out);
/* Protects the 1-RTT packet of the cleartext datagram buf[0..n) in place.
 * Returns 0, or -1 when it cannot (no keys for its key phase): then it
 * must not be sent. */
int fr_wp_seal(fr_quic_conn *c, uint8_t *buf, size_t n);
void fr_wp_free(fr_quic_conn *c);

/* rx_keys.c: a connection's 1-RTT receive keys, kept for a layer that
 * opens its packets elsewhere (conn_view.h, fr_conn_rx_keys). */
typedef struct fr_rx_keys fr_rx_keys;
/* Whether client connections of `ep` keep them (ngtcp2 protecting). */
int fr_rx_keys_wanted(const fr_quic_endpoint *ep, int is_server);
/* Keeps generation `gen` (hp NULL: the header protection key stays);
 * another suite than ChaCha20-Poly1305 is noted as unusable. Returns 0,
 * or -1 when out of memory. */
int fr_rx_keys_keep(fr_quic_conn *c, uint64_t gen, const uint8_t *key,
                    const uint8_t *iv, const uint8_t *hp);
/* Notes that packet number `pn` of the peer's was opened. */
void fr_rx_keys_opened(fr_quic_conn *c, uint64_t pn);
/* The connection ngtcp2 reads a packet of now on this thread (NULL: none):
 * set around each ngtcp2_conn_read_pkt. */
void fr_rx_keys_reading(fr_quic_conn *c);
void fr_rx_keys_configure_session(gnutls_session_t session);
void fr_rx_keys_set_callbacks(ngtcp2_callbacks *cb);
void fr_rx_keys_free(fr_quic_conn *c);

/* keylog.c: FR_QUIC_KEYLOG, 1-RTT keys of tls client connections, for
 * decrypting captures (the benchmark's taps). */
void fr_keylog_open(fr_quic_endpoint *ep);
void fr_keylog_close(fr_quic_endpoint *ep);
/* The keys of the packets c receives (tx 0) or sends (tx 1). */
void fr_keylog_write(const fr_quic_conn *c, int tx, const uint8_t *key,
                     const uint8_t *iv, const uint8_t *hp);

/* cleartext.c */
/* Installs the cleartext (identity) 1-RTT secret handler on the session. */
void fr_cleartext_configure_session(gnutls_session_t session);
void fr_cleartext_set_callbacks(ngtcp2_callbacks *cb);
/* Installs marker (identity) 1-RTT keys; ngtcp2 keeps the secret for key
 * updates. Returns 0, or -1. */
int fr_cleartext_install_1rtt(ngtcp2_conn *conn, int rx, const uint8_t *secret,
                              size_t secretlen);
/* Makes an AEAD context a marker: identity protection. */
void fr_cleartext_mark(ngtcp2_crypto_aead_ctx *aead_ctx);

#endif
