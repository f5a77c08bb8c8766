/* Delay statistics with exact percentiles up to a storage bound and
 * reservoir sampling beyond it. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "rng.h"
#include "stats.h"

#define STATS_INITIAL_CAP 1024
#define STATS_SEED 0x6672746f6f6c73u /* fixed: runs are reproducible */

void frt_stats_init(frt_stats *s, size_t max_samples)
{
    memset(s, 0, sizeof(*s));
    s->max_samples = max_samples ? max_samples : FRT_STATS_DEFAULT_MAX_SAMPLES;
    s->rng = STATS_SEED;
}

void frt_stats_free(frt_stats *s)
{
    free(s->samples);
    s->samples = NULL;
    s->n = s->cap = 0;
}

/* Stores v: appends while below the bound, then keeps it with probability
 * max_samples / count in place of a random stored sample (Algorithm R);
 * s->count already includes v. */
static int store(frt_stats *s, uint64_t v)
{
    if (s->n < s->max_samples) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : STATS_INITIAL_CAP;
            uint64_t *p;

            if (cap > s->max_samples)
                cap = s->max_samples;
            p = realloc(s->samples, cap * sizeof(*p));
            if (!p)
                return FRT_ERR_NOMEM;
            s->samples = p;
            s->cap = cap;
        }
        s->samples[s->n++] = v;
    } else {
        uint64_t j = frt_splitmix64(&s->rng) % s->count;
        if (j >= s->n)
            return 0;
        s->samples[j] = v;
    }
    s->sorted = 0;
    return 0;
}

int frt_stats_add(frt_stats *s, uint64_t v)
{
    int rc;

    s->count++;
    rc = store(s, v);
    if (rc < 0) {
        s->count--;
        return rc;
    }
    if (s->count == 1 || v < s->min)
        s->min = v;
    if (v > s->max)
        s->max = v;
    s->sum += v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

uint64_t frt_stats_percentile(frt_stats *s, double p)
{
    double rank;
    size_t r;

    if (s->n == 0)
        return 0;
    if (!(p > 0)) /* also NaN */
        return s->min;
    if (p >= 100)
        return s->max;
    if (!s->sorted) {
        qsort(s->samples, s->n, sizeof(*s->samples), cmp_u64);
        s->sorted = 1;
    }
    /* Nearest rank: the ceil(p / 100 * n)-th smallest, 1-based. */
    rank = p / 100 * (double)s->n;
    r = (size_t)rank;
    if ((double)r < rank)
        r++;
    if (r < 1)
        r = 1;
    if (r > s->n)
        r = s->n;
    return s->samples[r - 1];
}

void frt_stats_summarize(frt_stats *s, frt_stats_summary *out)
{
    memset(out, 0, sizeof(*out));
    if (s->count == 0)
        return;
    out->count = s->count;
    out->min = s->min;
    out->max = s->max;
    out->mean = (double)s->sum / (double)s->count;
    out->p50 = frt_stats_percentile(s, 50);
    out->p90 = frt_stats_percentile(s, 90);
    out->p99 = frt_stats_percentile(s, 99);
}
