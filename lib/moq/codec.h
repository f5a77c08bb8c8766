/*
 * MoQT wire codec, draft-ietf-moq-transport-18.
 *
 * Decoding is zero-copy: byte fields (names, reason phrases, payloads,
 * properties) are views into the input buffer and live as long as it does.
 * Encoding writes into a caller buffer. Everything version-specific lives in
 * codec.c; later drafts add their own encoders/decoders behind the same
 * structures.
 *
 * Decoders return the number of bytes consumed (> 0), FR_MOQ_NEED_MORE (0)
 * when the input ends before the item does, or FR_MOQ_MALFORMED with
 * `err` (may be NULL) set to the session error code the draft requires and a
 * static reason. A control message is complete once its Message Length is
 * satisfied, and a datagram is always complete: inside them, a field running
 * past the end is malformed, not "need more".
 *
 * Encoders return the number of bytes written, FR_MOQ_NOBUF if the
 * buffer is too small, or FR_MOQ_INVALID if the structure cannot be
 * encoded as something the decoder would accept (a value out of range, a
 * parameter the message may not carry, fields that contradict the type
 * bits...). Varints are written in their shortest form.
 *
 * The three failures are the library's FR_ERR_* codes, so that a result can
 * go up through the API as it is.
 */
#ifndef FR_MOQ_CODEC_H
#define FR_MOQ_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Locations, filter types, group orders and object status values are the
 * public API's (header-only: the codec still links against libc alone). */
#include <fastrelay/error.h>
#include <fastrelay/moq.h>

#define FR_MOQ_NEED_MORE 0
#define FR_MOQ_MALFORMED FR_ERR_PROTO
#define FR_MOQ_NOBUF FR_ERR_NOBUF
#define FR_MOQ_INVALID FR_ERR_INVALID_ARGUMENT

/* The drafts spoken, each over raw QUIC with ALPN "moqt-NN". Control
 * messages differ between them (draft 19: no Request ID in GOAWAY, 0x1E
 * reserved, GROUP_ORDER out of PUBLISH_OK and into SUBSCRIBE_TRACKS);
 * data streams and datagrams do not. */
#define FR_MOQ_DRAFT_18 18u
#define FR_MOQ_DRAFT_19 19u

/* Limits from the draft. */
#define FR_MOQ_MAX_NAMESPACE_FIELDS 32
#define FR_MOQ_MAX_FULL_NAME 4096
#define FR_MOQ_MAX_REASON 1024
#define FR_MOQ_MAX_GOAWAY_URI 8192
#define FR_MOQ_MAX_CONTROL_PAYLOAD 65535
#define FR_MOQ_MAX_KVP_VALUE 65535 /* value of an odd-type Key-Value-Pair */
#define FR_MOQ_VARINT_MAX_LEN 9

/* Session termination codes (draft section "Termination"). */
typedef enum fr_moq_session_error {
    FR_MOQ_NO_ERROR = 0x0,
    FR_MOQ_INTERNAL_ERROR = 0x1,
    FR_MOQ_UNAUTHORIZED = 0x2,
    FR_MOQ_PROTOCOL_VIOLATION = 0x3,
    FR_MOQ_INVALID_REQUEST_ID = 0x4,
    FR_MOQ_DUPLICATE_TRACK_ALIAS = 0x5,
    FR_MOQ_KEY_VALUE_FORMATTING_ERROR = 0x6,
    FR_MOQ_INVALID_PATH = 0x8,
    FR_MOQ_MALFORMED_PATH = 0x9,
    FR_MOQ_GOAWAY_TIMEOUT = 0x10,
    FR_MOQ_CONTROL_MESSAGE_TIMEOUT = 0x11,
    FR_MOQ_DATA_STREAM_TIMEOUT = 0x12,
    FR_MOQ_AUTH_TOKEN_CACHE_OVERFLOW = 0x13,
    FR_MOQ_DUPLICATE_AUTH_TOKEN_ALIAS = 0x14,
    FR_MOQ_VERSION_NEGOTIATION_FAILED = 0x15,
    FR_MOQ_MALFORMED_AUTH_TOKEN = 0x16,
    FR_MOQ_UNKNOWN_AUTH_TOKEN_ALIAS = 0x17,
    FR_MOQ_EXPIRED_AUTH_TOKEN = 0x18,
    FR_MOQ_INVALID_AUTHORITY = 0x19,
    FR_MOQ_MALFORMED_AUTHORITY = 0x1A
} fr_moq_session_error;

