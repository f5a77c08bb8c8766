/*
 * libFuzzer target: MoQT data streams and datagrams (draft 18).
 *
 * The first input byte picks what the rest is: a subgroup stream (header,
 * then objects with their payloads), a fetch stream (header, then objects
 * and End of Range markers; bit 0x10 picks Descending group order), one
 * datagram, or one authorization token. Every decoded item must re-encode
 * (after the same prior object, for fetch streams), never longer than its
 * input, byte for byte the same when the length matches, and decode again
 * to the same fields. Padding datagrams are the exception to "the same
 * bytes": their content is discarded and re-encoded as zeros.
 *
 * Built with -DFR_FUZZ_SEED_MAIN it is instead a program that writes a seed
 * corpus of valid streams and datagrams into the directory given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/moq/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MODE_SUBGROUP, MODE_FETCH, MODE_DATAGRAM, MODE_TOKEN, NMODES };

#define ORDER_BIT 0x10

static uint8_t g_enc[1 << 17];

static void oracle_fail(const char *what)
{
    fprintf(stderr, "oracle failure: %s\n", what);
    abort();
}

static void check_error(ssize_t rc, const fr_moq_error *err)
{
    if (rc != FR_MOQ_MALFORMED)
        return;
    if (!err->reason || (err->code != FR_MOQ_PROTOCOL_VIOLATION &&
                         err->code != FR_MOQ_KEY_VALUE_FORMATTING_ERROR))
        oracle_fail("rejection without a reason or with an odd code");
}

/* The re-encoding `enc` of n bytes against the `consumed` input bytes. */
static void check_reencoding(const uint8_t *in, size_t consumed,
                             ssize_t n, int same_bytes)
{
    if (n <= 0)
        oracle_fail("a decoded item does not encode");
    if ((size_t)n > consumed)
        oracle_fail("re-encoding is longer than the input");
    if (same_bytes && (size_t)n == consumed && memcmp(g_enc, in, consumed))
        oracle_fail("re-encoding of the same length differs");
}

static int bytes_eq(fr_moq_bytes a, fr_moq_bytes b)
{
    return a.len == b.len && (a.len == 0 || !memcmp(a.base, b.base, a.len));
}

/*
 * Subgroup streams.
 */

static size_t subgroup_header(const uint8_t *in, size_t len,
                              fr_moq_subgroup_header *h)
{
    fr_moq_subgroup_header again;
    fr_moq_error err = {0, NULL};
    ssize_t rc = fr_moq_subgroup_header_decode(in, len, h, &err), n;

    check_error(rc, &err);
    if (rc <= 0)
        return 0;
    n = fr_moq_subgroup_header_encode(g_enc, sizeof(g_enc), h);
    check_reencoding(in, (size_t)rc, n, 1);
    if (fr_moq_subgroup_header_decode(g_enc, (size_t)n, &again, &err) != n ||
        again.type != h->type || again.track_alias != h->track_alias ||
        again.group != h->group || again.subgroup != h->subgroup ||
        again.has_priority != h->has_priority ||
        again.publisher_priority != h->publisher_priority)
        oracle_fail("subgroup header changes on a round trip");
    if (fr_moq_subgroup_header_decode(g_enc, (size_t)n - 1, &again, &err) !=
        FR_MOQ_NEED_MORE)
        oracle_fail("a truncated subgroup header is not NEED_MORE");
    return (size_t)rc;
}

/* Decodes one object; returns the bytes it takes with its payload, or 0. */
static size_t subgroup_object(const uint8_t *in, size_t len, uint64_t type,
                              fr_moq_object_header *o)
{
    fr_moq_object_header again;
    fr_moq_error err = {0, NULL};
    ssize_t rc = fr_moq_subgroup_object_decode(in, len, type, o, &err), n;
    size_t left;

    check_error(rc, &err);
    if (rc <= 0)
        return 0;
    n = fr_moq_subgroup_object_encode(g_enc, sizeof(g_enc), type, o);
    check_reencoding(in, (size_t)rc, n, 1);
    if (fr_moq_subgroup_object_decode(g_enc, (size_t)n, type, &again, &err) !=
            n ||
        again.id_delta != o->id_delta || again.payload_len != o->payload_len ||
        again.status != o->status || !bytes_eq(again.properties, o->properties))
        oracle_fail("subgroup object changes on a round trip");
    left = len - (size_t)rc;
    if (o->payload_len > left)
        return 0;
    return (size_t)rc + (size_t)o->payload_len;
}

