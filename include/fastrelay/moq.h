/*
 * libfastrelay — MoQT sessions (draft-ietf-moq-transport-18 and -19, raw
 * QUIC, ALPN "moqt-18" / "moqt-19").
 *
 * An fr_moq_session runs MoQT over one QUIC connection: the control
 * stream pair, request streams, and the data streams that carry objects.
 * The application creates it for a connection and routes that connection's
 * QUIC events to it (fr_moq_endpoint does both for libev users).
 *
 * Subscriber side: fr_moq_subscribe() returns an fr_moq_sub; objects arrive
 * through the `object` callback, and relays can also take each subgroup
 * stream's bytes as they arrive (`subgroup_*` callbacks) to forward them
 * unchanged.
 *
 * Publisher side: the `subscribe` callback announces a request; the
 * application answers with fr_moq_accept_subscribe() (getting an fr_moq_pub
 * to send objects on) or fr_moq_reject(). Subgroups are opened with
 * fr_moq_pub_open_subgroup() and carry objects in order.
 *
 * Handles stay valid until the callback that ends them (`sub_done`,
 * `pub_done`, `fetch_done`, `session_closed`) returns.
 */
#ifndef FASTRELAY_MOQ_H
#define FASTRELAY_MOQ_H

#include <fastrelay/common.h>
#include <fastrelay/quic.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

typedef struct fr_moq_session fr_moq_session;
typedef struct fr_moq_sub fr_moq_sub;
typedef struct fr_moq_pub fr_moq_pub;
typedef struct fr_moq_subgroup fr_moq_subgroup;
typedef struct fr_moq_fetch fr_moq_fetch;
typedef struct fr_moq_endpoint fr_moq_endpoint;

#define FR_MOQ_MAX_NS_FIELDS 32

/* ALPNs of the drafts spoken over raw QUIC, and both in the order a
 * server prefers them. Data streams are the same in both; control
 * messages differ in details. */
#define FR_MOQ_ALPN_18 "moqt-18"
#define FR_MOQ_ALPN_19 "moqt-19"
#define FR_MOQ_ALPNS FR_MOQ_ALPN_19 "," FR_MOQ_ALPN_18

/* A byte string that is not owned (names may be binary). */
typedef struct fr_moq_field {
    const uint8_t *data;
    size_t len;
} fr_moq_field;

/* A full track name: namespace tuple and track name. */
typedef struct fr_moq_name {
    size_t nfields;
    fr_moq_field ns[FR_MOQ_MAX_NS_FIELDS];
    fr_moq_field track;
} fr_moq_name;

/* Fills `n` from a namespace written as "a/b/c" and a track name. The
 * strings are referenced, not copied. Returns 0 or FR_ERR_INVALID_ARGUMENT. */
FR_EXTERN int fr_moq_name_set(fr_moq_name *n, const char *ns_path,
                              const char *track);

/* Renders a name as the draft recommends ("a-b--track", other bytes as
 * ".xx"). Returns buf. */
FR_EXTERN const char *fr_moq_name_format(char *buf, size_t buflen,
                                         const fr_moq_name *n);

typedef struct fr_moq_location {
    uint64_t group;
    uint64_t object;
} fr_moq_location;

/* Request error codes (REQUEST_ERROR). */
#define FR_MOQ_REQ_INTERNAL_ERROR 0x0
#define FR_MOQ_REQ_UNAUTHORIZED 0x1
#define FR_MOQ_REQ_TIMEOUT 0x2
#define FR_MOQ_REQ_NOT_SUPPORTED 0x3
#define FR_MOQ_REQ_GOING_AWAY 0x6
#define FR_MOQ_REQ_EXCESSIVE_LOAD 0x9
#define FR_MOQ_REQ_DOES_NOT_EXIST 0x10
#define FR_MOQ_REQ_INVALID_RANGE 0x11
#define FR_MOQ_REQ_DUPLICATE_SUBSCRIPTION 0x19
#define FR_MOQ_REQ_UNINTERESTED 0x20
#define FR_MOQ_REQ_PREFIX_OVERLAP 0x30
#define FR_MOQ_REQ_INVALID_JOINING_REQUEST_ID 0x32
#define FR_MOQ_REQ_UNSUPPORTED_EXTENSION 0x33

