/*
 * fr-interop: the MoQT interop runner's test client (moq-interop-runner,
 * docs/TEST-CLIENT-INTERFACE.md), on libfastrelay's public API.
 *
 * It runs the runner's session, namespace and subscription cases against
 * a relay over raw QUIC (moqt://HOST:PORT), offering drafts 19 and 18
 * (MOQT_DRAFT confines it to one), and reports TAP version 14 on stdout,
 * with a YAML block per case (duration, connection IDs, what was expected
 * and what came) and the draft negotiated in its header. Exit 0: every case passed; 1: one failed;
 * 127: a case, draft or URL scheme this client does not support; 2: bad
 * usage.
 *
 * Each case is a small state machine fed the events of its one or two
 * connections (publisher, subscriber); the runner part (connections,
 * deadlines, the graceful close after each case, TAP) is shared.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include <fastrelay/fastrelay.h>

#include "tool.h"

#define PROG "fr-interop"
#define EXIT_UNSUPPORTED 127

#define TEST_NS "moq-test/interop"
#define TEST_TRACK "test-track"
#define MISSING_NS "nonexistent/namespace"

/* After a case ends, what it sent last gets this long to leave before its
 * connections close; then they get DRAIN_S to close. */
#define LINGER_S 0.05
#define DRAIN_S 1.0
/* subscribe-before-announce: the publisher starts this long after the
 * subscriber. */
#define PUBLISHER_DELAY_S 0.5
/* ... and its SUBSCRIBE may wait this long for the publisher at a relay
 * that holds it (RENDEZVOUS_TIMEOUT); within the case's 3.5 s. */
#define RENDEZVOUS_MS 3000

typedef enum role { PUBLISHER, SUBSCRIBER, NROLES } role;

static const char *const role_name[NROLES] = {"publisher", "subscriber"};

typedef enum event {
    EV_START,     /* the case begins */
    EV_READY,     /* a role's SETUP exchange completed */
    EV_NS_OK,     /* our PUBLISH_NAMESPACE got REQUEST_OK */
    EV_NS_ERROR,  /* ... REQUEST_ERROR (r->answer says which) */
    EV_SUB_OK,    /* our SUBSCRIBE got SUBSCRIBE_OK */
    EV_SUB_ERROR, /* ... REQUEST_ERROR, or ended before an answer */
    EV_LATER,     /* the case's delayed step */
} event;

typedef struct conn_slot {
    struct run *run;
    fr_moq_session *s; /* NULL: not connected, or closed */
    int dialed;
    int ready;
    char cid[2 * FR_CID_MAX_LEN + 1];
} conn_slot;

typedef struct interop_case interop_case;

typedef struct run {
    const interop_case *c;
    struct ev_loop *loop;
    fr_moq_endpoint *ep;
    const struct sockaddr_storage *relay;
    socklen_t relay_len;
    const char *server_name;
    conn_slot slot[NROLES];
    uint64_t ns_req;
    int ns_sent, ns_ok;
    fr_moq_sub *sub;
    int sub_sent, sub_answered;
    char answer[160]; /* the last answer, as the report names it */
    const char *awaiting; /* what a timeout reports as missing */
    int finished, passed, closing;
    int ever_ready;       /* some connection of the case got to SETUP */
    unsigned draft;       /* the draft its first ready session spoke */
    char connect_error[400];
    const char *expected;
    char received[160];
    char message[400];
    fr_tstamp start, end;
    ev_timer deadline, later, linger, drain;
} run;

struct interop_case {
    const char *id;
    double timeout_s;
    int two_roles; /* report publisher_/subscriber_connection_id */
    void (*step)(run *r, event e, role who);
};

typedef struct options {
    const char *relay_url;
    const char *test;
    int list;
    fr_tool_tls tls;
} options;

