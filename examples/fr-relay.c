/*
 * fr-relay: a MoQT relay. Publishers announce namespaces to it, or it
 * subscribes to an --upstream (an origin or another relay); subscribers
 * get every track from one upstream subscription, with recent groups
 * cached for late joiners.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fastrelay/fastpath.h>
#include <fastrelay/relay.h>

#include "cli.h"
#include "json.h"
#include "tool.h"

#define PROG "fr-relay"

typedef struct opts {
    const char *listen;
    const char *upstream;
    const char *webtransport; /* --webtransport PATH, or NULL */
    uint64_t cache_groups;
    uint64_t cache_bytes;
    uint64_t cache_total;
    uint64_t max_queue;
    uint64_t max_sessions;
    uint64_t max_subscriptions;
    uint64_t max_requests;
    uint64_t max_rendezvous_ns;
    uint64_t drain_ns;
    int fastpath;
    fr_fastpath_attach attach; /* --attach */
    int attach_set;
    fr_tool_opts t;
} opts;

typedef struct app {
    opts o;
    struct ev_loop *loop;
    fr_relay *relay;
    fr_fastpath *fp;         /* --fastpath */
    fr_moq_endpoint *ep;     /* --listen */
    fr_moq_endpoint *up_ep;  /* --upstream, from an ephemeral port */
    fr_moq_session *up;
    struct sockaddr_storage up_addr;
    socklen_t up_len;
    char up_host[64];
    ev_timer status;
    ev_timer stop;
    ev_timer reconnect;
    ev_prepare expiry_check;
    ev_timer expiry;         /* held SUBSCRIBEs time out */
    ev_timer drain_end, drain_check;
    int draining;            /* GOAWAY sent: newcomers get one too */
    fr_tstamp start;
    double startup_cpu;      /* CPU seconds spent starting (BPF loading) */
} app;

