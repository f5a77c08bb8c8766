/*
 * libfastrelay — QUIC endpoints.
 *
 * An fr_quic_endpoint is a set of QUIC connections (client, server, or both)
 * over ngtcp2 and GnuTLS. The endpoint itself does no I/O: it is handed
 * received UDP datagrams and timestamps, hands datagrams to send to the
 * `send` callback, and reports when it next needs to be called. The libev
 * adapter in <fastrelay/quic_ev.h> owns a UDP socket and timers for it.
 *
 * All functions are to be called from one thread.
 */
#ifndef FASTRELAY_QUIC_H
#define FASTRELAY_QUIC_H

#include <sys/socket.h>
#include <fastrelay/common.h>
#include <fastrelay/log.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fr_quic_endpoint fr_quic_endpoint;
typedef struct fr_quic_conn fr_quic_conn;
typedef struct fr_cert fr_cert;

/* How 1-RTT packets are protected. */
typedef enum fr_crypto_mode {
    /* Standard QUIC: every packet encrypted. The default. */
    FR_CRYPTO_TLS = 0,
    /* TLS handshake as usual, then identity packet and header protection for
     * 1-RTT packets so that the kernel fast path can read and rewrite them.
     * Both peers must use it: it negotiates its own ALPN (see
     * fr_quic_cleartext_alpn), so a tls peer and a cleartext peer fail the
     * handshake instead of exchanging garbage. Never use it on an untrusted
     * network: packets are readable and forgeable. */
    FR_CRYPTO_CLEARTEXT = 1
} fr_crypto_mode;

/* Suffix appended to the application's ALPN in cleartext mode. */
#define FR_CLEARTEXT_ALPN_SUFFIX "-fr-cleartext"

/* The longest ALPN the library accepts (bytes, without the suffix), and
 * how many an endpoint may offer. */
#define FR_ALPN_MAX 64
#define FR_ALPN_LIST_MAX 4

/* The longest connection ID QUIC v1 allows. */
#define FR_CID_MAX_LEN 20

/* A network path: local and remote UDP addresses. */
typedef struct fr_quic_path {
    struct sockaddr_storage local;
    socklen_t local_len;
    struct sockaddr_storage remote;
    socklen_t remote_len;
} fr_quic_path;

/* What happened to a connection ID. */
typedef enum fr_cid_event {
    /* The library issued a CID of its own for this connection; peers send
     * packets to it from now on (packets arriving with it as destination
     * belong to this connection). */
    FR_CID_LOCAL_ISSUED = 0,
    /* A CID of our own was retired; packets carrying it no longer arrive. */
    FR_CID_LOCAL_RETIRED = 1,
    /* The connection now sends to this peer CID (destination CID). */
    FR_CID_REMOTE_ACTIVATED = 2,
    /* The connection stopped sending to this peer CID. */
    FR_CID_REMOTE_DEACTIVATED = 3
} fr_cid_event;

/* Why a connection ended. */
typedef enum fr_close_reason {
    FR_CLOSE_LOCAL = 0,        /* this side closed it (fr_quic_conn_close) */
    FR_CLOSE_PEER = 1,         /* the peer sent CONNECTION_CLOSE */
    FR_CLOSE_IDLE = 2,         /* idle timeout */
    FR_CLOSE_HANDSHAKE_FAILED = 3, /* TLS or transport error in handshake */
    FR_CLOSE_ERROR = 4,        /* protocol or internal error after handshake */
    FR_CLOSE_STATELESS_RESET = 5
} fr_close_reason;

typedef struct fr_quic_close_info {
    fr_close_reason reason;
    /* Nonzero if error_code is an application error code, zero if it is a
     * QUIC transport error code (RFC 9000 section 20.1; 0x100-0x1ff are TLS
     * alerts). */
    int app_error;
    uint64_t error_code;
    /* A readable explanation, always set; for a failed handshake it names
     * the likely cause (for example an ALPN or crypto-mode mismatch). */
    const char *message;
} fr_quic_close_info;

/* Per-connection counters, readable at any time. */
typedef struct fr_quic_conn_stats {
    uint64_t pkts_sent;
    uint64_t bytes_sent;       /* UDP payload bytes */
    uint64_t pkts_recv;
    uint64_t bytes_recv;
    uint64_t pkts_lost;        /* declared lost by loss detection */
    uint64_t stream_bytes_sent;     /* new stream data, first transmission */
    uint64_t stream_bytes_recv;     /* stream data delivered in order */
    uint64_t stream_bytes_acked;    /* stream data the peer acknowledged */
    uint64_t datagrams_sent;
    uint64_t datagrams_recv;
    fr_duration smoothed_rtt;
    fr_duration min_rtt;
    fr_duration latest_rtt;
    uint64_t cwnd;
    uint64_t bytes_in_flight;
} fr_quic_conn_stats;

