/*
 * libfastrelay — common definitions shared by every public header.
 */
#ifndef FASTRELAY_COMMON_H
#define FASTRELAY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a symbol as part of the public ABI. The library is built with hidden
 * visibility, so only symbols carrying FR_EXTERN are exported. */
#if defined(FR_BUILDING_LIBRARY)
#  define FR_EXTERN __attribute__((visibility("default")))
#else
#  define FR_EXTERN
#endif

/* Timestamps are nanoseconds of CLOCK_MONOTONIC; durations are nanoseconds. */
typedef uint64_t fr_tstamp;
typedef uint64_t fr_duration;

#define FR_NANOSECONDS ((fr_duration)1ULL)
#define FR_MICROSECONDS ((fr_duration)1000ULL)
#define FR_MILLISECONDS ((fr_duration)1000000ULL)
#define FR_SECONDS ((fr_duration)1000000000ULL)

/* A timestamp that is never reached (no expiry pending). */
#define FR_TSTAMP_MAX UINT64_MAX

/* The layout of the public structs the library copies from or fills for
 * the application (settings, callbacks, hooks, stats). Fields are only
 * ever appended to them, and every append raises this number. Functions
 * that take or fill such a struct are told the number the application was
 * built with (the macros of their plain names pass it: source needs no
 * change), read or write only that layout's bytes, keep defaults for the
 * fields appended since, and refuse a number greater than their own.
 * 1: the layouts up to release 0.1.0; 2: fr_fastpath_stats.late_starts;
 * 3: fr_moq_settings.webtransport_path. */
#define FR_LAYOUT_VERSION 3

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_COMMON_H */
