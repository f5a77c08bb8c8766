/* Unit tests of the splice layer's packet-number map: wire numbers the
 * subscriber acknowledges, turned into ngtcp2's numbers. */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

#include "../../lib/splice/pnmap.h"

static void reg(fr_pnmap *m, uint64_t pkt, const uint64_t *wires, size_t n)
{
    assert_int_equal(fr_pnmap_register(m, pkt, wires, n), 0);
}

static void ack(fr_pnmap *m, uint64_t first, uint64_t last)
{
    fr_pn_range r = {first, last};

    fr_pnmap_wire_acked(m, &r, 1);
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
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 0);
    ack(m, 10, 10);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 1);
    assert_range(&out[0], 0, 0);
    /* Reported once: a repeated ACK adds nothing. */
    ack(m, 10, 10);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 0);
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
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 0);
    ack(m, 13, 13);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 1);
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
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 0);
    reg(m, 2, (uint64_t[]){20}, 1);
    reg(m, 3, (uint64_t[]){21, 22}, 2);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 1);
    assert_range(&out[0], 2, 2);
    ack(m, 22, 22);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 1);
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
    fr_pnmap_wire_acked(m, acked, 3);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2), 2);
    assert_range(&out[0], 107, 107);
    assert_range(&out[1], 104, 105);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2), 1);
    assert_range(&out[0], 100, 102);
    assert_int_equal(fr_pnmap_take_acked(m, out, 2), 0);
    fr_pnmap_del(m);
}

static void test_bad_registrations(void **state)
{
    fr_pnmap *m = fr_pnmap_new();
    uint64_t five[5] = {1, 2, 3, 4, 5};

    (void)state;
    assert_int_equal(fr_pnmap_register(m, 1, five, 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 1, five, 5),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 1, (uint64_t[]){7, 7}, 2),
                     FR_ERR_INVALID_ARGUMENT);
    reg(m, 1, (uint64_t[]){7}, 1);
    /* The same ngtcp2 packet twice, or a wire number already used. */
    assert_int_equal(fr_pnmap_register(m, 1, (uint64_t[]){8}, 1),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_pnmap_register(m, 2, (uint64_t[]){7}, 1),
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
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 0);
    ack(m, 0, UINT64_C(1) << 40);
    ack(m, new_wire, new_wire);
    assert_int_equal(fr_pnmap_take_acked(m, out, 4), 1);
    assert_range(&out[0], 2, 2);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
