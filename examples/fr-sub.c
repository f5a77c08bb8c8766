/*
 * fr-sub: a MoQT subscriber that verifies what it receives. Every object
 * is checked (checksum), its one-way delay measured from the send time in
 * its header, and the sequence numbers tell which objects of the groups it
 * was entitled to never arrived. A late joiner starts at the latest group
 * with a joining FETCH. --connections runs many sessions from one process
 * for fan-out tests; --output writes received video to an IVF file;
 * --migrate-every moves the connections to a new port now and then;
 * --reconnect makes a session that lost its relay, or whose track ended,
 * connect and subscribe again. The status line shows how many sessions
 * are connecting, up or failed; one that cannot connect says why.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ivf.h"
#include "json.h"
#include "media.h"
#include "stats.h"
#include "tool.h"
#include "video.h"

#define PROG "fr-sub"
#define MAX_CONNECTIONS 1000
#define MAX_TRACKS 8

typedef struct opts {
    const char *connect;
    const char *ns;
    const char *track;
    int named;               /* --namespace or --track given */
    const char *subscribe[MAX_TRACKS]; /* --subscribe NS/NAME */
    size_t nsubscribe;
    uint64_t connections;
    const char *output;
    int fetch;               /* --fetch: one standalone FETCH instead */
    uint64_t fetch_group;
    uint64_t migrate_ns;     /* --migrate-every, 0: never */
    uint64_t key_update_ns;  /* --key-update-every, 0: never */
    uint64_t stream_window;  /* --stream-window, 0: the library's */
    uint64_t conn_window;    /* --conn-window, 0: the library's */
    uint64_t handshake_ns;   /* --handshake-timeout */
    int reconnect;           /* --reconnect */
    int any_payload;         /* --any-payload */
    uint64_t rendezvous_ns;  /* --rendezvous, 0: none */
    fr_tool_opts t;
} opts;

/* A frame waiting for its turn to be written to the IVF output. */
typedef struct pending_frame {
    uint64_t seq;
    uint64_t pts;
    size_t len;
    uint8_t *data;
} pending_frame;

typedef enum sc_state {
    SC_CONNECTING = 0,       /* QUIC handshake or SETUP under way */
    SC_UP,                   /* SETUP done */
    SC_FAILED,               /* never came up, or lost, and gave up */
    SC_DONE                  /* was up; its track or session ended */
} sc_state;

/* An object received: its sequence number and group. */
typedef struct seen_obj {
    uint64_t seq, group;
} seen_obj;

/* Objects seq_from..seq_to (inclusive) missing, between the last object
 * received of group_from and the first of group_to. */
typedef struct gap {
    uint64_t seq_from, seq_to, group_from, group_to;
} gap;

/* One subscription of one session (with several tracks, a session's
 * subscriptions sit side by side, the first holding the connection's
 * state for all: conn_of). */
typedef struct session_ctx {
    struct app *a;
    int index;               /* the session's */
    size_t track;            /* index into app.names */
    sc_state state;
    fr_moq_session *s;
    fr_moq_sub *sub;
    int ended;               /* nothing more to come: the run may end */
    int has_start;           /* the first entitled group is known */
    uint64_t start_group;
    uint64_t min_seq;        /* sequence number of the start group's
                                first object */
    seen_obj *seen;          /* every object received */
    size_t nseen, capseen;
    gap first_gap;           /* of the objects counted missing */
    uint64_t objects, corrupt, fetched, bytes, out_of_window;
    uint64_t max_group;
    uint64_t track_alias;    /* the publisher's, at the last SUBSCRIBE_OK */
    /* --reconnect: what earlier subscriptions of this session missed, and
     * how often it connected or subscribed again. */
    uint64_t missing_before, skipped_before;
    uint64_t reconnects, resubscribes;
    unsigned attempts;       /* since the last answered subscription */
    int sub_over;            /* its subscription ended; books not closed */
    ev_timer again;          /* --reconnect: the next attempt */
    frt_stats delay;         /* microseconds, live objects only */
    /* CLOCK_MONOTONIC ns (the clock of the media's send times): when
     * the first connection attempt began, and when the first
     * subscription was answered (0: not yet). */
    uint64_t connect_ns, subscribed_ns;
    char error[256];
} session_ctx;

