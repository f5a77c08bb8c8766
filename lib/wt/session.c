/* A WebTransport session over HTTP/3 (see wt.h). */
#include "wt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp3/nghttp3.h>

#include <fastrelay/error.h>

#include "../util/hmap.h"
#include "../util/logf.h"
#include "wire.h"

#define MAX_PROTOCOLS 8
#define FIELD_MAX 256 /* longest header value kept */
#define CTRL_START_MAX 256 /* the control stream's start, before SETTINGS */
#define H3_NO_ERROR 0x100
#define H3_GENERAL_PROTOCOL_ERROR 0x101
#define H3_ID_ERROR 0x108
#define H3_REQUEST_REJECTED 0x10b
/* Session streams that may come before the CONNECT's answer (the server
 * opens them at once), and the bytes each may bring meanwhile. */
#define MAX_EARLY 8
#define MAX_EARLY_BYTES 65536

/* What a stream carries, once its first bytes tell; EARLY: the session's,
 * come before the client saw the CONNECT answered (kept until it is). */
enum kind { PENDING, H3, SESSION, EARLY, IGNORED };

typedef struct wt_stream {
    enum kind kind;
    size_t nhead;
    uint8_t head[FR_WT_STREAM_HEADER_MAX];
    uint8_t *early; /* EARLY: its bytes so far */
    size_t nearly;
    int early_fin;
} wt_stream;

enum state { STARTING, CONNECTING, READY, CLOSED };

/* The fields of the CONNECT request or its response. */
typedef struct fields {
    char method[16], protocol[32], path[FIELD_MAX], status[4];
    char wt_protocols[FIELD_MAX], wt_protocol[FIELD_MAX];
    int wt_protocols_set, wt_protocol_set;
} fields;

struct fr_wt {
    fr_quic_conn *conn;
    nghttp3_conn *h3;
    int is_server;
    enum state state;
    fr_wt_callbacks cb;
    void *arg;
    fr_log log;
    char *path;
    char *authority;
    char *protocols[MAX_PROTOCOLS];
    size_t nprotocols;
    char protocol[FR_WT_PROTOCOL_MAX + 1]; /* agreed; "" for none */
    int64_t session_id; /* the CONNECT stream; -1 before */
    int64_t ctrl_id;
    int ctrl_rewritten; /* our SETTINGS went out with WebTransport's */
    size_t nctrl;
    uint8_t ctrl[CTRL_START_MAX];
    /* The peer's control stream until its SETTINGS are read. */
    int64_t peer_ctrl_id;
    int peer_settings_read;
    size_t npeer;
    uint8_t peer_ctrl[CTRL_START_MAX];
    fields f;
    fr_hmap streams;
    int64_t early[MAX_EARLY]; /* EARLY streams, in the order they came */
    size_t nearly;
    /* The peer's capsules on the CONNECT stream: the one being read (those
     * we read fit), or the bytes left of one we skip. */
    struct {
        uint8_t buf[16 + 4 + FR_WT_CLOSE_MESSAGE_MAX];
        size_t n;
        uint64_t skip;
    } capsule;
};

/* Settings of ours nghttp3 does not know: WebTransport, every draft a
 * browser may speak (Chromium asks for draft 02's by default). */
static const uint64_t wt_settings[][2] = {
    {FR_H3_SETTING_ENABLE_WEBTRANSPORT, 1},
    {FR_H3_SETTING_WT_MAX_SESSIONS_07, 1},
    {FR_H3_SETTING_WT_MAX_SESSIONS, 1},
};

static void end_session(fr_wt *wt, uint64_t h3_code, const char *why)
{
    if (wt->state == CLOSED)
        return;
    wt->state = CLOSED;
    FR_INFO(&wt->log, "webtransport: session ends: %s", why);
    if (wt->cb.closed)
        wt->cb.closed(wt->arg, why);
    fr_quic_conn_close(wt->conn, h3_code, why);
}

/* Writing: what nghttp3 has to send goes to the QUIC streams, copied (the
 * QUIC layer keeps it until acknowledged, so nghttp3 may forget it). */

/* Our control stream's start waits until its SETTINGS frame is whole,
 * then goes out with WebTransport's settings added. */
