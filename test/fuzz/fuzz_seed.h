/*
 * What the fuzz targets' seed programs (built with -DFR_FUZZ_SEED_MAIN)
 * share: writing one seed file into the corpus directory.
 */
#ifndef FR_FUZZ_SEED_H
#define FR_FUZZ_SEED_H

#include <stdio.h>
#include <stdlib.h>

/* Writes `n` bytes to DIR/NAME-IDX; exits on failure. */
static inline void fuzz_seed_write(const char *dir, const char *name, int idx,
                                   const void *data, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s-%02d", dir, name, idx);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

#endif
