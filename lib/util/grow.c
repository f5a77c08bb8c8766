/* Growable arrays (grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

#include <fastrelay/error.h>

int fr_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
    size_t want;
    void *grown;

    if (n < *cap)
        return 0;
    want = *cap ? 2 * *cap : first;
    if (want <= n || want > SIZE_MAX / size)
        return FR_ERR_NOMEM;
    grown = realloc(*arr, want * size);
    if (!grown)
        return FR_ERR_NOMEM;
    *arr = grown;
    *cap = want;
    return 0;
}
