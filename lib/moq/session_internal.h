/*
 * Internal state of a MoQT session: streams, requests, subscriptions.
 */
#ifndef FR_MOQ_SESSION_INTERNAL_H
#define FR_MOQ_SESSION_INTERNAL_H

#include <fastrelay/moq.h>

#include "../quic/copy_class.h"

#include "../util/hmap.h"
#include "../util/logf.h"
#include "../wt/wt.h"
#include "codec.h"

/* A growable byte buffer for bytes not parsed yet. */
typedef struct fr_moq_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} fr_moq_buf;

/* buf.c */
int fr_moq_buf_append(fr_moq_buf *b, const uint8_t *data, size_t len);
void fr_moq_buf_consume(fr_moq_buf *b, size_t n);
void fr_moq_buf_free(fr_moq_buf *b);

/* What a received stream carries. */
typedef enum fr_moq_rkind {
    FR_RS_UNKNOWN = 0, /* unidirectional, type not read yet */
    FR_RS_CONTROL,     /* the peer's control stream */
    FR_RS_REQUEST,     /* a bidirectional request stream */
    FR_RS_SUBGROUP,
    FR_RS_FETCH,
    FR_RS_IGNORE       /* padding, or data of an ended subscription */
} fr_moq_rkind;

typedef enum fr_moq_req_kind {
    FR_REQ_SUBSCRIBE = 1,   /* we subscribe (fr_moq_sub) */
    FR_REQ_FETCH,           /* we fetch (fr_moq_fetch) */
    FR_REQ_PUBLISH_NS,      /* we announce a namespace */
    FR_REQ_PUBLISH,         /* we offer a track (fr_moq_pub) */
    FR_REQ_IN_SUBSCRIBE,    /* the peer subscribes (fr_moq_pub once
                               accepted) */
    FR_REQ_IN_FETCH,        /* the peer fetches */
    FR_REQ_IN_PUBLISH_NS,   /* the peer announces a namespace */
    FR_REQ_IN_SUBSCRIBE_NS, /* the peer subscribes to namespaces */
    FR_REQ_IN_SUBSCRIBE_TRACKS, /* ... to the tracks under a prefix */
    FR_REQ_IN_TRACK_STATUS,
    FR_REQ_IN_PUBLISH,      /* the peer offers a track; once accepted it
                               runs as FR_REQ_SUBSCRIBE */
    FR_REQ_IN_OTHER         /* answered with an error at once */
} fr_moq_req_kind;

/* Copy of a full track name that owns its bytes. */
typedef struct fr_moq_name_copy {
    fr_moq_name name;
    uint8_t *bytes;
} fr_moq_name_copy;

/* One request stream and what it belongs to. */
typedef struct fr_moq_req {
    fr_moq_session *s;
    fr_moq_req_kind kind;
    uint64_t id;
    int64_t stream_id;     /* -1: waits for the peer's stream limit */
    int answered;          /* response sent or received */
    int write_closed;      /* we sent FIN on the request stream */
    fr_moq_name_copy name; /* the track or namespace it is about */
    fr_moq_sub_params params;
    fr_moq_track_info info; /* incoming PUBLISH */
    fr_moq_sub *sub;
    fr_moq_pub *pub;
    fr_moq_fetch *fetch;
    /* Waiting for a stream: messages encoded so far, and FIN after them. */
    fr_moq_buf queued;
    int queued_fin;
    struct fr_moq_req *next_blocked;
    struct fr_moq_req *next; /* session list */
    struct fr_moq_req *prev;
} fr_moq_req;

struct fr_moq_sub {
    fr_moq_session *s;
    fr_moq_req *req;
    fr_moq_name_copy name;
    fr_moq_sub_params params;
    int established;
    int done_notified;
    fr_moq_track_info info;
    /* Data streams seen (header parsed) and still open. */
    uint64_t streams_seen;
    uint64_t streams_open;
    /* PUBLISH_DONE arrived; ends when streams_expected streams ended. */
    int done_pending;
    uint64_t done_status;
    uint64_t streams_expected;
    char done_reason[FR_MOQ_MAX_REASON + 1];
    void *user_data;
};

