/* The kernel side of the fast path, owned from userspace. */
#include "kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fastrelay/error.h>

#include "fastpath.skel.h"

/* tc filters (where tcx is missing) sit at this handle and priority. */
#define TC_HANDLE 0xfa57
#define TC_PRIORITY 0xfa
#define MAX_ATTACHMENTS 32

struct attached {
    int ifindex;
    fr_fp_role role;
    fr_fp_attachment a;
};

struct fr_fp_kernel {
    struct fastpath *skel;
    struct ring_buffer *sent;
    struct fr_fp_pool *pools; /* mmapped fr_fp_pools */
    size_t pools_size;
    struct fr_fp_tx *tx;      /* mmapped fr_fp_tx */
    size_t tx_size;
    uint8_t used[FR_FP_MAX_SLOTS / 8];
    uint16_t gen[FR_FP_MAX_SLOTS]; /* advanced when a slot is freed */
    struct attached att[MAX_ATTACHMENTS];
    int natt;
    /* During fr_fp_kernel_poll_sent. */
    fr_fp_sent_cb on_sent;
    void *user_data;
};

static size_t page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (n + page - 1) / page * page;
}

static void *map_mmap(const struct bpf_map *map, size_t *size)
{
    void *p;

    *size = page_round((size_t)bpf_map__value_size(map) *
                       bpf_map__max_entries(map));
    p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED,
             bpf_map__fd(map), 0);
    return p == MAP_FAILED ? NULL : p;
}

static int on_ring(void *ctx, void *data, size_t len)
{
    fr_fp_kernel *k = ctx;

    if (len >= sizeof(struct fr_fp_sent_event))
        k->on_sent(data, k->user_data);
    return 0;
}

int fr_fp_kernel_open(fr_fp_kernel **out, size_t cid_len, char *why,
                      size_t whylen)
{
    fr_fp_kernel *k;
    int err;

    if (!out || cid_len == 0 || cid_len > FR_FP_CID_MAX) {
        snprintf(why, whylen, "CID length %zu not in 1..%d", cid_len,
                 FR_FP_CID_MAX);
        return FR_ERR_INVALID_ARGUMENT;
    }
    k = calloc(1, sizeof(*k));
    if (!k)
        return FR_ERR_NOMEM;
    k->skel = fastpath__open();
    if (!k->skel) {
        snprintf(why, whylen, "cannot open the BPF object: %s",
                 strerror(errno));
        free(k);
        return FR_ERR_BPF;
    }
    k->skel->rodata->upstream_dcid_len = (uint8_t)cid_len;
    fr_fp_set_direction(k->skel->progs.fr_upstream_ingress, 0);
    fr_fp_set_direction(k->skel->progs.fr_subscriber_egress, 1);
    err = fastpath__load(k->skel);
    if (err) {
        snprintf(why, whylen,
                 "cannot load the BPF programs (%s); root or CAP_BPF and "
                 "CAP_NET_ADMIN are needed",
                 strerror(-err));
        goto fail;
    }
    k->pools = map_mmap(k->skel->maps.fr_fp_pools, &k->pools_size);
    k->tx = map_mmap(k->skel->maps.fr_fp_tx, &k->tx_size);
    k->sent = ring_buffer__new(bpf_map__fd(k->skel->maps.fr_fp_sent),
                               on_ring, k, NULL);
    if (!k->pools || !k->tx || !k->sent) {
        snprintf(why, whylen, "cannot map the BPF maps: %s",
                 strerror(errno));
        goto fail;
    }
    *out = k;
    return 0;
fail:
    fr_fp_kernel_close(k);
    return FR_ERR_BPF;
}

