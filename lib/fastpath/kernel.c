/* The kernel side of the fast path, owned from userspace: the
 * bookkeeping over the data plane's maps (dataplane.h). */
#include "kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#define MAX_ATTACHMENTS 32

struct fr_fp_kernel {
    fr_fp_dataplane *dp;
    uint8_t used[FR_FP_MAX_SLOTS / 8];
    uint16_t gen[FR_FP_MAX_SLOTS]; /* advanced when a slot is freed */
    struct {
        int ifindex;
        fr_fp_role role;
    } att[MAX_ATTACHMENTS];
    int natt;
};

int fr_fp_kernel_on(fr_fp_kernel **out, fr_fp_dataplane *dp)
{
    fr_fp_kernel *k = calloc(1, sizeof(*k));

    if (!k) {
        dp->ops->close(dp);
        return FR_ERR_NOMEM;
    }
    k->dp = dp;
    *out = k;
    return 0;
}

int fr_fp_kernel_open(fr_fp_kernel **out, size_t cid_len, int tls, char *why,
                      size_t whylen)
{
    fr_fp_dataplane *dp;
    int rv;

    if (!out || cid_len == 0 || cid_len > FR_FP_CID_MAX) {
        snprintf(why, whylen, "CID length %zu not in 1..%d", cid_len,
                 FR_FP_CID_MAX);
        return FR_ERR_INVALID_ARGUMENT;
    }
    rv = fr_fp_dataplane_bpf(&dp, cid_len, tls, why, whylen);
    return rv ? rv : fr_fp_kernel_on(out, dp);
}

void fr_fp_kernel_close(fr_fp_kernel *k)
{
    if (!k)
        return;
    k->dp->ops->close(k->dp);
    free(k);
}

int fr_fp_kernel_is_attached(const fr_fp_kernel *k, int ifindex,
                             fr_fp_role role)
{
    for (int i = 0; i < k->natt; i++)
        if (k->att[i].ifindex == ifindex && k->att[i].role == role)
            return 1;
    return 0;
}

int fr_fp_kernel_attach(fr_fp_kernel *k, int ifindex, fr_fp_role role,
                        fr_fp_attach_mode mode, char *why, size_t whylen)
{
    int rv;

    if (fr_fp_kernel_is_attached(k, ifindex, role)) {
        snprintf(why, whylen, "already attached to interface %d", ifindex);
        return FR_ERR_INVALID_STATE;
    }
    if (k->natt == MAX_ATTACHMENTS) {
        snprintf(why, whylen, "more than %d attachments", MAX_ATTACHMENTS);
        return FR_ERR_LIMIT;
    }
    rv = k->dp->ops->attach(k->dp, ifindex, role, mode, why, whylen);
    if (rv)
        return rv;
    k->att[k->natt].ifindex = ifindex;
    k->att[k->natt].role = role;
    k->natt++;
    return 0;
}

struct fastpath *fr_fp_kernel_skeleton(fr_fp_kernel *k)
{
    return fr_fp_dataplane_bpf_skeleton(k->dp);
}

int fr_fp_kernel_tables_read(fr_fp_kernel *k, fr_nexthop_tables *t)
{
    return k->dp->ops->tables_read(k->dp, t);
}

static int slot_valid(const fr_fp_kernel *k, uint32_t slot)
{
    return slot < FR_FP_MAX_SLOTS && (k->used[slot / 8] >> (slot % 8) & 1);
}

int fr_fp_kernel_slot_alloc(fr_fp_kernel *k, uint32_t *slot)
{
    for (uint32_t i = 0; i < FR_FP_MAX_SLOTS; i++) {
        if (!(k->used[i / 8] >> (i % 8) & 1)) {
            k->used[i / 8] |= (uint8_t)(1u << (i % 8));
            *slot = i;
            return 0;
        }
    }
    return FR_ERR_LIMIT;
}

/* Deletes every entry of a map keyed by a struct starting with the slot
 * (__u32). */
static void forget_slot(fr_fp_kernel *k, fr_fp_map m, uint32_t slot)
{
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    struct fr_fp_substream_key key, next;
    const void *prev = NULL;

    _Static_assert(sizeof(struct fr_fp_substream_key) ==
                       sizeof(struct fr_fp_credit_key),
                   "both keys walk alike");
    while (ops->next_key(k->dp, m, prev, &next) == 0) {
        if (next.slot == slot) {
            ops->remove(k->dp, m, &next);
            /* Deleting may reorder the walk; start over. */
            prev = NULL;
            continue;
        }
        key = next;
        prev = &key;
    }
}