struct fr_moq_pub {
    fr_moq_session *s;
    fr_moq_req *req;
    fr_moq_sub_params params;
    fr_moq_track_info info;
    uint64_t streams_opened;
    fr_moq_subgroup *subgroups; /* open ones */
    int done;
    void *user_data;
};

struct fr_moq_subgroup {
    fr_moq_pub *pub;
    int64_t stream_id;
    uint64_t type;       /* SUBGROUP_HEADER type */
    int has_prev;
    uint64_t prev_id;
    struct fr_moq_subgroup *next;
};

struct fr_moq_fetch {
    fr_moq_session *s;
    fr_moq_req *req;
    fr_moq_sub *joined;      /* joining fetch: the subscription */
    int outgoing;            /* we serve it (publisher side) */
    int64_t data_stream;     /* fetch stream (ours when outgoing) */
    uint8_t group_order;
    int has_prev;
    fr_moq_fetch_object prev;
    int data_done;           /* fetch stream ended */
    int ok;                  /* FETCH_OK seen */
    int done_notified;
    void *user_data;
};

/* Receive state of one stream. */
/* Longest subgroup header kept as received (type, alias, group,
 * subgroup, priority fit in 33 bytes). */
#define FR_MOQ_SG_HDR_RAW_MAX 40

typedef struct fr_moq_rstream {
    int64_t id;
    fr_moq_rkind kind;
    fr_moq_buf buf;
    fr_moq_req *req;         /* REQUEST */
    /* SUBGROUP */
    fr_moq_sub *sub;
    fr_moq_subgroup_header hdr;
    uint8_t hdr_raw[FR_MOQ_SG_HDR_RAW_MAX]; /* the header as received */
    size_t hdr_raw_len;
    int hdr_done;            /* header parsed and the subscription known */
    int pending_alias;       /* header parsed, alias not known yet */
    int fin_seen;            /* FIN arrived while pending */
    int begun;               /* subgroup_begin delivered */
    int has_prev_object;
    uint64_t prev_object;
    /* FETCH */
    fr_moq_fetch *fetch;
} fr_moq_rstream;

/* What a session's streams and close go through (transport.c): raw QUIC,
 * or a WebTransport session over HTTP/3. Stream IDs are QUIC's in both. */
typedef struct fr_moq_transport {
    int (*open_uni)(fr_moq_session *s, int64_t *sid);
    int (*open_bidi)(fr_moq_session *s, int64_t *sid);
    int (*reset)(fr_moq_session *s, int64_t sid, uint64_t code);
    void (*close)(fr_moq_session *s, uint64_t code, const char *reason);
    /* A uni stream opened beneath the session: its header, if any. */
    int (*adopt)(fr_moq_session *s, int64_t sid, size_t *header_len);
} fr_moq_transport;

extern const fr_moq_transport fr_moq_quic_transport;

struct fr_moq_session {
    fr_quic_conn *conn;
    const fr_moq_transport *tp;
    fr_wt *wt;            /* the WebTransport session (ALPN h3), or NULL */
    char *authority;      /* client over WebTransport: CONNECT's */
    char *wt_path;        /* settings.webtransport_path, copied */
    fr_moq_callbacks cb;
    fr_moq_settings settings;
    char *implementation; /* SETUP's MOQT IMPLEMENTATION, or NULL */
    void *user_data;      /* passed to every callback */
    void *app_data;       /* fr_moq_session_get/set_user_data */
    int is_server;
    unsigned draft;       /* FR_MOQ_DRAFT_*, from ALPN or wt-protocol */
    int64_t ctrl_out;
    int setup_received;
    int ready;
    int closed;           /* fr_moq_session_close or QUIC close seen */
    int busy;             /* nesting of entry points being processed */
    int gone;             /* the connection closed: tear down when idle */
    uint64_t gone_code;
    char gone_reason[256];
    uint64_t next_request_id;
    uint64_t peer_next_id; /* above every request ID the peer used */
    int goaway_sent;       /* new requests of the peer: GOING_AWAY */
    int goaway_received;   /* we make no new requests */
    uint64_t next_alias;
    /* Data streams reset before their header said whose they were: they
     * count towards subscriptions whose PUBLISH_DONE waits for streams. */
    uint64_t unattributed;
    fr_hmap rstreams;     /* stream id -> fr_moq_rstream */
    fr_hmap requests;     /* request id -> fr_moq_req */
    fr_hmap aliases;      /* track alias -> fr_moq_sub */
    fr_moq_req *reqs;     /* every live request */
    size_t in_subscriptions; /* live FR_REQ_IN_SUBSCRIBE requests */
    /* Our requests waiting for the peer's stream limit, oldest first. */
    fr_moq_req *blocked_head;
    fr_moq_req *blocked_tail;
    size_t nblocked;
};