/* PUBLISH_DONE status codes. */
#define FR_MOQ_DONE_INTERNAL_ERROR 0x0
#define FR_MOQ_DONE_TRACK_ENDED 0x2
#define FR_MOQ_DONE_SUBSCRIPTION_ENDED 0x3
#define FR_MOQ_DONE_GOING_AWAY 0x4
#define FR_MOQ_DONE_TOO_FAR_BEHIND 0x5

/* Data stream reset (RESET_STREAM, STOP_SENDING) codes, as
 * fr_moq_subgroup_reset takes them. */
#define FR_MOQ_STREAM_INTERNAL_ERROR 0x0
#define FR_MOQ_STREAM_CANCELLED 0x1
#define FR_MOQ_STREAM_DELIVERY_TIMEOUT 0x2
#define FR_MOQ_STREAM_SESSION_CLOSED 0x3
#define FR_MOQ_STREAM_GOING_AWAY 0x4
#define FR_MOQ_STREAM_TOO_FAR_BEHIND 0x5
#define FR_MOQ_STREAM_UNKNOWN_OBJECT_STATUS 0x6
#define FR_MOQ_STREAM_EXPIRED_AUTH_TOKEN 0x7
#define FR_MOQ_STREAM_EXCESSIVE_LOAD 0x9
#define FR_MOQ_STREAM_MALFORMED_TRACK 0x12

/* Filter types and group orders (values as on the wire). */
#define FR_MOQ_FILTER_NONE 0x0 /* unfiltered */
#define FR_MOQ_FILTER_NEXT_GROUP 0x1
#define FR_MOQ_FILTER_LARGEST 0x2
#define FR_MOQ_FILTER_ABSOLUTE_START 0x3
#define FR_MOQ_FILTER_ABSOLUTE_RANGE 0x4
#define FR_MOQ_ORDER_PUBLISHER 0x0 /* not expressed: publisher's choice */
#define FR_MOQ_ORDER_ASCENDING 0x1
#define FR_MOQ_ORDER_DESCENDING 0x2

/* Object status values. */
#define FR_MOQ_OBJ_NORMAL 0x0
#define FR_MOQ_OBJ_END_OF_GROUP 0x3
#define FR_MOQ_OBJ_END_OF_TRACK 0x4

/* What a subscriber asks for (SUBSCRIBE parameters). */
typedef struct fr_moq_sub_params {
    uint8_t subscriber_priority; /* 0 most urgent; default 128 */
    uint8_t group_order;         /* FR_MOQ_ORDER_* */
    uint8_t forward;             /* 1: send objects (default) */
    uint64_t filter;             /* FR_MOQ_FILTER_* */
    fr_moq_location start;       /* ABSOLUTE_START / ABSOLUTE_RANGE */
    uint64_t end_group;          /* ABSOLUTE_RANGE */
    /* SUBSCRIBE only: how long a relay may hold it for a publisher that
     * has not appeared yet, in ms (RENDEZVOUS_TIMEOUT; 0: answer now). */
    uint64_t rendezvous_timeout_ms;
} fr_moq_sub_params;

FR_EXTERN void fr_moq_sub_params_default(fr_moq_sub_params *p);

/* What a publisher answers (SUBSCRIBE_OK / PUBLISH). */
typedef struct fr_moq_track_info {
    uint64_t track_alias;
    int has_largest;             /* objects have been published */
    fr_moq_location largest;
    uint8_t group_order;         /* publisher's preference (1 or 2) */
    uint8_t publisher_priority;  /* default for subgroups without one */
} fr_moq_track_info;

/* One object as the subscriber sees it. */
typedef struct fr_moq_object {
    fr_moq_location loc;
    uint64_t subgroup;
    uint8_t publisher_priority;
    uint64_t status;             /* FR_MOQ_OBJ_* */
    const uint8_t *properties;   /* raw Key-Value-Pairs */
    size_t properties_len;
    const uint8_t *payload;
    size_t payload_len;
} fr_moq_object;

