/* Unit tests of the MoQT draft-18 wire codec: varints, every control
 * message, subgroup and fetch streams, datagrams, and malformed input. */
#include "fr_test.h"

#include "../../lib/moq/codec.h"

#define BUFSZ 70000

static uint8_t g_buf[BUFSZ];
static uint8_t g_buf2[BUFSZ];

static fr_moq_bytes B(const char *s)
{
    fr_moq_bytes b = {(const uint8_t *)s, strlen(s)};
    return b;
}

/* Parses hex digits (spaces allowed) into out; returns the length. */
static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;

    while (*s) {
        unsigned v;

        if (*s == ' ') {
            s++;
            continue;
        }
        assert_int_equal(sscanf(s, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* Sets a namespace from NULL-terminated field strings. */
static void ns_set(fr_moq_namespace *ns, const char *first, ...)
{
    va_list ap;
    const char *f = first;

    ns->nfields = 0;
    va_start(ap, first);
    while (f) {
        ns->fields[ns->nfields++] = B(f);
        f = va_arg(ap, const char *);
    }
    va_end(ap);
}

static void assert_bytes_eq(fr_moq_bytes a, fr_moq_bytes b)
{
    assert_int_equal(a.len, b.len);
    if (a.len > 0)
        assert_memory_equal(a.base, b.base, a.len);
}

static void assert_ns_eq(const fr_moq_namespace *a, const fr_moq_namespace *b)
{
    assert_int_equal(a->nfields, b->nfields);
    for (size_t i = 0; i < a->nfields; i++)
        assert_bytes_eq(a->fields[i], b->fields[i]);
}

static void assert_track_eq(const fr_moq_track_ref *a,
                            const fr_moq_track_ref *b)
{
    assert_ns_eq(&a->ns, &b->ns);
    assert_bytes_eq(a->name, b->name);
}

static void assert_loc_eq(fr_moq_location a, fr_moq_location b)
{
    assert_int_equal(a.group, b.group);
    assert_int_equal(a.object, b.object);
}

static void assert_params_eq(const fr_moq_params *a, const fr_moq_params *b)
{
    uint32_t p = a->present;

    assert_int_equal(a->present, b->present);
    if (p & FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT)
        assert_int_equal(a->object_delivery_timeout,
                         b->object_delivery_timeout);
    if (p & FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT)
        assert_int_equal(a->subgroup_delivery_timeout,
                         b->subgroup_delivery_timeout);
    if (p & FR_MOQ_P_RENDEZVOUS_TIMEOUT)
        assert_int_equal(a->rendezvous_timeout, b->rendezvous_timeout);
    if (p & FR_MOQ_P_FILL_TIMEOUT)
        assert_int_equal(a->fill_timeout, b->fill_timeout);
    if (p & FR_MOQ_P_EXPIRES)
        assert_int_equal(a->expires, b->expires);
    if (p & FR_MOQ_P_NEW_GROUP_REQUEST)
        assert_int_equal(a->new_group_request, b->new_group_request);
    if (p & FR_MOQ_P_LARGEST_OBJECT)
        assert_loc_eq(a->largest_object, b->largest_object);
    if (p & FR_MOQ_P_SUBSCRIPTION_FILTER) {
        assert_int_equal(a->filter.type, b->filter.type);
        if (a->filter.type >= FR_MOQ_FILTER_ABSOLUTE_START)
            assert_loc_eq(a->filter.start, b->filter.start);
        if (a->filter.type == FR_MOQ_FILTER_ABSOLUTE_RANGE)
            assert_int_equal(a->filter.end_group, b->filter.end_group);
    }
    if (p & FR_MOQ_P_FORWARD)
        assert_int_equal(a->forward, b->forward);
    if (p & FR_MOQ_P_SUBSCRIBER_PRIORITY)
        assert_int_equal(a->subscriber_priority, b->subscriber_priority);
    if (p & FR_MOQ_P_GROUP_ORDER)
        assert_int_equal(a->group_order, b->group_order);
    if (p & FR_MOQ_P_TRACK_NAMESPACE_PREFIX)
        assert_ns_eq(&a->namespace_prefix, &b->namespace_prefix);
    assert_int_equal(a->nauth_tokens, b->nauth_tokens);
    for (size_t i = 0; i < a->nauth_tokens; i++)
        assert_bytes_eq(a->auth_tokens[i], b->auth_tokens[i]);
}

static void assert_setup_eq(const fr_moq_setup *a, const fr_moq_setup *b)
{
    assert_int_equal(a->has_path, b->has_path);
    if (a->has_path)
        assert_bytes_eq(a->path, b->path);
    assert_int_equal(a->has_authority, b->has_authority);
    if (a->has_authority)
        assert_bytes_eq(a->authority, b->authority);
    assert_int_equal(a->has_max_auth_token_cache_size,
                     b->has_max_auth_token_cache_size);
    if (a->has_max_auth_token_cache_size)
        assert_int_equal(a->max_auth_token_cache_size,
                         b->max_auth_token_cache_size);
    assert_int_equal(a->has_implementation, b->has_implementation);
    if (a->has_implementation)
        assert_bytes_eq(a->implementation, b->implementation);
    assert_int_equal(a->nauth_tokens, b->nauth_tokens);
    for (size_t i = 0; i < a->nauth_tokens; i++)
        assert_bytes_eq(a->auth_tokens[i], b->auth_tokens[i]);
}

static void assert_fetch_eq(const fr_moq_msg_fetch *a, const fr_moq_msg_fetch *b)
{
    assert_int_equal(a->request_id, b->request_id);
    assert_int_equal(a->fetch_type, b->fetch_type);
    if (a->fetch_type == FR_MOQ_FETCH_STANDALONE) {
        assert_track_eq(&a->track, &b->track);
        assert_loc_eq(a->start, b->start);
        assert_loc_eq(a->end, b->end);
    } else {
        assert_int_equal(a->joining_request_id, b->joining_request_id);
        assert_int_equal(a->joining_start, b->joining_start);
    }
    assert_params_eq(&a->params, &b->params);
}

static void assert_msg_eq(const fr_moq_msg *a, const fr_moq_msg *b)
{
    const fr_moq_request_error *ea = &a->u.request_error;
    const fr_moq_request_error *eb = &b->u.request_error;

    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case FR_MOQ_MSG_SETUP:
        assert_setup_eq(&a->u.setup, &b->u.setup);
        break;
    case FR_MOQ_MSG_GOAWAY:
        assert_bytes_eq(a->u.goaway.new_session_uri,
                        b->u.goaway.new_session_uri);
        assert_int_equal(a->u.goaway.timeout, b->u.goaway.timeout);
        assert_int_equal(a->u.goaway.has_request_id,
                         b->u.goaway.has_request_id);
        if (a->u.goaway.has_request_id)
            assert_int_equal(a->u.goaway.request_id, b->u.goaway.request_id);
        break;
    case FR_MOQ_MSG_SUBSCRIBE:
    case FR_MOQ_MSG_TRACK_STATUS:
        assert_int_equal(a->u.subscribe.request_id, b->u.subscribe.request_id);
        assert_track_eq(&a->u.subscribe.track, &b->u.subscribe.track);
        assert_params_eq(&a->u.subscribe.params, &b->u.subscribe.params);
        break;
    case FR_MOQ_MSG_SUBSCRIBE_OK:
        assert_int_equal(a->u.subscribe_ok.track_alias,
                         b->u.subscribe_ok.track_alias);
        assert_params_eq(&a->u.subscribe_ok.params, &b->u.subscribe_ok.params);
        assert_bytes_eq(a->u.subscribe_ok.track_properties,
                        b->u.subscribe_ok.track_properties);
        break;
    case FR_MOQ_MSG_REQUEST_OK:
    case FR_MOQ_MSG_PUBLISH_OK:
        assert_params_eq(&a->u.request_ok.params, &b->u.request_ok.params);
        assert_bytes_eq(a->u.request_ok.track_properties,
                        b->u.request_ok.track_properties);
        break;
    case FR_MOQ_MSG_REQUEST_ERROR:
        assert_int_equal(ea->error_code, eb->error_code);
        assert_int_equal(ea->retry_interval, eb->retry_interval);
        assert_bytes_eq(ea->reason, eb->reason);
        assert_int_equal(ea->has_redirect, eb->has_redirect);
        if (ea->has_redirect) {
            assert_bytes_eq(ea->redirect_uri, eb->redirect_uri);
            assert_track_eq(&ea->redirect_track, &eb->redirect_track);
        }
        break;
    case FR_MOQ_MSG_REQUEST_UPDATE:
        assert_int_equal(a->u.request_update.request_id,
                         b->u.request_update.request_id);
        assert_params_eq(&a->u.request_update.params,
                         &b->u.request_update.params);
        break;
    case FR_MOQ_MSG_PUBLISH:
        assert_int_equal(a->u.publish.request_id, b->u.publish.request_id);
        assert_track_eq(&a->u.publish.track, &b->u.publish.track);
        assert_int_equal(a->u.publish.track_alias, b->u.publish.track_alias);
        assert_params_eq(&a->u.publish.params, &b->u.publish.params);
        assert_bytes_eq(a->u.publish.track_properties,
                        b->u.publish.track_properties);
        break;
    case FR_MOQ_MSG_PUBLISH_DONE:
        assert_int_equal(a->u.publish_done.status_code,
                         b->u.publish_done.status_code);
        assert_int_equal(a->u.publish_done.stream_count,
                         b->u.publish_done.stream_count);
        assert_bytes_eq(a->u.publish_done.reason, b->u.publish_done.reason);
        break;
    case FR_MOQ_MSG_FETCH:
        assert_fetch_eq(&a->u.fetch, &b->u.fetch);
        break;
    case FR_MOQ_MSG_FETCH_OK:
        assert_int_equal(a->u.fetch_ok.end_of_track, b->u.fetch_ok.end_of_track);
        assert_loc_eq(a->u.fetch_ok.end, b->u.fetch_ok.end);
        assert_params_eq(&a->u.fetch_ok.params, &b->u.fetch_ok.params);
        assert_bytes_eq(a->u.fetch_ok.track_properties,
                        b->u.fetch_ok.track_properties);
        break;
    case FR_MOQ_MSG_PUBLISH_NAMESPACE:
    case FR_MOQ_MSG_SUBSCRIBE_NAMESPACE:
    case FR_MOQ_MSG_SUBSCRIBE_TRACKS:
        assert_int_equal(a->u.ns_request.request_id,
                         b->u.ns_request.request_id);
        assert_ns_eq(&a->u.ns_request.ns, &b->u.ns_request.ns);
        assert_params_eq(&a->u.ns_request.params, &b->u.ns_request.params);
        break;
    case FR_MOQ_MSG_PUBLISH_BLOCKED:
        assert_bytes_eq(a->u.ns_suffix.name, b->u.ns_suffix.name);
        assert_ns_eq(&a->u.ns_suffix.suffix, &b->u.ns_suffix.suffix);
        break;
    default: /* NAMESPACE, NAMESPACE_DONE */
        assert_ns_eq(&a->u.ns_suffix.suffix, &b->u.ns_suffix.suffix);
        break;
    }
}

/* Encode, decode, compare, re-encode identically; every prefix needs more
 * and every short buffer is refused. Returns the encoded length. */
static size_t check_msg(const fr_moq_msg *m)
{
    fr_moq_error err = {0, NULL};
    fr_moq_msg d;
    ssize_t n = fr_moq_msg_encode(g_buf, BUFSZ, m);
    size_t tlen;
    uint64_t t;

    if (n <= 0)
        fail_msg("encoding %s failed: %zd", fr_moq_msg_name(m->type), n);
    /* The 16-bit length covers exactly the payload. */
    tlen = (size_t)fr_moq_varint_decode(g_buf, (size_t)n, &t);
    assert_int_equal(t, m->type);
    assert_int_equal((size_t)(g_buf[tlen] << 8 | g_buf[tlen + 1]),
                     (size_t)n - tlen - 2);
    if (fr_moq_msg_decode(g_buf, (size_t)n, &d, &err) != n)
        fail_msg("decoding %s failed: %s", fr_moq_msg_name(m->type),
                 err.reason);
    assert_msg_eq(m, &d);
    assert_int_equal(fr_moq_msg_encode(g_buf2, BUFSZ, &d), n);
    assert_memory_equal(g_buf, g_buf2, (size_t)n);
    /* Bytes after the message are left alone. */
    assert_int_equal(fr_moq_msg_decode(g_buf, (size_t)n + 3, &d, &err), n);
    for (ssize_t i = 0; i < n; i++) {
        assert_int_equal(fr_moq_msg_decode(g_buf, (size_t)i, &d, &err),
                         FR_MOQ_NEED_MORE);
        assert_int_equal(fr_moq_msg_encode(g_buf2, (size_t)i, m),
                         FR_MOQ_NOBUF);
    }
    return (size_t)n;
}

/* Raw tokens built once: REGISTER, USE_ALIAS, USE_VALUE, DELETE. */
static uint8_t g_tok[4][32];
static fr_moq_bytes g_tokens[4];

static void make_tokens(void)
{
    fr_moq_token t[4] = {
        {FR_MOQ_TOKEN_REGISTER, 1, 7, {(const uint8_t *)"secret", 6}},
        {FR_MOQ_TOKEN_USE_ALIAS, 1, 0, {NULL, 0}},
        {FR_MOQ_TOKEN_USE_VALUE, 0, 0, {(const uint8_t *)"tok", 3}},
        {FR_MOQ_TOKEN_DELETE, 300, 0, {NULL, 0}},
    };

    for (int i = 0; i < 4; i++) {
        fr_moq_token back;
        ssize_t n = fr_moq_token_encode(g_tok[i], sizeof(g_tok[i]), &t[i]);

        assert_true(n > 0);
        g_tokens[i].base = g_tok[i];
        g_tokens[i].len = (size_t)n;
        assert_int_equal(fr_moq_token_decode(g_tokens[i], &back, NULL), 0);
        assert_int_equal(back.alias_type, t[i].alias_type);
        assert_int_equal(back.alias, t[i].alias);
        assert_int_equal(back.type, t[i].type);
        assert_bytes_eq(back.value, t[i].value);
    }
}

static void add_tokens(fr_moq_params *p, size_t n)
{
    p->present |= FR_MOQ_P_AUTH_TOKEN;
    for (size_t i = 0; i < n; i++)
        p->auth_tokens[p->nauth_tokens++] = g_tokens[i % 4];
}

/* Two Key-Value-Pairs: type 4 = 2186796243, type 0x4D = "traceID:123456". */
static const uint8_t g_props[] = {0x04, 0xF0, 0x82, 0x57, 0x4C, 0xD3, 0x49,
                                  0x0E, 't',  'r',  'a',  'c',  'e',  'I',
                                  'D',  ':',  '1',  '2',  '3',  '4',  '5',
                                  '6'};

static fr_moq_bytes props(void)
{
    fr_moq_bytes b = {g_props, sizeof(g_props)};
    return b;
}

/*
 * Varints.
 */

static void test_varint_examples(void **state)
{
    static const struct {
        const char *hex;
        uint64_t value;
        int minimal;
    } ex[] = {
        {"25", 37, 1},
        {"8025", 37, 0},
        {"bbbd", 15293, 1},
        {"ed7f3e7d", 226442877, 1},
        {"faa1a0e403d8", 2893212287960ull, 1},
        {"fc8998abc66bc0", 151288809941952ull, 1},
        {"fefa318fa8e3ca11", 70423237261249041ull, 1},
        {"ffffffffffffffffff", UINT64_MAX, 1},
    };
    uint8_t in[16], out[16];

    (void)state;
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        size_t n = hex(ex[i].hex, in);
        uint64_t v = 0;

        assert_int_equal(fr_moq_varint_decode(in, n, &v), n);
        assert_int_equal(v, ex[i].value);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(fr_moq_varint_decode(in, k, &v),
                             FR_MOQ_NEED_MORE);
        if (ex[i].minimal) {
            assert_int_equal(fr_moq_varint_len(ex[i].value), n);
            assert_int_equal(fr_moq_varint_encode(out, sizeof(out),
                                                  ex[i].value),
                             n);
            assert_memory_equal(in, out, n);
            assert_int_equal(fr_moq_varint_encode(out, n - 1, ex[i].value),
                             FR_MOQ_NOBUF);
        }
    }
}

static void test_varint_lengths(void **state)
{
    uint8_t buf[16];

    (void)state;
    /* Every length boundary encodes minimally and round-trips. */
    for (unsigned bits = 1; bits <= 64; bits++) {
        uint64_t top = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
        uint64_t vals[2] = {top, top + 1};

        for (int k = 0; k < (bits == 64 ? 1 : 2); k++) {
            uint64_t v = vals[k], back;
            size_t want = 1;
            ssize_t n;

            while (want < 9 && (want == 8 ? v >> 56 : v >> (7 * want)))
                want++;
            assert_int_equal(fr_moq_varint_len(v), want);
            n = fr_moq_varint_encode(buf, sizeof(buf), v);
            assert_int_equal(n, want);
            assert_int_equal(fr_moq_varint_decode(buf, (size_t)n, &back), n);
            assert_int_equal(back, v);
        }
    }
    /* Any length that holds the value is accepted: 5 in all nine forms. */
    for (size_t len = 1; len <= 9; len++) {
        uint64_t v;

        memset(buf, 0, sizeof(buf));
        buf[0] = len == 9 ? 0xFF : (uint8_t)(0xFF00u >> (len - 1));
        buf[len - 1] |= 5;
        assert_int_equal(fr_moq_varint_decode(buf, len, &v), len);
        assert_int_equal(v, 5);
    }
}

static void test_location_cmp(void **state)
{
    fr_moq_location a = {1, 5}, b = {1, 6}, c = {2, 0};

    (void)state;
    assert_true(fr_moq_location_cmp(a, b) < 0);
    assert_true(fr_moq_location_cmp(b, c) < 0);
    assert_true(fr_moq_location_cmp(c, a) > 0);
    assert_int_equal(fr_moq_location_cmp(a, a), 0);
}

/*
 * Control messages.
 */

static void test_setup(void **state)
{
    fr_moq_msg m;
    fr_moq_msg d;
    fr_moq_error err;
    uint8_t in[64];
    size_t n;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SETUP;
    check_msg(&m);
    m.u.setup.has_path = 1;
    m.u.setup.path = B("/live?x=1");
    m.u.setup.has_authority = 1;
    m.u.setup.authority = B("relay.example:4433");
    m.u.setup.has_max_auth_token_cache_size = 1;
    m.u.setup.max_auth_token_cache_size = 4096;
    m.u.setup.has_implementation = 1;
    m.u.setup.implementation = B("libfastrelay/0.1");
    m.u.setup.nauth_tokens = 2;
    m.u.setup.auth_tokens[0] = g_tokens[0];
    m.u.setup.auth_tokens[1] = g_tokens[2];
    check_msg(&m);
    assert_string_equal(fr_moq_msg_name(FR_MOQ_MSG_SETUP), "SETUP");
    assert_string_equal(fr_moq_msg_name(0x01), "UNKNOWN");

    /* Unknown options are skipped, repeated or not: after PATH, grease
     * type 0x9D (odd: bytes) twice, then 0x11C (even: a varint). */
    n = hex("af00 000b 01 01 2f 80 9c 01 41 00 00 7f 05", in);
    assert_int_equal(fr_moq_msg_decode(in, n, &d, &err), n);
    assert_int_equal(d.u.setup.has_path, 1);
    assert_bytes_eq(d.u.setup.path, B("/"));
    assert_int_equal(d.u.setup.has_authority, 0);
}

static void test_goaway(void **state)
{
    fr_moq_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_GOAWAY;
    m.u.goaway.timeout = 5000;
    check_msg(&m);
    m.u.goaway.new_session_uri = B("moqt://other.example/live");
    m.u.goaway.has_request_id = 1;
    m.u.goaway.request_id = 42;
    check_msg(&m);
}

/* A message that draft 18 encodes but draft 19 cannot: 19 refuses to
 * encode it, and the bytes of 18 are a protocol violation on 19. */
static void check_draft18_only(const fr_moq_msg *m)
{
    uint8_t buf[256], scratch[256];
    fr_moq_error err;
    fr_moq_msg back;
    ssize_t n;

    n = fr_moq_msg_encode_draft(FR_MOQ_DRAFT_18, buf, sizeof(buf), m);
    assert_true(n > 0);
    assert_int_equal(fr_moq_msg_encode_draft(FR_MOQ_DRAFT_19, scratch,
                                             sizeof(scratch), m),
                     FR_MOQ_INVALID);
    assert_int_equal(fr_moq_msg_decode_draft(FR_MOQ_DRAFT_19, buf, (size_t)n,
                                             &back, &err),
                     FR_MOQ_MALFORMED);
    assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
}

/* What draft 19 changed in control messages: GOAWAY without a Request ID,
 * 0x1E (PUBLISH_OK in 18) reserved, GROUP_ORDER out of PUBLISH_OK and
 * REQUEST_OK and into SUBSCRIBE_TRACKS. */
static void test_draft19(void **state)
{
    const unsigned d18 = FR_MOQ_DRAFT_18, d19 = FR_MOQ_DRAFT_19;
    uint8_t buf[256];
    fr_moq_error err;
    fr_moq_msg m, back;
    ssize_t n, n18;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_GOAWAY;
    m.u.goaway.timeout = 5000;
    m.u.goaway.has_request_id = 1;
    m.u.goaway.request_id = 42;
    n18 = fr_moq_msg_encode_draft(d18, buf, sizeof(buf), &m);
    n = fr_moq_msg_encode_draft(d19, buf, sizeof(buf), &m);
    assert_int_equal(n, n18 - 1); /* the Request ID (one byte) is gone */
    assert_int_equal(fr_moq_msg_decode_draft(d19, buf, (size_t)n, &back,
                                             &err),
                     n);
    assert_int_equal(back.u.goaway.has_request_id, 0);
    assert_int_equal(back.u.goaway.timeout, 5000);
    /* A draft-18 GOAWAY has a byte too many for draft 19. */
    n18 = fr_moq_msg_encode_draft(d18, buf, sizeof(buf), &m);
    assert_int_equal(fr_moq_msg_decode_draft(d19, buf, (size_t)n18, &back,
                                             &err),
                     FR_MOQ_MALFORMED);
    assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_OK;
    check_draft18_only(&m);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_OK;
    m.u.request_ok.params.present = FR_MOQ_P_GROUP_ORDER;
    m.u.request_ok.params.group_order = FR_MOQ_ORDER_ASCENDING;
    check_draft18_only(&m);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE_TRACKS;
    m.u.ns_request.params.present = FR_MOQ_P_GROUP_ORDER;
    m.u.ns_request.params.group_order = FR_MOQ_ORDER_DESCENDING;
    assert_int_equal(fr_moq_msg_encode_draft(d18, buf, sizeof(buf), &m),
                     FR_MOQ_INVALID);
    n = fr_moq_msg_encode_draft(d19, buf, sizeof(buf), &m);
    assert_true(n > 0);
    assert_int_equal(fr_moq_msg_decode_draft(d19, buf, (size_t)n, &back,
                                             &err),
                     n);
    assert_int_equal(back.u.ns_request.params.group_order,
                     FR_MOQ_ORDER_DESCENDING);
}

static void fill_subscribe_params(fr_moq_params *p, uint64_t filter_type)
{
    add_tokens(p, 2);
    p->present |= FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT |
                  FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT |
                  FR_MOQ_P_RENDEZVOUS_TIMEOUT | FR_MOQ_P_SUBSCRIBER_PRIORITY |
                  FR_MOQ_P_GROUP_ORDER | FR_MOQ_P_SUBSCRIPTION_FILTER |
                  FR_MOQ_P_FORWARD | FR_MOQ_P_NEW_GROUP_REQUEST;
    p->object_delivery_timeout = 100;
    p->subgroup_delivery_timeout = 2000;
    p->rendezvous_timeout = 0;
    p->subscriber_priority = 255;
    p->group_order = FR_MOQ_ORDER_DESCENDING;
    p->filter.type = filter_type;
    p->filter.start.group = 1000;
    p->filter.start.object = 3;
    p->filter.end_group = 1010;
    p->forward = 0;
    p->new_group_request = 17;
}

static void test_subscribe(void **state)
{
    fr_moq_msg m;

    (void)state;
    for (uint64_t f = FR_MOQ_FILTER_NEXT_GROUP;
         f <= FR_MOQ_FILTER_ABSOLUTE_RANGE; f++) {
        memset(&m, 0, sizeof(m));
        m.type = FR_MOQ_MSG_SUBSCRIBE;
        m.u.subscribe.request_id = 2;
        ns_set(&m.u.subscribe.track.ns, "example.com", "meeting=1", NULL);
        m.u.subscribe.track.name = B("video");
        fill_subscribe_params(&m.u.subscribe.params, f);
        check_msg(&m);
    }
    /* No parameters, empty namespace and empty name are all allowed. */
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE;
    check_msg(&m);
    /* AbsoluteRange with End Group Delta 0. */
    m.u.subscribe.params.present = FR_MOQ_P_SUBSCRIPTION_FILTER;
    m.u.subscribe.params.filter.type = FR_MOQ_FILTER_ABSOLUTE_RANGE;
    m.u.subscribe.params.filter.start.group = 9;
    m.u.subscribe.params.filter.end_group = 9;
    check_msg(&m);
    /* End before start cannot be encoded. */
    m.u.subscribe.params.filter.end_group = 8;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_TRACK_STATUS;
    m.u.subscribe.request_id = 6;
    ns_set(&m.u.subscribe.track.ns, "ns", NULL);
    m.u.subscribe.track.name = B("audio");
    add_tokens(&m.u.subscribe.params, 1);
    check_msg(&m);
    /* TRACK_STATUS carries no delivery parameters. */
    m.u.subscribe.params.present |= FR_MOQ_P_SUBSCRIBER_PRIORITY;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

static void test_name_limits(void **state)
{
    static char big[FR_MOQ_MAX_FULL_NAME + 1];
    fr_moq_msg m;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE;
    /* 32 fields of 100 bytes and a name making exactly 4096 bytes. */
    m.u.subscribe.track.ns.nfields = FR_MOQ_MAX_NAMESPACE_FIELDS;
    for (int i = 0; i < FR_MOQ_MAX_NAMESPACE_FIELDS; i++) {
        m.u.subscribe.track.ns.fields[i].base = (const uint8_t *)big;
        m.u.subscribe.track.ns.fields[i].len = 100;
    }
    m.u.subscribe.track.name.base = (const uint8_t *)big;
    m.u.subscribe.track.name.len = FR_MOQ_MAX_FULL_NAME - 3200;
    check_msg(&m);
    m.u.subscribe.track.name.len++;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.subscribe.track.name.len = 0;
    m.u.subscribe.track.ns.nfields = 1;
    m.u.subscribe.track.ns.fields[0].len = FR_MOQ_MAX_FULL_NAME;
    check_msg(&m);
    m.u.subscribe.track.ns.fields[0].len = 0;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.subscribe.track.ns.nfields = FR_MOQ_MAX_NAMESPACE_FIELDS + 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

/* Decoding names one byte past the limit: a 4097-byte namespace, and a
 * 4000-byte namespace with a 97-byte name. */
static void test_name_limits_decode(void **state)
{
    static const size_t sizes[2][2] = {{4097, 0}, {4000, 97}};
    fr_moq_msg d;
    fr_moq_error err;

    (void)state;
    for (int i = 0; i < 2; i++) {
        size_t field = sizes[i][0], name = sizes[i][1], n = 0, plen;

        g_buf[n++] = FR_MOQ_MSG_SUBSCRIBE;
        n += 2;
        g_buf[n++] = 0; /* request ID */
        g_buf[n++] = 1; /* one field */
        g_buf[n++] = (uint8_t)(0x80 | field >> 8);
        g_buf[n++] = (uint8_t)field;
        memset(g_buf + n, 'f', field);
        n += field;
        g_buf[n++] = (uint8_t)name;
        memset(g_buf + n, 'n', name);
        n += name;
        g_buf[n++] = 0; /* no parameters */
        plen = n - 3;
        g_buf[1] = (uint8_t)(plen >> 8);
        g_buf[2] = (uint8_t)plen;
        assert_int_equal(fr_moq_msg_decode(g_buf, n, &d, &err),
                         FR_MOQ_MALFORMED);
        assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
    }
}

static void test_responses(void **state)
{
    fr_moq_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE_OK;
    m.u.subscribe_ok.track_alias = 0x3FFFFFFF;
    m.u.subscribe_ok.params.present =
        FR_MOQ_P_EXPIRES | FR_MOQ_P_LARGEST_OBJECT;
    m.u.subscribe_ok.params.expires = 60000;
    m.u.subscribe_ok.params.largest_object.group = 77;
    m.u.subscribe_ok.params.largest_object.object = 12;
    m.u.subscribe_ok.track_properties = props();
    check_msg(&m);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_OK;
    check_msg(&m);
    m.u.request_ok.params.present =
        FR_MOQ_P_LARGEST_OBJECT | FR_MOQ_P_EXPIRES;
    m.u.request_ok.params.largest_object.group = 5;
    m.u.request_ok.track_properties = props();
    check_msg(&m);

    /* PUBLISH_OK: the subscriber's parameters, no Track Properties. */
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_OK;
    fill_subscribe_params(&m.u.request_ok.params,
                          FR_MOQ_FILTER_ABSOLUTE_START);
    m.u.request_ok.params.present &=
        ~(uint32_t)(FR_MOQ_P_AUTH_TOKEN | FR_MOQ_P_RENDEZVOUS_TIMEOUT);
    m.u.request_ok.params.nauth_tokens = 0;
    m.u.request_ok.params.present |= FR_MOQ_P_EXPIRES;
    check_msg(&m);
    m.type = FR_MOQ_MSG_REQUEST_OK;
    check_msg(&m);
    m.type = FR_MOQ_MSG_PUBLISH_OK;
    m.u.request_ok.track_properties = props();
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_ERROR;
    m.u.request_error.error_code = 0x10;
    m.u.request_error.retry_interval = 1;
    m.u.request_error.reason = B("does not exist");
    check_msg(&m);
    m.u.request_error.error_code = FR_MOQ_REQ_REDIRECT;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.request_error.has_redirect = 1;
    check_msg(&m);
    m.u.request_error.redirect_uri = B("moqt://elsewhere.example");
    ns_set(&m.u.request_error.redirect_track.ns, "a", "b", NULL);
    m.u.request_error.redirect_track.name = B("c");
    check_msg(&m);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_DONE;
    m.u.publish_done.status_code = 0x2;
    m.u.publish_done.stream_count = (1ull << 62) - 1;
    m.u.publish_done.reason = B("track ended");
    check_msg(&m);
}

static void test_request_update(void **state)
{
    fr_moq_msg m;
    fr_moq_params *p = &m.u.request_update.params;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_REQUEST_UPDATE;
    m.u.request_update.request_id = 10;
    add_tokens(p, 4);
    p->present |= FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT |
                  FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT |
                  FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_SUBSCRIPTION_FILTER |
                  FR_MOQ_P_FORWARD | FR_MOQ_P_NEW_GROUP_REQUEST |
                  FR_MOQ_P_TRACK_NAMESPACE_PREFIX;
    p->object_delivery_timeout = 1;
    p->subgroup_delivery_timeout = 2;
    p->subscriber_priority = 3;
    p->filter.type = FR_MOQ_FILTER_LARGEST;
    p->forward = 1;
    p->new_group_request = 0;
    ns_set(&p->namespace_prefix, "example.com", "room", NULL);
    check_msg(&m);
    /* An empty prefix is a zero-field namespace. */
    p->namespace_prefix.nfields = 0;
    check_msg(&m);
    /* Five tokens is past the supported number. */
    p->nauth_tokens = 5;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    p->nauth_tokens = 0;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

static void test_publish(void **state)
{
    fr_moq_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH;
    m.u.publish.request_id = 1;
    ns_set(&m.u.publish.track.ns, "live", NULL);
    m.u.publish.track.name = B("cam1");
    m.u.publish.track_alias = 9;
    add_tokens(&m.u.publish.params, 1);
    m.u.publish.params.present |=
        FR_MOQ_P_EXPIRES | FR_MOQ_P_LARGEST_OBJECT | FR_MOQ_P_FORWARD;
    m.u.publish.params.expires = 1;
    m.u.publish.params.largest_object.group = UINT64_MAX;
    m.u.publish.params.largest_object.object = UINT64_MAX;
    m.u.publish.params.forward = 1;
    m.u.publish.track_properties = props();
    check_msg(&m);
    /* FORWARD is 0 or 1 only. */
    m.u.publish.params.forward = 2;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

static void test_fetch(void **state)
{
    fr_moq_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH;
    m.u.fetch.request_id = 4;
    m.u.fetch.fetch_type = FR_MOQ_FETCH_STANDALONE;
    ns_set(&m.u.fetch.track.ns, "vod", "movie", NULL);
    m.u.fetch.track.name = B("1080p");
    m.u.fetch.start.group = 1;
    m.u.fetch.end.group = 5;
    m.u.fetch.end.object = 0;
    add_tokens(&m.u.fetch.params, 3);
    m.u.fetch.params.present |= FR_MOQ_P_FILL_TIMEOUT |
                                FR_MOQ_P_SUBSCRIBER_PRIORITY |
                                FR_MOQ_P_GROUP_ORDER;
    m.u.fetch.params.fill_timeout = 250;
    m.u.fetch.params.subscriber_priority = 1;
    m.u.fetch.params.group_order = FR_MOQ_ORDER_ASCENDING;
    check_msg(&m);
    for (uint64_t t = FR_MOQ_FETCH_RELATIVE_JOINING;
         t <= FR_MOQ_FETCH_ABSOLUTE_JOINING; t++) {
        memset(&m, 0, sizeof(m));
        m.type = FR_MOQ_MSG_FETCH;
        m.u.fetch.request_id = 8;
        m.u.fetch.fetch_type = t;
        m.u.fetch.joining_request_id = 6;
        m.u.fetch.joining_start = 3;
        check_msg(&m);
    }
    m.u.fetch.fetch_type = 4;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH_OK;
    m.u.fetch_ok.end_of_track = 1;
    m.u.fetch_ok.end.group = 5;
    m.u.fetch_ok.end.object = 1;
    m.u.fetch_ok.track_properties = props();
    check_msg(&m);
    /* FETCH_OK may carry no parameter at all. */
    m.u.fetch_ok.params.present = FR_MOQ_P_EXPIRES;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

static void test_namespaces(void **state)
{
    static const uint64_t reqs[] = {FR_MOQ_MSG_PUBLISH_NAMESPACE,
                                    FR_MOQ_MSG_SUBSCRIBE_NAMESPACE,
                                    FR_MOQ_MSG_SUBSCRIBE_TRACKS};
    static const uint64_t suffixes[] = {FR_MOQ_MSG_NAMESPACE,
                                        FR_MOQ_MSG_NAMESPACE_DONE,
                                        FR_MOQ_MSG_PUBLISH_BLOCKED};
    fr_moq_msg m;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        memset(&m, 0, sizeof(m));
        m.type = reqs[i];
        m.u.ns_request.request_id = 12 + i;
        ns_set(&m.u.ns_request.ns, "example.com", "meeting=123", NULL);
        add_tokens(&m.u.ns_request.params, 2);
        if (reqs[i] == FR_MOQ_MSG_SUBSCRIBE_TRACKS) {
            m.u.ns_request.params.present |= FR_MOQ_P_FORWARD;
            m.u.ns_request.params.forward = 0;
        }
        check_msg(&m);
        m.u.ns_request.ns.nfields = 0;
        check_msg(&m);
    }
    for (size_t i = 0; i < 3; i++) {
        memset(&m, 0, sizeof(m));
        m.type = suffixes[i];
        ns_set(&m.u.ns_suffix.suffix, "participant=100", NULL);
        if (suffixes[i] == FR_MOQ_MSG_PUBLISH_BLOCKED)
            m.u.ns_suffix.name = B("screen");
        check_msg(&m);
    }
}

/* Long fields at and past their limits, built in g_buf2. */
static void test_length_limits(void **state)
{
    static uint8_t big[FR_MOQ_MAX_GOAWAY_URI + 1];
    fr_moq_msg m, d;
    fr_moq_error err;
    ssize_t n;

    (void)state;
    memset(big, 'u', sizeof(big));
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_GOAWAY;
    m.u.goaway.new_session_uri.base = big;
    m.u.goaway.new_session_uri.len = FR_MOQ_MAX_GOAWAY_URI;
    check_msg(&m);
    m.u.goaway.new_session_uri.len++;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    /* Decoding one: type, length, 2-byte URI length, URI, timeout. */
    g_buf[0] = 0x10;
    g_buf[1] = (8193 + 3) >> 8;
    g_buf[2] = (8193 + 3) & 0xFF;
    g_buf[3] = 0x80 | (8193 >> 8);
    g_buf[4] = 8193 & 0xFF;
    memcpy(g_buf + 5, big, 8193);
    g_buf[5 + 8193] = 0;
    assert_int_equal(fr_moq_msg_decode(g_buf, 6 + 8193, &d, &err),
                     FR_MOQ_MALFORMED);
    assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_DONE;
    m.u.publish_done.reason.base = big;
    m.u.publish_done.reason.len = FR_MOQ_MAX_REASON;
    n = (ssize_t)check_msg(&m);
    /* Bump the reason length varint (2 bytes at offset 5) to 1025. */
    m.u.publish_done.reason.len = FR_MOQ_MAX_REASON + 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.publish_done.reason.len = FR_MOQ_MAX_REASON;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), n);
    g_buf[6] = (FR_MOQ_MAX_REASON + 1) & 0xFF;
    g_buf[n] = 'u';
    g_buf[2]++;
    assert_int_equal(fr_moq_msg_decode(g_buf, (size_t)n + 1, &d, &err),
                     FR_MOQ_MALFORMED);
    assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);

    /* The longest option that fits a message (type, 3-byte length, value)
     * round-trips; a value over 65535 bytes, or a payload over 65535
     * bytes, cannot be encoded. */
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SETUP;
    m.u.setup.has_implementation = 1;
    m.u.setup.implementation.base = g_buf2;
    m.u.setup.implementation.len = FR_MOQ_MAX_CONTROL_PAYLOAD - 4;
    memset(g_buf2, 'i', FR_MOQ_MAX_KVP_VALUE + 1);
    n = fr_moq_msg_encode(g_buf, BUFSZ, &m);
    assert_int_equal(n, 2 + 2 + FR_MOQ_MAX_CONTROL_PAYLOAD);
    assert_int_equal(fr_moq_msg_decode(g_buf, (size_t)n, &d, &err), n);
    m.u.setup.implementation.len++;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.setup.implementation.len = FR_MOQ_MAX_KVP_VALUE + 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.setup.implementation.len = FR_MOQ_MAX_KVP_VALUE;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
}

/*
 * Subgroup streams.
 */

static void check_subgroup_header(const fr_moq_subgroup_header *h)
{
    fr_moq_subgroup_header d;
    fr_moq_error err;
    ssize_t n = fr_moq_subgroup_header_encode(g_buf, BUFSZ, h);

    assert_true(n > 0);
    assert_int_equal(fr_moq_subgroup_header_decode(g_buf, (size_t)n, &d,
                                                   &err),
                     n);
    assert_int_equal(d.type, h->type);
    assert_int_equal(d.track_alias, h->track_alias);
    assert_int_equal(d.group, h->group);
    assert_int_equal(d.subgroup, h->subgroup);
    assert_int_equal(d.has_priority, h->has_priority);
    assert_int_equal(d.publisher_priority, h->publisher_priority);
    for (ssize_t i = 0; i < n; i++) {
        assert_int_equal(fr_moq_subgroup_header_decode(g_buf, (size_t)i, &d,
                                                       &err),
                         FR_MOQ_NEED_MORE);
        assert_int_equal(fr_moq_subgroup_header_encode(g_buf2, (size_t)i, h),
                         FR_MOQ_NOBUF);
    }
}

static void test_subgroup_headers(void **state)
{
    unsigned nvalid = 0;
    fr_moq_subgroup_header h;
    fr_moq_error err;
    uint8_t in[16];

    (void)state;
    for (uint64_t t = 0; t < 0x100; t++) {
        unsigned mode = (unsigned)(t >> 1) & 3;

        memset(&h, 0, sizeof(h));
        h.type = t;
        h.track_alias = 2;
        h.group = 1234567;
        h.subgroup = mode == 2 ? 99 : 0;
        h.has_priority = !(t & FR_MOQ_SG_DEFAULT_PRIORITY);
        h.publisher_priority = h.has_priority ? 200 : 0;
        if (!fr_moq_is_subgroup_type(t)) {
            size_t n = (size_t)fr_moq_varint_encode(in, sizeof(in), t);

            assert_int_equal(fr_moq_subgroup_header_encode(g_buf, BUFSZ, &h),
                             FR_MOQ_INVALID);
            in[n++] = 0;
            in[n++] = 0;
            in[n++] = 0;
            assert_int_equal(fr_moq_subgroup_header_decode(in, n, &h, &err),
                             FR_MOQ_MALFORMED);
            assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
            continue;
        }
        nvalid++;
        assert_true((t >= 0x10 && t <= 0x15) || (t >= 0x18 && t <= 0x1D) ||
                    (t >= 0x30 && t <= 0x35) || (t >= 0x38 && t <= 0x3D) ||
                    (t >= 0x50 && t <= 0x55) || (t >= 0x58 && t <= 0x5D) ||
                    (t >= 0x70 && t <= 0x75) || (t >= 0x78 && t <= 0x7D));
        check_subgroup_header(&h);
    }
    assert_int_equal(nvalid, 48);
    assert_int_equal(fr_moq_subgroup_type(1, 2, 0, 1, 1), 0x75);
    assert_int_equal(fr_moq_subgroup_type(0, 0, 1, 0, 0), 0x18);
    /* Mode 0 means subgroup 0: another value cannot be encoded. */
    h.type = 0x10;
    h.has_priority = 1;
    h.subgroup = 1;
    assert_int_equal(fr_moq_subgroup_header_encode(g_buf, BUFSZ, &h),
                     FR_MOQ_INVALID);
    /* The draft's first example: type 0x14, alias 2, group 0, subgroup 0,
     * priority 0. */
    assert_int_equal(fr_moq_subgroup_header_decode(
                         (const uint8_t *)"\x14\x02\x00\x00\x00", 5, &h, &err),
                     5);
    assert_int_equal(h.subgroup, 0);
    assert_int_equal(h.has_priority, 1);
}

static void check_subgroup_object(uint64_t type, const fr_moq_object_header *o)
{
    fr_moq_object_header d;
    fr_moq_error err;
    ssize_t n = fr_moq_subgroup_object_encode(g_buf, BUFSZ, type, o);

    assert_true(n > 0);
    assert_int_equal(fr_moq_subgroup_object_decode(g_buf, (size_t)n, type, &d,
                                                   &err),
                     n);
    assert_int_equal(d.id_delta, o->id_delta);
    assert_bytes_eq(d.properties, o->properties);
    assert_int_equal(d.payload_len, o->payload_len);
    assert_int_equal(d.status, o->status);
    for (ssize_t i = 0; i < n; i++)
        assert_int_equal(fr_moq_subgroup_object_decode(g_buf, (size_t)i, type,
                                                       &d, &err),
                         FR_MOQ_NEED_MORE);
}

static void test_subgroup_objects(void **state)
{
    static const uint64_t statuses[] = {FR_MOQ_OBJ_NORMAL,
                                        FR_MOQ_OBJ_END_OF_GROUP,
                                        FR_MOQ_OBJ_END_OF_TRACK};
    fr_moq_object_header o;

    (void)state;
    for (int with_props = 0; with_props < 2; with_props++) {
        uint64_t type = fr_moq_subgroup_type(with_props, 2, 0, 0, 0);

        memset(&o, 0, sizeof(o));
        o.id_delta = 0;
        o.payload_len = 4;
        check_subgroup_object(type, &o);
        o.id_delta = UINT64_MAX;
        o.payload_len = 1ull << 40;
        check_subgroup_object(type, &o);
        o.payload_len = 0;
        for (size_t i = 0; i < 3; i++) {
            o.status = statuses[i];
            check_subgroup_object(type, &o);
        }
        o.status = FR_MOQ_OBJ_NORMAL;
        o.properties = props();
        if (with_props) {
            check_subgroup_object(type, &o);
            o.payload_len = 9;
            check_subgroup_object(type, &o);
            o.payload_len = 0;
            o.status = FR_MOQ_OBJ_END_OF_GROUP;
        }
        assert_int_equal(fr_moq_subgroup_object_encode(g_buf, BUFSZ, type, &o),
                         FR_MOQ_INVALID);
    }
    /* Status other than Normal with a payload, and unknown statuses. */
    memset(&o, 0, sizeof(o));
    o.payload_len = 1;
    o.status = FR_MOQ_OBJ_END_OF_TRACK;
    assert_int_equal(fr_moq_subgroup_object_encode(g_buf, BUFSZ, 0x10, &o),
                     FR_MOQ_INVALID);
    o.payload_len = 0;
    o.status = 1;
    assert_int_equal(fr_moq_subgroup_object_encode(g_buf, BUFSZ, 0x10, &o),
                     FR_MOQ_INVALID);
}

/* A whole stream: header, then objects with payloads, IDs tracked. */
static void test_subgroup_stream(void **state)
{
    /* The draft's second example: type 0x35 (properties, Subgroup ID
     * present, default priority), alias 2, group 0, subgroup 0. */
    static const char stream[] = "\x35\x02\x00\x00"
                                 "\x00\x00\x04" "abcd" /* delta 0 -> id 0 */
                                 "\x01\x00\x04" "efgh" /* delta 1 -> id 2 */
                                 "\x00\x00\x00\x03"; /* id 3, END_OF_GROUP */
    static const uint64_t ids[] = {0, 2, 3};
    fr_moq_subgroup_header h;
    fr_moq_object_header o;
    fr_moq_error err;
    const uint8_t *p = (const uint8_t *)stream;
    size_t left = sizeof(stream) - 1;
    uint64_t id = 0;
    ssize_t n;

    (void)state;
    n = fr_moq_subgroup_header_decode(p, left, &h, &err);
    assert_int_equal(n, 4);
    assert_int_equal(h.type, 0x35);
    assert_int_equal(h.has_priority, 0);
    p += n;
    left -= (size_t)n;
    for (int i = 0; i < 3; i++) {
        n = fr_moq_subgroup_object_decode(p, left, h.type, &o, &err);
        assert_true(n > 0);
        assert_int_equal(fr_moq_subgroup_object_id(i ? &id : NULL,
                                                   o.id_delta, &id, &err),
                         0);
        assert_int_equal(id, ids[i]);
        p += (size_t)n + o.payload_len;
        left -= (size_t)n + o.payload_len;
    }
    assert_int_equal(o.status, FR_MOQ_OBJ_END_OF_GROUP);
    assert_int_equal(left, 0);
    /* Mode 1: the subgroup is the first object's ID, set by the reader. */
    id = UINT64_MAX - 1;
    assert_int_equal(fr_moq_subgroup_object_id(&id, 0, &id, &err), 0);
    assert_int_equal(id, UINT64_MAX);
    assert_int_equal(fr_moq_subgroup_object_id(&id, 0, &id, &err),
                     FR_MOQ_MALFORMED);
    assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
}

/*
 * Fetch streams.
 */

static void assert_fetch_obj_eq(const fr_moq_fetch_object *a,
                                const fr_moq_fetch_object *b)
{
    assert_int_equal(a->flags, b->flags);
    assert_loc_eq(a->loc, b->loc);
    assert_int_equal(a->subgroup, b->subgroup);
    assert_int_equal(a->publisher_priority, b->publisher_priority);
    assert_int_equal(a->is_datagram, b->is_datagram);
    assert_int_equal(a->end_of_range, b->end_of_range);
    assert_bytes_eq(a->properties, b->properties);
    assert_int_equal(a->payload_len, b->payload_len);
    assert_int_equal(a->no_prior_object, b->no_prior_object);
}

static void check_fetch_object(uint8_t order, const fr_moq_fetch_object *prev,
                               const fr_moq_fetch_object *o)
{
    fr_moq_fetch_object d;
    fr_moq_error err = {0, NULL};
    ssize_t n = fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, order, prev,
                                                   o);

    if (n <= 0)
        fail_msg("encoding fetch object flags 0x%llx failed",
                 (unsigned long long)o->flags);
    if (fr_moq_fetch_object_decode_ordered(g_buf, (size_t)n, order, prev, &d,
                                           &err) != n)
        fail_msg("decoding fetch object flags 0x%llx failed: %s",
                 (unsigned long long)o->flags, err.reason);
    assert_fetch_obj_eq(o, &d);
    for (ssize_t i = 0; i < n; i++) {
        assert_int_equal(fr_moq_fetch_object_decode_ordered(
                             g_buf, (size_t)i, order, prev, &d, &err),
                         FR_MOQ_NEED_MORE);
        assert_int_equal(fr_moq_fetch_object_encode_ordered(
                             g_buf2, (size_t)i, order, prev, o),
                         FR_MOQ_NOBUF);
    }
}

/* An object after `prev` as the flags describe it: a later group (delta 1)
 * when GROUP_ID is set, a jump of 4 when OBJECT_ID is set. */
static void object_for_flags(uint8_t order, const fr_moq_fetch_object *prev,
                             uint64_t flags, fr_moq_fetch_object *o)
{
    static const uint64_t subgroups[4] = {0, 3, 4, 42};

    memset(o, 0, sizeof(*o));
    o->flags = flags;
    o->loc.group = prev->loc.group;
    if ((flags & FR_MOQ_FETCH_GROUP_ID) && order == FR_MOQ_ORDER_DESCENDING)
        o->loc.group -= 2;
    else if (flags & FR_MOQ_FETCH_GROUP_ID)
        o->loc.group += 2;
    if (!(flags & FR_MOQ_FETCH_OBJECT_ID))
        o->loc.object = prev->loc.object + 1;
    else if (flags & FR_MOQ_FETCH_GROUP_ID)
        o->loc.object = 0;
    else
        o->loc.object = prev->loc.object + 4;
    o->is_datagram = !!(flags & FR_MOQ_FETCH_DATAGRAM);
    if (!o->is_datagram)
        o->subgroup = subgroups[flags & FR_MOQ_FETCH_SUBGROUP_MASK];
    o->publisher_priority =
        (flags & FR_MOQ_FETCH_PRIORITY) ? 99 : prev->publisher_priority;
    if (flags & FR_MOQ_FETCH_PROPERTIES)
        o->properties = props();
    o->payload_len = 10;
}

static void test_fetch_flags(void **state)
{
    fr_moq_fetch_object prev, o;

    (void)state;
    memset(&prev, 0, sizeof(prev));
    prev.flags = FR_MOQ_FETCH_GROUP_ID | FR_MOQ_FETCH_OBJECT_ID |
                 FR_MOQ_FETCH_PRIORITY | 3;
    prev.loc.group = 10;
    prev.loc.object = 5;
    prev.subgroup = 3;
    prev.publisher_priority = 7;
    /* Every flag combination, in both orders, after an actual object. */
    for (uint8_t order = FR_MOQ_ORDER_ASCENDING;
         order <= FR_MOQ_ORDER_DESCENDING; order++)
        for (uint64_t f = 0; f < 0x80; f++) {
            fr_moq_fetch_object shortest;
            ssize_t given, best;

            object_for_flags(order, &prev, f, &o);
            check_fetch_object(order, &prev, &o);
            /* The chosen flags encode the same object, never longer. */
            shortest = o;
            shortest.flags = fr_moq_fetch_object_flags(order, &prev, &o);
            check_fetch_object(order, &prev, &shortest);
            given = fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, order,
                                                       &prev, &o);
            best = fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, order,
                                                      &prev, &shortest);
            assert_true(best <= given);
        }
    /* As the first object, only flags that refer to nothing are valid. */
    for (uint64_t f = 0; f < 0x80; f++) {
        uint64_t mode = f & FR_MOQ_FETCH_SUBGROUP_MASK;
        int ok = (f & FR_MOQ_FETCH_GROUP_ID) && (f & FR_MOQ_FETCH_OBJECT_ID) &&
                 (f & FR_MOQ_FETCH_PRIORITY) &&
                 ((f & FR_MOQ_FETCH_DATAGRAM) || mode == 0 || mode == 3);

        object_for_flags(FR_MOQ_ORDER_ASCENDING, &prev, f, &o);
        o.loc.group = 12;
        if (ok) {
            check_fetch_object(FR_MOQ_ORDER_ASCENDING, NULL, &o);
        } else {
            assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, NULL,
                                                        &o),
                             FR_MOQ_INVALID);
        }
    }
}

