/*
 * libFuzzer target: the relay core (lib/moq/relay.c over a MoQT session)
 * fed whatever a peer writes on its streams.
 *
 * A client with no MoQT session of its own completes a QUIC handshake with
 * a server whose sessions run the relay, then writes the input onto its
 * streams. Input: records of [stream][len, 2 bytes LE][len bytes]; stream
 * & 0x80 ends the stream after the bytes (FIN); stream & 0x3f picks it:
 * 0 the control stream, 1-31 a request (bidirectional) stream, 32-63 a
 * data (unidirectional) stream, each opened on first use. After each
 * record virtual time runs 5 ms, so the relay answers as it would. The
 * run ends with 200 ms more, then everything is freed: no crash, no leak,
 * no sanitizer report, no assertion.
 *
 * Built with -DFR_FUZZ_SEED_MAIN it writes a seed corpus (SETUP; a
 * namespace, a pushed track and its objects; SUBSCRIBE and FETCH of it)
 * into the directory given instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/fastrelay.h>
#include <fastrelay/relay.h>

#include "../../lib/moq/codec.h"
#include "../common/moq_glue.h"
#include "../common/quic_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fr_cert *g_cert;

typedef struct run {
    fr_relay *relay;
    fr_moq_session *ss;
    int handshake;
    int client_gone;         /* the client's connection ended (freed) */
    int64_t streams[64];
} run;

static int s_accept(fr_quic_conn *c, void *ud)
{
    run *r = fr_sim_app(ud);
    fr_moq_settings ms;

    fr_moq_settings_default(&ms);
    return fr_moq_session_new(&r->ss, c, fr_relay_moq_callbacks(), &ms,
                              r->relay);
}

static void s_closed(fr_quic_conn *c, const fr_quic_close_info *info,
                     void *ud)
{
    run *r = fr_sim_app(ud);

    if (fr_glue_session(c)) {
        if (fr_glue_session(c) == r->ss)
            r->ss = NULL;
        fr_moq_session_on_closed(fr_glue_session(c), info);
    }
}

static int c_handshake(fr_quic_conn *c, void *ud)
{
    (void)c;
    ((run *)fr_sim_app(ud))->handshake = 1;
    return 0;
}

static void c_closed(fr_quic_conn *c, const fr_quic_close_info *info,
                     void *ud)
{
    (void)c;
    (void)info;
    ((run *)fr_sim_app(ud))->client_gone = 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static int handshaken(void *arg)
{
    return ((run *)arg)->handshake;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb = {0}, scb = {0};
    fr_quic_endpoint *client = NULL, *server = NULL;
    fr_relay_settings rs;
    fr_quic_conn *conn;
    fr_sim *sim;
    size_t pos = 0, len;
    run r;

    if (!g_cert && fr_cert_generate(&g_cert, "198.18.0.2") != 0)
        abort();
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < 64; i++)
        r.streams[i] = -1;
    fr_relay_settings_default(&rs);
    /* Held SUBSCRIBEs expire within an input's few virtual seconds. */
    rs.max_rendezvous = 50 * FR_MILLISECONDS;
    if (fr_relay_new(&r.relay, &rs, NULL) != 0)
        abort();
    sim = fr_sim_new(1 * FR_MILLISECONDS);
    fr_sim_set_app(sim, &r);
    ccb.handshake_completed = c_handshake;
    ccb.closed = c_closed;
    scb.accept = s_accept;
    fr_glue_callbacks(&scb);
    scb.closed = s_closed;
    fr_sim_bind(sim, &ccb, &scb);
    fr_quic_settings_default(&cs);
    fr_quic_settings_default(&ss);
    cs.alpn = ss.alpn = "moqt-18";
    cs.ca_pem = fr_cert_pem(g_cert, &len);
    cs.ca_pem_len = len;
    ss.cert = g_cert;
    ss.accept_connections = 1;
    if (fr_quic_endpoint_new(&client, &ccb, &cs, fr_sim_client_ud(sim)) ||
        fr_quic_endpoint_new(&server, &scb, &ss, fr_sim_server_ud(sim)))
        abort();
    fr_sim_set_endpoints(sim, client, server);
    if (fr_quic_endpoint_connect(client, &conn, fr_sim_client_path(),
                                 "198.18.0.2", NULL, fr_sim_now(sim)))
        abort();
    fr_sim_run(sim, handshaken, &r, 2 * FR_SECONDS);
    /* The relay may close the connection (a protocol violation): then the
     * client's handle is gone and the input ends there. */
    while (r.handshake && !r.client_gone && pos + 3 <= size) {
        uint8_t sel = data[pos];
        size_t n = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        int64_t *sid = &r.streams[sel & 0x3f];

        if (n > size - pos - 3)
            n = size - pos - 3;
        if (*sid < 0) {
            int rv = (sel & 0x3f) >= 1 && (sel & 0x3f) < 32
                         ? fr_quic_conn_open_bidi_stream(conn, sid)
                         : fr_quic_conn_open_uni_stream(conn, sid);
            if (rv)
                *sid = -1;
        }
        if (*sid >= 0)
            fr_quic_conn_stream_write(conn, *sid, data + pos + 3, n,
                                      (sel & 0x80) != 0);
        pos += 3 + n;
        fr_sim_run(sim, never, NULL, 5 * FR_MILLISECONDS);
        /* SUBSCRIBEs held for a publisher time out too. */
        fr_relay_handle_expiry(r.relay, fr_sim_now(sim));
    }
    fr_sim_run(sim, never, NULL, 200 * FR_MILLISECONDS);
    fr_relay_handle_expiry(r.relay, fr_sim_now(sim));
    if (r.ss)
        fr_moq_session_del(r.ss);
    fr_relay_del(r.relay);
    fr_quic_endpoint_del(client);
    fr_quic_endpoint_del(server);
    fr_sim_del(sim);
    return 0;
}

