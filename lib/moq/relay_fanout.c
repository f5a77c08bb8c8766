/*
 * The relay core's fan-out: each upstream subgroup stream to the
 * downstream subscriptions that want it, as raw bytes (on a stream of
 * their own, or the kernel's) or object by object for late joiners.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "relay_internal.h"

static relay_subgroup *subgroup_find(relay_track *t, uint64_t stream)
{
    for (relay_subgroup *g = t->subgroups; g; g = g->next)
        if (g->stream == stream)
            return g;
    return NULL;
}

static int down_wants(const relay_down *d, uint64_t group, uint64_t object)
{
    const fr_moq_sub_params *p = fr_moq_pub_params(d->pub);

    if (!p->forward)
        return 0;
    if (group < d->start.group ||
        (group == d->start.group && object < d->start.object))
        return 0;
    return p->filter != FR_MOQ_FILTER_ABSOLUTE_RANGE || p->end_group == 0 ||
           group <= p->end_group;
}

/* An entry without a stream: `d` skips this subgroup. */
static relay_out *out_skip(relay_subgroup *rsg, relay_down *d)
{
    relay_out *o = calloc(1, sizeof(*o));

    if (o) {
        o->down = d;
        o->next = rsg->outs;
        rsg->outs = o;
    }
    return o;
}

/* Opens a downstream copy of `rsg` for `d`. A subscriber too far behind
 * to take it keeps an entry without a stream: it skips this subgroup. */
static void out_open(relay_subgroup *rsg, relay_down *d, int raw)
{
    relay_out *o = out_skip(rsg, d);
    fr_relay *r = d->t->r;

    if (!o)
        return;
    o->raw = raw;
    if (fr_moq_pub_open_subgroup(d->pub, &rsg->info, &o->sg) != 0) {
        o->sg = NULL;
        r->stats.subgroups_reset++;
        return;
    }
    /* A whole subgroup began after the subscriber joined: the kernel could
     * have sent it (unless it cannot serve the subscriber at all). The
     * rest of one in flight comes from the cache. */
    fr_moq_stream_set_copy_class(down_session(d), o->sg->stream_id,
                                 !raw              ? FR_COPY_REPLAY
                                 : d->never_kernel ? FR_COPY_NONE
                                                   : FR_COPY_ELIGIBLE);
    r->stats.subgroups_forwarded++;
}

/* A write to a subscriber failed (it fell behind, or left): give up on the
 * whole subgroup for it, and do not come back to it. */
static void out_fail(relay_out *o)
{
    fr_moq_subgroup_reset(o->sg, FR_MOQ_STREAM_TOO_FAR_BEHIND);
    o->sg = NULL;
    o->down->t->r->stats.subgroups_reset++;
}

/* The header of upstream stream `stream` as the kernel forwards it: the
 * bytes as they came, the track named by its downstream alias. */
static int kernel_header(fr_moq_session *up, uint64_t stream,
                         const relay_track *t, uint8_t *hdr, size_t cap,
                         size_t *hlen)
{
    const uint8_t *raw;

    if (fr_moq_subgroup_raw_header(up, stream, &raw, hlen) != 0 ||
        *hlen > cap)
        return -1;
    memcpy(hdr, raw, *hlen);
    return fr_moq_subgroup_header_set_alias(hdr, *hlen, t->alias) ? -1 : 0;
}

/* Takes kernel stream `ks`, on which the kernel forwards `rsg` to `d`: the
 * relay writes the bytes the kernel sends there (the upstream stream's,
 * header included, with the downstream alias), for the splice layer to
 * register the kernel's packets. */
static void out_open_kernel(relay_subgroup *rsg, relay_down *d, int64_t ks,
                            fr_moq_session *up)
{
    relay_out *o = calloc(1, sizeof(*o));
    fr_relay *r = d->t->r;
    uint8_t hdr[FR_MOQ_SG_HDR_RAW_MAX];
    size_t hlen;

    if (!o ||
        kernel_header(up, rsg->stream, d->t, hdr, sizeof(hdr), &hlen) != 0 ||
        fr_moq_pub_adopt_subgroup(d->pub, ks, &rsg->info, &o->sg) != 0) {
        /* Without its bytes the kernel's packets cannot be registered:
         * the stream goes. */
        down_session(d)->tp->reset(down_session(d), ks,
                                   FR_MOQ_STREAM_INTERNAL_ERROR);
        free(o);
        r->stats.subgroups_reset++;
        return;
    }
    o->down = d;
    o->raw = 1;
    o->next = rsg->outs;
    rsg->outs = o;
    r->stats.subgroups_forwarded++;
    r->stats.subgroups_kernel++;
    if (fr_moq_subgroup_write_raw(o->sg, hdr, hlen) != 0)
        out_fail(o);
}

