/*
 * fr-origin: a MoQT publisher. It publishes synthetic video (key frame
 * first in every group, at high priority) or a real IVF file frame by
 * frame, either to a relay it connects to (PUBLISH_NAMESPACE) or to relays
 * that connect to it.
 *
 * Each group goes out as two subgroups: subgroup 0 holds the key frame at
 * publisher priority 0, subgroup 1 the other frames at 128, so congestion
 * can drop delta frames whole while key frames go through
 * (--one-subgroup: the whole group in subgroup 0, for relays that take
 * no other).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/cache.h>

#include "cli.h"
#include "errors.h"
#include "ivf.h"
#include "json.h"
#include "media.h"
#include "tool.h"
#include "video.h"

#define PROG "fr-origin"
#define MAX_TRACKS 16
#define PRIO_KEY 0
#define PRIO_DELTA 128

typedef struct opts {
    const char *connect;
    const char *listen;
    const char *ns;
    const char *tracks[MAX_TRACKS];
    int ntracks;
    uint64_t fps, gop, bitrate;
    const char *input;
    int push;                /* offer tracks with PUBLISH */
    int one_subgroup;        /* --one-subgroup */
    int on_demand;           /* --on-demand */
    uint64_t key_update_ns;  /* --key-update-every, 0: never */
    int reconnect;           /* --reconnect */
    fr_tool_opts t;
} opts;

typedef struct track track;

/* One subscription to one of our tracks. */
typedef struct pubctx {
    track *t;
    fr_moq_pub *pub;
    fr_moq_subgroup *sg;     /* open subgroup, if any */
    uint64_t sg_group;
    uint64_t sg_id;
    int skip_group;          /* a write failed: wait for the next group */
    int has_joining;
    fr_moq_location joining; /* largest object when it subscribed */
    int pushed;              /* offered with PUBLISH (--publish) */
    int accepted;            /* ... and the relay took it */
    struct pubctx *next;
} pubctx;

struct track {
    struct app *a;
    fr_moq_name name;
    uint64_t alias;
    frt_synth synth;
    pubctx *pubs;
    fr_moq_cache *cache;     /* recent groups, for FETCH */
    int has_largest;
    fr_moq_location largest;
    uint64_t group;          /* IVF: current group */
    uint64_t object;         /* IVF: next object ID in the group */
};

