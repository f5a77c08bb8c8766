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

/* Datagrams delivered so far, and those to no endpoint (dropped). */
uint64_t fr_net_delivered(const fr_net *net);
uint64_t fr_net_unroutable(const fr_net *net);

#endif