typedef struct fr_moq_error {
    uint64_t code;      /* fr_moq_session_error */
    const char *reason; /* static text */
} fr_moq_error;

/* Variable-length integers (draft 18: length from leading one bits, 1-9
 * bytes). */
size_t fr_moq_varint_len(uint64_t v);
/* Writes the shortest encoding; returns bytes written or FR_MOQ_NOBUF. */
ssize_t fr_moq_varint_encode(uint8_t *buf, size_t len, uint64_t v);
/* Writes `v` in exactly `n` bytes (1-9), as a field of that length in an
 * encoded message is rewritten in place; FR_MOQ_NOBUF if it does not
 * fit. */
ssize_t fr_moq_varint_encode_in(uint8_t *buf, size_t n, uint64_t v);
/* Returns bytes consumed or FR_MOQ_NEED_MORE. Any encoding length that can
 * hold the value is accepted (the draft allows non-minimal encodings). */
ssize_t fr_moq_varint_decode(const uint8_t *buf, size_t len, uint64_t *v);

typedef struct fr_moq_bytes {
    const uint8_t *base;
    size_t len;
} fr_moq_bytes;

/* Returns <0, 0, >0 as a is before, equal to, after b. */
int fr_moq_location_cmp(fr_moq_location a, fr_moq_location b);

/* A Track Namespace: 0 to 32 fields of at least one byte each; together with
 * the track name at most FR_MOQ_MAX_FULL_NAME bytes. */
typedef struct fr_moq_namespace {
    size_t nfields;
    fr_moq_bytes fields[FR_MOQ_MAX_NAMESPACE_FIELDS];
} fr_moq_namespace;

typedef struct fr_moq_filter {
    uint64_t type;           /* FR_MOQ_FILTER_* (fastrelay/moq.h) */
    fr_moq_location start;   /* ABSOLUTE_START, ABSOLUTE_RANGE */
    uint64_t end_group;      /* ABSOLUTE_RANGE: start.group + delta */
} fr_moq_filter;

/* Message parameter types. */
#define FR_MOQ_PARAM_OBJECT_DELIVERY_TIMEOUT 0x02
#define FR_MOQ_PARAM_AUTHORIZATION_TOKEN 0x03
#define FR_MOQ_PARAM_RENDEZVOUS_TIMEOUT 0x04
#define FR_MOQ_PARAM_SUBGROUP_DELIVERY_TIMEOUT 0x06
#define FR_MOQ_PARAM_EXPIRES 0x08
#define FR_MOQ_PARAM_LARGEST_OBJECT 0x09
#define FR_MOQ_PARAM_FILL_TIMEOUT 0x0A
#define FR_MOQ_PARAM_FORWARD 0x10
#define FR_MOQ_PARAM_SUBSCRIBER_PRIORITY 0x20
#define FR_MOQ_PARAM_SUBSCRIPTION_FILTER 0x21
#define FR_MOQ_PARAM_GROUP_ORDER 0x22
#define FR_MOQ_PARAM_NEW_GROUP_REQUEST 0x32
#define FR_MOQ_PARAM_TRACK_NAMESPACE_PREFIX 0x34

/* Presence bits of fr_moq_params.present. */
enum {
    FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT = 1u << 0,
    FR_MOQ_P_AUTH_TOKEN = 1u << 1,
    FR_MOQ_P_RENDEZVOUS_TIMEOUT = 1u << 2,
    FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT = 1u << 3,
    FR_MOQ_P_EXPIRES = 1u << 4,
    FR_MOQ_P_LARGEST_OBJECT = 1u << 5,
    FR_MOQ_P_FILL_TIMEOUT = 1u << 6,
    FR_MOQ_P_FORWARD = 1u << 7,
    FR_MOQ_P_SUBSCRIBER_PRIORITY = 1u << 8,
    FR_MOQ_P_SUBSCRIPTION_FILTER = 1u << 9,
    FR_MOQ_P_GROUP_ORDER = 1u << 10,
    FR_MOQ_P_NEW_GROUP_REQUEST = 1u << 11,
    FR_MOQ_P_TRACK_NAMESPACE_PREFIX = 1u << 12
};

