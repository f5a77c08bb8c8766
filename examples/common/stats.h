/*
 * Delay statistics: an accumulator of samples (microseconds by convention)
 * giving count, min, max, mean and percentiles.
 *
 * count, min, max and mean always cover every sample added. Percentiles are
 * exact while at most max_samples samples have been added; after that the
 * accumulator keeps a uniform random sample of max_samples of them
 * (reservoir sampling, Algorithm R, with a fixed seed so runs repeat) and
 * percentiles are estimated from it. The default bound, 1M samples, is 8 MiB
 * and covers e.g. 9 hours of 30 fps video exactly.
 *
 * Percentiles use the nearest-rank definition: p is the smallest sample
 * such that at least p percent of the samples are less than or equal to it
 * (p = 0 gives the minimum, p = 100 the maximum).
 */
#ifndef FRT_STATS_H
#define FRT_STATS_H

#include <stddef.h>
#include <stdint.h>

#define FRT_STATS_DEFAULT_MAX_SAMPLES (1u << 20)

typedef struct frt_stats {
    uint64_t *samples;  /* stored samples, unsorted unless `sorted` */
    size_t n;           /* samples stored */
    size_t cap;         /* allocated */
    size_t max_samples; /* storage bound */
    uint64_t count;     /* samples added */
    uint64_t min, max;
    uint64_t sum;       /* wraps only beyond 1.8e19 (us: 584,000 years) */
    uint64_t rng;       /* reservoir sampling state */
    int sorted;
} frt_stats;

typedef struct frt_stats_summary {
    uint64_t count;
    uint64_t min, max;
    double mean;
    uint64_t p50, p90, p99;
} frt_stats_summary;

/* Starts an empty accumulator keeping at most max_samples samples
 * (0 selects FRT_STATS_DEFAULT_MAX_SAMPLES). Allocates nothing yet. */
void frt_stats_init(frt_stats *s, size_t max_samples);

/* Frees the stored samples; s may be initialized again. */
void frt_stats_free(frt_stats *s);

/* Adds a sample. Returns 0, or FRT_ERR_NOMEM (the sample is not counted). */
int frt_stats_add(frt_stats *s, uint64_t v);

/* The p-th percentile (0 <= p <= 100, clamped), or 0 with no samples.
 * Sorts the stored samples, hence not const. */
uint64_t frt_stats_percentile(frt_stats *s, double p);

/* Fills *out; every field is 0 with no samples. */
void frt_stats_summarize(frt_stats *s, frt_stats_summary *out);

#endif