static void fuzz_subgroup(const uint8_t *in, size_t len)
{
    fr_moq_subgroup_header h;
    fr_moq_object_header o;
    fr_moq_error err;
    uint64_t id = 0;
    size_t n = subgroup_header(in, len, &h);

    for (int first = 1; n > 0; first = 0) {
        in += n;
        len -= n;
        n = subgroup_object(in, len, h.type, &o);
        if (n > 0 &&
            fr_moq_subgroup_object_id(first ? NULL : &id, o.id_delta, &id,
                                      &err) != 0)
            break;
    }
}

/*
 * Fetch streams.
 */

static void fetch_objects_equal(const fr_moq_fetch_object *a,
                                const fr_moq_fetch_object *b)
{
    if (a->flags != b->flags || a->loc.group != b->loc.group ||
        a->loc.object != b->loc.object || a->subgroup != b->subgroup ||
        a->publisher_priority != b->publisher_priority ||
        a->is_datagram != b->is_datagram ||
        a->end_of_range != b->end_of_range ||
        a->no_prior_object != b->no_prior_object ||
        a->payload_len != b->payload_len ||
        !bytes_eq(a->properties, b->properties))
        oracle_fail("fetch object changes on a round trip");
}

/* The shortest flags describe the same object in no more bytes. */
static void check_shortest_flags(uint8_t order,
                                 const fr_moq_fetch_object *prev,
                                 const fr_moq_fetch_object *o, ssize_t n)
{
    fr_moq_fetch_object shortest = *o, again;
    fr_moq_error err;
    ssize_t m;

    shortest.flags = fr_moq_fetch_object_flags(order, prev, o);
    if (shortest.flags == UINT64_MAX)
        return; /* the stream went backwards; valid on the wire */
    m = fr_moq_fetch_object_encode_ordered(g_enc, sizeof(g_enc), order, prev,
                                           &shortest);
    if (m <= 0 || m > n)
        oracle_fail("the shortest flags do not encode shorter");
    if (fr_moq_fetch_object_decode_ordered(g_enc, (size_t)m, order, prev,
                                           &again, &err) != m)
        oracle_fail("the shortest flags do not decode");
    fetch_objects_equal(&shortest, &again);
}

static size_t fetch_object(const uint8_t *in, size_t len, uint8_t order,
                           const fr_moq_fetch_object *prev,
                           fr_moq_fetch_object *o)
{
    fr_moq_fetch_object again;
    fr_moq_error err = {0, NULL};
    ssize_t rc, n;

    rc = fr_moq_fetch_object_decode_ordered(in, len, order, prev, o, &err);
    check_error(rc, &err);
    if (rc <= 0)
        return 0;
    n = fr_moq_fetch_object_encode_ordered(g_enc, sizeof(g_enc), order, prev,
                                           o);
    check_reencoding(in, (size_t)rc, n, 1);
    if (fr_moq_fetch_object_decode_ordered(g_enc, (size_t)n, order, prev,
                                           &again, &err) != n)
        oracle_fail("a re-encoded fetch object does not decode");
    fetch_objects_equal(o, &again);
    if (fr_moq_fetch_object_decode_ordered(g_enc, (size_t)n - 1, order, prev,
                                           &again, &err) != FR_MOQ_NEED_MORE)
        oracle_fail("a truncated fetch object is not NEED_MORE");
    if (!o->end_of_range)
        check_shortest_flags(order, prev, o, n);
    if (o->payload_len > len - (size_t)rc)
        return 0;
    return (size_t)rc + (size_t)o->payload_len;
}

static void fuzz_fetch(const uint8_t *in, size_t len, uint8_t order)
{
    fr_moq_fetch_object objs[2];
    const fr_moq_fetch_object *prev = NULL;
    fr_moq_error err = {0, NULL};
    uint64_t request_id;
    ssize_t rc = fr_moq_fetch_header_decode(in, len, &request_id, &err);
    size_t n;
    int cur = 0;

    check_error(rc, &err);
    if (rc <= 0)
        return;
    if (fr_moq_fetch_header_encode(g_enc, sizeof(g_enc), request_id) > rc)
        oracle_fail("fetch header re-encoding is longer");
    for (n = (size_t)rc; n > 0; cur ^= 1) {
        in += n;
        len -= n;
        n = fetch_object(in, len, order, prev, &objs[cur]);
        prev = &objs[cur];
    }
}

/*
 * Datagrams and tokens.
 */

