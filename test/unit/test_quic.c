/*
 * QUIC endpoint tests: transfers in both crypto modes (in virtual time and
 * over loopback sockets with the libev adapter), what cleartext mode puts on
 * the wire, mode mismatch, certificates, connection-ID hooks, client
 * migration, the payload size asked of peers, close and idle timeout.
 */
#define _GNU_SOURCE /* memmem */
#include "fr_test.h"

#include <arpa/inet.h>
#include <time.h>

#include <ev.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <fastrelay/fastrelay.h>

#include "quic_sim.h"
#include "short_protect.h"
#include "../../lib/quic/conn_view.h"
#include "../../lib/quic/packet_keys.h"
#include "../../lib/quic/quic_internal.h"

#define ALPN "fr-test"
#define MAX_STREAMS 128
#define MAX_DGRAMS 1024
#define DGRAM_LEN 200

typedef struct xfer {
    /* What the server sends once the handshake completes. */
    int nstreams;
    size_t stream_len;
    int ndgrams;
    /* Receiver (client) state. */
    uint64_t got[MAX_STREAMS];
    int fin[MAX_STREAMS];
    int streams_done;
    int corrupt;
    uint8_t dgram_seen[MAX_DGRAMS];
    int dgrams_recv;
    int dgram_dups;
    /* Life cycle. */
    int client_handshake;
    int server_handshake;
    int client_closed;
    int server_closed;
    fr_quic_close_info client_close;
    fr_quic_close_info server_close;
    char client_msg[512];
    fr_quic_conn *client_conn;
    fr_quic_conn *server_conn;
    /* CID hook. */
    int cids_generated;
    int local_issued;
    int remote_activated;
} xfer;

static uint8_t pattern(int stream, uint64_t off)
{
    return (uint8_t)(stream * 31 + off * 7 + (off >> 8));
}

/* Lets a callback find the test state whatever the harness. */
static xfer *(*xfer_of)(void *ud);

static xfer *xfer_from_sim(void *ud)
{
    return fr_sim_app(ud);
}

static xfer *xfer_from_ud(void *ud)
{
    return ud;
}

static int server_send_all(fr_quic_conn *conn, xfer *x)
{
    uint8_t buf[4096];

    for (int k = 0; k < x->nstreams; k++) {
        int64_t sid;
        assert_int_equal(fr_quic_conn_open_uni_stream(conn, &sid), 0);
        for (size_t off = 0; off < x->stream_len; off += sizeof(buf)) {
            size_t n = x->stream_len - off < sizeof(buf) ? x->stream_len - off
                                                         : sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern((int)(sid >> 2), off + i);
            assert_int_equal(fr_quic_conn_stream_write(
                                 conn, sid, buf, n, off + n == x->stream_len),
                             0);
        }
    }
    for (int d = 0; d < x->ndgrams; d++) {
        uint8_t dg[DGRAM_LEN];
        for (size_t i = 0; i < sizeof(dg); i++)
            dg[i] = (uint8_t)(d + i);
        memcpy(dg, &d, sizeof(d));
        assert_int_equal(fr_quic_conn_send_datagram(conn, dg, sizeof(dg)), 0);
    }
    return 0;
}

static int on_accept(fr_quic_conn *conn, void *ud)
{
    xfer_of(ud)->server_conn = conn;
    return 0;
}

static int on_handshake(fr_quic_conn *conn, void *ud)
{
    xfer *x = xfer_of(ud);

    if (fr_quic_conn_is_server(conn)) {
        x->server_handshake = 1;
        return server_send_all(conn, x);
    }
    x->client_handshake = 1;
    return 0;
}