static int write_ctrl(fr_wt *wt, const uint8_t *d, size_t len)
{
    uint8_t out[CTRL_START_MAX + 64];
    size_t used;
    ssize_t n;

    if (wt->ctrl_rewritten)
        return fr_quic_conn_stream_write(wt->conn, wt->ctrl_id, d, len, 0);
    if (len > sizeof(wt->ctrl) - wt->nctrl)
        return FR_ERR_PROTO;
    memcpy(wt->ctrl + wt->nctrl, d, len);
    wt->nctrl += len;
    n = fr_h3_settings_extend(wt->ctrl, wt->nctrl, wt_settings,
                              sizeof(wt_settings) / sizeof(wt_settings[0]),
                              out, sizeof(out), &used);
    if (n <= 0)
        return (int)n;
    wt->ctrl_rewritten = 1;
    if (fr_quic_conn_stream_write(wt->conn, wt->ctrl_id, out, (size_t)n, 0))
        return FR_ERR_PROTO;
    return used < wt->nctrl
               ? fr_quic_conn_stream_write(wt->conn, wt->ctrl_id,
                                           wt->ctrl + used, wt->nctrl - used,
                                           0)
               : 0;
}

static int flush(fr_wt *wt)
{
    /* Bounded: nghttp3 hands out what it has, then stream -1. */
    for (int i = 0; i < 256; i++) {
        nghttp3_vec vec[16];
        int64_t sid = -1;
        int fin = 0, rv = 0;
        size_t total = 0;
        nghttp3_ssize n = nghttp3_conn_writev_stream(wt->h3, &sid, &fin, vec,
                                                     16);

        if (n < 0)
            return (int)n;
        if (sid < 0)
            return 0;
        for (nghttp3_ssize k = 0; k < n && rv == 0; k++) {
            rv = sid == wt->ctrl_id
                     ? write_ctrl(wt, vec[k].base, vec[k].len)
                     : fr_quic_conn_stream_write(wt->conn, sid, vec[k].base,
                                                 vec[k].len, 0);
            total += vec[k].len;
        }
        if (rv == 0 && fin)
            rv = fr_quic_conn_stream_write(wt->conn, sid, NULL, 0, 1);
        if (rv)
            return NGHTTP3_ERR_CALLBACK_FAILURE;
        if (nghttp3_conn_add_write_offset(wt->h3, sid, total) ||
            nghttp3_conn_add_ack_offset(wt->h3, sid, total))
            return NGHTTP3_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static void flush_or_end(fr_wt *wt)
{
    int rv = flush(wt);

    if (rv)
        end_session(wt, nghttp3_err_infer_quic_app_error_code(rv),
                    "HTTP/3 cannot write");
}

/* Streams. */

static wt_stream *stream_add(fr_wt *wt, int64_t id, enum kind kind)
{
    wt_stream *st = calloc(1, sizeof(*st));

    if (!st)
        return NULL;
    st->kind = kind;
    if (fr_hmap_insert_u64(&wt->streams, (uint64_t)id, st)) {
        free(st);
        return NULL;
    }
    return st;
}

static int locally_opened(const fr_wt *wt, int64_t id)
{
    return (int)(id & 1) == (wt->is_server ? 1 : 0);
}

static void deliver(fr_wt *wt, int64_t id, const uint8_t *d, size_t len,
                    int fin)
{
    if ((len || fin) && wt->cb.stream_data)
        wt->cb.stream_data(wt->arg, id, d, len, fin);
}

static void connect_request(fr_wt *wt, const fr_h3_peer_settings *ps);

/* The peer's SETTINGS, read here as well as by nghttp3: a client sends
 * CONNECT once they allow it. */
static void watch_peer_ctrl(fr_wt *wt, int64_t id, const uint8_t *d,
                            size_t len)
{
    fr_h3_peer_settings ps;
    size_t take = sizeof(wt->peer_ctrl) - wt->npeer;
    int r;

    if (id != wt->peer_ctrl_id || wt->peer_settings_read)
        return;
    if (take > len)
        take = len;
    memcpy(wt->peer_ctrl + wt->npeer, d, take);
    wt->npeer += take;
    r = fr_h3_settings_scan(wt->peer_ctrl, wt->npeer, &ps);
    if (r == 0 && wt->npeer < sizeof(wt->peer_ctrl))
        return;
    wt->peer_settings_read = 1;
    if (r != 1) {
        end_session(wt, H3_GENERAL_PROTOCOL_ERROR, "unreadable SETTINGS");
        return;
    }
    if (!wt->is_server)
        connect_request(wt, &ps);
}

static void h3_read(fr_wt *wt, int64_t id, const uint8_t *d, size_t len,
                    int fin)
{
    nghttp3_ssize n = nghttp3_conn_read_stream(wt->h3, id, d, len, fin);

    if (n < 0) {
        FR_INFO(&wt->log, "webtransport: HTTP/3 stream %lld: %s",
                (long long)id, nghttp3_strerror((int)n));
        end_session(wt, nghttp3_err_infer_quic_app_error_code((int)n),
                    "HTTP/3 protocol error");
        return;
    }
    watch_peer_ctrl(wt, id, d, len);
}

/* Keeps an EARLY stream's bytes; too many, and the stream is refused. */
static void keep_early(fr_wt *wt, int64_t id, wt_stream *st,
                       const uint8_t *d, size_t len, int fin)
{
    uint8_t *p;

    if (len > MAX_EARLY_BYTES - st->nearly ||
        !(p = realloc(st->early, st->nearly + len + 1))) {
        st->kind = IGNORED;
        free(st->early);
        st->early = NULL;
        fr_quic_conn_stream_reset(wt->conn, id, H3_ID_ERROR);
        return;
    }
    st->early = p;
    memcpy(p + st->nearly, d, len);
    st->nearly += len;
    st->early_fin |= fin;
}

/* A stream's first bytes tell whose it is: a session's (its header names
 * our session) or HTTP/3's. Returns how many of d were taken into the
 * stream's head. */
static size_t classify(fr_wt *wt, int64_t id, wt_stream *st,
                       const uint8_t *d, size_t len, int fin)
{
    size_t take = sizeof(st->head) - st->nhead;
    uint64_t session;
    ssize_t h;

    if (take > len)
        take = len;
    memcpy(st->head + st->nhead, d, take);
    st->nhead += take;
    h = fr_wt_stream_header_parse(st->head, st->nhead, !(id & 2), &session);
    if (h == 0 && !fin && st->nhead < sizeof(st->head))
        return take; /* more bytes will tell */
    if (h < 0) {
        st->kind = H3;
        if ((id & 2) && st->head[0] == FR_H3_CONTROL_STREAM &&
            wt->peer_ctrl_id < 0)
            wt->peer_ctrl_id = id;
        h3_read(wt, id, st->head, st->nhead, fin && take == len);
        return take;
    }
    if (h > 0 && (int64_t)session == wt->session_id &&
        wt->state == CONNECTING && wt->nearly < MAX_EARLY) {
        st->kind = EARLY;
        wt->early[wt->nearly++] = id;
        keep_early(wt, id, st, st->head + h, st->nhead - (size_t)h,
                   fin && take == len);
        return take;
    }
    if (h == 0 || wt->state != READY || (int64_t)session != wt->session_id) {
        /* Cut short, or for a session that is not (yet) ours. */
        st->kind = IGNORED;
        fr_quic_conn_stream_reset(wt->conn, id, H3_ID_ERROR);
        return take;
    }
    st->kind = SESSION;
    deliver(wt, id, st->head + h, st->nhead - (size_t)h, fin && take == len);
    return take;
}

/* Delivers the EARLY streams' bytes once the session is up. Collected
 * first: the application may open streams as it reads. */
static void deliver_early(fr_wt *wt)
{
    int64_t ids[MAX_EARLY];
    size_t n = wt->nearly;

    memcpy(ids, wt->early, n * sizeof(ids[0]));
    wt->nearly = 0;
    for (size_t i = 0; i < n && wt->state == READY; i++) {
        wt_stream *st = fr_hmap_find_u64(&wt->streams, (uint64_t)ids[i]);

        if (!st || st->kind != EARLY)
            continue;
        st->kind = SESSION;
        deliver(wt, ids[i], st->early, st->nearly, st->early_fin);
        free(st->early);
        st->early = NULL;
    }
}

void fr_wt_on_stream_data(fr_wt *wt, int64_t id, const uint8_t *d, size_t len,
                          int fin)
{
    wt_stream *st = fr_hmap_find_u64(&wt->streams, (uint64_t)id);
    size_t took = 0;

    if (wt->state == CLOSED)
        return;
    if (!st) {
        if (locally_opened(wt, id))
            return; /* one we forgot: reset meanwhile */
        st = stream_add(wt, id, PENDING);
        if (!st) {
            end_session(wt, H3_GENERAL_PROTOCOL_ERROR, "out of memory");
            return;
        }
    }
    if (st->kind == PENDING) {
        took = classify(wt, id, st, d, len, fin);
        if (st->kind == PENDING || took == len || wt->state == CLOSED)
            goto out;
    }
    switch (st->kind) {
    case H3:
        h3_read(wt, id, d + took, len - took, fin);
        break;
    case SESSION:
        deliver(wt, id, d + took, len - took, fin);
        break;
    case EARLY:
        keep_early(wt, id, st, d + took, len - took, fin);
        break;
    default:
        break;
    }
out:
    if (wt->state != CLOSED)
        flush_or_end(wt);
}

void fr_wt_on_stream_reset(fr_wt *wt, int64_t id, uint64_t h3_code)
{
    wt_stream *st = fr_hmap_find_u64(&wt->streams, (uint64_t)id);
    uint32_t code = 0;

    if (!st || wt->state == CLOSED)
        return;
    if (st->kind == SESSION) {
        if (wt->cb.stream_reset)
            wt->cb.stream_reset(wt->arg, id,
                                fr_wt_code_from_h3(h3_code, &code) ? 0
                                                                   : code);
        return;
    }
    if (st->kind == H3) {
        nghttp3_conn_shutdown_stream_read(wt->h3, id);
        if (id == wt->session_id)
            end_session(wt, H3_NO_ERROR, "the peer reset the session");
    }
}

void fr_wt_on_stop_sending(fr_wt *wt, int64_t id, uint64_t h3_code)
{
    wt_stream *st = fr_hmap_find_u64(&wt->streams, (uint64_t)id);
    uint32_t code = 0;

    if (!st || wt->state == CLOSED)
        return;
    if (st->kind == SESSION && wt->cb.stop_sending)
        wt->cb.stop_sending(wt->arg, id,
                            fr_wt_code_from_h3(h3_code, &code) ? 0 : code);
    else if (id == wt->session_id)
        end_session(wt, H3_NO_ERROR, "the peer stopped the session");
}

void fr_wt_on_stream_close(fr_wt *wt, int64_t id)
{
    wt_stream *st = fr_hmap_remove_u64(&wt->streams, (uint64_t)id);

    if (st && st->kind == H3 && wt->h3)
        nghttp3_conn_close_stream(wt->h3, id, H3_NO_ERROR);
    if (st)
        free(st->early);
    free(st);
    if (id == wt->session_id)
        end_session(wt, H3_NO_ERROR, "the session's stream closed");
}

void fr_wt_on_streams_available(fr_wt *wt)
{
    if (wt->state == READY && wt->cb.streams_available)
        wt->cb.streams_available(wt->arg);
}

void fr_wt_on_datagram(fr_wt *wt, const uint8_t *d, size_t len)
{
    uint64_t session;
    ssize_t n = fr_wt_datagram_parse(d, len, &session);

    if (n < 0 || wt->state != READY || (int64_t)session != wt->session_id)
        return; /* not for this session: dropped, as datagrams may be */
    if (wt->cb.datagram)
        wt->cb.datagram(wt->arg, d + n, len - (size_t)n);
}

/* Makes stream `id`, just opened, the session's: its header goes first. */
static int adopt(fr_wt *wt, int64_t id, int bidi, size_t *header_len)
{
    uint8_t h[FR_WT_STREAM_HEADER_MAX];
    size_t n;

    if (!stream_add(wt, id, SESSION)) {
        fr_quic_conn_stream_reset(wt->conn, id, H3_GENERAL_PROTOCOL_ERROR);
        return FR_ERR_NOMEM;
    }
    n = fr_wt_stream_header_write(h, bidi, (uint64_t)wt->session_id);
    if (header_len)
        *header_len = n;
    return fr_quic_conn_stream_write(wt->conn, id, h, n, 0);
}

static int open_stream(fr_wt *wt, int bidi, int64_t *pid)
{
    int rv;

    if (wt->state != READY)
        return FR_ERR_INVALID_ARGUMENT;
    rv = bidi ? fr_quic_conn_open_bidi_stream(wt->conn, pid)
              : fr_quic_conn_open_uni_stream(wt->conn, pid);
    return rv ? rv : adopt(wt, *pid, bidi, NULL);
}

int fr_wt_adopt_uni(fr_wt *wt, int64_t id, size_t *header_len)
{
    if (wt->state != READY || (id & 2) == 0)
        return FR_ERR_INVALID_ARGUMENT;
    return adopt(wt, id, 0, header_len);
}

int fr_wt_open_uni(fr_wt *wt, int64_t *pid)
{
    return open_stream(wt, 0, pid);
}

int fr_wt_open_bidi(fr_wt *wt, int64_t *pid)
{
    return open_stream(wt, 1, pid);
}

int fr_wt_stream_reset(fr_wt *wt, int64_t id, uint32_t code)
{
    return fr_quic_conn_stream_reset(wt->conn, id, fr_wt_code_to_h3(code));
}

void fr_wt_close(fr_wt *wt, const char *reason)
{
    end_session(wt, H3_NO_ERROR, reason ? reason : "closed");
}

/* The CONNECT exchange. */

/* Keeps the CONNECT stream open after its headers: the session lives as
 * long as it does, and ends with the connection (one session each). */
static nghttp3_ssize read_session(nghttp3_conn *h3, int64_t id,
                                  nghttp3_vec *vec, size_t veccnt,
                                  uint32_t *pflags, void *conn_arg,
                                  void *stream_arg)
{
    (void)h3, (void)id, (void)vec, (void)veccnt, (void)pflags, (void)conn_arg,
        (void)stream_arg;
    return NGHTTP3_ERR_WOULDBLOCK;
}

static const nghttp3_data_reader session_reader = {read_session};

static nghttp3_nv nv(const char *name, const char *value)
{
    nghttp3_nv v = {(uint8_t *)name, (uint8_t *)value, strlen(name),
                    strlen(value), NGHTTP3_NV_FLAG_NONE};

    return v;
}

static int answer(fr_wt *wt, int64_t id, const char *status, const char *why)
{
    nghttp3_nv h = nv(":status", status);

    FR_INFO(&wt->log, "webtransport: CONNECT on stream %lld refused (%s): %s",
            (long long)id, status, why);
    return nghttp3_conn_submit_response(wt->h3, id, &h, 1, NULL);
}

/* Server: a request's headers are complete. */
static int on_request(fr_wt *wt, int64_t id)
{
    const fields *f = &wt->f;
    char value[FR_WT_PROTOCOL_MAX + 3];
    nghttp3_nv h[3];
    size_t nh = 0;
    int pick = -1;

    if (strcmp(f->method, "CONNECT") || strcmp(f->protocol, "webtransport"))
        return answer(wt, id, "400", "not an extended CONNECT for "
                                     "webtransport");
    if (strcmp(f->path, wt->path))
        return answer(wt, id, "404", "another path");
    if (wt->session_id >= 0)
        return answer(wt, id, "429", "one session per connection");
    if (f->wt_protocols_set) {
        pick = fr_wt_protocol_pick(f->wt_protocols, strlen(f->wt_protocols),
                                   (const char *const *)wt->protocols,
                                   wt->nprotocols);
        if (pick < 0)
            return answer(wt, id, "400", "no protocol in common");
    }
    h[nh++] = nv(":status", "200");
    h[nh++] = nv("sec-webtransport-http3-draft", "draft02");
    if (pick >= 0) {
        snprintf(value, sizeof(value), "\"%s\"", wt->protocols[pick]);
        h[nh++] = nv("wt-protocol", value);
        snprintf(wt->protocol, sizeof(wt->protocol), "%s",
                 wt->protocols[pick]);
    }
    if (nghttp3_conn_submit_response(wt->h3, id, h, nh, &session_reader))
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    wt->session_id = id;
    wt->state = READY;
    FR_INFO(&wt->log, "webtransport: session on stream %lld, protocol %s",
            (long long)id, *wt->protocol ? wt->protocol : "(none)");
    if (wt->cb.ready && wt->cb.ready(wt->arg, pick >= 0 ? wt->protocol : NULL))
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    return 0;
}

/* Client: the response to our CONNECT. */
static int on_response(fr_wt *wt, int64_t id)
{
    const fields *f = &wt->f;

    if (id != wt->session_id || wt->state != CONNECTING)
        return 0;
    if (strcmp(f->status, "200")) {
        FR_WARN(&wt->log, "webtransport: the server answered CONNECT with "
                          "status %s",
                f->status);
        end_session(wt, H3_REQUEST_REJECTED, "CONNECT refused");
        return 0;
    }
    if (f->wt_protocol_set &&
        fr_wt_protocol_parse(f->wt_protocol, strlen(f->wt_protocol),
                             wt->protocol, sizeof(wt->protocol))) {
        end_session(wt, H3_GENERAL_PROTOCOL_ERROR, "bad wt-protocol");
        return 0;
    }
    wt->state = READY;
    FR_INFO(&wt->log, "webtransport: session up, protocol %s",
            *wt->protocol ? wt->protocol : "(none)");
    if (wt->cb.ready && wt->cb.ready(wt->arg, *wt->protocol ? wt->protocol
                                                           : NULL))
        end_session(wt, H3_NO_ERROR, "the application refused the session");
    else
        deliver_early(wt);
    return 0;
}

static int begin_headers(nghttp3_conn *h3, int64_t id, void *conn_arg,
                         void *stream_arg)
{
    fr_wt *wt = conn_arg;

    (void)h3, (void)id, (void)stream_arg;
    memset(&wt->f, 0, sizeof(wt->f));
    return 0;
}

static void keep(char *dst, size_t cap, const nghttp3_vec *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;

    memcpy(dst, v->base, n);
    dst[n] = '\0';
}

static int recv_header(nghttp3_conn *h3, int64_t id, int32_t token,
                       nghttp3_rcbuf *name, nghttp3_rcbuf *value,
                       uint8_t flags, void *conn_arg, void *stream_arg)
{
    fr_wt *wt = conn_arg;
    fields *f = &wt->f;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
    nghttp3_vec v = nghttp3_rcbuf_get_buf(value);

    (void)h3, (void)id, (void)token, (void)flags, (void)stream_arg;
#define IS(s) (n.len == strlen(s) && memcmp(n.base, s, n.len) == 0)
    if (IS(":method"))
        keep(f->method, sizeof(f->method), &v);
    else if (IS(":protocol"))
        keep(f->protocol, sizeof(f->protocol), &v);
    else if (IS(":path"))
        keep(f->path, sizeof(f->path), &v);
    else if (IS(":status"))
        keep(f->status, sizeof(f->status), &v);
    else if (IS("wt-available-protocols") && v.len < FIELD_MAX) {
        keep(f->wt_protocols, sizeof(f->wt_protocols), &v);
        f->wt_protocols_set = 1;
    } else if (IS("wt-protocol") && v.len < FIELD_MAX) {
        keep(f->wt_protocol, sizeof(f->wt_protocol), &v);
        f->wt_protocol_set = 1;
    }
#undef IS
    return 0;
}

static int end_headers(nghttp3_conn *h3, int64_t id, int fin, void *conn_arg,
                       void *stream_arg)
{
    fr_wt *wt = conn_arg;

    (void)h3, (void)fin, (void)stream_arg;
    return wt->is_server ? on_request(wt, id) : on_response(wt, id);
}

static int end_stream(nghttp3_conn *h3, int64_t id, void *conn_arg,
                      void *stream_arg)
{
    fr_wt *wt = conn_arg;

    (void)h3, (void)stream_arg;
    if (id == wt->session_id)
        end_session(wt, H3_NO_ERROR, "the peer ended the session");
    return 0;
}

/* Capsules: the peer ends the session with a code and a message, or asks
 * to drain it (logged: one session per connection, and the MoQT session
 * above has GOAWAY for that); others are skipped. */
static void on_capsule(fr_wt *wt, uint64_t type, const uint8_t *v,
                       size_t len)
{
    const uint8_t *msg;
    size_t msg_len;
    uint32_t code;
    char why[128];

    if (type == FR_WT_CAPSULE_DRAIN_SESSION) {
        FR_INFO(&wt->log, "webtransport: the peer asks to drain the session");
        return;
    }
    if (fr_wt_close_session_parse(v, len, &code, &msg, &msg_len)) {
        end_session(wt, H3_GENERAL_PROTOCOL_ERROR,
                    "malformed CLOSE_WEBTRANSPORT_SESSION");
        return;
    }
    snprintf(why, sizeof(why), "the peer closed the session (code %u: %.*s)",
             code, (int)(msg_len < 64 ? msg_len : 64), (const char *)msg);
    end_session(wt, H3_NO_ERROR, why);
}

static void drop_capsule_bytes(fr_wt *wt, size_t n)
{
    memmove(wt->capsule.buf, wt->capsule.buf + n, wt->capsule.n - n);
    wt->capsule.n -= n;
}

static void read_capsules(fr_wt *wt, const uint8_t *d, size_t len)
{
    while (wt->state == READY) {
        size_t room = sizeof(wt->capsule.buf) - wt->capsule.n, take, h;
        uint64_t type, vlen;

        if (wt->capsule.skip) {
            take = len < wt->capsule.skip ? len : (size_t)wt->capsule.skip;
            if (take == 0)
                return;
            wt->capsule.skip -= take;
            d += take;
            len -= take;
            continue;
        }
        take = len < room ? len : room;
        memcpy(wt->capsule.buf + wt->capsule.n, d, take);
        wt->capsule.n += take;
        d += take;
        len -= take;
        h = fr_wt_capsule_header(wt->capsule.buf, wt->capsule.n, &type, &vlen);
        if (h == 0) {
            if (len == 0)
                return;
            continue;
        }
        if ((type != FR_WT_CAPSULE_CLOSE_SESSION &&
             type != FR_WT_CAPSULE_DRAIN_SESSION) ||
            vlen > sizeof(wt->capsule.buf) - h) {
            if (h + vlen <= wt->capsule.n) {
                drop_capsule_bytes(wt, h + (size_t)vlen);
            } else {
                wt->capsule.skip = h + vlen - wt->capsule.n;
                wt->capsule.n = 0;
            }
            continue;
        }
        if (wt->capsule.n < h + vlen) {
            if (len == 0)
                return;
            continue;
        }
        on_capsule(wt, type, wt->capsule.buf + h, (size_t)vlen);
        drop_capsule_bytes(wt, h + (size_t)vlen);
    }
}

/* The CONNECT stream's body: capsules. */
static int recv_data(nghttp3_conn *h3, int64_t id, const uint8_t *data,
                     size_t len, void *conn_arg, void *stream_arg)
{
    fr_wt *wt = conn_arg;

    (void)h3, (void)stream_arg;
    if (id == wt->session_id)
        read_capsules(wt, data, len);
    return 0;
}

/* nghttp3 asks for a stream to be reset or stopped. */
static int shut(nghttp3_conn *h3, int64_t id, uint64_t code, void *conn_arg,
                void *stream_arg)
{
    fr_wt *wt = conn_arg;

    (void)h3, (void)stream_arg;
    fr_quic_conn_stream_reset(wt->conn, id, code);
    return 0;
}

/* Client: the server's SETTINGS arrived; CONNECT goes if it takes
 * extended CONNECT for WebTransport. */
static void connect_request(fr_wt *wt, const fr_h3_peer_settings *ps)
{
    char offer[FIELD_MAX];
    size_t o = 0;
    nghttp3_nv h[8];
    size_t nh = 0;
    int64_t id;

    if (wt->state != STARTING)
        return;
    if (!ps->connect_protocol || !ps->webtransport) {
        end_session(wt, H3_NO_ERROR, "the server does not take "
                                     "WebTransport (extended CONNECT)");
        return;
    }
    if (fr_quic_conn_open_bidi_stream(wt->conn, &id) ||
        !stream_add(wt, id, H3)) {
        end_session(wt, H3_GENERAL_PROTOCOL_ERROR, "no stream for CONNECT");
        return;
    }
    for (size_t i = 0; i < wt->nprotocols; i++)
        o += (size_t)snprintf(offer + o, sizeof(offer) - o, "%s\"%s\"",
                              i ? ", " : "", wt->protocols[i]);
    h[nh++] = nv(":method", "CONNECT");
    h[nh++] = nv(":protocol", "webtransport");
    h[nh++] = nv(":scheme", "https");
    h[nh++] = nv(":authority", wt->authority);
    h[nh++] = nv(":path", wt->path);
    h[nh++] = nv("sec-webtransport-http3-draft02", "1");
    if (wt->nprotocols)
        h[nh++] = nv("wt-available-protocols", offer);
    if (nghttp3_conn_submit_request(wt->h3, id, h, nh, &session_reader,
                                    NULL)) {
        end_session(wt, H3_GENERAL_PROTOCOL_ERROR, "cannot send CONNECT");
        return;
    }
    wt->session_id = id;
    wt->state = CONNECTING;
}

static const nghttp3_callbacks h3_callbacks = {
    .recv_data = recv_data,
    .begin_headers = begin_headers,
    .recv_header = recv_header,
    .end_headers = end_headers,
    .end_stream = end_stream,
    .stop_sending = shut,
    .reset_stream = shut,
};

/* The control and QPACK streams, bound. */
static int open_h3_streams(fr_wt *wt)
{
    int64_t enc, dec;

    if (fr_quic_conn_open_uni_stream(wt->conn, &wt->ctrl_id) ||
        fr_quic_conn_open_uni_stream(wt->conn, &enc) ||
        fr_quic_conn_open_uni_stream(wt->conn, &dec) ||
        !stream_add(wt, wt->ctrl_id, H3) || !stream_add(wt, enc, H3) ||
        !stream_add(wt, dec, H3) ||
        nghttp3_conn_bind_control_stream(wt->h3, wt->ctrl_id) ||
        nghttp3_conn_bind_qpack_streams(wt->h3, enc, dec))
        return FR_ERR_PROTO;
    return 0;
}

static int copy_config(fr_wt *wt, const fr_wt_config *cfg)
{
    if (!cfg->path || cfg->path[0] != '/' ||
        cfg->nprotocols > MAX_PROTOCOLS ||
        (!wt->is_server && !cfg->authority))
        return FR_ERR_INVALID_ARGUMENT;
    wt->path = strdup(cfg->path);
    wt->authority = strdup(cfg->authority ? cfg->authority : "");
    if (!wt->path || !wt->authority)
        return FR_ERR_NOMEM;
    for (size_t i = 0; i < cfg->nprotocols; i++) {
        if (!cfg->protocols[i] ||
            strlen(cfg->protocols[i]) > FR_WT_PROTOCOL_MAX)
            return FR_ERR_INVALID_ARGUMENT;
        wt->protocols[i] = strdup(cfg->protocols[i]);
        if (!wt->protocols[i])
            return FR_ERR_NOMEM;
        wt->nprotocols++;
    }
    return 0;
}

int fr_wt_new(fr_wt **pwt, fr_quic_conn *conn, const fr_wt_config *cfg,
              const fr_wt_callbacks *cb, void *arg)
{
    nghttp3_settings s;
    fr_wt *wt;
    int rv;

    if (!pwt || !conn || !cfg || !cb)
        return FR_ERR_INVALID_ARGUMENT;
    wt = calloc(1, sizeof(*wt));
    if (!wt)
        return FR_ERR_NOMEM;
    wt->conn = conn;
    wt->is_server = fr_quic_conn_is_server(conn);
    wt->cb = *cb;
    wt->arg = arg;
    wt->log = cfg->log;
    wt->session_id = -1;
    wt->ctrl_id = -1;
    wt->peer_ctrl_id = -1;
    fr_hmap_init(&wt->streams);
    rv = copy_config(wt, cfg);
    if (rv) {
        fr_wt_del(wt);
        return rv;
    }
    nghttp3_settings_default(&s);
    s.enable_connect_protocol = 1;
    s.h3_datagram = 1;
    rv = wt->is_server ? nghttp3_conn_server_new(&wt->h3, &h3_callbacks, &s,
                                                 NULL, wt)
                       : nghttp3_conn_client_new(&wt->h3, &h3_callbacks, &s,
                                                 NULL, wt);
    if (rv || open_h3_streams(wt)) {
        fr_wt_del(wt);
        return rv == NGHTTP3_ERR_NOMEM ? FR_ERR_NOMEM : FR_ERR_PROTO;
    }
    if (wt->is_server)
        nghttp3_conn_set_max_client_streams_bidi(wt->h3, UINT32_MAX);
    *pwt = wt;
    flush_or_end(wt);
    return 0;
}

static void free_stream(void *value, void *arg)
{
    wt_stream *st = value;

    (void)arg;
    free(st->early);
    free(st);
}

void fr_wt_del(fr_wt *wt)
{
    if (!wt)
        return;
    nghttp3_conn_del(wt->h3);
    fr_hmap_each(&wt->streams, free_stream, NULL);
    fr_hmap_free(&wt->streams);
    free(wt->path);
    free(wt->authority);
    for (size_t i = 0; i < wt->nprotocols; i++)
        free(wt->protocols[i]);
    free(wt);
}