/* Header of a subgroup stream. */
typedef struct fr_moq_subgroup_info {
    uint64_t group;
    uint64_t subgroup;
    uint8_t publisher_priority;
    int end_of_group;            /* this subgroup holds the group's last
                                    object */
    int has_properties;          /* objects carry property fields */
    int first_object;            /* the stream starts at the subgroup's
                                    first object */
} fr_moq_subgroup_info;

/* A FETCH request, as the publisher sees it. */
typedef struct fr_moq_fetch_request {
    int joining;                 /* joining fetch (relative or absolute) */
    fr_moq_pub *joining_pub;     /* the subscription it joins */
    uint64_t joining_start;
    int relative;
    fr_moq_name name;            /* standalone */
    fr_moq_location start;       /* standalone: first location */
    fr_moq_location end;         /* standalone: last location (object 0
                                    means the whole end group) */
    uint8_t subscriber_priority;
    uint8_t group_order;
} fr_moq_fetch_request;

typedef struct fr_moq_callbacks {
    /* Both SETUP messages were exchanged; requests may flow. */
    void (*session_ready)(fr_moq_session *s, void *user_data);
    /* The session ended (MoQT error code and reason, or the QUIC close).
     * Every sub, pub and fetch of the session was ended before this. */
    void (*session_closed)(fr_moq_session *s, uint64_t code,
                           const char *reason, void *user_data);

    /* Publisher side. */
    /* A peer subscribes: answer now or later with fr_moq_accept_subscribe
     * or fr_moq_reject. `req` identifies the request. */
    void (*subscribe)(fr_moq_session *s, uint64_t req,
                      const fr_moq_name *name, const fr_moq_sub_params *p,
                      void *user_data);
    /* The subscriber changed priority or forwarding (REQUEST_UPDATE). */
    void (*pub_updated)(fr_moq_pub *pub, const fr_moq_sub_params *p,
                        void *user_data);
    /* The subscription ended: unsubscribed, rejected by us, or session
     * gone. `pub` is freed when this returns. */
    void (*pub_done)(fr_moq_pub *pub, void *user_data);
    /* A peer asks for past objects: answer with fr_moq_accept_fetch or
     * fr_moq_reject. */
    void (*fetch)(fr_moq_session *s, uint64_t req,
                  const fr_moq_fetch_request *f, void *user_data);
    /* A peer announces a namespace it publishes: answer with
     * fr_moq_accept_request or fr_moq_reject. */
    void (*publish_namespace)(fr_moq_session *s, uint64_t req,
                              const fr_moq_name *ns, void *user_data);
    /* The peer withdrew a namespace it announced (its request stream
     * ended). */
    void (*publish_namespace_done)(fr_moq_session *s, uint64_t req,
                                   void *user_data);
    /* A peer offers a track (PUBLISH): take it with fr_moq_accept_publish
     * (objects then arrive as for a subscription) or fr_moq_reject. */
    void (*publish)(fr_moq_session *s, uint64_t req, const fr_moq_name *name,
                    const fr_moq_track_info *info, void *user_data);
    /* TRACK_STATUS: answer with fr_moq_accept_track_status or reject. */
    void (*track_status)(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, void *user_data);

    /* Subscriber side. */
    void (*sub_ok)(fr_moq_sub *sub, const fr_moq_track_info *info,
                   void *user_data);
    /* The subscription ended: error from the publisher (code, reason),
     * PUBLISH_DONE (status), unsubscribe, or session gone. `sub` is freed
     * when this returns. */
    void (*sub_done)(fr_moq_sub *sub, int rejected, uint64_t code,
                     const char *reason, void *user_data);
    /* A complete object of a subscription or fetch (`fetch` non-NULL). */
    void (*object)(fr_moq_sub *sub, fr_moq_fetch *fetch,
                   const fr_moq_object *obj, void *user_data);
    /* Relay forwarding: a subgroup stream of `sub` began, its object bytes
     * (everything after the header) arrive in order, then it ends (fin, or
     * reset with an error code). Called alongside `object`. */
    void (*subgroup_begin)(fr_moq_sub *sub, uint64_t stream,
                           const fr_moq_subgroup_info *info,
                           void *user_data);
    void (*subgroup_data)(fr_moq_sub *sub, uint64_t stream,
                          const uint8_t *data, size_t len, void *user_data);
    void (*subgroup_end)(fr_moq_sub *sub, uint64_t stream, int reset,
                         uint64_t code, void *user_data);
    void (*fetch_ok)(fr_moq_fetch *f, fr_moq_location end, int end_of_track,
                     void *user_data);
    /* The fetch finished (all objects delivered), failed or was
     * cancelled. `f` is freed when this returns. */
    void (*fetch_done)(fr_moq_fetch *f, int rejected, uint64_t code,
                       const char *reason, void *user_data);
    /* Our PUBLISH_NAMESPACE was answered, or (accepted 0) the peer
     * cancelled it later, revoking its acceptance. */
    void (*namespace_answer)(fr_moq_session *s, uint64_t req, int accepted,
                             uint64_t code, const char *reason,
                             void *user_data);

    /* Publisher side, namespace discovery. A peer subscribes to what is
     * published under `prefix` (no fields: everything): answer with
     * fr_moq_accept_request or fr_moq_reject. Then, for
     * SUBSCRIBE_NAMESPACE (`tracks` 0), report each matching namespace
     * with fr_moq_namespace_update; for SUBSCRIBE_TRACKS (`tracks` 1),
     * offer each matching track with fr_moq_publish, except the peer's
     * own. */
    void (*subscribe_namespace)(fr_moq_session *s, uint64_t req,
                                const fr_moq_name *prefix, int tracks,
                                void *user_data);
    /* The peer ended that namespace subscription. */
    void (*subscribe_namespace_done)(fr_moq_session *s, uint64_t req,
                                     void *user_data);

    /* The peer sent GOAWAY: it closes the session within `timeout_ms`
     * (0: no time given) and takes no new requests; ours fail with
     * FR_ERR_GOING_AWAY from now on. `new_uri` is where to go on (empty:
     * the same place). Subscriptions go on until the session ends. */
    void (*goaway)(fr_moq_session *s, const char *new_uri,
                   uint64_t timeout_ms, void *user_data);
} fr_moq_callbacks;

