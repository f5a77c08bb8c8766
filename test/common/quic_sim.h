/*
 * An in-memory network for QUIC endpoint tests: two endpoints whose sent
 * datagrams are delivered to each other after a fixed one-way delay, in
 * virtual time. Deterministic and fast; no sockets.
 */
#ifndef FR_QUIC_SIM_H
#define FR_QUIC_SIM_H

#include <fastrelay/fastrelay.h>

typedef struct fr_sim fr_sim;

/* Called with every datagram put on the wire (for inspection). */
typedef void (*fr_sim_tap)(int from_client, const uint8_t *data, size_t len,
                           void *arg);

/* Creates a simulated link with the given one-way delay. */
fr_sim *fr_sim_new(fr_duration one_way_delay);
void fr_sim_del(fr_sim *sim);

/* Callbacks to use for each side's endpoint: `send` is filled in. */
void fr_sim_bind(fr_sim *sim, fr_quic_callbacks *client_cb,
                 fr_quic_callbacks *server_cb);
/* User data to give each endpoint (the sim finds itself through it). */
void *fr_sim_client_ud(fr_sim *sim);
void *fr_sim_server_ud(fr_sim *sim);
void fr_sim_set_endpoints(fr_sim *sim, fr_quic_endpoint *client,
                          fr_quic_endpoint *server);
void fr_sim_set_tap(fr_sim *sim, fr_sim_tap tap, void *arg);
/* Called with every datagram before it goes on the wire, which it may
 * change in place (up to FR_SIM_MAX_DGRAM bytes, *len updated); nonzero
 * drops it. For fuzzing a live session. */
#define FR_SIM_MAX_DGRAM 1500
typedef int (*fr_sim_mutator)(int from_client, uint8_t *data, size_t *len,
                              void *arg);
void fr_sim_set_mutator(fr_sim *sim, fr_sim_mutator fn, void *arg);
/* Application data for the test, reachable from endpoint callbacks via
 * fr_sim_app(user_data). */
void fr_sim_set_app(fr_sim *sim, void *app);
void *fr_sim_app(void *endpoint_user_data);

/* The path a client connection uses (198.18.0.1:5000 -> 198.18.0.2:4433). */
const fr_quic_path *fr_sim_client_path(void);

fr_tstamp fr_sim_now(const fr_sim *sim);

/* Puts a datagram on the wire towards the client as if the server had sent
 * it on the client's path (what the kernel fast path does). */
void fr_sim_inject_to_client(fr_sim *sim, const uint8_t *data, size_t len);
/* The same towards the server, as if from the client's path. */
void fr_sim_inject_to_server(fr_sim *sim, const uint8_t *data, size_t len);
/* Drops `permille` of the datagrams towards the client, chosen by a
 * generator seeded with `seed`. */
void fr_sim_set_loss(fr_sim *sim, unsigned permille, uint64_t seed);
/* Datagrams dropped so far. */
uint64_t fr_sim_dropped(const fr_sim *sim);

/* Runs the simulation until done(arg) is true or `limit` of virtual time has
 * passed. Returns nonzero if done() became true. */
int fr_sim_run(fr_sim *sim, int (*done)(void *arg), void *arg,
               fr_duration limit);

#endif