typedef struct app {
    opts o;
    struct ev_loop *loop;
    fr_moq_endpoint *ep;
    fr_moq_session *session; /* --connect */
    struct sockaddr_storage relay; /* ... its address */
    socklen_t relay_len;
    char relay_host[64];
    track tracks[MAX_TRACKS];
    frt_ivf_reader ivf;
    int ivf_open;
    uint64_t seq;
    uint8_t *buf;            /* object payload */
    size_t bufcap;
    uint8_t *body;           /* IVF: the body wrapped into buf */
    size_t bodycap;
    struct {                 /* IVF: the frame after the one being sent */
        uint8_t *data;
        size_t cap, len;
        uint64_t pts;
        int key;
        int valid;           /* 0: none read yet, or the clip ended */
    } ahead;
    ev_timer tick, status, stop, drain, key_update;
    ev_timer again;          /* --reconnect: the next attempt */
    unsigned attempts;       /* ... since the relay last took us */
    uint64_t reconnects;
    uint64_t key_updates, key_update_failures;
    fr_tstamp start;
    int started;
    int ending;
    int failed;
    uint64_t objects_sent, bytes_sent, groups, subscribers,
        subgroups_reset, frames_read;
} app;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fr-origin (--connect ADDR:PORT | --listen ADDR:PORT) "
            "[options]\n"
            "\n"
            "A MoQT (draft-18) publisher of synthetic or real video. Every\n"
            "object carries a sequence number, a send timestamp and a\n"
            "checksum so subscribers can measure delay and verify it.\n"
            "\n"
            "  --connect ADDR:PORT   publish to this relay\n"
            FR_TOOL_TARGET_USAGE
            "  --listen ADDR:PORT    let relays connect and subscribe\n"
            "  --namespace NS        track namespace, fields split by '/'\n"
            "                        (default live)\n"
            "  --track NAME          a track to publish (repeatable; default\n"
            "                        video)\n"
            "  --fps N               frames per second (default 30)\n"
            "  --gop N               frames per group (default 30)\n"
            "  --bitrate R           bits per second, e.g. 2M (default 2M)\n"
            "  --input FILE.ivf      publish this VP8/VP9/AV1 file instead\n"
            "                        (one track; starts with the first\n"
            "                        subscriber; groups start at key frames)\n"
            "  --publish             with --connect: push the tracks with\n"
            "                        PUBLISH instead of announcing the\n"
            "                        namespace and waiting for SUBSCRIBE\n"
            "  --one-subgroup        each group as one subgroup (0) at the\n"
            "                        key frame's priority, instead of the key\n"
            "                        frame alone in subgroup 0 and the rest in\n"
            "                        1 (for relays that take only subgroup 0,\n"
            "                        as moq-relay 0.17)\n"
            "  --on-demand           synthetic video starts with the first\n"
            "                        subscriber, as --input does (its first\n"
            "                        group is then group 0)\n"
            FR_TOOL_KEY_UPDATE_USAGE
            "  --reconnect           with --connect: a connection to the\n"
            "                        relay that is lost (or cannot be made)\n"
            "                        is made again, backing off up to 2 s,\n"
            "                        and the namespace announced (or the\n"
            "                        tracks pushed) again; media goes on\n"
            "                        meanwhile\n"
            "  --duration S          stop publishing after S seconds\n"
            "                        (default: until SIGINT/SIGTERM or the\n"
            "                        end of --input)\n"
            FR_TOOL_TLS_USAGE FR_TOOL_USAGE);
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"namespace", required_argument, NULL, 'n'},
        {"track", required_argument, NULL, 't'},
        {"fps", required_argument, NULL, 'f'},
        {"gop", required_argument, NULL, 'g'},
        {"bitrate", required_argument, NULL, 'b'},
        {"input", required_argument, NULL, 'i'},
        {"key-update-every", required_argument, NULL, 'U'},
        {"publish", no_argument, NULL, 'P'},
        {"one-subgroup", no_argument, NULL, '1'},
        {"on-demand", no_argument, NULL, 'O'},
        {"reconnect", no_argument, NULL, 'R'},
        FR_TOOL_OPTIONS,
        {NULL, 0, NULL, 0}};
    char err[256];
    int ch;

    o->ns = "live";
    o->fps = 30;
    o->gop = 30;
    o->bitrate = 2000000;
    fr_tool_opts_init(&o->t);
    while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->connect = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'n': o->ns = optarg; break;
        case 't':
            if (o->ntracks == MAX_TRACKS)
                return fr_tool_fail(PROG, "at most 16 --track");
            o->tracks[o->ntracks++] = optarg;
            break;
        case 'f':
            if (frt_cli_parse_uint("--fps", optarg, 1, FRT_SYNTH_MAX_FPS,
                                   &o->fps, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'g':
            if (frt_cli_parse_uint("--gop", optarg, 1, FRT_SYNTH_MAX_GOP,
                                   &o->gop, err, sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'b':
            if (frt_cli_parse_bitrate("--bitrate", optarg, &o->bitrate, err,
                                      sizeof(err)))
                return fr_tool_fail(PROG, err);
            break;
        case 'i': o->input = optarg; break;
        case 'U':
            if (fr_tool_duration(PROG, "--key-update-every", optarg, 0,
                                 &o->key_update_ns))
                return -1;
            break;
        case 'P': o->push = 1; break;
        case '1': o->one_subgroup = 1; break;
        case 'O': o->on_demand = 1; break;
        case 'R': o->reconnect = 1; break;
        default:
            if (fr_tool_option(PROG, &o->t, ch, optarg, usage) <= 0)
                return -1;
        }
    }
    if (fr_tool_no_args(PROG, argc, argv))
        return -1;
    if (!o->connect == !o->listen)
        return fr_tool_fail(PROG, "give exactly one of --connect or --listen");
    if (o->ntracks == 0)
        o->tracks[o->ntracks++] = "video";
    if (o->input && o->ntracks > 1)
        return fr_tool_fail(PROG, "--input publishes one track");
    if (o->push && !o->connect)
        return fr_tool_fail(PROG, "--publish needs --connect");
    if (o->reconnect && !o->connect)
        return fr_tool_fail(PROG, "--reconnect needs --connect");
    return fr_tool_tls_check(PROG, &o->t.tls, o->listen != NULL,
                             o->connect != NULL);
}

/* Publishing. */

static void pub_drop_subgroup(pubctx *pc, int reset)
{
    if (!pc->sg)
        return;
    if (reset) {
        fr_moq_subgroup_reset(pc->sg, FR_MOQ_STREAM_TOO_FAR_BEHIND);
        pc->t->a->subgroups_reset++;
    } else {
        fr_moq_subgroup_close(pc->sg);
    }
    pc->sg = NULL;
}

/* Writes one object to one subscription, opening its subgroup first. */
static void pub_write(pubctx *pc, uint64_t group, uint64_t object,
                      uint64_t subgroup, uint8_t prio, int end_of_group,
                      const uint8_t *payload, size_t len)
{
    app *a = pc->t->a;
    fr_moq_subgroup_info info;

    if (pc->sg && (pc->sg_group != group || pc->sg_id != subgroup))
        pub_drop_subgroup(pc, 0);
    if (object == 0)
        pc->skip_group = 0;
    if (pc->skip_group || !fr_moq_pub_params(pc->pub)->forward)
        return;
    if (!pc->sg) {
        memset(&info, 0, sizeof(info));
        info.group = group;
        info.subgroup = subgroup;
        info.publisher_priority = prio;
        info.end_of_group = end_of_group;
        info.first_object = object == subgroup;
        if (fr_moq_pub_open_subgroup(pc->pub, &info, &pc->sg) != 0) {
            pc->skip_group = 1;
            return;
        }
        pc->sg_group = group;
        pc->sg_id = subgroup;
    }
    if (fr_moq_subgroup_write(pc->sg, object, payload, len) != 0) {
        /* The subscriber fell behind: drop the rest of the group. */
        pub_drop_subgroup(pc, 1);
        pc->skip_group = 1;
        return;
    }
    a->objects_sent++;
    a->bytes_sent += len;
}

static int ensure(uint8_t **buf, size_t *cap, size_t len)
{
    if (len <= *cap)
        return 0;
    free(*buf);
    *buf = malloc(len);
    *cap = *buf ? len : 0;
    return *buf ? 0 : -1;
}

/* Publishes one object of track `t` to every subscriber. */
static void publish(track *t, uint64_t group, uint64_t object, int key,
                    int last_in_group, const uint8_t *payload, size_t len)
{
    int one = t->a->o.one_subgroup;
    uint64_t subgroup = key || one ? 0 : 1;
    uint8_t prio = key || one ? PRIO_KEY : PRIO_DELTA;
    fr_moq_object obj;

    memset(&obj, 0, sizeof(obj));
    obj.loc.group = group;
    obj.loc.object = object;
    obj.subgroup = subgroup;
    obj.publisher_priority = prio;
    obj.payload = payload;
    obj.payload_len = len;
    fr_moq_cache_add(t->cache, &obj);
    for (pubctx *pc = t->pubs; pc; pc = pc->next) {
        pub_write(pc, group, object, subgroup, prio, last_in_group, payload,
                  len);
        /* A group's key frame is a subgroup of its own. */
        if ((key && !one) || last_in_group)
            pub_drop_subgroup(pc, 0);
    }
    if (object == 0)
        t->a->groups++;
    t->has_largest = 1;
    t->largest.group = group;
    t->largest.object = object;
}

static void tick_synthetic(app *a)
{
    for (int i = 0; i < a->o.ntracks; i++) {
        track *t = &a->tracks[i];
        frt_synth_frame f;
        frt_obj_meta m;

        frt_synth_next(&t->synth, &f);
        if (ensure(&a->buf, &a->bufcap, f.size) != 0)
            return;
        memset(&m, 0, sizeof(m));
        m.seq = f.seq;
        m.send_ts_ns = frt_media_now_ns();
        m.group_id = f.group_id;
        m.object_id = f.object_id;
        m.flags = f.key ? FRT_MEDIA_KEY : 0;
        frt_media_fill(a->buf, f.size, &m);
        publish(t, f.group_id, f.object_id, f.key,
                f.object_id + 1 == a->o.gop && !f.key, a->buf, f.size);
    }
}

static void end_media(app *a);

/* Reads the clip's next frame into a->ahead (a copy: the reader reuses
 * its buffer). The first frame starts a group whatever its kind. */
static void read_ahead(app *a)
{
    const uint8_t *frame;
    size_t len;
    int rv = frt_ivf_read_frame(&a->ivf, &frame, &len, &a->ahead.pts);

    a->ahead.valid = 0;
    if (rv != 1) {
        if (rv < 0)
            fprintf(stderr, PROG ": %s: %s\n", a->o.input,
                    frt_ivf_reader_errmsg(&a->ivf));
        return;
    }
    if (ensure(&a->ahead.data, &a->ahead.cap, len ? len : 1) != 0)
        return;
    memcpy(a->ahead.data, frame, len);
    a->ahead.len = len;
    a->ahead.key = frt_ivf_is_key_frame(a->ivf.hdr.fourcc, frame, len) == 1 ||
                   a->frames_read == 0;
    a->ahead.valid = 1;
    a->frames_read++;
}

/* Sends the frame read ahead and reads the one after it: a group's last
 * frame is known as such (the next is a key frame, or there is none), so
 * it ends its subgroup's stream, not the next group's first packet. */
static void tick_ivf(app *a)
{
    track *t = &a->tracks[0];
    size_t body;
    frt_obj_meta m;
    int key;

    if (a->frames_read == 0)
        read_ahead(a);
    if (!a->ahead.valid) {
        end_media(a);
        return;
    }
    key = a->ahead.key;
    if (key && a->seq > 0) {
        t->group++;
        t->object = 0;
    }
    body = fr_video_body_len(a->ahead.len, key);
    if (ensure(&a->buf, &a->bufcap, FRT_MEDIA_HDR_LEN + body) != 0 ||
        ensure(&a->body, &a->bodycap, body) != 0)
        return;
    memset(&m, 0, sizeof(m));
    m.seq = a->seq++;
    m.send_ts_ns = frt_media_now_ns();
    m.group_id = t->group;
    m.object_id = (uint32_t)t->object;
    m.flags = key ? FRT_MEDIA_KEY : 0;
    fr_video_body_write(a->body, a->ahead.pts, &a->ivf.hdr, a->ahead.data,
                        a->ahead.len, key);
    frt_media_wrap(a->buf, a->bufcap, &m, a->body, body);
    read_ahead(a);
    publish(t, t->group, t->object, key, !a->ahead.valid || a->ahead.key,
            a->buf, FRT_MEDIA_HDR_LEN + body);
    t->object++;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;

    (void)loop;
    (void)revents;
    if (a->ending)
        return;
    if (a->o.input)
        tick_ivf(a);
    else
        tick_synthetic(a);
}

static void start_media(app *a)
{
    double iv = 1.0 / (double)a->o.fps;

    if (a->started)
        return;
    a->started = 1;
    if (a->ivf_open && a->ivf.hdr.tb_num && a->ivf.hdr.tb_den &&
        a->ivf.hdr.tb_den / a->ivf.hdr.tb_num <= 240)
        iv = (double)a->ivf.hdr.tb_num / (double)a->ivf.hdr.tb_den;
    ev_timer_init(&a->tick, on_tick, 0.0, iv);
    a->tick.data = a;
    ev_timer_start(a->loop, &a->tick);
}

/* Ending: PUBLISH_DONE to everyone, wait until the data is acknowledged,
 * then close the sessions. */
static void on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;
    fr_quic_endpoint *qep = fr_moq_endpoint_quic(a->ep);
    size_t queued = 0;

    (void)revents;
    for (fr_quic_conn *c = fr_quic_endpoint_next_conn(qep, NULL); c;
         c = fr_quic_endpoint_next_conn(qep, c))
        queued += fr_quic_conn_send_buffered(c);
    if (queued == 0 || fr_quic_ev_now() - a->start > a->o.t.duration_ns +
                                                         10 * FR_SECONDS)
        ev_break(loop, EVBREAK_ALL);
}