typedef struct fr_moq_settings {
    /* Largest object accepted on receive (bytes); larger ones end the
     * subscription with an error. */
    size_t max_object_size;
    /* Bound on bytes queued for a peer (QUIC send buffer); writes past it
     * fail with FR_ERR_QUEUE_FULL so a slow peer cannot grow memory. */
    size_t max_queued;
    /* Sent in the MOQT IMPLEMENTATION setup option (NULL: none). */
    const char *implementation;
    fr_log log;
    /* Subscriptions the peer may hold at once (SUBSCRIBEs accepted or
     * waiting for an answer; 0: no limit). Past it a SUBSCRIBE is
     * answered REQUEST_ERROR EXCESSIVE_LOAD and the session goes on. The
     * peer's concurrent requests of any kind are bounded by the QUIC
     * stream limit (fr_quic_settings.max_streams_bidi), as draft 18 has
     * it. */
    size_t max_subscriptions;
    /* WebTransport (layout 3 on; NULL: none). A server endpoint also
     * offers ALPN "h3" and takes sessions that CONNECT to this path; a
     * client endpoint connects over HTTP/3 to this path. The MoQT draft is
     * the one agreed in wt-available-protocols / wt-protocol (draft 18
     * when the client names none). */
    const char *webtransport_path;
} fr_moq_settings;

/* Fills `s`, of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_moq_settings_default), with defaults: objects up to 16 MiB, 32 MiB
 * queued per peer, 1000 subscriptions per session, logging off. Returns
 * 0, or FR_ERR_INVALID_ARGUMENT for an unknown layout (nothing written). */
FR_EXTERN int fr_moq_settings_default_versioned(int version,
                                                fr_moq_settings *s);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_moq_settings_default(fr_moq_settings *s);
#define fr_moq_settings_default(s)                                          \
    ((void)fr_moq_settings_default_versioned(FR_LAYOUT_VERSION, (s)))

/* Starts a session on a QUIC connection and sends SETUP (at once if the
 * handshake is complete, else from fr_moq_session_on_handshake). The
 * session becomes the connection's user data; feed it the connection's
 * events with fr_moq_session_on_* (fr_moq_endpoint does). `user_data` is
 * passed to every callback; each session also carries its own
 * (fr_moq_session_set_user_data), NULL at first. Callbacks and settings
 * are of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_moq_session_new) and copied. */
