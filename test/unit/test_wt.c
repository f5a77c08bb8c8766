/* Unit tests of the WebTransport layer: stream and datagram headers,
 * error codes in HTTP/3's space, the SETTINGS frame extended with
 * WebTransport's settings. */
#include "fr_test.h"

#include <string.h>

#include <fastrelay/fastrelay.h>

#include "../../lib/util/qvarint.h"
#include "../../lib/wt/wire.h"

/* Headers written are read back; read byte by byte, a header asks for
 * more until it is whole; another type or signal is HTTP/3's stream. */
static void test_stream_headers(void **state)
{
    static const uint64_t ids[] = {0, 4, 60, 16384, UINT64_C(1) << 40};
    uint8_t h[FR_WT_STREAM_HEADER_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (int bidi = 0; bidi < 2; bidi++) {
            size_t n = fr_wt_stream_header_write(h, bidi, ids[i]);
            uint64_t sid = 99;

            assert_true(n >= 2 && n <= FR_WT_STREAM_HEADER_MAX);
            for (size_t k = 0; k < n; k++)
                assert_int_equal(
                    fr_wt_stream_header_parse(h, k, bidi, &sid), 0);
            assert_int_equal(fr_wt_stream_header_parse(h, n, bidi, &sid),
                             (ssize_t)n);
            assert_int_equal(sid, ids[i]);
            /* A uni header is not a bidi one, and the reverse. */
            assert_int_equal(fr_wt_stream_header_parse(h, n, !bidi, &sid),
                             FR_ERR_PROTO);
        }
    }
}

/* HTTP/3's own streams: a control stream, a request's HEADERS frame. */
static void test_h3_streams(void **state)
{
    uint8_t h[1] = {FR_H3_CONTROL_STREAM};
    uint64_t sid;

    (void)state;
    assert_int_equal(fr_wt_stream_header_parse(h, 1, 0, &sid), FR_ERR_PROTO);
    h[0] = 0x01;
    assert_int_equal(fr_wt_stream_header_parse(h, 1, 1, &sid), FR_ERR_PROTO);
}

static void test_datagram_prefix(void **state)
{
    uint8_t d[8];
    size_t pos = 0;
    uint64_t sid;

    (void)state;
    assert_int_equal(fr_qvarint_put(d, sizeof(d), &pos, 12 / 4), 0);
    d[pos] = 0xaa;
    assert_int_equal(fr_wt_datagram_parse(d, pos + 1, &sid), (ssize_t)pos);
    assert_int_equal(sid, 12);
    assert_int_equal(fr_wt_datagram_parse(d, 0, &sid), FR_ERR_PROTO);
    d[0] = 0x40; /* a two-byte varint cut short */
    assert_int_equal(fr_wt_datagram_parse(d, 1, &sid), FR_ERR_PROTO);
}

/* A CLOSE_WEBTRANSPORT_SESSION capsule: its header read whole or not at
 * all, its code and message; too short a value or too long a message is
 * malformed. */
static void test_close_capsule(void **state)
{
    uint8_t d[16 + 4 + FR_WT_CLOSE_MESSAGE_MAX + 1];
    const uint8_t *msg;
    size_t pos = 0, h, msg_len;
    uint64_t type, vlen;
    uint32_t code;

    (void)state;
    assert_int_equal(fr_qvarint_put(d, sizeof(d), &pos,
                                    FR_WT_CAPSULE_CLOSE_SESSION), 0);
    assert_int_equal(fr_qvarint_put(d, sizeof(d), &pos, 4 + 3), 0);
    memcpy(d + pos, "\x00\x00\x01\x07" "bye", 7);
    for (size_t k = 0; k < pos; k++)
        assert_int_equal(fr_wt_capsule_header(d, k, &type, &vlen), 0);
    h = fr_wt_capsule_header(d, pos + 7, &type, &vlen);
    assert_int_equal(h, pos);
    assert_int_equal(type, FR_WT_CAPSULE_CLOSE_SESSION);
    assert_int_equal(vlen, 7);
    assert_int_equal(fr_wt_close_session_parse(d + h, 7, &code, &msg,
                                               &msg_len), 0);
    assert_int_equal(code, 0x107);
    assert_int_equal(msg_len, 3);
    assert_memory_equal(msg, "bye", 3);
    assert_int_equal(fr_wt_close_session_parse(d + h, 3, &code, &msg,
                                               &msg_len), FR_ERR_PROTO);
    memset(d, 'x', sizeof(d));
    assert_int_equal(fr_wt_close_session_parse(d, 4 + FR_WT_CLOSE_MESSAGE_MAX,
                                               &code, &msg, &msg_len), 0);
    assert_int_equal(fr_wt_close_session_parse(
                         d, 4 + FR_WT_CLOSE_MESSAGE_MAX + 1, &code, &msg,
                         &msg_len),
                     FR_ERR_PROTO);
}