static void end_media(app *a)
{
    if (a->ending)
        return;
    a->ending = 1;
    ev_timer_stop(a->loop, &a->tick);
    for (int i = 0; i < a->o.ntracks; i++)
        while (a->tracks[i].pubs)
            fr_moq_pub_done(a->tracks[i].pubs->pub, FR_MOQ_DONE_TRACK_ENDED,
                            "end of media");
    ev_timer_init(&a->drain, on_drain, 0.05, 0.05);
    a->drain.data = a;
    ev_timer_start(a->loop, &a->drain);
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    end_media(w->data);
}

/* Session callbacks. */

static track *track_of(app *a, const fr_moq_name *name)
{
    fr_moq_name want;

    for (int i = 0; i < a->o.ntracks; i++) {
        want = a->tracks[i].name;
        if (want.nfields != name->nfields ||
            want.track.len != name->track.len ||
            memcmp(want.track.data, name->track.data, name->track.len) != 0)
            continue;
        size_t f = 0;
        while (f < want.nfields && want.ns[f].len == name->ns[f].len &&
               memcmp(want.ns[f].data, name->ns[f].data, want.ns[f].len) == 0)
            f++;
        if (f == want.nfields)
            return &a->tracks[i];
    }
    return NULL;
}

static void track_info(const track *t, fr_moq_track_info *info)
{
    memset(info, 0, sizeof(*info));
    info->track_alias = t->alias;
    info->has_largest = t->has_largest;
    info->largest = t->largest;
    info->group_order = FR_MOQ_ORDER_ASCENDING;
    info->publisher_priority = PRIO_DELTA;
}