/* A fetch stream in each order with End of Range markers, flags chosen by
 * fr_moq_fetch_object_flags, written out and read back. */
static uint8_t g_stream[1024];

static void test_fetch_stream(void **state)
{
    (void)state;
    for (uint8_t order = FR_MOQ_ORDER_ASCENDING;
         order <= FR_MOQ_ORDER_DESCENDING; order++) {
        int desc = order == FR_MOQ_ORDER_DESCENDING;
        fr_moq_fetch_object objs[7], d, wrong;
        const fr_moq_fetch_object *prev = NULL;
        uint64_t req;
        fr_moq_error err;
        size_t at, pos;
        ssize_t n;

        memset(objs, 0, sizeof(objs));
        /* An End of Range first: nothing to inherit yet. */
        fr_moq_fetch_end_of_range(&objs[0], NULL,
                                  FR_MOQ_FETCH_END_OF_UNKNOWN_RANGE,
                                  (fr_moq_location){desc ? 20 : 1, 3});
        objs[1].loc = (fr_moq_location){desc ? 20 : 1, 4};
        objs[1].publisher_priority = 5;
        objs[1].subgroup = 2;
        objs[2].loc = (fr_moq_location){desc ? 20 : 1, 5};
        objs[2].publisher_priority = 5;
        objs[2].subgroup = 3;
        objs[2].properties = props();
        fr_moq_fetch_end_of_range(&objs[3], &objs[2],
                                  FR_MOQ_FETCH_END_OF_NONEXISTENT_RANGE,
                                  (fr_moq_location){desc ? 18 : 3, 0});
        /* Inherits subgroup and priority across the marker. */
        objs[4].loc = (fr_moq_location){desc ? 18 : 3, 1};
        objs[4].publisher_priority = 5;
        objs[4].subgroup = 3;
        objs[5].loc = (fr_moq_location){desc ? 7 : 9, 0};
        objs[5].publisher_priority = 1;
        objs[5].is_datagram = 1;
        objs[6].loc = (fr_moq_location){desc ? 7 : 9, 9};
        objs[6].publisher_priority = 1;
        objs[6].payload_len = 100;

        at = (size_t)fr_moq_fetch_header_encode(g_stream, sizeof(g_stream),
                                                77);
        for (int i = 0; i < 7; i++) {
            if (!objs[i].end_of_range)
                objs[i].flags = fr_moq_fetch_object_flags(order, prev,
                                                          &objs[i]);
            check_fetch_object(order, prev, &objs[i]);
            n = fr_moq_fetch_object_encode_ordered(
                g_stream + at, sizeof(g_stream) - at, order, prev, &objs[i]);
            assert_true(n > 0);
            at += (size_t)n + objs[i].payload_len;
            prev = &objs[i];
        }
        /* The compact choices: explicit subgroup and priority with nothing
         * to inherit, "prior + 1", "prior" across the marker, a new group
         * for the datagram, an Object ID Delta within it. */
        assert_int_equal(objs[1].flags, 0x13);
        assert_int_equal(objs[2].flags, 0x02 | FR_MOQ_FETCH_PROPERTIES);
        assert_int_equal(objs[4].flags, 0x01);
        assert_int_equal(objs[5].flags, 0x5C);
        assert_int_equal(objs[6].flags, FR_MOQ_FETCH_OBJECT_ID);

        n = fr_moq_fetch_header_decode(g_stream, at, &req, &err);
        assert_int_equal(n, 2);
        assert_int_equal(req, 77);
        pos = (size_t)n;
        prev = NULL;
        for (int i = 0; i < 7; i++) {
            n = fr_moq_fetch_object_decode_ordered(g_stream + pos, at - pos,
                                                   order, prev, &d, &err);
            assert_true(n > 0);
            assert_fetch_obj_eq(&objs[i], &d);
            pos += (size_t)n + d.payload_len;
            prev = &objs[i];
        }
        assert_int_equal(pos, at);
        /* Going the wrong way cannot be expressed. */
        wrong = objs[6];
        wrong.loc.group = desc ? 9 : 5;
        assert_int_equal(fr_moq_fetch_object_flags(order, &objs[6], &wrong),
                         UINT64_MAX);
        wrong.loc.group = objs[6].loc.group;
        wrong.loc.object = 3;
        assert_int_equal(fr_moq_fetch_object_flags(order, &objs[6], &wrong),
                         UINT64_MAX);
    }
}