/* Names of the draft's REQUEST_ERROR codes, for the report. */
static const char *request_error_name(uint64_t code)
{
    switch (code) {
    case FR_MOQ_REQ_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case FR_MOQ_REQ_UNAUTHORIZED: return "UNAUTHORIZED";
    case FR_MOQ_REQ_TIMEOUT: return "TIMEOUT";
    case FR_MOQ_REQ_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case FR_MOQ_REQ_GOING_AWAY: return "GOING_AWAY";
    case FR_MOQ_REQ_EXCESSIVE_LOAD: return "EXCESSIVE_LOAD";
    case FR_MOQ_REQ_DOES_NOT_EXIST: return "DOES_NOT_EXIST";
    case FR_MOQ_REQ_INVALID_RANGE: return "INVALID_RANGE";
    case FR_MOQ_REQ_DUPLICATE_SUBSCRIPTION: return "DUPLICATE_SUBSCRIPTION";
    case FR_MOQ_REQ_UNINTERESTED: return "UNINTERESTED";
    default: return "error";
    }
}

static void describe_error(char *buf, size_t len, const char *what,
                           uint64_t code, const char *reason)
{
    snprintf(buf, len, "%s %s (0x%llx)%s%s", what, request_error_name(code),
             (unsigned long long)code, reason && *reason ? ": " : "",
             reason ? reason : "");
}

/* The runner side: outcome, connections, close. */

static void close_all(run *r)
{
    r->closing = 1;
    for (int i = 0; i < NROLES; i++)
        if (r->slot[i].s)
            fr_moq_session_close(r->slot[i].s, 0, "test done");
}

static void end_loop_if_closed(run *r)
{
    for (int i = 0; i < NROLES; i++)
        if (r->slot[i].s)
            return;
    ev_break(r->loop, EVBREAK_ONE);
}

static void on_linger(struct ev_loop *loop, ev_timer *w, int revents)
{
    run *r = w->data;

    (void)revents;
    close_all(r);
    ev_timer_start(loop, &r->drain);
    end_loop_if_closed(r);
}

/* Connections that did not close in time are left to the endpoint. */
static void on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
    run *r = w->data;

    (void)revents;
    for (int i = 0; i < NROLES; i++)
        if (r->slot[i].s)
            fr_moq_session_set_user_data(r->slot[i].s, NULL);
    if (r->sub)
        fr_moq_sub_set_user_data(r->sub, NULL);
    ev_break(loop, EVBREAK_ONE);
}

