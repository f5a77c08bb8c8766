/*
 * Streams and datagrams of a connection, and the write loop that turns
 * queued data into packets.
 *
 * Stream data is copied into a per-stream send buffer and handed to ngtcp2
 * by reference; it is freed when the peer acknowledges it. Streams with
 * something to send sit on a ready list served round-robin, one packet's
 * worth at a time; datagrams go first since they are latency-sensitive.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "quic_internal.h"


fr_stream *fr_stream_find(const fr_quic_conn *c, int64_t id)
{
    fr_stream *s = c->found;

    if (s && s->id == id)
        return s;
    s = fr_hmap_find_u64(&c->streams, (uint64_t)id);
    if (s)
        ((fr_quic_conn *)c)->found = s; /* connections are never const */
    return s;
}

static fr_stream *stream_new(fr_quic_conn *c, int64_t id)
{
    fr_stream *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->id = id;
    s->send_limit = UINT64_MAX;
    fr_sbuf_init(&s->sbuf);
    if (fr_hmap_insert_u64(&c->streams, (uint64_t)id, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void fr_stream_sent(fr_quic_conn *c, fr_stream *s, uint64_t len, int fin)
{
    s->sent_off += len;
    c->stats.stream_bytes_sent += len;
    if (fin && s->sent_off == s->sbuf.end_off)
        s->fin_sent = 1;
}

uint64_t fr_stream_send_end(const fr_stream *s)
{
    return s->send_limit < s->sbuf.end_off ? s->send_limit : s->sbuf.end_off;
}

static int stream_has_work(const fr_stream *s)
{
    uint64_t end = fr_stream_send_end(s);

    return !s->reset && !s->blocked && !s->held &&
           (s->sent_off < end || (s->fin_queued && !s->fin_sent &&
                                  end == s->sbuf.end_off &&
                                  s->send_limit == UINT64_MAX));
}

/* Queues a stream with work behind every ready stream of the same or more
 * urgent priority: strict priority between levels, round-robin within. */
static void ready_push(fr_quic_conn *c, fr_stream *s)
{
    fr_stream **pp = &c->ready_head;

    /* Even a stream with nothing to send now: its new bytes may be what
     * a hooking layer waits for (a held kernel stream's). */
    fr_conn_want_write(c);
    if (s->on_ready || !stream_has_work(s))
        return;
    s->on_ready = 1;
    if (!c->ready_tail || c->ready_tail->priority <= s->priority)
        pp = c->ready_tail ? &c->ready_tail->next_ready : &c->ready_head;
    else
        while (*pp && (*pp)->priority <= s->priority)
            pp = &(*pp)->next_ready;
    s->next_ready = *pp;
    *pp = s;
    if (!s->next_ready)
        c->ready_tail = s;
}

void fr_stream_set_copy_class(fr_quic_conn *c, int64_t stream_id,
                              fr_copy_class cls)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s)
        s->copy_class = cls;
}

uint64_t fr_ep_copy_packets(const fr_quic_endpoint *ep, fr_copy_class cls)
{
    return ep->copy_pkts[cls];
}

void fr_stream_requeue(fr_quic_conn *c, fr_stream *s)
{
    ready_push(c, s);
}

/* Takes the first stream of the ready list that still has work. */
static fr_stream *ready_pop(fr_quic_conn *c)
{
    fr_stream *s;

    while ((s = c->ready_head) != NULL) {
        c->ready_head = s->next_ready;
        if (!c->ready_head)
            c->ready_tail = NULL;
        s->on_ready = 0;
        s->next_ready = NULL;
        if (stream_has_work(s))
            return s;
    }
    return NULL;
}

static void ready_remove(fr_quic_conn *c, fr_stream *s)
{
    fr_stream **pp = &c->ready_head, *prev = NULL;

    if (!s->on_ready)
        return;
    while (*pp && *pp != s) {
        prev = *pp;
        pp = &(*pp)->next_ready;
    }
    if (*pp) {
        *pp = s->next_ready;
        if (c->ready_tail == s)
            c->ready_tail = prev;
    }
    s->on_ready = 0;
    s->next_ready = NULL;
}

static void stream_free(fr_quic_conn *c, fr_stream *s)
{
    if (c->found == s)
        c->found = NULL;
    ready_remove(c, s);
    c->buffered -= (size_t)fr_sbuf_held(&s->sbuf);
    fr_sbuf_free(&s->sbuf);
    free(s);
}

int fr_stream_peer_opened(fr_quic_conn *c, int64_t stream_id)
{
    /* We may write on a bidirectional stream the peer opened. */
    if (stream_id & 2)
        return 0;
    return stream_new(c, stream_id) ? 0 : FR_ERR_NOMEM;
}

void fr_stream_forget(fr_quic_conn *c, int64_t stream_id)
{
    fr_stream *s = fr_hmap_remove_u64(&c->streams, (uint64_t)stream_id);

    if (s)
        stream_free(c, s);
}

void fr_stream_abandon(fr_quic_conn *c, int64_t stream_id)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s) {
        s->reset = 1;
        ready_remove(c, s);
    }
}

