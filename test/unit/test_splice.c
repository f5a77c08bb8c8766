/* Unit tests of the splice layer: the packet-number map (wire numbers the
 * subscriber acknowledges, turned into ngtcp2's), QUIC varints and the
 * rewrite of a subscriber packet's ACK frames. */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

#include "../../lib/splice/ack_rewrite.h"
#include "../../lib/splice/pnmap.h"
#include "../../lib/quic/wire.h"
#include "../../lib/util/qvarint.h"

static void reg(fr_pnmap *m, uint64_t pkt, const uint64_t *wires, size_t n)
{
    assert_int_equal(fr_pnmap_register(m, pkt, wires, n, 0, 0, 0), 0);
}

static void ack(fr_pnmap *m, uint64_t first, uint64_t last)
{
    fr_pn_range r = {first, last};

    fr_pnmap_wire_acked(m, &r, 1, 0);
}

static void assert_range(const fr_pn_range *r, uint64_t first, uint64_t last)
{
    assert_int_equal(r->first, first);
    assert_int_equal(r->last, last);
}

static void test_one_wire_per_packet(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    assert_non_null(m);
    reg(m, 0, (uint64_t[]){10}, 1);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    ack(m, 10, 10);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 0, 0);
    /* Reported once: a repeated ACK adds nothing. */
    ack(m, 10, 10);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    fr_pnmap_del(m);
}

/* A packet carried by two wire packets is acknowledged with the second. */
static void test_packet_in_two_wires(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    reg(m, 1, (uint64_t[]){11, 13}, 2);
    ack(m, 11, 12);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    ack(m, 13, 13);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 1, 1);
    fr_pnmap_del(m);
}

/* The ACK overtook the registration: held, then applied. */
static void test_ack_before_registration(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    ack(m, 20, 21);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    reg(m, 2, (uint64_t[]){20}, 1);
    reg(m, 3, (uint64_t[]){21, 22}, 2);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 2, 2);
    ack(m, 22, 22);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 3, 3);
    fr_pnmap_del(m);
}

/* Ranges come largest first, merged, at most `max`; the rest waits. */
static void test_ranges_and_limit(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4], acked[] = {{30, 32}, {34, 35}, {37, 37}};

    (void)state;
    for (uint64_t p = 0; p < 8; p++)
        reg(m, 100 + p, (uint64_t[]){30 + p}, 1);
    fr_pnmap_wire_acked(m, acked, 3, 0);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2, 0), 2);
    assert_range(&out[0], 107, 107);
    assert_range(&out[1], 104, 105);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2, 0), 1);
    assert_range(&out[0], 100, 102);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2, 0), 0);
    fr_pnmap_del(m);
}

static void test_bad_registrations(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    uint64_t five[5] = {1, 2, 3, 4, 5};

    (void)state;
    assert_int_equal(fr_pnmap_register(m, 1, five, 0, 0, 0, 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 1, five, 5, 0, 0, 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 1, (uint64_t[]){7, 7}, 2, 0, 0, 0),
                     FR_ERR_INVALID_ARGUMENT);
    reg(m, 1, (uint64_t[]){7}, 1);
    /* The same ngtcp2 packet twice, or a wire number already used. */
    assert_int_equal(fr_pnmap_register(m, 1, (uint64_t[]){8}, 1, 0, 0, 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 2, (uint64_t[]){7}, 1, 0, 0, 0),
                     FR_ERR_INVALID_ARGUMENT);
    fr_pnmap_del(m);
}

/* Numbers behind the window are forgotten, not confused with newer ones
 * in the same slot; a bogus huge range costs a window's worth of work at
 * most and does not evict packets in flight. */
static void test_window(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];
    uint64_t old = 5, new_wire = 5 + FR_PNMAP_WINDOW;

    (void)state;
    reg(m, 1, &old, 1);
    reg(m, 2, &new_wire, 1);
    ack(m, old, old); /* behind the window now */
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    ack(m, 0, UINT64_C(1) << 40);
    ack(m, new_wire, new_wire);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 2, 2);
    fr_pnmap_del(m);
}

