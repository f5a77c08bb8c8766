/*
 * The fast path's two programs modelled in C, over the in-memory data
 * plane of fp_sim.h, so that a relay with fr_fastpath runs in virtual
 * time on net_sim.h: a tap on the relay's endpoint reads each datagram
 * as fr_upstream_ingress does (upstream CID, frames, subgroup headers,
 * the track's subscriber slots, each slot's stream), and each copy is
 * rewritten as fr_subscriber_egress does (credit, payload size, budget,
 * the wire packet number, the subscriber's CID and stream) and sent on
 * the simulated network, its sent event queued for the splice layer.
 *
 * It counts the programs' reasons (fastpath_kern_user.h) as they do;
 * test/bpf/test_fastpath_model.c runs the same packets through both and
 * compares verdicts, counters, copies and sent events, so the model
 * cannot drift from the programs unnoticed. Not modelled: IP and UDP
 * headers (the datagram is the UDP payload) and the CPUs racing.
 */
#ifndef FR_FP_MODEL_H
#define FR_FP_MODEL_H

#include "fp_sim.h"
#include "net_sim.h"

typedef struct fr_fp_model fr_fp_model;

/* A model over data plane `dp` (whose in-memory half is `sim`) for
 * upstream CIDs of `cid_len` bytes, sending copies on `net`. */
fr_fp_model *fr_fp_model_new(fr_fp_dataplane *dp, fr_fp_sim *sim,
                             size_t cid_len, fr_net *net);
void fr_fp_model_del(fr_fp_model *m);

/* The tap (net_sim.h) to put on the relay's endpoint, with the model as
 * its argument. */
void fr_fp_model_tap(void *model, const fr_quic_path *path, const uint8_t *d,
                     size_t len, fr_tstamp now);

/* The copy of upstream packet d[0..len) for subscriber slot `slot_id`, as
 * fr_subscriber_egress makes it, into out (room for a datagram of 1500
 * bytes): returns its length, with the slot's entry in *slot and its sent
 * event queued, or 0 when it is dropped (the reason counted). */
size_t fr_fp_model_rewrite(fr_fp_model *m, uint32_t slot_id,
                           const uint8_t *d, size_t len, fr_tstamp now,
                           uint8_t *out, struct fr_fp_slot *slot);

/* Copies the model sent (its sent events), and of them those lost on the
 * way. */
uint64_t fr_fp_model_copies(const fr_fp_model *m);
uint64_t fr_fp_model_dropped(const fr_fp_model *m);

/* Every n-th copy is lost after it left (0: none): the splice layer has
 * its sent event, the subscriber never gets it. */
void fr_fp_model_drop_every(fr_fp_model *m, uint64_t n);

#endif