/* session.c */
/* The draft a protocol name ("moqt-NN", from ALPN or wt-protocol) names;
 * draft 18 for NULL or another name. */
unsigned fr_moq_draft_of(const char *protocol);
/* Opens our control stream and sends SETUP. */
int fr_moq_session_start(fr_moq_session *s);
/* QUIC events of the session's streams, as the transport delivers them
 * (inside fr_moq_enter/leave). */
int fr_moq_in_stream_data(fr_moq_session *s, int64_t sid,
                          const uint8_t *data, size_t len, int fin);
int fr_moq_in_stream_reset(fr_moq_session *s, int64_t sid, uint64_t code);
int fr_moq_in_stop_sending(fr_moq_session *s, int64_t sid, uint64_t code);
/* data.c, request.c: the same for datagrams and stream credit. */
int fr_moq_in_datagram(fr_moq_session *s, const uint8_t *data, size_t len);
int fr_moq_in_streams_available(fr_moq_session *s);

/* transport.c */
/* After the QUIC handshake: starts the session over raw QUIC, or over
 * WebTransport for ALPN h3 (SETUP then waits for the CONNECT). */
int fr_moq_transport_start(fr_moq_session *s);
/* A client over WebTransport: CONNECT's :authority, host:port (the
 * address's own text without a host name). */
int fr_moq_session_set_authority(fr_moq_session *s, const char *host,
                                 const struct sockaddr *remote);
/* Brackets processing of a QUIC event; fr_moq_leave tears the session
 * down if it closed meanwhile and returns 1 then. */
void fr_moq_enter(fr_moq_session *s);
int fr_moq_leave(fr_moq_session *s);
void fr_moq_fail(fr_moq_session *s, uint64_t code, const char *reason);
/* Encodes `msg` into a new buffer (*pbuf, freed by the caller); returns
 * its length or a negative FR_ERR_*. */
ssize_t fr_moq_msg_encode_alloc(const fr_moq_session *s,
                                const fr_moq_msg *msg, uint8_t **pbuf);
int fr_moq_send_msg(fr_moq_session *s, int64_t stream_id,
                    const fr_moq_msg *msg, int fin);

/* subscriber.c */
void fr_moq_sub_end(fr_moq_sub *sub, int rejected, uint64_t code,
                    const char *reason);
/* Ends a subscription whose PUBLISH_DONE came once its streams are done. */
void fr_moq_sub_maybe_done(fr_moq_sub *sub);
/* A data stream ended before it could be attributed: recheck waiting
 * subscriptions. */
void fr_moq_unattributed_stream(fr_moq_session *s);
void fr_moq_fetch_end(fr_moq_fetch *f, int rejected, uint64_t code,
                      const char *reason);
/* Applies wire parameters over `p` (defaults or current values). */
void fr_moq_params_from_wire(fr_moq_sub_params *p, const fr_moq_params *w);
/* The wire parameters for `p`: those that differ from the defaults. */
void fr_moq_params_to_wire(fr_moq_params *w, const fr_moq_sub_params *p);

/* publisher.c */
void fr_moq_pub_end(fr_moq_pub *pub);

/* request.c: requests and their streams */
/* Registers a request on `stream_id` (-1: none yet). */
fr_moq_req *fr_moq_req_new(fr_moq_session *s, fr_moq_req_kind kind,
                           uint64_t id, int64_t stream_id);
/* Starts a request of ours with the next request ID, on a new stream or,
 * while the peer's stream limit is reached, queued until it grants one. */
int fr_moq_req_open(fr_moq_session *s, fr_moq_req_kind kind,
                    fr_moq_req **pr);