/*
 * Callbacks. `user_data` is the endpoint's user_data; each connection also
 * carries its own (fr_quic_conn_set_user_data). Callbacks return 0, or a
 * negative value to close the connection with an internal error. Only `send`
 * is required (the libev adapter supplies it).
 */
typedef struct fr_quic_callbacks {
    /* Send `n` UDP datagrams on `path`. Datagrams the socket cannot take may
     * be dropped (QUIC recovers); return negative only on a fatal error. */
    int (*send)(fr_quic_endpoint *ep, const fr_quic_path *path,
                const struct iovec *datagrams, size_t n, void *user_data);
    /* Server: a client started a handshake; `conn` now exists. */
    int (*accept)(fr_quic_conn *conn, void *user_data);
    /* The handshake completed and the ALPN is confirmed. */
    int (*handshake_completed)(fr_quic_conn *conn, void *user_data);
    /* The peer opened a stream. */
    int (*stream_open)(fr_quic_conn *conn, int64_t stream_id,
                       void *user_data);
    /* In-order stream data; `fin` is set with the last bytes (possibly with
     * len 0). The data is consumed: flow control credit is returned. */
    int (*stream_data)(fr_quic_conn *conn, int64_t stream_id,
                       const uint8_t *data, size_t len, int fin,
                       void *user_data);
    /* The peer reset a stream (RESET_STREAM). */
    int (*stream_reset)(fr_quic_conn *conn, int64_t stream_id,
                        uint64_t app_error_code, void *user_data);
    /* The peer asked us to stop sending on a stream (STOP_SENDING). */
    int (*stream_stop_sending)(fr_quic_conn *conn, int64_t stream_id,
                               uint64_t app_error_code, void *user_data);
    /* A stream is fully closed in both directions and forgotten. */
    int (*stream_close)(fr_quic_conn *conn, int64_t stream_id,
                        void *user_data);
    /* The peer raised our stream limit; fr_quic_conn_open_*_stream may
     * succeed again. */
    int (*streams_available)(fr_quic_conn *conn, void *user_data);
    /* An RFC 9221 datagram arrived. */
    int (*datagram)(fr_quic_conn *conn, const uint8_t *data, size_t len,
                    void *user_data);
    /* The connection ended. After this returns the connection handle must
     * not be used again. Not called for connections the application never
     * saw (a failed accept). */
    void (*closed)(fr_quic_conn *conn, const fr_quic_close_info *info,
                   void *user_data);
    /* Connection-ID hook: fill cid[0..len) for a new CID of ours. NULL: the
     * library draws random bytes. The bytes must be unique on this
     * endpoint; return negative to fail. */
    int (*generate_cid)(fr_quic_conn *conn, uint8_t *cid, size_t len,
                        void *user_data);
    /* Any CID of a connection was issued, retired, activated or
     * deactivated. */
    void (*cid_changed)(fr_quic_conn *conn, fr_cid_event event,
                        const uint8_t *cid, size_t cidlen, void *user_data);
} fr_quic_callbacks;

