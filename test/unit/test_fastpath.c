/* Unit tests of lib/fastpath that need no kernel: the default priority
 * policy (fr_fastpath_default_priority_floor), which subscribers it counts
 * as behind and so gives key frames only. */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

/* A subscriber on a 1 ms path with a 30 kB window (30 MB/s): two seconds
 * at that rate are 60 MB. */
static fr_fastpath_subscriber joiner(uint64_t delivery_rate, uint64_t queued)
{
    return (fr_fastpath_subscriber){
        .smoothed_rtt = FR_MILLISECONDS,
        .min_rtt = FR_MILLISECONDS,
        .cwnd = 30000,
        .delivery_rate = delivery_rate,
        .queued = queued,
    };
}

static void test_unmeasured_gets_everything(void **state)
{
    fr_fastpath_subscriber s = joiner(0, 100000000);

    (void)state;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), UINT8_MAX);
}

/* Just joined: 2 kB/s delivered while it had nothing to send, then its
 * joining FETCH queued 100 kB. Its window drains that in 3 ms: it keeps
 * up, and gets every priority. */
static void test_idle_joiner_keeps_up(void **state)
{
    fr_fastpath_subscriber s = joiner(2000, 100000);

    (void)state;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), UINT8_MAX);
}

/* A subscriber behind a 40 kB/s bottleneck whose window fills the queue
 * there (100 ms RTT, 4 kB window): 200 kB waiting is five seconds. */
static void test_congested_gets_key_frames(void **state)
{
    fr_fastpath_subscriber s = joiner(40000, 200000);

    (void)state;
    s.smoothed_rtt = 100 * FR_MILLISECONDS;
    s.cwnd = 4000;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), 127);
    /* Below two seconds of data it catches up with everything. */
    s.queued = 70000;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), UINT8_MAX);
}

/* The delivery rate is the faster one here (2 MB/s against a window of
 * 10 kB per 10 ms, 1 MB/s): 3 MB waiting is 1.5 s, 5 MB is 2.5 s. */
static void test_faster_of_the_two_rates(void **state)
{
    fr_fastpath_subscriber s = joiner(2000000, 3000000);

    (void)state;
    s.smoothed_rtt = 10 * FR_MILLISECONDS;
    s.cwnd = 10000;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), UINT8_MAX);
    s.queued = 5000000;
    assert_int_equal(fr_fastpath_default_priority_floor(&s, NULL), 127);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmeasured_gets_everything),
        cmocka_unit_test(test_idle_joiner_keeps_up),
        cmocka_unit_test(test_congested_gets_key_frames),
        cmocka_unit_test(test_faster_of_the_two_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
