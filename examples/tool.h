/*
 * What fr-origin, fr-relay and fr-sub share: transport flags (crypto mode,
 * certificates), logging verbosity, signals and the periodic status timer.
 */
#ifndef FR_TOOL_H
#define FR_TOOL_H

#include <stdio.h>

#include <ev.h>

#include <fastrelay/fastrelay.h>
#include <fastrelay/moq.h>

/* Transport options every tool takes. */
typedef struct fr_tool_tls {
    int cleartext;
    const char *cert, *key;   /* server certificate (PEM files) */
    const char *write_cert;   /* write the generated certificate here */
    int browser_cert;         /* generate one browsers pin by hash */
    const char *ca;           /* client: trusted CA / pinned cert */
    int insecure;             /* client: skip verification (explicit) */
    uint64_t idle_timeout_ns; /* --idle-timeout; 0: the library's 30 s */
    int verbose;
} fr_tool_tls;

/* Long options of fr_tool_tls, to append to a tool's table; their codes
 * start at FR_TOOL_OPT_BASE. */
#define FR_TOOL_OPT_BASE 1000
#define FR_TOOL_TLS_OPTIONS                                                   \
    {"cleartext", no_argument, NULL, FR_TOOL_OPT_BASE + 0},                   \
        {"cert", required_argument, NULL, FR_TOOL_OPT_BASE + 1},              \
        {"key", required_argument, NULL, FR_TOOL_OPT_BASE + 2},               \
        {"write-cert", required_argument, NULL, FR_TOOL_OPT_BASE + 3},        \
        {"ca", required_argument, NULL, FR_TOOL_OPT_BASE + 4},                \
        {"insecure", no_argument, NULL, FR_TOOL_OPT_BASE + 5},                \
        {"idle-timeout", required_argument, NULL, FR_TOOL_OPT_BASE + 6},      \
        {"browser-cert", no_argument, NULL, FR_TOOL_OPT_BASE + 7}

/* Usage lines for those options: all of them, and the client's. */
#define FR_TOOL_IDLE_USAGE                                                    \
    "  --idle-timeout D      close a connection silent for D (default\n"     \
    "                        30s); a peer that vanished is noticed then\n"
#define FR_TOOL_CLIENT_TLS_USAGE                                              \
    "  --cleartext           cleartext 1-RTT packets (must match the\n"      \
    "                        server)\n"                                       \
    "  --ca FILE             trust this CA or pinned certificate (PEM)\n"     \
    "  --insecure            do not verify the server's certificate\n"     \
    FR_TOOL_IDLE_USAGE
#define FR_TOOL_TLS_USAGE                                                     \
    "  --cleartext           cleartext 1-RTT packets (for the kernel fast\n"  \
    "                        path; both ends must use it; never on an\n"      \
    "                        untrusted network)\n"                            \
    "  --cert FILE --key FILE  server certificate and key (PEM); default:\n"  \
    "                        a self-signed one made at start\n"               \
    "  --write-cert FILE     write the server certificate (PEM) there, for\n" \
    "                        clients' --ca\n"                                 \
    "  --browser-cert        make the generated certificate one a browser\n"  \
    "                        pins by hash (WebTransport's\n"                   \
    "                        serverCertificateHashes: valid 13 days) and\n"   \
    "                        print its SHA-256\n"                              \
    "  --ca FILE             trust this CA or pinned certificate (PEM)\n"     \
    "  --insecure            do not verify the server's certificate\n"     \
    FR_TOOL_IDLE_USAGE

/* Options every tool takes besides the transport ones. */
typedef struct fr_tool_opts {
    uint64_t duration_ns;       /* 0: no limit */
    uint64_t stats_interval_ns; /* 0: no status line; default 1 s */
    const char *json;
    fr_tool_tls tls;
} fr_tool_opts;

#define FR_TOOL_OPTIONS                                                       \
    FR_TOOL_TLS_OPTIONS,                                                      \
        {"duration", required_argument, NULL, FR_TOOL_OPT_BASE + 10},         \
        {"stats-interval", required_argument, NULL, FR_TOOL_OPT_BASE + 11},   \
        {"json", required_argument, NULL, FR_TOOL_OPT_BASE + 12},             \
        {"verbose", no_argument, NULL, 'v'},                                  \
        {"version", no_argument, NULL, 'V'}, {"help", no_argument, NULL, 'h'}

/* Usage lines of FR_TOOL_OPTIONS other than --duration (whose meaning
 * each tool states): FR_TOOL_USAGE, or, for a tool whose --json means
 * more, FR_TOOL_STATS_USAGE, its own --json line, FR_TOOL_LOG_USAGE. */
#define FR_TOOL_STATS_USAGE                                                   \
    "  --stats-interval S    status line every S seconds (default 1;\n"      \
    "                        0: none)\n"
#define FR_TOOL_LOG_USAGE                                                     \
    "  -v, --verbose         more log output (twice: debug)\n"                \
    "  -V, --version         print the version\n"                             \
    "  -h, --help            this text\n"
