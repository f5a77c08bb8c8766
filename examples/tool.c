/* Shared plumbing of the example tools. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tool.h"

static int tls_option(const char *prog, fr_tool_tls *t, int opt,
                      const char *arg)
{
    switch (opt - FR_TOOL_OPT_BASE) {
    case 0: t->cleartext = 1; return 1;
    case 1: t->cert = arg; return 1;
    case 2: t->key = arg; return 1;
    case 3: t->write_cert = arg; return 1;
    case 4: t->ca = arg; return 1;
    case 5: t->insecure = 1; return 1;
    case 6:
        return fr_tool_duration(prog, "--idle-timeout", arg, 0,
                                &t->idle_timeout_ns)
                   ? -1
                   : 1;
    case 7: t->browser_cert = 1; return 1;
    default: return 0;
    }
}

void fr_tool_opts_init(fr_tool_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->stats_interval_ns = FR_SECONDS;
}

int fr_tool_option(const char *prog, fr_tool_opts *o, int ch, const char *arg,
                   void (*usage)(FILE *f))
{
    int rv;

    switch (ch) {
    case FR_TOOL_OPT_BASE + 10:
        return fr_tool_duration(prog, "--duration", arg, 0, &o->duration_ns)
                   ? -1
                   : 1;
    case FR_TOOL_OPT_BASE + 11:
        return fr_tool_duration(prog, "--stats-interval", arg, 1,
                                &o->stats_interval_ns)
                   ? -1
                   : 1;
    case FR_TOOL_OPT_BASE + 12:
        o->json = arg;
        return 1;
    case 'v':
        o->tls.verbose++;
        return 1;
    case 'V':
        frt_cli_print_version(stdout, prog, fr_version());
        exit(0);
    case 'h':
        usage(stdout);
        exit(0);
    default:
        rv = tls_option(prog, &o->tls, ch, arg);
        if (rv)
            return rv;
        fprintf(stderr, "Try '%s --help' for the options.\n", prog);
        return ch == '?' ? -1 : 0;
    }
}

void fr_tool_start_timers(struct ev_loop *loop, const fr_tool_opts *o,
                          ev_timer *status,
                          void (*status_cb)(struct ev_loop *, ev_timer *, int),
                          ev_timer *stop,
                          void (*stop_cb)(struct ev_loop *, ev_timer *, int),
                          void *data)
{
    if (o->stats_interval_ns) {
        double iv = (double)o->stats_interval_ns / 1e9;
        ev_timer_init(status, status_cb, iv, iv);
        status->data = data;
        ev_timer_start(loop, status);
        ev_unref(loop);
    }
    if (o->duration_ns) {
        ev_timer_init(stop, stop_cb, (double)o->duration_ns / 1e9, 0);
        stop->data = data;
        ev_timer_start(loop, stop);
    }
}

void fr_tool_retry_after(struct ev_loop *loop, ev_timer *timer,
                         unsigned attempts)
{
    double pause = 0.2;

    for (unsigned i = 0; i < attempts && pause < 2.0; i++)
        pause *= 2;
    if (pause > 2.0)
        pause = 2.0;
    ev_timer_stop(loop, timer);
    ev_timer_set(timer, pause, 0.0);
    ev_timer_start(loop, timer);
}

void fr_tool_stop_status(struct ev_loop *loop, ev_timer *status)
{
    if (!ev_is_active(status))
        return;
    ev_ref(loop);
    ev_timer_stop(loop, status);
}

int fr_tool_no_args(const char *prog, int argc, char **argv)
{
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return -1;
    }
    return 0;
}

int fr_tool_tls_check(const char *prog, const fr_tool_tls *t, int server,
                      int client)
{
    if (!t->cert != !t->key) {
        fprintf(stderr, "%s: --cert and --key go together\n", prog);
        return -1;
    }
    if (!server && (t->cert || t->write_cert || t->browser_cert)) {
        fprintf(stderr, "%s: --cert/--key/--write-cert/--browser-cert are "
                        "for a listening server (--listen)\n",
                prog);
        return -1;
    }
    if (t->cert && t->browser_cert) {
        fprintf(stderr, "%s: --browser-cert generates the certificate; it "
                        "excludes --cert\n",
                prog);
        return -1;
    }
    if (client && !t->ca && !t->insecure) {
        fprintf(stderr,
                "%s: to connect, give --ca FILE to verify the server, or "
                "--insecure to skip verification\n",
                prog);
        return -1;
    }
    if (t->ca && t->insecure) {
        fprintf(stderr, "%s: --ca and --insecure exclude each other\n", prog);
        return -1;
    }
    return 0;
}

void fr_tool_log(fr_log_level level, const char *msg, void *prog)
{
    fprintf(stderr, "%s: %s: %s\n", (const char *)prog,
            fr_log_level_name(level), msg);
}

fr_log fr_tool_logger(const char *prog, int verbose)
{
    fr_log log;

    log.fn = fr_tool_log;
    log.user_data = (void *)prog;
    log.level = verbose >= 2 ? FR_LOG_DEBUG
                : verbose    ? FR_LOG_INFO
                             : FR_LOG_WARN;
    return log;
}

static int write_pem(const char *prog, const char *path, const fr_cert *cert)
{
    size_t len;
    const char *pem = fr_cert_pem(cert, &len);
    FILE *f = fopen(path, "w");

    if (!f || fwrite(pem, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* "certificate sha-256 HEX": what a page passes to WebTransport's
 * serverCertificateHashes. */