static void test_fetch_end_of_range(void **state)
{
    fr_moq_fetch_object prev, e, o;
    uint64_t req;
    fr_moq_error err;

    (void)state;
    assert_int_equal(fr_moq_fetch_header_encode(g_buf, BUFSZ, 1ull << 40), 7);
    assert_int_equal(fr_moq_fetch_header_decode(g_buf, 7, &req, &err), 7);
    assert_int_equal(req, 1ull << 40);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(fr_moq_fetch_header_decode(g_buf, i, &req, &err),
                         FR_MOQ_NEED_MORE);
    /* Marker bytes: flags (2-byte varint), absolute group and object, and
     * no payload length. */
    memset(&prev, 0, sizeof(prev));
    prev.loc.group = 50;
    prev.subgroup = 4;
    prev.publisher_priority = 9;
    prev.is_datagram = 0;
    fr_moq_fetch_end_of_range(&e, &prev, FR_MOQ_FETCH_END_OF_NONEXISTENT_RANGE,
                              (fr_moq_location){50, 7});
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &e), 4);
    assert_memory_equal(g_buf, "\x80\x8C\x32\x07", 4);
    check_fetch_object(FR_MOQ_ORDER_ASCENDING, &prev, &e);
    /* A marker whose carried fields disagree with prev is refused. */
    e.publisher_priority = 8;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &e),
                     FR_MOQ_INVALID);
    e.publisher_priority = 9;
    e.payload_len = 1;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &e),
                     FR_MOQ_INVALID);
    /* An object right after: object 8 of group 50 is "prior + 1". */
    e.payload_len = 0;
    memset(&o, 0, sizeof(o));
    o.loc = (fr_moq_location){50, 8};
    o.subgroup = 4;
    o.publisher_priority = 9;
    o.flags = fr_moq_fetch_object_flags(FR_MOQ_ORDER_ASCENDING, &e, &o);
    assert_int_equal(o.flags, 0x01);
    check_fetch_object(FR_MOQ_ORDER_ASCENDING, &e, &o);
}