void fr_relay_on_subgroup_begin(fr_moq_sub *sub, uint64_t stream,
                                const fr_moq_subgroup_info *info, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup *rsg = calloc(1, sizeof(*rsg));
    fr_moq_session *up = fr_moq_sub_session(sub);

    (void)ud;
    if (!rsg)
        return;
    rsg->stream = stream;
    rsg->info = *info;
    rsg->next = t->subgroups;
    t->subgroups = rsg;
    for (relay_down *d = t->downs; d; d = d->next) {
        int wants = down_wants(d, info->group, 0) &&
                    (info->group > d->start.group || d->start.object == 0);
        int64_t ks = d->kernel ? t->r->fp.stream_for(t->r->fp.arg, up, stream,
                                                     down_session(d))
                               : -1;

        /* The subscriber's policy excludes this priority: neither path
         * sends it (the kernel gave it no stream either), nor its objects
         * one by one later. */
        if (t->r->has_fp && ks < 0 && wants &&
            !t->r->fp.admit(t->r->fp.arg, down_session(d),
                            info->publisher_priority))
            out_skip(rsg, d);
        else if (ks >= 0)
            out_open_kernel(rsg, d, ks, up);
        else if (wants)
            out_open(rsg, d, 1);
        /* From the first subgroup it wants from its start, the kernel
         * may forward the subscriber's next ones. */
        if (wants &&
            fr_moq_pub_params(d->pub)->filter != FR_MOQ_FILTER_ABSOLUTE_RANGE)
            fr_relay_down_join(d);
    }
}

void fr_relay_on_subgroup_data(fr_moq_sub *sub, uint64_t stream,
                               const uint8_t *data, size_t len, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup *rsg = subgroup_find(t, stream);
    relay_out *o, *next;

    (void)ud;
    if (!rsg)
        return;
    for (o = rsg->outs; o; o = next) {
        next = o->next;
        if (o->sg && o->raw && fr_moq_subgroup_write_raw(o->sg, data, len))
            out_fail(o);
    }
}

void fr_relay_on_subgroup_end(fr_moq_sub *sub, uint64_t stream, int reset,
                              uint64_t code, void *ud)
{
    relay_track *t = fr_moq_sub_get_user_data(sub);
    relay_subgroup **pp = &t->subgroups, *rsg;

    (void)ud;
    while (*pp && (*pp)->stream != stream)
        pp = &(*pp)->next;
    rsg = *pp;
    if (!rsg)
        return;
    *pp = rsg->next;
    for (relay_down *d = t->downs; d; d = d->next)
        if (d->kernel)
            t->r->fp.stream_end(t->r->fp.arg, fr_moq_sub_session(sub), stream,
                                down_session(d));
    while (rsg->outs) {
        relay_out *o = rsg->outs;
        if (o->sg && reset)
            fr_moq_subgroup_reset(o->sg, code);
        else if (o->sg)
            fr_moq_subgroup_close(o->sg);
        rsg->outs = o->next;
        free(o);
    }
    free(rsg);
}

/* Finds the upstream subgroup an object came on. */
static relay_subgroup *subgroup_of(relay_track *t, const fr_moq_object *obj)
{
    for (relay_subgroup *g = t->subgroups; g; g = g->next)
        if (g->info.group == obj->loc.group &&
            g->info.subgroup == obj->subgroup)
            return g;
    return NULL;
}

/* Marks the subscribers that have an entry in `rsg`: d->mark ==
 * t->out_mark afterwards tells, in O(1), instead of a walk of the
 * entries per subscriber. */
static void mark_outs(relay_track *t, relay_subgroup *rsg)
{
    t->out_mark++;
    for (relay_out *o = rsg->outs; o; o = o->next)
        o->down->mark = t->out_mark;
}

void fr_relay_on_object(fr_moq_sub *sub, fr_moq_fetch *f,
                        const fr_moq_object *obj, void *ud)
{
    relay_track *t = sub ? fr_moq_sub_get_user_data(sub) : NULL;
    relay_subgroup *rsg;
    fr_relay *r;

    (void)ud;
    if (f) {
        fr_relay_fetched_object(f, obj);
        return;
    }
    if (!t)
        return;
    r = t->r;
    r->stats.objects_received++;
    if (!t->has_largest || obj->loc.group > t->largest.group ||
        (obj->loc.group == t->largest.group &&
         obj->loc.object > t->largest.object)) {
        t->has_largest = 1;
        t->largest = obj->loc;
    }
    fr_relay_cache_add(t, obj);
    rsg = subgroup_of(t, obj);
    if (!rsg)
        return;
    /* Subscribers that joined while this subgroup was in flight get its
     * remaining objects one by one, on a subgroup stream of their own. */
    mark_outs(t, rsg);
    for (relay_down *d = t->downs; d; d = d->next) {
        if (d->mark == t->out_mark ||
            !down_wants(d, obj->loc.group, obj->loc.object))
            continue;
        if (r->has_fp && !r->fp.admit(r->fp.arg, down_session(d),
                                      rsg->info.publisher_priority))
            out_skip(rsg, d);
        else
            out_open(rsg, d, 0);
    }
    for (relay_out *o = rsg->outs; o; o = o->next) {
        if (!o->sg)
            continue;
        if (!o->raw && fr_moq_subgroup_write_object(o->sg, obj) != 0) {
            out_fail(o);
            continue;
        }
        r->stats.objects_forwarded++;
        r->stats.bytes_forwarded += obj->payload_len;
    }
}