/* The map grows with the packets in flight: 400 of them, acknowledged
 * only once all are out (acknowledgements for some before they are
 * registered, too), all come back, and the map stops at the window. */
static void test_grows_with_flight(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];
    size_t small = fr_pnmap_slots(m);

    (void)state;
    assert_true(small < FR_PNMAP_WINDOW);
    ack(m, 1000 + 390, 1000 + 399); /* before their registration */
    for (uint64_t i = 0; i < 400; i++)
        reg(m, i, (uint64_t[]){1000 + i}, 1);
    assert_true(fr_pnmap_slots(m) >= 400);
    assert_true(fr_pnmap_slots(m) <= FR_PNMAP_WINDOW);
    ack(m, 1000, 1000 + 389);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 0, 399);
    fr_pnmap_del(m);
}

/* With few packets in flight the map stays small, also across losses:
 * 20000 packets, two in flight, every 100th never acknowledged (given up
 * once three later ones are); every other one comes back once. */
static void test_small_flight_stays_small(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    size_t small = fr_pnmap_slots(m);
    uint64_t back = 0;
    fr_pn_range out[8];

    (void)state;
    for (uint64_t i = 0; i < 20000; i++) {
        size_t n;

        reg(m, i, (uint64_t[]){5 + i}, 1);
        if (i > 0 && (i - 1) % 100 != 0)
            ack(m, 5 + i - 1, 5 + i - 1);
        n = fr_pnmap_take_acked(m, out, 8, 0);
        for (size_t r = 0; r < n; r++)
            back += out[r].last - out[r].first + 1;
    }
    assert_int_equal(fr_pnmap_slots(m), small);
    /* All but the last (never acknowledged) and the 200 lost; the last
     * three acknowledged ones wait behind the packet before them until
     * it is given up on. */
    assert_true(back >= 20000 - 1 - 200 - 3 && back <= 20000 - 1 - 200);
    fr_pnmap_del(m);
}

/* Registered late, a packet leads an ACK only once ngtcp2's RTT sample
 * from it comes out at least 3/4 of the true round trip; packets below it
 * go at once; it waits, or goes below a larger one. */
static void test_late_registration_waits(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];
    fr_pn_range r = {100, 102};

    (void)state;
    reg(m, 1, (uint64_t[]){100}, 1);
    /* Sent at 100 and 300, registered at 600; acknowledged at 1000:
     * round trips 900 and 700, may lead from 1000 + 500 - 225 = 1275 and
     * 1000 + 300 - 175 = 1125. */
    assert_int_equal(fr_pnmap_register(m, 2, (uint64_t[]){101}, 1, 0, 500, 600),
                     0);
    assert_int_equal(fr_pnmap_register(m, 3, (uint64_t[]){102}, 1, 0, 300, 600),
                     0);
    fr_pnmap_wire_acked(m, &r, 1, 1000);
    assert_int_equal(fr_pnmap_due(m), 1125);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 1000), 1);
    assert_range(&out[0], 1, 1);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 1124), 0);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 1125), 1);
    assert_range(&out[0], 2, 3);

    /* Acknowledged (at 2000) before it was registered (at 2100, sent at
     * 1700): round trip 300, may lead from 2000 + 400 - 75. */
    r = (fr_pn_range){103, 103};
    fr_pnmap_wire_acked(m, &r, 1, 2000);
    assert_int_equal(
        fr_pnmap_register(m, 4, (uint64_t[]){103}, 1, 0, 400, 2100), 0);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 2324), 0);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 2325), 1);
    assert_range(&out[0], 4, 4);

    /* A lag within a quarter of the round trip costs no wait. */
    r = (fr_pn_range){104, 104};
    assert_int_equal(
        fr_pnmap_register(m, 5, (uint64_t[]){104}, 1, 0, 100, 3000), 0);
    fr_pnmap_wire_acked(m, &r, 1, 3300);
    assert_int_equal(fr_pnmap_due(m), 3300);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 3300), 1);
    fr_pnmap_del(m);
}

