/* Streams that the hooking layer takes over (hooked_stream.h). */
#include "hooked_stream.h"

#include <fastrelay/error.h>

#include "quic_internal.h"

/* Packets ngtcp2 may put before the stream's in one write, at most. */
#define MAX_BEFORE 4

int fr_hooked_stream_open(fr_quic_conn *c, void *ext, fr_copy_class cls,
                          int64_t *pstream_id)
{
    int err;
    fr_stream *s = fr_stream_open(c, &err, 1);

    if (!s)
        return err;
    s->ext = ext;
    s->copy_class = cls;
    *pstream_id = s->id;
    return 0;
}

int fr_hooked_stream_get(const fr_quic_conn *c, int64_t stream_id,
                         fr_hooked_stream *st)
{
    const fr_stream *s = fr_stream_find(c, stream_id);

    if (!s)
        return FR_ERR_STREAM_NOT_FOUND;
    *st = (fr_hooked_stream){
        .ext = s->ext,
        .sent_off = s->sent_off,
        .queued_end = s->sbuf.end_off,
        .fin_queued = s->fin_queued,
        .fin_sent = s->fin_sent,
        .reset = s->reset,
        .held = s->held,
    };
    return 0;
}

void fr_hooked_stream_set_limit(fr_quic_conn *c, int64_t stream_id,
                                uint64_t limit)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s)
        s->send_limit = limit;
    fr_conn_want_write(c);
}

void fr_hooked_stream_cap_limit(fr_quic_conn *c, int64_t stream_id,
                                uint64_t limit)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s && limit < s->send_limit)
        s->send_limit = limit;
}

void fr_hooked_stream_hold(fr_quic_conn *c, int64_t stream_id, int held)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s)
        s->held = held != 0;
    fr_conn_want_write(c);
}

void fr_hooked_stream_requeue(fr_quic_conn *c, int64_t stream_id)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s)
        fr_stream_requeue(c, s);
}

int fr_hooked_stream_write(fr_quic_conn *c, int64_t stream_id, uint64_t end,
                           int fin, fr_tstamp now, fr_hooked_pkt *pkt)
{
    fr_stream *s = fr_stream_find(c, stream_id);
    ngtcp2_pkt_info pi;

    if (!s)
        return FR_ERR_STREAM_NOT_FOUND;
    ngtcp2_path_storage_zero(&pkt->ps);
    for (int i = 0; i < MAX_BEFORE; i++) {
        struct iovec iov[FR_MAX_IOV];
        size_t niov = fr_sbuf_peek(&s->sbuf, s->sent_off, end, iov,
                                   FR_MAX_IOV);
        uint8_t *buf = fr_ep_tx_slot(c->ep);
        uint64_t before = fr_conn_in_flight(c);
        ngtcp2_ssize datalen = -1, n;

        n = ngtcp2_conn_writev_stream(
            c->conn, &pkt->ps.path, &pi, buf, fr_conn_pkt_size(c), &datalen,
            fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0, s->id,
            (const ngtcp2_vec *)iov, niov, now);
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
            s->blocked = 1;
            return 0;
        }
        if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND)
            return FR_ERR_STREAM_NOT_FOUND;
        if (n < 0) {
            fr_conn_fail(c, (int)n, now);
            return FR_ERR_CONN_CLOSED;
        }
        if (n == 0)
            return 0;
        if (datalen < 0) {
            /* ngtcp2 had to send something else first. */
            fr_conn_tx_commit(c, &pkt->ps.path, buf, (size_t)n,
                              fr_conn_in_flight(c) > before);
            continue;
        }
        pkt->buf = buf;
        pkt->len = (size_t)n;
        pkt->off = s->sent_off;
        pkt->datalen = (uint64_t)datalen;
        /* With fin, end is the stream's end. */
        fr_stream_sent(c, s, (uint64_t)datalen, fin);
        pkt->fin_sent = s->fin_sent;
        return 1;
    }
    return 0;
}

void fr_hooked_pkt_commit(fr_quic_conn *c, const fr_hooked_pkt *pkt)
{
    /* It carries stream data: ngtcp2 tracks it. */
    fr_conn_tx_commit(c, &pkt->ps.path, pkt->buf, pkt->len, 1);
}

void fr_hooked_pkt_send(fr_quic_conn *c, const fr_hooked_pkt *pkt, size_t n)
{
    fr_conn_tx_send(c, &pkt->ps.path, pkt->buf, n);
}