static int on_stream_data(fr_quic_conn *conn, int64_t sid, const uint8_t *data,
                          size_t len, int fin, void *ud)
{
    xfer *x = xfer_of(ud);
    int k = (int)(sid >> 2);

    (void)conn;
    if (k >= MAX_STREAMS) {
        x->corrupt++;
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (data[i] != pattern(k, x->got[k] + i))
            x->corrupt++;
    x->got[k] += len;
    if (fin) {
        x->fin[k] = 1;
        if (x->got[k] == x->stream_len)
            x->streams_done++;
        else
            x->corrupt++;
    }
    return 0;
}

static int on_datagram(fr_quic_conn *conn, const uint8_t *data, size_t len,
                       void *ud)
{
    xfer *x = xfer_of(ud);
    int d;

    (void)conn;
    if (len != DGRAM_LEN) {
        x->corrupt++;
        return 0;
    }
    memcpy(&d, data, sizeof(d));
    if (d < 0 || d >= MAX_DGRAMS) {
        x->corrupt++;
        return 0;
    }
    for (size_t i = sizeof(d); i < len; i++)
        if (data[i] != (uint8_t)(d + i))
            x->corrupt++;
    if (x->dgram_seen[d])
        x->dgram_dups++;
    x->dgram_seen[d] = 1;
    x->dgrams_recv++;
    return 0;
}

static void on_closed(fr_quic_conn *conn, const fr_quic_close_info *info,
                      void *ud)
{
    xfer *x = xfer_of(ud);

    if (fr_quic_conn_is_server(conn)) {
        x->server_closed = 1;
        x->server_close = *info;
    } else {
        x->client_closed = 1;
        x->client_close = *info;
        snprintf(x->client_msg, sizeof(x->client_msg), "%s", info->message);
        x->client_close.message = x->client_msg;
    }
}

static int gen_cid(fr_quic_conn *conn, uint8_t *cid, size_t len, void *ud)
{
    xfer *x = xfer_of(ud);
    static uint32_t counter;

    (void)conn;
    memset(cid, 0xab, len);
    counter++;
    memcpy(cid + len - sizeof(counter), &counter, sizeof(counter));
    x->cids_generated++;
    return 0;
}

static void on_cid(fr_quic_conn *conn, fr_cid_event ev, const uint8_t *cid,
                   size_t len, void *ud)
{
    xfer *x = xfer_of(ud);

    (void)cid;
    (void)len;
    if (fr_quic_conn_is_server(conn))
        return;
    if (ev == FR_CID_LOCAL_ISSUED)
        x->local_issued++;
    if (ev == FR_CID_REMOTE_ACTIVATED)
        x->remote_activated++;
}

static void base_callbacks(fr_quic_callbacks *cb)
{
    memset(cb, 0, sizeof(*cb));
    cb->accept = on_accept;
    cb->handshake_completed = on_handshake;
    cb->stream_data = on_stream_data;
    cb->datagram = on_datagram;
    cb->closed = on_closed;
}

static fr_cert *test_cert(void)
{
    static fr_cert *cert;

    if (!cert)
        assert_int_equal(fr_cert_generate(&cert, "198.18.0.2"), 0);
    return cert;
}

static void base_settings(fr_quic_settings *s, fr_crypto_mode mode,
                          int server)
{
    size_t pemlen;

    fr_quic_settings_default(s);
    s->alpn = ALPN;
    s->crypto_mode = mode;
    if (server) {
        s->accept_connections = 1;
        s->cert = test_cert();
    } else {
        s->ca_pem = fr_cert_pem(test_cert(), &pemlen);
        s->ca_pem_len = pemlen;
    }
}

/* Zeroes the test state and fills both sides' settings and callbacks. */
static void prepare(xfer *x, fr_quic_settings *cs, fr_quic_settings *ss,
                    fr_quic_callbacks *ccb, fr_quic_callbacks *scb,
                    fr_crypto_mode client_mode, fr_crypto_mode server_mode)
{
    memset(x, 0, sizeof(*x));
    base_settings(cs, client_mode, 0);
    base_settings(ss, server_mode, 1);
    base_callbacks(ccb);
    base_callbacks(scb);
}

/* Virtual-time harness. */

typedef struct sim_env {
    fr_sim *sim;
    fr_quic_endpoint *client;
    fr_quic_endpoint *server;
    fr_quic_conn *conn;
} sim_env;

/* The simulated link and both endpoints, no connection yet. */
static void sim_open(sim_env *e, xfer *x, fr_quic_settings *cs,
                     fr_quic_settings *ss, fr_quic_callbacks *ccb,
                     fr_quic_callbacks *scb)
{
    xfer_of = xfer_from_sim;
    e->sim = fr_sim_new(5 * FR_MILLISECONDS);
    fr_sim_set_app(e->sim, x);
    fr_sim_bind(e->sim, ccb, scb);
    assert_int_equal(fr_quic_endpoint_new(&e->client, ccb, cs,
                                          fr_sim_client_ud(e->sim)),
                     0);
    assert_int_equal(fr_quic_endpoint_new(&e->server, scb, ss,
                                          fr_sim_server_ud(e->sim)),
                     0);
    fr_sim_set_endpoints(e->sim, e->client, e->server);
}

/* Starts the client connection to "server_name". */
static void sim_connect(sim_env *e, xfer *x, const char *server_name)
{
    assert_int_equal(fr_quic_endpoint_connect(e->client, &e->conn,
                                              fr_sim_client_path(),
                                              server_name, NULL,
                                              fr_sim_now(e->sim)),
                     0);
    x->client_conn = e->conn;
}

/* Starts a client connection to "server_name" over a simulated link. */
static void sim_setup_named(sim_env *e, xfer *x, fr_quic_settings *cs,
                            fr_quic_settings *ss, fr_quic_callbacks *ccb,
                            fr_quic_callbacks *scb, const char *server_name)
{
    sim_open(e, x, cs, ss, ccb, scb);
    sim_connect(e, x, server_name);
}

static void sim_setup(sim_env *e, xfer *x, fr_quic_settings *cs,
                      fr_quic_settings *ss, fr_quic_callbacks *ccb,
                      fr_quic_callbacks *scb)
{
    sim_setup_named(e, x, cs, ss, ccb, scb, "198.18.0.2");
}

static void sim_teardown(sim_env *e)
{
    fr_quic_endpoint_del(e->client);
    fr_quic_endpoint_del(e->server);
    fr_sim_del(e->sim);
}

static int transfer_done(void *arg)
{
    xfer *x = arg;

    return x->client_closed ||
           (x->streams_done == x->nstreams && x->dgrams_recv == x->ndgrams);
}

static void check_transfer(const xfer *x)
{
    assert_int_equal(x->client_closed, 0);
    assert_int_equal(x->corrupt, 0);
    assert_int_equal(x->streams_done, x->nstreams);
    assert_int_equal(x->dgrams_recv, x->ndgrams);
    assert_int_equal(x->dgram_dups, 0);
    for (int k = 0; k < x->nstreams; k++)
        assert_true(x->got[k] == x->stream_len && x->fin[k]);
}

static void sim_transfer(fr_crypto_mode mode)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_conn_stats st;

    prepare(&x, &cs, &ss, &ccb, &scb, mode, mode);
    x.nstreams = 100;
    x.stream_len = 100 * 1024; /* 10 MB in all */
    x.ndgrams = 1000;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, transfer_done, &x, 120 * FR_SECONDS));
    check_transfer(&x);
    assert_int_equal(fr_quic_conn_get_crypto_mode(e.conn), mode);
    fr_quic_conn_get_stats(e.conn, &st);
    assert_true(st.pkts_recv > 7000);
    assert_true(st.stream_bytes_recv == 100 * 100 * 1024);
    assert_int_equal(st.datagrams_recv, 1000);
    /* RTT is two one-way delays of 5 ms, plus ACK delay. */
    assert_true(st.min_rtt >= 10 * FR_MILLISECONDS);
    assert_true(st.smoothed_rtt < 60 * FR_MILLISECONDS);
    assert_true(st.cwnd > 0);
    sim_teardown(&e);
}

static void test_transfer_sim_tls(void **state)
{
    (void)state;
    sim_transfer(FR_CRYPTO_TLS);
}

static void test_transfer_sim_cleartext(void **state)
{
    (void)state;
    sim_transfer(FR_CRYPTO_CLEARTEXT);
}

/* Loopback harness: real UDP sockets and the libev adapter. */

typedef struct loop_env {
    struct ev_loop *loop;
    ev_timer check;
    fr_tstamp deadline;
    int (*done)(void *);
    void *arg;
} loop_env;

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    loop_env *le = w->data;

    (void)revents;
    if (le->done(le->arg) || fr_quic_ev_now() > le->deadline)
        ev_break(loop, EVBREAK_ALL);
}

static int run_loop(struct ev_loop *loop, int (*done)(void *), void *arg,
                    fr_duration limit)
{
    loop_env le = {loop, {0}, fr_quic_ev_now() + limit, done, arg};

    ev_timer_init(&le.check, check_cb, 0.005, 0.005);
    le.check.data = &le;
    ev_timer_start(loop, &le.check);
    ev_run(loop, 0);
    ev_timer_stop(loop, &le.check);
    return done(arg);
}

static void loopback_addr(struct sockaddr_storage *ss, socklen_t *len)
{
    assert_int_equal(fr_addr_parse(ss, len, "127.0.0.1:0"), 0);
}

static void loopback_transfer(fr_crypto_mode mode)
{
    static xfer x;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_ev *server, *client;
    struct sockaddr_storage addr, srv;
    socklen_t len, srvlen;
    fr_quic_conn *conn;

    prepare(&x, &cs, &ss, &ccb, &scb, mode, mode);
    xfer_of = xfer_from_ud;
    x.nstreams = 100;
    x.stream_len = 100 * 1024;
    x.ndgrams = 1000;
    /* The pinned certificate names 198.18.0.2, so that is the name the
     * client verifies, though the socket is on 127.0.0.1. */
    loopback_addr(&addr, &len);
    assert_int_equal(fr_quic_ev_new(&server, loop, &scb, &ss,
                                    (struct sockaddr *)&addr, len, &x),
                     0);
    assert_int_equal(fr_quic_ev_new(&client, loop, &ccb, &cs,
                                    (struct sockaddr *)&addr, len, &x),
                     0);
    fr_quic_ev_local_addr(server, &srv, &srvlen);
    assert_int_equal(fr_quic_ev_connect(client, &conn, (struct sockaddr *)&srv,
                                        srvlen, "198.18.0.2", NULL),
                     0);
    assert_true(run_loop(loop, transfer_done, &x, 60 * FR_SECONDS));
    check_transfer(&x);
    fr_quic_ev_del(client);
    fr_quic_ev_del(server);
    ev_loop_destroy(loop);
}

static void test_transfer_loopback_tls(void **state)
{
    (void)state;
    loopback_transfer(FR_CRYPTO_TLS);
}

static void test_transfer_loopback_cleartext(void **state)
{
    (void)state;
    loopback_transfer(FR_CRYPTO_CLEARTEXT);
}

/* What is on the wire. */

static const char marker[] = "FASTRELAY-WIRE-MARKER-0123456789";

typedef struct wire_tap {
    int seen;
} wire_tap;

static void tap_cb(int from_client, const uint8_t *data, size_t len,
                   void *arg)
{
    wire_tap *t = arg;

    if (!from_client && memmem(data, len, marker, sizeof(marker) - 1))
        t->seen++;
}

