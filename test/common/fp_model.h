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
 * Where it is simpler than the programs: a subgroup header must come
 * whole in its stream's first frame (the programs also piece one
 * together from the next frame), and packets are IPv4 only as theirs.
 * The verdicts and reasons counted are the programs'
 * (fastpath_kern_user.h).
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

/* Copies the model sent (its sent events), and of them those lost on the
 * way. */
uint64_t fr_fp_model_copies(const fr_fp_model *m);
uint64_t fr_fp_model_dropped(const fr_fp_model *m);

/* Every n-th copy is lost after it left (0: none): the splice layer has
 * its sent event, the subscriber never gets it. */
void fr_fp_model_drop_every(fr_fp_model *m, uint64_t n);

#endif