void fr_stream_acked(fr_quic_conn *c, int64_t stream_id, uint64_t upto)
{
    fr_stream *s = fr_stream_find(c, stream_id);
    uint64_t before;

    if (!s)
        return;
    before = fr_sbuf_held(&s->sbuf);
    fr_sbuf_release(&s->sbuf, upto);
    c->buffered -= (size_t)(before - fr_sbuf_held(&s->sbuf));
}

void fr_stream_unblock(fr_quic_conn *c, int64_t stream_id)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (s && s->blocked) {
        s->blocked = 0;
        ready_push(c, s);
    }
}

static void free_stream_entry(void *value, void *arg)
{
    fr_sbuf_free(&((fr_stream *)value)->sbuf);
    free(value);
    (void)arg;
}

void fr_streams_free(fr_quic_conn *c)
{
    fr_dgram *d = c->dgram_head;

    fr_hmap_each(&c->streams, free_stream_entry, NULL);
    fr_hmap_free(&c->streams);
    c->found = NULL;
    while (d) {
        fr_dgram *next = d->next;
        free(d);
        d = next;
    }
    c->dgram_head = c->dgram_tail = NULL;
    c->ready_head = c->ready_tail = NULL;
}

/* Public stream API. */

fr_stream *fr_stream_open(fr_quic_conn *c, int *perr, int uni)
{
    fr_stream *s;
    int64_t id;
    int rv;

    if (c->state != FR_CONN_ACTIVE) {
        *perr = FR_ERR_CONN_CLOSED;
        return NULL;
    }
    rv = uni ? ngtcp2_conn_open_uni_stream(c->conn, &id, NULL)
             : ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL);
    if (rv != 0) {
        *perr = rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? FR_ERR_STREAM_LIMIT
                                                   : FR_ERR_INTERNAL;
        return NULL;
    }
    s = stream_new(c, id);
    if (!s) {
        ngtcp2_conn_shutdown_stream(c->conn, 0, id, 0);
        *perr = FR_ERR_NOMEM;
    }
    return s;
}

static int open_stream(fr_quic_conn *c, int64_t *pid, int uni)
{
    int err;
    fr_stream *s = fr_stream_open(c, &err, uni);

    if (!s)
        return err;
    *pid = s->id;
    return 0;
}

int fr_quic_conn_open_uni_stream(fr_quic_conn *conn, int64_t *pstream_id)
{
    return open_stream(conn, pstream_id, 1);
}

int fr_quic_conn_open_bidi_stream(fr_quic_conn *conn, int64_t *pstream_id)
{
    return open_stream(conn, pstream_id, 0);
}

int fr_quic_conn_stream_write(fr_quic_conn *c, int64_t stream_id,
                              const uint8_t *data, size_t len, int fin)
{
    fr_stream *s;
    int rv;

    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    if (len && !data)
        return FR_ERR_INVALID_ARGUMENT;
    s = fr_stream_find(c, stream_id);
    if (!s)
        return FR_ERR_STREAM_NOT_FOUND;
    if (s->fin_queued || s->reset)
        return FR_ERR_STREAM_SHUT_WR;
    if (c->buffered + len > c->ep->settings.max_send_buffer)
        return FR_ERR_QUEUE_FULL;
    rv = fr_sbuf_append(&s->sbuf, data, len);
    if (rv)
        return rv;
    c->buffered += len;
    if (fin)
        s->fin_queued = 1;
    ready_push(c, s);
    return 0;
}