/* Codes map both ways, skip HTTP/3's reserved points, and codes outside
 * the range are not WebTransport's. */
static void test_error_codes(void **state)
{
    static const uint32_t codes[] = {0, 1, 0x1d, 0x1e, 0x1f, 0x3c, 0xff,
                                     0x10000, UINT32_MAX};
    uint32_t back;

    (void)state;
    assert_int_equal(fr_wt_code_to_h3(0), UINT64_C(0x52e4a40fa8db));
    assert_int_equal(fr_wt_code_to_h3(UINT32_MAX), UINT64_C(0x52e5ac983162));
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        uint64_t h3 = fr_wt_code_to_h3(codes[i]);

        /* Never a reserved point (0x1f * N + 0x21). */
        assert_int_not_equal((h3 - 0x21) % 0x1f, 0);
        assert_int_equal(fr_wt_code_from_h3(h3, &back), 0);
        assert_int_equal(back, codes[i]);
    }
    /* 0x1d and 0x1e sit two apart: the point between is reserved. */
    assert_int_equal(fr_wt_code_to_h3(0x1e) - fr_wt_code_to_h3(0x1d), 2);
    assert_int_equal(fr_wt_code_from_h3(fr_wt_code_to_h3(0x1d) + 1, &back),
                     FR_ERR_PROTO);
    assert_int_equal(fr_wt_code_from_h3(0x0100, &back), FR_ERR_PROTO);
    assert_int_equal(fr_wt_code_from_h3(UINT64_C(0x52e5ac983163), &back),
                     FR_ERR_PROTO);
}

/* Builds a control stream's start: type, SETTINGS with `n` pairs, then
 * `tail` bytes of a next frame. */
static size_t control_start(uint8_t *b, size_t cap, const uint64_t (*s)[2],
                            size_t n, size_t tail)
{
    uint8_t payload[64];
    size_t pos = 0, plen = 0;

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fr_qvarint_put(payload, sizeof(payload), &plen,
                                        s[i][0]),
                         0);
        assert_int_equal(fr_qvarint_put(payload, sizeof(payload), &plen,
                                        s[i][1]),
                         0);
    }
    assert_int_equal(fr_qvarint_put(b, cap, &pos, FR_H3_CONTROL_STREAM), 0);
    assert_int_equal(fr_qvarint_put(b, cap, &pos, FR_H3_FRAME_SETTINGS), 0);
    assert_int_equal(fr_qvarint_put(b, cap, &pos, plen), 0);
    memcpy(b + pos, payload, plen);
    pos += plen;
    memset(b + pos, 0x77, tail);
    return pos + tail;
}

/* Reads a SETTINGS frame's pairs after the stream type. */
static size_t read_settings(const uint8_t *b, size_t len, uint64_t (*s)[2],
                            size_t max)
{
    size_t pos = 0, n = 0, end;
    uint64_t type, frame, flen;

    assert_int_equal(fr_qvarint_get(b, len, &pos, &type), 0);
    assert_int_equal(type, FR_H3_CONTROL_STREAM);
    assert_int_equal(fr_qvarint_get(b, len, &pos, &frame), 0);
    assert_int_equal(frame, FR_H3_FRAME_SETTINGS);
    assert_int_equal(fr_qvarint_get(b, len, &pos, &flen), 0);
    end = pos + flen;
    assert_true(end == len);
    while (pos < end) {
        assert_true(n < max);
        assert_int_equal(fr_qvarint_get(b, end, &pos, &s[n][0]), 0);
        assert_int_equal(fr_qvarint_get(b, end, &pos, &s[n][1]), 0);
        n++;
    }
    return n;
}

/* The settings are appended once, a setting already there is not
 * repeated, the frame's length follows, and bytes after the frame are
 * left to the caller; a partial frame asks for more. */