void fr_fp_kernel_close(fr_fp_kernel *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->natt; i++)
        fr_fp_detach(&k->att[i].a);
    ring_buffer__free(k->sent);
    if (k->pools)
        munmap(k->pools, k->pools_size);
    if (k->tx)
        munmap(k->tx, k->tx_size);
    fastpath__destroy(k->skel);
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
    int egress = role == FR_FP_ROLE_SUBSCRIBERS;
    const struct bpf_program *prog = egress
                                         ? k->skel->progs.fr_subscriber_egress
                                         : k->skel->progs.fr_upstream_ingress;
    struct attached *at;

    if (fr_fp_kernel_is_attached(k, ifindex, role)) {
        snprintf(why, whylen, "already attached to interface %d", ifindex);
        return FR_ERR_INVALID_STATE;
    }
    if (k->natt == MAX_ATTACHMENTS) {
        snprintf(why, whylen, "more than %d attachments", MAX_ATTACHMENTS);
        return FR_ERR_LIMIT;
    }
    /* A relay that crashed may have left its tc filter behind. */
    fr_fp_remove_stale(ifindex, egress, TC_HANDLE, TC_PRIORITY);
    at = &k->att[k->natt];
    if (fr_fp_attach(&at->a, prog, ifindex, egress, mode, TC_HANDLE,
                     TC_PRIORITY, why, whylen))
        return FR_ERR_BPF;
    at->ifindex = ifindex;
    at->role = role;
    k->natt++;
    return 0;
}

struct fastpath *fr_fp_kernel_skeleton(fr_fp_kernel *k)
{
    return k->skel;
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
static void forget_slot(const struct bpf_map *map, uint32_t slot)
{
    int fd = bpf_map__fd(map);
    struct fr_fp_substream_key key, next;
    const void *prev = NULL;

    _Static_assert(sizeof(struct fr_fp_substream_key) ==
                       sizeof(struct fr_fp_credit_key),
                   "both keys walk alike");
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        if (next.slot == slot) {
            bpf_map_delete_elem(fd, &next);
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
    if (!slot_valid(k, slot))
        return;
    bpf_map_delete_elem(bpf_map__fd(k->skel->maps.fr_fp_slots), &slot);
    forget_slot(k->skel->maps.fr_fp_substreams, slot);
    forget_slot(k->skel->maps.fr_fp_credit, slot);
    __atomic_store_n(&k->pools[slot].tail, k->pools[slot].head,
                     __ATOMIC_RELEASE);
    memset(&k->tx[slot], 0, sizeof(k->tx[slot]));
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
    return bpf_map_update_elem(bpf_map__fd(k->skel->maps.fr_fp_slots), &slot,
                               &v, BPF_ANY)
               ? FR_ERR_BPF
               : 0;
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
    if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.fr_fp_upstream_cids),
                            &key, &up, BPF_ANY))
        return errno == E2BIG ? FR_ERR_LIMIT : FR_ERR_BPF;
    return 0;
}

int fr_fp_kernel_upstream_cid_remove(fr_fp_kernel *k, const uint8_t *cid,
                                     size_t len)
{
    struct fr_fp_cid_key key;

    if (cid_key(&key, cid, len))
        return FR_ERR_INVALID_ARGUMENT;
    bpf_map_delete_elem(bpf_map__fd(k->skel->maps.fr_fp_upstream_cids), &key);
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
    int fd = bpf_map__fd(k->skel->maps.fr_fp_track_slots);
    struct fr_fp_subscribers subs;

    if (!slot_valid(k, up) || !slot_valid(k, sub))
        return FR_ERR_INVALID_ARGUMENT;
    if (bpf_map_lookup_elem(fd, &key, &subs))
        memset(&subs, 0, sizeof(subs));
    if (member(&subs, sub) >= 0)
        return FR_ERR_INVALID_STATE;
    if (subs.count >= FR_FP_MAX_FANOUT)
        return FR_ERR_LIMIT;
    subs.slots[subs.count++] = sub;
    subs.default_priority = default_priority;
    if (bpf_map_update_elem(fd, &key, &subs, BPF_ANY))
        return errno == E2BIG ? FR_ERR_LIMIT : FR_ERR_BPF;
    return 0;
}

int fr_fp_kernel_track_leave(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                             uint32_t sub)
{
    struct fr_fp_track_key key = {.upstream_slot = up, .track_alias = alias};
    int fd = bpf_map__fd(k->skel->maps.fr_fp_track_slots);
    struct fr_fp_subscribers subs;
    int i;

    if (bpf_map_lookup_elem(fd, &key, &subs) || (i = member(&subs, sub)) < 0)
        return FR_ERR_INVALID_STATE;
    subs.slots[i] = subs.slots[--subs.count];
    if (subs.count == 0)
        return bpf_map_delete_elem(fd, &key) ? FR_ERR_BPF : 0;
    return bpf_map_update_elem(fd, &key, &subs, BPF_ANY) ? FR_ERR_BPF : 0;
}

