/*
 * MoQT wire codec, draft-ietf-moq-transport-18: variable-length integers,
 * control messages and their parameters, data stream headers, objects and
 * datagrams. Everything here is specific to draft 18.
 *
 * Decoding reads through a cursor (rd) whose field readers report RD_SHORT
 * when the input ends early; each entry point decides what that means
 * (FR_MOQ_NEED_MORE on a stream, malformed inside a control message, a
 * datagram or a length-prefixed value). Encoding writes through a writer
 * (wr) that counts the bytes it needs even past the end of the buffer, so
 * lengths are known before the buffer is found too small.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "codec.h"

/* Result of reading a field. RD_BAD means the error is already set. */
enum { RD_OK = 0, RD_SHORT = 1, RD_BAD = 2 };

#define TRY(expr)                                                           \
    do {                                                                    \
        int rc_ = (expr);                                                   \
        if (rc_ != RD_OK)                                                   \
            return rc_;                                                     \
    } while (0)

/* For encoders: propagate FR_MOQ_INVALID. */
#define TRYW(expr)                                                          \
    do {                                                                    \
        int rc_ = (expr);                                                   \
        if (rc_ != 0)                                                       \
            return rc_;                                                     \
    } while (0)

#define PV FR_MOQ_PROTOCOL_VIOLATION
#define KVF FR_MOQ_KEY_VALUE_FORMATTING_ERROR

static int fail(fr_moq_error *err, uint64_t code, const char *reason)
{
    if (err) {
        err->code = code;
        err->reason = reason;
    }
    return RD_BAD;
}

/* Inside an item of known size, running out of bytes is an error. */
static int short_is_error(int rc, fr_moq_error *err, uint64_t code,
                          const char *reason)
{
    return rc == RD_SHORT ? fail(err, code, reason) : rc;
}

/*
 * Variable-length integers: the number of leading one bits of the first
 * byte is the number of bytes that follow (eight ones: eight more bytes).
 */

size_t fr_moq_varint_len(uint64_t v)
{
    size_t n = 1;

    /* n bytes carry 7n bits up to n = 8; nine bytes carry all 64. */
    while (n < 8 && (v >> (7 * n)) != 0)
        n++;
    return n == 8 && (v >> 56) != 0 ? 9 : n;
}