static void finish(run *r, int passed, const char *expected, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Ends the case: `expected` and the printf-style `received` go into the
 * report (a pass names what came only where it tells something). */
static void finish(run *r, int passed, const char *expected, const char *fmt,
                   ...)
{
    va_list ap;

    if (r->finished)
        return;
    r->finished = 1;
    r->passed = passed;
    r->end = fr_quic_ev_now();
    r->expected = expected;
    va_start(ap, fmt);
    vsnprintf(r->received, sizeof(r->received), fmt, ap);
    va_end(ap);
    ev_timer_stop(r->loop, &r->deadline);
    ev_timer_stop(r->loop, &r->later);
    ev_timer_start(r->loop, &r->linger);
}

static void note(run *r, const char *msg)
{
    snprintf(r->message, sizeof(r->message), "%s", msg);
}

static void step(run *r, event e, role who)
{
    if (!r->finished)
        r->c->step(r, e, who);
}

static void arm(run *r, double seconds)
{
    ev_timer_stop(r->loop, &r->deadline);
    ev_timer_set(&r->deadline, seconds, 0);
    ev_timer_start(r->loop, &r->deadline);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    run *r = w->data;

    (void)loop;
    (void)revents;
    snprintf(r->message, sizeof(r->message), "no %s within %.1f s",
             r->awaiting, r->c->timeout_s);
    if (!r->ever_ready)
        snprintf(r->connect_error, sizeof(r->connect_error),
                 "no SETUP from the relay within %.1f s", r->c->timeout_s);
    finish(r, 0, r->awaiting, "timeout");
}

static void on_later(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    step(w->data, EV_LATER, PUBLISHER);
}

static const char *conn_name(const run *r, role who)
{
    if (!r->c->two_roles)
        return "connection";
    return who == PUBLISHER ? "publisher connection"
                            : "subscriber connection";
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = '\0';
}

/* Opens the connection of `who`. Its ID in the report is the client's
 * first destination CID, the one a relay's qlog groups the connection
 * by. */
static void dial(run *r, role who)
{
    conn_slot *c = &r->slot[who];
    uint8_t cid[FR_CID_MAX_LEN];
    size_t n;
    int rv;

    c->dialed = 1;
    rv = fr_moq_endpoint_connect(r->ep, (const struct sockaddr *)r->relay,
                                 r->relay_len, r->server_name, &c->s);
    if (rv) {
        snprintf(r->connect_error, sizeof(r->connect_error),
                 "cannot open the %s: %s", conn_name(r, who),
                 fr_strerror(rv));
        note(r, r->connect_error);
        finish(r, 0, "SETUP", "no connection");
        return;
    }
    fr_moq_session_set_user_data(c->s, c);
    n = fr_quic_conn_get_remote_cid(fr_moq_session_conn(c->s), cid);
    hex(c->cid, cid, n);
}

static void announce(run *r)
{
    fr_moq_name ns;
    int rv;

    fr_moq_name_set(&ns, TEST_NS, "");
    rv = fr_moq_publish_namespace(r->slot[PUBLISHER].s, &ns, &r->ns_req);
    if (rv) {
        note(r, fr_strerror(rv));
        finish(r, 0, "REQUEST_OK", "PUBLISH_NAMESPACE not sent");
        return;
    }
    r->ns_sent = 1;
    r->awaiting = "REQUEST_OK";
}

/* SUBSCRIBE, willing to wait `rendezvous_ms` for a publisher to appear. */
static void subscribe(run *r, const char *ns, const char *track,
                      uint64_t rendezvous_ms)
{
    fr_moq_sub_params p;
    fr_moq_name name;
    int rv;

    fr_moq_name_set(&name, ns, track);
    fr_moq_sub_params_default(&p);
    p.rendezvous_timeout_ms = rendezvous_ms;
    rv = fr_moq_subscribe(r->slot[SUBSCRIBER].s, &name, &p, &r->sub, r);
    if (rv) {
        note(r, fr_strerror(rv));
        finish(r, 0, "SUBSCRIBE_OK", "SUBSCRIBE not sent");
        return;
    }
    r->sub_sent = 1;
}

/* The cases (docs/tests/TEST-CASES.md of the runner). */

static void setup_only(run *r, event e, role who)
{
    (void)who;
    if (e == EV_START)
        dial(r, PUBLISHER);
    else if (e == EV_READY)
        finish(r, 1, "SETUP", "SETUP");
}

/* announce-only and publish-namespace-done: the deadline counts from the
 * PUBLISH_NAMESPACE. */
static int announce_step(run *r, event e)
{
    switch (e) {
    case EV_START:
        dial(r, PUBLISHER);
        return 0;
    case EV_READY:
        announce(r);
        arm(r, r->c->timeout_s);
        return 0;
    case EV_NS_ERROR:
        finish(r, 0, "REQUEST_OK", "%s", r->answer);
        return 0;
    case EV_NS_OK:
        return 1;
    default:
        return 0;
    }
}

static void announce_only(run *r, event e, role who)
{
    (void)who;
    if (announce_step(r, e))
        finish(r, 1, "REQUEST_OK", "REQUEST_OK");
}

static void publish_namespace_done(run *r, event e, role who)
{
    int rv;

    (void)who;
    if (!announce_step(r, e))
        return;
    rv = fr_moq_publish_namespace_done(r->slot[PUBLISHER].s, r->ns_req);
    if (rv) {
        note(r, fr_strerror(rv));
        finish(r, 0, "namespace withdrawn", "cannot cancel the request");
        return;
    }
    note(r, "REQUEST_OK, then the request stream cancelled");
    finish(r, 1, "REQUEST_OK", "REQUEST_OK");
}

static void subscribe_error(run *r, event e, role who)
{
    (void)who;
    switch (e) {
    case EV_START:
        dial(r, SUBSCRIBER);
        break;
    case EV_READY:
        r->awaiting = "REQUEST_ERROR";
        subscribe(r, MISSING_NS, TEST_TRACK, 0);
        break;
    case EV_SUB_ERROR:
        finish(r, 1, "REQUEST_ERROR", "%s", r->answer);
        break;
    case EV_SUB_OK:
        note(r, "unexpected success");
        finish(r, 0, "REQUEST_ERROR", "SUBSCRIBE_OK");
        break;
    default:
        break;
    }
}

static void announce_subscribe(run *r, event e, role who)
{
    switch (e) {
    case EV_START:
        dial(r, PUBLISHER);
        dial(r, SUBSCRIBER);
        break;
    case EV_READY:
        if (who == PUBLISHER)
            announce(r);
        break;
    case EV_NS_ERROR:
        finish(r, 0, "REQUEST_OK", "%s", r->answer);
        return;
    case EV_SUB_OK:
        finish(r, 1, "SUBSCRIBE_OK", "SUBSCRIBE_OK");
        return;
    case EV_SUB_ERROR:
        finish(r, 0, "SUBSCRIBE_OK", "%s", r->answer);
        return;
    default:
        break;
    }
    /* The subscriber asks once the namespace is there. */
    if (!r->finished && r->ns_ok && r->slot[SUBSCRIBER].ready &&
        !r->sub_sent) {
        r->awaiting = "SUBSCRIBE_OK";
        subscribe(r, TEST_NS, TEST_TRACK, 0);
    }
}

/* Both answers pass: the relay held the SUBSCRIBE until the namespace
 * came (the SUBSCRIBE asks it to, with RENDEZVOUS_TIMEOUT), or refused it. The case ends once the publisher's announcement
 * was answered too. */
static void subscribe_before_announce(run *r, event e, role who)
{
    switch (e) {
    case EV_START:
        dial(r, SUBSCRIBER);
        break;
    case EV_READY:
        if (who == SUBSCRIBER) {
            r->awaiting = "an answer to SUBSCRIBE";
            subscribe(r, TEST_NS, TEST_TRACK, RENDEZVOUS_MS);
            ev_timer_start(r->loop, &r->later);
        } else {
            announce(r);
        }
        break;
    case EV_LATER:
        dial(r, PUBLISHER);
        break;
    case EV_NS_ERROR:
        finish(r, 0, "REQUEST_OK", "%s", r->answer);
        return;
    case EV_SUB_OK:
        snprintf(r->answer, sizeof(r->answer), "SUBSCRIBE_OK");
        note(r, "the relay held the SUBSCRIBE until the namespace came");
        break;
    case EV_SUB_ERROR:
        note(r, "the relay refused a SUBSCRIBE for a namespace not "
                "announced yet");
        break;
    default:
        break;
    }
    if (r->finished)
        return;
    if (!r->sub_answered)
        r->awaiting = "an answer to SUBSCRIBE";
    else if (!r->ns_ok)
        r->awaiting = "REQUEST_OK for the publisher";
    else
        finish(r, 1, "SUBSCRIBE_OK or REQUEST_ERROR", "%s", r->answer);
}

static const interop_case cases[] = {
    {"setup-only", 2.0, 0, setup_only},
    {"announce-only", 2.0, 0, announce_only},
    {"publish-namespace-done", 2.0, 0, publish_namespace_done},
    {"subscribe-error", 2.0, 0, subscribe_error},
    {"announce-subscribe", 3.0, 1, announce_subscribe},
    {"subscribe-before-announce", 3.5, 1, subscribe_before_announce},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Session callbacks: each session's user data is its slot (NULL once its
 * case is over). */

static conn_slot *slot_of(fr_moq_session *s, role *who)
{
    conn_slot *c = fr_moq_session_get_user_data(s);

    if (c)
        *who = (role)(c - c->run->slot);
    return c;
}

static void on_session_ready(fr_moq_session *s, void *ud)
{
    role who;
    conn_slot *c = slot_of(s, &who);

    (void)ud;
    if (!c)
        return;
    c->ready = 1;
    c->run->ever_ready = 1;
    if (!c->run->draft)
        c->run->draft = fr_moq_session_draft(s);
    step(c->run, EV_READY, who);
}

static void on_session_closed(fr_moq_session *s, uint64_t code,
                              const char *reason, void *ud)
{
    role who;
    conn_slot *c = slot_of(s, &who);
    run *r;

    (void)ud;
    if (!c)
        return;
    r = c->run;
    c->s = NULL;
    if (r->closing) {
        end_loop_if_closed(r);
        return;
    }
    if (!c->ready) {
        snprintf(r->connect_error, sizeof(r->connect_error),
                 "the %s failed: %s (code 0x%llx)", conn_name(r, who),
                 reason && *reason ? reason : "closed",
                 (unsigned long long)code);
        note(r, r->connect_error);
        finish(r, 0, "SETUP", "connection closed");
        return;
    }
    snprintf(r->message, sizeof(r->message),
             "the relay closed the %s: %s (code 0x%llx)", conn_name(r, who),
             reason && *reason ? reason : "no reason",
             (unsigned long long)code);
    finish(r, 0, r->awaiting, "connection closed");
}

static void on_namespace_answer(fr_moq_session *s, uint64_t req, int accepted,
                                uint64_t code, const char *reason, void *ud)
{
    role who;
    conn_slot *c = slot_of(s, &who);
    run *r;

    (void)ud;
    if (!c || who != PUBLISHER || req != c->run->ns_req)
        return;
    r = c->run;
    if (accepted) {
        r->ns_ok = 1;
        step(r, EV_NS_OK, who);
        return;
    }
    describe_error(r->answer, sizeof(r->answer), "REQUEST_ERROR", code,
                   reason);
    step(r, EV_NS_ERROR, who);
}

/* The relay forwards a SUBSCRIBE to the publisher: take it. */
static void on_subscribe(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, const fr_moq_sub_params *p,
                         void *ud)
{
    fr_moq_track_info info = {.track_alias = 1,
                              .group_order = FR_MOQ_ORDER_ASCENDING,
                              .publisher_priority = 128};
    fr_moq_pub *pub;
    role who;
    conn_slot *c = slot_of(s, &who);

    (void)name;
    (void)p;
    (void)ud;
    if (!c || who != PUBLISHER) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST, "not published");
        return;
    }
    if (fr_moq_accept_subscribe(s, req, &info, &pub, NULL) != 0)
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "cannot accept");
}

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    run *r = fr_moq_sub_get_user_data(sub);

    (void)info;
    (void)ud;
    if (!r || sub != r->sub)
        return;
    r->sub_answered = 1;
    step(r, EV_SUB_OK, SUBSCRIBER);
}

