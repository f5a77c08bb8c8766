/*
 * The data plane under kernel.c: what the fast path's bookkeeping needs of
 * the programs that forward (maps, shared arrays, the sent-event ring,
 * counters, attachment) and of the host (its routing tables). The BPF
 * data plane (dataplane_bpf.c) is the product; tests give kernel.c one of
 * their own, in memory, to run the fast path in virtual time.
 */
#ifndef FR_FP_DATAPLANE_H
#define FR_FP_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "fastpath_kern_user.h"
#include "nexthop.h"

/* The maps userspace writes, each keyed and valued as its BPF map. */
typedef enum fr_fp_map {
    FR_FP_MAP_UPSTREAM_CIDS, /* fr_fp_cid_key -> fr_fp_upstream */
    FR_FP_MAP_SLOTS,         /* __u32 slot -> fr_fp_slot */
    FR_FP_MAP_SUBSTREAMS,    /* fr_fp_substream_key -> __u64 */
    FR_FP_MAP_CREDIT,        /* fr_fp_credit_key -> __u64 */
    FR_FP_MAP_TRACK_SLOTS,   /* fr_fp_track_key -> fr_fp_subscribers */
    FR_FP_MAP_KEYS,          /* __u32 slot -> fr_fp_keys (tls mode) */
    FR_FP_MAP_RX_PN,         /* __u32 slot -> __u64: largest opened + 1 */
    FR_FP_MAPS
} fr_fp_map;

typedef enum fr_fp_role {
    FR_FP_ROLE_UPSTREAM,   /* ingress program: packets from origins */
    FR_FP_ROLE_SUBSCRIBERS /* egress program: copies towards subscribers */
} fr_fp_role;

/* Update flags, as BPF_ANY and BPF_NOEXIST. */
#define FR_FP_ANY 0
#define FR_FP_NOEXIST 1

typedef void (*fr_fp_sent_cb)(const struct fr_fp_sent_event *ev,
                              void *user_data);

typedef struct fr_fp_dataplane fr_fp_dataplane;

/* Each map function returns 0, or a negative errno (-ENOENT: no such key,
 * -EEXIST: FR_FP_NOEXIST and the key is there, -E2BIG: the map is full),
 * as the bpf(2) calls do. */
typedef struct fr_fp_dataplane_ops {
    int (*lookup)(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  void *value);
    int (*update)(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  const void *value, int flags);
    int (*remove)(fr_fp_dataplane *dp, fr_fp_map m, const void *key);
    /* The key after `key` (NULL: the first) in the map's own order. */
    int (*next_key)(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                    void *next);
    /* Calls on_sent for each copy sent since the last call; returns how
     * many, or a negative FR_ERR_*. */
    int (*poll_sent)(fr_fp_dataplane *dp, fr_fp_sent_cb on_sent,
                     void *user_data);
    /* How often the program of `role` counted `reason`. */
    uint64_t (*count)(fr_fp_dataplane *dp, fr_fp_role role,
                      uint32_t reason);
    /* Runs the program of `role` on interface `ifindex` (at most once
     * per interface and role: kernel.c checks). */
    int (*attach)(fr_fp_dataplane *dp, int ifindex, fr_fp_role role,
                  fr_fp_attach_mode mode, char *why, size_t whylen);
    /* Nonzero when attach waits in the kernel: fr_fp_kernel_attach_soon
     * then calls it on a thread of its own (attach_job.h), one per
     * attachment, several at once; those threads call nothing else of
     * the data plane. */
    int attach_blocks;
    /* The host's routing and neighbour tables now. */
    int (*tables_read)(fr_fp_dataplane *dp, fr_nexthop_tables *t);
    /* Detaches and unloads everything; frees dp. */
    void (*close)(fr_fp_dataplane *dp);
} fr_fp_dataplane_ops;

/* A data plane: its ops, and the arrays it shares with userspace (one
 * entry per slot, FR_FP_MAX_SLOTS each). */
struct fr_fp_dataplane {
    const fr_fp_dataplane_ops *ops;
    struct fr_fp_pool *pools;
    struct fr_fp_tx *tx;
};

/* The BPF data plane (dataplane_bpf.c). */

struct bpf_map;
struct fastpath;

/* Loads the BPF programs for upstream CIDs of `cid_len` bytes, for
 * protected 1-RTT packets if `tls` (else cleartext ones). Returns 0 with
 * *out set, or a negative FR_ERR_* with a reason in `why`. */
int fr_fp_dataplane_bpf(fr_fp_dataplane **out, size_t cid_len, int tls,
                        char *why, size_t whylen);
/* Its loaded skeleton, for tests that run the programs directly (NULL for
 * another data plane). */
struct fastpath *fr_fp_dataplane_bpf_skeleton(fr_fp_dataplane *dp);
/* The sum over every CPU of entry `key` of a per-CPU array of __u64
 * counters. Returns 0 or FR_ERR_BPF. */
int fr_fp_percpu_sum(const struct bpf_map *map, uint32_t key, uint64_t *sum);

#endif