static int marker_sent(void *arg)
{
    xfer *x = arg;

    return x->client_closed || x->streams_done == 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static int wire_done(void *arg)
{
    xfer *x = arg;

    return x->client_closed || x->client_handshake;
}

static int run_marker(fr_crypto_mode mode)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    wire_tap t = {0};
    int64_t sid;

    prepare(&x, &cs, &ss, &ccb, &scb, mode, mode);
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    fr_sim_set_tap(e.sim, tap_cb, &t);
    assert_true(fr_sim_run(e.sim, wire_done, &x, 5 * FR_SECONDS));
    assert_int_equal(x.client_closed, 0);
    /* The server writes the marker on a stream; the client only checks
     * that it arrives. */
    assert_int_equal(fr_quic_conn_open_uni_stream(x.server_conn, &sid), 0);
    x.stream_len = sizeof(marker) - 1;
    x.nstreams = 1;
    assert_int_equal(fr_quic_conn_stream_write(x.server_conn, sid,
                                               (const uint8_t *)marker,
                                               sizeof(marker) - 1, 1),
                     0);
    fr_sim_run(e.sim, marker_sent, &x, 5 * FR_SECONDS);
    sim_teardown(&e);
    return t.seen;
}

static void test_wire_cleartext_readable(void **state)
{
    (void)state;
    assert_true(run_marker(FR_CRYPTO_CLEARTEXT) >= 1);
}

static void test_wire_tls_hidden(void **state)
{
    (void)state;
    assert_int_equal(run_marker(FR_CRYPTO_TLS), 0);
}

/* A tls peer and a cleartext peer must fail the handshake clearly. */

static int closed_either(void *arg)
{
    xfer *x = arg;

    return x->client_closed || x->client_handshake;
}

static void mismatch(fr_crypto_mode client_mode, fr_crypto_mode server_mode)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    prepare(&x, &cs, &ss, &ccb, &scb, client_mode, server_mode);
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    /* Bounded: the failure must come within a few round trips, long before
     * the 10 s handshake timeout. */
    assert_true(fr_sim_run(e.sim, closed_either, &x, 2 * FR_SECONDS));
    assert_int_equal(x.client_handshake, 0);
    assert_int_equal(x.client_closed, 1);
    assert_int_equal(x.client_close.reason, FR_CLOSE_HANDSHAKE_FAILED);
    assert_int_equal(x.client_close.app_error, 0);
    assert_int_equal(x.client_close.error_code, 0x100 + 120);
    assert_non_null(strstr(x.client_msg, "no_application_protocol"));
    assert_non_null(strstr(x.client_msg, "cleartext"));
    sim_teardown(&e);
}

static void test_tls_client_cleartext_server(void **state)
{
    (void)state;
    mismatch(FR_CRYPTO_TLS, FR_CRYPTO_CLEARTEXT);
}

static void test_cleartext_client_tls_server(void **state)
{
    (void)state;
    mismatch(FR_CRYPTO_CLEARTEXT, FR_CRYPTO_TLS);
}

/* ALPN lists: a client offers each of its list, the server takes the
 * first of its own that is offered; both then report it. */
static void alpn_case(const char *client, const char *server,
                      const char *want)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    cs.alpn = client;
    ss.alpn = server;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_null(fr_quic_conn_get_alpn(e.conn));
    assert_true(fr_sim_run(e.sim, closed_either, &x, 2 * FR_SECONDS));
    if (want) {
        assert_int_equal(x.client_handshake, 1);
        assert_string_equal(fr_quic_conn_get_alpn(e.conn), want);
    } else {
        assert_int_equal(x.client_handshake, 0);
        assert_int_equal(x.client_close.error_code, 0x100 + 120);
    }
    sim_teardown(&e);
}

static void test_alpn_lists(void **state)
{
    (void)state;
    alpn_case("moqt-19,moqt-18", "moqt-19,moqt-18", "moqt-19");
    alpn_case("moqt-18,moqt-19", "moqt-19,moqt-18", "moqt-19");
    alpn_case("moqt-18", "moqt-19,moqt-18", "moqt-18");
    alpn_case("moqt-19,moqt-18", "moqt-18", "moqt-18");
    alpn_case("moqt-17", "moqt-19,moqt-18", NULL);
}

/* Certificates. */

static void handshake_with(fr_quic_settings *cs, xfer *x)
{
    sim_env e;
    fr_quic_settings ss;
    fr_quic_callbacks ccb, scb;

    base_settings(&ss, FR_CRYPTO_TLS, 1);
    base_callbacks(&ccb);
    base_callbacks(&scb);
    sim_setup(&e, x, cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, x, 5 * FR_SECONDS));
    sim_teardown(&e);
}

static void test_cert_wrong_pin_rejected(void **state)
{
    static xfer x;
    fr_quic_settings cs;
    fr_cert *other;
    size_t len;

    (void)state;
    memset(&x, 0, sizeof(x));
    assert_int_equal(fr_cert_generate(&other, "198.18.0.2"), 0);
    base_settings(&cs, FR_CRYPTO_TLS, 0);
    cs.ca_pem = fr_cert_pem(other, &len);
    cs.ca_pem_len = len;
    handshake_with(&cs, &x);
    fr_cert_del(other);
    assert_int_equal(x.client_handshake, 0);
    assert_int_equal(x.client_close.reason, FR_CLOSE_HANDSHAKE_FAILED);
    assert_non_null(strstr(x.client_msg, "TLS"));
}

static void test_cert_insecure_explicit(void **state)
{
    static xfer x;
    fr_quic_settings cs;

    (void)state;
    memset(&x, 0, sizeof(x));
    base_settings(&cs, FR_CRYPTO_TLS, 0);
    cs.ca_pem = NULL;
    cs.ca_pem_len = 0;
    cs.insecure = 1;
    handshake_with(&cs, &x);
    assert_int_equal(x.client_handshake, 1);
}

/* How many CAs a client credential trusts. */
static size_t trusted_cas(gnutls_certificate_credentials_t cred)
{
    gnutls_x509_trust_list_t list;
    gnutls_x509_trust_list_iter_t it = NULL;
    gnutls_x509_crt_t crt;
    size_t n = 0;

    gnutls_certificate_get_trust_list(cred, &list);
    while (gnutls_x509_trust_list_iter_get_ca(list, &it, &crt) == 0) {
        gnutls_x509_crt_deinit(crt);
        n++;
    }
    gnutls_x509_trust_list_iter_deinit(it);
    return n;
}

/* Without a CA or insecure, a client checks the server against the
 * system's CAs, read at its endpoint's first connection (an endpoint that
 * only serves never reads them); a self-signed server fails the check. */
static void test_cert_system_trust_at_first_connection(void **state)
{
    static xfer x;
    gnutls_certificate_credentials_t fresh;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    int system;
    sim_env e;

    (void)state;
    memset(&x, 0, sizeof(x));
    assert_int_equal(gnutls_certificate_allocate_credentials(&fresh), 0);
    system = gnutls_certificate_set_x509_system_trust(fresh);
    gnutls_certificate_free_credentials(fresh);
    base_settings(&cs, FR_CRYPTO_TLS, 0);
    cs.ca_pem = NULL;
    cs.ca_pem_len = 0;
    base_settings(&ss, FR_CRYPTO_TLS, 1);
    base_callbacks(&ccb);
    base_callbacks(&scb);
    sim_open(&e, &x, &cs, &ss, &ccb, &scb);
    assert_int_equal(trusted_cas(e.client->client_cred), 0);
    assert_int_equal(trusted_cas(e.server->client_cred), 0);
    sim_connect(&e, &x, "198.18.0.2");
    assert_int_equal(trusted_cas(e.client->client_cred),
                     system > 0 ? (size_t)system : 0);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    assert_int_equal(x.client_handshake, 0);
    assert_int_equal(x.client_close.reason, FR_CLOSE_HANDSHAKE_FAILED);
    assert_int_equal(trusted_cas(e.server->client_cred), 0);
    sim_teardown(&e);
}