FR_EXTERN int fr_moq_session_new_versioned(fr_moq_session **ps,
                                           fr_quic_conn *conn, int version,
                                           const fr_moq_callbacks *cb,
                                           const fr_moq_settings *settings,
                                           void *user_data);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_moq_session_new(fr_moq_session **ps, fr_quic_conn *conn,
                                 const fr_moq_callbacks *cb,
                                 const fr_moq_settings *settings,
                                 void *user_data);
#define fr_moq_session_new(ps, conn, cb, settings, user_data)                \
    fr_moq_session_new_versioned((ps), (conn), FR_LAYOUT_VERSION, (cb),      \
                                 (settings), (user_data))
/* Frees the session (ends every sub/pub/fetch with their callbacks). Does
 * not close the QUIC connection. */
FR_EXTERN void fr_moq_session_del(fr_moq_session *s);
/* Ends the session: closes the QUIC connection with a MoQT code. */
FR_EXTERN int fr_moq_session_close(fr_moq_session *s, uint64_t code,
                                   const char *reason);
FR_EXTERN fr_quic_conn *fr_moq_session_conn(const fr_moq_session *s);
FR_EXTERN void *fr_moq_session_get_user_data(const fr_moq_session *s);
FR_EXTERN void fr_moq_session_set_user_data(fr_moq_session *s, void *ud);
FR_EXTERN int fr_moq_session_is_ready(const fr_moq_session *s);
/* The draft the session speaks (18 or 19, by ALPN), 0 before its QUIC
 * handshake completed. */
FR_EXTERN unsigned fr_moq_session_draft(const fr_moq_session *s);
/* Sends GOAWAY: the session will close within `timeout_ms` (0: no time
 * promised); a server may name a `new_uri` for clients to go to (NULL or
 * "": the same). New requests of the peer are refused (REQUEST_ERROR
 * GOING_AWAY) from now on; the ones under way go on. Once per session:
 * FR_ERR_INVALID_STATE after. */
FR_EXTERN int fr_moq_session_goaway(fr_moq_session *s, const char *new_uri,
                                    uint64_t timeout_ms);

/* QUIC events of the session's connection. Sessions made before the
 * handshake completed send SETUP from fr_moq_session_on_handshake. */
FR_EXTERN int fr_moq_session_on_handshake(fr_moq_session *s);
FR_EXTERN int fr_moq_session_on_stream_data(fr_moq_session *s,
                                            int64_t stream_id,
                                            const uint8_t *data, size_t len,
                                            int fin);
FR_EXTERN int fr_moq_session_on_stream_reset(fr_moq_session *s,
                                             int64_t stream_id,
                                             uint64_t code);
FR_EXTERN int fr_moq_session_on_stream_stop_sending(fr_moq_session *s,
                                                    int64_t stream_id,
                                                    uint64_t code);
FR_EXTERN int fr_moq_session_on_datagram(fr_moq_session *s,
                                         const uint8_t *data, size_t len);
/* A stream of the connection is closed both ways and forgotten. */
FR_EXTERN void fr_moq_session_on_stream_close(fr_moq_session *s,
                                              int64_t stream_id);
/* Whether the session runs over WebTransport (ALPN h3). */
FR_EXTERN int fr_moq_session_is_webtransport(const fr_moq_session *s);
/* A unidirectional stream that a layer beneath the session opened on its
 * connection for it (the fast path's streams): the transport's stream
 * header goes on it now (WebTransport: its type and session ID; raw QUIC:
 * none), so that the session's bytes follow it. Returns 0 with
 * *header_len set, or an error. */
FR_EXTERN int fr_moq_session_adopt_stream(fr_moq_session *s,
                                          int64_t stream_id,
                                          size_t *header_len);
/* The peer allows more streams: requests made while its limit was reached
 * (they wait, in order) go out now. */
FR_EXTERN int fr_moq_session_on_streams_available(fr_moq_session *s);
/* The connection closed; the session ends (callbacks run) and is freed. */
FR_EXTERN void fr_moq_session_on_closed(fr_moq_session *s,
                                        const fr_quic_close_info *info);

