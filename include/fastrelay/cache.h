/*
 * libfastrelay — an object cache for MoQT publishers and relays: the most
 * recent groups of one track, bounded in groups and bytes, answering FETCH
 * ranges.
 */
#ifndef FASTRELAY_CACHE_H
#define FASTRELAY_CACHE_H

#include <fastrelay/moq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fr_moq_cache fr_moq_cache;

/* A cache of at most `max_groups` groups and `max_bytes` of payload and
 * properties (the newest group is kept even if it alone is larger). */
FR_EXTERN int fr_moq_cache_new(fr_moq_cache **pc, size_t max_groups,
                               size_t max_bytes);
FR_EXTERN void fr_moq_cache_del(fr_moq_cache *c);

/* Stores a copy of `obj`. Duplicates, and objects of groups older than
 * everything kept when the cache is full, are ignored. */
FR_EXTERN int fr_moq_cache_add(fr_moq_cache *c, const fr_moq_object *obj);

/* Ranges are as in FETCH: from `start` up to `end` exclusive, where
 * end.object 0 stands for the whole end group. */

/* Nonzero if every object of the range is cached: each group of it is
 * present with contiguous object IDs from the range's first one (0 for
 * whole groups) to its largest cached one. */
FR_EXTERN int fr_moq_cache_covers(const fr_moq_cache *c, fr_moq_location start,
                                  fr_moq_location end);

/* Calls fn for every cached object of the range, groups in `order`
 * (FR_MOQ_ORDER_*), objects ascending. Stops when fn returns nonzero and
 * returns that value. */
FR_EXTERN int fr_moq_cache_each(const fr_moq_cache *c, fr_moq_location start,
                                fr_moq_location end, uint8_t order,
                                int (*fn)(const fr_moq_object *obj,
                                          void *arg),
                                void *arg);

/* Drops the oldest group unless it is the only one; returns the bytes
 * freed (0: nothing dropped). For limits across caches. */
FR_EXTERN size_t fr_moq_cache_evict_oldest(fr_moq_cache *c);

/* Groups and bytes held now. */
FR_EXTERN size_t fr_moq_cache_groups(const fr_moq_cache *c);
FR_EXTERN size_t fr_moq_cache_bytes(const fr_moq_cache *c);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_CACHE_H */