static void fuzz_datagram(const uint8_t *in, size_t len)
{
    fr_moq_datagram d, again;
    fr_moq_error err = {0, NULL};
    ssize_t rc = fr_moq_datagram_decode(in, len, &d, &err), n;

    check_error(rc, &err);
    if (rc == FR_MOQ_NEED_MORE)
        oracle_fail("a datagram decode asked for more");
    if (rc < 0)
        return;
    if ((size_t)rc != len)
        oracle_fail("a datagram was not consumed whole");
    n = fr_moq_datagram_encode(g_enc, sizeof(g_enc), &d);
    check_reencoding(in, len, n, d.type != FR_MOQ_DATAGRAM_PADDING);
    if (fr_moq_datagram_decode(g_enc, (size_t)n, &again, &err) != n ||
        again.type != d.type || again.track_alias != d.track_alias ||
        again.loc.group != d.loc.group || again.loc.object != d.loc.object ||
        again.has_priority != d.has_priority ||
        again.publisher_priority != d.publisher_priority ||
        again.has_status != d.has_status || again.status != d.status ||
        !bytes_eq(again.properties, d.properties) ||
        again.payload.len != d.payload.len ||
        (d.type != FR_MOQ_DATAGRAM_PADDING &&
         !bytes_eq(again.payload, d.payload)))
        oracle_fail("datagram changes on a round trip");
}