/* Subscriber side. */
FR_EXTERN int fr_moq_subscribe(fr_moq_session *s, const fr_moq_name *name,
                               const fr_moq_sub_params *p, fr_moq_sub **psub,
                               void *sub_user_data);
/* Cancels a subscription (STOP_SENDING). sub_done follows. */
FR_EXTERN int fr_moq_unsubscribe(fr_moq_sub *sub);
/* Changes subscriber priority / forwarding (REQUEST_UPDATE). */
FR_EXTERN int fr_moq_sub_update(fr_moq_sub *sub, const fr_moq_sub_params *p);
FR_EXTERN const fr_moq_name *fr_moq_sub_name(const fr_moq_sub *sub);

/* Where a subscription stands on its data streams: after PUBLISH_DONE it
 * ends (sub_done) once `streams_expected` streams have been seen and none
 * is open. Tells why a finished track has not ended yet. */
typedef struct fr_moq_sub_progress {
    int done_received;         /* PUBLISH_DONE arrived */
    uint64_t streams_expected; /* its stream count; 0 before it */
    uint64_t streams_seen;     /* data streams whose header named it */
    uint64_t streams_open;     /* of those, not ended yet */
} fr_moq_sub_progress;

FR_EXTERN void fr_moq_sub_get_progress(const fr_moq_sub *sub,
                                       fr_moq_sub_progress *p);
FR_EXTERN fr_moq_session *fr_moq_sub_session(const fr_moq_sub *sub);
FR_EXTERN void *fr_moq_sub_get_user_data(const fr_moq_sub *sub);
FR_EXTERN void fr_moq_sub_set_user_data(fr_moq_sub *sub, void *ud);

/* Takes a track the peer offered (PUBLISH_OK with `p`); NULL p: defaults. */
FR_EXTERN int fr_moq_accept_publish(fr_moq_session *s, uint64_t req,
                                    const fr_moq_sub_params *p,
                                    fr_moq_sub **psub, void *sub_user_data);

/* Joining fetch of `sub`: from `start` groups before the joining location
 * (relative) or from group `start` (absolute). */
FR_EXTERN int fr_moq_fetch_joining(fr_moq_sub *sub, int relative,
                                   uint64_t start, fr_moq_fetch **pf,
                                   void *fetch_user_data);
/* Standalone fetch of [start, end] of a track. */
FR_EXTERN int fr_moq_fetch_range(fr_moq_session *s, const fr_moq_name *name,
                                 fr_moq_location start, fr_moq_location end,
                                 fr_moq_fetch **pf, void *fetch_user_data);
FR_EXTERN int fr_moq_fetch_cancel(fr_moq_fetch *f);
FR_EXTERN void *fr_moq_fetch_get_user_data(const fr_moq_fetch *f);
FR_EXTERN void fr_moq_fetch_set_user_data(fr_moq_fetch *f, void *ud);

/* Announces a namespace we publish (PUBLISH_NAMESPACE); the answer arrives
 * through namespace_answer. */
FR_EXTERN int fr_moq_publish_namespace(fr_moq_session *s,
                                       const fr_moq_name *ns, uint64_t *preq);
/* Withdraws a namespace we announced (draft 18: by cancelling its request
 * stream), answered or not. No callback follows. Returns
 * FR_ERR_INVALID_ARGUMENT if `req` is no namespace of ours. */
FR_EXTERN int fr_moq_publish_namespace_done(fr_moq_session *s, uint64_t req);

/* Publisher side. */

/* Offers a track to the peer (PUBLISH) without waiting for a SUBSCRIBE;
 * objects may be sent at once. The peer's answer arrives through
 * pub_updated (accepted, with its parameters) or pub_done (refused). */
FR_EXTERN int fr_moq_publish(fr_moq_session *s, const fr_moq_name *name,
                             const fr_moq_track_info *info, fr_moq_pub **ppub,
                             void *pub_user_data);
FR_EXTERN int fr_moq_accept_subscribe(fr_moq_session *s, uint64_t req,
                                      const fr_moq_track_info *info,
                                      fr_moq_pub **ppub, void *pub_user_data);