/* A new subscription to `t` gets every object after the largest one; a
 * joining FETCH gets it the start of the current group. */
static void pub_add(track *t, pubctx *pc)
{
    pc->t = t;
    pc->has_joining = t->has_largest;
    pc->joining = t->largest;
    pc->next = t->pubs;
    t->pubs = pc;
    t->a->subscribers++;
    if (t->a->o.input || t->a->o.on_demand)
        start_media(t->a);
}

static void on_subscribe(fr_moq_session *s, uint64_t req,
                         const fr_moq_name *name, const fr_moq_sub_params *p,
                         void *ud)
{
    app *a = ud;
    track *t = track_of(a, name);
    fr_moq_track_info info;
    pubctx *pc;

    (void)p;
    if (!t || a->ending) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST,
                      t ? "track ended" : "no such track");
        return;
    }
    pc = calloc(1, sizeof(*pc));
    if (!pc) {
        fr_moq_reject(s, req, FR_MOQ_REQ_INTERNAL_ERROR, "out of memory");
        return;
    }
    track_info(t, &info);
    if (fr_moq_accept_subscribe(s, req, &info, &pc->pub, pc) != 0) {
        free(pc);
        return;
    }
    pub_add(t, pc);
}

/* --publish: the relay's first answer accepts the track; later ones are
 * its subscribers' changes. */
