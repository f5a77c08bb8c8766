/*
 * A data plane in memory (lib/fastpath/dataplane.h), standing in for the
 * BPF programs so that the fast path's bookkeeping runs in unit tests
 * without root: maps as bounded tables with the bpf(2) calls' results,
 * the shared pool and send-state arrays, a queue of sent events, and
 * routing tables in /proc's format for the hosts a test names.
 */
#ifndef FR_FP_SIM_H
#define FR_FP_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/fastpath/dataplane.h"

typedef struct fr_fp_sim fr_fp_sim;

/* A data plane whose maps hold `capacity` entries each (past it an
 * insert fails with -E2BIG). *sim lets the test reach it afterwards. */
fr_fp_dataplane *fr_fp_sim_new(size_t capacity, fr_fp_sim **sim);

/* Entries map `m` holds now. */
size_t fr_fp_sim_entries(const fr_fp_sim *sim, fr_fp_map m);

/* The next lookup of `key` in map `m` that finds nothing is followed, at
 * once, by an insert of `value` into it, as if the programs wrote it on
 * another CPU right then (key_len and value_len bytes). */
void fr_fp_sim_race(fr_fp_sim *sim, fr_fp_map m, const void *key,
                    size_t key_len, const void *value, size_t value_len);

/* Queues a sent event, for the next poll_sent. */
void fr_fp_sim_sent(fr_fp_sim *sim, const struct fr_fp_sent_event *ev);

/* Counts `reason` for the program of `role`. */
void fr_fp_sim_count(fr_fp_sim *sim, fr_fp_role role, uint32_t reason);

/* A host the routing tables reach: `ip` (dotted quad) on the link, its
 * neighbour entry complete with `mac`. */
void fr_fp_sim_host(fr_fp_sim *sim, const char *ip, const uint8_t mac[6]);

/* From now on the data plane attaches as the BPF one does: the fast path
 * makes each attachment on a thread (attach_job.h). */
void fr_fp_sim_attach_on_threads(fr_fp_sim *sim);

/* Closed (open 0), attachments wait until it is opened again. */
void fr_fp_sim_attach_gate(fr_fp_sim *sim, int open);

/* Interfaces attached so far, and to which program. */
size_t fr_fp_sim_attached(const fr_fp_sim *sim, fr_fp_role role);

#endif