typedef struct app {
    opts o;
    struct ev_loop *loop;
    fr_moq_endpoint *ep;
    fr_moq_name names[MAX_TRACKS];
    char labels[MAX_TRACKS][520]; /* NS/NAME, for the reports */
    char ns_of[MAX_TRACKS][256];  /* what names[] point into */
    size_t ntracks;
    session_ctx *sessions;   /* connections x ntracks */
    size_t nctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[64];
    ev_timer status, stop, retry, check, migrate;
    ev_signal restart_delay;
    fr_tstamp start;
    int stopping;            /* the run is over: no reconnecting */
    uint64_t migrations, migrate_failures;
    uint64_t key_updates, key_update_failures;
    ev_timer key_update;
    /* --output */
    frt_ivf_writer ivf;
    int ivf_open;
    frt_ivf_header ivf_hdr;
    int have_hdr;
    uint64_t next_seq;
    int next_seq_known;
    pending_frame *frames;
    size_t nframes, capframes;
    uint64_t frames_written;
    int output_failed;
} app;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fr-sub --connect ADDR:PORT|https://ADDR:PORT/PATH "
            "[options]\n"
            "\n"
            "Subscribes to a MoQT (draft-18) track and verifies every object:\n"
            "checksum, one-way delay, and which objects never arrived.\n"
            "\n"
            "  --connect ADDR:PORT   relay (or origin) to subscribe at\n"
            FR_TOOL_TARGET_USAGE
            "  --namespace NS        track namespace, fields split by '/'\n"
            "                        (default live)\n"
            "  --track NAME          track name (default video)\n"
            "  --subscribe NS/NAME   subscribe to this track (the last\n"
            "                        field is its name; repeatable, up to\n"
            "                        8, instead of --namespace/--track):\n"
            "                        every session takes every one, each\n"
            "                        checked and reported on its own\n"
            "  --duration S          stop after S seconds (default: when the\n"
            "                        track ends, or SIGINT/SIGTERM; SIGUSR1\n"
            "                        restarts the delay statistics, for a\n"
            "                        measurement window)\n"
            "  --connections N       N independent sessions (default 1)\n"
            "  --output FILE.ivf     write the received video (real video\n"
            "                        from fr-origin --input; one connection)\n"
            "  --fetch GROUP         fetch that whole group (from the relay's\n"
            "                        cache) instead of subscribing\n"
            "  --migrate-every D     every D (e.g. 4s, 500ms) move to a new\n"
            "                        UDP port: the connections migrate, with\n"
            "                        new connection IDs both ways\n"
            FR_TOOL_KEY_UPDATE_USAGE
            "  --stream-window B     receive window per stream in bytes\n"
            "                        (default 1048576); small ones make a\n"
            "                        reader the sender must wait for\n"
            "  --conn-window B       receive window of each connection in\n"
            "                        bytes (default 16777216)\n"
            "  --handshake-timeout D give up on a connection that is not up\n"
            "                        after D (default 10s)\n"
            "  --reconnect           a session whose connection closes, or\n"
            "                        whose track ends, connects and\n"
            "                        subscribes again (backing off up to\n"
            "                        2 s) until --duration or a signal;\n"
            "                        objects are checked per subscription\n"
            "                        (those in flight when a connection is\n"
            "                        lost are not counted missing)\n"
            "  --any-payload         objects of another publisher than\n"
            "                        fr-origin: no checksum or delay; each\n"
            "                        group's object IDs must run from 0\n"
            "                        without a gap, up to its END_OF_GROUP\n"
            "                        if one came\n"
            "  --rendezvous D        ask the relay to hold the SUBSCRIBE up\n"
            "                        to D for a publisher that has not\n"
            "                        appeared yet (RENDEZVOUS_TIMEOUT)\n"
            FR_TOOL_CLIENT_TLS_USAGE FR_TOOL_USAGE);
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"namespace", required_argument, NULL, 'n'},
        {"track", required_argument, NULL, 't'},
        {"subscribe", required_argument, NULL, 'S'},
        {"connections", required_argument, NULL, 'N'},
        {"output", required_argument, NULL, 'o'},
        {"fetch", required_argument, NULL, 'F'},
        {"migrate-every", required_argument, NULL, 'M'},
        {"key-update-every", required_argument, NULL, 'U'},
        {"stream-window", required_argument, NULL, 'W'},
        {"conn-window", required_argument, NULL, 'C'},
        {"any-payload", no_argument, NULL, 'A'},
        {"rendezvous", required_argument, NULL, 'Z'},
        {"handshake-timeout", required_argument, NULL, 'H'},
        {"reconnect", no_argument, NULL, 'R'},
        FR_TOOL_OPTIONS,
        {NULL, 0, NULL, 0}};
    char err[256];
    int ch;

    o->ns = "live";
    o->track = "video";
    o->connections = 1;
    o->handshake_ns = 10 * FR_SECONDS;
    fr_tool_opts_init(&o->t);
    while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->connect = optarg; break;
        case 'n': o->ns = optarg; o->named = 1; break;
        case 't': o->track = optarg; o->named = 1; break;
        case 'S':
            if (o->nsubscribe == MAX_TRACKS)
                return fr_tool_fail(PROG, "at most 8 --subscribe");
            if (!strchr(optarg, '/'))
                return fr_tool_fail(PROG, "--subscribe wants NS/NAME");
            o->subscribe[o->nsubscribe++] = optarg;
            break;
        case 'N':
            if (frt_cli_parse_uint("--connections", optarg, 1,
                                   MAX_CONNECTIONS, &o->connections, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'o': o->output = optarg; break;
        case 'F':
            if (frt_cli_parse_uint("--fetch", optarg, 0, UINT64_MAX / 2,
                                   &o->fetch_group, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            o->fetch = 1;
            break;
        case 'W':
            if (frt_cli_parse_uint("--stream-window", optarg, 1024,
                                   UINT64_C(1) << 30, &o->stream_window, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'C':
            if (frt_cli_parse_uint("--conn-window", optarg, 1024,
                                   UINT64_C(1) << 30, &o->conn_window, err,
                                   sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'M':
            if (fr_tool_duration(PROG, "--migrate-every", optarg, 0,
                                 &o->migrate_ns))
                return -1;
            break;
        case 'U':
            if (fr_tool_duration(PROG, "--key-update-every", optarg, 0,
                                 &o->key_update_ns))
                return -1;
            break;
        case 'H':
            if (fr_tool_duration(PROG, "--handshake-timeout", optarg, 0,
                                 &o->handshake_ns))
                return -1;
            break;
        case 'R': o->reconnect = 1; break;
        case 'A': o->any_payload = 1; break;
        case 'Z':
            if (fr_tool_duration(PROG, "--rendezvous", optarg, 0,
                                 &o->rendezvous_ns))
                return -1;
            break;
        default:
            if (fr_tool_option(PROG, &o->t, ch, optarg, usage) <= 0)
                return -1;
        }
    }
    if (fr_tool_no_args(PROG, argc, argv))
        return -1;
    if (!o->connect)
        return fr_tool_fail(PROG, "--connect ADDR:PORT (or "
                                  "https://ADDR:PORT/PATH) is required");
    if (o->output && o->connections != 1)
        return fr_tool_fail(PROG, "--output needs --connections 1");
    if (o->any_payload && o->output)
        return fr_tool_fail(PROG, "--output writes fr-origin's video; not "
                                  "with --any-payload");
    if (o->reconnect && (o->fetch || o->output))
        return fr_tool_fail(PROG, "--reconnect goes with neither --fetch "
                                  "nor --output");
    if (o->nsubscribe && o->named)
        return fr_tool_fail(PROG, "--subscribe is instead of --namespace "
                                  "and --track");
    if (o->nsubscribe > 1 && (o->fetch || o->output || o->reconnect))
        return fr_tool_fail(PROG, "several --subscribe go with none of "
                                  "--fetch, --output, --reconnect");
    return fr_tool_tls_check(PROG, &o->t.tls, 0, 1);
}

/* IVF output: frames are written in sequence order. */

static int frame_cmp(const void *x, const void *y)
{
    const pending_frame *a = x, *b = y;

    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void output_write(app *a, pending_frame *f)
{
    if (!a->ivf_open) {
        if (!a->have_hdr)
            return; /* no key frame yet: nothing decodable */
        if (frt_ivf_create(&a->ivf, a->o.output, &a->ivf_hdr) != 0) {
            fprintf(stderr, PROG ": cannot create %s: %s\n", a->o.output,
                    strerror(errno));
            a->output_failed = 1;
            a->have_hdr = 0;
            return;
        }
        a->ivf_open = 1;
    }
    if (frt_ivf_write_frame(&a->ivf, f->data, f->len, f->pts) != 0)
        a->output_failed = 1;
    a->frames_written++;
}

/* Writes every queued frame that is next in sequence (or all at the end). */
static void output_flush(app *a, int all)
{
    size_t i = 0;

    if (a->nframes == 0)
        return;
    qsort(a->frames, a->nframes, sizeof(*a->frames), frame_cmp);
    for (; i < a->nframes; i++) {
        pending_frame *f = &a->frames[i];
        if (!all && a->next_seq_known && f->seq != a->next_seq)
            break;
        output_write(a, f);
        a->next_seq = f->seq + 1;
        a->next_seq_known = 1;
        free(f->data);
    }
    memmove(a->frames, a->frames + i, (a->nframes - i) * sizeof(*a->frames));
    a->nframes -= i;
}

static void output_add(app *a, const frt_obj_meta *m, const uint8_t *body,
                       size_t len)
{
    int key = (m->flags & FRT_MEDIA_KEY) != 0;
    const uint8_t *frame;
    size_t framelen;
    pending_frame f;
    frt_ivf_header hdr;

    if (fr_video_body_read(body, len, key, &f.pts, &hdr, &frame,
                           &framelen) != 0) {
        a->output_failed = 1;
        return;
    }
    if (key && !a->have_hdr) {
        a->ivf_hdr = hdr;
        a->have_hdr = 1;
    }
    if (a->nframes == a->capframes) {
        size_t cap = a->capframes ? a->capframes * 2 : 64;
        pending_frame *n = realloc(a->frames, cap * sizeof(*n));
        if (!n)
            return;
        a->frames = n;
        a->capframes = cap;
    }
    f.seq = m->seq;
    f.len = framelen;
    f.data = malloc(framelen ? framelen : 1);
    if (!f.data)
        return;
    if (framelen)
        memcpy(f.data, frame, framelen);
    a->frames[a->nframes++] = f;
    output_flush(a, 0);
}

/* Verification. */

/* Remembers an object's sequence number and group. */
static void note_seq(session_ctx *sc, uint64_t seq, uint64_t group)
{
    if (sc->nseen == sc->capseen) {
        size_t cap = sc->capseen ? sc->capseen * 2 : 256;
        seen_obj *n = realloc(sc->seen, cap * sizeof(*n));

        if (!n)
            return;
        sc->seen = n;
        sc->capseen = cap;
    }
    sc->seen[sc->nseen++] = (seen_obj){seq, group};
}

static void on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                      const fr_moq_object *obj, void *ud)
{
    session_ctx *sc = sub   ? fr_moq_sub_get_user_data(sub)
                      : f ? fr_moq_fetch_get_user_data(f)
                          : NULL;
    app *a = ud;
    frt_obj_meta m;
    const uint8_t *body;
    size_t bodylen;
    int rv;

    if (!sc)
        return;
    /* --any-payload: a group's end (or the track's) at object ID k says
     * objects 0..k-1 were all sent: it stands in the record so that a
     * loss at a group's tail is seen. */
    if (obj->status != FR_MOQ_OBJ_NORMAL) {
        if (a->o.any_payload && sc->has_start &&
            obj->loc.group >= sc->start_group)
            note_seq(sc, obj->loc.object, obj->loc.group);
        return;
    }
    sc->objects++;
    sc->bytes += obj->payload_len;
    if (f)
        sc->fetched++;
    if (a->o.any_payload) {
        /* Object IDs stand for sequence numbers, per group. */
        memset(&m, 0, sizeof(m));
        m.group_id = obj->loc.group;
        m.object_id = m.seq = obj->loc.object;
    } else {
        rv = a->o.output ? frt_media_unwrap(obj->payload, obj->payload_len,
                                            &m, &body, &bodylen)
                         : frt_media_check(obj->payload, obj->payload_len,
                                           &m);
        if (rv != 0 || m.group_id != obj->loc.group ||
            m.object_id != obj->loc.object) {
            sc->corrupt++;
            return;
        }
    }
    if (!sc->has_start) {
        sc->has_start = 1;
        sc->start_group = obj->loc.group;
        sc->min_seq = m.seq - m.object_id;
    } else if (obj->loc.group == sc->start_group &&
               m.seq - m.object_id < sc->min_seq) {
        sc->min_seq = m.seq - m.object_id;
    }
    if (obj->loc.group < sc->start_group) {
        sc->out_of_window++;
        return;
    }
    if (obj->loc.group > sc->max_group)
        sc->max_group = obj->loc.group;
    note_seq(sc, m.seq, obj->loc.group);
    if (!f && !a->o.any_payload) {
        uint64_t now = frt_media_now_ns();
        frt_stats_add(&sc->delay,
                      now > m.send_ts_ns ? (now - m.send_ts_ns) / 1000 : 0);
    }
    if (a->o.output)
        output_add(a, &m, body, bodylen);
}

/* By group, then sequence number: fr-origin's numbers grow with the
 * group, and --any-payload's start again in each. */
static int cmp_seq(const void *x, const void *y)
{
    const seen_obj *a = x, *b = y;

    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Objects of the entitled groups (from the start group's first object to
 * the newest received) that never arrived, and groups with no object;
 * the first run of missing objects goes to sc->first_gap. Sorts the
 * record by group and sequence number. With --any-payload the numbers
 * are object IDs: each group's run from 0 up to its end marker, if one
 * came (else what it lost after its last object cannot be told). */
static void count_missing(session_ctx *sc, uint64_t *missing,
                          uint64_t *groups_skipped)
{
    uint64_t next_seq = sc->min_seq, groups = 0, last_group = 0;
    int any = 0;

    *missing = *groups_skipped = 0;
    sc->first_gap = (gap){0};
    if (!sc->has_start || sc->nseen == 0)
        return;
    qsort(sc->seen, sc->nseen, sizeof(*sc->seen), cmp_seq);
    for (size_t i = 0; i < sc->nseen; i++) {
        const seen_obj *o = &sc->seen[i];

        if (sc->a->o.any_payload && any && o->group != last_group)
            next_seq = 0;
        if (o->seq < next_seq || o->group < sc->start_group)
            continue; /* a duplicate, or before the entitled groups */
        if (o->seq > next_seq) {
            if (*missing == 0)
                sc->first_gap = (gap){next_seq, o->seq - 1,
                                      any ? last_group : sc->start_group,
                                      o->group};
            *missing += o->seq - next_seq;
        }
        if (!any || o->group != last_group)
            groups++;
        any = 1;
        last_group = o->group;
        next_seq = o->seq + 1;
    }
    if (any)
        *groups_skipped = last_group - sc->start_group + 1 - groups;
}

/* What every subscription of the session missed. */
static void session_missing(session_ctx *sc, uint64_t *missing,
                            uint64_t *groups_skipped)
{
    count_missing(sc, missing, groups_skipped);
    *missing += sc->missing_before;
    *groups_skipped += sc->skipped_before;
}

/* --reconnect: closes the books on a subscription. What it missed stays
 * counted; the next one starts afresh at the latest group, so what was
 * published in between is not missing. A subscription cut off by a lost
 * connection is judged on the groups before its last two: objects of
 * those were in flight (a group's key frame travels apart from the rest)
 * and are lost with the connection, not missing. */
static void subscription_close(session_ctx *sc, int cut_off)
{
    uint64_t missing, skipped, last = 0;
    size_t kept = 0;

    if (cut_off) {
        for (size_t i = 0; i < sc->nseen; i++)
            if (sc->seen[i].group > last)
                last = sc->seen[i].group;
        for (size_t i = 0; i < sc->nseen; i++)
            if (sc->seen[i].group + 1 < last)
                sc->seen[kept++] = sc->seen[i];
        sc->nseen = kept;
    }
    count_missing(sc, &missing, &skipped);
    sc->missing_before += missing;
    sc->skipped_before += skipped;
    sc->nseen = 0;
    sc->has_start = 0;
}

static const char *state_name(sc_state st)
{
    switch (st) {
    case SC_CONNECTING: return "connecting";
    case SC_UP: return "up";
    case SC_FAILED: return "failed";
    case SC_DONE: return "done";
    }
    return "?";
}

/* Session callbacks. */

static session_ctx *ctx_of(fr_moq_session *s)
{
    return fr_moq_session_get_user_data(s);
}

static int session_connect(session_ctx *sc)
{
    app *a = sc->a;
    int rv = fr_moq_endpoint_connect(a->ep, (struct sockaddr *)&a->addr,
                                     a->addrlen, a->host, &sc->s);

    if (rv)
        return rv;
    sc->state = SC_CONNECTING;
    if (!sc->connect_ns)
        sc->connect_ns = frt_media_now_ns();
    fr_moq_session_set_user_data(sc->s, sc);
    return 0;
}

/* --reconnect: the next attempt, after a pause that doubles each time
 * (0.2 s up to 2 s) until a subscription is answered. */
static void try_again(session_ctx *sc)
{
    fr_tool_retry_after(sc->a->loop, &sc->again, sc->attempts++);
}

static void subscribe(session_ctx *sc)
{
    fr_moq_sub_params p;
    int rv;

    fr_moq_sub_params_default(&p);
    p.rendezvous_timeout_ms = sc->a->o.rendezvous_ns / FR_MILLISECONDS;
    rv = fr_moq_subscribe(sc->s, &sc->a->names[sc->track], &p, &sc->sub,
                          sc);
    if (rv)
        snprintf(sc->error, sizeof(sc->error), "subscribe: %s",
                 fr_strerror(rv));
}

static void fetch_group(session_ctx *sc)
{
    fr_moq_location start = {sc->a->o.fetch_group, 0};
    fr_moq_location end = {sc->a->o.fetch_group, 0}; /* the whole group */
    fr_moq_fetch *f;
    int rv;

    sc->has_start = 1;
    sc->start_group = start.group;
    sc->min_seq = UINT64_MAX;
    rv = fr_moq_fetch_range(sc->s, &sc->a->names[0], start, end, &f, sc);
    if (rv) {
        snprintf(sc->error, sizeof(sc->error), "fetch: %s", fr_strerror(rv));
        sc->ended = 1;
    }
}

static void on_session_ready(fr_moq_session *s, void *ud)
{
    app *a = ud;
    session_ctx *sc = ctx_of(s);

    for (size_t k = 0; k < a->ntracks; k++) {
        sc[k].state = SC_UP;
        if (a->o.fetch)
            fetch_group(&sc[k]);
        else
            subscribe(&sc[k]);
    }
}

static void on_sub_ok(fr_moq_sub *sub, const fr_moq_track_info *info,
                      void *ud)
{
    session_ctx *sc = fr_moq_sub_get_user_data(sub);
    fr_moq_fetch *f;

    (void)ud;
    sc->attempts = 0;
    sc->track_alias = info->track_alias;
    if (!sc->subscribed_ns)
        sc->subscribed_ns = frt_media_now_ns();
    if (!info->has_largest)
        return; /* a new track: it starts with what comes next */
    /* A late joiner starts at the latest group: fetch it from its first
     * object up to where the subscription begins. */
    sc->has_start = 1;
    sc->start_group = info->largest.group;
    sc->min_seq = UINT64_MAX;
    if (fr_moq_fetch_joining(sub, 1, 0, &f, sc) != 0)
        snprintf(sc->error, sizeof(sc->error), "joining fetch failed");
}

static void on_sub_done(fr_moq_sub *sub, int rejected, uint64_t code,
                        const char *reason, void *ud)
{
    session_ctx *sc = fr_moq_sub_get_user_data(sub);
    app *a = ud;

    sc->sub = NULL;
    if (rejected && code == FR_MOQ_REQ_DOES_NOT_EXIST && !sc->has_start) {
        /* The publisher is not there yet: try again shortly. */
        ev_timer_again(a->loop, &a->retry);
        return;
    }
    if (a->o.reconnect && !a->stopping) {
        /* The books close when it subscribes again, or, if the session
         * is going away (this may be its teardown), when it is gone. */
        sc->sub_over = 1;
        sc->resubscribes++;
        try_again(sc);
        return;
    }
    sc->ended = 1;
    if (rejected || code != FR_MOQ_DONE_TRACK_ENDED)
        snprintf(sc->error, sizeof(sc->error), "%s: %s (0x%llx)",
                 rejected ? "rejected" : "ended", reason ? reason : "",
                 (unsigned long long)code);
}

static void on_fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                          const char *reason, void *ud)
{
    session_ctx *sc = fr_moq_fetch_get_user_data(f);
    app *a = ud;

    if (rejected)
        snprintf(sc->error, sizeof(sc->error), "fetch refused: %s (0x%llx)",
                 reason ? reason : "", (unsigned long long)code);
    if (a->o.fetch)
        sc->ended = 1;
}

/* The session of subscription `sc` closed. */
static void subscription_session_closed(session_ctx *sc, uint64_t code,
                                        const char *reason)
{
    app *a = sc->a;
    int was_up, track_live;

    was_up = sc->state == SC_UP;
    track_live = sc->sub != NULL;
    sc->s = NULL;
    sc->sub = NULL;
    if (!reason || !reason[0])
        reason = "closed";
    if (a->stopping) {
        sc->state = SC_DONE;
        return;
    }
    if (a->o.reconnect) {
        if (a->o.connections <= 10)
            fprintf(stderr, PROG ": session %d: %s: %s; connecting again\n",
                    sc->index,
                    was_up ? "connection lost" : "cannot connect", reason);
        if (was_up || sc->sub_over)
            subscription_close(sc, 1);
        sc->sub_over = 0;
        sc->state = SC_CONNECTING;
        sc->reconnects++;
        try_again(sc);
        return;
    }
    sc->ended = 1;
    if (!was_up) {
        sc->state = SC_FAILED;
        snprintf(sc->error, sizeof(sc->error), "cannot connect to %s: %s",
                 a->o.connect, reason);
        fprintf(stderr, PROG ": session %d: %s\n", sc->index, sc->error);
        return;
    }
    sc->state = SC_DONE;
    if (!sc->error[0] && (code != 0 || track_live))
        snprintf(sc->error, sizeof(sc->error), "session closed%s: %s",
                 track_live ? " before the track ended" : "", reason);
}

static void on_session_closed(fr_moq_session *s, uint64_t code,
                              const char *reason, void *ud)
{
    session_ctx *sc = ctx_of(s);
    app *a = ud;

    if (!sc)
        return;
    for (size_t k = 0; k < a->ntracks; k++)
        subscription_session_closed(&sc[k], code, reason);
}

/* The relay is going away: the library makes no new requests on the
 * session; its subscriptions go on until the relay closes it (then
 * --reconnect connects again, to the same address: fr-sub takes no new
 * URI). */
static void on_goaway(fr_moq_session *s, const char *new_uri,
                      uint64_t timeout_ms, void *ud)
{
    session_ctx *sc = ctx_of(s);
    app *a = ud;

    (void)new_uri;
    if (!sc || a->stopping)
        return;
    if (a->o.connections <= 10)
        fprintf(stderr, PROG ": session %d: the relay is going away (within "
                        "%llu ms)\n",
                sc->index, (unsigned long long)timeout_ms);
}

/* SIGUSR1: the delay statistics start over (a benchmark's window); the
 * object counts and gaps still cover the whole sessions. */
static void on_restart_delay(struct ev_loop *loop, ev_signal *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    for (size_t i = 0; i < a->nctx; i++) {
        frt_stats_free(&a->sessions[i].delay);
        frt_stats_init(&a->sessions[i].delay, 0);
    }
    fprintf(stderr, PROG ": delay statistics restarted\n");
}

/* --reconnect: connect again, or subscribe again on a session that is up. */
static void on_again(struct ev_loop *loop, ev_timer *w, int revents)
{
    session_ctx *sc = w->data;
    int rv;

    (void)loop;
    (void)revents;
    if (sc->a->stopping)
        return;
    if (sc->s) {
        if (!sc->sub && fr_moq_session_is_ready(sc->s)) {
            if (sc->sub_over)
                subscription_close(sc, 0);
            sc->sub_over = 0;
            subscribe(sc);
        }
        return;
    }
    rv = session_connect(sc);
    if (rv) {
        snprintf(sc->error, sizeof(sc->error), "cannot connect to %s: %s",
                 sc->a->o.connect, fr_strerror(rv));
        sc->reconnects++;
        try_again(sc);
    }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    ev_timer_stop(a->loop, &a->retry);
    for (size_t i = 0; i < a->nctx; i++) {
        session_ctx *sc = &a->sessions[i];
        if (sc->s && !sc->sub && !sc->ended && !sc->sub_over &&
            fr_moq_session_is_ready(sc->s))
            subscribe(sc);
    }
}

/* Ends the run once every session's track has ended. */
static void on_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)revents;
    for (size_t i = 0; i < a->nctx; i++)
        if (!a->sessions[i].ended)
            return;
    ev_break(loop, EVBREAK_ALL);
}

/* --migrate-every: the endpoint moves to a new port. */
static void on_migrate(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;
    int subscribed = 0, rv;

    (void)loop;
    (void)revents;
    /* Only while a subscription is live: a move after the track ended
     * tests nothing (the relay has let the subscriber go). */
    for (size_t i = 0; i < a->nctx; i++)
        subscribed |= a->sessions[i].sub != NULL;
    if (!subscribed)
        return;
    rv = fr_moq_endpoint_migrate(a->ep);
    if (rv) {
        a->migrate_failures++;
        fprintf(stderr, PROG ": migration failed: %s\n", fr_strerror(rv));
        return;
    }
    a->migrations++;
}

/* --key-update-every: each live session's connection starts a key
 * update (one whose previous update is not acknowledged yet waits). */
static void on_key_update(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    for (size_t i = 0; i < a->nctx; i += a->ntracks) {
        int rv;

        if (!a->sessions[i].sub)
            continue;
        rv = fr_tool_update_key(PROG,
                                fr_moq_session_conn(a->sessions[i].s));
        if (rv > 0)
            a->key_updates++;
        else if (rv < 0)
            a->key_update_failures++;
    }
}

/* Reporting. */

static void print_status(app *a, const char *prefix)
{
    uint64_t objects = 0, corrupt = 0, reconnects = 0;
    uint64_t in_state[SC_DONE + 1] = {0};
    frt_stats_summary sum;

    memset(&sum, 0, sizeof(sum));
    for (size_t i = 0; i < a->nctx; i++) {
        objects += a->sessions[i].objects;
        corrupt += a->sessions[i].corrupt;
        reconnects += a->sessions[i].reconnects;
        if (i % a->ntracks == 0)
            in_state[a->sessions[i].state]++; /* by session */
    }
    if (a->nctx)
        frt_stats_summarize(&a->sessions[0].delay, &sum);
    fprintf(stderr,
            "%s%s: %.1fs sessions up %llu/%llu connecting %llu failed %llu "
            "done %llu",
            prefix, PROG, (double)(fr_quic_ev_now() - a->start) / 1e9,
            (unsigned long long)in_state[SC_UP],
            (unsigned long long)a->o.connections,
            (unsigned long long)in_state[SC_CONNECTING],
            (unsigned long long)in_state[SC_FAILED],
            (unsigned long long)in_state[SC_DONE]);
    if (a->o.reconnect)
        fprintf(stderr, " reconnects %llu", (unsigned long long)reconnects);
    fprintf(stderr,
            " objects %llu corrupt %llu delay(session 0) p50 %lluus "
            "p99 %lluus\n",
            (unsigned long long)objects, (unsigned long long)corrupt,
            (unsigned long long)sum.p50, (unsigned long long)sum.p99);
}

static void on_status(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    print_status(w->data, "");
}

static int write_json(app *a)
{
    FILE *f = fopen(a->o.t.json, "w");
    frt_json j;

    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", a->o.t.json,
                strerror(errno));
        return -1;
    }
    frt_json_init_file(&j, f, FRT_JSON_PRETTY);
    frt_json_obj_begin(&j);
    frt_json_key(&j, "sessions");
    frt_json_arr_begin(&j);
    for (size_t i = 0; i < a->nctx; i++) {
        session_ctx *sc = &a->sessions[i];
        frt_stats_summary sum;
        uint64_t missing, skipped;

        session_missing(sc, &missing, &skipped);
        frt_stats_summarize(&sc->delay, &sum);
        frt_json_obj_begin(&j);
        frt_json_kv_u64(&j, "session", (uint64_t)sc->index);
        frt_json_kv_str(&j, "track", a->labels[sc->track]);
        frt_json_kv_str(&j, "state", state_name(sc->state));
        frt_json_kv_u64(&j, "objects_received", sc->objects);
        frt_json_kv_u64(&j, "objects_missing", missing);
        frt_json_kv_u64(&j, "objects_corrupt", sc->corrupt);
        frt_json_kv_u64(&j, "groups_skipped", skipped);
        frt_json_key(&j, "delay_us");
        frt_json_obj_begin(&j);
        frt_json_kv_u64(&j, "p50", sum.p50);
        frt_json_kv_u64(&j, "p90", sum.p90);
        frt_json_kv_u64(&j, "p99", sum.p99);
        frt_json_kv_u64(&j, "max", sum.max);
        frt_json_obj_end(&j);
        frt_json_kv_u64(&j, "objects_fetched", sc->fetched);
        frt_json_kv_u64(&j, "bytes_received", sc->bytes);
        frt_json_kv_u64(&j, "start_group", sc->start_group);
        frt_json_kv_u64(&j, "connect_ns", sc->connect_ns);
        frt_json_kv_u64(&j, "subscribed_ns", sc->subscribed_ns);
        frt_json_kv_u64(&j, "last_group", sc->max_group);
        frt_json_kv_u64(&j, "track_alias", sc->track_alias);
        frt_json_kv_bool(&j, "track_ended", sc->ended && !sc->error[0]);
        if (sc->sub) {
            fr_moq_sub_progress pr;

            /* Why a subscription is still on. */
            fr_moq_sub_get_progress(sc->sub, &pr);
            frt_json_key(&j, "subscription");
            frt_json_obj_begin(&j);
            frt_json_kv_bool(&j, "publish_done", pr.done_received);
            frt_json_kv_u64(&j, "streams_expected", pr.streams_expected);
            frt_json_kv_u64(&j, "streams_seen", pr.streams_seen);
            frt_json_kv_u64(&j, "streams_open", pr.streams_open);
            frt_json_obj_end(&j);
        }
        if (a->o.reconnect) {
            frt_json_kv_u64(&j, "reconnects", sc->reconnects);
            frt_json_kv_u64(&j, "resubscribes", sc->resubscribes);
            /* Objects checked since the last (re)subscription. */
            frt_json_kv_u64(&j, "objects_last_subscription", sc->nseen);
        }
        if (missing - sc->missing_before) {
            frt_json_key(&j, "first_gap");
            frt_json_obj_begin(&j);
            frt_json_kv_u64(&j, "seq_from", sc->first_gap.seq_from);
            frt_json_kv_u64(&j, "seq_to", sc->first_gap.seq_to);
            frt_json_kv_u64(&j, "group_from", sc->first_gap.group_from);
            frt_json_kv_u64(&j, "group_to", sc->first_gap.group_to);
            frt_json_obj_end(&j);
        }
        frt_json_kv_str(&j, "error", sc->error);
        frt_json_obj_end(&j);
    }
    frt_json_arr_end(&j);
    if (a->o.key_update_ns) {
        frt_json_kv_u64(&j, "key_updates", a->key_updates);
        frt_json_kv_u64(&j, "key_update_failures", a->key_update_failures);
    }
    if (a->o.migrate_ns) {
        frt_json_kv_u64(&j, "migrations", a->migrations);
        frt_json_kv_u64(&j, "migration_failures", a->migrate_failures);
    }
    if (a->o.output)
        frt_json_kv_u64(&j, "frames_written", a->frames_written);
    frt_json_obj_end(&j);
    frt_json_finish(&j);
    fputc('\n', f);
    return fclose(f);
}

/* Returns nonzero if any session saw a problem. */
static int summarize(app *a)
{
    int bad = 0;

    for (size_t i = 0; i < a->nctx; i++) {
        session_ctx *sc = &a->sessions[i];
        uint64_t missing, skipped;
        frt_stats_summary sum;
        char who[560];

        session_missing(sc, &missing, &skipped);
        frt_stats_summarize(&sc->delay, &sum);
        /* "session 3", or "session 3 live/video" with several tracks */
        snprintf(who, sizeof(who), "session %d%s%s", sc->index,
                 a->ntracks > 1 ? " " : "",
                 a->ntracks > 1 ? a->labels[sc->track] : "");
        if (missing - sc->missing_before)
            fprintf(stderr,
                    "summary: %s: the first missing objects are "
                    "%llu-%llu (sequence numbers), after group %llu, before "
                    "group %llu\n",
                    who,
                    (unsigned long long)sc->first_gap.seq_from,
                    (unsigned long long)sc->first_gap.seq_to,
                    (unsigned long long)sc->first_gap.group_from,
                    (unsigned long long)sc->first_gap.group_to);
        if (a->o.connections <= 10 || missing || sc->corrupt || sc->error[0])
            fprintf(stderr,
                    "summary: %s: %llu objects (%llu fetched), "
                    "%llu missing, %llu corrupt, %llu groups skipped, delay "
                    "p50 %lluus p90 %lluus p99 %lluus max %lluus%s%s\n",
                    who, (unsigned long long)sc->objects,
                    (unsigned long long)sc->fetched,
                    (unsigned long long)missing,
                    (unsigned long long)sc->corrupt,
                    (unsigned long long)skipped, (unsigned long long)sum.p50,
                    (unsigned long long)sum.p90, (unsigned long long)sum.p99,
                    (unsigned long long)sum.max, sc->error[0] ? "; " : "",
                    sc->error);
        bad |= missing || sc->corrupt || sc->objects == 0;
    }
    return bad;
}

/* Each session's subscriptions side by side, the first connecting for
 * all. */
static int connect_all(app *a)
{
    for (size_t i = 0; i < a->nctx; i++) {
        session_ctx *sc = &a->sessions[i];
        int rv;

        sc->a = a;
        sc->index = (int)(i / a->ntracks);
        sc->track = i % a->ntracks;
        frt_stats_init(&sc->delay, 0);
        ev_timer_init(&sc->again, on_again, 0.0, 0.0);
        sc->again.data = sc;
        if (sc->track) {
            const session_ctx *first = &a->sessions[i - sc->track];

            sc->s = first->s;
            sc->connect_ns = first->connect_ns;
            continue;
        }
        rv = session_connect(sc);
        if (rv) {
            fprintf(stderr, PROG ": cannot connect to %s: %s\n",
                    a->o.connect, fr_strerror(rv));
            return -1;
        }
    }
    return 0;
}

/* The tracks to take: --subscribe's, or --namespace/--track. */
static int set_tracks(app *a)
{
    const opts *o = &a->o;

    a->ntracks = o->nsubscribe ? o->nsubscribe : 1;
    for (size_t k = 0; k < a->ntracks; k++) {
        const char *full = o->nsubscribe ? o->subscribe[k] : NULL;
        const char *track = o->track;

        if (full) {
            const char *cut = strrchr(full, '/');

            snprintf(a->ns_of[k], sizeof(a->ns_of[k]), "%.*s",
                     (int)(cut - full), full);
            track = cut + 1;
        } else {
            snprintf(a->ns_of[k], sizeof(a->ns_of[k]), "%s", o->ns);
        }
        snprintf(a->labels[k], sizeof(a->labels[k]), "%s/%s", a->ns_of[k],
                 track);
        if (fr_moq_name_set(&a->names[k], a->ns_of[k], track) != 0) {
            fprintf(stderr, PROG ": bad track name '%s'\n", a->labels[k]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static app a;
    fr_moq_callbacks cb;
    fr_moq_settings ms;
    fr_quic_settings qs;
    fr_cert *cert = NULL;
    const char *wt_path;
    struct sockaddr_storage bind;
    socklen_t bindlen;
    ev_signal sigint, sigterm;
    int rv;

    if (parse_args(argc, argv, &a.o))
        return 2;
    if (fr_tool_target(PROG, "--connect", a.o.connect, &a.addr, &a.addrlen,
                       a.host, sizeof(a.host), &wt_path))
        return 2;
    if (set_tracks(&a) != 0)
        return 2;
    if (fr_tool_quic_settings(PROG, &a.o.t.tls, NULL, &qs, &cert))
        return 1;
    if (a.o.stream_window)
        qs.max_stream_data = a.o.stream_window;
    if (a.o.conn_window)
        qs.max_data = a.o.conn_window;
    qs.handshake_timeout = a.o.handshake_ns;
    a.nctx = a.o.connections * a.ntracks;
    a.sessions = calloc(a.nctx, sizeof(*a.sessions));
    if (!a.sessions)
        return 1;
    a.loop = EV_DEFAULT;
    memset(&cb, 0, sizeof(cb));
    cb.session_ready = on_session_ready;
    cb.session_closed = on_session_closed;
    cb.sub_ok = on_sub_ok;
    cb.sub_done = on_sub_done;
    cb.object = on_object;
    cb.fetch_done = on_fetch_done;
    cb.goaway = on_goaway;
    fr_moq_settings_default(&ms);
    ms.log = qs.log;
    ms.implementation = "libfastrelay fr-sub";
    ms.webtransport_path = wt_path;
    fr_tool_any_addr(&a.addr, &bind, &bindlen);
    rv = fr_moq_endpoint_new(&a.ep, a.loop, NULL, &cb, &ms, &qs,
                             (struct sockaddr *)&bind, bindlen, &a);
    if (rv) {
        fprintf(stderr, PROG ": cannot open the QUIC endpoint: %s\n",
                fr_strerror(rv));
        return 1;
    }
    a.start = fr_quic_ev_now();
    if (connect_all(&a) != 0)
        return 1;
    ev_timer_init(&a.retry, on_retry, 0.0, 1.0);
    a.retry.data = &a;
    ev_timer_init(&a.check, on_check, 0.1, 0.1);
    a.check.data = &a;
    ev_timer_start(a.loop, &a.check);
    if (a.o.migrate_ns) {
        double every = (double)a.o.migrate_ns / 1e9;
        ev_timer_init(&a.migrate, on_migrate, every, every);
        a.migrate.data = &a;
        ev_timer_start(a.loop, &a.migrate);
    }
    if (a.o.key_update_ns) {
        double every = (double)a.o.key_update_ns / 1e9;

        ev_timer_init(&a.key_update, on_key_update, every, every);
        a.key_update.data = &a;
        ev_timer_start(a.loop, &a.key_update);
    }
    fr_tool_start_timers(a.loop, &a.o.t, &a.status, on_status, &a.stop,
                         fr_tool_stop_loop, &a);
    fr_tool_signals(a.loop, &sigint, &sigterm);
    ev_signal_init(&a.restart_delay, on_restart_delay, SIGUSR1);
    a.restart_delay.data = &a;
    ev_signal_start(a.loop, &a.restart_delay);
    ev_run(a.loop, 0);
    a.stopping = 1;
    for (size_t i = 0; i < a.nctx; i++)
        ev_timer_stop(a.loop, &a.sessions[i].again);
    fr_tool_stop_status(a.loop, &a.status);

    if (a.o.output) {
        output_flush(&a, 1);
        if (a.ivf_open && frt_ivf_finish(&a.ivf) != 0)
            a.output_failed = 1;
        fprintf(stderr, "summary: %llu frames written to %s\n",
                (unsigned long long)a.frames_written, a.o.output);
    }
    print_status(&a, "summary: ");
    rv = summarize(&a) || a.output_failed;
    if (a.o.t.json && write_json(&a) != 0)
        rv = 1;
    fr_moq_endpoint_shutdown(a.ep, 0, "subscriber done");
    ev_run(a.loop, EVRUN_NOWAIT);
    fr_moq_endpoint_del(a.ep);
    for (size_t i = 0; i < a.nctx; i++) {
        free(a.sessions[i].seen);
        frt_stats_free(&a.sessions[i].delay);
    }
    free(a.sessions);
    free(a.frames);
    fr_cert_del(cert);
    return rv;
}