static void test_cert_pinned_accepted(void **state)
{
    static xfer x;
    fr_quic_settings cs;

    (void)state;
    memset(&x, 0, sizeof(x));
    base_settings(&cs, FR_CRYPTO_TLS, 0);
    handshake_with(&cs, &x);
    assert_int_equal(x.client_handshake, 1);
}

/* Writes a self-signed certificate and its key as PEM files, made with
 * GnuTLS directly (independently of fr_cert_generate). */
static void write_pem_pair(const char *certf, const char *keyf)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t out;
    unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    time_t now = time(NULL);
    FILE *f;

    assert_int_equal(gnutls_x509_privkey_init(&key), 0);
    assert_int_equal(gnutls_x509_privkey_generate(
                         key, GNUTLS_PK_ECDSA,
                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                     0);
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    gnutls_x509_crt_set_version(crt, 3);
    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
    gnutls_x509_crt_set_activation_time(crt, now - 60);
    gnutls_x509_crt_set_expiration_time(crt, now + 3600);
    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                  "pem.test", 8);
    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "pem.test",
                                         8, GNUTLS_FSAN_SET);
    gnutls_x509_crt_set_key(crt, key);
    assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256,
                                           0),
                     0);
    assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out),
                     0);
    assert_non_null(f = fopen(certf, "w"));
    fwrite(out.data, 1, out.size, f);
    fclose(f);
    gnutls_free(out.data);
    assert_int_equal(
        gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &out), 0);
    assert_non_null(f = fopen(keyf, "w"));
    fwrite(out.data, 1, out.size, f);
    fclose(f);
    gnutls_free(out.data);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

/* A certificate loaded from PEM files serves a client that trusts the same
 * file through ca_file; broken files are errors, not crashes. */
static void test_cert_load(void **state)
{
    static xfer x;
    char dir[] = "/tmp/fr-cert-XXXXXX";
    char certf[64], keyf[64];
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_cert *cert;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(certf, sizeof(certf), "%s/c.pem", dir);
    snprintf(keyf, sizeof(keyf), "%s/k.pem", dir);
    assert_int_equal(fr_cert_load(&cert, certf, keyf), FR_ERR_CERT);

    write_pem_pair(certf, keyf);
    assert_int_equal(fr_cert_load(&cert, certf, keyf), 0);
    assert_non_null(strstr(fr_cert_pem(cert, NULL), "BEGIN CERTIFICATE"));
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    ss.cert = cert;
    cs.ca_pem = NULL;
    cs.ca_file = certf;
    sim_setup_named(&e, &x, &cs, &ss, &ccb, &scb, "pem.test");
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    assert_int_equal(x.client_handshake, 1);
    sim_teardown(&e);
    fr_cert_del(cert);

    f = fopen(keyf, "w");
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(fr_cert_load(&cert, certf, keyf), FR_ERR_CERT);
    unlink(certf);
    unlink(keyf);
    rmdir(dir);
}

/* A certificate for browsers' serverCertificateHashes: ECDSA P-256, valid
 * 14 days at most in all; its SHA-256 is the fingerprint of its DER. */
static void test_cert_browser(void **state)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t pem;
    unsigned bits = 0;
    uint8_t hash[32], fp[32];
    size_t fplen = sizeof(fp);
    fr_cert *cert;
    time_t from, until;

    (void)state;
    assert_int_equal(fr_cert_generate_days(&cert, "127.0.0.1", 0),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_cert_generate_days(&cert, "127.0.0.1", 3651),
                     FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(
        fr_cert_generate_days(&cert, "127.0.0.1", FR_CERT_BROWSER_DAYS), 0);
    pem.data = (unsigned char *)fr_cert_pem(cert, NULL);
    pem.size = (unsigned)strlen((const char *)pem.data);
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    assert_int_equal(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM),
                     0);
    from = gnutls_x509_crt_get_activation_time(crt);
    until = gnutls_x509_crt_get_expiration_time(crt);
    assert_true(until > time(NULL));
    assert_true(until - from <= 14 * 24 * 3600);
    assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits),
                     GNUTLS_PK_ECDSA);
    assert_int_equal(bits, 256);
    assert_int_equal(fr_cert_sha256(cert, hash), 0);
    assert_int_equal(
        gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen),
        0);
    assert_int_equal(fplen, sizeof(fp));
    assert_memory_equal(hash, fp, sizeof(fp));
    gnutls_x509_crt_deinit(crt);
    fr_cert_del(cert);
}

/* Connection-ID hook and events. */

static void test_cid_hook(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    uint8_t cid[FR_CID_MAX_LEN];
    size_t len;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_CLEARTEXT, FR_CRYPTO_CLEARTEXT);
    cs.cid_len = 12;
    ccb.generate_cid = gen_cid;
    ccb.cid_changed = on_cid;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    /* Let NEW_CONNECTION_ID frames flow. */
    fr_sim_run(e.sim, never, &x,
               200 * FR_MILLISECONDS);
    assert_int_equal(x.client_handshake, 1);
    assert_true(x.cids_generated >= 2);
    assert_int_equal(x.local_issued, x.cids_generated);
    assert_true(x.remote_activated >= 1);
    len = fr_quic_conn_get_local_cid(e.conn, cid);
    assert_int_equal(len, 12);
    assert_int_equal(cid[0], 0xab);
    len = fr_quic_conn_get_remote_cid(e.conn, cid);
    assert_int_equal(len, 8); /* the server's default length */
    sim_teardown(&e);
}

static int handshakes_done(void *arg)
{
    xfer *x = arg;

    return x->client_closed || (x->client_handshake && x->server_handshake);
}

/* The largest UDP payload we accept goes to the peer (a fast-path relay
 * asks its upstreams for packets whose copies still fit). */
static void test_max_udp_payload_recv(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_CLEARTEXT, FR_CRYPTO_CLEARTEXT);
    cs.max_udp_payload_recv = 1300;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, handshakes_done, &x, 5 * FR_SECONDS));
    assert_int_equal(
        ngtcp2_conn_get_remote_transport_params(x.server_conn->conn)
            ->max_udp_payload_size,
        1300);
    /* Unset: the protocol's default, any size. */
    assert_int_equal(ngtcp2_conn_get_remote_transport_params(e.conn->conn)
                         ->max_udp_payload_size,
                     NGTCP2_DEFAULT_MAX_RECV_UDP_PAYLOAD_SIZE);
    sim_teardown(&e);
}

/* Client migration (fr_quic_conn_migrate). */

