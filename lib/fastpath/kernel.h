/*
 * The kernel side of the fast path, owned from userspace: the loaded
 * programs, their attachments and every map. Upstream connections and
 * subscriber connections get slots (small integers the maps are keyed
 * by); this module hands them out and writes what the programs read.
 * Not thread-safe: one relay loop owns it.
 */
#ifndef FR_FP_KERNEL_H
#define FR_FP_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"

typedef struct fr_fp_kernel fr_fp_kernel;

/* Loads the programs for upstream CIDs of `cid_len` bytes (the relay's
 * own CID length, fr_quic_settings.cid_len), for protected 1-RTT packets
 * if `tls` (else cleartext). Returns 0 or a negative FR_ERR_*. Here and
 * below, `why` (whylen bytes, NULL if whylen is 0) gets a readable reason
 * on failure. */
int fr_fp_kernel_open(fr_fp_kernel **out, size_t cid_len, int tls, char *why,
                      size_t whylen);

/* The same over another data plane (a test's), which it then owns (and
 * closes on failure). */
int fr_fp_kernel_on(fr_fp_kernel **out, fr_fp_dataplane *dp);

/* Detaches everything attached and unloads. NULL is ignored. */
void fr_fp_kernel_close(fr_fp_kernel *k);

/* Attaches the program of `role` to ifindex (ingress for upstream,
 * egress for subscribers); at most once per interface and role. */
int fr_fp_kernel_attach(fr_fp_kernel *k, int ifindex, fr_fp_role role,
                        fr_fp_attach_mode mode, char *why, size_t whylen);

int fr_fp_kernel_is_attached(const fr_fp_kernel *k, int ifindex,
                             fr_fp_role role);

/* As fr_fp_kernel_attach, for the relay's loop: where the data plane's
 * attach waits in the kernel (dataplane.h, attach_blocks) the attachment
 * is made on a thread of its own, alongside any other under way, and
 * this returns FR_ERR_INVALID_STATE (not yet) until
 * fr_fp_kernel_attach_poll has taken it in; after that, 0, or the error
 * it failed with (not tried again; `why` is empty then: the poll
 * reported it). */
int fr_fp_kernel_attach_soon(fr_fp_kernel *k, int ifindex, fr_fp_role role,
                             fr_fp_attach_mode mode, char *why,
                             size_t whylen);

/* Whether an attachment is being made off the loop. */
int fr_fp_kernel_attaching(const fr_fp_kernel *k);
/* Takes in one attachment made off the loop that is done: returns 1
 * (made; *ifindex says where), a negative FR_ERR_* (failed: `why` says
 * why), or 0 (none ended); call again until 0. */
int fr_fp_kernel_attach_poll(fr_fp_kernel *k, int *ifindex, char *why,
                             size_t whylen);

/* The loaded skeleton, for tests that run the programs directly (NULL on
 * another data plane than BPF's). */
struct fastpath *fr_fp_kernel_skeleton(fr_fp_kernel *k);

/* The routing and neighbour tables the data plane's copies follow. */
int fr_fp_kernel_tables_read(fr_fp_kernel *k, fr_nexthop_tables *t);

/* A free slot, for an upstream or a subscriber connection; released with
 * fr_fp_kernel_slot_free. */
int fr_fp_kernel_slot_alloc(fr_fp_kernel *k, uint32_t *slot);

/* Deactivates the slot, forgets its streams' translations and credits,
 * empties its pool and frees it. Its track memberships must be left first. */
void fr_fp_kernel_slot_free(fr_fp_kernel *k, uint32_t slot);

/* Where copies for subscriber `slot` go and how they look (s->gen is set
 * here). */
int fr_fp_kernel_slot_set(fr_fp_kernel *k, uint32_t slot,
                          const struct fr_fp_slot *s);

/* tls mode: the slot's 1-RTT keys (ours for a subscriber, the peer's for
 * an upstream connection); write the phase not in use only. Freeing the
 * slot wipes them. */