static void on_pub_updated(fr_moq_pub *pub, const fr_moq_sub_params *p,
                           void *ud)
{
    pubctx *pc = fr_moq_pub_get_user_data(pub);
    app *a = ud;

    (void)p;
    if (!pc || !pc->pushed || pc->accepted)
        return;
    pc->accepted = 1;
    fprintf(stderr, PROG ": track %s/%s accepted\n", a->o.ns,
            a->o.tracks[pc->t - a->tracks]);
}

static void on_pub_done(fr_moq_pub *pub, void *ud)
{
    pubctx *pc = fr_moq_pub_get_user_data(pub), **pp;

    (void)ud;
    if (!pc)
        return;
    for (pp = &pc->t->pubs; *pp && *pp != pc; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = pc->next;
    free(pc);
}

static void on_track_status(fr_moq_session *s, uint64_t req,
                            const fr_moq_name *name, void *ud)
{
    track *t = track_of(ud, name);
    fr_moq_track_info info;

    if (!t) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST, "no such track");
        return;
    }
    memset(&info, 0, sizeof(info));
    info.has_largest = t->has_largest;
    info.largest = t->largest;
    info.group_order = FR_MOQ_ORDER_ASCENDING;
    info.publisher_priority = PRIO_DELTA;
    fr_moq_accept_track_status(s, req, &info);
}