/* Tokens kept per message or SETUP; more is rejected with INTERNAL_ERROR
 * (an implementation limit: the draft sets none). */
#define FR_MOQ_MAX_AUTH_TOKENS 4

/* Decoded message parameters. The decoder rejects unknown types, repeats
 * (except tokens), out-of-range values and parameters the message type may
 * not carry, as the draft requires. Value encodings: uint8 for FORWARD,
 * SUBSCRIBER_PRIORITY and GROUP_ORDER; Location for LARGEST_OBJECT;
 * length-prefixed for AUTHORIZATION_TOKEN, SUBSCRIPTION_FILTER and
 * TRACK_NAMESPACE_PREFIX (a Track Namespace); varint for the rest.
 * FR_MOQ_P_AUTH_TOKEN is set exactly when nauth_tokens > 0. */
typedef struct fr_moq_params {
    uint32_t present;
    uint64_t object_delivery_timeout;
    uint64_t subgroup_delivery_timeout;
    uint64_t rendezvous_timeout;
    uint64_t fill_timeout;
    uint64_t expires;
    uint64_t new_group_request;
    fr_moq_location largest_object;
    fr_moq_filter filter;
    uint8_t forward;             /* 0 or 1 */
    uint8_t subscriber_priority;
    uint8_t group_order;         /* uint8_t: 1 or 2 */
    fr_moq_namespace namespace_prefix;
    size_t nauth_tokens;
    fr_moq_bytes auth_tokens[FR_MOQ_MAX_AUTH_TOKENS]; /* raw Token structs */
} fr_moq_params;

/* Control message types. */
#define FR_MOQ_MSG_REQUEST_UPDATE 0x02
#define FR_MOQ_MSG_SUBSCRIBE 0x03
#define FR_MOQ_MSG_SUBSCRIBE_OK 0x04
#define FR_MOQ_MSG_REQUEST_ERROR 0x05
#define FR_MOQ_MSG_PUBLISH_NAMESPACE 0x06
#define FR_MOQ_MSG_REQUEST_OK 0x07
#define FR_MOQ_MSG_NAMESPACE 0x08
#define FR_MOQ_MSG_PUBLISH_DONE 0x0B
#define FR_MOQ_MSG_TRACK_STATUS 0x0D
#define FR_MOQ_MSG_NAMESPACE_DONE 0x0E
#define FR_MOQ_MSG_PUBLISH_BLOCKED 0x0F
#define FR_MOQ_MSG_GOAWAY 0x10
#define FR_MOQ_MSG_FETCH 0x16
#define FR_MOQ_MSG_FETCH_OK 0x18
#define FR_MOQ_MSG_PUBLISH 0x1D
/* Draft 18 lists PUBLISH_OK as 0x1E with the REQUEST_OK format, while its
 * change log says PUBLISH_OK became an alias of REQUEST_OK (0x07). Both are
 * decoded; send REQUEST_OK. */
#define FR_MOQ_MSG_PUBLISH_OK 0x1E
#define FR_MOQ_MSG_SUBSCRIBE_NAMESPACE 0x50
#define FR_MOQ_MSG_SUBSCRIBE_TRACKS 0x51
#define FR_MOQ_MSG_SETUP 0x2F00

/* Setup option types (a namespace of their own, constant across
 * versions), carried as Key-Value-Pairs. Unknown options are skipped (and may
 * repeat); known ones other than AUTHORIZATION_TOKEN may not repeat. */
#define FR_MOQ_SETUP_PATH 0x01
#define FR_MOQ_SETUP_AUTHORIZATION_TOKEN 0x03
#define FR_MOQ_SETUP_MAX_AUTH_TOKEN_CACHE_SIZE 0x04
#define FR_MOQ_SETUP_AUTHORITY 0x05
#define FR_MOQ_SETUP_MOQT_IMPLEMENTATION 0x07

/* Token structure of AUTHORIZATION TOKEN (parameter and setup option). The
 * decoders check that every token is well formed (KEY_VALUE_FORMATTING_ERROR
 * otherwise) and keep it raw; role-dependent checks (a server receiving
 * DELETE or USE_ALIAS in SETUP) are the session's. */
