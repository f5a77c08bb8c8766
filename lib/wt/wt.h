/*
 * A WebTransport session over HTTP/3 on one QUIC connection (ALPN "h3"),
 * server or client side, for the MoQT layer above (docs/WEBTRANSPORT.md).
 * HTTP/3's control, QPACK and request streams go through nghttp3; the
 * session's own streams reach the application with their headers taken
 * off, under their QUIC stream IDs, and streams the application opens
 * get theirs put on. One session per connection.
 *
 * The owner feeds every QUIC event of the connection in (fr_wt_on_*) and
 * gets the session's through fr_wt_callbacks.
 */
#ifndef FR_WT_H
#define FR_WT_H

#include <stddef.h>
#include <stdint.h>

#include <fastrelay/quic.h>

typedef struct fr_wt fr_wt;

typedef struct fr_wt_callbacks {
    /* The session is up; `protocol` is the one agreed through
     * wt-available-protocols / wt-protocol, or NULL when the client named
     * none. Returns 0, or negative to close the session. */
    int (*ready)(void *arg, const char *protocol);
    /* Session stream data, in order, its header taken off. */
    void (*stream_data)(void *arg, int64_t stream_id, const uint8_t *data,
                        size_t len, int fin);
    /* The peer reset or stopped a session stream (its application code). */
    void (*stream_reset)(void *arg, int64_t stream_id, uint64_t code);
    void (*stop_sending)(void *arg, int64_t stream_id, uint64_t code);
    /* The peer opened more streams for us. */
    void (*streams_available)(void *arg);
    /* A session datagram, its prefix taken off. */
    void (*datagram)(void *arg, const uint8_t *data, size_t len);
    /* The session ended or was refused (why, for the log); the connection
     * is being closed. */
    void (*closed)(void *arg, const char *why);
} fr_wt_callbacks;

typedef struct fr_wt_config {
    /* Server: the path CONNECT must name; client: the path it names. */
    const char *path;
    /* Client: the :authority (host:port). */
    const char *authority;
    /* Protocols: the server's in its order of preference, the client's
     * offered in wt-available-protocols (at most 8). */
    const char *const *protocols;
    size_t nprotocols;
    fr_log log;
} fr_wt_config;

/* Starts HTTP/3 on a connection whose handshake chose "h3": the control
 * and QPACK streams, and on a client the CONNECT once the server's
 * SETTINGS allow it. Strings of cfg are copied. Returns 0,
 * FR_ERR_INVALID_ARGUMENT or FR_ERR_NOMEM. */
int fr_wt_new(fr_wt **pwt, fr_quic_conn *conn, const fr_wt_config *cfg,
              const fr_wt_callbacks *cb, void *arg);
void fr_wt_del(fr_wt *wt);

/* The connection's QUIC events. */
void fr_wt_on_stream_data(fr_wt *wt, int64_t stream_id, const uint8_t *data,
                          size_t len, int fin);
void fr_wt_on_stream_reset(fr_wt *wt, int64_t stream_id, uint64_t h3_code);
void fr_wt_on_stop_sending(fr_wt *wt, int64_t stream_id, uint64_t h3_code);
void fr_wt_on_stream_close(fr_wt *wt, int64_t stream_id);
void fr_wt_on_streams_available(fr_wt *wt);
void fr_wt_on_datagram(fr_wt *wt, const uint8_t *data, size_t len);

/* Session streams: opened with their header written; reset with the
 * application's code mapped into HTTP/3's space. */
int fr_wt_open_uni(fr_wt *wt, int64_t *stream_id);
int fr_wt_open_bidi(fr_wt *wt, int64_t *stream_id);
int fr_wt_stream_reset(fr_wt *wt, int64_t stream_id, uint32_t code);
/* A unidirectional stream a layer below opened on the connection for the
 * session (the fast path's pool): its header is written now. Returns 0
 * with *header_len set, or an error. */
int fr_wt_adopt_uni(fr_wt *wt, int64_t stream_id, size_t *header_len);

/* Ends the session: the CONNECT stream finishes, then the connection
 * closes with H3_NO_ERROR. */
void fr_wt_close(fr_wt *wt, const char *reason);

#endif
