/*
 * QUIC callbacks that hand each connection's events to the MoQT session
 * kept in its user data, as an application without the libev adapter
 * (lib/moq/endpoint.c) does. For tests on the simulated networks.
 */
#ifndef FR_MOQ_GLUE_H
#define FR_MOQ_GLUE_H

#include <fastrelay/fastrelay.h>

/* The session of `c`, or NULL. */
fr_moq_session *fr_glue_session(fr_quic_conn *c);
/* Sets handshake_completed, stream_data, stream_reset,
 * stream_stop_sending, streams_available and closed; a test that wants
 * more of `closed` sets its own after. */
void fr_glue_callbacks(fr_quic_callbacks *cb);
/* Deletes the session of each connection of `ep` that has one. */
void fr_glue_del_sessions(fr_quic_endpoint *ep);

#endif