typedef enum fr_moq_token_alias_type {
    FR_MOQ_TOKEN_DELETE = 0x0,    /* alias */
    FR_MOQ_TOKEN_REGISTER = 0x1,  /* alias, type, value */
    FR_MOQ_TOKEN_USE_ALIAS = 0x2, /* alias */
    FR_MOQ_TOKEN_USE_VALUE = 0x3  /* type, value */
} fr_moq_token_alias_type;

typedef struct fr_moq_token {
    uint64_t alias_type; /* fr_moq_token_alias_type */
    uint64_t alias;
    uint64_t type;
    fr_moq_bytes value;
} fr_moq_token;

/* Parses a raw token (the whole of `raw`). Returns 0 or FR_MOQ_MALFORMED. */
int fr_moq_token_decode(fr_moq_bytes raw, fr_moq_token *t, fr_moq_error *err);
/* Writes the Token structure (fields the alias type omits are ignored). */
ssize_t fr_moq_token_encode(uint8_t *buf, size_t len, const fr_moq_token *t);

typedef struct fr_moq_setup {
    int has_path;
    fr_moq_bytes path;
    int has_authority;
    fr_moq_bytes authority;
    int has_max_auth_token_cache_size;
    uint64_t max_auth_token_cache_size;
    int has_implementation;
    fr_moq_bytes implementation;
    size_t nauth_tokens;
    fr_moq_bytes auth_tokens[FR_MOQ_MAX_AUTH_TOKENS];
} fr_moq_setup;

typedef struct fr_moq_goaway {
    fr_moq_bytes new_session_uri; /* at most FR_MOQ_MAX_GOAWAY_URI bytes */
    uint64_t timeout;
    int has_request_id;           /* sent on the control stream only */
    uint64_t request_id;
} fr_moq_goaway;

/* SUBSCRIBE, and the track part of PUBLISH, FETCH (standalone),
 * TRACK_STATUS. */
typedef struct fr_moq_track_ref {
    fr_moq_namespace ns;
    fr_moq_bytes name;
} fr_moq_track_ref;

typedef struct fr_moq_msg_subscribe {
    uint64_t request_id;
    fr_moq_track_ref track;
    fr_moq_params params;
} fr_moq_msg_subscribe;

/* SUBSCRIBE_OK; also the body of REQUEST_OK (no alias) and FETCH_OK (see
 * below). Track properties are carried through as raw bytes. */
typedef struct fr_moq_subscribe_ok {
    uint64_t track_alias;
    fr_moq_params params;
    fr_moq_bytes track_properties;
} fr_moq_subscribe_ok;

typedef struct fr_moq_request_ok {
    fr_moq_params params;
    fr_moq_bytes track_properties;
} fr_moq_request_ok;

/* REQUEST_ERROR code that carries a Redirect. (The other request error
 * codes are not the codec's business.) */
#define FR_MOQ_REQ_REDIRECT 0x34

/* The Redirect is present exactly when error_code is FR_MOQ_REQ_REDIRECT;
 * has_redirect mirrors that (the encoder rejects a mismatch). */
typedef struct fr_moq_request_error {
    uint64_t error_code;
    uint64_t retry_interval;
    fr_moq_bytes reason;
    int has_redirect;
    fr_moq_bytes redirect_uri;
    fr_moq_track_ref redirect_track;
} fr_moq_request_error;

typedef struct fr_moq_request_update {
    uint64_t request_id;
    fr_moq_params params;
} fr_moq_request_update;

typedef struct fr_moq_msg_publish {
    uint64_t request_id;
    fr_moq_track_ref track;
    uint64_t track_alias;
    fr_moq_params params;
    fr_moq_bytes track_properties;
} fr_moq_msg_publish;

typedef struct fr_moq_publish_done {
    uint64_t status_code;
    uint64_t stream_count;
    fr_moq_bytes reason;
} fr_moq_publish_done;

typedef enum fr_moq_fetch_type {
    FR_MOQ_FETCH_STANDALONE = 0x1,
    FR_MOQ_FETCH_RELATIVE_JOINING = 0x2,
    FR_MOQ_FETCH_ABSOLUTE_JOINING = 0x3
} fr_moq_fetch_type;

