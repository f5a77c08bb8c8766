/*
 * libFuzzer target: MoQT control messages (draft 18).
 *
 * Decodes messages one after another from the input. Each decoded message
 * must re-encode (the encoder accepts whatever the decoder accepts), never
 * longer than its input (varints are written minimally), byte for byte the
 * same as the input when the length matches (nothing is lost or altered),
 * and decode again to the same encoding. Rejections must carry a reason
 * and one of the codes the codec uses.
 *
 * Built with -DFR_FUZZ_SEED_MAIN it is instead a program that writes a seed
 * corpus of valid messages into the directory given as its argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/moq/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG (3 + FR_MOQ_MAX_CONTROL_PAYLOAD + 16)

static uint8_t g_enc1[MAX_MSG];
static uint8_t g_enc2[MAX_MSG];

static void oracle_fail(const char *what, uint64_t type)
{
    fprintf(stderr, "oracle failure: %s (message %s, 0x%llx)\n", what,
            fr_moq_msg_name(type), (unsigned long long)type);
    abort();
}

static void check_error(const fr_moq_error *err)
{
    if (!err->reason ||
        (err->code != FR_MOQ_PROTOCOL_VIOLATION &&
         err->code != FR_MOQ_KEY_VALUE_FORMATTING_ERROR &&
         err->code != FR_MOQ_INTERNAL_ERROR)) {
        fprintf(stderr, "oracle failure: rejection code 0x%llx reason %s\n",
                (unsigned long long)err->code,
                err->reason ? err->reason : "(none)");
        abort();
    }
}

/* `in` of `consumed` bytes decoded to `m`. */
static void check_message(const uint8_t *in, size_t consumed,
                          const fr_moq_msg *m)
{
    fr_moq_msg again;
    fr_moq_error err;
    ssize_t n1, n2;

    n1 = fr_moq_msg_encode(g_enc1, sizeof(g_enc1), m);
    if (n1 <= 0)
        oracle_fail("a decoded message does not encode", m->type);
    if ((size_t)n1 > consumed)
        oracle_fail("re-encoding is longer than the input", m->type);
    if ((size_t)n1 == consumed && memcmp(g_enc1, in, consumed) != 0)
        oracle_fail("re-encoding of the same length differs", m->type);
    if (fr_moq_msg_encode(g_enc2, (size_t)n1 - 1, m) != FR_MOQ_NOBUF)
        oracle_fail("a short buffer is not FR_MOQ_NOBUF", m->type);
    if (fr_moq_msg_decode(g_enc1, (size_t)n1, &again, &err) != n1)
        oracle_fail("the re-encoding does not decode", m->type);
    if (fr_moq_msg_decode(g_enc1, (size_t)n1 - 1, &again, &err) !=
        FR_MOQ_NEED_MORE)
        oracle_fail("a truncated message is not FR_MOQ_NEED_MORE", m->type);
    n2 = fr_moq_msg_encode(g_enc2, sizeof(g_enc2), &again);
    if (n2 != n1 || memcmp(g_enc1, g_enc2, (size_t)n1) != 0)
        oracle_fail("decode(encode(m)) encodes differently", m->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size > 0) {
        fr_moq_msg m;
        fr_moq_error err = {0, NULL};
        ssize_t n = fr_moq_msg_decode(data, size, &m, &err);

        if (n == FR_MOQ_MALFORMED)
            check_error(&err);
        if (n <= 0)
            break;
        if ((size_t)n > size)
            oracle_fail("consumed more than the input", m.type);
        check_message(data, (size_t)n, &m);
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

#ifdef FR_FUZZ_SEED_MAIN
#include "fuzz_seed.h"

static fr_moq_bytes bytes(const char *s)
{
    fr_moq_bytes b = {(const uint8_t *)s, strlen(s)};
    return b;
}

static void set_ns(fr_moq_namespace *ns, const char *a, const char *b)
{
    ns->nfields = 0;
    ns->fields[ns->nfields++] = bytes(a);
    if (b)
        ns->fields[ns->nfields++] = bytes(b);
}

/* One token of each alias type: REGISTER, USE_ALIAS, USE_VALUE, DELETE. */
static const uint8_t g_tokens[4][6] = {{0x01, 0x01, 0x07, 's', 'e', 'c'},
                                       {0x02, 0x01},
                                       {0x03, 0x00, 'a', 'b'},
                                       {0x00, 0x01}};
static const size_t g_token_lens[4] = {6, 2, 4, 2};
static const uint8_t g_props[] = {0x04, 0x05, 0x3D, 0x02, 'h', 'i'};

static fr_moq_bytes token(int i)
{
    fr_moq_bytes b = {g_tokens[i], g_token_lens[i]};
    return b;
}

static void add_token(fr_moq_params *p)
{
    p->present |= FR_MOQ_P_AUTH_TOKEN;
    p->auth_tokens[p->nauth_tokens] = token((int)p->nauth_tokens);
    p->nauth_tokens++;
}

static void add_tokens(fr_moq_params *p)
{
    while (p->nauth_tokens < FR_MOQ_MAX_AUTH_TOKENS)
        add_token(p);
}

static fr_moq_bytes track_props(void)
{
    fr_moq_bytes b = {g_props, sizeof(g_props)};
    return b;
}

/* Fills seed number i; returns 0 past the last. */
static int make_seed(int i, fr_moq_msg *m)
{
    memset(m, 0, sizeof(*m));
    switch (i) {
    case 0:
        m->type = FR_MOQ_MSG_SETUP;
        m->u.setup.has_path = 1;
        m->u.setup.path = bytes("/live");
        m->u.setup.has_authority = 1;
        m->u.setup.authority = bytes("relay.example");
        m->u.setup.has_max_auth_token_cache_size = 1;
        m->u.setup.max_auth_token_cache_size = 1024;
        m->u.setup.has_implementation = 1;
        m->u.setup.implementation = bytes("libfastrelay");
        for (int t = 0; t < FR_MOQ_MAX_AUTH_TOKENS; t++)
            m->u.setup.auth_tokens[m->u.setup.nauth_tokens++] = token(t);
        return 1;
    case 1:
        m->type = FR_MOQ_MSG_GOAWAY;
        m->u.goaway.new_session_uri = bytes("moqt://b.example/");
        m->u.goaway.timeout = 1000;
        m->u.goaway.has_request_id = 1;
        m->u.goaway.request_id = 4;
        return 1;
    case 2:
    case 3:
        m->type = i == 2 ? FR_MOQ_MSG_SUBSCRIBE : FR_MOQ_MSG_TRACK_STATUS;
        m->u.subscribe.request_id = 2;
        set_ns(&m->u.subscribe.track.ns, "example.com", "room");
        m->u.subscribe.track.name = bytes("video");
        add_token(&m->u.subscribe.params);
        if (i == 3)
            return 1;
        m->u.subscribe.params.present |=
            FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_GROUP_ORDER |
            FR_MOQ_P_SUBSCRIPTION_FILTER | FR_MOQ_P_FORWARD |
            FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT | FR_MOQ_P_NEW_GROUP_REQUEST;
        m->u.subscribe.params.subscriber_priority = 10;
        m->u.subscribe.params.group_order = FR_MOQ_ORDER_ASCENDING;
        m->u.subscribe.params.filter.type = FR_MOQ_FILTER_ABSOLUTE_RANGE;
        m->u.subscribe.params.filter.start.group = 5;
        m->u.subscribe.params.filter.end_group = 9;
        m->u.subscribe.params.forward = 1;
        m->u.subscribe.params.object_delivery_timeout = 200;
        return 1;
    case 4:
        m->type = FR_MOQ_MSG_SUBSCRIBE_OK;
        m->u.subscribe_ok.track_alias = 3;
        m->u.subscribe_ok.params.present = FR_MOQ_P_LARGEST_OBJECT;
        m->u.subscribe_ok.params.largest_object.group = 7;
        m->u.subscribe_ok.track_properties = track_props();
        return 1;
    case 5:
        m->type = FR_MOQ_MSG_REQUEST_OK;
        m->u.request_ok.params.present = FR_MOQ_P_EXPIRES;
        m->u.request_ok.params.expires = 30000;
        m->u.request_ok.track_properties = track_props();
        return 1;
    case 6:
        m->type = FR_MOQ_MSG_REQUEST_ERROR;
        m->u.request_error.error_code = FR_MOQ_REQ_REDIRECT;
        m->u.request_error.reason = bytes("moved");
        m->u.request_error.has_redirect = 1;
        m->u.request_error.redirect_uri = bytes("moqt://c.example/");
        set_ns(&m->u.request_error.redirect_track.ns, "x", NULL);
        return 1;
    case 7:
        m->type = FR_MOQ_MSG_REQUEST_UPDATE;
        m->u.request_update.request_id = 6;
        m->u.request_update.params.present =
            FR_MOQ_P_TRACK_NAMESPACE_PREFIX | FR_MOQ_P_FORWARD;
        set_ns(&m->u.request_update.params.namespace_prefix, "a", "b");
        return 1;
    case 8:
        m->type = FR_MOQ_MSG_PUBLISH;
        m->u.publish.request_id = 1;
        set_ns(&m->u.publish.track.ns, "live", NULL);
        m->u.publish.track.name = bytes("cam");
        m->u.publish.track_alias = 1;
        m->u.publish.track_properties = track_props();
        return 1;
    case 9:
        m->type = FR_MOQ_MSG_PUBLISH_DONE;
        m->u.publish_done.status_code = 2;
        m->u.publish_done.stream_count = 12;
        m->u.publish_done.reason = bytes("done");
        return 1;
    case 10:
        m->type = FR_MOQ_MSG_FETCH;
        m->u.fetch.request_id = 8;
        m->u.fetch.fetch_type = FR_MOQ_FETCH_STANDALONE;
        set_ns(&m->u.fetch.track.ns, "vod", NULL);
        m->u.fetch.track.name = bytes("m");
        m->u.fetch.end.group = 4;
        m->u.fetch.params.present = FR_MOQ_P_FILL_TIMEOUT;
        return 1;
    case 11:
        m->type = FR_MOQ_MSG_FETCH;
        m->u.fetch.request_id = 10;
        m->u.fetch.fetch_type = FR_MOQ_FETCH_RELATIVE_JOINING;
        m->u.fetch.joining_request_id = 2;
        m->u.fetch.joining_start = 1;
        return 1;
    case 12:
        m->type = FR_MOQ_MSG_FETCH_OK;
        m->u.fetch_ok.end_of_track = 1;
        m->u.fetch_ok.end.group = 4;
        return 1;
    case 13:
    case 14:
    case 15:
        m->type = i == 13   ? FR_MOQ_MSG_PUBLISH_NAMESPACE
                  : i == 14 ? FR_MOQ_MSG_SUBSCRIBE_NAMESPACE
                            : FR_MOQ_MSG_SUBSCRIBE_TRACKS;
        m->u.ns_request.request_id = 12;
        set_ns(&m->u.ns_request.ns, "example.com", NULL);
        add_token(&m->u.ns_request.params);
        return 1;
    case 16:
    case 17:
    case 18:
        m->type = i == 16   ? FR_MOQ_MSG_NAMESPACE
                  : i == 17 ? FR_MOQ_MSG_NAMESPACE_DONE
                            : FR_MOQ_MSG_PUBLISH_BLOCKED;
        set_ns(&m->u.ns_suffix.suffix, "p1", NULL);
        if (i == 18)
            m->u.ns_suffix.name = bytes("t");
        return 1;
    case 19:
        m->type = FR_MOQ_MSG_PUBLISH_OK;
        m->u.request_ok.params.present = FR_MOQ_P_FORWARD |
                                         FR_MOQ_P_SUBSCRIBER_PRIORITY;
        m->u.request_ok.params.forward = 1;
        return 1;
    case 20:
    case 21:
    case 22:
        /* The other filter types, one each, with every token. */
        m->type = FR_MOQ_MSG_SUBSCRIBE;
        m->u.subscribe.request_id = 2;
        add_tokens(&m->u.subscribe.params);
        m->u.subscribe.params.present |= FR_MOQ_P_SUBSCRIPTION_FILTER |
                                         FR_MOQ_P_RENDEZVOUS_TIMEOUT |
                                         FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT;
        m->u.subscribe.params.filter.type = (uint64_t)(i - 19);
        m->u.subscribe.params.filter.start.object = 3;
        return 1;
    case 23:
        m->type = FR_MOQ_MSG_REQUEST_UPDATE;
        m->u.request_update.request_id = 2;
        add_tokens(&m->u.request_update.params);
        m->u.request_update.params.present |=
            FR_MOQ_P_OBJECT_DELIVERY_TIMEOUT |
            FR_MOQ_P_SUBGROUP_DELIVERY_TIMEOUT |
            FR_MOQ_P_SUBSCRIBER_PRIORITY | FR_MOQ_P_SUBSCRIPTION_FILTER |
            FR_MOQ_P_FORWARD | FR_MOQ_P_NEW_GROUP_REQUEST;
        m->u.request_update.params.filter.type = FR_MOQ_FILTER_LARGEST;
        return 1;
    case 24:
        m->type = FR_MOQ_MSG_PUBLISH;
        set_ns(&m->u.publish.track.ns, "a", "b");
        add_tokens(&m->u.publish.params);
        m->u.publish.params.present |= FR_MOQ_P_EXPIRES |
                                       FR_MOQ_P_LARGEST_OBJECT |
                                       FR_MOQ_P_FORWARD;
        return 1;
    case 25:
        m->type = FR_MOQ_MSG_REQUEST_ERROR;
        m->u.request_error.error_code = 0x10;
        m->u.request_error.retry_interval = 1000;
        m->u.request_error.reason = bytes("no such track");
        return 1;
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    static uint8_t all[1 << 16];
    size_t all_len = 0;
    fr_moq_msg m;
    int i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    for (i = 0; make_seed(i, &m); i++) {
        ssize_t n = fr_moq_msg_encode(g_enc1, sizeof(g_enc1), &m);

        if (n <= 0) {
            fprintf(stderr, "seed %d (%s) does not encode\n", i,
                    fr_moq_msg_name(m.type));
            return 1;
        }
        LLVMFuzzerTestOneInput(g_enc1, (size_t)n);
        fuzz_seed_write(argv[1], "seed", i, g_enc1, (size_t)n);
        memcpy(all + all_len, g_enc1, (size_t)n);
        all_len += (size_t)n;
    }
    /* One seed holding every message in a row, as on a stream. */
    LLVMFuzzerTestOneInput(all, all_len);
    fuzz_seed_write(argv[1], "seed", i, all, all_len);
    return 0;
}

#endif
