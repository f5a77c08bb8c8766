/*
 * A small chained hash map from short byte keys (up to 20 bytes: connection
 * IDs, stream IDs) to pointers. Entries are allocated by the map.
 */
#ifndef FR_HMAP_H
#define FR_HMAP_H

#include <stddef.h>
#include <stdint.h>

#define FR_HMAP_KEY_MAX 20

typedef struct fr_hmap_entry {
    struct fr_hmap_entry *next;
    void *value;
    uint8_t keylen;
    uint8_t key[FR_HMAP_KEY_MAX];
} fr_hmap_entry;

typedef struct fr_hmap {
    fr_hmap_entry **buckets;
    size_t nbuckets; /* power of two, or 0 before the first insert */
    size_t count;
} fr_hmap;

void fr_hmap_init(fr_hmap *map);
void fr_hmap_free(fr_hmap *map);

/* Returns 0, FR_ERR_INVALID_ARGUMENT if the key exists or is too long, or
 * FR_ERR_NOMEM. */
int fr_hmap_insert(fr_hmap *map, const uint8_t *key, size_t keylen,
                   void *value);
void *fr_hmap_find(const fr_hmap *map, const uint8_t *key, size_t keylen);
/* Returns the removed value, or NULL if absent. */
void *fr_hmap_remove(fr_hmap *map, const uint8_t *key, size_t keylen);

/* Calls fn for every entry; fn must not modify the map. */
void fr_hmap_each(const fr_hmap *map, void (*fn)(void *value, void *arg),
                  void *arg);

/* Integer keys (stream IDs). */
static inline int fr_hmap_insert_u64(fr_hmap *map, uint64_t k, void *value)
{
    return fr_hmap_insert(map, (const uint8_t *)&k, sizeof(k), value);
}
static inline void *fr_hmap_find_u64(const fr_hmap *map, uint64_t k)
{
    return fr_hmap_find(map, (const uint8_t *)&k, sizeof(k));
}
static inline void *fr_hmap_remove_u64(fr_hmap *map, uint64_t k)
{
    return fr_hmap_remove(map, (const uint8_t *)&k, sizeof(k));
}

#endif