typedef struct fr_moq_msg_fetch {
    uint64_t request_id;
    uint64_t fetch_type;
    fr_moq_track_ref track;      /* standalone */
    fr_moq_location start;       /* standalone */
    fr_moq_location end;         /* standalone */
    uint64_t joining_request_id; /* joining */
    uint64_t joining_start;      /* joining */
    fr_moq_params params;
} fr_moq_msg_fetch;

typedef struct fr_moq_fetch_ok {
    uint8_t end_of_track; /* 0 or 1 */
    fr_moq_location end;
    fr_moq_params params;
    fr_moq_bytes track_properties;
} fr_moq_fetch_ok;

/* PUBLISH_NAMESPACE, SUBSCRIBE_NAMESPACE, SUBSCRIBE_TRACKS. */
typedef struct fr_moq_namespace_request {
    uint64_t request_id;
    fr_moq_namespace ns;
    fr_moq_params params;
} fr_moq_namespace_request;

/* NAMESPACE, NAMESPACE_DONE (a namespace suffix), PUBLISH_BLOCKED (suffix
 * and track name). */
typedef struct fr_moq_namespace_suffix {
    fr_moq_namespace suffix;
    fr_moq_bytes name; /* PUBLISH_BLOCKED only */
} fr_moq_namespace_suffix;

typedef struct fr_moq_msg {
    uint64_t type; /* FR_MOQ_MSG_* */
    union {
        fr_moq_setup setup;
        fr_moq_goaway goaway;
        fr_moq_msg_subscribe subscribe;             /* SUBSCRIBE, TRACK_STATUS */
        fr_moq_subscribe_ok subscribe_ok;
        fr_moq_request_ok request_ok;           /* REQUEST_OK, PUBLISH_OK */
        fr_moq_request_error request_error;
        fr_moq_request_update request_update;
        fr_moq_msg_publish publish;
        fr_moq_publish_done publish_done;
        fr_moq_msg_fetch fetch;
        fr_moq_fetch_ok fetch_ok;
        fr_moq_namespace_request ns_request;    /* PUBLISH_NAMESPACE,
                                                   SUBSCRIBE_NAMESPACE,
                                                   SUBSCRIBE_TRACKS */
        fr_moq_namespace_suffix ns_suffix;      /* NAMESPACE,
                                                   NAMESPACE_DONE,
                                                   PUBLISH_BLOCKED */
    } u;
} fr_moq_msg;

/* Decodes one control message (type, 16-bit length, payload) from the
 * start of buf. The length must match the payload exactly. */
ssize_t fr_moq_msg_decode(const uint8_t *buf, size_t len, fr_moq_msg *msg,
                          fr_moq_error *err);
/* Encodes one control message with its type and length. */
ssize_t fr_moq_msg_encode(uint8_t *buf, size_t len, const fr_moq_msg *msg);
/* The same for a given draft (FR_MOQ_DRAFT_*); the two above are draft
 * 18's. */
ssize_t fr_moq_msg_decode_draft(unsigned draft, const uint8_t *buf,
                                size_t len, fr_moq_msg *msg,
                                fr_moq_error *err);
ssize_t fr_moq_msg_encode_draft(unsigned draft, uint8_t *buf, size_t len,
                                const fr_moq_msg *msg);
/* The message's name, e.g. "SUBSCRIBE_OK", for logs. */
const char *fr_moq_msg_name(uint64_t type);

/*
 * Data streams and datagrams.
 */

/* First varint of a unidirectional stream. */
#define FR_MOQ_STREAM_FETCH_HEADER 0x05
#define FR_MOQ_STREAM_SETUP 0x2F00
#define FR_MOQ_STREAM_PADDING 0x132B3E28 /* then zero bytes, discarded */
/* True for the SUBGROUP_HEADER types the draft allows. */
int fr_moq_is_subgroup_type(uint64_t type);

/* SUBGROUP_HEADER type bits. */
#define FR_MOQ_SG_PROPERTIES 0x01
#define FR_MOQ_SG_ID_MODE_MASK 0x06 /* 0: id 0, 1: first object id, 2: present */
#define FR_MOQ_SG_END_OF_GROUP 0x08
#define FR_MOQ_SG_BASE 0x10
#define FR_MOQ_SG_DEFAULT_PRIORITY 0x20
#define FR_MOQ_SG_FIRST_OBJECT 0x40