/*
 * Datagrams.
 */

static void test_datagrams(void **state)
{
    static const uint8_t payload[] = "payload";
    unsigned nvalid = 0;
    fr_moq_datagram d, back;
    fr_moq_error err;
    uint8_t in[16];
    ssize_t n;

    (void)state;
    for (uint64_t t = 0; t < 0x40; t++) {
        memset(&d, 0, sizeof(d));
        d.type = t;
        d.track_alias = 5;
        d.loc.group = 300;
        d.loc.object = (t & FR_MOQ_DG_ZERO_OBJECT_ID) ? 0 : 17;
        d.has_priority = !(t & FR_MOQ_DG_DEFAULT_PRIORITY);
        d.publisher_priority = d.has_priority ? 33 : 0;
        if (t & FR_MOQ_DG_PROPERTIES)
            d.properties = props();
        d.has_status = !!(t & FR_MOQ_DG_STATUS);
        if (d.has_status) {
            d.status = (t & FR_MOQ_DG_PROPERTIES) ? FR_MOQ_OBJ_NORMAL
                                                  : FR_MOQ_OBJ_END_OF_TRACK;
        } else {
            d.payload.base = payload;
            d.payload.len = sizeof(payload) - 1;
        }
        if (!fr_moq_is_datagram_type(t)) {
            assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d),
                             FR_MOQ_INVALID);
            in[0] = (uint8_t)t;
            memset(in + 1, 1, 8);
            assert_int_equal(fr_moq_datagram_decode(in, 9, &back, &err),
                             FR_MOQ_MALFORMED);
            assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
            continue;
        }
        nvalid++;
        n = fr_moq_datagram_encode(g_buf, BUFSZ, &d);
        assert_true(n > 0);
        assert_int_equal(fr_moq_datagram_decode(g_buf, (size_t)n, &back, &err),
                         n);
        assert_int_equal(back.type, d.type);
        assert_int_equal(back.track_alias, d.track_alias);
        assert_loc_eq(back.loc, d.loc);
        assert_int_equal(back.has_priority, d.has_priority);
        assert_int_equal(back.publisher_priority, d.publisher_priority);
        assert_bytes_eq(back.properties, d.properties);
        assert_int_equal(back.has_status, d.has_status);
        assert_int_equal(back.status, d.status);
        assert_bytes_eq(back.payload, d.payload);
        for (ssize_t i = 0; i < n; i++)
            assert_int_equal(fr_moq_datagram_encode(g_buf2, (size_t)i, &d),
                             FR_MOQ_NOBUF);
        /* Cut inside the header it is malformed, never "need more". */
        n -= (ssize_t)d.payload.len;
        for (ssize_t i = 0; i < n; i++) {
            assert_int_equal(fr_moq_datagram_decode(g_buf, (size_t)i, &back,
                                                    &err),
                             FR_MOQ_MALFORMED);
            assert_int_equal(err.code, FR_MOQ_PROTOCOL_VIOLATION);
        }
        /* A status datagram with properties must be Normal. */
        if (d.has_status && (t & FR_MOQ_DG_PROPERTIES)) {
            d.status = FR_MOQ_OBJ_END_OF_GROUP;
            assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d),
                             FR_MOQ_INVALID);
        }
    }
    assert_int_equal(nvalid, 16 + 8);

    /* Padding: the type then zero bytes, discarded. */
    memset(&d, 0, sizeof(d));
    d.type = FR_MOQ_DATAGRAM_PADDING;
    d.payload.len = 100;
    n = fr_moq_datagram_encode(g_buf, BUFSZ, &d);
    assert_int_equal(n, 5 + 100);
    assert_int_equal(fr_moq_datagram_decode(g_buf, (size_t)n, &back, &err), n);
    assert_int_equal(back.type, FR_MOQ_DATAGRAM_PADDING);
    assert_int_equal(back.payload.len, 100);
}