/* The kernel sent wire 100; ngtcp2 then sent its packet 10 as wire 101;
 * the kernel's packet was registered afterwards as 11. Wire 100 acked
 * alone must not report 11 (ngtcp2 would take 10 for lost) until 101 is
 * acknowledged too, or overtaken by three wire numbers. */
static void test_registration_reorder(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    reg(m, 10, (uint64_t[]){101}, 1);
    reg(m, 11, (uint64_t[]){100}, 1);
    ack(m, 100, 100);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    ack(m, 101, 101);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 10, 11);

    /* Wire 201 never arrives; 204 overtakes it by three. */
    reg(m, 20, (uint64_t[]){201}, 1);
    reg(m, 21, (uint64_t[]){200}, 1);
    reg(m, 22, (uint64_t[]){202}, 1);
    reg(m, 23, (uint64_t[]){203}, 1);
    ack(m, 200, 200);
    ack(m, 202, 203);
    /* 22 and 23 left after 201 did: reported. 21 left before it: held. */
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 22, 23);
    reg(m, 24, (uint64_t[]){204}, 1);
    ack(m, 204, 204);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 2);
    assert_range(&out[0], 24, 24);
    assert_range(&out[1], 21, 21);
    fr_pnmap_del(m);
}

/* As above, but ngtcp2's packet 10 (wire 101) held only ACKs: ngtcp2
 * keeps no record of it and cannot declare it lost, and the subscriber
 * may not acknowledge it for its whole ACK delay. The kernel's packet is
 * reported at once; 10 follows when acknowledged. */
static void test_untracked_holds_none_back(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    reg(m, 10, (uint64_t[]){101}, 1);
    fr_pnmap_untracked(m, 10);
    reg(m, 11, (uint64_t[]){100}, 1);
    ack(m, 100, 100);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 11, 11);
    ack(m, 101, 101);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 10, 10);
    /* A number registered again later starts out tracked. */
    reg(m, 10 + FR_PNMAP_WINDOW, (uint64_t[]){101 + FR_PNMAP_WINDOW}, 1);
    reg(m, 11 + FR_PNMAP_WINDOW, (uint64_t[]){100 + FR_PNMAP_WINDOW}, 1);
    ack(m, 100 + FR_PNMAP_WINDOW, 100 + FR_PNMAP_WINDOW);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    fr_pnmap_del(m);
}

/* ngtcp2's packet 11 went out as the kernel's wire 100 and, for the ACK
 * frame ngtcp2 put in it, an ACK-only wire 101 that the subscriber need
 * not acknowledge for its whole ACK delay: 11 is complete with 100, and
 * 101 holds back neither it nor 12. */
static void test_ack_only_wire_not_awaited(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    fr_pn_range out[4];

    (void)state;
    assert_int_equal(
        fr_pnmap_register(m, 11, (uint64_t[]){100, 101}, 2, 1, 0, 0), 0);
    reg(m, 12, (uint64_t[]){102}, 1);
    ack(m, 100, 100);
    ack(m, 102, 102);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 1);
    assert_range(&out[0], 11, 12);
    ack(m, 101, 101);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4, 0), 0);
    /* At least one wire packet must be awaited. */
    assert_int_equal(
        fr_pnmap_register(m, 13, (uint64_t[]){103}, 1, 1, 0, 0),
        FR_ERR_INVALID_ARGUMENT);
    fr_pnmap_del(m);
}

/* Short headers: found behind coalesced long-header packets, read,
 * renumbered to four bytes with the payload moved. */