typedef struct fr_moq_subgroup_header {
    uint64_t type;
    uint64_t track_alias;
    uint64_t group;
    /* Valid when the ID mode is 0 (always 0) or 2 (from the header); with
     * mode 1 it is the first object's ID and set by the stream reader (the
     * encoder ignores it then). */
    uint64_t subgroup;
    int has_priority;         /* !(type & FR_MOQ_SG_DEFAULT_PRIORITY); the
                                 encoder rejects a mismatch */
    uint8_t publisher_priority;
} fr_moq_subgroup_header;

/* Builds the header type from its parts (id_mode 0-2; 3 gives a reserved,
 * invalid type). */
uint64_t fr_moq_subgroup_type(int properties, int id_mode, int end_of_group,
                              int default_priority, int first_object);
ssize_t fr_moq_subgroup_header_decode(const uint8_t *buf, size_t len,
                                      fr_moq_subgroup_header *h,
                                      fr_moq_error *err);
ssize_t fr_moq_subgroup_header_encode(uint8_t *buf, size_t len,
                                      const fr_moq_subgroup_header *h);
/* Writes `alias` over the track alias of the encoded SUBGROUP_HEADER
 * buf[0..len), in as many bytes as the field has there (the kernel fast
 * path does the same to the headers it forwards). Returns 0,
 * FR_MOQ_NEED_MORE if the field is cut short, FR_MOQ_NOBUF if `alias`
 * does not fit it. */
int fr_moq_subgroup_header_set_alias(uint8_t *buf, size_t len,
                                     uint64_t alias);


/* One object's fields on a subgroup stream, up to (not including) the
 * payload: the caller reads payload_len bytes next. An object with a
 * non-Normal status has no payload and no properties. */
typedef struct fr_moq_object_header {
    uint64_t id_delta;
    fr_moq_bytes properties; /* raw Key-Value-Pairs, if the type has them */
    uint64_t payload_len;
    uint64_t status;         /* FR_MOQ_STATUS_* (only when payload_len 0) */
} fr_moq_object_header;

/* The object ID an id_delta gives: the delta itself for the stream's first
 * object (prev_id NULL), else *prev_id + id_delta + 1. Returns 0, or
 * FR_MOQ_MALFORMED (PROTOCOL_VIOLATION) if that exceeds 2^64 - 1. */
int fr_moq_subgroup_object_id(const uint64_t *prev_id, uint64_t id_delta,
                              uint64_t *id, fr_moq_error *err);

ssize_t fr_moq_subgroup_object_decode(const uint8_t *buf, size_t len,
                                      uint64_t subgroup_type,
                                      fr_moq_object_header *o,
                                      fr_moq_error *err);
ssize_t fr_moq_subgroup_object_encode(uint8_t *buf, size_t len,
                                      uint64_t subgroup_type,
                                      const fr_moq_object_header *o);

/* FETCH_HEADER (type 0x05 and request ID), then fetch objects. */
ssize_t fr_moq_fetch_header_decode(const uint8_t *buf, size_t len,
                                   uint64_t *request_id, fr_moq_error *err);
ssize_t fr_moq_fetch_header_encode(uint8_t *buf, size_t len,
                                   uint64_t request_id);

/* Serialization Flags of a fetch object. Below 0x80 they are these bits;
 * the only other values are the two End of Range markers. */
#define FR_MOQ_FETCH_SUBGROUP_MASK 0x03 /* 0: zero, 1: prior, 2: prior + 1,
                                           3: field present */
#define FR_MOQ_FETCH_OBJECT_ID 0x04     /* Object ID Delta present */
#define FR_MOQ_FETCH_GROUP_ID 0x08      /* Group ID Delta present */
#define FR_MOQ_FETCH_PRIORITY 0x10      /* Publisher Priority present */
#define FR_MOQ_FETCH_PROPERTIES 0x20    /* Properties present */
#define FR_MOQ_FETCH_DATAGRAM 0x40      /* no Subgroup ID; mask bits ignored */
#define FR_MOQ_FETCH_END_OF_NONEXISTENT_RANGE 0x8C
#define FR_MOQ_FETCH_END_OF_UNKNOWN_RANGE 0x10C