static void varint_put(uint8_t *out, size_t n, uint64_t v)
{
    for (size_t i = n - 1; i > 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
    if (n == 9)
        out[0] = 0xFF;
    else
        out[0] = (uint8_t)((0xFF00u >> (n - 1)) & 0xFF) | (uint8_t)v;
}

ssize_t fr_moq_varint_encode(uint8_t *buf, size_t len, uint64_t v)
{
    size_t n = fr_moq_varint_len(v);

    if (len < n)
        return FR_MOQ_NOBUF;
    varint_put(buf, n, v);
    return (ssize_t)n;
}

ssize_t fr_moq_varint_encode_in(uint8_t *buf, size_t n, uint64_t v)
{
    if (n < 1 || n > 9 || fr_moq_varint_len(v) > n)
        return FR_MOQ_NOBUF;
    varint_put(buf, n, v);
    return (ssize_t)n;
}

ssize_t fr_moq_varint_decode(const uint8_t *buf, size_t len, uint64_t *v)
{
    size_t n = 1;
    uint64_t x;

    if (len == 0)
        return FR_MOQ_NEED_MORE;
    while (n < 9 && (buf[0] & (0x80u >> (n - 1))))
        n++;
    if (len < n)
        return FR_MOQ_NEED_MORE;
    x = buf[0] & (0xFFu >> n);
    for (size_t i = 1; i < n; i++)
        x = x << 8 | buf[i];
    *v = x;
    return (ssize_t)n;
}

int fr_moq_location_cmp(fr_moq_location a, fr_moq_location b)
{
    if (a.group != b.group)
        return a.group < b.group ? -1 : 1;
    if (a.object != b.object)
        return a.object < b.object ? -1 : 1;
    return 0;
}

/*
 * Reading.
 */

typedef struct rd {
    const uint8_t *p;
    const uint8_t *end;
    unsigned draft; /* control messages: FR_MOQ_DRAFT_* */
} rd;

static rd rd_of(const uint8_t *p, size_t len)
{
    rd r = {p, p, 0};

    if (len > 0)
        r.end = p + len;
    return r;
}

static size_t rd_left(const rd *r)
{
    return (size_t)(r->end - r->p);
}

/* The rest of the input as a view, consumed. */
static fr_moq_bytes rd_rest(rd *r)
{
    fr_moq_bytes b = {r->p, rd_left(r)};

    r->p = r->end;
    return b;
}

static int rd_varint(rd *r, uint64_t *v)
{
    ssize_t n = fr_moq_varint_decode(r->p, rd_left(r), v);

    if (n == FR_MOQ_NEED_MORE)
        return RD_SHORT;
    r->p += n;
    return RD_OK;
}

static int rd_u8(rd *r, uint8_t *v)
{
    if (rd_left(r) < 1)
        return RD_SHORT;
    *v = *r->p++;
    return RD_OK;
}

static int rd_bytes(rd *r, uint64_t n, fr_moq_bytes *b)
{
    if (n > rd_left(r))
        return RD_SHORT;
    b->base = r->p;
    b->len = (size_t)n;
    if (n > 0)
        r->p += n;
    return RD_OK;
}

/* A varint length and that many bytes. */
static int rd_lp_bytes(rd *r, fr_moq_bytes *b)
{
    uint64_t n;

    TRY(rd_varint(r, &n));
    return rd_bytes(r, n, b);
}

static int rd_location(rd *r, fr_moq_location *l)
{
    TRY(rd_varint(r, &l->group));
    return rd_varint(r, &l->object);
}

/* A length-prefixed value must be exactly one well-formed structure. */
static int nested_end(int rc, const rd *r, fr_moq_error *err,
                      const char *reason)
{
    if (rc == RD_SHORT || (rc == RD_OK && r->p != r->end))
        return fail(err, KVF, reason);
    return rc;
}

/*
 * Writing.
 */

typedef struct wr {
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes the encoding needs so far; may exceed cap */
    unsigned draft; /* control messages: FR_MOQ_DRAFT_* */
} wr;

static void wr_put(wr *w, const void *data, size_t n)
{
    if (n > SIZE_MAX - w->len) {
        w->len = SIZE_MAX;
        return;
    }
    if (n > 0 && w->len + n <= w->cap)
        memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void wr_varint(wr *w, uint64_t v)
{
    uint8_t tmp[FR_MOQ_VARINT_MAX_LEN];
    size_t n = fr_moq_varint_len(v);

    varint_put(tmp, n, v);
    wr_put(w, tmp, n);
}

static void wr_u8(wr *w, uint8_t v)
{
    wr_put(w, &v, 1);
}

static void wr_lp_bytes(wr *w, fr_moq_bytes b)
{
    wr_varint(w, b.len);
    wr_put(w, b.base, b.len);
}

static void wr_location(wr *w, fr_moq_location l)
{
    wr_varint(w, l.group);
    wr_varint(w, l.object);
}

static ssize_t wr_result(const wr *w)
{
    if (w->len > w->cap || w->len > (size_t)SSIZE_MAX)
        return FR_MOQ_NOBUF;
    return (ssize_t)w->len;
}

/*
 * Key-Value-Pairs: a type delta, then a varint value (even type) or a
 * length and bytes (odd type).
 */

typedef struct kvp {
    uint64_t type;
    uint64_t value;     /* even type */
    fr_moq_bytes bytes; /* odd type */
} kvp;

/* Reads the pair after the one whose type kv->type holds (0 at the start). */
static int rd_kvp(rd *r, kvp *kv, fr_moq_error *err)
{
    uint64_t delta, n;

    TRY(rd_varint(r, &delta));
    if (delta > UINT64_MAX - kv->type)
        return fail(err, PV, "Key-Value-Pair type exceeds 2^64-1");
    kv->type += delta;
    if (!(kv->type & 1))
        return rd_varint(r, &kv->value);
    TRY(rd_varint(r, &n));
    if (n > FR_MOQ_MAX_KVP_VALUE)
        return fail(err, PV, "Key-Value-Pair longer than 65535 bytes");
    return rd_bytes(r, n, &kv->bytes);
}

/* Checks that `seq` is a well-formed sequence of Key-Value-Pairs. */
static int kvp_check(fr_moq_bytes seq, fr_moq_error *err)
{
    rd r = rd_of(seq.base, seq.len);
    kvp kv = {0};

    while (r.p != r.end)
        TRY(short_is_error(rd_kvp(&r, &kv, err), err, KVF,
                           "truncated Key-Value-Pair"));
    return RD_OK;
}

static void wr_kvp_varint(wr *w, uint64_t *prev, uint64_t type, uint64_t v)
{
    wr_varint(w, type - *prev);
    wr_varint(w, v);
    *prev = type;
}

static int wr_kvp_bytes(wr *w, uint64_t *prev, uint64_t type, fr_moq_bytes b)
{
    if (b.len > FR_MOQ_MAX_KVP_VALUE)
        return FR_MOQ_INVALID;
    wr_varint(w, type - *prev);
    wr_lp_bytes(w, b);
    *prev = type;
    return 0;
}

/* Track Properties: the rest of a message, as Key-Value-Pairs. */
static int rd_track_properties(rd *r, fr_moq_bytes *props,
                               fr_moq_error *err)
{
    *props = rd_rest(r);
    return kvp_check(*props, err);
}

static int wr_properties_raw(wr *w, fr_moq_bytes props)
{
    if (kvp_check(props, NULL) != RD_OK)
        return FR_MOQ_INVALID;
    wr_put(w, props.base, props.len);
    return 0;
}

/* Object Properties: a length, then Key-Value-Pairs. */
static int rd_object_properties(rd *r, fr_moq_bytes *props,
                                fr_moq_error *err)
{
    TRY(rd_lp_bytes(r, props));
    return kvp_check(*props, err);
}

static int wr_object_properties(wr *w, fr_moq_bytes props)
{
    wr_varint(w, props.len);
    return wr_properties_raw(w, props);
}

/*
 * Names.
 */

/* Reads a Track Namespace; *total gets the sum of its field lengths. */
static int rd_namespace(rd *r, fr_moq_namespace *ns, size_t *total,
                        fr_moq_error *err)
{
    uint64_t n;

    TRY(rd_varint(r, &n));
    if (n > FR_MOQ_MAX_NAMESPACE_FIELDS)
        return fail(err, PV, "more than 32 Track Namespace Fields");
    ns->nfields = (size_t)n;
    *total = 0;
    for (size_t i = 0; i < ns->nfields; i++) {
        uint64_t len;

        TRY(rd_varint(r, &len));
        if (len == 0)
            return fail(err, PV, "empty Track Namespace Field");
        if (len > FR_MOQ_MAX_FULL_NAME - *total)
            return fail(err, PV, "Track Namespace longer than 4096 bytes");
        TRY(rd_bytes(r, len, &ns->fields[i]));
        *total += (size_t)len;
    }
    return RD_OK;
}

/* Reads a Track Name following a namespace of `total` bytes. */
static int rd_track_name(rd *r, size_t total, fr_moq_bytes *name,
                         fr_moq_error *err)
{
    uint64_t len;

    TRY(rd_varint(r, &len));
    if (len > FR_MOQ_MAX_FULL_NAME - total)
        return fail(err, PV, "Full Track Name longer than 4096 bytes");
    return rd_bytes(r, len, name);
}

static int rd_track(rd *r, fr_moq_track_ref *t, fr_moq_error *err)
{
    size_t total;

    TRY(rd_namespace(r, &t->ns, &total, err));
    return rd_track_name(r, total, &t->name, err);
}

/* Validates a namespace (and a following name of name_len bytes). */
static int namespace_valid(const fr_moq_namespace *ns, size_t name_len)
{
    size_t total = 0;

    if (ns->nfields > FR_MOQ_MAX_NAMESPACE_FIELDS)
        return 0;
    for (size_t i = 0; i < ns->nfields; i++) {
        size_t len = ns->fields[i].len;

        if (len == 0 || len > FR_MOQ_MAX_FULL_NAME - total)
            return 0;
        total += len;
    }
    return name_len <= FR_MOQ_MAX_FULL_NAME - total;
}

static int wr_namespace(wr *w, const fr_moq_namespace *ns)
{
    if (!namespace_valid(ns, 0))
        return FR_MOQ_INVALID;
    wr_varint(w, ns->nfields);
    for (size_t i = 0; i < ns->nfields; i++)
        wr_lp_bytes(w, ns->fields[i]);
    return 0;
}

static int wr_track(wr *w, const fr_moq_namespace *ns, fr_moq_bytes name)
{
    if (!namespace_valid(ns, name.len))
        return FR_MOQ_INVALID;
    TRYW(wr_namespace(w, ns));
    wr_lp_bytes(w, name);
    return 0;
}

static int rd_reason(rd *r, fr_moq_bytes *reason, fr_moq_error *err)
{
    uint64_t len;

    TRY(rd_varint(r, &len));
    if (len > FR_MOQ_MAX_REASON)
        return fail(err, PV, "Reason Phrase longer than 1024 bytes");
    return rd_bytes(r, len, reason);
}

static int wr_reason(wr *w, fr_moq_bytes reason)
{
    if (reason.len > FR_MOQ_MAX_REASON)
        return FR_MOQ_INVALID;
    wr_lp_bytes(w, reason);
    return 0;
}

/*
 * Authorization tokens.
 */

static int rd_token(rd *r, fr_moq_token *t)
{
    TRY(rd_varint(r, &t->alias_type));
    switch (t->alias_type) {
    case FR_MOQ_TOKEN_DELETE:
    case FR_MOQ_TOKEN_USE_ALIAS:
        return rd_varint(r, &t->alias);
    case FR_MOQ_TOKEN_REGISTER:
        TRY(rd_varint(r, &t->alias));
        TRY(rd_varint(r, &t->type));
        t->value = rd_rest(r);
        return RD_OK;
    case FR_MOQ_TOKEN_USE_VALUE:
        TRY(rd_varint(r, &t->type));
        t->value = rd_rest(r);
        return RD_OK;
    default:
        return RD_BAD;
    }
}

int fr_moq_token_decode(fr_moq_bytes raw, fr_moq_token *t, fr_moq_error *err)
{
    rd r = rd_of(raw.base, raw.len);

    memset(t, 0, sizeof(*t));
    if (rd_token(&r, t) != RD_OK || r.p != r.end) {
        fail(err, KVF, "malformed AUTHORIZATION TOKEN");
        return FR_MOQ_MALFORMED;
    }
    return 0;
}

static int wr_token(wr *w, const fr_moq_token *t)
{
    switch (t->alias_type) {
    case FR_MOQ_TOKEN_DELETE:
    case FR_MOQ_TOKEN_USE_ALIAS:
        wr_varint(w, t->alias_type);
        wr_varint(w, t->alias);
        return 0;
    case FR_MOQ_TOKEN_REGISTER:
    case FR_MOQ_TOKEN_USE_VALUE:
        wr_varint(w, t->alias_type);
        if (t->alias_type == FR_MOQ_TOKEN_REGISTER)
            wr_varint(w, t->alias);
        wr_varint(w, t->type);
        wr_put(w, t->value.base, t->value.len);
        return 0;
    default:
        return FR_MOQ_INVALID;
    }
}

ssize_t fr_moq_token_encode(uint8_t *buf, size_t len, const fr_moq_token *t)
{
    wr w = {buf, len, 0, 0};

    TRYW(wr_token(&w, t));
    return wr_result(&w);
}

static int token_valid(fr_moq_bytes raw)
{
    fr_moq_token t;

    return fr_moq_token_decode(raw, &t, NULL) == 0;
}

/*
 * Subscription filters.
 */

static int rd_filter(rd *r, fr_moq_filter *f, fr_moq_error *err)
{
    uint64_t delta;

    TRY(rd_varint(r, &f->type));
    switch (f->type) {
    case FR_MOQ_FILTER_NEXT_GROUP:
    case FR_MOQ_FILTER_LARGEST:
        return RD_OK;
    case FR_MOQ_FILTER_ABSOLUTE_START:
        return rd_location(r, &f->start);
    case FR_MOQ_FILTER_ABSOLUTE_RANGE:
        TRY(rd_location(r, &f->start));
        TRY(rd_varint(r, &delta));
        if (delta > UINT64_MAX - f->start.group)
            return fail(err, PV, "filter End Group exceeds 2^64-1");
        f->end_group = f->start.group + delta;
        return RD_OK;
    default:
        return fail(err, PV, "unknown subscription filter type");
    }
}

static int wr_filter(wr *w, const fr_moq_filter *f)
{
    switch (f->type) {
    case FR_MOQ_FILTER_NEXT_GROUP:
    case FR_MOQ_FILTER_LARGEST:
        wr_varint(w, f->type);
        return 0;
    case FR_MOQ_FILTER_ABSOLUTE_START:
        wr_varint(w, f->type);
        wr_location(w, f->start);
        return 0;
    case FR_MOQ_FILTER_ABSOLUTE_RANGE:
        if (f->end_group < f->start.group)
            return FR_MOQ_INVALID;
        wr_varint(w, f->type);
        wr_location(w, f->start);
        wr_varint(w, f->end_group - f->start.group);
        return 0;
    default:
        return FR_MOQ_INVALID;
    }
}

/*
 * Message parameters: a count, then (type delta, value) pairs in ascending
 * type order, each value encoded as its parameter defines.
 */

enum param_kind {
    PK_VARINT,
    PK_U8,
    PK_LOCATION,  /* LARGEST_OBJECT */
    PK_TOKEN,     /* AUTHORIZATION TOKEN, length-prefixed, repeatable */
    PK_FILTER,    /* SUBSCRIPTION_FILTER, length-prefixed */
    PK_NAMESPACE  /* TRACK_NAMESPACE_PREFIX, length-prefixed */
};

typedef struct param_desc {
    uint64_t type;
    uint32_t bit;
    enum param_kind kind;
    size_t off;          /* PK_VARINT, PK_U8: field of fr_moq_params */
    uint8_t min, max;    /* PK_U8: allowed values */
    const char *invalid; /* PK_U8: reason for a value out of range */
} param_desc;

#define P_VARINT(t, b, f)                                                   \
    {(t), (b), PK_VARINT, offsetof(fr_moq_params, f), 0, 0, NULL}
#define P_U8(t, b, f, lo, hi, why)                                          \
    {(t), (b), PK_U8, offsetof(fr_moq_params, f), (lo), (hi), (why)}
#define P_OTHER(t, b, k) {(t), (b), (k), 0, 0, 0, NULL}

/* In ascending type order, the order they are written in. */
static const param_desc param_descs[] = {
    P_VARINT(FR_MOQ_PARAM_OBJECT_DELIVERY_TIMEOUT,
             FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT, object_delivery_timeout),
    P_OTHER(FR_MOQ_PARAM_AUTHORIZATION_TOKEN, FR_MOQ_P_AUTH_TOKEN, PK_TOKEN),
    P_VARINT(FR_MOQ_PARAM_RENDEZVOUS_TIMEOUT, FR_MOQ_P_RENDEZVOUS_TIMEOUT,
             rendezvous_timeout),
    P_VARINT(FR_MOQ_PARAM_SUBGROUP_DELIVERY_TIMEOUT,
             FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT, subgroup_delivery_timeout),
    P_VARINT(FR_MOQ_PARAM_EXPIRES, FR_MOQ_P_EXPIRES, expires),
    P_OTHER(FR_MOQ_PARAM_LARGEST_OBJECT, FR_MOQ_P_LARGEST_OBJECT,
            PK_LOCATION),
    P_VARINT(FR_MOQ_PARAM_FILL_TIMEOUT, FR_MOQ_P_FILL_TIMEOUT, fill_timeout),
    P_U8(FR_MOQ_PARAM_FORWARD, FR_MOQ_P_FORWARD, forward, 0, 1,
         "FORWARD is neither 0 nor 1"),
    P_U8(FR_MOQ_PARAM_SUBSCRIBER_PRIORITY, FR_MOQ_P_SUBSCRIBER_PRIORITY,
         subscriber_priority, 0, 255, NULL),
    P_OTHER(FR_MOQ_PARAM_SUBSCRIPTION_FILTER, FR_MOQ_P_SUBSCRIPTION_FILTER,
            PK_FILTER),
    P_U8(FR_MOQ_PARAM_GROUP_ORDER, FR_MOQ_P_GROUP_ORDER, group_order,
         FR_MOQ_ORDER_ASCENDING, FR_MOQ_ORDER_DESCENDING,
         "GROUP_ORDER is neither Ascending nor Descending"),
    P_VARINT(FR_MOQ_PARAM_NEW_GROUP_REQUEST, FR_MOQ_P_NEW_GROUP_REQUEST,
             new_group_request),
    P_OTHER(FR_MOQ_PARAM_TRACK_NAMESPACE_PREFIX,
            FR_MOQ_P_TRACK_NAMESPACE_PREFIX, PK_NAMESPACE),
};

#define NPARAMS (sizeof(param_descs) / sizeof(param_descs[0]))

static const param_desc *param_find(uint64_t type)
{
    for (size_t i = 0; i < NPARAMS; i++)
        if (param_descs[i].type == type)
            return &param_descs[i];
    return NULL;
}

/* Parameters each message may carry, from each parameter's definition.
 * REQUEST_OK answers several requests, so it takes the union of what
 * PUBLISH_OK, REQUEST_UPDATE_OK and TRACK_STATUS_OK may carry. */
#define P_DELIVERY                                                          \
    (FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT | FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT)
#define P_PUBLISH_OK                                                        \
    (P_DELIVERY | FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_GROUP_ORDER |     \
     FR_MOQ_P_SUBSCRIPTION_FILTER | FR_MOQ_P_EXPIRES | FR_MOQ_P_FORWARD |   \
     FR_MOQ_P_NEW_GROUP_REQUEST)

static uint32_t params_allowed(uint64_t msg_type, unsigned draft)
{
    /* Draft 19 moved GROUP_ORDER from PUBLISH_OK to SUBSCRIBE_TRACKS. */
    uint32_t publish_ok = draft >= FR_MOQ_DRAFT_19
                              ? P_PUBLISH_OK & ~(uint32_t)FR_MOQ_P_GROUP_ORDER
                              : P_PUBLISH_OK;

    switch (msg_type) {
    case FR_MOQ_MSG_SUBSCRIBE:
        return FR_MOQ_P_AUTH_TOKEN | P_DELIVERY | FR_MOQ_P_RENDEZVOUS_TIMEOUT |
               FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_GROUP_ORDER |
               FR_MOQ_P_SUBSCRIPTION_FILTER | FR_MOQ_P_FORWARD |
               FR_MOQ_P_NEW_GROUP_REQUEST;
    case FR_MOQ_MSG_SUBSCRIBE_OK:
        return FR_MOQ_P_EXPIRES | FR_MOQ_P_LARGEST_OBJECT;
    case FR_MOQ_MSG_PUBLISH:
        return FR_MOQ_P_AUTH_TOKEN | FR_MOQ_P_EXPIRES |
               FR_MOQ_P_LARGEST_OBJECT | FR_MOQ_P_FORWARD;
    case FR_MOQ_MSG_PUBLISH_OK:
        return publish_ok;
    case FR_MOQ_MSG_REQUEST_OK:
        return publish_ok | FR_MOQ_P_LARGEST_OBJECT;
    case FR_MOQ_MSG_REQUEST_UPDATE:
        return FR_MOQ_P_AUTH_TOKEN | P_DELIVERY |
               FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_SUBSCRIPTION_FILTER |
               FR_MOQ_P_FORWARD | FR_MOQ_P_NEW_GROUP_REQUEST |
               FR_MOQ_P_TRACK_NAMESPACE_PREFIX;
    case FR_MOQ_MSG_FETCH:
        return FR_MOQ_P_AUTH_TOKEN | FR_MOQ_P_FILL_TIMEOUT |
               FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_GROUP_ORDER;
    case FR_MOQ_MSG_SUBSCRIBE_TRACKS:
        return FR_MOQ_P_AUTH_TOKEN | FR_MOQ_P_FORWARD |
               (draft >= FR_MOQ_DRAFT_19 ? FR_MOQ_P_GROUP_ORDER : 0);
    case FR_MOQ_MSG_TRACK_STATUS:
    case FR_MOQ_MSG_PUBLISH_NAMESPACE:
    case FR_MOQ_MSG_SUBSCRIBE_NAMESPACE:
        return FR_MOQ_P_AUTH_TOKEN;
    default: /* FETCH_OK: no parameter names it */
        return 0;
    }
}

static int rd_param_token(rd *r, fr_moq_params *p, fr_moq_error *err)
{
    fr_moq_bytes b;
    fr_moq_token t;

    TRY(rd_lp_bytes(r, &b));
    if (p->nauth_tokens == FR_MOQ_MAX_AUTH_TOKENS)
        return fail(err, FR_MOQ_INTERNAL_ERROR,
                    "more AUTHORIZATION TOKENs than supported");
    if (fr_moq_token_decode(b, &t, err) != 0)
        return RD_BAD;
    p->auth_tokens[p->nauth_tokens++] = b;
    return RD_OK;
}

static int rd_param_filter(rd *r, fr_moq_filter *f, fr_moq_error *err)
{
    fr_moq_bytes b;
    rd v;

    TRY(rd_lp_bytes(r, &b));
    v = rd_of(b.base, b.len);
    return nested_end(rd_filter(&v, f, err), &v, err,
                      "malformed SUBSCRIPTION_FILTER");
}

static int rd_param_namespace(rd *r, fr_moq_namespace *ns,
                              fr_moq_error *err)
{
    fr_moq_bytes b;
    size_t total;
    rd v;

    TRY(rd_lp_bytes(r, &b));
    v = rd_of(b.base, b.len);
    return nested_end(rd_namespace(&v, ns, &total, err), &v, err,
                      "malformed TRACK_NAMESPACE_PREFIX");
}

static int rd_param_value(rd *r, const param_desc *d, fr_moq_params *p,
                          fr_moq_error *err)
{
    uint8_t v;

    switch (d->kind) {
    case PK_VARINT:
        return rd_varint(r, (uint64_t *)((char *)p + d->off));
    case PK_U8:
        TRY(rd_u8(r, &v));
        if (v < d->min || v > d->max)
            return fail(err, PV, d->invalid);
        *((uint8_t *)p + d->off) = v;
        return RD_OK;
    case PK_LOCATION:
        return rd_location(r, &p->largest_object);
    case PK_TOKEN:
        return rd_param_token(r, p, err);
    case PK_FILTER:
        return rd_param_filter(r, &p->filter, err);
    default:
        return rd_param_namespace(r, &p->namespace_prefix, err);
    }
}

static int rd_params(rd *r, uint64_t msg_type, fr_moq_params *p,
                     fr_moq_error *err)
{
    uint32_t allowed = params_allowed(msg_type, r->draft);
    uint64_t count, type = 0;

    TRY(rd_varint(r, &count));
    /* Each parameter takes at least one byte, so the payload bounds this. */
    for (uint64_t i = 0; i < count; i++) {
        const param_desc *d;
        uint64_t delta;

        TRY(rd_varint(r, &delta));
        if (delta > UINT64_MAX - type)
            return fail(err, PV, "parameter type exceeds 2^64-1");
        type += delta;
        d = param_find(type);
        if (!d)
            return fail(err, PV, "unknown message parameter");
        if (!(allowed & d->bit))
            return fail(err, PV, "parameter not allowed in this message");
        if ((p->present & d->bit) && d->kind != PK_TOKEN)
            return fail(err, PV, "duplicate message parameter");
        TRY(rd_param_value(r, d, p, err));
        p->present |= d->bit;
    }
    return RD_OK;
}

/* Length-prefixed values: a writer with no buffer measures the value
 * first, then the length and the value are written. */
static int wr_nested_filter(wr *w, const fr_moq_filter *f)
{
    wr count = {NULL, 0, 0, 0};

    TRYW(wr_filter(&count, f));
    wr_varint(w, count.len);
    return wr_filter(w, f);
}

static int wr_nested_namespace(wr *w, const fr_moq_namespace *ns)
{
    wr count = {NULL, 0, 0, 0};

    TRYW(wr_namespace(&count, ns));
    wr_varint(w, count.len);
    return wr_namespace(w, ns);
}

/* Writes the value of the n-th instance of parameter d. */
static int wr_param_value(wr *w, const param_desc *d, const fr_moq_params *p,
                          size_t n)
{
    uint8_t v;

    switch (d->kind) {
    case PK_VARINT:
        wr_varint(w, *(const uint64_t *)((const char *)p + d->off));
        return 0;
    case PK_U8:
        v = *((const uint8_t *)p + d->off);
        if (v < d->min || v > d->max)
            return FR_MOQ_INVALID;
        wr_u8(w, v);
        return 0;
    case PK_LOCATION:
        wr_location(w, p->largest_object);
        return 0;
    case PK_TOKEN:
        if (!token_valid(p->auth_tokens[n]))
            return FR_MOQ_INVALID;
        wr_lp_bytes(w, p->auth_tokens[n]);
        return 0;
    case PK_FILTER:
        return wr_nested_filter(w, &p->filter);
    default:
        return wr_nested_namespace(w, &p->namespace_prefix);
    }
}

/* How many times parameter d is written. */
static size_t param_instances(const param_desc *d, const fr_moq_params *p)
{
    if (!(p->present & d->bit))
        return 0;
    return d->kind == PK_TOKEN ? p->nauth_tokens : 1;
}

static int wr_params(wr *w, uint64_t msg_type, const fr_moq_params *p)
{
    uint64_t count = 0, prev = 0;

    if ((p->present & ~params_allowed(msg_type, w->draft)) ||
        !(p->present & FR_MOQ_P_AUTH_TOKEN) != (p->nauth_tokens == 0) ||
        p->nauth_tokens > FR_MOQ_MAX_AUTH_TOKENS)
        return FR_MOQ_INVALID;
    for (size_t i = 0; i < NPARAMS; i++)
        count += param_instances(&param_descs[i], p);
    wr_varint(w, count);
    for (size_t i = 0; i < NPARAMS; i++) {
        const param_desc *d = &param_descs[i];

        for (size_t n = 0; n < param_instances(d, p); n++) {
            wr_varint(w, d->type - prev);
            prev = d->type;
            TRYW(wr_param_value(w, d, p, n));
        }
    }
    return 0;
}

/*
 * Control messages. Each decoder reads one payload whose end is the end of
 * the message; each encoder writes one payload.
 */

static int setup_once(int *has, fr_moq_error *err)
{
    if (*has)
        return fail(err, PV, "duplicate setup option");
    *has = 1;
    return RD_OK;
}

static int setup_option(fr_moq_setup *s, const kvp *kv, fr_moq_error *err)
{
    switch (kv->type) {
    case FR_MOQ_SETUP_PATH:
        TRY(setup_once(&s->has_path, err));
        s->path = kv->bytes;
        return RD_OK;
    case FR_MOQ_SETUP_AUTHORITY:
        TRY(setup_once(&s->has_authority, err));
        s->authority = kv->bytes;
        return RD_OK;
    case FR_MOQ_SETUP_MOQT_IMPLEMENTATION:
        TRY(setup_once(&s->has_implementation, err));
        s->implementation = kv->bytes;
        return RD_OK;
    case FR_MOQ_SETUP_MAX_AUTH_TOKEN_CACHE_SIZE:
        TRY(setup_once(&s->has_max_auth_token_cache_size, err));
        s->max_auth_token_cache_size = kv->value;
        return RD_OK;
    case FR_MOQ_SETUP_AUTHORIZATION_TOKEN:
        if (s->nauth_tokens == FR_MOQ_MAX_AUTH_TOKENS)
            return fail(err, FR_MOQ_INTERNAL_ERROR,
                        "more AUTHORIZATION TOKENs than supported");
        if (!token_valid(kv->bytes))
            return fail(err, KVF, "malformed AUTHORIZATION TOKEN");
        s->auth_tokens[s->nauth_tokens++] = kv->bytes;
        return RD_OK;
    default: /* unknown options are ignored, repeated or not */
        return RD_OK;
    }
}

static int dec_setup(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    kvp kv = {0};

    while (r->p != r->end) {
        TRY(short_is_error(rd_kvp(r, &kv, err), err, KVF,
                           "truncated setup option"));
        TRY(setup_option(&m->u.setup, &kv, err));
    }
    return RD_OK;
}

static int enc_setup(wr *w, const fr_moq_msg *m)
{
    const fr_moq_setup *s = &m->u.setup;
    uint64_t prev = 0;

    if (s->nauth_tokens > FR_MOQ_MAX_AUTH_TOKENS)
        return FR_MOQ_INVALID;
    if (s->has_path)
        TRYW(wr_kvp_bytes(w, &prev, FR_MOQ_SETUP_PATH, s->path));
    for (size_t i = 0; i < s->nauth_tokens; i++) {
        if (!token_valid(s->auth_tokens[i]))
            return FR_MOQ_INVALID;
        TRYW(wr_kvp_bytes(w, &prev, FR_MOQ_SETUP_AUTHORIZATION_TOKEN,
                          s->auth_tokens[i]));
    }
    if (s->has_max_auth_token_cache_size)
        wr_kvp_varint(w, &prev, FR_MOQ_SETUP_MAX_AUTH_TOKEN_CACHE_SIZE,
                      s->max_auth_token_cache_size);
    if (s->has_authority)
        TRYW(wr_kvp_bytes(w, &prev, FR_MOQ_SETUP_AUTHORITY, s->authority));
    if (s->has_implementation)
        TRYW(wr_kvp_bytes(w, &prev, FR_MOQ_SETUP_MOQT_IMPLEMENTATION,
                          s->implementation));
    return 0;
}

static int dec_goaway(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_goaway *g = &m->u.goaway;
    uint64_t len;

    TRY(rd_varint(r, &len));
    if (len > FR_MOQ_MAX_GOAWAY_URI)
        return fail(err, PV, "New Session URI longer than 8192 bytes");
    TRY(rd_bytes(r, len, &g->new_session_uri));
    TRY(rd_varint(r, &g->timeout));
    /* Draft 19 dropped the Request ID: bytes after the Timeout are then
     * a Message Length error. */
    if (r->p == r->end || r->draft >= FR_MOQ_DRAFT_19)
        return RD_OK;
    g->has_request_id = 1;
    return rd_varint(r, &g->request_id);
}

static int enc_goaway(wr *w, const fr_moq_msg *m)
{
    const fr_moq_goaway *g = &m->u.goaway;

    if (g->new_session_uri.len > FR_MOQ_MAX_GOAWAY_URI)
        return FR_MOQ_INVALID;
    wr_lp_bytes(w, g->new_session_uri);
    wr_varint(w, g->timeout);
    if (g->has_request_id && w->draft < FR_MOQ_DRAFT_19)
        wr_varint(w, g->request_id);
    return 0;
}

/* SUBSCRIBE and TRACK_STATUS. */
static int dec_subscribe(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_msg_subscribe *s = &m->u.subscribe;

    TRY(rd_varint(r, &s->request_id));
    TRY(rd_track(r, &s->track, err));
    return rd_params(r, m->type, &s->params, err);
}

static int enc_subscribe(wr *w, const fr_moq_msg *m)
{
    const fr_moq_msg_subscribe *s = &m->u.subscribe;

    wr_varint(w, s->request_id);
    TRYW(wr_track(w, &s->track.ns, s->track.name));
    return wr_params(w, m->type, &s->params);
}

static int dec_subscribe_ok(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_subscribe_ok *s = &m->u.subscribe_ok;

    TRY(rd_varint(r, &s->track_alias));
    TRY(rd_params(r, m->type, &s->params, err));
    return rd_track_properties(r, &s->track_properties, err);
}

static int enc_subscribe_ok(wr *w, const fr_moq_msg *m)
{
    const fr_moq_subscribe_ok *s = &m->u.subscribe_ok;

    wr_varint(w, s->track_alias);
    TRYW(wr_params(w, m->type, &s->params));
    return wr_properties_raw(w, s->track_properties);
}

/* REQUEST_OK and PUBLISH_OK; Track Properties are empty in PUBLISH_OK. */
static int dec_request_ok(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_request_ok *s = &m->u.request_ok;

    TRY(rd_params(r, m->type, &s->params, err));
    TRY(rd_track_properties(r, &s->track_properties, err));
    if (m->type == FR_MOQ_MSG_PUBLISH_OK && s->track_properties.len > 0)
        return fail(err, PV, "Track Properties in PUBLISH_OK");
    return RD_OK;
}

static int enc_request_ok(wr *w, const fr_moq_msg *m)
{
    const fr_moq_request_ok *s = &m->u.request_ok;

    if (m->type == FR_MOQ_MSG_PUBLISH_OK && s->track_properties.len > 0)
        return FR_MOQ_INVALID;
    TRYW(wr_params(w, m->type, &s->params));
    return wr_properties_raw(w, s->track_properties);
}

static int dec_request_error(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_request_error *e = &m->u.request_error;

    TRY(rd_varint(r, &e->error_code));
    TRY(rd_varint(r, &e->retry_interval));
    TRY(rd_reason(r, &e->reason, err));
    if (e->error_code != FR_MOQ_REQ_REDIRECT)
        return RD_OK;
    e->has_redirect = 1;
    TRY(rd_lp_bytes(r, &e->redirect_uri));
    return rd_track(r, &e->redirect_track, err);
}

static int enc_request_error(wr *w, const fr_moq_msg *m)
{
    const fr_moq_request_error *e = &m->u.request_error;

    if (!e->has_redirect != (e->error_code != FR_MOQ_REQ_REDIRECT))
        return FR_MOQ_INVALID;
    wr_varint(w, e->error_code);
    wr_varint(w, e->retry_interval);
    TRYW(wr_reason(w, e->reason));
    if (!e->has_redirect)
        return 0;
    wr_lp_bytes(w, e->redirect_uri);
    return wr_track(w, &e->redirect_track.ns, e->redirect_track.name);
}

static int dec_request_update(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_request_update *u = &m->u.request_update;

    TRY(rd_varint(r, &u->request_id));
    return rd_params(r, m->type, &u->params, err);
}

static int enc_request_update(wr *w, const fr_moq_msg *m)
{
    const fr_moq_request_update *u = &m->u.request_update;

    wr_varint(w, u->request_id);
    return wr_params(w, m->type, &u->params);
}

static int dec_publish(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_msg_publish *p = &m->u.publish;

    TRY(rd_varint(r, &p->request_id));
    TRY(rd_track(r, &p->track, err));
    TRY(rd_varint(r, &p->track_alias));
    TRY(rd_params(r, m->type, &p->params, err));
    return rd_track_properties(r, &p->track_properties, err);
}

static int enc_publish(wr *w, const fr_moq_msg *m)
{
    const fr_moq_msg_publish *p = &m->u.publish;

    wr_varint(w, p->request_id);
    TRYW(wr_track(w, &p->track.ns, p->track.name));
    wr_varint(w, p->track_alias);
    TRYW(wr_params(w, m->type, &p->params));
    return wr_properties_raw(w, p->track_properties);
}

static int dec_publish_done(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_publish_done *d = &m->u.publish_done;

    TRY(rd_varint(r, &d->status_code));
    TRY(rd_varint(r, &d->stream_count));
    return rd_reason(r, &d->reason, err);
}

static int enc_publish_done(wr *w, const fr_moq_msg *m)
{
    const fr_moq_publish_done *d = &m->u.publish_done;

    wr_varint(w, d->status_code);
    wr_varint(w, d->stream_count);
    return wr_reason(w, d->reason);
}

static int dec_fetch(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_msg_fetch *f = &m->u.fetch;

    TRY(rd_varint(r, &f->request_id));
    TRY(rd_varint(r, &f->fetch_type));
    switch (f->fetch_type) {
    case FR_MOQ_FETCH_STANDALONE:
        TRY(rd_track(r, &f->track, err));
        TRY(rd_location(r, &f->start));
        TRY(rd_location(r, &f->end));
        break;
    case FR_MOQ_FETCH_RELATIVE_JOINING:
    case FR_MOQ_FETCH_ABSOLUTE_JOINING:
        TRY(rd_varint(r, &f->joining_request_id));
        TRY(rd_varint(r, &f->joining_start));
        break;
    default:
        return fail(err, PV, "unknown Fetch Type");
    }
    return rd_params(r, m->type, &f->params, err);
}

static int enc_fetch(wr *w, const fr_moq_msg *m)
{
    const fr_moq_msg_fetch *f = &m->u.fetch;

    wr_varint(w, f->request_id);
    wr_varint(w, f->fetch_type);
    switch (f->fetch_type) {
    case FR_MOQ_FETCH_STANDALONE:
        TRYW(wr_track(w, &f->track.ns, f->track.name));
        wr_location(w, f->start);
        wr_location(w, f->end);
        break;
    case FR_MOQ_FETCH_RELATIVE_JOINING:
    case FR_MOQ_FETCH_ABSOLUTE_JOINING:
        wr_varint(w, f->joining_request_id);
        wr_varint(w, f->joining_start);
        break;
    default:
        return FR_MOQ_INVALID;
    }
    return wr_params(w, m->type, &f->params);
}

static int dec_fetch_ok(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_fetch_ok *f = &m->u.fetch_ok;

    TRY(rd_u8(r, &f->end_of_track));
    if (f->end_of_track > 1)
        return fail(err, PV, "End Of Track is neither 0 nor 1");
    TRY(rd_location(r, &f->end));
    TRY(rd_params(r, m->type, &f->params, err));
    return rd_track_properties(r, &f->track_properties, err);
}

static int enc_fetch_ok(wr *w, const fr_moq_msg *m)
{
    const fr_moq_fetch_ok *f = &m->u.fetch_ok;

    if (f->end_of_track > 1)
        return FR_MOQ_INVALID;
    wr_u8(w, f->end_of_track);
    wr_location(w, f->end);
    TRYW(wr_params(w, m->type, &f->params));
    return wr_properties_raw(w, f->track_properties);
}

/* PUBLISH_NAMESPACE, SUBSCRIBE_NAMESPACE, SUBSCRIBE_TRACKS. */
static int dec_ns_request(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_namespace_request *n = &m->u.ns_request;
    size_t total;

    TRY(rd_varint(r, &n->request_id));
    TRY(rd_namespace(r, &n->ns, &total, err));
    return rd_params(r, m->type, &n->params, err);
}

static int enc_ns_request(wr *w, const fr_moq_msg *m)
{
    const fr_moq_namespace_request *n = &m->u.ns_request;

    wr_varint(w, n->request_id);
    TRYW(wr_namespace(w, &n->ns));
    return wr_params(w, m->type, &n->params);
}

/* NAMESPACE and NAMESPACE_DONE. */
static int dec_ns_suffix(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    size_t total;

    return rd_namespace(r, &m->u.ns_suffix.suffix, &total, err);
}

static int enc_ns_suffix(wr *w, const fr_moq_msg *m)
{
    return wr_namespace(w, &m->u.ns_suffix.suffix);
}

static int dec_publish_blocked(rd *r, fr_moq_msg *m, fr_moq_error *err)
{
    fr_moq_namespace_suffix *n = &m->u.ns_suffix;
    size_t total;

    TRY(rd_namespace(r, &n->suffix, &total, err));
    return rd_track_name(r, total, &n->name, err);
}

static int enc_publish_blocked(wr *w, const fr_moq_msg *m)
{
    return wr_track(w, &m->u.ns_suffix.suffix, m->u.ns_suffix.name);
}

typedef struct msg_desc {
    uint64_t type;
    const char *name;
    int (*decode)(rd *r, fr_moq_msg *m, fr_moq_error *err);
    int (*encode)(wr *w, const fr_moq_msg *m);
} msg_desc;

static const msg_desc msg_descs[] = {
    {FR_MOQ_MSG_REQUEST_UPDATE, "REQUEST_UPDATE", dec_request_update,
     enc_request_update},
    {FR_MOQ_MSG_SUBSCRIBE, "SUBSCRIBE", dec_subscribe, enc_subscribe},
    {FR_MOQ_MSG_SUBSCRIBE_OK, "SUBSCRIBE_OK", dec_subscribe_ok,
     enc_subscribe_ok},
    {FR_MOQ_MSG_REQUEST_ERROR, "REQUEST_ERROR", dec_request_error,
     enc_request_error},
    {FR_MOQ_MSG_PUBLISH_NAMESPACE, "PUBLISH_NAMESPACE", dec_ns_request,
     enc_ns_request},
    {FR_MOQ_MSG_REQUEST_OK, "REQUEST_OK", dec_request_ok, enc_request_ok},
    {FR_MOQ_MSG_NAMESPACE, "NAMESPACE", dec_ns_suffix, enc_ns_suffix},
    {FR_MOQ_MSG_PUBLISH_DONE, "PUBLISH_DONE", dec_publish_done,
     enc_publish_done},
    {FR_MOQ_MSG_TRACK_STATUS, "TRACK_STATUS", dec_subscribe, enc_subscribe},
    {FR_MOQ_MSG_NAMESPACE_DONE, "NAMESPACE_DONE", dec_ns_suffix,
     enc_ns_suffix},
    {FR_MOQ_MSG_PUBLISH_BLOCKED, "PUBLISH_BLOCKED", dec_publish_blocked,
     enc_publish_blocked},
    {FR_MOQ_MSG_GOAWAY, "GOAWAY", dec_goaway, enc_goaway},
    {FR_MOQ_MSG_FETCH, "FETCH", dec_fetch, enc_fetch},
    {FR_MOQ_MSG_FETCH_OK, "FETCH_OK", dec_fetch_ok, enc_fetch_ok},
    {FR_MOQ_MSG_PUBLISH, "PUBLISH", dec_publish, enc_publish},
    {FR_MOQ_MSG_PUBLISH_OK, "PUBLISH_OK", dec_request_ok, enc_request_ok},
    {FR_MOQ_MSG_SUBSCRIBE_NAMESPACE, "SUBSCRIBE_NAMESPACE", dec_ns_request,
     enc_ns_request},
    {FR_MOQ_MSG_SUBSCRIBE_TRACKS, "SUBSCRIBE_TRACKS", dec_ns_request,
     enc_ns_request},
    {FR_MOQ_MSG_SETUP, "SETUP", dec_setup, enc_setup},
};

static const msg_desc *msg_find(uint64_t type, unsigned draft)
{
    /* 0x1E, PUBLISH_OK's own code up to draft 18, is reserved in 19. */
    if (type == FR_MOQ_MSG_PUBLISH_OK && draft >= FR_MOQ_DRAFT_19)
        return NULL;
    for (size_t i = 0; i < sizeof(msg_descs) / sizeof(msg_descs[0]); i++)
        if (msg_descs[i].type == type)
            return &msg_descs[i];
    return NULL;
}

const char *fr_moq_msg_name(uint64_t type)
{
    const msg_desc *d = msg_find(type, FR_MOQ_DRAFT_18);

    return d ? d->name : "UNKNOWN";
}

/* Decodes a payload, which must be consumed exactly. */
static int dec_payload(const msg_desc *d, rd *r, fr_moq_msg *msg,
                       fr_moq_error *err)
{
    int rc = d->decode(r, msg, err);

    if (rc == RD_SHORT)
        return fail(err, PV, "Message Length shorter than the message");
    if (rc == RD_OK && r->p != r->end)
        return fail(err, PV, "Message Length longer than the message");
    return rc;
}

ssize_t fr_moq_msg_decode(const uint8_t *buf, size_t len, fr_moq_msg *msg,
                          fr_moq_error *err)
{
    return fr_moq_msg_decode_draft(FR_MOQ_DRAFT_18, buf, len, msg, err);
}

ssize_t fr_moq_msg_decode_draft(unsigned draft, const uint8_t *buf,
                                size_t len, fr_moq_msg *msg,
                                fr_moq_error *err)
{
    rd r = rd_of(buf, len);
    const msg_desc *d;
    uint64_t type;
    size_t plen;

    r.draft = draft;
    if (rd_varint(&r, &type) != RD_OK)
        return FR_MOQ_NEED_MORE;
    d = msg_find(type, draft);
    if (!d) {
        fail(err, PV, "unknown message type");
        return FR_MOQ_MALFORMED;
    }
    if (rd_left(&r) < 2)
        return FR_MOQ_NEED_MORE;
    plen = (size_t)r.p[0] << 8 | r.p[1];
    r.p += 2;
    if (rd_left(&r) < plen)
        return FR_MOQ_NEED_MORE;
    r.end = r.p + plen;
    memset(msg, 0, sizeof(*msg));
    msg->type = type;
    if (dec_payload(d, &r, msg, err) != RD_OK)
        return FR_MOQ_MALFORMED;
    return (ssize_t)(r.end - buf);
}

ssize_t fr_moq_msg_encode(uint8_t *buf, size_t len, const fr_moq_msg *msg)
{
    return fr_moq_msg_encode_draft(FR_MOQ_DRAFT_18, buf, len, msg);
}

ssize_t fr_moq_msg_encode_draft(unsigned draft, uint8_t *buf, size_t len,
                                const fr_moq_msg *msg)
{
    const msg_desc *d = msg_find(msg->type, draft);
    wr w = {buf, len, 0, draft};
    size_t at, plen;

    if (!d)
        return FR_MOQ_INVALID;
    wr_varint(&w, msg->type);
    at = w.len;
    wr_put(&w, "\0\0", 2);
    TRYW(d->encode(&w, msg));
    plen = w.len - at - 2;
    if (plen > FR_MOQ_MAX_CONTROL_PAYLOAD)
        return FR_MOQ_INVALID;
    if (w.len > w.cap)
        return FR_MOQ_NOBUF;
    buf[at] = (uint8_t)(plen >> 8);
    buf[at + 1] = (uint8_t)plen;
    return wr_result(&w);
}

/*
 * Stream data. Running out of input means more is needed.
 */

static ssize_t stream_result(int rc, const rd *r, const uint8_t *start)
{
    if (rc == RD_SHORT)
        return FR_MOQ_NEED_MORE;
    if (rc != RD_OK)
        return FR_MOQ_MALFORMED;
    return (ssize_t)(r->p - start);
}

static int valid_status(uint64_t status)
{
    return status == FR_MOQ_OBJ_NORMAL ||
           status == FR_MOQ_OBJ_END_OF_GROUP ||
           status == FR_MOQ_OBJ_END_OF_TRACK;
}

int fr_moq_is_subgroup_type(uint64_t type)
{
    return type < 0x80 && (type & FR_MOQ_SG_BASE) &&
           (type & FR_MOQ_SG_ID_MODE_MASK) != FR_MOQ_SG_ID_MODE_MASK;
}

uint64_t fr_moq_subgroup_type(int properties, int id_mode, int end_of_group,
                              int default_priority, int first_object)
{
    return FR_MOQ_SG_BASE | (properties ? FR_MOQ_SG_PROPERTIES : 0) |
           ((uint64_t)(id_mode & 3) << 1) |
           (end_of_group ? FR_MOQ_SG_END_OF_GROUP : 0) |
           (default_priority ? FR_MOQ_SG_DEFAULT_PRIORITY : 0) |
           (first_object ? FR_MOQ_SG_FIRST_OBJECT : 0);
}

static unsigned sg_id_mode(uint64_t type)
{
    return (unsigned)(type & FR_MOQ_SG_ID_MODE_MASK) >> 1;
}

static int rd_subgroup_header(rd *r, fr_moq_subgroup_header *h,
                              fr_moq_error *err)
{
    TRY(rd_varint(r, &h->type));
    if (!fr_moq_is_subgroup_type(h->type))
        return fail(err, PV, "invalid SUBGROUP_HEADER type");
    TRY(rd_varint(r, &h->track_alias));
    TRY(rd_varint(r, &h->group));
    if (sg_id_mode(h->type) == 2)
        TRY(rd_varint(r, &h->subgroup));
    h->has_priority = !(h->type & FR_MOQ_SG_DEFAULT_PRIORITY);
    if (h->has_priority)
        TRY(rd_u8(r, &h->publisher_priority));
    return RD_OK;
}

ssize_t fr_moq_subgroup_header_decode(const uint8_t *buf, size_t len,
                                      fr_moq_subgroup_header *h,
                                      fr_moq_error *err)
{
    rd r = rd_of(buf, len);

    memset(h, 0, sizeof(*h));
    return stream_result(rd_subgroup_header(&r, h, err), &r, buf);
}

ssize_t fr_moq_subgroup_header_encode(uint8_t *buf, size_t len,
                                      const fr_moq_subgroup_header *h)
{
    wr w = {buf, len, 0, 0};

    if (!fr_moq_is_subgroup_type(h->type) ||
        !h->has_priority != !!(h->type & FR_MOQ_SG_DEFAULT_PRIORITY) ||
        (sg_id_mode(h->type) == 0 && h->subgroup != 0))
        return FR_MOQ_INVALID;
    wr_varint(&w, h->type);
    wr_varint(&w, h->track_alias);
    wr_varint(&w, h->group);
    if (sg_id_mode(h->type) == 2)
        wr_varint(&w, h->subgroup);
    if (h->has_priority)
        wr_u8(&w, h->publisher_priority);
    return wr_result(&w);
}

int fr_moq_subgroup_header_set_alias(uint8_t *buf, size_t len,
                                     uint64_t alias)
{
    uint64_t v;
    ssize_t type = fr_moq_varint_decode(buf, len, &v), field;

    if (type < 0)
        return (int)type;
    field = fr_moq_varint_decode(buf + type, len - (size_t)type, &v);
    if (field < 0)
        return (int)field;
    return fr_moq_varint_encode_in(buf + type, (size_t)field, alias) < 0
               ? FR_MOQ_NOBUF
               : 0;
}

static int rd_subgroup_object(rd *r, uint64_t type, fr_moq_object_header *o,
                              fr_moq_error *err)
{
    if (!fr_moq_is_subgroup_type(type))
        return fail(err, PV, "invalid SUBGROUP_HEADER type");
    TRY(rd_varint(r, &o->id_delta));
    if (type & FR_MOQ_SG_PROPERTIES)
        TRY(rd_object_properties(r, &o->properties, err));
    TRY(rd_varint(r, &o->payload_len));
    if (o->payload_len > 0)
        return RD_OK;
    TRY(rd_varint(r, &o->status));
    if (!valid_status(o->status))
        return fail(err, PV, "unknown Object Status");
    if (o->status != FR_MOQ_OBJ_NORMAL && o->properties.len > 0)
        return fail(err, PV, "properties on an object that is not Normal");
    return RD_OK;
}

ssize_t fr_moq_subgroup_object_decode(const uint8_t *buf, size_t len,
                                      uint64_t subgroup_type,
                                      fr_moq_object_header *o,
                                      fr_moq_error *err)
{
    rd r = rd_of(buf, len);

    memset(o, 0, sizeof(*o));
    return stream_result(rd_subgroup_object(&r, subgroup_type, o, err), &r,
                         buf);
}

ssize_t fr_moq_subgroup_object_encode(uint8_t *buf, size_t len,
                                      uint64_t subgroup_type,
                                      const fr_moq_object_header *o)
{
    wr w = {buf, len, 0, 0};

    if (!fr_moq_is_subgroup_type(subgroup_type) || !valid_status(o->status) ||
        (o->payload_len > 0 && o->status != FR_MOQ_OBJ_NORMAL) ||
        (o->status != FR_MOQ_OBJ_NORMAL && o->properties.len > 0) ||
        (!(subgroup_type & FR_MOQ_SG_PROPERTIES) && o->properties.len > 0))
        return FR_MOQ_INVALID;
    wr_varint(&w, o->id_delta);
    if (subgroup_type & FR_MOQ_SG_PROPERTIES)
        TRYW(wr_object_properties(&w, o->properties));
    wr_varint(&w, o->payload_len);
    if (o->payload_len == 0)
        wr_varint(&w, o->status);
    return wr_result(&w);
}

int fr_moq_subgroup_object_id(const uint64_t *prev_id, uint64_t id_delta,
                              uint64_t *id, fr_moq_error *err)
{
    if (!prev_id) {
        *id = id_delta;
        return 0;
    }
    if (*prev_id == UINT64_MAX || id_delta > UINT64_MAX - *prev_id - 1) {
        fail(err, PV, "Object ID exceeds 2^64-1");
        return FR_MOQ_MALFORMED;
    }
    *id = *prev_id + id_delta + 1;
    return 0;
}

ssize_t fr_moq_fetch_header_decode(const uint8_t *buf, size_t len,
                                   uint64_t *request_id, fr_moq_error *err)
{
    rd r = rd_of(buf, len);
    uint64_t type;
    int rc = rd_varint(&r, &type);

    if (rc == RD_OK && type != FR_MOQ_STREAM_FETCH_HEADER)
        rc = fail(err, PV, "not a FETCH_HEADER");
    if (rc == RD_OK)
        rc = rd_varint(&r, request_id);
    return stream_result(rc, &r, buf);
}

ssize_t fr_moq_fetch_header_encode(uint8_t *buf, size_t len,
                                   uint64_t request_id)
{
    wr w = {buf, len, 0, 0};

    wr_varint(&w, FR_MOQ_STREAM_FETCH_HEADER);
    wr_varint(&w, request_id);
    return wr_result(&w);
}

/*
 * Fetch objects. Absent fields come from the prior entry: its Location
 * (object or End of Range), and the subgroup and priority of the last
 * actual object, which an End of Range marker carries along.
 */

/* Whether an actual object precedes (or is) `prev`. */
static int fetch_prior_object(const fr_moq_fetch_object *prev)
{
    return prev && (!prev->end_of_range || !prev->no_prior_object);
}

/* Whether `prev` gives a subgroup ID to refer to. */
static int fetch_prior_subgroup(const fr_moq_fetch_object *prev)
{
    return fetch_prior_object(prev) && !prev->is_datagram;
}

static int fetch_end_flags(uint64_t flags)
{
    return flags == FR_MOQ_FETCH_END_OF_NONEXISTENT_RANGE ||
           flags == FR_MOQ_FETCH_END_OF_UNKNOWN_RANGE;
}

static int fetch_subgroup_mode_refers(uint64_t flags)
{
    uint64_t mode = flags & FR_MOQ_FETCH_SUBGROUP_MASK;

    return !(flags & FR_MOQ_FETCH_DATAGRAM) && (mode == 1 || mode == 2);
}

/* Checks that what the flags (< 0x80) take from the prior entry exists. */
static int fetch_refs_ok(uint64_t flags, const fr_moq_fetch_object *prev,
                         fr_moq_error *err)
{
    if (!prev && (flags & (FR_MOQ_FETCH_GROUP_ID | FR_MOQ_FETCH_OBJECT_ID)) !=
                     (FR_MOQ_FETCH_GROUP_ID | FR_MOQ_FETCH_OBJECT_ID))
        return fail(err, PV, "first fetch object without Group and Object ID");
    if (!(flags & FR_MOQ_FETCH_PRIORITY) && !fetch_prior_object(prev))
        return fail(err, PV, "fetch object refers to a missing priority");
    if (fetch_subgroup_mode_refers(flags) && !fetch_prior_subgroup(prev))
        return fail(err, PV, "fetch object refers to a missing subgroup");
    return RD_OK;
}

/* Fills what an End of Range marker carries from the entry before it. */
static void fetch_carry_prior(const fr_moq_fetch_object *prev,
                              fr_moq_fetch_object *o)
{
    if (!fetch_prior_object(prev)) {
        o->no_prior_object = 1;
        return;
    }
    o->subgroup = prev->subgroup;
    o->publisher_priority = prev->publisher_priority;
    o->is_datagram = prev->is_datagram;
}

static int rd_fetch_group(rd *r, uint8_t order,
                          const fr_moq_fetch_object *prev,
                          fr_moq_fetch_object *o, fr_moq_error *err)
{
    uint64_t delta, g;

    if (!(o->flags & FR_MOQ_FETCH_GROUP_ID)) {
        o->loc.group = prev->loc.group;
        return RD_OK;
    }
    TRY(rd_varint(r, &delta));
    if (!prev) {
        o->loc.group = delta;
        return RD_OK;
    }
    g = prev->loc.group;
    if (order == FR_MOQ_ORDER_DESCENDING) {
        if (delta >= g)
            return fail(err, PV, "Group ID below 0");
        o->loc.group = g - delta - 1;
    } else {
        if (delta >= UINT64_MAX - g)
            return fail(err, PV, "Group ID exceeds 2^64-1");
        o->loc.group = g + delta + 1;
    }
    return RD_OK;
}

static int rd_fetch_subgroup(rd *r, const fr_moq_fetch_object *prev,
                             fr_moq_fetch_object *o, fr_moq_error *err)
{
    if (o->flags & FR_MOQ_FETCH_DATAGRAM) {
        o->is_datagram = 1;
        return RD_OK;
    }
    switch (o->flags & FR_MOQ_FETCH_SUBGROUP_MASK) {
    case 0:
        return RD_OK;
    case 1:
        o->subgroup = prev->subgroup;
        return RD_OK;
    case 2:
        if (prev->subgroup == UINT64_MAX)
            return fail(err, PV, "Subgroup ID exceeds 2^64-1");
        o->subgroup = prev->subgroup + 1;
        return RD_OK;
    default:
        return rd_varint(r, &o->subgroup);
    }
}

static int rd_fetch_object_id(rd *r, const fr_moq_fetch_object *prev,
                              fr_moq_fetch_object *o, fr_moq_error *err)
{
    uint64_t delta = 1;

    if (o->flags & FR_MOQ_FETCH_OBJECT_ID) {
        TRY(rd_varint(r, &delta));
        if (o->flags & FR_MOQ_FETCH_GROUP_ID) {
            o->loc.object = delta;
            return RD_OK;
        }
    }
    if (delta > UINT64_MAX - prev->loc.object)
        return fail(err, PV, "Object ID exceeds 2^64-1");
    o->loc.object = prev->loc.object + delta;
    return RD_OK;
}

static int rd_fetch_entry(rd *r, uint8_t order,
                          const fr_moq_fetch_object *prev,
                          fr_moq_fetch_object *o, fr_moq_error *err)
{
    TRY(rd_varint(r, &o->flags));
    if (o->flags >= 0x80) {
        if (!fetch_end_flags(o->flags))
            return fail(err, PV, "invalid Serialization Flags");
        o->end_of_range = 1;
        fetch_carry_prior(prev, o);
        return rd_location(r, &o->loc);
    }
    TRY(fetch_refs_ok(o->flags, prev, err));
    TRY(rd_fetch_group(r, order, prev, o, err));
    TRY(rd_fetch_subgroup(r, prev, o, err));
    TRY(rd_fetch_object_id(r, prev, o, err));
    if (o->flags & FR_MOQ_FETCH_PRIORITY)
        TRY(rd_u8(r, &o->publisher_priority));
    else
        o->publisher_priority = prev->publisher_priority;
    if (o->flags & FR_MOQ_FETCH_PROPERTIES)
        TRY(rd_object_properties(r, &o->properties, err));
    return rd_varint(r, &o->payload_len);
}

ssize_t fr_moq_fetch_object_decode_ordered(const uint8_t *buf, size_t len,
                                           uint8_t group_order,
                                           const fr_moq_fetch_object *prev,
                                           fr_moq_fetch_object *o,
                                           fr_moq_error *err)
{
    rd r = rd_of(buf, len);

    memset(o, 0, sizeof(*o));
    return stream_result(rd_fetch_entry(&r, group_order, prev, o, err), &r,
                         buf);
}

/* The Group ID Delta that leads from prev to group. */
static int fetch_group_delta(uint8_t order, const fr_moq_fetch_object *prev,
                             uint64_t group, uint64_t *delta)
{
    if (!prev)
        *delta = group;
    else if (order == FR_MOQ_ORDER_DESCENDING && group < prev->loc.group)
        *delta = prev->loc.group - group - 1;
    else if (order != FR_MOQ_ORDER_DESCENDING && group > prev->loc.group)
        *delta = group - prev->loc.group - 1;
    else
        return FR_MOQ_INVALID;
    return 0;
}

static int wr_fetch_group(wr *w, uint8_t order,
                          const fr_moq_fetch_object *prev,
                          const fr_moq_fetch_object *o)
{
    uint64_t delta;

    if (!(o->flags & FR_MOQ_FETCH_GROUP_ID))
        return o->loc.group == prev->loc.group ? 0 : FR_MOQ_INVALID;
    TRYW(fetch_group_delta(order, prev, o->loc.group, &delta));
    wr_varint(w, delta);
    return 0;
}

static int wr_fetch_subgroup(wr *w, const fr_moq_fetch_object *prev,
                             const fr_moq_fetch_object *o)
{
    if (!o->is_datagram != !(o->flags & FR_MOQ_FETCH_DATAGRAM))
        return FR_MOQ_INVALID;
    if (o->is_datagram)
        return o->subgroup == 0 ? 0 : FR_MOQ_INVALID;
    switch (o->flags & FR_MOQ_FETCH_SUBGROUP_MASK) {
    case 0:
        return o->subgroup == 0 ? 0 : FR_MOQ_INVALID;
    case 1:
        return o->subgroup == prev->subgroup ? 0 : FR_MOQ_INVALID;
    case 2:
        return prev->subgroup != UINT64_MAX &&
                       o->subgroup == prev->subgroup + 1
                   ? 0
                   : FR_MOQ_INVALID;
    default:
        wr_varint(w, o->subgroup);
        return 0;
    }
}

static int wr_fetch_object_id(wr *w, const fr_moq_fetch_object *prev,
                              const fr_moq_fetch_object *o)
{
    uint64_t flags = o->flags;

    if ((flags & FR_MOQ_FETCH_OBJECT_ID) && (flags & FR_MOQ_FETCH_GROUP_ID)) {
        wr_varint(w, o->loc.object);
        return 0;
    }
    if (flags & FR_MOQ_FETCH_OBJECT_ID) {
        if (o->loc.object < prev->loc.object)
            return FR_MOQ_INVALID;
        wr_varint(w, o->loc.object - prev->loc.object);
        return 0;
    }
    return prev->loc.object != UINT64_MAX &&
                   o->loc.object == prev->loc.object + 1
               ? 0
               : FR_MOQ_INVALID;
}

void fr_moq_fetch_end_of_range(fr_moq_fetch_object *o,
                               const fr_moq_fetch_object *prev,
                               uint64_t flags, fr_moq_location loc)
{
    memset(o, 0, sizeof(*o));
    o->flags = flags;
    o->end_of_range = 1;
    o->loc = loc;
    fetch_carry_prior(prev, o);
}

static int wr_fetch_end_of_range(wr *w, const fr_moq_fetch_object *prev,
                                 const fr_moq_fetch_object *o)
{
    fr_moq_fetch_object carried = {0};

    fetch_carry_prior(prev, &carried);
    if (!fetch_end_flags(o->flags) || !o->end_of_range ||
        o->payload_len != 0 || o->properties.len != 0 ||
        o->subgroup != carried.subgroup ||
        o->publisher_priority != carried.publisher_priority ||
        !o->is_datagram != !carried.is_datagram ||
        !o->no_prior_object != !carried.no_prior_object)
        return FR_MOQ_INVALID;
    wr_varint(w, o->flags);
    wr_location(w, o->loc);
    return 0;
}

static int wr_fetch_entry(wr *w, uint8_t order,
                          const fr_moq_fetch_object *prev,
                          const fr_moq_fetch_object *o)
{
    if (o->flags >= 0x80)
        return wr_fetch_end_of_range(w, prev, o);
    if (o->end_of_range || fetch_refs_ok(o->flags, prev, NULL) != RD_OK)
        return FR_MOQ_INVALID;
    wr_varint(w, o->flags);
    TRYW(wr_fetch_group(w, order, prev, o));
    TRYW(wr_fetch_subgroup(w, prev, o));
    TRYW(wr_fetch_object_id(w, prev, o));
    if (o->flags & FR_MOQ_FETCH_PRIORITY)
        wr_u8(w, o->publisher_priority);
    else if (o->publisher_priority != prev->publisher_priority)
        return FR_MOQ_INVALID;
    if (o->flags & FR_MOQ_FETCH_PROPERTIES)
        TRYW(wr_object_properties(w, o->properties));
    else if (o->properties.len > 0)
        return FR_MOQ_INVALID;
    wr_varint(w, o->payload_len);
    return 0;
}

ssize_t fr_moq_fetch_object_encode_ordered(uint8_t *buf, size_t len,
                                           uint8_t group_order,
                                           const fr_moq_fetch_object *prev,
                                           const fr_moq_fetch_object *o)
{
    wr w = {buf, len, 0, 0};

    TRYW(wr_fetch_entry(&w, group_order, prev, o));
    return wr_result(&w);
}


static uint64_t fetch_subgroup_flags(const fr_moq_fetch_object *prev,
                                     const fr_moq_fetch_object *o)
{
    if (o->is_datagram)
        return FR_MOQ_FETCH_DATAGRAM;
    if (o->subgroup == 0)
        return 0;
    if (fetch_prior_subgroup(prev) && o->subgroup == prev->subgroup)
        return 1;
    if (fetch_prior_subgroup(prev) && prev->subgroup != UINT64_MAX &&
        o->subgroup == prev->subgroup + 1)
        return 2;
    return 3;
}

uint64_t fr_moq_fetch_object_flags(uint8_t group_order,
                                   const fr_moq_fetch_object *prev,
                                   const fr_moq_fetch_object *o)
{
    uint64_t flags = fetch_subgroup_flags(prev, o), delta;
    int next_id = prev && prev->loc.object != UINT64_MAX &&
                  o->loc.object == prev->loc.object + 1;

    if (!prev || o->loc.group != prev->loc.group) {
        if (fetch_group_delta(group_order, prev, o->loc.group, &delta) != 0)
            return UINT64_MAX;
        flags |= FR_MOQ_FETCH_GROUP_ID;
        if (!next_id)
            flags |= FR_MOQ_FETCH_OBJECT_ID;
    } else if (o->loc.object < prev->loc.object) {
        return UINT64_MAX;
    } else if (!next_id) {
        flags |= FR_MOQ_FETCH_OBJECT_ID;
    }
    if (!fetch_prior_object(prev) ||
        o->publisher_priority != prev->publisher_priority)
        flags |= FR_MOQ_FETCH_PRIORITY;
    if (o->properties.len > 0)
        flags |= FR_MOQ_FETCH_PROPERTIES;
    return flags;
}

/*
 * Datagrams. A datagram is complete, so running short is malformed.
 */

int fr_moq_is_datagram_type(uint64_t type)
{
    if (type > 0x2F || (type & 0x10))
        return 0;
    return !((type & FR_MOQ_DG_STATUS) && (type & FR_MOQ_DG_END_OF_GROUP));
}

static int rd_datagram_status(rd *r, fr_moq_datagram *d, fr_moq_error *err)
{
    d->has_status = 1;
    TRY(rd_varint(r, &d->status));
    if (!valid_status(d->status))
        return fail(err, PV, "unknown Object Status");
    if (d->status != FR_MOQ_OBJ_NORMAL && d->properties.len > 0)
        return fail(err, PV, "properties on an object that is not Normal");
    if (r->p != r->end)
        return fail(err, PV, "bytes after the Object Status");
    return RD_OK;
}

static int rd_datagram(rd *r, fr_moq_datagram *d, fr_moq_error *err)
{
    TRY(rd_varint(r, &d->type));
    if (d->type == FR_MOQ_DATAGRAM_PADDING) {
        d->payload = rd_rest(r);
        return RD_OK;
    }
    if (!fr_moq_is_datagram_type(d->type))
        return fail(err, PV, "invalid datagram type");
    TRY(rd_varint(r, &d->track_alias));
    TRY(rd_varint(r, &d->loc.group));
    if (!(d->type & FR_MOQ_DG_ZERO_OBJECT_ID))
        TRY(rd_varint(r, &d->loc.object));
    d->has_priority = !(d->type & FR_MOQ_DG_DEFAULT_PRIORITY);
    if (d->has_priority)
        TRY(rd_u8(r, &d->publisher_priority));
    if (d->type & FR_MOQ_DG_PROPERTIES) {
        TRY(rd_object_properties(r, &d->properties, err));
        if (d->properties.len == 0)
            return fail(err, PV, "datagram with empty properties");
    }
    if (d->type & FR_MOQ_DG_STATUS)
        return rd_datagram_status(r, d, err);
    d->payload = rd_rest(r);
    return RD_OK;
}

ssize_t fr_moq_datagram_decode(const uint8_t *buf, size_t len,
                               fr_moq_datagram *d, fr_moq_error *err)
{
    rd r = rd_of(buf, len);
    int rc;

    memset(d, 0, sizeof(*d));
    rc = short_is_error(rd_datagram(&r, d, err), err, PV,
                        "truncated datagram");
    return rc == RD_OK ? (ssize_t)len : FR_MOQ_MALFORMED;
}

static int datagram_valid(const fr_moq_datagram *d)
{
    uint64_t t = d->type;

    if (!fr_moq_is_datagram_type(t) ||
        !d->has_priority != !!(t & FR_MOQ_DG_DEFAULT_PRIORITY) ||
        !d->has_status != !(t & FR_MOQ_DG_STATUS) ||
        ((t & FR_MOQ_DG_ZERO_OBJECT_ID) && d->loc.object != 0) ||
        !(t & FR_MOQ_DG_PROPERTIES) != (d->properties.len == 0))
        return 0;
    if (!d->has_status)
        return 1;
    return valid_status(d->status) && d->payload.len == 0 &&
           (d->status == FR_MOQ_OBJ_NORMAL || d->properties.len == 0);
}

static void wr_zeros(wr *w, size_t n)
{
    if (n > SIZE_MAX - w->len) {
        w->len = SIZE_MAX;
        return;
    }
    if (n > 0 && w->len + n <= w->cap)
        memset(w->buf + w->len, 0, n);
    w->len += n;
}

ssize_t fr_moq_datagram_encode(uint8_t *buf, size_t len,
                               const fr_moq_datagram *d)
{
    wr w = {buf, len, 0, 0};

    if (d->type == FR_MOQ_DATAGRAM_PADDING) {
        wr_varint(&w, d->type);
        wr_zeros(&w, d->payload.len);
        return wr_result(&w);
    }
    if (!datagram_valid(d))
        return FR_MOQ_INVALID;
    wr_varint(&w, d->type);
    wr_varint(&w, d->track_alias);
    wr_varint(&w, d->loc.group);
    if (!(d->type & FR_MOQ_DG_ZERO_OBJECT_ID))
        wr_varint(&w, d->loc.object);
    if (d->has_priority)
        wr_u8(&w, d->publisher_priority);
    if (d->type & FR_MOQ_DG_PROPERTIES)
        TRYW(wr_object_properties(&w, d->properties));
    if (d->has_status)
        wr_varint(&w, d->status);
    else
        wr_put(&w, d->payload.base, d->payload.len);
    return wr_result(&w);
}