static void test_migrate(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_path moved = *fr_sim_client_path();
    uint8_t cid_before[FR_CID_MAX_LEN], cid_after[FR_CID_MAX_LEN];
    size_t len_before, len_after;
    const struct sockaddr_in *seen;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_CLEARTEXT, FR_CRYPTO_CLEARTEXT);
    x.nstreams = 100;
    x.stream_len = 100 * 1024;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    ((struct sockaddr_in *)&moved.local)->sin_port = htons(5001);
    /* Not before the handshake is confirmed. */
    assert_int_equal(fr_quic_conn_migrate(e.conn,
                                          (struct sockaddr *)&moved.local,
                                          moved.local_len, fr_sim_now(e.sim)),
                     FR_ERR_INVALID_STATE);
    assert_true(fr_sim_run(e.sim, handshakes_done, &x, 5 * FR_SECONDS));
    /* Let the transfer start and NEW_CONNECTION_ID frames arrive. */
    fr_sim_run(e.sim, never, &x, 30 * FR_MILLISECONDS);
    assert_true(x.streams_done < x.nstreams);
    len_before = fr_quic_conn_get_remote_cid(x.server_conn, cid_before);

    /* Servers cannot migrate; the current address is no move. */
    assert_int_equal(fr_quic_conn_migrate(x.server_conn,
                                          (struct sockaddr *)&moved.remote,
                                          moved.remote_len, fr_sim_now(e.sim)),
                     FR_ERR_INVALID_STATE);
    assert_int_equal(
        fr_quic_conn_migrate(e.conn,
                             (struct sockaddr *)&fr_sim_client_path()->local,
                             moved.local_len, fr_sim_now(e.sim)),
        FR_ERR_INVALID_ARGUMENT);
    assert_int_equal(fr_quic_conn_migrate(e.conn,
                                          (struct sockaddr *)&moved.local,
                                          moved.local_len, fr_sim_now(e.sim)),
                     0);
    seen = (const struct sockaddr_in *)&fr_quic_conn_get_path(e.conn)->local;
    assert_int_equal(ntohs(seen->sin_port), 5001);

    assert_true(fr_sim_run(e.sim, transfer_done, &x, 60 * FR_SECONDS));
    check_transfer(&x);
    /* The server follows: it sends to the new port, with a new CID. */
    seen = (const struct sockaddr_in *)&fr_quic_conn_get_path(x.server_conn)
               ->remote;
    assert_int_equal(ntohs(seen->sin_port), 5001);
    len_after = fr_quic_conn_get_remote_cid(x.server_conn, cid_after);
    assert_false(len_after == len_before &&
                 memcmp(cid_before, cid_after, len_after) == 0);
    sim_teardown(&e);
}

/* The endpoint's clock never goes backwards: a datagram batch stamped
 * before a callback that used a fresher time, or a migration stamped later
 * than the next read, must not hand ngtcp2 an older timestamp (it aborts on
 * one). */

static void test_clock_never_backwards(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_path moved = *fr_sim_client_path();
    fr_tstamp t;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_CLEARTEXT, FR_CRYPTO_CLEARTEXT);
    x.nstreams = 20;
    x.stream_len = 50 * 1024;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, handshakes_done, &x, 5 * FR_SECONDS));
    fr_sim_run(e.sim, never, &x, 30 * FR_MILLISECONDS);
    assert_true(x.streams_done < x.nstreams);

    /* Each endpoint is told a time 20 ms ahead, then the older one. */
    t = fr_sim_now(e.sim);
    assert_int_equal(fr_quic_endpoint_flush(e.client, t + 20 * FR_MILLISECONDS),
                     0);
    assert_int_equal(fr_quic_endpoint_handle_expiry(e.client, t), 0);
    assert_int_equal(fr_quic_endpoint_flush(e.client, t - FR_MILLISECONDS), 0);
    assert_int_equal(
        fr_quic_endpoint_handle_expiry(e.server, t + 20 * FR_MILLISECONDS), 0);
    assert_int_equal(fr_quic_endpoint_flush(e.server, t), 0);
    ((struct sockaddr_in *)&moved.local)->sin_port = htons(5001);
    assert_int_equal(fr_quic_conn_migrate(e.conn,
                                          (struct sockaddr *)&moved.local,
                                          moved.local_len, t + 25 * FR_MILLISECONDS),
                     0);
    /* The simulation goes on with its own, older clock: datagrams stamped
     * before the times above are read, and the transfer completes. */
    assert_true(fr_sim_now(e.sim) < t + 25 * FR_MILLISECONDS);
    assert_true(fr_sim_run(e.sim, transfer_done, &x, 60 * FR_SECONDS));
    check_transfer(&x);
    sim_teardown(&e);
}

/* Close and idle timeout. */

static int both_closed(void *arg)
{
    xfer *x = arg;

    return x->client_closed && x->server_closed;
}

static void test_graceful_close(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    assert_int_equal(fr_quic_conn_close(e.conn, 42, "bye"), 0);
    assert_int_equal(fr_quic_conn_close(e.conn, 42, "bye"),
                     FR_ERR_CONN_CLOSED);
    assert_true(fr_sim_run(e.sim, both_closed, &x, 5 * FR_SECONDS));
    assert_int_equal(x.client_close.reason, FR_CLOSE_LOCAL);
    assert_int_equal(x.server_close.reason, FR_CLOSE_PEER);
    assert_int_equal(x.server_close.app_error, 1);
    assert_int_equal(x.server_close.error_code, 42);
    /* Closing and draining periods end; both endpoints forget the
     * connection. */
    fr_sim_run(e.sim, never, &x,
               2 * FR_SECONDS);
    assert_int_equal(fr_quic_endpoint_conn_count(e.client), 0);
    assert_int_equal(fr_quic_endpoint_conn_count(e.server), 0);
    sim_teardown(&e);
}

static void test_idle_timeout(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    cs.idle_timeout = 1 * FR_SECONDS;
    ss.idle_timeout = 1 * FR_SECONDS;
    cs.keep_alive = 0;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, both_closed, &x, 10 * FR_SECONDS));
    assert_int_equal(x.client_handshake, 1);
    assert_int_equal(x.client_close.reason, FR_CLOSE_IDLE);
    assert_int_equal(x.server_close.reason, FR_CLOSE_IDLE);
    assert_true(fr_sim_now(e.sim) < 1 * FR_SECONDS + 4 * FR_SECONDS);
    sim_teardown(&e);
}

/* A quiet connection outlives the idle timeout: the client PINGs it at
 * half the timeout that applies, the shorter of the two sides' (a client
 * that went by its own 30 s lost a server of 1 s). */
static int any_closed(void *arg)
{
    xfer *x = arg;

    return x->client_closed || x->server_closed;
}

static void test_keep_alive(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    (void)state;
    for (int longer = 0; longer < 2; longer++) {
        prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
        cs.idle_timeout = (longer ? 30 : 1) * FR_SECONDS;
        ss.idle_timeout = 1 * FR_SECONDS;
        sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
        assert_false(fr_sim_run(e.sim, any_closed, &x, 10 * FR_SECONDS));
        assert_int_equal(x.client_handshake, 1);
        assert_int_equal(fr_quic_endpoint_conn_count(e.client), 1);
        assert_int_equal(fr_quic_endpoint_conn_count(e.server), 1);
        sim_teardown(&e);
    }
}

/* A server at max_connections refuses a new client with CONNECTION_REFUSED
 * at its first packet and keeps serving the one it has. */
static int client_closed(void *arg)
{
    return ((xfer *)arg)->client_closed;
}

static void test_connection_limit(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_conn *second;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    ss.max_connections = 1;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, handshakes_done, &x, 5 * FR_SECONDS));
    assert_int_equal(fr_quic_endpoint_connect(e.client, &second,
                                              fr_sim_client_path(),
                                              "198.18.0.2", NULL,
                                              fr_sim_now(e.sim)),
                     0);
    assert_true(fr_sim_run(e.sim, client_closed, &x, 5 * FR_SECONDS));
    /* Refused within a round trip, not after a handshake timeout. */
    assert_true(fr_sim_now(e.sim) < 2 * FR_SECONDS);
    assert_int_equal(x.client_close.reason, FR_CLOSE_HANDSHAKE_FAILED);
    assert_int_equal(x.client_close.app_error, 0);
    assert_int_equal(x.client_close.error_code, 0x2); /* CONNECTION_REFUSED */
    assert_int_equal(fr_quic_endpoint_conn_count(e.server), 1);
    assert_int_equal(fr_quic_endpoint_refused_count(e.server), 1);
    assert_true(fr_quic_conn_is_handshake_completed(e.conn));
    assert_false(x.server_closed);
    sim_teardown(&e);
}