/* One entry on a fetch stream, up to its payload. `flags` is the wire
 * serialization (the encoder writes what it says and checks the other fields
 * agree with it; fr_moq_fetch_object_flags picks the shortest). Fields the
 * flags say are absent are taken from `prev` (the previous entry on the
 * stream, or NULL for the first) as the draft specifies.
 *
 * An End of Range marker (end_of_range set, flags 0x8C or 0x10C) carries
 * only `loc`, written as absolute Group and Object IDs with no payload
 * length. Its subgroup, publisher_priority and is_datagram repeat those of
 * the last actual object before it, since a later object refers to that one
 * for them; no_prior_object says there was none. */
typedef struct fr_moq_fetch_object {
    uint64_t flags;
    fr_moq_location loc;
    uint64_t subgroup;       /* 0 for a datagram object */
    uint8_t publisher_priority;
    int is_datagram;         /* forwarding preference Datagram */
    int end_of_range;        /* an End of Range marker, no object */
    fr_moq_bytes properties;
    uint64_t payload_len;
    int no_prior_object;     /* End of Range: no actual object precedes it */
} fr_moq_fetch_object;

/* Decodes and encodes fetch entries for the FETCH's group order
 * (FR_MOQ_ORDER_DESCENDING makes a Group ID Delta count down; anything
 * else counts up). */
ssize_t fr_moq_fetch_object_decode_ordered(const uint8_t *buf, size_t len,
                                           uint8_t group_order,
                                           const fr_moq_fetch_object *prev,
                                           fr_moq_fetch_object *o,
                                           fr_moq_error *err);
ssize_t fr_moq_fetch_object_encode_ordered(uint8_t *buf, size_t len,
                                           uint8_t group_order,
                                           const fr_moq_fetch_object *prev,
                                           const fr_moq_fetch_object *o);
/* Fills an End of Range marker `o` (flags 0x8C or 0x10C, last Location
 * `loc`) that follows `prev`, including what it carries from it. */
void fr_moq_fetch_end_of_range(fr_moq_fetch_object *o,
                               const fr_moq_fetch_object *prev,
                               uint64_t flags, fr_moq_location loc);
/* The shortest Serialization Flags for actual object `o` following `prev`
 * (NULL for the first): every field that the prior entry gives is left out.
 * Returns UINT64_MAX if `o` cannot follow `prev` in that group order (a
 * group going the wrong way, or the Object ID going back within a group). */
uint64_t fr_moq_fetch_object_flags(uint8_t group_order,
                                   const fr_moq_fetch_object *prev,
                                   const fr_moq_fetch_object *o);

/* OBJECT_DATAGRAM type bits; the valid types are 0x00-0x0F and the values
 * 0x20-0x2F without END_OF_GROUP. */
#define FR_MOQ_DG_PROPERTIES 0x01
#define FR_MOQ_DG_END_OF_GROUP 0x02
#define FR_MOQ_DG_ZERO_OBJECT_ID 0x04
#define FR_MOQ_DG_DEFAULT_PRIORITY 0x08
#define FR_MOQ_DG_STATUS 0x20
#define FR_MOQ_DATAGRAM_PADDING 0x132B3E29

/* True for the OBJECT_DATAGRAM types the draft allows (not padding). */
int fr_moq_is_datagram_type(uint64_t type);

/* OBJECT_DATAGRAM: a whole QUIC datagram, so a short one is malformed
 * (PROTOCOL_VIOLATION), never FR_MOQ_NEED_MORE. has_priority and has_status
 * mirror the type bits; properties are present (non-empty) exactly when the
 * type has FR_MOQ_DG_PROPERTIES; with ZERO_OBJECT_ID, loc.object is 0.
 * A padding datagram decodes to type FR_MOQ_DATAGRAM_PADDING with the
 * padding as `payload` (not inspected); encoding one writes payload.len zero
 * bytes (payload.base is ignored). */
typedef struct fr_moq_datagram {
    uint64_t type;
    uint64_t track_alias;
    fr_moq_location loc;
    int has_priority;
    uint8_t publisher_priority;
    fr_moq_bytes properties;
    int has_status;
    uint64_t status;
    fr_moq_bytes payload;
} fr_moq_datagram;

ssize_t fr_moq_datagram_decode(const uint8_t *buf, size_t len,
                               fr_moq_datagram *d, fr_moq_error *err);
ssize_t fr_moq_datagram_encode(uint8_t *buf, size_t len,
                               const fr_moq_datagram *d);

#endif