int fr_quic_conn_stream_reset(fr_quic_conn *c, int64_t stream_id,
                              uint64_t app_error_code)
{
    fr_stream *s = fr_stream_find(c, stream_id);
    int rv;

    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    rv = ngtcp2_conn_shutdown_stream(c->conn, 0, stream_id, app_error_code);
    if (rv == NGTCP2_ERR_STREAM_NOT_FOUND && !s)
        return FR_ERR_STREAM_NOT_FOUND;
    if (s) {
        s->reset = 1;
        ready_remove(c, s);
    }
    return rv == 0 || rv == NGTCP2_ERR_STREAM_NOT_FOUND ? 0 : FR_ERR_INTERNAL;
}

int fr_quic_conn_stream_set_priority(fr_quic_conn *c, int64_t stream_id,
                                     uint64_t priority)
{
    fr_stream *s = fr_stream_find(c, stream_id);

    if (!s)
        return FR_ERR_STREAM_NOT_FOUND;
    if (s->priority == priority)
        return 0;
    ready_remove(c, s);
    s->priority = priority;
    ready_push(c, s);
    return 0;
}

uint64_t fr_quic_conn_stream_unacked(const fr_quic_conn *c, int64_t stream_id)
{
    const fr_stream *s = fr_stream_find(c, stream_id);

    return s ? fr_sbuf_held(&s->sbuf) : 0;
}

size_t fr_quic_conn_max_datagram_size(const fr_quic_conn *c)
{
    const ngtcp2_transport_params *tp =
        ngtcp2_conn_get_remote_transport_params(c->conn);
    /* Frame type (1 byte) and length (up to 8) come off the frame size;
     * the datagram must also fit a packet after the short header and AEAD
     * tag. */
    size_t hdr = 1 + 1 + FR_CID_MAX_LEN + 4 + 16 + 1 + 8;
    size_t mtu = c->ep->settings.max_udp_payload_size;
    size_t by_frame, by_packet;

    if (!tp || tp->max_datagram_frame_size == 0)
        return 0;
    by_frame = tp->max_datagram_frame_size > 9
                   ? (size_t)tp->max_datagram_frame_size - 9
                   : 0;
    by_packet = mtu > hdr ? mtu - hdr : 0;
    return by_frame < by_packet ? by_frame : by_packet;
}

int fr_quic_conn_send_datagram(fr_quic_conn *c, const uint8_t *data,
                               size_t len)
{
    fr_dgram *d;
    size_t max;

    if (c->state != FR_CONN_ACTIVE)
        return FR_ERR_CONN_CLOSED;
    if (!c->handshake_completed)
        return FR_ERR_INVALID_STATE;
    if (!data && len)
        return FR_ERR_INVALID_ARGUMENT;
    max = fr_quic_conn_max_datagram_size(c);
    if (max == 0)
        return FR_ERR_DATAGRAM_UNSUPPORTED;
    if (len > max)
        return FR_ERR_DATAGRAM_TOO_LARGE;
    if (c->buffered + len > c->ep->settings.max_send_buffer)
        return FR_ERR_QUEUE_FULL;
    d = malloc(sizeof(*d) + len);
    if (!d)
        return FR_ERR_NOMEM;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, data, len);
    if (c->dgram_tail)
        c->dgram_tail->next = d;
    else
        c->dgram_head = d;
    c->dgram_tail = d;
    fr_conn_want_write(c);
    c->buffered += len;
    return 0;
}

size_t fr_quic_conn_send_buffered(const fr_quic_conn *c)
{
    return c->buffered;
}

/* The write loop. */

