/*
 * libfastrelay — libev adapter for QUIC endpoints.
 *
 * Owns one UDP socket (recvmmsg/sendmmsg) and the endpoint's timer on a
 * libev loop: received datagrams are fed to the endpoint, writes are flushed
 * before the loop blocks, and expiry timers are armed from the endpoint's
 * next expiry.
 */
#ifndef FASTRELAY_QUIC_EV_H
#define FASTRELAY_QUIC_EV_H

#include <fastrelay/quic.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;
typedef struct fr_quic_ev fr_quic_ev;

/* Creates the endpoint and binds a UDP socket to `bind_addr` (port 0 picks
 * one; an unspecified address receives on every interface). The adapter
 * supplies the endpoint's `send` callback; callbacks->send must be NULL.
 * Callbacks and settings are of layout `version` (FR_LAYOUT_VERSION;
 * callers use fr_quic_ev_new). */
FR_EXTERN int fr_quic_ev_new_versioned(fr_quic_ev **pqev,
                                       struct ev_loop *loop, int version,
                                       const fr_quic_callbacks *callbacks,
                                       const fr_quic_settings *settings,
                                       const struct sockaddr *bind_addr,
                                       socklen_t bind_addr_len,
                                       void *user_data);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_quic_ev_new(fr_quic_ev **pqev, struct ev_loop *loop,
                             const fr_quic_callbacks *callbacks,
                             const fr_quic_settings *settings,
                             const struct sockaddr *bind_addr,
                             socklen_t bind_addr_len, void *user_data);
#define fr_quic_ev_new(pqev, loop, callbacks, settings, bind_addr,           \
                       bind_addr_len, user_data)                             \
    fr_quic_ev_new_versioned((pqev), (loop), FR_LAYOUT_VERSION, (callbacks), \
                             (settings), (bind_addr), (bind_addr_len),       \
                             (user_data))

/* Stops the watchers, deletes the endpoint and closes the socket. */
FR_EXTERN void fr_quic_ev_del(fr_quic_ev *qev);

FR_EXTERN fr_quic_endpoint *fr_quic_ev_get_endpoint(const fr_quic_ev *qev);

/* The bound local address (with the port actually chosen). */
FR_EXTERN int fr_quic_ev_local_addr(const fr_quic_ev *qev,
                                    struct sockaddr_storage *addr,
                                    socklen_t *len);

/* Connects to `remote` from this adapter's socket. */
FR_EXTERN int fr_quic_ev_connect(fr_quic_ev *qev, fr_quic_conn **pconn,
                                 const struct sockaddr *remote,
                                 socklen_t remote_len, const char *server_name,
                                 void *conn_user_data);

/* Moves to a new socket on the same local address with a new port, and
 * migrates every client connection to it (fr_quic_conn_migrate); the old
 * socket is closed. A connection that cannot migrate keeps its
 * connection ID and reaches its peer from the new port as after a NAT
 * rebinding. Returns 0, the socket error, or the first migration error. */
FR_EXTERN int fr_quic_ev_migrate(fr_quic_ev *qev);

/* The loop's current time as an fr_tstamp (CLOCK_MONOTONIC). */
FR_EXTERN fr_tstamp fr_quic_ev_now(void);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_QUIC_EV_H */