/* --publish: offers every track to the relay. */
static void push_tracks(app *a, fr_moq_session *s)
{
    for (int i = 0; i < a->o.ntracks; i++) {
        track *t = &a->tracks[i];
        fr_moq_track_info info;
        pubctx *pc = calloc(1, sizeof(*pc));

        track_info(t, &info);
        if (!pc || fr_moq_publish(s, &t->name, &info, &pc->pub, pc) != 0) {
            free(pc);
            fprintf(stderr, PROG ": cannot publish a track\n");
            a->failed = 1;
            ev_break(a->loop, EVBREAK_ALL);
            return;
        }
        pc->pushed = 1;
        pub_add(t, pc);
    }
}

static void on_session_ready(fr_moq_session *s, void *ud)
{
    app *a = ud;
    fr_moq_name ns = a->tracks[0].name;

    if (s != a->session)
        return;
    if (a->o.push) {
        push_tracks(a, s);
        return;
    }
    ns.track.len = 0;
    if (fr_moq_publish_namespace(s, &ns, NULL) != 0) {
        fprintf(stderr, PROG ": cannot announce the namespace\n");
        a->failed = 1;
        ev_break(a->loop, EVBREAK_ALL);
    }
}

static void on_namespace_answer(fr_moq_session *s, uint64_t req, int ok,
                                uint64_t code, const char *reason, void *ud)
{
    app *a = ud;

    (void)s;
    (void)req;
    if (ok) {
        fprintf(stderr, PROG ": namespace %s accepted\n", a->o.ns);
        a->attempts = 0;
        return;
    }
    fprintf(stderr, PROG ": the relay refused namespace %s: %s (0x%llx)\n",
            a->o.ns, reason ? reason : "", (unsigned long long)code);
    a->failed = 1;
    ev_break(a->loop, EVBREAK_ALL);
}

static void on_session_closed(fr_moq_session *s, uint64_t code,
                              const char *reason, void *ud)
{
    app *a = ud;

    (void)code;
    if (s != a->session)
        return;
    a->session = NULL;
    if (a->ending)
        return;
    fprintf(stderr, PROG ": connection to the relay ended: %s%s\n",
            reason ? reason : "closed",
            a->o.reconnect ? "; connecting again" : "");
    if (a->o.reconnect) {
        fr_tool_retry_after(a->loop, &a->again, a->attempts++);
        return;
    }
    a->failed = 1;
    ev_break(a->loop, EVBREAK_ALL);
}

/* --reconnect: the next attempt to reach the relay. */
static void on_again(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;
    int rv;

    (void)loop;
    (void)revents;
    if (a->session || a->ending)
        return;
    a->reconnects++;
    rv = fr_moq_endpoint_connect(a->ep, (struct sockaddr *)&a->relay,
                                 a->relay_len, a->relay_host, &a->session);
    if (rv) {
        fprintf(stderr, PROG ": cannot connect to %s: %s\n", a->o.connect,
                fr_strerror(rv));
        fr_tool_retry_after(a->loop, &a->again, a->attempts++);
    }
}

/* The relay is going away: it closes the session soon (then --reconnect
 * connects again, to the same address: fr-origin takes no new URI). */
static void on_goaway(fr_moq_session *s, const char *new_uri,
                      uint64_t timeout_ms, void *ud)
{
    app *a = ud;

    (void)new_uri;
    if (s == a->session && !a->ending)
        fprintf(stderr, PROG ": the relay is going away (within %llu ms)\n",
                (unsigned long long)timeout_ms);
}

static int fetch_one(const fr_moq_object *obj, void *f)
{
    return fr_moq_fetch_write(f, obj) != 0;
}

