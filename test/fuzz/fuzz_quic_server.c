/*
 * libFuzzer target: a server endpoint (lib/quic, with the splice layer
 * linked in as the relay has it) driven in virtual time by datagrams a
 * peer chose.
 *
 * Input: one flags byte, then records of [op][len, 2 bytes LE][len bytes].
 * Flags bit 0: a real client first completes a handshake and keeps
 * sending stream data and datagrams, so that later records meet a live
 * connection; bit 1: cleartext 1-RTT (its packets' frames are readable,
 * so mutated ones reach ngtcp2's frame parser). Ops (op % 3):
 *   0  the bytes go to the server as a datagram from the client's address
 *   1  the next datagram the client sends is mutated: the bytes are
 *      (offset, 2 bytes LE; value) triples XORed into it
 *   2  virtual time runs for bytes[0] milliseconds
 * The run ends with 100 ms more, then everything is freed: no crash, no
 * leak, no sanitizer report, no assertion in ngtcp2.
 *
 * Built with -DFR_FUZZ_SEED_MAIN it writes a seed corpus into the
 * directory given instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/fastrelay.h>

#include "../common/quic_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fr_cert *g_cert;

typedef struct run {
    fr_sim *sim;
    fr_quic_conn *client;
    int handshake;
    /* Pending mutation of the client's next datagram. */
    const uint8_t *edits;
    size_t nedits;
    uint64_t sent;
} run;

static int c_handshake(fr_quic_conn *c, void *ud)
{
    run *r = fr_sim_app(ud);
    int64_t sid;

    r->handshake = 1;
    if (fr_quic_conn_open_bidi_stream(c, &sid) == 0)
        fr_quic_conn_stream_write(c, sid, (const uint8_t *)"hello", 5, 0);
    return 0;
}

/* The connection ended: its handle is freed soon after. */
static void c_closed(fr_quic_conn *c, const fr_quic_close_info *info,
                     void *ud)
{
    (void)c;
    (void)info;
    ((run *)fr_sim_app(ud))->client = NULL;
}

static int s_stream_data(fr_quic_conn *c, int64_t sid, const uint8_t *d,
                         size_t len, int fin, void *ud)
{
    (void)ud;
    /* Echo, so the server sends too. */
    fr_quic_conn_stream_write(c, sid, d, len, fin);
    return 0;
}