static void on_sub_done(fr_moq_sub *sub, int rejected, uint64_t code,
                        const char *reason, void *ud)
{
    run *r = fr_moq_sub_get_user_data(sub);

    (void)ud;
    if (!r || sub != r->sub)
        return;
    r->sub = NULL;
    if (r->sub_answered)
        return;
    r->sub_answered = 1;
    if (rejected)
        describe_error(r->answer, sizeof(r->answer), "REQUEST_ERROR", code,
                       reason);
    else
        snprintf(r->answer, sizeof(r->answer),
                 "subscription ended before an answer: %s (0x%llx)",
                 reason ? reason : "", (unsigned long long)code);
    step(r, EV_SUB_ERROR, SUBSCRIBER);
}

/* TAP. */

static void yaml_str(FILE *out, const char *key, const char *v)
{
    fprintf(out, "  %s: \"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', out);
        fputc((unsigned char)*v >= 0x20 ? *v : ' ', out);
    }
    fprintf(out, "\"\n");
}

static void report(FILE *out, const run *r, size_t n)
{
    uint64_t ms = (uint64_t)((r->end - r->start) / 1000000);

    fprintf(out, "%sok %zu - %s\n", r->passed ? "" : "not ", n, r->c->id);
    fprintf(out, "  ---\n");
    fprintf(out, "  duration_ms: %llu\n", (unsigned long long)ms);
    if (r->draft)
        fprintf(out, "  draft: draft-%u\n", r->draft);
    for (int i = 0; i < NROLES; i++) {
        if (!r->slot[i].cid[0])
            continue;
        if (r->c->two_roles)
            fprintf(out, "  %s_connection_id: %s\n", role_name[i],
                    r->slot[i].cid);
        else
            fprintf(out, "  connection_id: %s\n", r->slot[i].cid);
    }
    if (!r->passed)
        yaml_str(out, "expected", r->expected);
    yaml_str(out, "received", r->received);
    if (r->message[0])
        yaml_str(out, "message", r->message);
    fprintf(out, "  ...\n");
}