/* Stream limit and bad arguments. */

static void test_stream_limit_and_errors(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    int64_t sid;
    uint8_t big[2000] = {0};

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    cs.max_streams_uni = 3;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    fr_sim_run(e.sim, never, &x,
               100 * FR_MILLISECONDS);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fr_quic_conn_open_uni_stream(x.server_conn, &sid), 0);
    assert_int_equal(fr_quic_conn_open_uni_stream(x.server_conn, &sid),
                     FR_ERR_STREAM_LIMIT);
    assert_int_equal(fr_quic_conn_stream_write(x.server_conn, 1000, big, 1, 0),
                     FR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(fr_quic_conn_stream_write(x.server_conn, sid, big, 1, 1),
                     0);
    assert_int_equal(fr_quic_conn_stream_write(x.server_conn, sid, big, 1, 0),
                     FR_ERR_STREAM_SHUT_WR);
    assert_int_equal(fr_quic_conn_send_datagram(x.server_conn, big,
                                                sizeof(big)),
                     FR_ERR_DATAGRAM_TOO_LARGE);
    sim_teardown(&e);
}

/* Bidirectional streams: the client sends a request, the server echoes it
 * back on the same stream. */

typedef struct echo {
    uint8_t reply[64];
    size_t replylen;
    int reply_fin;
} echo;

static echo echo_state;

static int echo_data(fr_quic_conn *conn, int64_t sid, const uint8_t *data,
                     size_t len, int fin, void *ud)
{
    (void)ud;
    if (fr_quic_conn_is_server(conn))
        return fr_quic_conn_stream_write(conn, sid, data, len, fin);
    memcpy(echo_state.reply + echo_state.replylen, data, len);
    echo_state.replylen += len;
    echo_state.reply_fin |= fin;
    return 0;
}

static int echo_done(void *arg)
{
    (void)arg;
    return echo_state.reply_fin;
}

static void test_bidi_echo(void **state)
{
    static xfer x;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    int64_t sid;

    (void)state;
    memset(&echo_state, 0, sizeof(echo_state));
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_CLEARTEXT,
            FR_CRYPTO_CLEARTEXT);
    ccb.stream_data = echo_data;
    scb.stream_data = echo_data;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    assert_int_equal(fr_quic_conn_open_bidi_stream(e.conn, &sid), 0);
    assert_int_equal(sid & 3, 0); /* client-initiated bidirectional */
    assert_int_equal(fr_quic_conn_stream_write(e.conn, sid,
                                               (const uint8_t *)"ping", 4, 1),
                     0);
    assert_true(fr_sim_run(e.sim, echo_done, NULL, 5 * FR_SECONDS));
    assert_int_equal(echo_state.replylen, 4);
    assert_memory_equal(echo_state.reply, "ping", 4);
    sim_teardown(&e);
}

/* Stream priority: the more urgent stream finishes first even when the
 * other one was queued earlier. */

static int64_t first_fin = -1;

static int fin_order_data(fr_quic_conn *conn, int64_t sid, const uint8_t *d,
                          size_t len, int fin, void *ud)
{
    (void)conn;
    (void)d;
    (void)len;
    (void)ud;
    if (fin && first_fin < 0)
        first_fin = sid;
    return 0;
}

static int first_fin_seen(void *arg)
{
    (void)arg;
    return first_fin >= 0;
}

static void test_stream_priority(void **state)
{
    static xfer x;
    static uint8_t data[300000];
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    int64_t low, high;

    (void)state;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    ccb.stream_data = fin_order_data;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    assert_true(fr_sim_run(e.sim, closed_either, &x, 5 * FR_SECONDS));
    fr_quic_conn *srv = x.server_conn;
    assert_int_equal(fr_quic_conn_open_uni_stream(srv, &low), 0);
    assert_int_equal(fr_quic_conn_open_uni_stream(srv, &high), 0);
    assert_int_equal(fr_quic_conn_stream_set_priority(srv, low, 10), 0);
    assert_int_equal(fr_quic_conn_stream_set_priority(srv, high, 1), 0);
    assert_int_equal(fr_quic_conn_stream_write(srv, low, data, sizeof(data),
                                               1),
                     0);
    assert_int_equal(fr_quic_conn_stream_write(srv, high, data, sizeof(data),
                                               1),
                     0);
    assert_int_equal(fr_quic_conn_stream_set_priority(srv, 9999, 1),
                     FR_ERR_STREAM_NOT_FOUND);
    first_fin = -1;
    assert_true(fr_sim_run(e.sim, first_fin_seen, NULL, 10 * FR_SECONDS));
    assert_int_equal(first_fin, high);
    sim_teardown(&e);
}

/* The log callback receives messages at or above its level. */

static int warnings;

static void count_warnings(fr_log_level level, const char *msg, void *ud)
{
    (void)ud;
    assert_true(level >= FR_LOG_WARN);
    if (strstr(msg, "cleartext") || strstr(msg, "CLEARTEXT"))
        warnings++;
}

static void test_cleartext_warns(void **state)
{
    fr_quic_settings s;
    fr_quic_callbacks cb;
    fr_quic_endpoint *ep;
    fr_sim *sim = fr_sim_new(0);
    fr_quic_callbacks other;

    (void)state;
    base_callbacks(&cb);
    fr_sim_bind(sim, &cb, &other);
    base_settings(&s, FR_CRYPTO_CLEARTEXT, 1);
    s.log.fn = count_warnings;
    s.log.level = FR_LOG_WARN;
    warnings = 0;
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL), 0);
    assert_int_equal(warnings, 1);
    fr_quic_endpoint_del(ep);
    base_settings(&s, FR_CRYPTO_TLS, 1);
    s.log.fn = count_warnings;
    s.log.level = FR_LOG_WARN;
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL), 0);
    assert_int_equal(warnings, 1);
    fr_quic_endpoint_del(ep);
    fr_sim_del(sim);
}

static void test_settings_rejected(void **state)
{
    fr_quic_settings s;
    fr_quic_callbacks cb;
    fr_quic_endpoint *ep;

    (void)state;
    base_callbacks(&cb);
    cb.send = NULL;
    base_settings(&s, FR_CRYPTO_TLS, 0);
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT); /* no send callback */
    fr_sim *sim = fr_sim_new(0);
    fr_quic_callbacks other;
    fr_sim_bind(sim, &cb, &other);
    s.alpn = NULL;
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    base_settings(&s, FR_CRYPTO_TLS, 0);
    s.alpn = "moqt-19,,moqt-18"; /* an empty entry */
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    s.alpn = "a,b,c,d,e"; /* more than FR_ALPN_LIST_MAX */
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    base_settings(&s, FR_CRYPTO_TLS, 0);
    s.cid_len = 30;
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    base_settings(&s, FR_CRYPTO_TLS, 0);
    s.max_udp_payload_recv = 1199; /* below QUIC's minimum */
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    base_settings(&s, FR_CRYPTO_TLS, 0);
    s.accept_connections = 1; /* a server needs a certificate */
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL),
                     FR_ERR_INVALID_ARGUMENT);
    base_settings(&s, FR_CRYPTO_TLS, 0);
    s.ca_pem = NULL;
    s.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(fr_quic_endpoint_new(&ep, &cb, &s, NULL), FR_ERR_CERT);
    fr_sim_del(sim);
}