#define FR_TOOL_USAGE                                                         \
    FR_TOOL_STATS_USAGE                                                       \
    "  --json FILE           write the summary as JSON at exit\n"             \
    FR_TOOL_LOG_USAGE

void fr_tool_opts_init(fr_tool_opts *o);

/* Starts the periodic status timer (unless stats_interval is 0; it does
 * not keep the loop alive) and the --duration timer (unless 0). Both
 * watchers get `data`. */
void fr_tool_start_timers(struct ev_loop *loop, const fr_tool_opts *o,
                          ev_timer *status,
                          void (*status_cb)(struct ev_loop *, ev_timer *, int),
                          ev_timer *stop,
                          void (*stop_cb)(struct ev_loop *, ev_timer *, int),
                          void *data);

/* (Re)starts the one-shot `timer` for the next attempt to reach a peer
 * after `attempts` failed ones: 0.2 s, doubling up to 2 s. */
void fr_tool_retry_after(struct ev_loop *loop, ev_timer *timer,
                         unsigned attempts);

/* Stops the status timer fr_tool_start_timers started, if it did (it
 * does not keep the loop alive, so the loop's count is restored first):
 * no status line after a summary. */
void fr_tool_stop_status(struct ev_loop *loop, ev_timer *status);

/* Handles an option of FR_TOOL_OPTIONS (--help prints `usage` and exits,
 * --version exits). Returns 1 if `ch` was one, 0 if it is not, -1 after
 * printing what was wrong. */
int fr_tool_option(const char *prog, fr_tool_opts *o, int ch, const char *arg,
                   void (*usage)(FILE *f));

/* Prints "prog: msg" to stderr; returns -1, for `return fr_tool_fail(...)`
 * in option parsing. */
int fr_tool_fail(const char *prog, const char *msg);

/* After option parsing: fails (with a message) on leftover arguments. */
int fr_tool_no_args(const char *prog, int argc, char **argv);

/* Checks option combinations. `server` and `client` say which roles the
 * tool takes with these options. Prints an error and returns -1. */
int fr_tool_tls_check(const char *prog, const fr_tool_tls *t, int server,
                      int client);

/* Fills QUIC settings from the options; makes (or loads) the server
 * certificate when `server_name` is non-NULL. *cert is set and must be
 * freed with fr_cert_del. Returns 0 or -1 after printing why. */
int fr_tool_quic_settings(const char *prog, const fr_tool_tls *t,
                          const char *server_name, fr_quic_settings *qs,
                          fr_cert **cert);

/* A log sink writing "PROG: level: msg" to stderr. */
void fr_tool_log(fr_log_level level, const char *msg, void *prog);
fr_log fr_tool_logger(const char *prog, int verbose);

/* Parses HOST:PORT, printing an error naming `flag` on failure. Copies the
 * host part into host (for certificate names). */
int fr_tool_addr(const char *prog, const char *flag, const char *arg,
                 struct sockaddr_storage *ss, socklen_t *len, char *host,
                 size_t hostlen);

/* Parses a --connect target: HOST:PORT (MoQT over raw QUIC) or
 * https://HOST:PORT/PATH (over WebTransport; PATH defaults to "/"), HOST
 * numeric as for fr_tool_addr. *wt_path is set to the path (inside arg)
 * or NULL. Prints an error naming `flag` on failure. */
int fr_tool_target(const char *prog, const char *flag, const char *arg,
                   struct sockaddr_storage *ss, socklen_t *len, char *host,
                   size_t hostlen, const char **wt_path);
#define FR_TOOL_TARGET_USAGE                                                  \
    "                        (raw QUIC), or https://ADDR:PORT/PATH to go\n"  \
    "                        over WebTransport (HTTP/3) to PATH\n"

/* --key-update-every: starts a key update on connection c. Returns 1 if
 * one started, 0 if the previous one is not acknowledged yet (or c is
 * closing or NULL), -1 after printing why it failed. */
int fr_tool_update_key(const char *prog, fr_quic_conn *c);

#define FR_TOOL_KEY_UPDATE_USAGE                                              \
    "  --key-update-every D  every D (e.g. 3s) start a QUIC key update\n"     \
    "                        (RFC 9001 section 6) on the connection\n"

/* Parses a duration flag ("15s", "500ms", plain seconds); with allow_zero
 * "0" is accepted (meaning "off"). Prints an error naming the flag and
 * returns -1 on bad input. */
int fr_tool_duration(const char *prog, const char *flag, const char *arg,
                     int allow_zero, uint64_t *ns);

/* A wildcard address of the same family as `like`. */
void fr_tool_any_addr(const struct sockaddr_storage *like,
                      struct sockaddr_storage *any, socklen_t *len);

/* A timer callback that stops the loop (for --duration). */
void fr_tool_stop_loop(struct ev_loop *loop, ev_timer *w, int revents);

/* Stops `loop` on SIGINT and SIGTERM. */
void fr_tool_signals(struct ev_loop *loop, ev_signal *sigint,
                     ev_signal *sigterm);

#endif