static void on_fetch(fr_moq_session *s, uint64_t req,
                     const fr_moq_fetch_request *f, void *ud)
{
    track *t = track_of(ud, &f->name);
    fr_moq_location start = f->start, end = f->end;
    fr_moq_fetch *out;

    if (f->joining) {
        pubctx *pc = fr_moq_pub_get_user_data(f->joining_pub);
        if (!pc || !pc->has_joining) {
            fr_moq_reject(s, req, FR_MOQ_REQ_INVALID_RANGE,
                          "nothing published before the subscription");
            return;
        }
        t = pc->t;
        fr_moq_joining_range(f, pc->joining, &start, &end);
    }
    if (!t || !t->has_largest) {
        fr_moq_reject(s, req, FR_MOQ_REQ_DOES_NOT_EXIST, "nothing published");
        return;
    }
    if (end.group > t->largest.group) {
        end.group = t->largest.group;
        end.object = t->largest.object + 1;
    }
    if (!fr_moq_cache_covers(t->cache, start, end)) {
        fr_moq_reject(s, req, FR_MOQ_REQ_INVALID_RANGE,
                      "range no longer held");
        return;
    }
    if (fr_moq_accept_fetch(s, req, end, 0, &out) != 0)
        return;
    fr_moq_cache_each(t->cache, start, end, f->group_order, fetch_one, out);
    fr_moq_fetch_close(out);
}

/* Reporting. */

static void print_status(app *a, const char *prefix)
{
    fprintf(stderr,
            "%s%s: %.1fs subscribers %llu groups %llu objects %llu "
            "(%llu bytes) reset %llu\n",
            prefix, PROG, (double)(fr_quic_ev_now() - a->start) / 1e9,
            (unsigned long long)a->subscribers,
            (unsigned long long)a->groups,
            (unsigned long long)a->objects_sent,
            (unsigned long long)a->bytes_sent,
            (unsigned long long)a->subgroups_reset);
}

static void on_status(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    print_status(w->data, "");
}

/* --key-update-every: every connection starts a key update (one whose
 * previous update is not acknowledged yet waits). */
static void on_key_update(struct ev_loop *loop, ev_timer *w, int revents)
{
    app *a = w->data;
    fr_quic_endpoint *qep = fr_moq_endpoint_quic(a->ep);

    (void)loop;
    (void)revents;
    for (fr_quic_conn *c = fr_quic_endpoint_next_conn(qep, NULL); c;
         c = fr_quic_endpoint_next_conn(qep, c)) {
        int rv = fr_tool_update_key(PROG, c);

        if (rv > 0)
            a->key_updates++;
        else if (rv < 0)
            a->key_update_failures++;
    }
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
    frt_json_kv_u64(&j, "objects_sent", a->objects_sent);
    frt_json_kv_u64(&j, "bytes_sent", a->bytes_sent);
    frt_json_kv_u64(&j, "groups", a->groups);
    frt_json_kv_u64(&j, "subscribers", a->subscribers);
    frt_json_kv_u64(&j, "subgroups_reset", a->subgroups_reset);
    frt_json_kv_u64(&j, "frames_read", a->frames_read);
    if (a->o.reconnect)
        frt_json_kv_u64(&j, "reconnects", a->reconnects);
    if (a->o.key_update_ns) {
        frt_json_kv_u64(&j, "key_updates", a->key_updates);
        frt_json_kv_u64(&j, "key_update_failures", a->key_update_failures);
    }
    frt_json_kv_double(&j, "seconds",
                       (double)(fr_quic_ev_now() - a->start) / 1e9);
    frt_json_obj_end(&j);
    frt_json_finish(&j);
    fputc('\n', f);
    return fclose(f);
}