/* A hooking layer that changes nothing and keeps the 1-RTT keys it gets
 * (conn_hooks.h): lib/quic protects its connections at the wire. */

#define KEY_GENS 2

typedef struct keys_seen {
    int calls;
    int without;              /* calls with no keys (another suite) */
    uint64_t gen;             /* the newest generation seen */
    fr_packet_keys k[KEY_GENS];
    int have[KEY_GENS];
    /* The server's first and latest short-header datagrams on the wire. */
    uint8_t pkt[2][1500];
    size_t pktlen[2];
    /* The client's key update. */
    fr_sim *sim;
    xfer *x;
    int updated;
    /* Packets the tx hook saw, as ngtcp2 tracks them or not. */
    uint64_t tracked_bytes;
    int untracked;
    size_t untracked_max; /* the longest untracked packet */
} keys_seen;

static keys_seen *seen_keys;

static void *kh_attach(fr_quic_conn *c)
{
    (void)c;
    return seen_keys;
}
static void kh_detach(void *ext) { (void)ext; }
static void kh_settings(void *ext, ngtcp2_settings *ns,
                        ngtcp2_transport_params *tp)
{
    (void)ext;
    (void)ns;
    (void)tp;
}
static void kh_before(void *ext, fr_tstamp now)
{
    (void)ext;
    (void)now;
}
static void kh_after(void *ext) { (void)ext; }
static ssize_t kh_rx(void *ext, const uint8_t *d, size_t len, fr_tstamp now,
                     const uint8_t **out)
{
    (void)ext;
    (void)d;
    (void)len;
    (void)now;
    (void)out;
    return 0;
}
static int kh_hold(void *ext, const fr_quic_path *path, const uint8_t *d,
                   size_t len, fr_tstamp now)
{
    (void)ext;
    (void)path;
    (void)d;
    (void)len;
    (void)now;
    return 0;
}
static size_t kh_release(void *ext, fr_tstamp due_by, fr_quic_path *path,
                         uint8_t *buf)
{
    (void)ext;
    (void)due_by;
    (void)path;
    (void)buf;
    return 0;
}
static fr_tstamp kh_expiry(const void *ext)
{
    (void)ext;
    return FR_TSTAMP_MAX;
}
static size_t kh_tx(void *ext, uint8_t *buf, size_t n, int tracked)
{
    keys_seen *ks = ext;

    (void)buf;
    if (tracked) {
        ks->tracked_bytes += n;
    } else {
        ks->untracked++;
        if (n > ks->untracked_max)
            ks->untracked_max = n;
    }
    return n;
}
static void kh_lost(void *ext, uint64_t pkt)
{
    (void)ext;
    (void)pkt;
}
static void kh_credit(void *ext, int64_t stream_id, uint64_t max_data)
{
    (void)ext;
    (void)stream_id;
    (void)max_data;
}
static void kh_stream_sent(void *ext, void *stream_ext, uint64_t bytes)
{
    (void)ext;
    (void)stream_ext;
    (void)bytes;
}
static void kh_keys(void *ext, uint64_t gen, const fr_packet_keys *k)
{
    keys_seen *ks = ext;

    ks->calls++;
    if (!k) {
        ks->without++;
        return;
    }
    ks->gen = gen;
    if (gen < KEY_GENS) {
        ks->k[gen] = *k;
        ks->have[gen] = 1;
    }
}

static const fr_conn_hooks key_hooks = {
    .attach = kh_attach, .detach = kh_detach, .settings = kh_settings,
    .before = kh_before, .after = kh_after, .sent_one = kh_before,
    .rx = kh_rx, .hold = kh_hold, .release = kh_release,
    .expiry = kh_expiry, .tx = kh_tx, .lost = kh_lost,
    .credit = kh_credit, .stream_sent = kh_stream_sent, .keys = kh_keys,
};

/* Keeps the server's first and latest short-header datagrams. */
static void keep_short(int from_client, const uint8_t *data, size_t len,
                       void *arg)
{
    keys_seen *ks = arg;
    int i = ks->pktlen[0] ? 1 : 0;

    if (!from_client && len && !(data[0] & 0x80) &&
        len <= sizeof(ks->pkt[0])) {
        memcpy(ks->pkt[i], data, len);
        ks->pktlen[i] = len;
    }
}

/* The client starts a key update once data flows. */
static int update_then_done(void *arg)
{
    keys_seen *ks = arg;
    xfer *x = ks->x;

    if (!ks->updated && x->client_conn && x->got[0] > 0 &&
        fr_quic_conn_update_key(x->client_conn, fr_sim_now(ks->sim)) == 0)
        ks->updated = 1;
    return transfer_done(x);
}

/* Opens a short-header packet with keys `k` as a peer would. Returns 0
 * if it authenticates. */
static int open_short(const uint8_t *pkt, size_t len, size_t dcid_len,
                      const fr_packet_keys *k)
{
    uint8_t out[1500];
    fr_tp_opened o;

    return fr_tp_open(pkt, len, dcid_len, k, out, &o);
}

/* A hooked server connection in tls mode: lib/quic protects its 1-RTT
 * packets at the wire (ngtcp2 runs the identity inside), with the real
 * keys, which its layer gets: ChaCha20-Poly1305 chosen though the client
 * offers AES-128-GCM first, each generation before it is used. The client
 * starts a key update once data flows: the transfer goes on, the server's
 * packets open with generation 0's keys before and generation 1's after,
 * as a peer opens them. */
static void test_hooked_keys(void **state)
{
    static xfer x;
    static keys_seen ks;
    sim_env e;
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;

    (void)state;
    memset(&ks, 0, sizeof(ks));
    seen_keys = &ks;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    x.nstreams = 2;
    x.stream_len = 200000;
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    fr_conn_hooks_set(e.server, &key_hooks, NULL);
    fr_sim_set_tap(e.sim, keep_short, &ks);
    ks.sim = e.sim;
    ks.x = &x;
    assert_true(fr_sim_run(e.sim, update_then_done, &ks, 30 * FR_SECONDS));
    check_transfer(&x);
    assert_true(ks.updated);
    assert_int_equal(ks.without, 0);
    /* Every stream byte went in packets ngtcp2 tracks; what it does not
     * track are the ACKs it sends for the client's few ack-eliciting
     * packets: short ones. */
    assert_true(ks.tracked_bytes > (uint64_t)x.nstreams * x.stream_len);
    assert_true(ks.untracked > 0);
    assert_true(ks.untracked_max < 100);
    /* Generation 1 was derived ahead of the update. */
    assert_true(ks.have[0] && ks.have[1]);
    assert_true(ks.gen >= 1);
    assert_memory_not_equal(ks.k[0].key, ks.k[1].key, 32);
    assert_memory_equal(ks.k[0].hp, ks.k[1].hp, 32);
    assert_true(ks.pktlen[0] > 0 && ks.pktlen[1] > 0);
    /* The server's CIDs on the wire are the client's, cs.cid_len long. */
    assert_int_equal(open_short(ks.pkt[0], ks.pktlen[0], cs.cid_len,
                                &ks.k[0]),
                     0);
    assert_int_not_equal(open_short(ks.pkt[1], ks.pktlen[1], cs.cid_len,
                                    &ks.k[0]),
                         0);
    assert_int_equal(open_short(ks.pkt[1], ks.pktlen[1], cs.cid_len,
                                &ks.k[1]),
                     0);
    sim_teardown(&e);
}