/* Runs one case to its end and the close of its connections. Returns 1
 * if it passed. */
static int run_case(FILE *out, run *r, const interop_case *c, size_t n)
{
    r->c = c;
    r->awaiting = "SETUP";
    for (int i = 0; i < NROLES; i++)
        r->slot[i].run = r;
    ev_timer_init(&r->deadline, on_deadline, c->timeout_s, 0);
    ev_timer_init(&r->later, on_later, PUBLISHER_DELAY_S, 0);
    ev_timer_init(&r->linger, on_linger, LINGER_S, 0);
    ev_timer_init(&r->drain, on_drain, DRAIN_S, 0);
    r->deadline.data = r->later.data = r->linger.data = r->drain.data = r;
    r->start = fr_quic_ev_now();
    ev_timer_start(r->loop, &r->deadline);
    step(r, EV_START, PUBLISHER);
    ev_run(r->loop, 0);
    ev_timer_stop(r->loop, &r->deadline);
    ev_timer_stop(r->loop, &r->later);
    ev_timer_stop(r->loop, &r->linger);
    ev_timer_stop(r->loop, &r->drain);
    report(out, r, n);
    return r->passed;
}

/* Options. */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [-r URL] [-t CASE] [-l] [-v] "
            "[--tls-disable-verify | --ca FILE]\n"
            "\n"
            "The MoQT interop runner's test client: runs its cases against a "
            "relay\n"
            "and reports TAP version 14 on stdout (drafts 19 and 18, raw "
            "QUIC).\n"
            "\n"
            "  -r, --relay URL       the relay, moqt://HOST:PORT (default "
            "$RELAY_URL,\n"
            "                        else moqt://127.0.0.1:4443); https:// "
            "(WebTransport)\n"
            "                        is not supported yet (exit 127)\n"
            "  -t, --test CASE       run this case only (default $TESTCASE, "
            "else all)\n"
            "  -l, --list            list the cases, one per line\n"
            "  --tls-disable-verify  do not verify the relay's certificate\n"
            "                        (also TLS_DISABLE_VERIFY=1)\n"
            "  --ca FILE             trust this CA or pinned certificate "
            "(PEM); default:\n"
            "                        the system's trust store\n"
            "  -v, --verbose         log to stderr (twice: debug; also "
            "VERBOSE=1)\n"
            "  -V, --version         print the version\n"
            "  -h, --help            this text\n"
            "\n"
            "MOQT_DRAFT=draft-18 or draft-19 offers only that draft; the\n"
            "header says which draft the relay took.\n"
            "Exit status: 0 all cases passed, 1 one failed, 127 case, "
            "draft or\n"
            "scheme not supported, 2 bad usage.\n");
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);

    return v && strcmp(v, "1") == 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"relay", required_argument, NULL, 'r'},
        {"test", required_argument, NULL, 't'},
        {"list", no_argument, NULL, 'l'},
        {"tls-disable-verify", no_argument, NULL, 'k'},
        {"ca", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->relay_url = getenv("RELAY_URL");
    o->test = getenv("TESTCASE");
    if (o->test && !*o->test)
        o->test = NULL;
    o->tls.insecure = env_flag("TLS_DISABLE_VERIFY");
    o->tls.verbose = env_flag("VERBOSE");
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":r:t:lvVh", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'r': o->relay_url = optarg; break;
        case 't': o->test = optarg; break;
        case 'l': o->list = 1; break;
        case 'k': o->tls.insecure = 1; break;
        case 'c': o->tls.ca = optarg; break;
        case 'v': o->tls.verbose++; break;
        case 'V':
            printf(PROG " %s\n", fr_version());
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            fprintf(stderr, PROG ": %s needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, PROG ": unknown option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (fr_tool_no_args(PROG, argc, argv))
        return -1;
    if (o->tls.ca && o->tls.insecure)
        return fr_tool_fail(PROG, "--ca and --tls-disable-verify exclude "
                                  "each other");
    if (!o->relay_url || !*o->relay_url)
        o->relay_url = "moqt://127.0.0.1:4443";
    return 0;
}

/* Splits moqt://HOST:PORT[/] (HOST may be [V6]). Returns 0, or the exit
 * status after printing why not. */
static int parse_url(const char *url, char *host, size_t hostlen, char *port,
                     size_t portlen)
{
    static const char scheme[] = "moqt://";
    char auth[300];
    char *h, *colon;
    size_t n;

    if (strncmp(url, "https://", 8) == 0) {
        fprintf(stderr,
                PROG ": %s: WebTransport (https://) is not supported yet; "
                     "use moqt://\n",
                url);
        return EXIT_UNSUPPORTED;
    }
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
        fprintf(stderr, PROG ": relay URL '%s' is not moqt://HOST:PORT\n",
                url);
        return 2;
    }
    url += sizeof(scheme) - 1;
    n = strcspn(url, "/");
    if (url[n] && strcmp(url + n, "/") != 0) {
        fprintf(stderr, PROG ": relay URL: raw QUIC has no path ('%s')\n",
                url + n);
        return 2;
    }
    if (n >= sizeof(auth))
        goto bad;
    memcpy(auth, url, n);
    auth[n] = '\0';
    colon = strrchr(auth, ':');
    if (!colon || colon == auth || !colon[1])
        goto bad;
    *colon = '\0';
    h = auth;
    if (*h == '[') {
        size_t hl = strlen(h);
        if (hl < 3 || h[hl - 1] != ']')
            goto bad;
        h[hl - 1] = '\0';
        h++;
    }
    if (strlen(h) >= hostlen || strlen(colon + 1) >= portlen)
        goto bad;
    strcpy(host, h);
    strcpy(port, colon + 1);
    return 0;
bad:
    fprintf(stderr, PROG ": relay URL needs moqt://HOST:PORT, got 'moqt://%.*s'\n",
            (int)n, url);
    return 2;
}

