/*
 * An in-memory network of many QUIC endpoints, in virtual time: each
 * endpoint has an address (198.18.0.0/15); a datagram goes to the
 * endpoint its path's remote address names, after a fixed one-way delay.
 * Deterministic and fast; no sockets. For tests of the relay core with an
 * origin, a relay and many subscribers.
 */
#ifndef FR_NET_SIM_H
#define FR_NET_SIM_H

#include <fastrelay/fastrelay.h>

typedef struct fr_net fr_net;

/* A network whose datagrams take `one_way_delay`. */
fr_net *fr_net_new(fr_duration one_way_delay);
/* Frees the network (delete its endpoints first). */
void fr_net_del(fr_net *net);

/* Makes an endpoint at `ip`:`port` (`cb.send` is filled in; `app` is what
 * fr_net_app returns from its callbacks' user data). */
fr_quic_endpoint *fr_net_endpoint(fr_net *net, const char *ip,
                                  uint16_t port, fr_quic_callbacks *cb,
                                  const fr_quic_settings *settings,
                                  void *app);
void *fr_net_app(void *endpoint_user_data);

/* The path from `ip`:`port` to `to_ip`:`to_port`, for connecting. */
fr_quic_path fr_net_path(const char *ip, uint16_t port, const char *to_ip,
                         uint16_t to_port);

fr_tstamp fr_net_now(const fr_net *net);

/* Runs until done(arg) is true or `limit` of virtual time passed; `tick`
 * (may be NULL) is called with the time before each step and returns
 * when it next wants to be called (FR_TSTAMP_MAX: not again). Returns
 * nonzero if done() became true. */
int fr_net_run(fr_net *net, int (*done)(void *arg),
               fr_tstamp (*tick)(void *arg, fr_tstamp now), void *arg,
               fr_duration limit);

/* A tap on the datagrams endpoint `ep` receives (what a program on its
 * host's interface sees): called with each, at its arrival, before the
 * endpoint reads it; `path` as the endpoint sees it. It may send
 * datagrams of its own with fr_net_inject. NULL removes it. */
typedef void (*fr_net_tap)(void *arg, const fr_quic_path *path,
                           const uint8_t *d, size_t len, fr_tstamp now);
void fr_net_set_tap(fr_net *net, const fr_quic_endpoint *ep, fr_net_tap tap,
                    void *arg);
/* Sends a datagram from path->local to path->remote, as an endpoint
 * there would. Returns 0 or FR_ERR_NOMEM. */
int fr_net_inject(fr_net *net, const fr_quic_path *path, const uint8_t *d,
                  size_t len);

/* Datagrams delivered so far, and those to no endpoint (dropped). */
uint64_t fr_net_delivered(const fr_net *net);
uint64_t fr_net_unroutable(const fr_net *net);

#endif