typedef struct fr_quic_settings {
    fr_crypto_mode crypto_mode;
    /* Application protocol (ALPN), e.g. "moqt-18", or a comma-separated
     * list in order of preference, e.g. "moqt-19,moqt-18" (at most
     * FR_ALPN_LIST_MAX): a client offers them all, a server takes the
     * first of its list the client offers (fr_quic_conn_get_alpn tells
     * which). Required. In cleartext mode FR_CLEARTEXT_ALPN_SUFFIX is
     * appended to each on the wire. */
    const char *alpn;
    /* Server credentials (required to accept connections). Not owned;
     * must outlive the endpoint. */
    const fr_cert *cert;
    /* Client verification of the server certificate. Exactly one source is
     * used: `ca_file` (PEM file of trusted CA or pinned certificates),
     * else `ca_pem` (PEM in memory), else the system trust store (read
     * at the endpoint's first client connection; an endpoint that only
     * accepts never reads it). Setting `insecure` skips verification; the
     * library then logs a warning for every connection. */
    const char *ca_file;
    const char *ca_pem;
    size_t ca_pem_len;
    int insecure;
    /* Accept incoming connections (server role). */
    int accept_connections;
    fr_duration idle_timeout;
    fr_duration handshake_timeout;
    uint64_t max_data;              /* connection receive window */
    uint64_t max_stream_data;       /* per-stream receive window */
    uint64_t max_streams_bidi;      /* streams the peer may open */
    uint64_t max_streams_uni;
    /* Largest RFC 9221 datagram frame accepted; 0 disables datagrams. */
    uint64_t max_datagram_frame_size;
    /* Largest UDP payload sent (path MTU minus IP and UDP headers). */
    size_t max_udp_payload_size;
    /* Largest UDP payload peers may send (the max_udp_payload_size
     * transport parameter), 1200 up to max_udp_payload_size's limit; 0:
     * any. See FR_FASTPATH_HEADROOM for why a relay lowers it. */
    size_t max_udp_payload_recv;
    /* Length of the connection IDs this endpoint issues (4..20). */
    size_t cid_len;
    /* Bound on bytes queued for sending per connection (streams and
     * datagrams); writes past it fail with FR_ERR_QUEUE_FULL. */
    size_t max_send_buffer;
    fr_log log;
    /* Clients PING a connection quiet for half the idle timeout that
     * applies (the shorter of ours and the server's), so that a session
     * with nothing to carry (a subscriber waiting for a track) outlives
     * it while the peer is there. */
    int keep_alive;
    /* Servers: connections at most (0: no limit). Past it a client's
     * Initial is answered with CONNECTION_REFUSED and no state is kept. */
    size_t max_connections;
} fr_quic_settings;

/* Fills `settings`, of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_quic_settings_default), with defaults: tls, 30 s idle timeout with
 * clients' keep-alive, 10 s handshake timeout, 16 MiB / 1 MiB windows, 100
 * bidi and 1000 uni streams, datagrams up to 1200 bytes, 1452-byte UDP
 * payloads, 8-byte CIDs, 64 MiB send buffer, logging off. `alpn` stays
 * NULL and must be set. Returns 0, or FR_ERR_INVALID_ARGUMENT for a
 * layout this library does not know (nothing written). */
FR_EXTERN int fr_quic_settings_default_versioned(int version,
                                                 fr_quic_settings *settings);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_quic_settings_default(fr_quic_settings *settings);
#define fr_quic_settings_default(settings)                                  \
    ((void)fr_quic_settings_default_versioned(FR_LAYOUT_VERSION, (settings)))

/* Writes the ALPN used on the wire for `alpn` in cleartext mode into buf.
 * Returns its length, or FR_ERR_NOBUF. */
FR_EXTERN int fr_quic_cleartext_alpn(char *buf, size_t buflen,
                                     const char *alpn);

/* Creates an endpoint from callbacks and settings of layout `version`
 * (callers use fr_quic_endpoint_new). Both are copied, strings too.
 * Returns 0 or a negative FR_ERR_* (FR_ERR_INVALID_ARGUMENT for an
 * unknown layout too). */
FR_EXTERN int fr_quic_endpoint_new_versioned(
    fr_quic_endpoint **pep, int version, const fr_quic_callbacks *callbacks,
    const fr_quic_settings *settings, void *user_data);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_quic_endpoint_new(fr_quic_endpoint **pep,
                                   const fr_quic_callbacks *callbacks,
                                   const fr_quic_settings *settings,
                                   void *user_data);
#define fr_quic_endpoint_new(pep, callbacks, settings, user_data)            \
    fr_quic_endpoint_new_versioned((pep), FR_LAYOUT_VERSION, (callbacks),    \
                                   (settings), (user_data))

/* Closes every connection immediately (no CONNECTION_CLOSE is sent; call
 * fr_quic_conn_close first for a graceful end) and frees the endpoint. */
FR_EXTERN void fr_quic_endpoint_del(fr_quic_endpoint *ep);

/* Every function below that takes `now` (a monotonic time in ns) advances
 * the endpoint's clock; a `now` older than one given before is taken as that
 * newer one, so the QUIC stack never sees time go backwards.
 *
 * Feeds one received UDP datagram. Returns 0, or a negative code when the
 * datagram was not accepted (it is then dropped; not fatal). */
FR_EXTERN int fr_quic_endpoint_recv(fr_quic_endpoint *ep,
                                    const fr_quic_path *path,
                                    const uint8_t *data, size_t len,
                                    fr_tstamp now);

/* Writes every packet ready to go on every connection through `send`, and
 * frees connections whose closing period ended. Call after feeding
 * datagrams, after application writes, and at expiry. */