static int resolve(const char *host, const char *port,
                   struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res;
    int rv;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    rv = getaddrinfo(host, port, &hints, &res);
    if (rv) {
        fprintf(stderr, PROG ": cannot resolve %s port %s: %s\n", host, port,
                gai_strerror(rv));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* MOQT_DRAFT, if set, confines the ALPNs offered to that draft's. */
static int check_draft(const char **alpn)
{
    const char *d = getenv("MOQT_DRAFT");

    *alpn = FR_MOQ_ALPNS;
    if (!d || !*d)
        return 0;
    if (strcmp(d, "draft-18") == 0 || strcmp(d, "draft-19") == 0) {
        *alpn = strcmp(d, "draft-18") == 0 ? FR_MOQ_ALPN_18 : FR_MOQ_ALPN_19;
        return 0;
    }
    fprintf(stderr, PROG ": MOQT_DRAFT=%s: drafts 18 and 19 are spoken\n",
            d);
    return EXIT_UNSUPPORTED;
}

static const interop_case *find_case(const char *id)
{
    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].id, id) == 0)
            return &cases[i];
    return NULL;
}

int main(int argc, char **argv)
{
    options o;
    char host[256], port[16];
    struct sockaddr_storage relay, bind;
    socklen_t relay_len, bind_len;
    fr_quic_settings qs;
    fr_moq_settings ms;
    fr_moq_callbacks cb;
    fr_moq_endpoint *ep;
    fr_cert *cert;
    struct ev_loop *loop;
    const interop_case *only = NULL;
    const char *alpn;
    unsigned draft = 0;
    char *results = NULL;
    size_t results_len = 0;
    FILE *out;
    size_t first = 0, count = NCASES, failed = 0;
    int rv;

    if (parse_args(argc, argv, &o))
        return 2;
    if (o.list) {
        for (size_t i = 0; i < NCASES; i++)
            printf("%s\n", cases[i].id);
        return 0;
    }
    if (o.test) {
        only = find_case(o.test);
        if (!only) {
            fprintf(stderr, PROG ": case '%s' is not supported (see -l)\n",
                    o.test);
            return EXIT_UNSUPPORTED;
        }
        first = (size_t)(only - cases);
        count = 1;
    }
    if ((rv = check_draft(&alpn)) != 0)
        return rv;
    if ((rv = parse_url(o.relay_url, host, sizeof(host), port,
                        sizeof(port))) != 0)
        return rv;
    if (resolve(host, port, &relay, &relay_len))
        return 1;
    if (fr_tool_quic_settings(PROG, &o.tls, NULL, &qs, &cert))
        return 1;
    if (!o.tls.verbose)
        qs.log.level = FR_LOG_ERROR;
    qs.alpn = alpn;
    memset(&cb, 0, sizeof(cb));
    cb.session_ready = on_session_ready;
    cb.session_closed = on_session_closed;
    cb.namespace_answer = on_namespace_answer;
    cb.subscribe = on_subscribe;
    cb.sub_ok = on_sub_ok;
    cb.sub_done = on_sub_done;
    fr_moq_settings_default(&ms);
    ms.log = qs.log;
    ms.implementation = "libfastrelay fr-interop";
    loop = EV_DEFAULT;
    fr_tool_any_addr(&relay, &bind, &bind_len);
    rv = fr_moq_endpoint_new(&ep, loop, NULL, &cb, &ms, &qs,
                             (struct sockaddr *)&bind, bind_len, NULL);
    if (rv) {
        fprintf(stderr, PROG ": cannot open the QUIC endpoint: %s\n",
                fr_strerror(rv));
        return 1;
    }

    /* The results wait until the end: the header names the draft the
     * relay took, known once a session is up. */
    out = open_memstream(&results, &results_len);
    if (!out) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        run r;

        memset(&r, 0, sizeof(r));
        r.loop = loop;
        r.ep = ep;
        r.relay = &relay;
        r.relay_len = relay_len;
        r.server_name = host;
        if (!run_case(out, &r, &cases[first + i], i + 1)) {
            failed++;
            /* Nothing can pass when the relay cannot be reached. */
            if (!r.ever_ready && r.connect_error[0] && i + 1 < count) {
                fprintf(out, "Bail out! %s\n", r.connect_error);
                break;
            }
        }
        if (!draft)
            draft = r.draft;
    }
    fclose(out);
    printf("TAP version 14\n");
    printf("# " PROG " (libfastrelay %s)\n", fr_version());
    printf("# Relay: %s\n", o.relay_url);
    if (draft)
        printf("# Draft: draft-%u\n", draft);
    else
        printf("# Draft: none negotiated (offered %s)\n", alpn);
    printf("1..%zu\n", count);
    fwrite(results, 1, results_len, stdout);
    free(results);
    fr_moq_endpoint_shutdown(ep, 0, "done");
    ev_run(loop, EVRUN_NOWAIT);
    fr_moq_endpoint_del(ep);
    fr_cert_del(cert);
    return failed ? 1 : 0;
}