int fr_fp_kernel_keys_set(fr_fp_kernel *k, uint32_t slot,
                          const struct fr_fp_keys *keys);
/* tls mode: raises upstream slot `slot`'s record of the packet numbers it
 * opened (the largest plus one) to `next` unless it is there already. */
void fr_fp_kernel_rx_pn_raise(fr_fp_kernel *k, uint32_t slot, uint64_t next);

/* The slot's generation: a record whose gen differs was made for a
 * connection that held the slot before (a copy in flight on another CPU
 * when it was freed). */
uint16_t fr_fp_kernel_slot_gen(const fr_fp_kernel *k, uint32_t slot);

/* Packets with this DCID belong to upstream connection `slot`. */
int fr_fp_kernel_upstream_cid_add(fr_fp_kernel *k, uint32_t slot,
                                  const uint8_t *cid, size_t len);
int fr_fp_kernel_upstream_cid_remove(fr_fp_kernel *k, const uint8_t *cid,
                                     size_t len);

/* Subscriber `sub` gets, or stops getting, track `alias` of upstream
 * connection `up`, whose subgroups without a priority of their own have
 * `default_priority`, and which its subscribers know by `down_alias`
 * (the kernel writes it into the subgroup headers it forwards). */
int fr_fp_kernel_track_join(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                            uint64_t down_alias, uint8_t default_priority,
                            uint32_t sub);
int fr_fp_kernel_track_leave(fr_fp_kernel *k, uint32_t up, uint64_t alias,
                             uint32_t sub);

/* Hands up to n stream IDs to subscriber `slot`'s pool; returns how many
 * it took (the pool holds FR_FP_POOL_SIZE). */
size_t fr_fp_kernel_pool_refill(fr_fp_kernel *k, uint32_t slot,
                                const uint64_t *ids, size_t n);

/* IDs the pool still holds. */
size_t fr_fp_kernel_pool_level(fr_fp_kernel *k, uint32_t slot);

/* How often the program of `role` counted `reason` (enum fr_fp_reason for
 * upstream ingress, enum fr_fp_egress_reason for subscriber egress). */
uint64_t fr_fp_kernel_count(fr_fp_kernel *k, fr_fp_role role,
                            uint32_t reason);

/* Who serves stream `upstream_stream` of upstream `up` to subscriber
 * `slot`, decided once (see fr_fp_substreams): returns 0 with *stream set
 * if the kernel does (it took *stream from the slot's pool at the stream's
 * first packet), 1 if userspace does: the kernel gave it no stream, and now
 * will not. *late is set when the kernel's entry appeared between a look
 * that found none and the claim. Negative FR_ERR_* on failure. */
int fr_fp_kernel_substream_claim(fr_fp_kernel *k, uint32_t slot, uint32_t up,
                                 uint64_t upstream_stream, uint64_t *stream,
                                 int *late);

/* The kernel stops forwarding stream `upstream_stream` of upstream `up`
 * to subscriber `slot`, and forgets who served it. */
void fr_fp_kernel_substream_forget(fr_fp_kernel *k, uint32_t slot,
                                   uint32_t up, uint64_t upstream_stream);

/* Subscriber `slot`'s stream `stream` may take data up to offset `credit`
 * (its MAX_STREAM_DATA grew). */
int fr_fp_kernel_credit_set(fr_fp_kernel *k, uint32_t slot, uint64_t stream,
                            uint64_t credit);

/* The send state of subscriber `slot`, shared with the kernel (wire
 * numbers, budget, key phase; see struct fr_fp_tx). Zero while the slot
 * is free; a spliced connection moves its own into it. */
struct fr_fp_tx *fr_fp_kernel_tx(fr_fp_kernel *k, uint32_t slot);

/* Calls `on_sent` for each copy the kernel reported sending since the
 * last call; returns how many, or a negative FR_ERR_*. */
int fr_fp_kernel_poll_sent(fr_fp_kernel *k, fr_fp_sent_cb on_sent,
                           void *user_data);

#endif
