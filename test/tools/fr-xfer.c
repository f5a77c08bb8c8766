/*
 * fr-xfer: a QUIC bulk-transfer driver for tests and the demo.
 *
 * The server sends every client N unidirectional streams of a known byte
 * pattern plus D datagrams; the client checks every byte and reports. Both
 * sides must be given the same --streams, --stream-size and --datagrams.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include <fastrelay/fastrelay.h>

#define ALPN "fr-xfer"
#define DGRAM_LEN 200
#define DGRAM_GRACE 0.5 /* seconds to wait for late datagrams */

typedef struct opts {
    const char *listen;
    const char *connect;
    const char *cert, *key, *write_cert, *ca, *json;
    int insecure;
    int cleartext;
    int streams;
    size_t stream_size;
    int datagrams;
    double timeout;
    int verbose;
} opts;

typedef struct app {
    opts o;
    struct ev_loop *loop;
    fr_quic_ev *qev;
    fr_quic_conn *conn;
    int done;
    int failed;
    /* Client results. */
    uint64_t *got;
    int streams_complete;
    uint64_t corrupt;
    int dgrams_recv;
    fr_tstamp start, end;
    fr_quic_conn_stats stats;
    int handshake;
    char close_msg[512];
    ev_timer grace;
    int finished;
} app;

static uint8_t pattern(int stream, uint64_t off)
{
    return (uint8_t)(stream * 31 + off * 7 + (off >> 8));
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fr-xfer --listen ADDR:PORT [options]\n"
            "       fr-xfer --connect ADDR:PORT [options]\n"
            "\n"
            "QUIC bulk transfer for tests: the server sends each client\n"
            "--streams unidirectional streams of --stream-size bytes and\n"
            "--datagrams datagrams; the client verifies every byte.\n"
            "\n"
            "  --listen ADDR:PORT    serve (numeric address)\n"
            "  --connect ADDR:PORT   receive from a server\n"
            "  --cleartext           cleartext 1-RTT packets (both sides)\n"
            "  --cert FILE --key FILE  server certificate (PEM); default:\n"
            "                        a self-signed one generated at start\n"
            "  --write-cert FILE     server: write its certificate (PEM)\n"
            "  --ca FILE             client: trust this certificate/CA\n"
            "  --insecure            client: do not verify the server\n"
            "  --streams N           streams per client (default 100)\n"
            "  --stream-size BYTES   bytes per stream (default 102400)\n"
            "  --datagrams N         datagrams per client (default 0)\n"
            "  --timeout SECONDS     give up after this long (default 60)\n"
            "  --json FILE           client: write the result as JSON\n"
            "  -v, --verbose         log library messages (twice: debug)\n"
            "  -V, --version         print the version\n"
            "  -h, --help            this text\n");
}

static void on_log(fr_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "fr-xfer: %s: %s\n", fr_log_level_name(level), msg);
}

static int server_handshake(app *a, fr_quic_conn *conn)
{
    uint8_t buf[4096];

    for (int k = 0; k < a->o.streams; k++) {
        int64_t sid;
        int rv = fr_quic_conn_open_uni_stream(conn, &sid);
        if (rv) {
            fprintf(stderr, "fr-xfer: cannot open stream: %s\n",
                    fr_strerror(rv));
            return rv;
        }
        for (size_t off = 0; off < a->o.stream_size; off += sizeof(buf)) {
            size_t n = a->o.stream_size - off;
            if (n > sizeof(buf))
                n = sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern((int)(sid >> 2), off + i);
            rv = fr_quic_conn_stream_write(conn, sid, buf, n,
                                           off + n == a->o.stream_size);
            if (rv)
                return rv;
        }
    }
    for (int d = 0; d < a->o.datagrams; d++) {
        uint8_t dg[DGRAM_LEN];
        for (size_t i = 0; i < sizeof(dg); i++)
            dg[i] = (uint8_t)(d + i);
        memcpy(dg, &d, sizeof(d));
        if (fr_quic_conn_send_datagram(conn, dg, sizeof(dg)) != 0)
            break;
    }
    return 0;
}

static int on_handshake(fr_quic_conn *conn, void *ud)
{
    app *a = ud;

    if (fr_quic_conn_is_server(conn))
        return server_handshake(a, conn);
    a->handshake = 1;
    return 0;
}

static void finish(app *a)
{
    if (a->finished)
        return;
    a->finished = 1;
    fr_quic_conn_get_stats(a->conn, &a->stats);
    fr_quic_conn_close(a->conn, 0, "done");
}

static void on_grace(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    finish(w->data);
}

/* Ends the transfer once every stream is complete. Datagrams are not
 * retransmitted, so missing ones get a short grace period, not a wait. */
static void maybe_finish(app *a)
{
    if (a->streams_complete != a->o.streams)
        return;
    if (!a->end)
        a->end = fr_quic_ev_now(); /* throughput counts stream data */
    if (a->dgrams_recv >= a->o.datagrams) {
        finish(a);
    } else if (!ev_is_active(&a->grace)) {
        ev_timer_init(&a->grace, on_grace, DGRAM_GRACE, 0);
        a->grace.data = a;
        ev_timer_start(a->loop, &a->grace);
    }
}

