/* Unit tests of the object cache (lib/moq/cache.c): coverage of FETCH
 * ranges, the group and byte limits, and eviction for a limit over many
 * caches. */
#include "fr_test.h"

#include <fastrelay/fastrelay.h>

static void add(fr_moq_cache *c, uint64_t g, uint64_t o, size_t len)
{
    static const uint8_t payload[4096];
    fr_moq_object obj = {.loc = {g, o}, .publisher_priority = 128};

    obj.payload = payload;
    obj.payload_len = len;
    assert_int_equal(fr_moq_cache_add(c, &obj), 0);
}

static void test_limits(void **state)
{
    fr_moq_cache *c;

    (void)state;
    assert_int_equal(fr_moq_cache_new(&c, 3, 10000), 0);
    for (uint64_t g = 0; g < 5; g++)
        for (uint64_t o = 0; o < 4; o++)
            add(c, g, o, 100);
    /* Three groups of 400 bytes: groups 2-4. */
    assert_int_equal(fr_moq_cache_groups(c), 3);
    assert_int_equal(fr_moq_cache_bytes(c), 1200);
    assert_false(fr_moq_cache_covers(c, (fr_moq_location){1, 0},
                                     (fr_moq_location){2, 0}));
    assert_true(fr_moq_cache_covers(c, (fr_moq_location){2, 0},
                                    (fr_moq_location){4, 4}));
    /* The byte limit: one large group pushes out the older ones, but
     * the newest stays even when it alone is larger. */
    for (uint64_t o = 0; o < 3; o++)
        add(c, 5, o, 4096);
    assert_int_equal(fr_moq_cache_groups(c), 1);
    assert_int_equal(fr_moq_cache_bytes(c), 3 * 4096);
    fr_moq_cache_del(c);
}

static void test_evict_oldest(void **state)
{
    fr_moq_cache *c;

    (void)state;
    assert_int_equal(fr_moq_cache_new(&c, 8, 1 << 20), 0);
    assert_int_equal(fr_moq_cache_evict_oldest(c), 0); /* empty */
    add(c, 7, 0, 300);
    add(c, 7, 1, 200);
    add(c, 8, 0, 50);
    assert_int_equal(fr_moq_cache_evict_oldest(c), 500);
    assert_int_equal(fr_moq_cache_groups(c), 1);
    assert_int_equal(fr_moq_cache_bytes(c), 50);
    /* The newest group always stays. */
    assert_int_equal(fr_moq_cache_evict_oldest(c), 0);
    assert_true(fr_moq_cache_covers(c, (fr_moq_location){8, 0},
                                    (fr_moq_location){8, 1}));
    fr_moq_cache_del(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_evict_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