/* Structures that cannot be encoded as anything the decoder accepts. */
static void test_encode_invalid(void **state)
{
    static const uint8_t bad_token[] = {0x09};
    static const uint8_t bad_props[] = {0x01};
    fr_moq_bytes bad = {bad_token, 1};
    fr_moq_token t = {7, 0, 0, {NULL, 0}};
    fr_moq_msg m;
    fr_moq_fetch_object prev, o;
    fr_moq_datagram d;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = 0x01;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    assert_int_equal(fr_moq_token_encode(g_buf, BUFSZ, &t), FR_MOQ_INVALID);

    m.type = FR_MOQ_MSG_SUBSCRIBE;
    m.u.subscribe.params.present = FR_MOQ_P_AUTH_TOKEN;
    m.u.subscribe.params.nauth_tokens = 1;
    m.u.subscribe.params.auth_tokens[0] = bad;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.subscribe.params.nauth_tokens = 0;
    m.u.subscribe.params.present = FR_MOQ_P_SUBSCRIPTION_FILTER;
    m.u.subscribe.params.filter.type = 5;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.subscribe.params.present = 1u << 20;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SETUP;
    m.u.setup.nauth_tokens = 1;
    m.u.setup.auth_tokens[0] = bad;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.u.setup.nauth_tokens = FR_MOQ_MAX_AUTH_TOKENS + 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH_OK;
    m.u.fetch_ok.end_of_track = 2;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.type = FR_MOQ_MSG_SUBSCRIBE_OK;
    m.u.subscribe_ok.track_properties.base = bad_props;
    m.u.subscribe_ok.track_properties.len = 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_NAMESPACE;
    ns_set(&m.u.ns_request.ns, "a", "", NULL);
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);
    m.type = FR_MOQ_MSG_NAMESPACE;
    m.u.ns_suffix.suffix.nfields = FR_MOQ_MAX_NAMESPACE_FIELDS + 1;
    assert_int_equal(fr_moq_msg_encode(g_buf, BUFSZ, &m), FR_MOQ_INVALID);

    /* Fetch objects whose fields contradict their flags. */
    memset(&prev, 0, sizeof(prev));
    prev.loc = (fr_moq_location){4, 4};
    prev.subgroup = 1;
    prev.publisher_priority = 2;
    memset(&o, 0, sizeof(o));
    o.loc = (fr_moq_location){4, 5};
    o.subgroup = 1;
    o.publisher_priority = 2;
    o.flags = 0x01;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o), 2);
    assert_int_equal(fr_moq_fetch_object_decode_ordered(g_buf, 2, FR_MOQ_ORDER_ASCENDING, &prev, &o, NULL),
                     2);
    assert_int_equal(o.loc.object, 5);
    o.is_datagram = 1;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);
    o.is_datagram = 0;
    o.publisher_priority = 3;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);
    o.publisher_priority = 2;
    o.properties = props();
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);
    o.properties.len = 0;
    o.loc.group = 5;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);
    o.loc = (fr_moq_location){4, 3};
    o.flags = 0x01 | FR_MOQ_FETCH_OBJECT_ID;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);
    o.flags = FR_MOQ_FETCH_END_OF_UNKNOWN_RANGE;
    assert_int_equal(fr_moq_fetch_object_encode_ordered(g_buf, BUFSZ, FR_MOQ_ORDER_ASCENDING, &prev, &o),
                     FR_MOQ_INVALID);

    /* Datagrams whose fields contradict their type. */
    memset(&d, 0, sizeof(d));
    d.type = FR_MOQ_DG_ZERO_OBJECT_ID | FR_MOQ_DG_DEFAULT_PRIORITY;
    d.loc.object = 5;
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_INVALID);
    d.loc.object = 0;
    d.has_priority = 1;
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_INVALID);
    d.has_priority = 0;
    d.properties = props();
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_INVALID);
    d.type |= FR_MOQ_DG_PROPERTIES | FR_MOQ_DG_STATUS;
    d.has_status = 1;
    d.status = 2;
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_INVALID);
    d.status = FR_MOQ_OBJ_NORMAL;
    d.payload = B("x");
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_INVALID);
    d.payload.len = 0;
    assert_true(fr_moq_datagram_encode(g_buf, BUFSZ, &d) > 0);

    /* Lengths past any buffer are refused without touching memory. */
    memset(&d, 0, sizeof(d));
    d.has_priority = 1;
    d.payload.base = g_buf2;
    d.payload.len = SIZE_MAX;
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_NOBUF);
    d.type = FR_MOQ_DATAGRAM_PADDING;
    assert_int_equal(fr_moq_datagram_encode(g_buf, BUFSZ, &d), FR_MOQ_NOBUF);
}

