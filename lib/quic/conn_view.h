/*
 * What the layers above lib/quic read of its connections and endpoints
 * beyond the public API (lib/fastpath: the kernel must know a connection's
 * identifiers, path and limits as ngtcp2 has them).
 */
#ifndef FR_QUIC_CONN_VIEW_H
#define FR_QUIC_CONN_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2.h>

#include <fastrelay/quic.h>

#include "packet_keys.h"

/* The connection's ngtcp2 connection, for its getters only. */
ngtcp2_conn *fr_conn_ngtcp2(const fr_quic_conn *c);
/* The connection's own CIDs in use (what the peer's packets may carry as
 * DCID): sets *cids, returns how many; *gen changes whenever they do. */
size_t fr_conn_local_cids(const fr_quic_conn *c, const ngtcp2_cid **cids,
                          uint32_t *gen);
/* tls mode, a client connection of an endpoint that keeps them
 * (conn_hooks.h, fr_conn_keep_rx_keys) or a connection protected at the
 * wire: the peer's 1-RTT packet protection keys of key phase `phase`, its
 * newest generation (the next one is kept before the peer uses it). Returns 0, FR_ERR_UNSUPPORTED when the suite is not
 * ChaCha20-Poly1305, FR_ERR_INVALID_STATE when there are none. */
int fr_conn_rx_keys(const fr_quic_conn *c, int phase, fr_packet_keys *k);
/* The same connections: the largest 1-RTT packet number of the peer's
 * opened here (by ngtcp2 or at the wire). Returns 0, or
 * FR_ERR_INVALID_STATE before the first. */
int fr_conn_rx_largest_pn(const fr_quic_conn *c, uint64_t *pn);
/* Changes whenever those keys do. */
uint32_t fr_conn_rx_keys_changes(const fr_quic_conn *c);
/* The settings the endpoint was made with. */
const fr_quic_settings *fr_ep_settings(const fr_quic_endpoint *ep);

#endif
