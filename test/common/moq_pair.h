/*
 * Two MoQT sessions over the simulated link of quic_sim.h: a client (the
 * subscriber or relay side) and a server (the publisher), in virtual time.
 */
#ifndef FR_MOQ_PAIR_H
#define FR_MOQ_PAIR_H

#include <fastrelay/fastrelay.h>

#include "quic_sim.h"

typedef struct fr_moq_pair {
    fr_sim *sim;
    fr_quic_endpoint *client;
    fr_quic_endpoint *server;
    fr_cert *cert;
    fr_quic_conn *conn;       /* the client's connection */
    fr_moq_session *cs;       /* client session (NULL when raw) */
    fr_moq_session *ss;       /* server session, once accepted */
    int raw_closed;           /* raw client: its connection closed */
    uint64_t raw_close_code;
    fr_moq_callbacks cb;
    void *ud;
    /* The server session's settings (defaults; a test may change them
     * before the server accepts, i.e. before the simulation runs). */
    fr_moq_settings server_settings;
} fr_moq_pair;

/* fr_moq_pair_setup's sessions run over WebTransport on this path (ALPN
 * h3 both sides) while it is set; NULL: raw QUIC. */
extern const char *fr_moq_pair_webtransport;

/* Connects a client to a server, both running MoQT sessions with `cb` and
 * `ud` (with `raw_client` the client runs none, so a test can write bytes
 * of its own). Both offer every draft (FR_MOQ_ALPNS), so they speak the
 * newest. `client_quic` may adjust the client's QUIC callbacks and
 * settings (a CID hook, one draft's ALPN); NULL leaves them. */
void fr_moq_pair_setup(fr_moq_pair *p, const fr_moq_callbacks *cb, void *ud,
                       fr_crypto_mode mode, int raw_client,
                       void (*client_quic)(fr_quic_callbacks *cb,
                                           fr_quic_settings *s));
/* Deletes what is left of the sessions, then the endpoints. */
void fr_moq_pair_teardown(fr_moq_pair *p);

#endif