/* CPU time the relay process used, user and system. */
static double cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fr-relay --listen ADDR:PORT [--upstream ADDR:PORT] "
            "[options]\n"
            "\n"
            "A MoQT (draft-18) relay over QUIC. Publishers announce their\n"
            "namespaces to it (fr-origin --connect); with --upstream it\n"
            "also subscribes to an origin or another relay for every other\n"
            "track. Each track is subscribed upstream once and fanned out\n"
            "to all its subscribers.\n"
            "\n"
            "  --listen ADDR:PORT    where subscribers and publishers connect\n"
            "  --upstream ADDR:PORT  origin or relay to subscribe to\n"
            "  --webtransport PATH   also take MoQT over WebTransport\n"
            "                        (HTTP/3, ALPN h3) on the same port:\n"
            "                        sessions CONNECT to PATH (e.g. /moq);\n"
            "                        for browsers add --browser-cert\n"
            "  --cache-groups N      groups cached per track (default 4)\n"
            "  --cache-bytes B       bytes cached per track (default 64 MiB)\n"
            "  --cache-total B       bytes cached over all tracks (default\n"
            "                        1 GiB; 0: no limit); past it the track\n"
            "                        holding most loses its oldest group\n"
            "  --max-queue BYTES     data queued for one subscriber at most;\n"
            "                        past it, it loses whole subgroups\n"
            "                        (default 2097152)\n"
            "  --max-sessions N      sessions at once (default 10000; 0: no\n"
            "                        limit); more are refused at their first\n"
            "                        packet (QUIC CONNECTION_REFUSED)\n"
            "  --max-subscriptions N subscriptions one session may hold\n"
            "                        (default 1000); more get REQUEST_ERROR\n"
            "                        EXCESSIVE_LOAD\n"
            "  --max-requests N      requests (SUBSCRIBE, FETCH, ...) one\n"
            "                        session may have open at once: its\n"
            "                        QUIC bidirectional stream limit\n"
            "                        (default 100)\n"
            "  --max-rendezvous D    hold a SUBSCRIBE for a track nobody\n"
            "                        publishes yet up to D (default 10s; 0:\n"
            "                        never) when its subscriber asks to wait\n"
            "                        (RENDEZVOUS_TIMEOUT); then REQUEST_ERROR\n"
            "                        TIMEOUT\n"
            "  --drain D             at SIGINT/SIGTERM or the end of\n"
            "                        --duration: GOAWAY to every session,\n"
            "                        then close once all left or after D\n"
            "                        (default 2s; 0: close at once; a second\n"
            "                        signal closes at once)\n"
            "  --fastpath            forward media to subscribers in the\n"
            "                        kernel (tc eBPF), which opens and seals\n"
            "                        the packets (ChaCha20-Poly1305; peers\n"
            "                        on another suite stay in userspace);\n"
            "                        needs IPv4 and root (CAP_BPF,\n"
            "                        CAP_NET_ADMIN)\n"
            "  --attach MODE         how --fastpath attaches its programs to\n"
            "                        an interface, at the first subscriber\n"
            "                        or upstream there (off the relay's\n"
            "                        loop; userspace serves them until it\n"
            "                        is done): tcx (a link the kernel\n"
            "                        removes with the process; it waits for\n"
            "                        an RCU grace period, 4-26 ms measured),\n"
            "                        tc (a clsact filter, a few ms; one a\n"
            "                        crashed relay left keeps running until\n"
            "                        the next start removes it) or auto\n"
            "                        (default: tcx where the kernel has it,\n"
            "                        else tc)\n"
            "  --duration S          exit after S seconds (default: run until\n"
            "                        SIGINT/SIGTERM)\n" FR_TOOL_TLS_USAGE
            FR_TOOL_STATS_USAGE
            "  --json FILE           write the statistics as JSON there at\n"
            "                        every status line (replacing the file\n"
            "                        whole) and at exit\n" FR_TOOL_LOG_USAGE);
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"webtransport", required_argument, NULL, 'W'},
        {"cache-groups", required_argument, NULL, 'c'},
        {"max-queue", required_argument, NULL, 'q'},
        {"cache-bytes", required_argument, NULL, 'B'},
        {"cache-total", required_argument, NULL, 'T'},
        {"max-sessions", required_argument, NULL, 'S'},
        {"max-subscriptions", required_argument, NULL, 's'},
        {"max-requests", required_argument, NULL, 'R'},
        {"max-rendezvous", required_argument, NULL, 'Z'},
        {"drain", required_argument, NULL, 'D'},
        {"fastpath", no_argument, NULL, 'f'},
        {"attach", required_argument, NULL, 'A'},
        FR_TOOL_OPTIONS,
        {NULL, 0, NULL, 0}};
    char err[256];
    int ch;

    o->cache_groups = 4;
    o->cache_bytes = 64 * 1024 * 1024;
    o->cache_total = UINT64_C(1) << 30;
    o->max_queue = 2 * 1024 * 1024;
    o->max_sessions = 10000;
    o->max_subscriptions = 1000;
    o->max_requests = 100;
    o->max_rendezvous_ns = 10 * FR_SECONDS;
    o->drain_ns = 2 * FR_SECONDS;
    fr_tool_opts_init(&o->t);
    while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': o->listen = optarg; break;
        case 'q':
            if (frt_cli_parse_uint("--max-queue", optarg, 65536,
                                   UINT64_C(1) << 32, &o->max_queue, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'B':
            if (frt_cli_parse_uint("--cache-bytes", optarg, 1024,
                                   UINT64_C(1) << 40, &o->cache_bytes, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'T':
            if (frt_cli_parse_uint("--cache-total", optarg, 0,
                                   UINT64_C(1) << 44, &o->cache_total, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'S':
            if (frt_cli_parse_uint("--max-sessions", optarg, 0, 1000000,
                                   &o->max_sessions, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 's':
            if (frt_cli_parse_uint("--max-subscriptions", optarg, 1, 1000000,
                                   &o->max_subscriptions, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'R':
            if (frt_cli_parse_uint("--max-requests", optarg, 1, 100000,
                                   &o->max_requests, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'Z':
            if (fr_tool_duration(PROG, "--max-rendezvous", optarg, 1,
                                 &o->max_rendezvous_ns))
                return -1;
            break;
        case 'D':
            if (fr_tool_duration(PROG, "--drain", optarg, 1, &o->drain_ns))
                return -1;
            break;
        case 'u': o->upstream = optarg; break;
        case 'W':
            if (optarg[0] != '/')
                return fr_tool_fail(PROG, "--webtransport wants a path "
                                          "starting with '/' (e.g. /moq)");
            o->webtransport = optarg;
            break;
        case 'f': o->fastpath = 1; break;
        case 'A':
            if (strcmp(optarg, "tcx") == 0)
                o->attach = FR_FASTPATH_ATTACH_TCX;
            else if (strcmp(optarg, "tc") == 0)
                o->attach = FR_FASTPATH_ATTACH_TC;
            else if (strcmp(optarg, "auto") == 0)
                o->attach = FR_FASTPATH_ATTACH_AUTO;
            else
                return fr_tool_fail(PROG, "--attach wants tcx, tc or auto");
            o->attach_set = 1;
            break;
        case 'c':
            if (frt_cli_parse_uint("--cache-groups", optarg, 0, 1000,
                                   &o->cache_groups, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        default:
            if (fr_tool_option(PROG, &o->t, ch, optarg, usage) <= 0)
                return -1;
        }
    }
    if (fr_tool_no_args(PROG, argc, argv))
        return -1;
    if (!o->listen) {
        fprintf(stderr, PROG ": --listen ADDR:PORT is required\n");
        return -1;
    }
    if (o->attach_set && !o->fastpath)
        return fr_tool_fail(PROG, "--attach needs --fastpath");
    return fr_tool_tls_check(PROG, &o->t.tls, 1, o->upstream != NULL);
}

static void print_status(app *a, FILE *f, const char *prefix)
{
    fr_relay_stats st;

    fr_relay_get_stats(a->relay, &st);
    fprintf(f,
            "%s%s: %.1fs sessions %llu subscribers %llu tracks %llu "
            "objects in %llu out %llu (%llu bytes) reset %llu fetch %llu\n",
            prefix, PROG, (double)(fr_quic_ev_now() - a->start) / 1e9,
            (unsigned long long)st.sessions,
            (unsigned long long)st.subscribers, (unsigned long long)st.tracks,
            (unsigned long long)st.objects_received,
            (unsigned long long)st.objects_forwarded,
            (unsigned long long)st.bytes_forwarded,
            (unsigned long long)st.subgroups_reset,
            (unsigned long long)st.fetches_served);
}

static void print_fastpath(app *a, FILE *f, const char *prefix)
{
    fr_fastpath_stats st;
    uint64_t media;

    if (!a->fp)
        return;
    fr_fastpath_get_stats(a->fp, &st);
    media = st.kernel_copies + st.userspace_copies;
    fprintf(f,
            "%s%s: fastpath copies kernel %llu userspace %llu (kernel share "
            "%.1f%%) cache replay %llu registered %llu retransmitted %llu "
            "subscribers %llu\n",
            prefix, PROG, (unsigned long long)st.kernel_copies,
            (unsigned long long)st.userspace_copies,
            media ? 100.0 * (double)st.kernel_copies / (double)media : 0.0,
            (unsigned long long)st.cache_replay_copies,
            (unsigned long long)st.registered,
            (unsigned long long)st.retransmitted,
            (unsigned long long)st.subscribers);
}

/* Writes the statistics to --json FILE, through a temporary file renamed
 * over it, so that a reader never sees half of them. */
static int write_json(app *a)
{
    char tmp[PATH_MAX];
    FILE *f = NULL;
    fr_relay_stats st;
    frt_json j;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", a->o.t.json) >=
        sizeof(tmp))
        errno = ENAMETOOLONG;
    else
        f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", a->o.t.json,
                strerror(errno));
        return -1;
    }
    fr_relay_get_stats(a->relay, &st);
    frt_json_init_file(&j, f, FRT_JSON_PRETTY);
    frt_json_obj_begin(&j);
#define FR_JSON_STAT_(name, desc) frt_json_kv_u64(&j, #name, st.name);
    FR_RELAY_STATS_FOREACH(FR_JSON_STAT_)
#undef FR_JSON_STAT_
    if (a->fp) {
        fr_fastpath_stats fs;

        fr_fastpath_get_stats(a->fp, &fs);
        frt_json_key(&j, "fastpath");
        frt_json_obj_begin(&j);
#define FR_JSON_FP_STAT_(name, desc) frt_json_kv_u64(&j, #name, fs.name);
        FR_FASTPATH_STATS_FOREACH(FR_JSON_FP_STAT_)
#undef FR_JSON_FP_STAT_
        frt_json_key(&j, "fallback");
        frt_json_obj_begin(&j);
        for (size_t i = 0; i < fr_fastpath_fallback_reasons(); i++)
            frt_json_kv_u64(&j, fr_fastpath_fallback_name(i),
                            fr_fastpath_fallback_count(a->fp, i));
        frt_json_obj_end(&j);
        frt_json_obj_end(&j);
    }
    frt_json_kv_double(&j, "seconds",
                       (double)(fr_quic_ev_now() - a->start) / 1e9);
    frt_json_kv_double(&j, "cpu_seconds", cpu_seconds());
    frt_json_kv_double(&j, "startup_cpu_seconds", a->startup_cpu);
    frt_json_obj_end(&j);
    frt_json_finish(&j);
    fputc('\n', f);
    if (fclose(f) != 0 || rename(tmp, a->o.t.json) != 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", a->o.t.json,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void on_status(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;

    print_status(a, stderr, "");
    print_fastpath(a, stderr, "");
    if (a->o.t.json)
        write_json(a);
}

static int connect_upstream(app *a)
{
    int rv = fr_moq_endpoint_connect(a->up_ep,
                                     (struct sockaddr *)&a->up_addr,
                                     a->up_len, a->up_host, &a->up);

    if (rv) {
        fprintf(stderr, PROG ": cannot connect upstream: %s\n",
                fr_strerror(rv));
        return -1;
    }
    fr_moq_session_set_user_data(a->up, a);
    return fr_relay_add_upstream(a->relay, a->up);
}

static void on_reconnect(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    if (!a->up)
        connect_upstream(a);
}

/* Watches the upstream session so that a lost upstream is redialled. */
static void on_session_closed(fr_moq_session *s, uint64_t code,
                              const char *reason, void *ud)
{
    app *a = fr_moq_session_get_user_data(s);

    fr_relay_moq_callbacks()->session_closed(s, code, reason, ud);
    if (a && s == a->up) {
        fprintf(stderr, PROG ": upstream session ended: %s; retrying\n",
                reason ? reason : "closed");
        a->up = NULL;
        ev_timer_again(a->loop, &a->reconnect);
    }
}

/* A session that comes up while the relay drains hears it at once. */
static void on_session_ready(fr_moq_session *s, void *ud)
{
    app *a = fr_relay_get_user_data(ud);

    fr_relay_moq_callbacks()->session_ready(s, ud);
    if (a->draining)
        fr_moq_session_goaway(s, NULL,
                              (uint64_t)(ev_timer_remaining(a->loop,
                                                            &a->drain_end) *
                                         1000));
}

static void on_expiry(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    fr_relay_handle_expiry(a->relay, fr_quic_ev_now());
}

/* Before the loop blocks: the expiry timer follows the relay's next
 * expiry, which session events may have moved. */
static void on_expiry_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
    app *a = w->data;
    fr_tstamp next = fr_relay_next_expiry(a->relay), now;

    (void)revents;
    ev_timer_stop(loop, &a->expiry);
    if (next == FR_TSTAMP_MAX)
        return;
    now = fr_quic_ev_now();
    ev_timer_set(&a->expiry, next > now ? (double)(next - now) / 1e9 : 0.0,
                 0.0);
    ev_timer_start(loop, &a->expiry);
}

static void on_drain_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)revents;
    if (fr_moq_endpoint_idle(a->ep))
        ev_break(loop, EVBREAK_ONE);
}

/* A graceful end: GOAWAY to every session (and to the upstream), then the
 * loop runs until they have all left or --drain is over. */
static void drain(app *a)
{
    uint64_t ms = a->o.drain_ns / FR_MILLISECONDS;

    if (!a->o.drain_ns || fr_moq_endpoint_idle(a->ep))
        return;
    fprintf(stderr, PROG ": going away: GOAWAY sent, closing within %llu ms\n",
            (unsigned long long)ms);
    a->draining = 1;
    fr_moq_endpoint_goaway(a->ep, ms);
    if (a->up && fr_moq_session_is_ready(a->up))
        fr_moq_session_goaway(a->up, NULL, ms);
    ev_timer_init(&a->drain_end, fr_tool_stop_loop,
                  (double)a->o.drain_ns / 1e9, 0.0);
    ev_timer_init(&a->drain_check, on_drain_check, 0.05, 0.05);
    a->drain_end.data = a->drain_check.data = a;
    ev_timer_start(a->loop, &a->drain_end);
    ev_timer_start(a->loop, &a->drain_check);
    ev_run(a->loop, 0);
    ev_timer_stop(a->loop, &a->drain_end);
    ev_timer_stop(a->loop, &a->drain_check);
}

int main(int argc, char **argv)
{
    static app a;
    fr_moq_callbacks cb;
    fr_relay_settings rs;
    fr_moq_settings ms;
    fr_quic_settings qs;
    fr_cert *cert = NULL;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[64];
    ev_signal sigint, sigterm;
    int rv = 0;

    if (parse_args(argc, argv, &a.o))
        return 2;
    if (fr_tool_addr(PROG, "--listen", a.o.listen, &addr, &addrlen, host,
                     sizeof(host)) ||
        (a.o.upstream &&
         fr_tool_addr(PROG, "--upstream", a.o.upstream, &a.up_addr,
                      &a.up_len, a.up_host, sizeof(a.up_host))))
        return 2;
    if (fr_tool_quic_settings(PROG, &a.o.t.tls, host, &qs, &cert))
        return 1;
    a.loop = EV_DEFAULT;
    fr_relay_settings_default(&rs);
    rs.cache_groups = a.o.cache_groups;
    rs.cache_bytes = a.o.cache_bytes;
    rs.cache_total_bytes = a.o.cache_total;
    rs.max_rendezvous = a.o.max_rendezvous_ns;
    qs.max_connections = a.o.max_sessions;
    qs.max_streams_bidi = a.o.max_requests;
    rs.log = qs.log;
    fr_moq_settings_default(&ms);
    ms.log = qs.log;
    ms.implementation = "libfastrelay fr-relay";
    /* A subscriber that falls this far behind loses whole subgroups. */
    ms.max_queued = a.o.max_queue;
    ms.max_subscriptions = a.o.max_subscriptions;
    ms.webtransport_path = a.o.webtransport;
    if (fr_relay_new(&a.relay, &rs, &a) != 0)
        return 1;
    cb = *fr_relay_moq_callbacks();
    cb.session_closed = on_session_closed;
    cb.session_ready = on_session_ready;
    rv = fr_moq_endpoint_new(&a.ep, a.loop, NULL, &cb, &ms, &qs,
                             (struct sockaddr *)&addr, addrlen, a.relay);
    if (rv) {
        fprintf(stderr, PROG ": cannot listen on %s: %s\n", a.o.listen,
                fr_strerror(rv));
        return 1;
    }
    if (a.o.fastpath) {
        fr_fastpath_settings fs;
        char why[256] = "";

        fr_fastpath_settings_default(&fs);
        fs.log = qs.log;
        fs.attach = a.o.attach;
        rv = fr_fastpath_new(&a.fp, a.relay, a.ep, &fs, why, sizeof(why));
        if (rv) {
            fprintf(stderr, PROG ": cannot start the fast path: %s\n",
                    why[0] ? why : fr_strerror(rv));
            return 1;
        }
    }
    a.start = fr_quic_ev_now();
    a.startup_cpu = cpu_seconds();
    ev_timer_init(&a.reconnect, on_reconnect, 0.0, 2.0);
    a.reconnect.data = &a;
    ev_prepare_init(&a.expiry_check, on_expiry_check);
    a.expiry_check.data = &a;
    ev_prepare_start(a.loop, &a.expiry_check);
    ev_timer_init(&a.expiry, on_expiry, 0.0, 0.0);
    a.expiry.data = &a;
    if (a.o.upstream) {
        /* The upstream gets its own socket: the listening address may not
         * be reachable from the upstream side. */
        struct sockaddr_storage any;
        socklen_t anylen;
        fr_tool_any_addr(&a.up_addr, &any, &anylen);
        qs.accept_connections = 0;
        /* The upstream is spoken to over raw QUIC. */
        qs.alpn = NULL;
        ms.webtransport_path = NULL;
        /* The kernel's copies of its packets must fit the subscribers'
         * paths. */
        if (a.o.fastpath)
            qs.max_udp_payload_recv =
                qs.max_udp_payload_size - FR_FASTPATH_HEADROOM;
        rv = fr_moq_endpoint_new(&a.up_ep, a.loop, NULL, &cb, &ms, &qs,
                                 (struct sockaddr *)&any, anylen, a.relay);
        if (!rv && a.fp)
            rv = fr_fastpath_add_upstream_endpoint(a.fp, a.up_ep);
        if (rv || connect_upstream(&a) != 0) {
            fprintf(stderr, PROG ": cannot reach upstream %s: %s\n",
                    a.o.upstream, fr_strerror(rv));
            return 1;
        }
    }
    fprintf(stderr, PROG ": listening on %s%s%s\n", a.o.listen,
            a.o.upstream ? ", upstream " : "",
            a.o.upstream ? a.o.upstream : "");
    fr_tool_start_timers(a.loop, &a.o.t, &a.status, on_status, &a.stop,
                         fr_tool_stop_loop, &a);
    fr_tool_signals(a.loop, &sigint, &sigterm);
    ev_run(a.loop, 0);
    drain(&a);
    fr_tool_stop_status(a.loop, &a.status);

    print_status(&a, stderr, "summary: ");
    print_fastpath(&a, stderr, "summary: ");
    if (a.o.t.json && write_json(&a) != 0)
        rv = 1;
    /* Programs and maps go before the connections close. */
    fr_fastpath_del(a.fp);
    a.fp = NULL;
    ev_timer_stop(a.loop, &a.reconnect);
    ev_prepare_stop(a.loop, &a.expiry_check);
    ev_timer_stop(a.loop, &a.expiry);
    /* Peers get a CONNECTION_CLOSE before the sockets go. */
    fr_moq_endpoint_shutdown(a.ep, 0, "relay shutting down");
    if (a.up_ep)
        fr_moq_endpoint_shutdown(a.up_ep, 0, "relay shutting down");
    ev_run(a.loop, EVRUN_NOWAIT);
    fr_moq_endpoint_del(a.ep);
    fr_moq_endpoint_del(a.up_ep);
    fr_relay_del(a.relay);
    fr_cert_del(cert);
    return rv;
}