static void dgram_pop(fr_quic_conn *c)
{
    fr_dgram *d = c->dgram_head;

    c->dgram_head = d->next;
    if (!c->dgram_head)
        c->dgram_tail = NULL;
    c->buffered -= d->len;
    free(d);
}

/* Writes a packet's worth of the next datagram. Returns what
 * ngtcp2_conn_writev_datagram returned. */
static ngtcp2_ssize write_datagram(fr_quic_conn *c, ngtcp2_path *path,
                                   ngtcp2_pkt_info *pi, uint8_t *buf,
                                   size_t buflen, fr_tstamp now)
{
    fr_dgram *d = c->dgram_head;
    ngtcp2_vec v = {d->data, d->len};
    int accepted = 0;
    ngtcp2_ssize n;

    n = ngtcp2_conn_writev_datagram(c->conn, path, pi, buf, buflen, &accepted,
                                    NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &v, 1,
                                    now);
    if (accepted) {
        c->stats.datagrams_sent++;
        dgram_pop(c);
    } else if (n == NGTCP2_ERR_INVALID_ARGUMENT) {
        dgram_pop(c); /* no longer fits what the peer accepts */
        n = NGTCP2_ERR_WRITE_MORE;
    }
    return n;
}

/* Writes a packet's worth of stream `s`. */
static ngtcp2_ssize write_stream(fr_quic_conn *c, fr_stream *s,
                                 ngtcp2_path *path, ngtcp2_pkt_info *pi,
                                 uint8_t *buf, size_t buflen, fr_tstamp now)
{
    struct iovec iov[FR_MAX_IOV];
    size_t niov = fr_sbuf_peek(&s->sbuf, s->sent_off, fr_stream_send_end(s),
                               iov, FR_MAX_IOV);
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    uint64_t peeked = 0;
    ngtcp2_ssize datalen = -1, n;

    for (size_t i = 0; i < niov; i++)
        peeked += iov[i].iov_len;
    if (s->fin_queued && s->sent_off + peeked == s->sbuf.end_off &&
        s->send_limit == UINT64_MAX)
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    n = ngtcp2_conn_writev_stream(c->conn, path, pi, buf, buflen, &datalen,
                                  flags, s->id, (const ngtcp2_vec *)iov, niov,
                                  now);
    if (datalen >= 0) {
        fr_stream_sent(c, s, (uint64_t)datalen,
                       flags & NGTCP2_WRITE_STREAM_FLAG_FIN);
        if (datalen > 0)
            c->ep->copy_pkts[s->copy_class]++;
        if (c->ext)
            c->hooks->stream_sent(c->ext, s->ext, (uint64_t)datalen);
    }
    switch (n) {
    case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        s->blocked = 1;
        return NGTCP2_ERR_WRITE_MORE;
    case NGTCP2_ERR_STREAM_SHUT_WR:
    case NGTCP2_ERR_STREAM_NOT_FOUND:
        s->reset = 1;
        return NGTCP2_ERR_WRITE_MORE;
    default:
        break;
    }
    /* Round-robin: a stream with more to send goes to the back. */
    ready_push(c, s);
    return n;
}

/* Writes a packet of what ngtcp2 sends besides new stream data: ACKs,
 * control frames, retransmissions, probes. */
static ngtcp2_ssize write_frames(fr_quic_conn *c, ngtcp2_path *path,
                                 ngtcp2_pkt_info *pi, uint8_t *buf,
                                 size_t buflen, fr_tstamp now)
{
    ngtcp2_ssize datalen;

    return ngtcp2_conn_writev_stream(c->conn, path, pi, buf, buflen, &datalen,
                                     0, -1, NULL, 0, now);
}

/* Packets fr_conn_write_probes writes at most (a PTO sends one or two
 * probes). */
#define MAX_PROBES 4