FR_EXTERN int fr_quic_endpoint_flush(fr_quic_endpoint *ep, fr_tstamp now);

/* Handles timers (loss detection, idle and close timeouts) due by `now`,
 * then flushes. */
FR_EXTERN int fr_quic_endpoint_handle_expiry(fr_quic_endpoint *ep,
                                             fr_tstamp now);

/* Returns when fr_quic_endpoint_handle_expiry must next be called, or
 * FR_TSTAMP_MAX. */
FR_EXTERN fr_tstamp fr_quic_endpoint_next_expiry(const fr_quic_endpoint *ep);

/* The endpoint's clock: the newest `now` it was given. */
FR_EXTERN fr_tstamp fr_quic_endpoint_now(const fr_quic_endpoint *ep);

/* Number of live connections. */
FR_EXTERN size_t fr_quic_endpoint_conn_count(const fr_quic_endpoint *ep);
/* Connections refused so far at settings.max_connections. */
FR_EXTERN uint64_t fr_quic_endpoint_refused_count(const fr_quic_endpoint *ep);

FR_EXTERN void *fr_quic_endpoint_get_user_data(const fr_quic_endpoint *ep);

/* Iterates over the live connections: pass NULL for the first. The
 * endpoint must not be fed or flushed while iterating. */
FR_EXTERN fr_quic_conn *fr_quic_endpoint_next_conn(fr_quic_endpoint *ep,
                                                   fr_quic_conn *prev);

/* Starts a client connection on `path`. `server_name` is used for SNI and
 * certificate verification (may be an address literal). */
FR_EXTERN int fr_quic_endpoint_connect(fr_quic_endpoint *ep,
                                       fr_quic_conn **pconn,
                                       const fr_quic_path *path,
                                       const char *server_name,
                                       void *conn_user_data, fr_tstamp now);

FR_EXTERN fr_quic_endpoint *fr_quic_conn_get_endpoint(const fr_quic_conn *c);
FR_EXTERN void *fr_quic_conn_get_user_data(const fr_quic_conn *conn);
FR_EXTERN void fr_quic_conn_set_user_data(fr_quic_conn *conn, void *ud);
FR_EXTERN int fr_quic_conn_is_server(const fr_quic_conn *conn);
FR_EXTERN int fr_quic_conn_is_handshake_completed(const fr_quic_conn *conn);
FR_EXTERN const fr_quic_path *fr_quic_conn_get_path(const fr_quic_conn *conn);
FR_EXTERN fr_crypto_mode fr_quic_conn_get_crypto_mode(const fr_quic_conn *c);
/* The ALPN the handshake settled on (one of settings.alpn's, without the
 * cleartext suffix), or NULL before the handshake completed. */
FR_EXTERN const char *fr_quic_conn_get_alpn(const fr_quic_conn *c);

/* Client: moves the connection to a new local address (RFC 9000 section
 * 9.2), for example a new socket after the old one's port stopped working.
 * The connection continues at once from `local` with a fresh connection ID
 * while the new path is validated. The application must receive on
 * `local` from now on. Returns FR_ERR_INVALID_STATE for a server
 * connection, before the handshake is confirmed, or when the peer disabled
 * migration; FR_ERR_LIMIT when the peer gave no spare connection ID;
 * FR_ERR_INVALID_ARGUMENT when `local` is the current address. */
FR_EXTERN int fr_quic_conn_migrate(fr_quic_conn *conn,
                                   const struct sockaddr *local,
                                   socklen_t local_len, fr_tstamp now);

/* Starts a key update (RFC 9001 section 6): our 1-RTT packets go out
 * under the next generation of keys from now on, and the peer follows.
 * Returns FR_ERR_INVALID_STATE before the handshake is confirmed or while
 * the previous update is not acknowledged yet (try again later). */
FR_EXTERN int fr_quic_conn_update_key(fr_quic_conn *conn, fr_tstamp now);

/* Opens a stream of ours. Returns FR_ERR_STREAM_LIMIT while the peer's
 * limit is reached (streams_available tells when to retry). */
FR_EXTERN int fr_quic_conn_open_uni_stream(fr_quic_conn *conn,
                                           int64_t *pstream_id);
FR_EXTERN int fr_quic_conn_open_bidi_stream(fr_quic_conn *conn,
                                            int64_t *pstream_id);

/* Queues stream data (copied) and, with `fin`, the end of the stream. The
 * data goes out at the next flush, paced by flow and congestion control. */