/*
 * Malformed input: each case is rejected with the draft's error code.
 */

enum mkind { M_MSG, M_RAW, M_SG_HDR, M_SG_OBJ, M_FETCH_HDR, M_FETCH_OBJ,
             M_DGRAM };

typedef struct mcase {
    const char *name;
    enum mkind kind;
    uint64_t type;   /* M_MSG: message type; M_SG_OBJ: subgroup type;
                        M_FETCH_OBJ: prev case (see fetch_prevs) */
    int len_adjust;  /* M_MSG: declared length minus payload length */
    const char *hex; /* M_MSG: the payload; otherwise all bytes */
    uint64_t code;
} mcase;

#define PVc FR_MOQ_PROTOCOL_VIOLATION
#define KVFc FR_MOQ_KEY_VALUE_FORMATTING_ERROR
#define SUB_HEAD "00 01 01 61 01 62 " /* request 0, ("a"), name "b" */

static const mcase mcases[] = {
    {"length one more than payload", M_MSG, 0x03, 1, SUB_HEAD "00", PVc},
    {"length one less than payload", M_MSG, 0x03, -1, SUB_HEAD "00", PVc},
    {"trailing byte in payload", M_MSG, 0x03, 0, SUB_HEAD "00 00", PVc},
    {"unknown type 0x01", M_RAW, 0, 0, "01 00 00", PVc},
    {"unknown type 0x20 (CLIENT_SETUP <= 16)", M_RAW, 0, 0, "20 00 00", PVc},
    {"unknown type 0x40", M_RAW, 0, 0, "80 40 00 00", PVc},
    {"unknown parameter 0x05", M_MSG, 0x03, 0, SUB_HEAD "01 05 00", PVc},
    {"parameter type 0", M_MSG, 0x03, 0, SUB_HEAD "01 00 00", PVc},
    {"duplicate SUBSCRIBER_PRIORITY", M_MSG, 0x03, 0,
     SUB_HEAD "02 20 05 00 06", PVc},
    {"parameter type overflow", M_MSG, 0x03, 0,
     SUB_HEAD "02 20 05 ff ffffffffffffffff", PVc},
    {"more parameters than present", M_MSG, 0x03, 0, SUB_HEAD "02 20 05", PVc},
    {"FILL_TIMEOUT in SUBSCRIBE", M_MSG, 0x03, 0, SUB_HEAD "01 0a 05", PVc},
    {"SUBSCRIBER_PRIORITY in TRACK_STATUS", M_MSG, 0x0D, 0,
     SUB_HEAD "01 20 05", PVc},
    {"RENDEZVOUS_TIMEOUT in FETCH", M_MSG, 0x16, 0, "00 02 00 00 01 04 00",
     PVc},
    {"LARGEST_OBJECT in PUBLISH_OK", M_MSG, 0x1E, 0, "01 09 01 02", PVc},
    {"GROUP_ORDER in REQUEST_UPDATE", M_MSG, 0x02, 0, "00 01 22 01", PVc},
    {"parameter in FETCH_OK", M_MSG, 0x18, 0, "00 01 02 01 20 05", PVc},
    {"EXPIRES in SUBSCRIBE", M_MSG, 0x03, 0, SUB_HEAD "01 08 05", PVc},
    {"FORWARD in PUBLISH_NAMESPACE", M_MSG, 0x06, 0, "00 00 01 10 01", PVc},
    {"GROUP_ORDER 0", M_MSG, 0x03, 0, SUB_HEAD "01 22 00", PVc},
    {"GROUP_ORDER 3", M_MSG, 0x03, 0, SUB_HEAD "01 22 03", PVc},
    {"FORWARD 2", M_MSG, 0x03, 0, SUB_HEAD "01 10 02", PVc},
    {"filter type 0", M_MSG, 0x03, 0, SUB_HEAD "01 21 01 00", PVc},
    {"filter type 5", M_MSG, 0x03, 0, SUB_HEAD "01 21 01 05", PVc},
    {"filter End Group overflow", M_MSG, 0x03, 0,
     SUB_HEAD "01 21 0c 04 ff ffffffffffffffff 00 01", PVc},
    {"filter with trailing byte", M_MSG, 0x03, 0, SUB_HEAD "01 21 02 01 00",
     KVFc},
    {"filter cut short", M_MSG, 0x03, 0, SUB_HEAD "01 21 01 03", KVFc},
    {"filter length past payload", M_MSG, 0x03, 0, SUB_HEAD "01 21 05 01",
     PVc},
    {"token with unknown alias type", M_MSG, 0x03, 0,
     SUB_HEAD "01 03 02 04 00", KVFc},
    {"DELETE token with trailing byte", M_MSG, 0x03, 0,
     SUB_HEAD "01 03 03 00 01 02", KVFc},
    {"empty token", M_MSG, 0x03, 0, SUB_HEAD "01 03 00", KVFc},
    {"REGISTER token without type", M_MSG, 0x03, 0, SUB_HEAD "01 03 02 01 05",
     KVFc},
    {"five tokens", M_MSG, 0x03, 0,
     SUB_HEAD "05 03 02 03 00 00 02 03 00 00 02 03 00 00 02 03 00 00 02 03 00",
     FR_MOQ_INTERNAL_ERROR},
    {"33 namespace fields", M_MSG, 0x03, 0, "00 21", PVc},
    {"empty namespace field", M_MSG, 0x03, 0, "00 02 01 61 00 01 62 00", PVc},
    {"namespace field past payload", M_MSG, 0x03, 0, "00 01 05 61", PVc},
    {"namespace prefix with trailing byte", M_MSG, 0x02, 0,
     "00 01 34 04 01 01 61 00", KVFc},
    {"namespace prefix with empty field", M_MSG, 0x02, 0, "00 01 34 02 01 00",
     PVc},
    {"namespace prefix of 33 fields", M_MSG, 0x02, 0, "00 01 34 01 21", PVc},
    {"FETCH type 0", M_MSG, 0x16, 0, "00 00 00", PVc},
    {"FETCH type 4", M_MSG, 0x16, 0, "00 04 00 00 00", PVc},
    {"FETCH_OK End Of Track 2", M_MSG, 0x18, 0, "02 01 02 00", PVc},
    {"REDIRECT without Redirect", M_MSG, 0x05, 0, "34 00 00", PVc},
    {"Track Properties in PUBLISH_OK", M_MSG, 0x1E, 0, "00 02 05", PVc},
    {"truncated Track Property", M_MSG, 0x07, 0, "00 01", KVFc},
    {"Track Property type overflow", M_MSG, 0x04, 0,
     "01 00 ff ffffffffffffffff 00 01 00", PVc},
    {"Track Property longer than 65535", M_MSG, 0x04, 0,
     "01 00 01 c1 00 00", PVc},
    {"GOAWAY with trailing byte", M_MSG, 0x10, 0, "00 00 00 00", PVc},
    {"SETUP duplicate PATH", M_MSG, 0x2F00, 0, "01 01 61 00 01 62", PVc},
    {"SETUP duplicate MAX_AUTH_TOKEN_CACHE_SIZE", M_MSG, 0x2F00, 0,
     "04 05 00 06", PVc},
    {"SETUP truncated option", M_MSG, 0x2F00, 0, "01 05 61", KVFc},
    {"SETUP option longer than 65535", M_MSG, 0x2F00, 0, "01 c1 00 00", PVc},
    {"SETUP option type overflow", M_MSG, 0x2F00, 0,
     "ff ffffffffffffffff 00 01 00", PVc},
    {"SETUP malformed token", M_MSG, 0x2F00, 0, "03 01 09", KVFc},
    {"SETUP five tokens", M_MSG, 0x2F00, 0,
     "03 02 03 00 00 02 03 00 00 02 03 00 00 02 03 00 00 02 03 00",
     FR_MOQ_INTERNAL_ERROR},
    {"subgroup header type 0x16", M_SG_HDR, 0, 0, "16 00 00", PVc},
    {"subgroup header type 0x1F", M_SG_HDR, 0, 0, "1f 00 00", PVc},
    {"subgroup header type 0x7E", M_SG_HDR, 0, 0, "7e 00 00", PVc},
    {"subgroup header type 0x0F", M_SG_HDR, 0, 0, "0f 00 00", PVc},
    {"subgroup header type 0x90", M_SG_HDR, 0, 0, "80 90 00 00", PVc},
    {"object status 1", M_SG_OBJ, 0x10, 0, "00 00 01", PVc},
    {"object status 5", M_SG_OBJ, 0x10, 0, "00 00 05", PVc},
    {"END_OF_GROUP object with properties", M_SG_OBJ, 0x11, 0,
     "00 02 02 05 00 03", PVc},
    {"truncated object property", M_SG_OBJ, 0x11, 0, "00 01 01 04", KVFc},
    {"object on an invalid subgroup type", M_SG_OBJ, 0x16, 0, "00 04", PVc},
    {"fetch header type 4", M_FETCH_HDR, 0, 0, "04 00", PVc},
    {"fetch flags 0x80", M_FETCH_OBJ, 1, 0, "80 80 00 00", PVc},
    {"fetch flags 0x8D", M_FETCH_OBJ, 1, 0, "80 8d 00 00", PVc},
    {"fetch flags 0x100", M_FETCH_OBJ, 1, 0, "81 00 00 00", PVc},
    {"fetch flags 0x20C", M_FETCH_OBJ, 1, 0, "82 0c 00 00", PVc},
    {"first fetch object without Group ID", M_FETCH_OBJ, 0, 0,
     "14 05 07 00", PVc},
    {"first fetch object without Object ID", M_FETCH_OBJ, 0, 0,
     "18 05 07 00", PVc},
    {"first fetch object without priority", M_FETCH_OBJ, 0, 0, "0c 05 07 00",
     PVc},
    {"first fetch object with prior subgroup", M_FETCH_OBJ, 0, 0,
     "1d 05 07 01 00", PVc},
    {"prior subgroup of a datagram", M_FETCH_OBJ, 2, 0, "01 00", PVc},
    {"prior priority after a lone End of Range", M_FETCH_OBJ, 3, 0, "00 00",
     PVc},
    {"prior subgroup after a lone End of Range", M_FETCH_OBJ, 3, 0,
     "12 07 00", PVc},
    {"ascending Group ID overflow", M_FETCH_OBJ, 4, 0, "18 00 00 07 00", PVc},
    {"descending Group ID below 0", M_FETCH_OBJ, 5, 0, "18 00 00 07 00", PVc},
    {"fetch Object ID overflow", M_FETCH_OBJ, 4, 0, "00 00", PVc},
    {"fetch Object ID delta overflow", M_FETCH_OBJ, 4, 0, "04 01 00", PVc},
    {"fetch Subgroup ID overflow", M_FETCH_OBJ, 4, 0, "06 00 00", PVc},
    {"datagram type 0x10", M_DGRAM, 0, 0, "10 00 00 00 00", PVc},
    {"datagram type 0x22", M_DGRAM, 0, 0, "22 00 00 00 00 00", PVc},
    {"datagram type 0x2F", M_DGRAM, 0, 0, "2f 00 00 00", PVc},
    {"datagram type 0x30", M_DGRAM, 0, 0, "30 00 00 00 00", PVc},
    {"datagram with empty properties", M_DGRAM, 0, 0, "01 01 02 03 04 00",
     PVc},
    {"datagram with bad properties", M_DGRAM, 0, 0, "01 01 02 03 04 01 01",
     KVFc},
    {"bytes after datagram status", M_DGRAM, 0, 0, "20 01 02 03 04 00 ff",
     PVc},
    {"END_OF_GROUP datagram with properties", M_DGRAM, 0, 0,
     "21 01 02 03 04 02 02 05 03", PVc},
    {"datagram status 5", M_DGRAM, 0, 0, "20 01 02 03 04 05", PVc},
    {"truncated datagram", M_DGRAM, 0, 0, "00 01", PVc},
    {"empty datagram", M_DGRAM, 0, 0, "", PVc},
};

