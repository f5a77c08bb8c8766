/* The kernel side of the fast path, owned from userspace: the
 * bookkeeping over the data plane's maps (dataplane.h). */
#include "kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "attach_job.h"

#define MAX_ATTACHMENTS 32

struct fr_fp_kernel {
    fr_fp_dataplane *dp;
    uint8_t used[FR_FP_MAX_SLOTS / 8];
    uint16_t gen[FR_FP_MAX_SLOTS]; /* advanced when a slot is freed */
    /* Attachments asked for: made at once, or each off the loop on a
     * thread of its own (attach_job.h), all under way together. */
    struct {
        int ifindex;
        fr_fp_role role;
        enum { ATT_RUNNING, ATT_MADE, ATT_FAILED } state;
        int err;              /* ATT_FAILED: not tried again */
        fr_fp_attach_job *job; /* ATT_RUNNING */
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
    /* What the threads attached, the data plane detaches. */
    for (int i = 0; i < k->natt; i++)
        if (k->att[i].job)
            fr_fp_attach_job_end(k->att[i].job, NULL, 0);
    k->dp->ops->close(k->dp);
    free(k);
}

static int find_attachment(const fr_fp_kernel *k, int ifindex,
                           fr_fp_role role)
{
    for (int i = 0; i < k->natt; i++)
        if (k->att[i].ifindex == ifindex && k->att[i].role == role)
            return i;
    return -1;
}

int fr_fp_kernel_is_attached(const fr_fp_kernel *k, int ifindex,
                             fr_fp_role role)
{
    int i = find_attachment(k, ifindex, role);

    return i >= 0 && k->att[i].state == ATT_MADE;
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
    k->att[k->natt].state = ATT_MADE;
    k->natt++;
    return 0;
}

int fr_fp_kernel_attach_soon(fr_fp_kernel *k, int ifindex, fr_fp_role role,
                             fr_fp_attach_mode mode, char *why,
                             size_t whylen)
{
    int i = find_attachment(k, ifindex, role);

    why[0] = '\0';
    if (i >= 0)
        switch (k->att[i].state) {
        case ATT_MADE:
            return 0;
        case ATT_FAILED:
            return k->att[i].err; /* reported when it failed */
        default:
            return FR_ERR_INVALID_STATE;
        }
    if (!k->dp->ops->attach_blocks)
        return fr_fp_kernel_attach(k, ifindex, role, mode, why, whylen);
    if (k->natt == MAX_ATTACHMENTS) {
        snprintf(why, whylen, "more than %d attachments", MAX_ATTACHMENTS);
        return FR_ERR_LIMIT;
    }
    i = k->natt++;
    k->att[i].ifindex = ifindex;
    k->att[i].role = role;
    k->att[i].job = NULL;
    k->att[i].err =
        fr_fp_attach_job_start(&k->att[i].job, k->dp, ifindex, role, mode);
    if (k->att[i].err) {
        k->att[i].state = ATT_FAILED;
        snprintf(why, whylen, "no thread to attach on: %s",
                 fr_strerror(k->att[i].err));
        return k->att[i].err;
    }
    k->att[i].state = ATT_RUNNING;
    return FR_ERR_INVALID_STATE;
}

int fr_fp_kernel_attaching(const fr_fp_kernel *k)
{
    for (int i = 0; i < k->natt; i++)
        if (k->att[i].state == ATT_RUNNING)
            return 1;
    return 0;
}

int fr_fp_kernel_attach_poll(fr_fp_kernel *k, int *ifindex, char *why,
                             size_t whylen)
{
    for (int i = 0; i < k->natt; i++) {
        int rv;

        if (!k->att[i].job || !fr_fp_attach_job_done(k->att[i].job))
            continue;
        rv = fr_fp_attach_job_end(k->att[i].job, why, whylen);
        k->att[i].job = NULL;
        k->att[i].state = rv ? ATT_FAILED : ATT_MADE;
        k->att[i].err = rv;
        *ifindex = k->att[i].ifindex;
        return rv ? rv : 1;
    }
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
 * (__u32), and of the substreams map also those of streams from the slot
 * as an upstream (its stream IDs will be another connection's next): one
 * walk gathers them, in batches, and each batch is deleted
 * after its walk (a deletion mid-walk may reorder it), so a slot costs
 * about one walk of the map, not one per entry. */
#define FORGET_BATCH 64
static void forget_slot(fr_fp_kernel *k, fr_fp_map m, uint32_t slot)
{
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    struct fr_fp_substream_key key, next, found[FORGET_BATCH];
    size_t n;

    _Static_assert(sizeof(struct fr_fp_substream_key) ==
                       sizeof(struct fr_fp_credit_key),
                   "both keys walk alike");
    do {
        const void *prev = NULL;

        n = 0;
        while (n < FORGET_BATCH &&
               ops->next_key(k->dp, m, prev, &next) == 0) {
            if (next.slot == slot ||
                (m == FR_FP_MAP_SUBSTREAMS && next.up_slot == slot))
                found[n++] = next;
            key = next;
            prev = &key;
        }
        for (size_t i = 0; i < n; i++)
            ops->remove(k->dp, m, &found[i]);
    } while (n == FORGET_BATCH);
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

void fr_fp_kernel_rx_pn_raise(fr_fp_kernel *k, uint32_t slot, uint64_t next)
{
    uint64_t have;

    /* The program raises it too, between the two calls at most by the
     * packets it opens meanwhile, far less than a decoding window. */
    if (slot_valid(k, slot) &&
        (k->dp->ops->lookup(k->dp, FR_FP_MAP_RX_PN, &slot, &have) ||
         have < next))
        k->dp->ops->update(k->dp, FR_FP_MAP_RX_PN, &slot, &next, FR_FP_ANY);
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

/* Where `sub` is in one page of a track's list, or -1. */
static int member(const struct fr_fp_subscribers *subs, uint32_t sub)
{
    for (uint32_t i = 0; i < subs->count && i < FR_FP_MAX_FANOUT; i++)
        if (subs->slots[i] == sub)
            return (int)i;
    return -1;
}

/* A track's list, read whole: its pages (numbered from 0 without a gap,
 * every page but the last full), how many there are, and the key of the
 * page after the last (when there is room for one). */
typedef struct track_list {
    struct fr_fp_track_key key[FR_FP_TRACK_PAGES];
    struct fr_fp_subscribers page[FR_FP_TRACK_PAGES];
    uint32_t npages;
} track_list;

static void track_read(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                       track_list *t)
{
    const fr_fp_dataplane_ops *ops = k->dp->ops;

    for (t->npages = 0; t->npages < FR_FP_TRACK_PAGES; t->npages++) {
        uint32_t p = t->npages;

        t->key[p] = (struct fr_fp_track_key){
            .upstream_slot = up, .page = p, .track_alias = alias};
        if (ops->lookup(k->dp, FR_FP_MAP_TRACK_SLOTS, &t->key[p],
                        &t->page[p]))
            break;
    }
}

static int track_write(fr_fp_kernel *k, track_list *t, uint32_t p)
{
    return update_error(k->dp->ops->update(k->dp, FR_FP_MAP_TRACK_SLOTS,
                                           &t->key[p], &t->page[p],
                                           FR_FP_ANY));
}

int fr_fp_kernel_track_join(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                            uint64_t down_alias, uint8_t default_priority,
                            uint32_t sub)
{
    track_list t;
    uint32_t p;

    if (!slot_valid(k, up) || !slot_valid(k, sub))
        return FR_ERR_INVALID_ARGUMENT;
    track_read(k, up, alias, &t);
    for (p = 0; p < t.npages; p++)
        if (member(&t.page[p], sub) >= 0)
            return FR_ERR_INVALID_STATE;
    p = t.npages ? t.npages - 1 : 0;
    if (t.npages && t.page[p].count >= FR_FP_MAX_FANOUT)
        p++;
    if (p == FR_FP_TRACK_PAGES)
        return FR_ERR_LIMIT;
    if (p == t.npages) /* a new page: track_read made its key */
        memset(&t.page[p], 0, sizeof(t.page[p]));
    t.page[p].slots[t.page[p].count++] = sub;
    t.page[p].default_priority = default_priority;
    t.page[p].down_alias = down_alias;
    /* Every page gives the kernel the latest join's default priority and
     * alias (the relay's are the same for every join of a track). */
    for (uint32_t q = 0; q < t.npages; q++)
        if (q != p && (t.page[q].default_priority != default_priority ||
                       t.page[q].down_alias != down_alias)) {
            t.page[q].default_priority = default_priority;
            t.page[q].down_alias = down_alias;
            track_write(k, &t, q);
        }
    return track_write(k, &t, p);
}

int fr_fp_kernel_track_leave(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                             uint32_t sub)
{
    const fr_fp_dataplane_ops *ops = k->dp->ops;
    track_list t;
    uint32_t p, last;
    int i = -1;

    track_read(k, up, alias, &t);
    for (p = 0; p < t.npages && (i = member(&t.page[p], sub)) < 0; p++)
        ;
    if (i < 0)
        return FR_ERR_INVALID_STATE;
    /* The last page's last member takes the place: pages stay without a
     * gap. The last page is written first, so that a packet fanned out
     * meanwhile misses that member (userspace sends what the kernel did
     * not) rather than copying to it twice. */
    last = t.npages - 1;
    t.page[p].slots[i] = t.page[last].slots[--t.page[last].count];
    if (t.page[last].count == 0) {
        if (ops->remove(k->dp, FR_FP_MAP_TRACK_SLOTS, &t.key[last]))
            return FR_ERR_BPF;
    } else if (track_write(k, &t, last)) {
        return FR_ERR_BPF;
    }
    if (p != last && track_write(k, &t, p))
        return FR_ERR_BPF;
    return 0;
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

int fr_fp_kernel_substream_claim(fr_fp_kernel *k, uint32_t slot, uint32_t up,
                                 uint64_t upstream_stream, uint64_t *stream,
                                 int *late)
{
    struct fr_fp_substream_key key = {
        .slot = slot, .up_slot = up, .upstream_stream = upstream_stream};
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
                                   uint32_t up, uint64_t upstream_stream)
{
    struct fr_fp_substream_key key = {
        .slot = slot, .up_slot = up, .upstream_stream = upstream_stream};

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