size_t fr_fp_kernel_pool_level(fr_fp_kernel *k, uint32_t slot)
{
    struct fr_fp_pool *p;

    if (!slot_valid(k, slot))
        return 0;
    p = &k->pools[slot];
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
    p = &k->pools[slot];
    room = FR_FP_POOL_SIZE - fr_fp_kernel_pool_level(k, slot);
    take = n < room ? n : room;
    tail = p->tail;
    for (size_t i = 0; i < take; i++)
        p->ids[(tail + i) % FR_FP_POOL_SIZE] = ids[i];
    /* The IDs are in place before the kernel can see the new tail. */
    __atomic_store_n(&p->tail, tail + (uint32_t)take, __ATOMIC_RELEASE);
    return take;
}

#define MAX_CPUS 1024

int fr_fp_percpu_sum(const struct bpf_map *map, uint32_t key, uint64_t *sum)
{
    static uint64_t vals[MAX_CPUS];
    int ncpu = libbpf_num_possible_cpus();

    *sum = 0;
    if (ncpu <= 0 || ncpu > MAX_CPUS ||
        bpf_map__lookup_elem(map, &key, sizeof(key), vals,
                             sizeof(uint64_t) * (size_t)ncpu, 0) != 0)
        return FR_ERR_BPF;
    for (int i = 0; i < ncpu; i++)
        *sum += vals[i];
    return 0;
}

uint64_t fr_fp_kernel_count(fr_fp_kernel *k, fr_fp_role role, uint32_t reason)
{
    uint64_t sum;

    fr_fp_percpu_sum(role == FR_FP_ROLE_UPSTREAM
                         ? k->skel->maps.fr_fp_reasons
                         : k->skel->maps.fr_fp_egress_reasons,
                     reason, &sum);
    return sum;
}

int fr_fp_kernel_substream_claim(fr_fp_kernel *k, uint32_t slot,
                                 uint64_t upstream_stream, uint64_t *stream,
                                 int *late)
{
    struct fr_fp_substream_key key = {.slot = slot,
                                      .upstream_stream = upstream_stream};
    uint64_t mine = FR_FP_SUBSTREAM_USERSPACE;
    int fd;

    *late = 0;
    if (!slot_valid(k, slot))
        return FR_ERR_INVALID_ARGUMENT;
    fd = bpf_map__fd(k->skel->maps.fr_fp_substreams);
    if (bpf_map_lookup_elem(fd, &key, stream) != 0) {
        if (bpf_map_update_elem(fd, &key, &mine, BPF_NOEXIST) == 0)
            return 1;
        if (errno != EEXIST || bpf_map_lookup_elem(fd, &key, stream) != 0)
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
        bpf_map_delete_elem(bpf_map__fd(k->skel->maps.fr_fp_substreams),
                            &key);
}

int fr_fp_kernel_credit_set(fr_fp_kernel *k, uint32_t slot, uint64_t stream,
                            uint64_t credit)
{
    struct fr_fp_credit_key key = {.slot = slot, .stream = stream};

    if (!slot_valid(k, slot))
        return FR_ERR_INVALID_ARGUMENT;
    return bpf_map_update_elem(bpf_map__fd(k->skel->maps.fr_fp_credit), &key,
                               &credit, BPF_ANY)
               ? FR_ERR_BPF
               : 0;
}

struct fr_fp_tx *fr_fp_kernel_tx(fr_fp_kernel *k, uint32_t slot)
{
    return slot_valid(k, slot) ? &k->tx[slot] : NULL;
}

int fr_fp_kernel_poll_sent(fr_fp_kernel *k, fr_fp_sent_cb on_sent,
                           void *user_data)
{
    int n;

    k->on_sent = on_sent;
    k->user_data = user_data;
    n = ring_buffer__consume(k->sent);
    return n < 0 ? FR_ERR_BPF : n;
}