#ifdef FR_FUZZ_SEED_MAIN
#include "fuzz_seed.h"

static uint8_t g_seed[65536];
static size_t g_len;

/* Appends a record: `sel` and the bytes. */
static void record(uint8_t sel, const uint8_t *d, size_t n)
{
    g_seed[g_len++] = sel;
    g_seed[g_len++] = (uint8_t)n;
    g_seed[g_len++] = (uint8_t)(n >> 8);
    memcpy(g_seed + g_len, d, n);
    g_len += n;
}

static void msg(uint8_t sel, fr_moq_msg *m)
{
    uint8_t buf[4096];
    ssize_t n = fr_moq_msg_encode(buf, sizeof(buf), m);

    if (n <= 0)
        abort();
    record(sel, buf, (size_t)n);
}

static void track(fr_moq_track_ref *t)
{
    t->ns.nfields = 1;
    t->ns.fields[0].base = (const uint8_t *)"live";
    t->ns.fields[0].len = 4;
    t->name.base = (const uint8_t *)"video";
    t->name.len = 5;
}

/* A subgroup stream of group `g` with three objects. */
static void subgroup(uint8_t sel, uint64_t g)
{
    uint8_t buf[512];
    fr_moq_subgroup_header h = {0};
    fr_moq_object_header o = {0};
    ssize_t n, m;

    h.type = fr_moq_subgroup_type(0, 0, 1, 0, 0);
    h.track_alias = 7;
    h.group = g;
    h.has_priority = 1;
    h.publisher_priority = 128;
    n = fr_moq_subgroup_header_encode(buf, sizeof(buf), &h);
    if (n <= 0)
        abort();
    for (int i = 0; i < 3; i++) {
        o.id_delta = 0;
        o.payload_len = 4;
        m = fr_moq_subgroup_object_encode(buf + n, sizeof(buf) - (size_t)n,
                                          h.type, &o);
        if (m <= 0)
            abort();
        n += m;
        memcpy(buf + n, "data", 4);
        n += 4;
    }
    record((uint8_t)(sel | 0x80), buf, (size_t)n);
}

int main(int argc, char **argv)
{
    fr_moq_msg m;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SETUP;
    msg(0, &m);
    fuzz_seed_write(argv[1], "seed", 0, g_seed, g_len);

    /* A publisher: namespace, a pushed track, two groups, then a fetch
     * of them and a subscription to it. */
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH_NAMESPACE;
    m.u.ns_request.request_id = 0;
    m.u.ns_request.ns.nfields = 1;
    m.u.ns_request.ns.fields[0].base = (const uint8_t *)"live";
    m.u.ns_request.ns.fields[0].len = 4;
    msg(1, &m);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_PUBLISH;
    m.u.publish.request_id = 2;
    track(&m.u.publish.track);
    m.u.publish.track_alias = 7;
    msg(2, &m);
    subgroup(32, 0);
    subgroup(33, 1);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_FETCH;
    m.u.fetch.request_id = 4;
    m.u.fetch.fetch_type = FR_MOQ_FETCH_STANDALONE;
    track(&m.u.fetch.track);
    m.u.fetch.end.group = 1;
    msg(3, &m);
    memset(&m, 0, sizeof(m));
    m.type = FR_MOQ_MSG_SUBSCRIBE;
    m.u.subscribe.request_id = 6;
    track(&m.u.subscribe.track);
    msg(4, &m);
    fuzz_seed_write(argv[1], "seed", 1, g_seed, g_len);
    return 0;
}
#endif