static int print_sha256(const char *prog, const fr_cert *cert)
{
    uint8_t h[32];

    if (fr_cert_sha256(cert, h) != 0) {
        fprintf(stderr, "%s: certificate: cannot hash it\n", prog);
        return -1;
    }
    fprintf(stderr, "%s: certificate sha-256 ", prog);
    for (size_t i = 0; i < sizeof(h); i++)
        fprintf(stderr, "%02x", h[i]);
    fputc('\n', stderr);
    return 0;
}

int fr_tool_quic_settings(const char *prog, const fr_tool_tls *t,
                          const char *server_name, fr_quic_settings *qs,
                          fr_cert **cert)
{
    int rv;

    fr_quic_settings_default(qs);
    *cert = NULL;
    qs->crypto_mode = t->cleartext ? FR_CRYPTO_CLEARTEXT : FR_CRYPTO_TLS;
    qs->ca_file = t->ca;
    qs->insecure = t->insecure;
    if (t->idle_timeout_ns)
        qs->idle_timeout = t->idle_timeout_ns;
    qs->log = fr_tool_logger(prog, t->verbose);
    if (t->cleartext)
        fprintf(stderr,
                "%s: WARNING: cleartext mode: media is readable and "
                "forgeable on the wire\n",
                prog);
    if (!server_name)
        return 0;
    rv = t->cert           ? fr_cert_load(cert, t->cert, t->key)
         : t->browser_cert ? fr_cert_generate_days(cert, server_name,
                                                   FR_CERT_BROWSER_DAYS)
                           : fr_cert_generate(cert, server_name);
    if (rv) {
        fprintf(stderr, "%s: certificate: %s%s%s\n", prog, fr_strerror(rv),
                t->cert ? ": " : "", t->cert ? t->cert : "");
        return -1;
    }
    if (t->write_cert && write_pem(prog, t->write_cert, *cert) != 0) {
        fr_cert_del(*cert);
        *cert = NULL;
        return -1;
    }
    if (t->browser_cert && print_sha256(prog, *cert) != 0) {
        fr_cert_del(*cert);
        *cert = NULL;
        return -1;
    }
    qs->accept_connections = 1;
    qs->cert = *cert;
    return 0;
}

int fr_tool_addr(const char *prog, const char *flag, const char *arg,
                 struct sockaddr_storage *ss, socklen_t *len, char *host,
                 size_t hostlen)
{
    const char *colon;
    size_t n;

    if (fr_addr_parse(ss, len, arg) != 0) {
        fprintf(stderr,
                "%s: %s wants A.B.C.D:PORT or [V6ADDR]:PORT (numeric), got "
                "'%s'\n",
                prog, flag, arg);
        return -1;
    }
    colon = strrchr(arg, ':');
    n = (size_t)(colon - arg);
    if (arg[0] == '[') {
        arg++;
        n -= 2;
    }
    if (n >= hostlen)
        n = hostlen - 1;
    memcpy(host, arg, n);
    host[n] = '\0';
    return 0;
}

int fr_tool_target(const char *prog, const char *flag, const char *arg,
                   struct sockaddr_storage *ss, socklen_t *len, char *host,
                   size_t hostlen, const char **wt_path)
{
    static const char scheme[] = "https://";
    char hostport[128];
    const char *slash;
    size_t n;

    *wt_path = NULL;
    if (strncmp(arg, scheme, sizeof(scheme) - 1) != 0)
        return fr_tool_addr(prog, flag, arg, ss, len, host, hostlen);
    arg += sizeof(scheme) - 1;
    slash = strchr(arg, '/');
    n = slash ? (size_t)(slash - arg) : strlen(arg);
    if (n == 0 || n >= sizeof(hostport)) {
        fprintf(stderr, "%s: %s wants https://ADDR:PORT/PATH, got '%s%s'\n",
                prog, flag, scheme, arg);
        return -1;
    }
    memcpy(hostport, arg, n);
    hostport[n] = '\0';
    *wt_path = slash ? slash : "/";
    return fr_tool_addr(prog, flag, hostport, ss, len, host, hostlen);
}

int fr_tool_update_key(const char *prog, fr_quic_conn *c)
{
    int rv;

    if (!c)
        return 0;
    rv = fr_quic_conn_update_key(c, fr_quic_ev_now());
    if (rv == 0)
        return 1;
    if (rv == FR_ERR_INVALID_STATE || rv == FR_ERR_CONN_CLOSED)
        return 0;
    fprintf(stderr, "%s: key update failed: %s\n", prog, fr_strerror(rv));
    return -1;
}

int fr_tool_fail(const char *prog, const char *msg)
{
    fprintf(stderr, "%s: %s\n", prog, msg);
    return -1;
}

int fr_tool_duration(const char *prog, const char *flag, const char *arg,
                     int allow_zero, uint64_t *ns)
{
    char err[256];

    if (allow_zero && strcmp(arg, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (frt_cli_parse_duration(flag, arg, ns, err, sizeof(err)) != 0)
        return fr_tool_fail(prog, err);
    return 0;
}

void fr_tool_any_addr(const struct sockaddr_storage *like,
                      struct sockaddr_storage *any, socklen_t *len)
{
    memset(any, 0, sizeof(*any));
    any->ss_family = like->ss_family;
    *len = like->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                      : sizeof(struct sockaddr_in6);
}

void fr_tool_stop_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

void fr_tool_signals(struct ev_loop *loop, ev_signal *sigint,
                     ev_signal *sigterm)
{
    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(sigint, on_signal, SIGINT);
    ev_signal_init(sigterm, on_signal, SIGTERM);
    ev_signal_start(loop, sigint);
    ev_signal_start(loop, sigterm);
    ev_unref(loop);
    ev_unref(loop);
}