/* The latest short-header datagram each way: [from the client?]. */
typedef struct last_short {
    uint8_t pkt[2][1500];
    size_t len[2];
} last_short;

static void keep_both(int from_client, const uint8_t *data, size_t len,
                      void *arg)
{
    last_short *ls = arg;

    if (len && !(data[0] & 0x80) && len <= sizeof(ls->pkt[0])) {
        memcpy(ls->pkt[from_client], data, len);
        ls->len[from_client] = len;
    }
}

/* The key logged for packets whose DCID starts pkt (cidlen bytes). */
static int logged_key(const char *path, const uint8_t *pkt, size_t cidlen,
                      fr_packet_keys *k)
{
    char cid[41], key[65], iv[25], hp[65], want[41];
    FILE *f = fopen(path, "r");
    int found = 0;

    assert_non_null(f);
    for (size_t i = 0; i < cidlen; i++)
        snprintf(want + 2 * i, 3, "%02x", pkt[1 + i]);
    while (!found && fscanf(f, "%40s %64s %24s %64s", cid, key, iv, hp) == 4) {
        if (strcmp(cid, want) != 0)
            continue;
        for (int i = 0; i < 32; i++) {
            assert_int_equal(sscanf(key + 2 * i, "%2hhx", &k->key[i]), 1);
            assert_int_equal(sscanf(hp + 2 * i, "%2hhx", &k->hp[i]), 1);
        }
        for (int i = 0; i < 12; i++)
            assert_int_equal(sscanf(iv + 2 * i, "%2hhx", &k->iv[i]), 1);
        found = 1;
    }
    fclose(f);
    return found;
}

/* FR_QUIC_KEYLOG: a tls client connection logs the 1-RTT keys of the
 * packets it receives and sends, under their DCIDs; they open real
 * packets both ways. */
static void test_keylog(void **state)
{
    static xfer x;
    static keys_seen ks;
    static last_short ls;
    char path[] = "/tmp/fr-keylog-XXXXXX";
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_packet_keys k;
    sim_env e;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    memset(&ks, 0, sizeof(ks));
    memset(&ls, 0, sizeof(ls));
    seen_keys = &ks;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    x.nstreams = 1;
    x.stream_len = 5000;
    setenv("FR_QUIC_KEYLOG", path, 1);
    sim_setup(&e, &x, &cs, &ss, &ccb, &scb);
    unsetenv("FR_QUIC_KEYLOG");
    /* The hooked server prefers ChaCha20-Poly1305, which the log takes. */
    fr_conn_hooks_set(e.server, &key_hooks, NULL);
    fr_sim_set_tap(e.sim, keep_both, &ls);
    assert_true(fr_sim_run(e.sim, transfer_done, &x, 30 * FR_SECONDS));
    check_transfer(&x);
    assert_true(ls.len[0] > 0 && ls.len[1] > 0);
    assert_true(logged_key(path, ls.pkt[0], cs.cid_len, &k));
    assert_int_equal(open_short(ls.pkt[0], ls.len[0], cs.cid_len, &k), 0);
    assert_true(logged_key(path, ls.pkt[1], ss.cid_len, &k));
    assert_int_equal(open_short(ls.pkt[1], ls.len[1], ss.cid_len, &k), 0);
    sim_teardown(&e);
    unlink(path);
}

/* Short-header datagrams each way: [from the client?]. */
static void count_short(int from_client, const uint8_t *data, size_t len,
                        void *arg)
{
    uint64_t *n = arg;

    if (len && !(data[0] & 0x80))
        n[from_client]++;
}

/* A connection that keeps its peer's receive keys also knows the largest
 * 1-RTT packet number it opened, for whoever opens the peer's packets
 * elsewhere: the client, whose ngtcp2 opens them, and the hooked server,
 * protected at the wire. Over a thousand packets to the client, their
 * numbers truncated to one byte, no loss: each number is at least the
 * short-header packets the peer sent, less one, and below all the packets
 * it sent. */
static void test_rx_largest_pn(void **state)
{
    static xfer x;
    static keys_seen ks;
    uint64_t nshort[2] = {0, 0}, pn[2];
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb, scb;
    fr_quic_conn_stats st[2];
    sim_env e;

    (void)state;
    memset(&ks, 0, sizeof(ks));
    seen_keys = &ks;
    prepare(&x, &cs, &ss, &ccb, &scb, FR_CRYPTO_TLS, FR_CRYPTO_TLS);
    x.nstreams = 20;
    x.stream_len = 100 * 1024;
    /* A small window keeps fewer than 128 packets in flight: the server
     * then writes one-byte packet numbers. */
    cs.max_data = 32 * 1024;
    sim_open(&e, &x, &cs, &ss, &ccb, &scb);
    fr_conn_keep_rx_keys(e.client);
    fr_conn_hooks_set(e.server, &key_hooks, NULL);
    sim_connect(&e, &x, "198.18.0.2");
    fr_sim_set_tap(e.sim, count_short, nshort);
    assert_true(fr_sim_run(e.sim, transfer_done, &x, 60 * FR_SECONDS));
    check_transfer(&x);
    /* What is in flight arrives. */
    fr_sim_run(e.sim, never, NULL, 100 * FR_MILLISECONDS);
    fr_quic_conn_get_stats(x.client_conn, &st[0]);
    fr_quic_conn_get_stats(x.server_conn, &st[1]);
    assert_int_equal(fr_conn_rx_largest_pn(x.client_conn, &pn[0]), 0);
    assert_int_equal(fr_conn_rx_largest_pn(x.server_conn, &pn[1]), 0);
    assert_true(nshort[0] > 1000 && nshort[1] > 5);
    assert_true(pn[0] + 1 >= nshort[0] && pn[0] < st[1].pkts_sent);
    assert_true(pn[1] + 1 >= nshort[1] && pn[1] < st[0].pkts_sent);
    sim_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_sim_tls),
        cmocka_unit_test(test_transfer_sim_cleartext),
        cmocka_unit_test(test_transfer_loopback_tls),
        cmocka_unit_test(test_transfer_loopback_cleartext),
        cmocka_unit_test(test_wire_cleartext_readable),
        cmocka_unit_test(test_wire_tls_hidden),
        cmocka_unit_test(test_tls_client_cleartext_server),
        cmocka_unit_test(test_cleartext_client_tls_server),
        cmocka_unit_test(test_alpn_lists),
        cmocka_unit_test(test_cert_wrong_pin_rejected),
        cmocka_unit_test(test_cert_insecure_explicit),
        cmocka_unit_test(test_cert_system_trust_at_first_connection),
        cmocka_unit_test(test_cert_pinned_accepted),
        cmocka_unit_test(test_cert_load),
        cmocka_unit_test(test_cert_browser),
        cmocka_unit_test(test_cid_hook),
        cmocka_unit_test(test_migrate),
        cmocka_unit_test(test_clock_never_backwards),
        cmocka_unit_test(test_max_udp_payload_recv),
        cmocka_unit_test(test_graceful_close),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_stream_limit_and_errors),
        cmocka_unit_test(test_bidi_echo),
        cmocka_unit_test(test_stream_priority),
        cmocka_unit_test(test_cleartext_warns),
        cmocka_unit_test(test_settings_rejected),
        cmocka_unit_test(test_hooked_keys),
        cmocka_unit_test(test_keylog),
        cmocka_unit_test(test_rx_largest_pn),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    fr_cert_del(test_cert());
    return rv;
}