static void fuzz_token(const uint8_t *in, size_t len)
{
    fr_moq_bytes raw = {in, len};
    fr_moq_token t;
    fr_moq_error err = {0, NULL};
    ssize_t n;

    if (fr_moq_token_decode(raw, &t, &err) != 0) {
        if (err.code != FR_MOQ_KEY_VALUE_FORMATTING_ERROR)
            oracle_fail("a malformed token is not KEY_VALUE_FORMATTING_ERROR");
        return;
    }
    n = fr_moq_token_encode(g_enc, sizeof(g_enc), &t);
    check_reencoding(in, len, n, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel;

    if (size == 0)
        return 0;
    sel = data[0];
    data++;
    size--;
    switch ((sel & 0x0F) % NMODES) {
    case MODE_SUBGROUP:
        fuzz_subgroup(data, size);
        break;
    case MODE_FETCH:
        fuzz_fetch(data, size,
                   (sel & ORDER_BIT) ? FR_MOQ_ORDER_DESCENDING
                                     : FR_MOQ_ORDER_ASCENDING);
        break;
    case MODE_DATAGRAM:
        fuzz_datagram(data, size);
        break;
    default:
        fuzz_token(data, size);
        break;
    }
    return 0;
}

#ifdef FR_FUZZ_SEED_MAIN
#include "fuzz_seed.h"

static uint8_t g_seed[4096];
static size_t g_seed_len;
static int g_nseeds;
static const char *g_dir;

static const uint8_t g_props[] = {0x04, 0x05, 0x3D, 0x02, 'h', 'i'};

static void seed_put(const void *p, size_t n)
{
    memcpy(g_seed + g_seed_len, p, n);
    g_seed_len += n;
}

static void seed_put_encoded(ssize_t n)
{
    if (n <= 0) {
        fprintf(stderr, "seed %d: an item does not encode\n", g_nseeds);
        exit(1);
    }
    seed_put(g_enc, (size_t)n);
}

static void seed_begin(uint8_t selector)
{
    g_seed_len = 0;
    seed_put(&selector, 1);
}

static void seed_end(void)
{
    LLVMFuzzerTestOneInput(g_seed, g_seed_len);
    fuzz_seed_write(g_dir, "seed", g_nseeds++, g_seed, g_seed_len);
}

static void seed_subgroup(uint64_t type)
{
    fr_moq_subgroup_header h = {type, 2, 40, 0, 0, 0};
    fr_moq_object_header o;

    h.subgroup = (type & FR_MOQ_SG_ID_MODE_MASK) == 4 ? 3 : 0;
    h.has_priority = !(type & FR_MOQ_SG_DEFAULT_PRIORITY);
    h.publisher_priority = h.has_priority ? 64 : 0;
    seed_begin(MODE_SUBGROUP);
    seed_put_encoded(fr_moq_subgroup_header_encode(g_enc, sizeof(g_enc), &h));
    memset(&o, 0, sizeof(o));
    o.payload_len = 4;
    if (type & FR_MOQ_SG_PROPERTIES) {
        o.properties.base = g_props;
        o.properties.len = sizeof(g_props);
    }
    seed_put_encoded(fr_moq_subgroup_object_encode(g_enc, sizeof(g_enc), type,
                                                   &o));
    seed_put("abcd", 4);
    memset(&o, 0, sizeof(o));
    o.id_delta = 1;
    o.status = FR_MOQ_OBJ_END_OF_GROUP;
    seed_put_encoded(fr_moq_subgroup_object_encode(g_enc, sizeof(g_enc), type,
                                                   &o));
    seed_end();
}

static void seed_fetch_object(uint8_t order, const fr_moq_fetch_object *prev,
                              fr_moq_fetch_object *o)
{
    if (!o->end_of_range)
        o->flags = fr_moq_fetch_object_flags(order, prev, o);
    seed_put_encoded(fr_moq_fetch_object_encode_ordered(
        g_enc, sizeof(g_enc), order, prev, o));
    memset(g_seed + g_seed_len, 'p', (size_t)o->payload_len);
    g_seed_len += (size_t)o->payload_len;
}

static void seed_fetch(uint8_t order)
{
    int desc = order == FR_MOQ_ORDER_DESCENDING;
    fr_moq_fetch_object o[5];

    memset(o, 0, sizeof(o));
    o[0].loc = (fr_moq_location){desc ? 9 : 1, 0};
    o[0].publisher_priority = 3;
    o[0].subgroup = 1;
    o[0].payload_len = 3;
    o[1].loc = (fr_moq_location){desc ? 9 : 1, 1};
    o[1].publisher_priority = 3;
    o[1].subgroup = 2;
    o[1].properties.base = g_props;
    o[1].properties.len = sizeof(g_props);
    o[1].payload_len = 2;
    fr_moq_fetch_end_of_range(&o[2], &o[1],
                              FR_MOQ_FETCH_END_OF_NONEXISTENT_RANGE,
                              (fr_moq_location){desc ? 7 : 3, 5});
    o[3].loc = (fr_moq_location){desc ? 7 : 3, 6};
    o[3].publisher_priority = 3;
    o[3].subgroup = 2;
    o[3].payload_len = 1;
    o[4].loc = (fr_moq_location){desc ? 2 : 8, 0};
    o[4].is_datagram = 1;
    o[4].payload_len = 1;
    seed_begin(MODE_FETCH | (desc ? ORDER_BIT : 0));
    seed_put_encoded(fr_moq_fetch_header_encode(g_enc, sizeof(g_enc), 5));
    for (int i = 0; i < 5; i++)
        seed_fetch_object(order, i ? &o[i - 1] : NULL, &o[i]);
    seed_end();
}

static void seed_datagram(uint64_t type)
{
    fr_moq_datagram d;

    memset(&d, 0, sizeof(d));
    d.type = type;
    d.track_alias = 1;
    d.loc.group = 10;
    d.loc.object = (type & FR_MOQ_DG_ZERO_OBJECT_ID) ? 0 : 4;
    d.has_priority = !(type & FR_MOQ_DG_DEFAULT_PRIORITY);
    if (type & FR_MOQ_DG_PROPERTIES) {
        d.properties.base = g_props;
        d.properties.len = sizeof(g_props);
    }
    d.has_status = !!(type & FR_MOQ_DG_STATUS);
    if (d.has_status) {
        d.status = (type & FR_MOQ_DG_PROPERTIES) ? FR_MOQ_OBJ_NORMAL
                                                 : FR_MOQ_OBJ_END_OF_TRACK;
    } else {
        d.payload.base = (const uint8_t *)"data";
        d.payload.len = 4;
    }
    seed_begin(MODE_DATAGRAM);
    seed_put_encoded(fr_moq_datagram_encode(g_enc, sizeof(g_enc), &d));
    seed_end();
}

int main(int argc, char **argv)
{
    static const uint64_t sg_types[] = {0x10, 0x14, 0x13, 0x35, 0x7D, 0x5A};
    static const uint64_t dg_types[] = {0x00, 0x0F, 0x01, 0x20, 0x2D,
                                        FR_MOQ_DATAGRAM_PADDING};
    fr_moq_token t = {FR_MOQ_TOKEN_REGISTER, 9, 1, {(const uint8_t *)"v", 1}};

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];
    for (size_t i = 0; i < sizeof(sg_types) / sizeof(sg_types[0]); i++)
        seed_subgroup(sg_types[i]);
    seed_fetch(FR_MOQ_ORDER_ASCENDING);
    seed_fetch(FR_MOQ_ORDER_DESCENDING);
    for (size_t i = 0; i < sizeof(dg_types) / sizeof(dg_types[0]); i++)
        seed_datagram(dg_types[i]);
    seed_begin(MODE_TOKEN);
    seed_put_encoded(fr_moq_token_encode(g_enc, sizeof(g_enc), &t));
    seed_end();
    return 0;
}

#endif