static int s_accept(fr_quic_conn *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static int mutate(int from_client, uint8_t *d, size_t *len, void *arg)
{
    run *r = arg;

    if (!from_client || !r->edits)
        return 0;
    for (size_t i = 0; i + 3 <= r->nedits; i += 3) {
        size_t off = (size_t)r->edits[i] | (size_t)r->edits[i + 1] << 8;
        if (off < *len)
            d[off] ^= r->edits[i + 2];
    }
    r->edits = NULL;
    return 0;
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

/* The client keeps the connection busy: some stream data and a datagram
 * every time virtual time runs. */
static void client_traffic(run *r)
{
    static const uint8_t chunk[700];
    int64_t sid;

    if (!r->handshake || !r->client || r->sent > 64)
        return;
    if (fr_quic_conn_open_uni_stream(r->client, &sid) == 0)
        fr_quic_conn_stream_write(r->client, sid, chunk, sizeof(chunk), 1);
    fr_quic_conn_send_datagram(r->client, chunk, 100);
    r->sent++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_quic_settings cs, ss;
    fr_quic_callbacks ccb = {0}, scb = {0};
    fr_quic_endpoint *client = NULL, *server = NULL;
    size_t pos = 1, len;
    run r;

    if (size < 1)
        return 0;
    if (!g_cert && fr_cert_generate(&g_cert, "198.18.0.2") != 0)
        abort();
    memset(&r, 0, sizeof(r));
    r.sim = fr_sim_new(2 * FR_MILLISECONDS);
    fr_sim_set_app(r.sim, &r);
    ccb.handshake_completed = c_handshake;
    ccb.closed = c_closed;
    scb.accept = s_accept;
    scb.stream_data = s_stream_data;
    fr_sim_bind(r.sim, &ccb, &scb);
    fr_quic_settings_default(&cs);
    fr_quic_settings_default(&ss);
    cs.alpn = ss.alpn = "moqt-18";
    cs.crypto_mode = ss.crypto_mode =
        data[0] & 2 ? FR_CRYPTO_CLEARTEXT : FR_CRYPTO_TLS;
    cs.ca_pem = fr_cert_pem(g_cert, &len);
    cs.ca_pem_len = len;
    ss.cert = g_cert;
    ss.accept_connections = 1;
    if (fr_quic_endpoint_new(&client, &ccb, &cs, fr_sim_client_ud(r.sim)) ||
        fr_quic_endpoint_new(&server, &scb, &ss, fr_sim_server_ud(r.sim)))
        abort();
    fr_sim_set_endpoints(r.sim, client, server);
    fr_sim_set_mutator(r.sim, mutate, &r);
    if (data[0] & 1) {
        if (fr_quic_endpoint_connect(client, &r.client, fr_sim_client_path(),
                                     "198.18.0.2", NULL, fr_sim_now(r.sim)))
            abort();
        fr_sim_run(r.sim, handshaken, &r, 2 * FR_SECONDS);
    }
    while (pos + 3 <= size) {
        uint8_t op = data[pos];
        size_t n = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        const uint8_t *b = data + pos + 3;

        if (n > size - pos - 3)
            n = size - pos - 3;
        pos += 3 + n;
        switch (op % 3) {
        case 0:
            if (n > 0 && n <= FR_SIM_MAX_DGRAM)
                fr_sim_inject_to_server(r.sim, b, n);
            break;
        case 1:
            r.edits = b;
            r.nedits = n;
            break;
        default:
            client_traffic(&r);
            fr_sim_run(r.sim, never, NULL,
                       (n ? b[0] : 1) * FR_MILLISECONDS);
        }
    }
    client_traffic(&r);
    fr_sim_run(r.sim, never, NULL, 100 * FR_MILLISECONDS);
    fr_quic_endpoint_del(client);
    fr_quic_endpoint_del(server);
    fr_sim_del(r.sim);
    return 0;
}

#ifdef FR_FUZZ_SEED_MAIN
#include "fuzz_seed.h"

int main(int argc, char **argv)
{
    /* A live cleartext session whose client packets get bytes flipped,
     * with time between. */
    static const uint8_t live[] = {
        3,                       /* handshake, cleartext */
        2, 1, 0, 20,             /* run 20 ms */
        1, 3, 0, 0x10, 0, 0x01,  /* flip a bit at offset 16 */
        2, 1, 0, 20,
        1, 3, 0, 0x20, 0, 0xff,  /* flip a byte at offset 32 */
        2, 1, 0, 50,
    };
    /* The same over TLS, and a fresh server given a short header and a
     * long header of version 1. */
    static const uint8_t tls[] = {1, 2, 1, 0, 30, 1, 3, 0, 5, 0, 0x80,
                                  2, 1, 0, 30};
    uint8_t raw[1 + 3 + 1200];

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    fuzz_seed_write(argv[1], "live", 0, live, sizeof(live));
    fuzz_seed_write(argv[1], "live", 1, tls, sizeof(tls));
    memset(raw, 0, sizeof(raw));
    raw[0] = 2;
    raw[1] = 0;
    raw[2] = 1200 & 0xff;
    raw[3] = 1200 >> 8;
    raw[4] = 0xc0; /* long header, Initial */
    raw[8] = 1;    /* version 1 */
    raw[9] = 8;    /* DCID length */
    fuzz_seed_write(argv[1], "raw", 0, raw, sizeof(raw));
    raw[4] = 0x40; /* short header */
    fuzz_seed_write(argv[1], "raw", 1, raw, 4 + 60);
    return 0;
}
#endif