static void test_settings_extend(void **state)
{
    static const uint64_t theirs[][2] = {
        {0x01, 4096}, {FR_H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1},
        {FR_H3_SETTING_H3_DATAGRAM, 1}};
    static const uint64_t add[][2] = {
        {FR_H3_SETTING_ENABLE_WEBTRANSPORT, 1},
        {FR_H3_SETTING_WT_MAX_SESSIONS, 1},
        {FR_H3_SETTING_H3_DATAGRAM, 1}};
    uint8_t in[128], out[128];
    uint64_t got[8][2];
    size_t len = control_start(in, sizeof(in), theirs, 3, 5), used = 0, n;
    ssize_t w;

    (void)state;
    for (size_t k = 0; k < len - 5; k++)
        assert_int_equal(
            fr_h3_settings_extend(in, k, add, 3, out, sizeof(out), &used), 0);
    w = fr_h3_settings_extend(in, len, add, 3, out, sizeof(out), &used);
    assert_true(w > 0);
    assert_int_equal(used, len - 5);
    n = read_settings(out, (size_t)w, got, 8);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(got[i][0], theirs[i][0]);
        assert_int_equal(got[i][1], theirs[i][1]);
    }
    assert_int_equal(got[3][0], FR_H3_SETTING_ENABLE_WEBTRANSPORT);
    assert_int_equal(got[4][0], FR_H3_SETTING_WT_MAX_SESSIONS);
    assert_int_equal(fr_h3_settings_extend(in, len, add, 3, out, 8, &used),
                     FR_ERR_NOBUF);
    in[0] = 0x02; /* a QPACK encoder stream */
    assert_int_equal(
        fr_h3_settings_extend(in, len, add, 3, out, sizeof(out), &used),
        FR_ERR_PROTO);
}

/* The server's preference decides among the protocols both name;
 * parameters and whitespace are skipped; a list that is not a list of
 * strings is refused. */
static void test_protocols(void **state)
{
    static const char *const ours[] = {"moqt-19", "moqt-18"};
    const char *v;
    char name[FR_WT_PROTOCOL_MAX + 1];

    (void)state;
#define PICK(s) fr_wt_protocol_pick((s), strlen(s), ours, 2)
    assert_int_equal(PICK("\"moqt-18\", \"moqt-19\""), 0);
    assert_int_equal(PICK("\"moq-lite-05\",\"moqt-18\";q=1, \"x\""), 1);
    assert_int_equal(PICK("\"moqt-18\";a=\"b,c\", \"moqt-17\""), 1);
    assert_int_equal(PICK("\"moqt-17\""), -1);
    assert_int_equal(PICK(""), -1);
    assert_int_equal(PICK("moqt-18"), FR_ERR_PROTO);
    assert_int_equal(PICK("\"moqt-18"), FR_ERR_PROTO);
    assert_int_equal(PICK("\"moqt-18\","), FR_ERR_PROTO);
    assert_int_equal(
        PICK("\"a-name-longer-than-thirty-two-bytes-is-refused\""),
        FR_ERR_PROTO);
#undef PICK
    v = "\"moqt-18\"";
    assert_int_equal(fr_wt_protocol_parse(v, strlen(v), name, sizeof(name)),
                     0);
    assert_string_equal(name, "moqt-18");
    v = "\"q\\\"x\";p=1";
    assert_int_equal(fr_wt_protocol_parse(v, strlen(v), name, sizeof(name)),
                     0);
    assert_string_equal(name, "q\"x");
    v = "moqt-18";
    assert_int_equal(fr_wt_protocol_parse(v, strlen(v), name, sizeof(name)),
                     FR_ERR_PROTO);
}

/* A peer's SETTINGS, read as they arrive: what they say about CONNECT
 * and WebTransport; a stream that is not a control stream or a
 * frame cut inside a pair is refused. */
static void test_settings_scan(void **state)
{
    static const uint64_t server[][2] = {
        {0x06, 16384}, {FR_H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1},
        {FR_H3_SETTING_H3_DATAGRAM, 1},
        {FR_H3_SETTING_ENABLE_WEBTRANSPORT, 1}};
    static const uint64_t plain[][2] = {{0x01, 0}, {0x07, 0}};
    uint8_t b[128];
    size_t len = control_start(b, sizeof(b), server, 4, 3);
    fr_h3_peer_settings ps;

    (void)state;
    for (size_t k = 0; k < len - 3; k++)
        assert_int_equal(fr_h3_settings_scan(b, k, &ps), 0);
    assert_int_equal(fr_h3_settings_scan(b, len, &ps), 1);
    assert_true(ps.connect_protocol);
    assert_true(ps.webtransport);
    len = control_start(b, sizeof(b), plain, 2, 0);
    assert_int_equal(fr_h3_settings_scan(b, len, &ps), 1);
    assert_false(ps.connect_protocol || ps.webtransport);
    b[3] = 0x40; /* the first pair's identifier now a varint of two bytes */
    assert_int_equal(fr_h3_settings_scan(b, len, &ps), FR_ERR_PROTO);
    b[0] = 0x03; /* a QPACK decoder stream */
    assert_int_equal(fr_h3_settings_scan(b, len, &ps), FR_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_headers),
        cmocka_unit_test(test_h3_streams),
        cmocka_unit_test(test_datagram_prefix),
        cmocka_unit_test(test_close_capsule),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_settings_extend),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_settings_scan),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