FR_EXTERN int fr_quic_conn_stream_write(fr_quic_conn *conn, int64_t stream_id,
                                        const uint8_t *data, size_t len,
                                        int fin);

/* Abruptly ends our sending side (RESET_STREAM) and asks the peer to stop
 * sending (STOP_SENDING) on bidirectional streams. Queued data is dropped. */
FR_EXTERN int fr_quic_conn_stream_reset(fr_quic_conn *conn, int64_t stream_id,
                                        uint64_t app_error_code);

/* Sets a stream's send priority: lower values are sent first, streams of
 * equal priority share the connection round-robin. New streams have 0.
 * Datagrams go before any stream. */
FR_EXTERN int fr_quic_conn_stream_set_priority(fr_quic_conn *conn,
                                               int64_t stream_id,
                                               uint64_t priority);

/* Bytes written to a stream that the peer has not acknowledged yet. */
FR_EXTERN uint64_t fr_quic_conn_stream_unacked(const fr_quic_conn *conn,
                                               int64_t stream_id);

/* Queues an RFC 9221 datagram (copied). Datagrams are never retransmitted;
 * queued ones are sent in order as congestion control allows. */
FR_EXTERN int fr_quic_conn_send_datagram(fr_quic_conn *conn,
                                         const uint8_t *data, size_t len);

/* Largest datagram payload the peer accepts now (0: none). */
FR_EXTERN size_t fr_quic_conn_max_datagram_size(const fr_quic_conn *conn);

/* Bytes queued on this connection and not yet acknowledged. */
FR_EXTERN size_t fr_quic_conn_send_buffered(const fr_quic_conn *conn);

/* Gracefully closes the connection with an application error code (0 for a
 * normal end) and a reason phrase. The `closed` callback follows. */
FR_EXTERN int fr_quic_conn_close(fr_quic_conn *conn, uint64_t app_error_code,
                                 const char *reason);

FR_EXTERN void fr_quic_conn_get_stats(const fr_quic_conn *conn,
                                      fr_quic_conn_stats *stats);

/* Copies this connection's current own CID (the one peers address). Returns
 * its length. */
FR_EXTERN size_t fr_quic_conn_get_local_cid(const fr_quic_conn *conn,
                                            uint8_t cid[FR_CID_MAX_LEN]);

/* Copies the CID this connection currently sends to. Returns its length. */
FR_EXTERN size_t fr_quic_conn_get_remote_cid(const fr_quic_conn *conn,
                                             uint8_t cid[FR_CID_MAX_LEN]);

/*
 * Certificates.
 */

/* Loads a PEM certificate chain and private key. */
FR_EXTERN int fr_cert_load(fr_cert **pcert, const char *cert_file,
                           const char *key_file);

/* Generates a self-signed ECDSA P-256 certificate in memory, valid for one
 * year for `name` (DNS name or IP address literal). For demos and tests. */
FR_EXTERN int fr_cert_generate(fr_cert **pcert, const char *name);

/* Days a certificate browsers pin by hash may be valid: WebTransport's
 * serverCertificateHashes takes ECDSA certificates valid for at most 14
 * days in all (fr_cert_generate_days starts them an hour back). */
#define FR_CERT_BROWSER_DAYS 13

/* The same, valid for `days` (1 to 3650) from an hour ago. */
FR_EXTERN int fr_cert_generate_days(fr_cert **pcert, const char *name,
                                    unsigned days);

/* The SHA-256 of the certificate (first of the chain, DER): what a
 * browser pins with serverCertificateHashes. Returns 0 or FR_ERR_CERT. */
FR_EXTERN int fr_cert_sha256(const fr_cert *cert, uint8_t out[32]);

/* Returns the certificate (first of the chain) as PEM; clients can pin it
 * through fr_quic_settings.ca_pem. Valid while the fr_cert lives. */
FR_EXTERN const char *fr_cert_pem(const fr_cert *cert, size_t *plen);

FR_EXTERN void fr_cert_del(fr_cert *cert);

/*
 * Addresses.
 */

/* Parses "A.B.C.D:PORT" or "[V6ADDR]:PORT" (numeric addresses only, no DNS
 * lookups). Returns 0 or FR_ERR_ADDRESS. */
FR_EXTERN int fr_addr_parse(struct sockaddr_storage *addr, socklen_t *len,
                            const char *host_port);

/* Formats an address as "HOST:PORT" / "[V6]:PORT". Returns buf. */
FR_EXTERN const char *fr_addr_format(char *buf, size_t buflen,
                                     const struct sockaddr *addr);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_QUIC_H */