static int on_stream_data(fr_quic_conn *conn, int64_t sid, const uint8_t *d,
                          size_t len, int fin, void *ud)
{
    app *a = ud;
    int k = (int)(sid >> 2);

    (void)conn;
    if (k >= a->o.streams) {
        a->corrupt += len;
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (d[i] != pattern(k, a->got[k] + i))
            a->corrupt++;
    a->got[k] += len;
    if (fin && a->got[k] == a->o.stream_size)
        a->streams_complete++;
    maybe_finish(a);
    return 0;
}

static int on_datagram(fr_quic_conn *conn, const uint8_t *d, size_t len,
                       void *ud)
{
    app *a = ud;
    int idx;

    (void)conn;
    if (len != DGRAM_LEN) {
        a->corrupt += len;
        return 0;
    }
    memcpy(&idx, d, sizeof(idx));
    for (size_t i = sizeof(idx); i < len; i++)
        if (d[i] != (uint8_t)(idx + i))
            a->corrupt++;
    a->dgrams_recv++;
    maybe_finish(a);
    return 0;
}

static void on_closed(fr_quic_conn *conn, const fr_quic_close_info *info,
                      void *ud)
{
    app *a = ud;

    if (fr_quic_conn_is_server(conn)) {
        if (a->o.verbose)
            fprintf(stderr, "fr-xfer: client done: %s\n", info->message);
        return;
    }
    snprintf(a->close_msg, sizeof(a->close_msg), "%s", info->message);
    if (!a->end)
        a->end = fr_quic_ev_now();
    a->done = 1;
    ev_break(a->loop, EVBREAK_ALL);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)revents;
    if (a->o.connect) {
        fprintf(stderr, "fr-xfer: timed out after %.0f s\n", a->o.timeout);
        a->failed = 1;
    }
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");

    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "fr-xfer: cannot write %s: %s\n", path,
                strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static int report(app *a)
{
    double secs = a->end > a->start ? (double)(a->end - a->start) / 1e9 : 0;
    uint64_t total = 0;
    int ok;
    FILE *j;

    for (int k = 0; k < a->o.streams; k++)
        total += a->got[k];
    ok = a->handshake && a->streams_complete == a->o.streams &&
         a->corrupt == 0 && !a->failed;
    printf("fr-xfer: %s: %d/%d streams complete, %llu bytes, %llu corrupt, "
           "%d/%d datagrams, %.3f s, %.1f Mbit/s, %llu packets lost, "
           "rtt %.2f ms%s%s\n",
           ok ? "OK" : "FAILED", a->streams_complete, a->o.streams,
           (unsigned long long)total, (unsigned long long)a->corrupt,
           a->dgrams_recv, a->o.datagrams, secs,
           secs > 0 ? (double)total * 8 / secs / 1e6 : 0.0,
           (unsigned long long)a->stats.pkts_lost,
           (double)a->stats.smoothed_rtt / 1e6,
           a->handshake ? "" : "; connection failed: ",
           a->handshake ? "" : a->close_msg);
    if (a->o.json) {
        j = fopen(a->o.json, "w");
        if (!j) {
            fprintf(stderr, "fr-xfer: cannot write %s: %s\n", a->o.json,
                    strerror(errno));
            return 1;
        }
        fprintf(j,
                "{\"ok\":%s,\"streams_complete\":%d,\"streams\":%d,"
                "\"bytes\":%llu,\"corrupt\":%llu,\"datagrams_received\":%d,"
                "\"datagrams\":%d,\"seconds\":%.6f,\"packets_lost\":%llu,"
                "\"packets_received\":%llu,\"smoothed_rtt_us\":%llu}\n",
                ok ? "true" : "false", a->streams_complete, a->o.streams,
                (unsigned long long)total, (unsigned long long)a->corrupt,
                a->dgrams_recv, a->o.datagrams, secs,
                (unsigned long long)a->stats.pkts_lost,
                (unsigned long long)a->stats.pkts_recv,
                (unsigned long long)(a->stats.smoothed_rtt / 1000));
        fclose(j);
    }
    return ok ? 0 : 1;
}

static int parse_count(const char *s, const char *flag, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > max) {
        fprintf(stderr, "fr-xfer: %s wants a number from 0 to %ld, got '%s'\n",
                flag, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"connect", required_argument, NULL, 'c'},
        {"cleartext", no_argument, NULL, 'C'},
        {"cert", required_argument, NULL, 1},
        {"key", required_argument, NULL, 2},
        {"write-cert", required_argument, NULL, 3},
        {"ca", required_argument, NULL, 4},
        {"insecure", no_argument, NULL, 5},
        {"streams", required_argument, NULL, 6},
        {"stream-size", required_argument, NULL, 7},
        {"datagrams", required_argument, NULL, 8},
        {"timeout", required_argument, NULL, 9},
        {"json", required_argument, NULL, 10},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long v;
    int ch;

    o->streams = 100;
    o->stream_size = 102400;
    o->timeout = 60;
    while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': o->listen = optarg; break;
        case 'c': o->connect = optarg; break;
        case 'C': o->cleartext = 1; break;
        case 1: o->cert = optarg; break;
        case 2: o->key = optarg; break;
        case 3: o->write_cert = optarg; break;
        case 4: o->ca = optarg; break;
        case 5: o->insecure = 1; break;
        case 6:
            if (parse_count(optarg, "--streams", 100000, &v))
                return -1;
            o->streams = (int)v;
            break;
        case 7:
            if (parse_count(optarg, "--stream-size", 1L << 32, &v))
                return -1;
            o->stream_size = (size_t)v;
            break;
        case 8:
            if (parse_count(optarg, "--datagrams", 1000000, &v))
                return -1;
            o->datagrams = (int)v;
            break;
        case 9:
            if (parse_count(optarg, "--timeout", 86400, &v) || v == 0)
                return -1;
            o->timeout = (double)v;
            break;
        case 10: o->json = optarg; break;
        case 'v': o->verbose++; break;
        case 'V': printf("fr-xfer (libfastrelay) %s\n", fr_version()); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fr-xfer: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->listen == !o->connect) {
        fprintf(stderr, "fr-xfer: give exactly one of --listen or --connect\n");
        return -1;
    }
    if (!o->cert != !o->key) {
        fprintf(stderr, "fr-xfer: --cert and --key go together\n");
        return -1;
    }
    if (o->connect && !o->ca && !o->insecure) {
        fprintf(stderr, "fr-xfer: the client needs --ca FILE to verify the "
                        "server, or --insecure to skip verification\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static app a;
    fr_quic_settings s;
    fr_quic_callbacks cb = {0};
    struct sockaddr_storage addr;
    socklen_t addrlen;
    fr_cert *cert = NULL;
    ev_timer timeout;
    ev_signal sigint, sigterm;
    int rv;

    if (parse_args(argc, argv, &a.o))
        return 2;
    if (fr_addr_parse(&addr, &addrlen, a.o.listen ? a.o.listen
                                                  : a.o.connect)) {
        fprintf(stderr, "fr-xfer: bad address '%s' (want A.B.C.D:PORT or "
                        "[V6]:PORT)\n",
                a.o.listen ? a.o.listen : a.o.connect);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    fr_quic_settings_default(&s);
    s.alpn = ALPN;
    s.crypto_mode = a.o.cleartext ? FR_CRYPTO_CLEARTEXT : FR_CRYPTO_TLS;
    s.log.fn = on_log;
    s.log.level = a.o.verbose >= 2 ? FR_LOG_DEBUG
                  : a.o.verbose   ? FR_LOG_INFO
                                  : FR_LOG_WARN;
    cb.handshake_completed = on_handshake;
    cb.stream_data = on_stream_data;
    cb.datagram = on_datagram;
    cb.closed = on_closed;
    a.loop = EV_DEFAULT;

    if (a.o.listen) {
        rv = a.o.cert ? fr_cert_load(&cert, a.o.cert, a.o.key)
                      : fr_cert_generate(&cert, "fr-xfer.test");
        if (rv) {
            fprintf(stderr, "fr-xfer: certificate: %s\n", fr_strerror(rv));
            return 1;
        }
        if (a.o.write_cert) {
            size_t len;
            const char *pem = fr_cert_pem(cert, &len);
            if (write_file(a.o.write_cert, pem, len))
                return 1;
        }
        s.accept_connections = 1;
        s.cert = cert;
        rv = fr_quic_ev_new(&a.qev, a.loop, &cb, &s,
                            (struct sockaddr *)&addr, addrlen, &a);
    } else {
        struct sockaddr_storage any = {0};
        a.got = calloc((size_t)a.o.streams + 1, sizeof(*a.got));
        s.ca_file = a.o.ca;
        s.insecure = a.o.insecure;
        any.ss_family = addr.ss_family;
        rv = fr_quic_ev_new(&a.qev, a.loop, &cb, &s, (struct sockaddr *)&any,
                            addr.ss_family == AF_INET
                                ? sizeof(struct sockaddr_in)
                                : sizeof(struct sockaddr_in6),
                            &a);
        if (rv == 0) {
            a.start = fr_quic_ev_now();
            rv = fr_quic_ev_connect(a.qev, &a.conn, (struct sockaddr *)&addr,
                                    addrlen, "fr-xfer.test", &a);
        }
    }
    if (rv) {
        fprintf(stderr, "fr-xfer: %s\n", fr_strerror(rv));
        return 1;
    }
    if (a.o.listen) {
        printf("fr-xfer: listening on %s\n", a.o.listen);
        fflush(stdout);
    }
    ev_timer_init(&timeout, on_timeout, a.o.timeout, 0);
    timeout.data = &a;
    ev_timer_start(a.loop, &timeout);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_start(a.loop, &sigint);
    ev_signal_start(a.loop, &sigterm);
    ev_run(a.loop, 0);

    ev_timer_stop(a.loop, &a.grace);
    rv = a.o.connect ? report(&a) : 0;
    fr_quic_ev_del(a.qev);
    fr_cert_del(cert);
    free(a.got);
    return rv;
}