static int setup_tracks(app *a)
{
    for (int i = 0; i < a->o.ntracks; i++) {
        track *t = &a->tracks[i];
        t->a = a;
        t->alias = (uint64_t)i + 1;
        if (fr_moq_name_set(&t->name, a->o.ns, a->o.tracks[i]) != 0) {
            fprintf(stderr, PROG ": bad --namespace '%s' or --track '%s'\n",
                    a->o.ns, a->o.tracks[i]);
            return -1;
        }
        if (fr_moq_cache_new(&t->cache, 4, 64 * 1024 * 1024) != 0)
            return -1;
        if (frt_synth_init(&t->synth, (uint32_t)a->o.fps, (uint32_t)a->o.gop,
                           a->o.bitrate) != 0) {
            fprintf(stderr, PROG ": --bitrate too low for --fps/--gop\n");
            return -1;
        }
    }
    if (a->o.input) {
        if (frt_ivf_open(&a->ivf, a->o.input) != 0) {
            fprintf(stderr, PROG ": %s: %s\n", a->o.input,
                    frt_ivf_reader_errmsg(&a->ivf));
            return -1;
        }
        a->ivf_open = 1;
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
    struct sockaddr_storage addr, bind;
    socklen_t addrlen, bindlen;
    char host[64];
    const char *wt_path = NULL;
    ev_signal sigint, sigterm;
    int rv;

    if (parse_args(argc, argv, &a.o))
        return 2;
    if (a.o.listen ? fr_tool_addr(PROG, "--listen", a.o.listen, &addr,
                                  &addrlen, host, sizeof(host))
                   : fr_tool_target(PROG, "--connect", a.o.connect, &addr,
                                    &addrlen, host, sizeof(host), &wt_path))
        return 2;
    if (setup_tracks(&a))
        return 1;
    if (fr_tool_quic_settings(PROG, &a.o.t.tls, a.o.listen ? host : NULL, &qs,
                              &cert))
        return 1;
    a.loop = EV_DEFAULT;
    memset(&cb, 0, sizeof(cb));
    cb.session_ready = on_session_ready;
    cb.session_closed = on_session_closed;
    cb.subscribe = on_subscribe;
    cb.pub_updated = on_pub_updated;
    cb.pub_done = on_pub_done;
    cb.fetch = on_fetch;
    cb.track_status = on_track_status;
    cb.namespace_answer = on_namespace_answer;
    cb.goaway = on_goaway;
    fr_moq_settings_default(&ms);
    ms.log = qs.log;
    ms.implementation = "libfastrelay fr-origin";
    ms.webtransport_path = wt_path;
    ms.max_queued = 8 * 1024 * 1024;
    if (a.o.listen) {
        bind = addr;
        bindlen = addrlen;
    } else {
        fr_tool_any_addr(&addr, &bind, &bindlen);
    }
    rv = fr_moq_endpoint_new(&a.ep, a.loop, NULL, &cb, &ms, &qs,
                             (struct sockaddr *)&bind, bindlen, &a);
    if (rv) {
        fprintf(stderr, PROG ": cannot open the QUIC endpoint: %s\n",
                fr_strerror(rv));
        return 1;
    }
    if (a.o.connect) {
        a.relay = addr;
        a.relay_len = addrlen;
        snprintf(a.relay_host, sizeof(a.relay_host), "%s", host);
        ev_init(&a.again, on_again);
        a.again.data = &a;
        rv = fr_moq_endpoint_connect(a.ep, (struct sockaddr *)&addr, addrlen,
                                     host, &a.session);
        if (rv) {
            fprintf(stderr, PROG ": cannot connect to %s: %s\n", a.o.connect,
                    fr_strerror(rv));
            return 1;
        }
    } else {
        fprintf(stderr, PROG ": listening on %s\n", a.o.listen);
    }
    a.start = fr_quic_ev_now();
    if (!a.o.input && !a.o.on_demand)
        start_media(&a);
    if (a.o.key_update_ns) {
        double every = (double)a.o.key_update_ns / 1e9;

        ev_timer_init(&a.key_update, on_key_update, every, every);
        a.key_update.data = &a;
        ev_timer_start(a.loop, &a.key_update);
    }
    fr_tool_start_timers(a.loop, &a.o.t, &a.status, on_status, &a.stop,
                         on_stop, &a);
    fr_tool_signals(a.loop, &sigint, &sigterm);
    ev_run(a.loop, 0);
    fr_tool_stop_status(a.loop, &a.status);

    print_status(&a, "summary: ");
    rv = a.failed;
    if (a.o.t.json && write_json(&a) != 0)
        rv = 1;
    fr_moq_endpoint_shutdown(a.ep, 0, "origin done");
    ev_run(a.loop, EVRUN_NOWAIT);
    fr_moq_endpoint_del(a.ep);
    fr_cert_del(cert);
    if (a.ivf_open)
        frt_ivf_close(&a.ivf);
    free(a.buf);
    free(a.body);
    free(a.ahead.data);
    for (int i = 0; i < a.o.ntracks; i++)
        fr_moq_cache_del(a.tracks[i].cache);
    return rv;
}