static void test_wire_header(void **state)
{
    /* Initial (no CIDs, no token, 2-byte payload), then a short packet
     * with an 8-byte DCID, key phase 1 and a 1-byte packet number. */
    uint8_t d[64] = {0xc0, 0, 0, 0, 1, 0, 0, 0, 2, 0xee, 0xee,
                     0x44, 1, 2, 3, 4, 5, 6, 7, 8, 0x05, 'a', 'b', 'c'};
    size_t len = 24;
    fr_short_hdr h;
    ssize_t at;

    (void)state;
    at = fr_wire_find_short(d, len);
    assert_int_equal(at, 11);
    assert_int_equal(fr_wire_parse_short(d + at, len - (size_t)at, 8, &h), 0);
    assert_int_equal(h.pn_off, 9);
    assert_int_equal(h.pn_len, 1);
    assert_int_equal(h.pn_trunc, 5);
    assert_int_equal(h.key_phase, 1);
    assert_int_equal(fr_wire_pn_decode(1, 0x103, h.pn_trunc, h.pn_len),
                     0x105);
    assert_int_equal(fr_wire_pn_decode(1, 0x1fe, 0x01, 1), 0x201);
    assert_int_equal(fr_wire_pn_decode(0, 0, 7, 1), 7);
    assert_int_equal(fr_wire_set_pn(d + at, len - (size_t)at, &h, 0x01020304),
                     len - (size_t)at + 3);
    assert_int_equal(d[at], 0x47);
    assert_memory_equal(d + at + 9, ((uint8_t[]){1, 2, 3, 4, 'a', 'b', 'c'}),
                        7);
    /* A long header cut short, a bare long packet, a long first byte. */
    assert_int_equal(fr_wire_find_short(d, 8), FR_ERR_PROTO);
    assert_int_equal(fr_wire_find_short(d, 11), FR_ERR_PROTO);
    assert_int_equal(fr_wire_parse_short(d, len, 8, &h), FR_ERR_PROTO);
}

static void test_qvarint(void **state)
{
    static const uint64_t values[] = {0,        63,        64,
                                      16383,    16384,     (1u << 30) - 1,
                                      1u << 30, FR_QVARINT_MAX};
    static const size_t lens[] = {1, 1, 2, 2, 4, 4, 8, 8};
    uint8_t buf[8];

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        size_t pos = 0, rpos = 0;
        uint64_t v;

        assert_int_equal(fr_qvarint_len(values[i]), lens[i]);
        assert_int_equal(fr_qvarint_put(buf, sizeof(buf), &pos, values[i]),
                         0);
        assert_int_equal(pos, lens[i]);
        assert_int_equal(fr_qvarint_get(buf, pos, &rpos, &v), 0);
        assert_int_equal(v, values[i]);
        assert_int_equal(rpos, pos);
        /* One byte short does not parse. */
        rpos = 0;
        assert_int_equal(fr_qvarint_get(buf, pos - 1, &rpos, &v),
                         FR_ERR_PROTO);
    }
    {
        size_t pos = 0;

        assert_int_equal(fr_qvarint_put(buf, sizeof(buf), &pos,
                                        FR_QVARINT_MAX + 1),
                         FR_ERR_NOBUF);
        pos = 7;
        assert_int_equal(fr_qvarint_put(buf, sizeof(buf), &pos, 64),
                         FR_ERR_NOBUF);
    }
}

/* Wire packets 100..103 carry ngtcp2 packets 0..3. */
static fr_pnmap *four_packets(void)
{
    fr_pnmap *m = fr_pnmap_new();

    assert_non_null(m);
    for (uint64_t p = 0; p < 4; p++)
        reg(m, p, (uint64_t[]){100 + p}, 1);
    return m;
}