/* The entries the M_FETCH_OBJ cases follow: none, an actual object, a
 * datagram object, a lone End of Range, an object at the top of every ID,
 * one at group 0. */
static const fr_moq_fetch_object *fetch_prev(uint64_t i,
                                             fr_moq_fetch_object *p)
{
    memset(p, 0, sizeof(*p));
    p->loc.group = 3;
    p->loc.object = 4;
    p->publisher_priority = 9;
    switch (i) {
    case 0:
        return NULL;
    case 2:
        p->is_datagram = 1;
        break;
    case 3:
        fr_moq_fetch_end_of_range(p, NULL, FR_MOQ_FETCH_END_OF_UNKNOWN_RANGE,
                                  p->loc);
        break;
    case 4:
        p->loc.group = UINT64_MAX;
        p->loc.object = UINT64_MAX;
        p->subgroup = UINT64_MAX;
        break;
    case 5:
        p->loc.group = 0;
        break;
    default:
        break;
    }
    return p;
}

static ssize_t decode_case(const mcase *c, const uint8_t *in, size_t n,
                           fr_moq_error *err)
{
    fr_moq_msg m;
    fr_moq_subgroup_header h;
    fr_moq_object_header o;
    fr_moq_fetch_object fo, prev;
    fr_moq_datagram d;
    uint64_t req;

    switch (c->kind) {
    case M_MSG:
    case M_RAW:
        return fr_moq_msg_decode(in, n, &m, err);
    case M_SG_HDR:
        return fr_moq_subgroup_header_decode(in, n, &h, err);
    case M_SG_OBJ:
        return fr_moq_subgroup_object_decode(in, n, c->type, &o, err);
    case M_FETCH_HDR:
        return fr_moq_fetch_header_decode(in, n, &req, err);
    case M_FETCH_OBJ:
        return fr_moq_fetch_object_decode_ordered(
            in, n, c->type == 5 ? FR_MOQ_ORDER_DESCENDING
                                : FR_MOQ_ORDER_ASCENDING,
            fetch_prev(c->type, &prev), &fo, err);
    default:
        return fr_moq_datagram_decode(in, n, &d, err);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
        const mcase *c = &mcases[i];
        fr_moq_error err = {0, NULL};
        size_t n = 0;
        ssize_t rc;

        if (c->kind == M_MSG) {
            size_t plen;

            n = (size_t)fr_moq_varint_encode(g_buf, BUFSZ, c->type);
            plen = hex(c->hex, g_buf + n + 2);
            g_buf[n] = (uint8_t)((plen + (size_t)c->len_adjust) >> 8);
            g_buf[n + 1] = (uint8_t)(plen + (size_t)c->len_adjust);
            n += 2 + plen;
            /* A longer declared length needs its bytes to be present. */
            if (c->len_adjust > 0)
                g_buf[n++] = 0;
        } else {
            n = hex(c->hex, g_buf);
        }
        rc = decode_case(c, g_buf, n, &err);
        if (rc != FR_MOQ_MALFORMED || err.code != c->code || !err.reason)
            fail_msg("%s: got %zd code 0x%llx (%s), want code 0x%llx",
                     c->name, rc, (unsigned long long)err.code,
                     err.reason ? err.reason : "-",
                     (unsigned long long)c->code);
    }
}

static int setup_group(void **state)
{
    (void)state;
    make_tokens();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_examples),
        cmocka_unit_test(test_varint_lengths),
        cmocka_unit_test(test_location_cmp),
        cmocka_unit_test(test_setup),
        cmocka_unit_test(test_goaway),
        cmocka_unit_test(test_draft19),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_name_limits_decode),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_request_update),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_fetch),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_subgroup_headers),
        cmocka_unit_test(test_subgroup_objects),
        cmocka_unit_test(test_subgroup_stream),
        cmocka_unit_test(test_fetch_flags),
        cmocka_unit_test(test_fetch_stream),
        cmocka_unit_test(test_fetch_end_of_range),
        cmocka_unit_test(test_datagrams),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, setup_group, NULL);
}
