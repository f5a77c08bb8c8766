/* Shared helpers for the cmocka test programs. */
#ifndef FR_TEST_H
#define FR_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* True when running under CI (CI=true), where a skipped privileged test is a
 * failure: CI always runs as root on a kernel with BPF and namespaces. */
static inline int fr_test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

/* Skip the current test with a reason, or fail it when running in CI. */
#define FR_TEST_SKIP(reason)                                                \
    do {                                                                    \
        if (fr_test_in_ci())                                                \
            fail_msg("required capability missing in CI: %s", (reason));   \
        fprintf(stderr, "SKIP: %s\n", (reason));                            \
        skip();                                                             \
    } while (0)

/* Skip (or fail in CI) unless running as root. */
#define FR_TEST_REQUIRE_ROOT()                                              \
    do {                                                                    \
        if (geteuid() != 0)                                                 \
            FR_TEST_SKIP("needs root (BPF, namespaces)");                   \
    } while (0)

#endif
