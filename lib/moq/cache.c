/* Object cache of one track: groups in ascending order, each a list of
 * objects in ascending object ID. */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/cache.h>
#include <fastrelay/error.h>

typedef struct cache_obj {
    fr_moq_object obj;       /* payload and properties point into data */
    struct cache_obj *next;
    uint8_t data[];
} cache_obj;

typedef struct cache_group {
    uint64_t group;
    cache_obj *objs;
    size_t bytes;
    struct cache_group *next; /* newer group */
} cache_group;

struct fr_moq_cache {
    cache_group *oldest;
    cache_group *newest;
    size_t ngroups;
    size_t bytes;
    size_t max_groups;
    size_t max_bytes;
};

int fr_moq_cache_new(fr_moq_cache **pc, size_t max_groups, size_t max_bytes)
{
    fr_moq_cache *c;

    if (!pc)
        return FR_ERR_INVALID_ARGUMENT;
    c = calloc(1, sizeof(*c));
    if (!c)
        return FR_ERR_NOMEM;
    c->max_groups = max_groups;
    c->max_bytes = max_bytes;
    *pc = c;
    return 0;
}

static void group_free(cache_group *g)
{
    cache_obj *o = g->objs;

    while (o) {
        cache_obj *next = o->next;
        free(o);
        o = next;
    }
    free(g);
}

void fr_moq_cache_del(fr_moq_cache *c)
{
    cache_group *g;

    if (!c)
        return;
    g = c->oldest;
    while (g) {
        cache_group *next = g->next;
        group_free(g);
        g = next;
    }
    free(c);
}

static void evict_oldest(fr_moq_cache *c)
{
    cache_group *g = c->oldest;

    c->oldest = g->next;
    if (!c->oldest)
        c->newest = NULL;
    c->ngroups--;
    c->bytes -= g->bytes;
    group_free(g);
}

size_t fr_moq_cache_evict_oldest(fr_moq_cache *c)
{
    size_t before = c->bytes;

    if (!c->oldest || c->oldest == c->newest)
        return 0;
    evict_oldest(c);
    return before - c->bytes;
}

/* Finds or inserts a group, keeping ascending order. */
static cache_group *group_get(fr_moq_cache *c, uint64_t group)
{
    cache_group **pp = &c->oldest, *g;

    while (*pp && (*pp)->group < group)
        pp = &(*pp)->next;
    if (*pp && (*pp)->group == group)
        return *pp;
    if (c->ngroups >= c->max_groups && pp == &c->oldest)
        return NULL; /* older than everything kept, and the cache is full */
    g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->group = group;
    g->next = *pp;
    *pp = g;
    if (!g->next)
        c->newest = g;
    c->ngroups++;
    return g;
}

int fr_moq_cache_add(fr_moq_cache *c, const fr_moq_object *obj)
{
    size_t size = obj->payload_len + obj->properties_len;
    cache_group *g;
    cache_obj *o, **pp;

    if (c->max_groups == 0)
        return 0;
    g = group_get(c, obj->loc.group);
    if (!g)
        return 0;
    for (pp = &g->objs; *pp && (*pp)->obj.loc.object < obj->loc.object;
         pp = &(*pp)->next)
        ;
    if (*pp && (*pp)->obj.loc.object == obj->loc.object)
        return 0;
    o = malloc(sizeof(*o) + size);
    if (!o)
        return FR_ERR_NOMEM;
    o->obj = *obj;
    if (obj->payload_len)
        memcpy(o->data, obj->payload, obj->payload_len);
    if (obj->properties_len)
        memcpy(o->data + obj->payload_len, obj->properties,
               obj->properties_len);
    o->obj.payload = o->data;
    o->obj.properties = o->data + obj->payload_len;
    o->next = *pp;
    *pp = o;
    g->bytes += size;
    c->bytes += size;
    while (c->ngroups > c->max_groups ||
           (c->bytes > c->max_bytes && c->oldest != c->newest))
        evict_oldest(c);
    return 0;
}

static int before(fr_moq_location a, fr_moq_location b)
{
    return a.group < b.group || (a.group == b.group && a.object < b.object);
}

static int in_range(fr_moq_location l, fr_moq_location start,
                    fr_moq_location end)
{
    if (before(l, start) || l.group > end.group)
        return 0;
    return end.object == 0 || l.group < end.group || l.object < end.object;
}

int fr_moq_cache_covers(const fr_moq_cache *c, fr_moq_location start,
                        fr_moq_location end)
{
    const cache_group *g = c->oldest;

    for (uint64_t group = start.group; group <= end.group; group++) {
        uint64_t next = group == start.group ? start.object : 0;
        uint64_t stop = group == end.group && end.object ? end.object
                                                         : UINT64_MAX;
        while (g && g->group < group)
            g = g->next;
        if (!g || g->group != group)
            return 0;
        for (const cache_obj *o = g->objs; o && o->obj.loc.object < stop;
             o = o->next) {
            if (o->obj.loc.object < next)
                continue;
            if (o->obj.loc.object != next)
                return 0;
            next++;
        }
        if (stop != UINT64_MAX && next < stop)
            return 0;
        if (group == UINT64_MAX)
            break;
    }
    return 1;
}

int fr_moq_cache_each(const fr_moq_cache *c, fr_moq_location start,
                      fr_moq_location end, uint8_t order,
                      int (*fn)(const fr_moq_object *obj, void *arg),
                      void *arg)
{
    const cache_group **groups;
    size_t n = 0;
    int rv = 0;

    if (c->ngroups == 0)
        return 0;
    groups = malloc(c->ngroups * sizeof(*groups));
    if (!groups)
        return FR_ERR_NOMEM;
    for (const cache_group *g = c->oldest; g; g = g->next)
        if (g->group >= start.group && g->group <= end.group)
            groups[n++] = g;
    for (size_t i = 0; i < n && rv == 0; i++) {
        const cache_group *g =
            order == FR_MOQ_ORDER_DESCENDING ? groups[n - 1 - i] : groups[i];
        for (const cache_obj *o = g->objs; o && rv == 0; o = o->next)
            if (in_range(o->obj.loc, start, end))
                rv = fn(&o->obj, arg);
    }
    free(groups);
    return rv;
}

size_t fr_moq_cache_groups(const fr_moq_cache *c)
{
    return c->ngroups;
}

size_t fr_moq_cache_bytes(const fr_moq_cache *c)
{
    return c->bytes;
}