void fr_fp_kernel_slot_free(fr_fp_kernel *k, uint32_t slot)
{
    static const struct fr_fp_keys no_keys;
    static const uint64_t no_pn;

    if (!slot_valid(k, slot))
        return;
    k->dp->ops->remove(k->dp, FR_FP_MAP_SLOTS, &slot);
    k->dp->ops->update(k->dp, FR_FP_MAP_KEYS, &slot, &no_keys, FR_FP_ANY);
    k->dp->ops->update(k->dp, FR_FP_MAP_RX_PN, &slot, &no_pn, FR_FP_ANY);
    forget_slot(k, FR_FP_MAP_SUBSTREAMS, slot);
    forget_slot(k, FR_FP_MAP_CREDIT, slot);
    __atomic_store_n(&k->dp->pools[slot].tail, k->dp->pools[slot].head,
                     __ATOMIC_RELEASE);
    memset(&k->dp->tx[slot], 0, sizeof(k->dp->tx[slot]));
    k->used[slot / 8] &= (uint8_t)~(1u << (slot % 8));
    k->gen[slot]++;
}

uint16_t fr_fp_kernel_slot_gen(const fr_fp_kernel *k, uint32_t slot)
{
    return slot < FR_FP_MAX_SLOTS ? k->gen[slot] : 0;
}

int fr_fp_kernel_slot_set(fr_fp_kernel *k, uint32_t slot,
                          const struct fr_fp_slot *s)
{
    struct fr_fp_slot v;

    if (!slot_valid(k, slot) || s->dcid_len > FR_FP_CID_MAX)
        return FR_ERR_INVALID_ARGUMENT;
    v = *s;
    v.gen = k->gen[slot];
    return k->dp->ops->update(k->dp, FR_FP_MAP_SLOTS, &slot, &v, FR_FP_ANY)
               ? FR_ERR_BPF
               : 0;
}

int fr_fp_kernel_keys_set(fr_fp_kernel *k, uint32_t slot,
                          const struct fr_fp_keys *keys)
{
    if (!slot_valid(k, slot))
        return FR_ERR_INVALID_ARGUMENT;
    return k->dp->ops->update(k->dp, FR_FP_MAP_KEYS, &slot, keys, FR_FP_ANY)
               ? FR_ERR_BPF
               : 0;
}

/* A map update's failure as an FR_ERR_*. */
static int update_error(int rv)
{
    return rv == 0 ? 0 : rv == -E2BIG ? FR_ERR_LIMIT : FR_ERR_BPF;
}

static int cid_key(struct fr_fp_cid_key *key, const uint8_t *cid, size_t len)
{
    memset(key, 0, sizeof(*key));
    if (len == 0 || len > FR_FP_CID_MAX)
        return FR_ERR_INVALID_ARGUMENT;
    key->len = (uint8_t)len;
    memcpy(key->cid, cid, len);
    return 0;
}

int fr_fp_kernel_upstream_cid_add(fr_fp_kernel *k, uint32_t slot,
                                  const uint8_t *cid, size_t len)
{
    struct fr_fp_upstream up = {.slot = slot};
    struct fr_fp_cid_key key;

    if (!slot_valid(k, slot) || cid_key(&key, cid, len))
        return FR_ERR_INVALID_ARGUMENT;
    return update_error(k->dp->ops->update(k->dp, FR_FP_MAP_UPSTREAM_CIDS,
                                           &key, &up, FR_FP_ANY));
}

int fr_fp_kernel_upstream_cid_remove(fr_fp_kernel *k, const uint8_t *cid,
                                     size_t len)
{
    struct fr_fp_cid_key key;

    if (cid_key(&key, cid, len))
        return FR_ERR_INVALID_ARGUMENT;
    k->dp->ops->remove(k->dp, FR_FP_MAP_UPSTREAM_CIDS, &key);
    return 0;
}

/* Where `sub` is in the track's list, or -1. */
static int member(const struct fr_fp_subscribers *subs, uint32_t sub)
{
    for (uint32_t i = 0; i < subs->count && i < FR_FP_MAX_FANOUT; i++)
        if (subs->slots[i] == sub)
            return (int)i;
    return -1;
}

int fr_fp_kernel_track_join(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                            uint8_t default_priority, uint32_t sub)
{
    struct fr_fp_track_key key = {.upstream_slot = up, .track_alias = alias};
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    struct fr_fp_subscribers subs;

    if (!slot_valid(k, up) || !slot_valid(k, sub))
        return FR_ERR_INVALID_ARGUMENT;
    if (ops->lookup(k->dp, FR_FP_MAP_TRACK_SLOTS, &key, &subs))
        memset(&subs, 0, sizeof(subs));
    if (member(&subs, sub) >= 0)
        return FR_ERR_INVALID_STATE;
    if (subs.count >= FR_FP_MAX_FANOUT)
        return FR_ERR_LIMIT;
    subs.slots[subs.count++] = sub;
    subs.default_priority = default_priority;
    return update_error(
        ops->update(k->dp, FR_FP_MAP_TRACK_SLOTS, &key, &subs, FR_FP_ANY));
}

