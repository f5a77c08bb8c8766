/* QUIC events to MoQT sessions, for tests (moq_glue.h). */
#include "moq_glue.h"

fr_moq_session *fr_glue_session(fr_quic_conn *c)
{
    return fr_quic_conn_get_user_data(c);
}

static int on_handshake(fr_quic_conn *c, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_handshake(fr_glue_session(c));
    return 0;
}

static int on_data(fr_quic_conn *c, int64_t sid, const uint8_t *d,
                   size_t len, int fin, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_stream_data(fr_glue_session(c), sid, d, len, fin);
    return 0;
}

static int on_reset(fr_quic_conn *c, int64_t sid, uint64_t code, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_stream_reset(fr_glue_session(c), sid, code);
    return 0;
}

static int on_stop(fr_quic_conn *c, int64_t sid, uint64_t code, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_stream_stop_sending(fr_glue_session(c), sid, code);
    return 0;
}

static int on_streams(fr_quic_conn *c, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_streams_available(fr_glue_session(c));
    return 0;
}

static int on_stream_close(fr_quic_conn *c, int64_t sid, void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_stream_close(fr_glue_session(c), sid);
    return 0;
}

static int on_datagram(fr_quic_conn *c, const uint8_t *d, size_t len,
                       void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_datagram(fr_glue_session(c), d, len);
    return 0;
}

static void on_closed(fr_quic_conn *c, const fr_quic_close_info *info,
                      void *ud)
{
    (void)ud;
    if (fr_glue_session(c))
        fr_moq_session_on_closed(fr_glue_session(c), info);
}

void fr_glue_callbacks(fr_quic_callbacks *cb)
{
    cb->handshake_completed = on_handshake;
    cb->stream_data = on_data;
    cb->stream_reset = on_reset;
    cb->stream_stop_sending = on_stop;
    cb->streams_available = on_streams;
    cb->stream_close = on_stream_close;
    cb->datagram = on_datagram;
    cb->closed = on_closed;
}

void fr_glue_del_sessions(fr_quic_endpoint *ep)
{
    for (fr_quic_conn *c = fr_quic_endpoint_next_conn(ep, NULL); c;
         c = fr_quic_endpoint_next_conn(ep, c))
        if (fr_glue_session(c))
            fr_moq_session_del(fr_glue_session(c));
}