/* Sends a message on the request's stream, or queues it with the request. */
int fr_moq_req_send(fr_moq_req *r, const fr_moq_msg *msg, int fin);
/* Resets our side of the request's stream (nothing if it has none yet). */
void fr_moq_req_reset(fr_moq_req *r, uint64_t code);
/* Ends the request: FIN on our side of its stream unless that side is
 * done already (answered with FIN, or reset), then frees it. */
void fr_moq_req_end(fr_moq_req *r);

/* name.c */
int fr_moq_name_copy_set(fr_moq_name_copy *dst, const fr_moq_name *src);
void fr_moq_name_copy_free(fr_moq_name_copy *c);
/* Full names equal; namespace `ns` a prefix of `name`'s. */
int fr_moq_name_eq(const fr_moq_name *a, const fr_moq_name *b);
int fr_moq_ns_covers(const fr_moq_name *ns, const fr_moq_name *name);
/* Namespaces and full names between the API's and the codec's form
 * (views, no copies). */
void fr_moq_ns_from_wire(fr_moq_name *n, const fr_moq_namespace *ns);
void fr_moq_ns_to_wire(fr_moq_namespace *ns, const fr_moq_name *n);
void fr_moq_name_from_wire(fr_moq_name *n, const fr_moq_track_ref *t);
void fr_moq_name_to_wire(fr_moq_track_ref *t, const fr_moq_name *n);

/* data.c: data streams */
/* Stream priority for a subscription's data: after control and request
 * streams, by subscriber priority, publisher priority, group order. */
uint64_t fr_moq_data_priority(const fr_moq_sub_params *p, uint8_t pub_prio,
                              uint64_t group, uint64_t subgroup,
                              uint8_t default_order);
int fr_moq_rstream_data(fr_moq_session *s, fr_moq_rstream *rs,
                        const uint8_t *data, size_t len, int fin);
int fr_moq_rstream_reset(fr_moq_session *s, fr_moq_rstream *rs,
                         uint64_t code);
void fr_moq_rstream_free(fr_moq_session *s, fr_moq_rstream *rs);
/* fr_hmap_each helpers: forget a sub or fetch that ended. */
void fr_moq_rstream_detach_sub(void *rstream, void *sub);
void fr_moq_rstream_detach_fetch(void *rstream, void *fetch);
/* fr_hmap_each helper: logs each stream of `sub` that is still open. */
void fr_moq_rstream_warn_open(void *rstream, void *sub);
/* FETCH_OK came: deliver what the fetch stream holds already. */
void fr_moq_fetch_ready(fr_moq_session *s, fr_moq_fetch *f);
/* A SUBSCRIBE_OK made `alias` known: process streams that waited. */
void fr_moq_alias_ready(fr_moq_session *s, uint64_t alias);
void fr_moq_subgroups_free(fr_moq_pub *pub);
/* Counts the packets of one of the session's streams as media copies of
 * class `cls` (lib/quic/copy_class.h). */
void fr_moq_stream_set_copy_class(fr_moq_session *s, int64_t stream_id,
                                  fr_copy_class cls);
/* The header bytes of subgroup stream `stream` as the publisher sent
 * them. Returns 0, or FR_ERR_STREAM_NOT_FOUND. */
int fr_moq_subgroup_raw_header(fr_moq_session *s, uint64_t stream,
                               const uint8_t **p, size_t *n);
/* Takes `stream_id`, a uni stream already open on the session's
 * connection, as a subgroup of `pub` without writing a header: the
 * caller writes the stream's bytes with fr_moq_subgroup_write_raw. */
int fr_moq_pub_adopt_subgroup(fr_moq_pub *pub, int64_t stream_id,
                              const fr_moq_subgroup_info *info,
                              fr_moq_subgroup **psg);

/* control.c: control and request streams */
int fr_moq_control_data(fr_moq_session *s, fr_moq_rstream *rs, int fin);
int fr_moq_request_data(fr_moq_session *s, fr_moq_rstream *rs, int fin);
/* The peer ended a namespace request of its own (FR_REQ_IN_PUBLISH_NS:
 * withdrew the namespace; FR_REQ_IN_SUBSCRIBE_NS or _TRACKS: the
 * namespace subscription), by FIN or by cancelling it: ends `r` and tells
 * the application. */
void fr_moq_ns_request_ended(fr_moq_session *s, fr_moq_req *r);

#endif
