/* Unit tests of the utility modules: errors, version, hash map, send
 * buffer, addresses. */
#include "fr_test.h"

#include <arpa/inet.h>

#include <fastrelay/fastrelay.h>

#include "../../lib/util/grow.h"
#include "../../lib/util/hmap.h"
#include "../../lib/util/sbuf.h"

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(fr_strerror(0), "success");
    assert_string_equal(fr_strerror(FR_ERR_NOMEM), "out of memory");
    assert_string_equal(fr_strerror(12345), "unknown error");
    assert_true(fr_err_is_fatal(FR_ERR_NOMEM));
    assert_false(fr_err_is_fatal(FR_ERR_STREAM_LIMIT));
    assert_false(fr_err_is_fatal(0));
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(fr_version(), FR_VERSION);
    assert_true(FR_VERSION_NUM > 0);
}

static void test_hmap(void **state)
{
    fr_hmap m;
    int values[1000];
    uint8_t cid[20];

    (void)state;
    fr_hmap_init(&m);
    assert_null(fr_hmap_find(&m, cid, 8));
    for (int i = 0; i < 1000; i++) {
        values[i] = i;
        assert_int_equal(fr_hmap_insert_u64(&m, (uint64_t)i * 4 + 3,
                                            &values[i]),
                         0);
    }
    assert_int_equal(m.count, 1000);
    assert_int_equal(fr_hmap_insert_u64(&m, 3, &values[0]),
                     FR_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 1000; i++)
        assert_ptr_equal(fr_hmap_find_u64(&m, (uint64_t)i * 4 + 3),
                         &values[i]);
    for (int i = 0; i < 1000; i += 2)
        assert_ptr_equal(fr_hmap_remove_u64(&m, (uint64_t)i * 4 + 3),
                         &values[i]);
    assert_int_equal(m.count, 500);
    assert_null(fr_hmap_find_u64(&m, 3));
    assert_ptr_equal(fr_hmap_find_u64(&m, 7), &values[1]);
    /* Keys of different lengths never collide. */
    memset(cid, 1, sizeof(cid));
    assert_int_equal(fr_hmap_insert(&m, cid, 8, &values[2]), 0);
    assert_int_equal(fr_hmap_insert(&m, cid, 9, &values[3]), 0);
    assert_ptr_equal(fr_hmap_find(&m, cid, 8), &values[2]);
    assert_ptr_equal(fr_hmap_find(&m, cid, 9), &values[3]);
    assert_int_equal(fr_hmap_insert(&m, cid, 21, &values[3]),
                     FR_ERR_INVALID_ARGUMENT);
    fr_hmap_free(&m);
}

static void test_sbuf(void **state)
{
    fr_sbuf sb;
    uint8_t data[50000];
    struct iovec v[8];
    size_t n, total = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13);
    fr_sbuf_init(&sb);
    assert_int_equal(fr_sbuf_append(&sb, data, 100), 0);
    assert_int_equal(fr_sbuf_append(&sb, data + 100, sizeof(data) - 100), 0);
    assert_int_equal(sb.end_off, sizeof(data));
    /* Peek from an offset inside the second block. */
    n = fr_sbuf_peek(&sb, 20000, UINT64_MAX, v, 8);
    assert_true(n >= 1);
    total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(v[i].iov_base, data + 20000 + total,
                            v[i].iov_len);
        total += v[i].iov_len;
    }
    assert_int_equal(total, sizeof(data) - 20000);
    /* A range ending inside a block is cut there. */
    n = fr_sbuf_peek(&sb, 16380, 16390, v, 8);
    total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(v[i].iov_base, data + 16380 + total,
                            v[i].iov_len);
        total += v[i].iov_len;
    }
    assert_int_equal(total, 10);
    /* Release frees whole blocks only; data above stays addressable. */
    fr_sbuf_release(&sb, 20000);
    assert_true(sb.head_off <= 20000);
    n = fr_sbuf_peek(&sb, 30000, UINT64_MAX, v, 1);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].iov_base, data + 30000, 16);
    fr_sbuf_release(&sb, sizeof(data));
    assert_int_equal(fr_sbuf_held(&sb), 0);
    assert_null(sb.head);
    assert_int_equal(fr_sbuf_append(&sb, data, 10), 0);
    assert_int_equal(sb.end_off, sizeof(data) + 10);
    fr_sbuf_free(&sb);
}

/* A growable array keeps what it holds as it doubles; room for an
 * element already held costs nothing; a size that would overflow is
 * refused with the array as it was. */
static void test_grow(void **state)
{
    uint32_t *a = NULL;
    size_t cap = 0;

    (void)state;
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(fr_grow((void **)&a, &cap, i, sizeof(*a), 4), 0);
        assert_true(cap > i);
        a[i] = i * 7;
    }
    assert_int_equal(cap, 128);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(a[i], i * 7);
    assert_int_equal(fr_grow((void **)&a, &cap, 5, sizeof(*a), 4), 0);
    assert_int_equal(cap, 128);
    assert_int_equal(fr_grow((void **)&a, &cap, 128, SIZE_MAX / 200, 4),
                     FR_ERR_NOMEM);
    assert_int_equal(cap, 128);
    assert_int_equal(a[99], 99 * 7);
    free(a);
}

static void test_addr(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char buf[64];

    (void)state;
    assert_int_equal(fr_addr_parse(&ss, &len, "198.18.0.1:4433"), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_string_equal(fr_addr_format(buf, sizeof(buf),
                                       (struct sockaddr *)&ss),
                        "198.18.0.1:4433");
    assert_int_equal(fr_addr_parse(&ss, &len, "[fd00:fa57::1]:443"), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_string_equal(fr_addr_format(buf, sizeof(buf),
                                       (struct sockaddr *)&ss),
                        "[fd00:fa57::1]:443");
    assert_int_equal(fr_addr_parse(&ss, &len, "198.18.0.1"), FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, "198.18.0.1:"), FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, "198.18.0.1:70000"),
                     FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, "198.18.0.1:12x"),
                     FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, "example.com:443"),
                     FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, "[fd00::1:443"),
                     FR_ERR_ADDRESS);
    assert_int_equal(fr_addr_parse(&ss, &len, NULL), FR_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),  cmocka_unit_test(test_version),
        cmocka_unit_test(test_hmap),    cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_addr),   cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