/* Rejects any pending request with a REQUEST_ERROR code and reason. */
FR_EXTERN int fr_moq_reject(fr_moq_session *s, uint64_t req, uint64_t code,
                            const char *reason);
/* Accepts a PUBLISH_NAMESPACE or SUBSCRIBE_NAMESPACE (REQUEST_OK). */
FR_EXTERN int fr_moq_accept_request(fr_moq_session *s, uint64_t req);
/* On an accepted SUBSCRIBE_NAMESPACE: namespace `ns`, under its prefix,
 * is published now (NAMESPACE), or no longer (`active` 0:
 * NAMESPACE_DONE, only after its NAMESPACE). */
FR_EXTERN int fr_moq_namespace_update(fr_moq_session *s, uint64_t req,
                                      const fr_moq_name *ns, int active);
FR_EXTERN int fr_moq_accept_track_status(fr_moq_session *s, uint64_t req,
                                         const fr_moq_track_info *info);

/* The subscription's parameters as last requested by the subscriber. */
FR_EXTERN const fr_moq_sub_params *fr_moq_pub_params(const fr_moq_pub *pub);
FR_EXTERN const fr_moq_name *fr_moq_pub_name(const fr_moq_pub *pub);
FR_EXTERN fr_moq_session *fr_moq_pub_session(const fr_moq_pub *pub);
FR_EXTERN uint64_t fr_moq_pub_track_alias(const fr_moq_pub *pub);
FR_EXTERN void *fr_moq_pub_get_user_data(const fr_moq_pub *pub);
FR_EXTERN void fr_moq_pub_set_user_data(fr_moq_pub *pub, void *ud);
/* Bytes queued on the session and not yet acknowledged. */
FR_EXTERN size_t fr_moq_pub_queued(const fr_moq_pub *pub);

/* Opens a subgroup stream (writes its header). */
FR_EXTERN int fr_moq_pub_open_subgroup(fr_moq_pub *pub,
                                       const fr_moq_subgroup_info *info,
                                       fr_moq_subgroup **psg);
/* Writes one object; object IDs must increase within the subgroup. */
FR_EXTERN int fr_moq_subgroup_write(fr_moq_subgroup *sg, uint64_t object_id,
                                    const uint8_t *payload, size_t len);
/* Writes a whole object: ID (obj->loc.object), properties (kept if the
 * subgroup has them), payload, or a status when the payload is empty. */
FR_EXTERN int fr_moq_subgroup_write_object(fr_moq_subgroup *sg,
                                           const fr_moq_object *obj);
/* Writes an object status (END_OF_GROUP, END_OF_TRACK) as an object. */
FR_EXTERN int fr_moq_subgroup_write_status(fr_moq_subgroup *sg,
                                           uint64_t object_id,
                                           uint64_t status);
/* Writes bytes of encoded objects unchanged (relay forwarding of what
 * subgroup_data delivered). */
FR_EXTERN int fr_moq_subgroup_write_raw(fr_moq_subgroup *sg,
                                        const uint8_t *data, size_t len);
/* Ends the subgroup with FIN and frees the handle. */
FR_EXTERN int fr_moq_subgroup_close(fr_moq_subgroup *sg);
/* Abandons the subgroup (RESET_STREAM) and frees the handle. */
FR_EXTERN int fr_moq_subgroup_reset(fr_moq_subgroup *sg, uint64_t code);
/* Ends the subscription (PUBLISH_DONE); open subgroups are closed first.
 * pub_done follows. */
FR_EXTERN int fr_moq_pub_done(fr_moq_pub *pub, uint64_t status,
                              const char *reason);

/* What a joining FETCH `f` asks for, given `joining`, the largest
 * location when the subscription it joins began: from object 0 of its
 * start group (relative: that many groups before the joining one, not
 * before group 0) up to and including `joining`; *end is one past it. */
FR_EXTERN void fr_moq_joining_range(const fr_moq_fetch_request *f,
                                    fr_moq_location joining,
                                    fr_moq_location *start,
                                    fr_moq_location *end);

/* Answers a FETCH: FETCH_OK with the end location, then a fetch stream on
 * which objects are written in order; close it when done. */