int fr_fp_kernel_track_leave(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                             uint32_t sub)
{
    struct fr_fp_track_key key = {.upstream_slot = up, .track_alias = alias};
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    struct fr_fp_subscribers subs;
    int i;

    if (ops->lookup(k->dp, FR_FP_MAP_TRACK_SLOTS, &key, &subs) ||
        (i = member(&subs, sub)) < 0)
        return FR_ERR_INVALID_STATE;
    subs.slots[i] = subs.slots[--subs.count];
    if (subs.count == 0)
        return ops->remove(k->dp, FR_FP_MAP_TRACK_SLOTS, &key) ? FR_ERR_BPF
                                                                : 0;
    return ops->update(k->dp, FR_FP_MAP_TRACK_SLOTS, &key, &subs, FR_FP_ANY)
               ? FR_ERR_BPF
               : 0;
}

size_t fr_fp_kernel_pool_level(fr_fp_kernel *k, uint32_t slot)
{
    struct fr_fp_pool *p;

    if (!slot_valid(k, slot))
        return 0;
    p = &k->dp->pools[slot];
    return __atomic_load_n(&p->tail, __ATOMIC_RELAXED) -
           __atomic_load_n(&p->head, __ATOMIC_ACQUIRE);
}

size_t fr_fp_kernel_pool_refill(fr_fp_kernel *k, uint32_t slot,
                                const uint64_t *ids, size_t n)
{
    struct fr_fp_pool *p;
    size_t room, take;
    uint32_t tail;

    if (!slot_valid(k, slot))
        return 0;
    p = &k->dp->pools[slot];
    room = FR_FP_POOL_SIZE - fr_fp_kernel_pool_level(k, slot);
    take = n < room ? n : room;
    tail = p->tail;
    for (size_t i = 0; i < take; i++)
        p->ids[(tail + i) % FR_FP_POOL_SIZE] = ids[i];
    /* The IDs are in place before the kernel can see the new tail. */
    __atomic_store_n(&p->tail, tail + (uint32_t)take, __ATOMIC_RELEASE);
    return take;
}

uint64_t fr_fp_kernel_count(fr_fp_kernel *k, fr_fp_role role, uint32_t reason)
{
    return k->dp->ops->count(k->dp, role, reason);
}

int fr_fp_kernel_substream_claim(fr_fp_kernel *k, uint32_t slot,
                                 uint64_t upstream_stream, uint64_t *stream,
                                 int *late)
{
    struct fr_fp_substream_key key = {.slot = slot,
                                      .upstream_stream = upstream_stream};
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    uint64_t mine = FR_FP_SUBSTREAM_USERSPACE;
    int rv;

    *late = 0;
    if (!slot_valid(k, slot))
        return FR_ERR_INVALID_ARGUMENT;
    if (ops->lookup(k->dp, FR_FP_MAP_SUBSTREAMS, &key, stream) != 0) {
        rv = ops->update(k->dp, FR_FP_MAP_SUBSTREAMS, &key, &mine,
                         FR_FP_NOEXIST);
        if (rv == 0)
            return 1;
        if (rv != -EEXIST ||
            ops->lookup(k->dp, FR_FP_MAP_SUBSTREAMS, &key, stream) != 0)
            return FR_ERR_INTERNAL;
        *late = 1;
    }
    return *stream == FR_FP_SUBSTREAM_USERSPACE ? 1 : 0;
}

void fr_fp_kernel_substream_forget(fr_fp_kernel *k, uint32_t slot,
                                   uint64_t upstream_stream)
{
    struct fr_fp_substream_key key = {.slot = slot,
                                      .upstream_stream = upstream_stream};

    if (slot_valid(k, slot))
        k->dp->ops->remove(k->dp, FR_FP_MAP_SUBSTREAMS, &key);
}

int fr_fp_kernel_credit_set(fr_fp_kernel *k, uint32_t slot, uint64_t stream,
                            uint64_t credit)
{
    struct fr_fp_credit_key key = {.slot = slot, .stream = stream};

    if (!slot_valid(k, slot))
        return FR_ERR_INVALID_ARGUMENT;
    return k->dp->ops->update(k->dp, FR_FP_MAP_CREDIT, &key, &credit,
                              FR_FP_ANY)
               ? FR_ERR_BPF
               : 0;
}

struct fr_fp_tx *fr_fp_kernel_tx(fr_fp_kernel *k, uint32_t slot)
{
    return slot_valid(k, slot) ? &k->dp->tx[slot] : NULL;
}

int fr_fp_kernel_poll_sent(fr_fp_kernel *k, fr_fp_sent_cb on_sent,
                           void *user_data)
{
    return k->dp->ops->poll_sent(k->dp, on_sent, user_data);
}