static void test_ack_rewrite(void **state)
{
    /* ACK: largest 103, delay 5, one more range; first range 1 (102-103);
     * gap 0, length 0 (100). Then STREAM 0 "abc" and MAX_DATA 1000. */
    static const uint8_t in[] = {0x02, 0x40, 103, 5, 1, 1, 0, 0,
                                 0x0a, 0x00, 3,    'a', 'b', 'c',
                                 0x10, 0x43, 0xe8};
    /* ACK: largest 3, delay 5, first range 1 (2-3), gap 0, length 0 (0);
     * the other frames unchanged. */
    static const uint8_t want[] = {0x02, 3,    5,   1,   1,   0,
                                   0,    0x0a, 0x00, 3,   'a', 'b',
                                   'c',  0x10, 0x43, 0xe8};
    uint8_t out[sizeof(in) + FR_ACK_REWRITE_ROOM];
    fr_pnmap *m = four_packets();

    (void)state;
    assert_int_equal(fr_ack_rewrite(m, in, sizeof(in), out, sizeof(out), 0),
                     sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    fr_pnmap_del(m);
}

/* ACK_ECN becomes a plain ACK; a second ACK frame merges into the first;
 * an ACK of nothing registered leaves a PADDING frame. */
static void test_ack_rewrite_merge_and_empty(void **state)
{
    static const uint8_t two[] = {0x03, 0x40, 101, 0, 0, 1, 7, 8, 9, 0x01,
                                  0x02, 0x40, 103, 0, 0, 0};
    /* ngtcp2 packets 3 and 0-1: largest 3, first range 0, gap 0,
     * length 1; then the PING. */
    static const uint8_t want[] = {0x02, 3, 0, 1, 0, 0, 1, 0x01};
    static const uint8_t unknown[] = {0x02, 0x40, 200, 0, 0, 0};
    uint8_t out[sizeof(two) + FR_ACK_REWRITE_ROOM];
    fr_pnmap *m = four_packets();

    (void)state;
    assert_int_equal(fr_ack_rewrite(m, two, sizeof(two), out, sizeof(out), 0),
                     sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(fr_ack_rewrite(m, unknown, sizeof(unknown), out, sizeof(out), 0),
                     1);
    assert_int_equal(out[0], 0x00);
    /* Held: once wire 200 is registered, the next ACK reports it. */
    reg(m, 9, (uint64_t[]){200}, 1);
    assert_int_equal(fr_ack_rewrite(m, unknown, sizeof(unknown), out, sizeof(out), 0),
                     5);
    assert_memory_equal(out, ((uint8_t[]){0x02, 9, 0, 0, 0}), 5);
    fr_pnmap_del(m);
}

static void test_ack_rewrite_rejects(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[8];
        size_t len;
    } bad[] = {
        {"unknown frame type", {0x01, 0x21}, 2},
        {"truncated ACK", {0x02, 0x40}, 2},
        {"range below zero", {0x02, 5, 0, 1, 1, 7, 0}, 7},
        {"STREAM longer than the packet", {0x0a, 0x00, 9, 'a'}, 4},
    };
    uint8_t out[64 + FR_ACK_REWRITE_ROOM];
    fr_pnmap *m = four_packets();

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fr_ack_rewrite(m, bad[i].bytes, bad[i].len, out, sizeof(out), 0) !=
            FR_ERR_PROTO)
            fail_msg("accepted: %s", bad[i].what);
    }
    /* Too small an output buffer is refused up front. */
    assert_int_equal(fr_ack_rewrite(m, bad[0].bytes, 1, out, 1, 0),
                     FR_ERR_NOBUF);
    fr_pnmap_del(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_wire_per_packet),
        cmocka_unit_test(test_packet_in_two_wires),
        cmocka_unit_test(test_ack_before_registration),
        cmocka_unit_test(test_ranges_and_limit),
        cmocka_unit_test(test_bad_registrations),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_grows_with_flight),
        cmocka_unit_test(test_small_flight_stays_small),
        cmocka_unit_test(test_registration_reorder),
        cmocka_unit_test(test_untracked_holds_none_back),
        cmocka_unit_test(test_ack_only_wire_not_awaited),
        cmocka_unit_test(test_late_registration_waits),
        cmocka_unit_test(test_wire_header),
        cmocka_unit_test(test_qvarint),
        cmocka_unit_test(test_ack_rewrite),
        cmocka_unit_test(test_ack_rewrite_merge_and_empty),
        cmocka_unit_test(test_ack_rewrite_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
