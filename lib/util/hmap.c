/* Chained hash map keyed by short byte strings. */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "hmap.h"

/* FNV-1a over the key bytes, then a final mix so low bits are usable. */
static uint64_t hash_key(const uint8_t *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= key[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return h;
}

void fr_hmap_init(fr_hmap *map)
{
    memset(map, 0, sizeof(*map));
}

void fr_hmap_free(fr_hmap *map)
{
    for (size_t i = 0; i < map->nbuckets; i++) {
        fr_hmap_entry *e = map->buckets[i];
        while (e) {
            fr_hmap_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(map->buckets);
    fr_hmap_init(map);
}

static fr_hmap_entry **slot_of(const fr_hmap *map, const uint8_t *key,
                               size_t keylen)
{
    size_t b = hash_key(key, keylen) & (map->nbuckets - 1);
    fr_hmap_entry **pe = &map->buckets[b];

    while (*pe && ((*pe)->keylen != keylen ||
                   memcmp((*pe)->key, key, keylen) != 0))
        pe = &(*pe)->next;
    return pe;
}

static int grow(fr_hmap *map)
{
    size_t n = map->nbuckets ? map->nbuckets * 2 : 16;
    fr_hmap_entry **nb = calloc(n, sizeof(*nb));

    if (!nb)
        return FR_ERR_NOMEM;
    for (size_t i = 0; i < map->nbuckets; i++) {
        fr_hmap_entry *e = map->buckets[i];
        while (e) {
            fr_hmap_entry *next = e->next;
            size_t b = hash_key(e->key, e->keylen) & (n - 1);
            e->next = nb[b];
            nb[b] = e;
            e = next;
        }
    }
    free(map->buckets);
    map->buckets = nb;
    map->nbuckets = n;
    return 0;
}

int fr_hmap_insert(fr_hmap *map, const uint8_t *key, size_t keylen,
                   void *value)
{
    fr_hmap_entry **pe, *e;

    if (keylen > FR_HMAP_KEY_MAX)
        return FR_ERR_INVALID_ARGUMENT;
    if (map->count >= map->nbuckets) {
        int rv = grow(map);
        if (rv)
            return rv;
    }
    pe = slot_of(map, key, keylen);
    if (*pe)
        return FR_ERR_INVALID_ARGUMENT;
    e = calloc(1, sizeof(*e));
    if (!e)
        return FR_ERR_NOMEM;
    e->value = value;
    e->keylen = (uint8_t)keylen;
    memcpy(e->key, key, keylen);
    *pe = e;
    map->count++;
    return 0;
}

void *fr_hmap_find(const fr_hmap *map, const uint8_t *key, size_t keylen)
{
    fr_hmap_entry **pe;

    if (!map->nbuckets || keylen > FR_HMAP_KEY_MAX)
        return NULL;
    pe = slot_of(map, key, keylen);
    return *pe ? (*pe)->value : NULL;
}

void *fr_hmap_remove(fr_hmap *map, const uint8_t *key, size_t keylen)
{
    fr_hmap_entry **pe, *e;
    void *value;

    if (!map->nbuckets || keylen > FR_HMAP_KEY_MAX)
        return NULL;
    pe = slot_of(map, key, keylen);
    e = *pe;
    if (!e)
        return NULL;
    *pe = e->next;
    value = e->value;
    free(e);
    map->count--;
    return value;
}

void fr_hmap_each(const fr_hmap *map, void (*fn)(void *value, void *arg),
                  void *arg)
{
    for (size_t i = 0; i < map->nbuckets; i++)
        for (fr_hmap_entry *e = map->buckets[i]; e; e = e->next)
            fn(e->value, arg);
}
