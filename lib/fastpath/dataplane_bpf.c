/* The BPF data plane (dataplane.h): the loaded programs and their maps. */
#include "dataplane.h"

#include <errno.h>
#include <pthread.h>
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
#define MAX_CPUS 1024

typedef struct bpf_dataplane {
    fr_fp_dataplane dp; /* first: the ops get this */
    struct fastpath *skel;
    struct ring_buffer *sent;
    size_t pools_size;
    size_t tx_size;
    fr_fp_attachment att[MAX_ATTACHMENTS];
    int natt;
    pthread_mutex_t att_lock; /* natt, for attach ops on threads */
    /* During poll_sent. */
    fr_fp_sent_cb on_sent;
    void *user_data;
} bpf_dataplane;

static bpf_dataplane *bpf_of(fr_fp_dataplane *dp)
{
    return (bpf_dataplane *)dp;
}

static int map_fd(fr_fp_dataplane *dp, fr_fp_map m)
{
    struct fastpath *skel = bpf_of(dp)->skel;
    const struct bpf_map *maps[FR_FP_MAPS] = {
        [FR_FP_MAP_UPSTREAM_CIDS] = skel->maps.fr_fp_upstream_cids,
        [FR_FP_MAP_SLOTS] = skel->maps.fr_fp_slots,
        [FR_FP_MAP_SUBSTREAMS] = skel->maps.fr_fp_substreams,
        [FR_FP_MAP_CREDIT] = skel->maps.fr_fp_credit,
        [FR_FP_MAP_TRACK_SLOTS] = skel->maps.fr_fp_track_slots,
        [FR_FP_MAP_KEYS] = skel->maps.fr_fp_keys,
        [FR_FP_MAP_RX_PN] = skel->maps.fr_fp_rx_pn,
    };

    return bpf_map__fd(maps[m]);
}

/* A bpf(2) call's result as dataplane.h has it. */
static int result(int rv)
{
    return rv == 0 ? 0 : -errno;
}

static int lookup(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  void *value)
{
    return result(bpf_map_lookup_elem(map_fd(dp, m), key, value));
}

static int update(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  const void *value, int flags)
{
    return result(bpf_map_update_elem(
        map_fd(dp, m), key, value,
        flags == FR_FP_NOEXIST ? BPF_NOEXIST : BPF_ANY));
}

static int remove_key(fr_fp_dataplane *dp, fr_fp_map m, const void *key)
{
    return result(bpf_map_delete_elem(map_fd(dp, m), key));
}

static int next_key(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                    void *next)
{
    return result(bpf_map_get_next_key(map_fd(dp, m), key, next));
}

static int on_ring(void *ctx, void *data, size_t len)
{
    bpf_dataplane *b = ctx;

    if (len >= sizeof(struct fr_fp_sent_event))
        b->on_sent(data, b->user_data);
    return 0;
}

static int poll_sent(fr_fp_dataplane *dp, fr_fp_sent_cb on_sent,
                     void *user_data)
{
    bpf_dataplane *b = bpf_of(dp);
    int n;

    b->on_sent = on_sent;
    b->user_data = user_data;
    n = ring_buffer__consume(b->sent);
    return n < 0 ? FR_ERR_BPF : n;
}

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

static uint64_t count(fr_fp_dataplane *dp, fr_fp_role role, uint32_t reason)
{
    struct fastpath *skel = bpf_of(dp)->skel;
    uint64_t sum;

    fr_fp_percpu_sum(role == FR_FP_ROLE_UPSTREAM
                         ? skel->maps.fr_fp_reasons
                         : skel->maps.fr_fp_egress_reasons,
                     reason, &sum);
    return sum;
}