int fr_conn_write_probes(fr_quic_conn *c, fr_tstamp now)
{
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;

    ngtcp2_path_storage_zero(&ps);
    for (int i = 0; i < MAX_PROBES && c->state == FR_CONN_ACTIVE; i++) {
        uint8_t *buf = fr_ep_tx_slot(c->ep);
        uint64_t before = fr_conn_in_flight(c);
        ngtcp2_ssize n = write_frames(c, &ps.path, &pi, buf,
                                      fr_conn_pkt_size(c), now);

        /* No stream data, no MORE flag: never NGTCP2_ERR_WRITE_MORE. */
        if (n < 0) {
            fr_conn_fail(c, (int)n, now);
            return (int)n;
        }
        if (n == 0)
            break;
        fr_conn_tx_commit(c, &ps.path, buf, (size_t)n,
                          fr_conn_in_flight(c) > before);
    }
    return 0;
}

uint64_t fr_conn_in_flight(const fr_quic_conn *c)
{
    ngtcp2_conn_info ci;

    ngtcp2_conn_get_conn_info(c->conn, &ci);
    return ci.bytes_in_flight;
}

size_t fr_conn_pkt_size(const fr_quic_conn *c)
{
    return c->ep->settings.max_udp_payload_size -
           (c->ext ? c->hooks->tx_growth : 0);
}

int fr_conn_write(fr_quic_conn *c, fr_tstamp now)
{
    fr_quic_endpoint *ep = c->ep;
    size_t buflen = fr_conn_pkt_size(c);
    size_t quantum, max_pkts;
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    int more = 0;

    if (c->state != FR_CONN_ACTIVE)
        return 0;
    if (c->ext)
        c->hooks->before(c->ext, now);
    quantum = ngtcp2_conn_get_send_quantum(c->conn);
    max_pkts = quantum / buflen + 1;
    ngtcp2_path_storage_zero(&ps);
    for (size_t npkts = 0; npkts < max_pkts && c->state == FR_CONN_ACTIVE;) {
        uint8_t *buf = fr_ep_tx_slot(ep);
        uint64_t before = c->ext ? fr_conn_in_flight(c) : 0;
        ngtcp2_ssize n;
        fr_stream *s;

        if (c->dgram_head && c->handshake_completed) {
            n = write_datagram(c, &ps.path, &pi, buf, buflen, now);
        } else if ((s = ready_pop(c)) != NULL) {
            n = write_stream(c, s, &ps.path, &pi, buf, buflen, now);
        } else {
            n = write_frames(c, &ps.path, &pi, buf, buflen, now);
        }
        if (n == NGTCP2_ERR_WRITE_MORE)
            continue;
        if (n < 0) {
            fr_conn_fail(c, (int)n, now);
            return 0;
        }
        if (n == 0)
            break;
        fr_conn_tx_commit(c, &ps.path, buf, (size_t)n,
                          c->ext && fr_conn_in_flight(c) > before);
        more = ++npkts == max_pkts;
        if (c->ext)
            c->hooks->sent_one(c->ext, now);
    }
    if (c->ext)
        c->hooks->after(c->ext);
    else
        /* Pacing is not used on hooked connections: a spliced one's
         * shadow writes would count toward it and then hold
         * registrations back. */
        ngtcp2_conn_update_pkt_tx_time(c->conn, now);
    /* Paced connections wait for their timer (ngtcp2's expiry includes
     * the next departure); hooked ones are written again at once. */
    return more && c->ext && c->state == FR_CONN_ACTIVE;
}

void fr_conn_tx_send(fr_quic_conn *c, const ngtcp2_path *np, uint8_t *buf,
                     size_t n)
{
    fr_quic_path path;

    if (c->wp && fr_wp_seal(c, buf, n)) {
        /* No key for its key phase: cannot happen, ngtcp2 derives each
         * generation before it uses it. Not sent: a lost packet. */
        FR_ERROR(&c->ep->settings.log, "1-RTT packet without a key: dropped");
        return;
    }
    fr_path_from_ngtcp2(&path, np);
    fr_ep_tx_commit(c->ep, &path, n);
    c->stats.pkts_sent++;
    c->stats.bytes_sent += (uint64_t)n;
}

void fr_conn_tx_commit(fr_quic_conn *c, const ngtcp2_path *np, uint8_t *buf,
                       size_t n, int tracked)
{
    if (c->ext)
        n = c->hooks->tx(c->ext, buf, n, tracked);
    fr_conn_tx_send(c, np, buf, n);
}