FR_EXTERN int fr_moq_accept_fetch(fr_moq_session *s, uint64_t req,
                                  fr_moq_location end, int end_of_track,
                                  fr_moq_fetch **pf);
FR_EXTERN int fr_moq_fetch_write(fr_moq_fetch *f, const fr_moq_object *obj);
FR_EXTERN int fr_moq_fetch_close(fr_moq_fetch *f);

/*
 * fr_moq_endpoint: a QUIC endpoint on libev whose every connection runs a
 * MoQT session. Accepted connections become sessions on their own; client
 * sessions come from fr_moq_endpoint_connect.
 */
typedef struct fr_moq_endpoint_callbacks {
    /* A session was created (before SETUP completes); set its user data
     * here. */
    void (*session_new)(fr_moq_endpoint *ep, fr_moq_session *s,
                        void *user_data);
} fr_moq_endpoint_callbacks;

/* quic->alpn, if NULL, is set to FR_MOQ_ALPNS (both drafts) by this
 * function, with ",h3" after them on a server with
 * settings->webtransport_path, or to "h3" alone on such a client; set it
 * to one draft's ALPN to speak only that one. Every
 * struct is of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_moq_endpoint_new) and copied; `ecb` may be NULL. */
FR_EXTERN int fr_moq_endpoint_new_versioned(
    fr_moq_endpoint **pep, struct ev_loop *loop, int version,
    const fr_moq_endpoint_callbacks *ecb, const fr_moq_callbacks *cb,
    const fr_moq_settings *settings, fr_quic_settings *quic,
    const struct sockaddr *bind_addr, socklen_t bind_addr_len,
    void *user_data);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_moq_endpoint_new(fr_moq_endpoint **pep,
                                  struct ev_loop *loop,
                                  const fr_moq_endpoint_callbacks *ecb,
                                  const fr_moq_callbacks *cb,
                                  const fr_moq_settings *settings,
                                  fr_quic_settings *quic,
                                  const struct sockaddr *bind_addr,
                                  socklen_t bind_addr_len, void *user_data);
#define fr_moq_endpoint_new(pep, loop, ecb, cb, settings, quic, bind_addr,   \
                            bind_addr_len, user_data)                        \
    fr_moq_endpoint_new_versioned((pep), (loop), FR_LAYOUT_VERSION, (ecb),   \
                                  (cb), (settings), (quic), (bind_addr),     \
                                  (bind_addr_len), (user_data))
/* Ends every session the endpoint runs by closing its QUIC connection with
 * `code` and `reason`. The CONNECTION_CLOSE frames go out the next time
 * the loop runs; fr_moq_endpoint_idle tells when all connections are
 * gone. */
FR_EXTERN void fr_moq_endpoint_shutdown(fr_moq_endpoint *ep, uint64_t code,
                                        const char *reason);
/* Sends GOAWAY on every ready session of the endpoint (a graceful
 * shutdown starts so: then fr_moq_endpoint_shutdown once the peers left
 * or `timeout_ms` passed). */
FR_EXTERN void fr_moq_endpoint_goaway(fr_moq_endpoint *ep,
                                      uint64_t timeout_ms);
FR_EXTERN int fr_moq_endpoint_idle(const fr_moq_endpoint *ep);
/* Ends every session (their callbacks run) and frees the endpoint. */
FR_EXTERN void fr_moq_endpoint_del(fr_moq_endpoint *ep);
FR_EXTERN int fr_moq_endpoint_connect(fr_moq_endpoint *ep,
                                      const struct sockaddr *remote,
                                      socklen_t remote_len,
                                      const char *server_name,
                                      fr_moq_session **ps);
FR_EXTERN fr_quic_endpoint *fr_moq_endpoint_quic(const fr_moq_endpoint *ep);
FR_EXTERN int fr_moq_endpoint_local_addr(const fr_moq_endpoint *ep,
                                         struct sockaddr_storage *addr,
                                         socklen_t *len);

/* Moves the endpoint to a new local UDP port and migrates its client
 * sessions' connections there (fr_quic_ev_migrate). */
FR_EXTERN int fr_moq_endpoint_migrate(fr_moq_endpoint *ep);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_MOQ_H */