static int attach(fr_fp_dataplane *dp, int ifindex, fr_fp_role role,
                  fr_fp_attach_mode mode, char *why, size_t whylen)
{
    bpf_dataplane *b = bpf_of(dp);
    int egress = role == FR_FP_ROLE_SUBSCRIBERS;
    const struct bpf_program *prog = egress
                                         ? b->skel->progs.fr_subscriber_egress
                                         : b->skel->progs.fr_upstream_ingress;
    int at;

    /* Several threads may attach at once (dataplane.h): each takes an
     * entry; one whose attachment failed stays empty. */
    pthread_mutex_lock(&b->att_lock);
    at = b->natt < MAX_ATTACHMENTS ? b->natt++ : -1;
    pthread_mutex_unlock(&b->att_lock);
    if (at < 0) {
        snprintf(why, whylen, "more than %d attachments", MAX_ATTACHMENTS);
        return FR_ERR_LIMIT;
    }
    /* A relay that crashed may have left its tc filter behind. */
    fr_fp_remove_stale(ifindex, egress, TC_HANDLE, TC_PRIORITY);
    if (fr_fp_attach(&b->att[at], prog, ifindex, egress, mode, TC_HANDLE,
                     TC_PRIORITY, why, whylen))
        return FR_ERR_BPF;
    return 0;
}

static int tables_read(fr_fp_dataplane *dp, fr_nexthop_tables *t)
{
    (void)dp;
    return fr_nexthop_tables_read(t);
}

static void close_bpf(fr_fp_dataplane *dp)
{
    bpf_dataplane *b = bpf_of(dp);

    for (int i = 0; i < b->natt; i++)
        fr_fp_detach(&b->att[i]);
    ring_buffer__free(b->sent);
    if (dp->pools)
        munmap(dp->pools, b->pools_size);
    if (dp->tx)
        munmap(dp->tx, b->tx_size);
    fastpath__destroy(b->skel);
    pthread_mutex_destroy(&b->att_lock);
    free(b);
}

static const fr_fp_dataplane_ops bpf_ops = {
    .lookup = lookup,
    .update = update,
    .remove = remove_key,
    .next_key = next_key,
    .poll_sent = poll_sent,
    .count = count,
    .attach = attach,
    .attach_blocks = 1,
    .tables_read = tables_read,
    .close = close_bpf,
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

int fr_fp_dataplane_bpf(fr_fp_dataplane **out, size_t cid_len, int tls,
                        char *why, size_t whylen)
{
    bpf_dataplane *b = calloc(1, sizeof(*b));
    int err;

    if (!b)
        return FR_ERR_NOMEM;
    pthread_mutex_init(&b->att_lock, NULL);
    b->dp.ops = &bpf_ops;
    b->skel = fastpath__open();
    if (!b->skel) {
        snprintf(why, whylen, "cannot open the BPF object: %s",
                 strerror(errno));
        free(b);
        return FR_ERR_BPF;
    }
    b->skel->rodata->upstream_dcid_len = (uint8_t)cid_len;
    b->skel->rodata->tls_mode = tls != 0;
    fr_fp_set_direction(b->skel->progs.fr_upstream_ingress, 0);
    fr_fp_set_direction(b->skel->progs.fr_subscriber_egress, 1);
    err = fastpath__load(b->skel);
    if (err) {
        snprintf(why, whylen,
                 "cannot load the BPF programs (%s); root or CAP_BPF and "
                 "CAP_NET_ADMIN are needed",
                 strerror(-err));
        goto fail;
    }
    b->dp.pools = map_mmap(b->skel->maps.fr_fp_pools, &b->pools_size);
    b->dp.tx = map_mmap(b->skel->maps.fr_fp_tx, &b->tx_size);
    b->sent = ring_buffer__new(bpf_map__fd(b->skel->maps.fr_fp_sent),
                               on_ring, b, NULL);
    if (!b->dp.pools || !b->dp.tx || !b->sent) {
        snprintf(why, whylen, "cannot map the BPF maps: %s",
                 strerror(errno));
        goto fail;
    }
    *out = &b->dp;
    return 0;
fail:
    close_bpf(&b->dp);
    return FR_ERR_BPF;
}

struct fastpath *fr_fp_dataplane_bpf_skeleton(fr_fp_dataplane *dp)
{
    return dp->ops == &bpf_ops ? bpf_of(dp)->skel : NULL;
}
