/*
 * The relay core's FETCH: answered from the track's cache where it can,
 * else passed to the track's upstream and the answer relayed (and cached).
 */
#include <stdlib.h>
#include <string.h>

#include "relay_internal.h"

typedef struct fetch_ctx {
    fr_relay *r;
    fr_moq_fetch *f;
    int failed;
} fetch_ctx;

static int fetch_one(const fr_moq_object *obj, void *arg)
{
    fetch_ctx *fc = arg;

    if (fr_moq_fetch_write(fc->f, obj) != 0) {
        fc->failed = 1;
        return 1;
    }
    fc->r->stats.objects_fetched++;
    return 0;
}

/* Answers a FETCH with an error. */
static void fetch_refuse(fr_relay *r, fr_moq_session *s, uint64_t req,
                         uint64_t code, const char *reason)
{
    r->stats.fetches_refused++;
    fr_moq_reject(s, req, code, reason);
}

static void fetch_free(relay_fetch *rf)
{
    relay_fetch **pp = &rf->r->fetches;

    while (*pp && *pp != rf)
        pp = &(*pp)->next;
    if (*pp)
        *pp = rf->next;
    while (rf->waits) {
        relay_fetch_wait *w = rf->waits;
        rf->waits = w->next;
        free(w);
    }
    free(rf);
}

/* Gives up the upstream FETCH of `rf` and forgets it. */
static void fetch_cancel(relay_fetch *rf)
{
    fr_moq_fetch_set_user_data(rf->up, NULL);
    fr_moq_fetch_cancel(rf->up);
    fetch_free(rf);
}

/* Accepts the downstream FETCH of `w` as the upstream accepted ours;
 * returns nonzero (the waiter then goes) if it cannot. */
static int wait_accept(relay_fetch *rf, relay_fetch_wait *w)
{
    if (fr_moq_accept_fetch(w->s, w->req, rf->ok_end, rf->ok_end_of_track,
                            &w->down) != 0)
        return -1;
    fr_moq_stream_set_copy_class(w->s, w->down->data_stream, FR_COPY_REPLAY);
    return 0;
}

/* Removes the waiters `drop` picks (freed); an upstream FETCH left with
 * none is cancelled. Returns nonzero if `rf` went with it. */
static int waits_drop(relay_fetch *rf,
                      int (*drop)(relay_fetch *, relay_fetch_wait *, void *),
                      void *arg)
{
    relay_fetch_wait **pp = &rf->waits;

    while (*pp) {
        relay_fetch_wait *w = *pp;
        if (drop(rf, w, arg)) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (rf->waits)
        return 0;
    fetch_cancel(rf);
    return 1;
}

/* The upstream FETCH of `t` for [start, end] that a new downstream one
 * can still join: nothing relayed yet, so it gets every object. */
static relay_fetch *fetch_joinable(relay_track *t, fr_moq_location start,
                                   fr_moq_location end)
{
    for (relay_fetch *rf = t->r->fetches; rf; rf = rf->next)
        if (rf->t == t && rf->objects == 0 &&
            fr_moq_location_cmp(rf->start, start) == 0 &&
            fr_moq_location_cmp(rf->end, end) == 0)
            return rf;
    return NULL;
}

/* Asks the track's upstream for a range the cache lacks, or joins the
 * same request already under way; the answer is passed downstream (and
 * cached) as it comes. */
static void fetch_upstream(relay_track *t, fr_moq_session *s, uint64_t req,
                           fr_moq_location start, fr_moq_location end)
{
    relay_fetch *rf;
    relay_fetch_wait *w;

    if (!t->up) {
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INVALID_RANGE, "not cached");
        return;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                     "out of memory");
        return;
    }
    w->s = s;
    w->req = req;
    rf = fetch_joinable(t, start, end);
    if (rf) {
        if (rf->answered && wait_accept(rf, w) != 0) {
            free(w);
            return;
        }
        w->next = rf->waits;
        rf->waits = w;
        return;
    }
    rf = calloc(1, sizeof(*rf));
    if (!rf) {
        free(w);
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                     "out of memory");
        return;
    }
    rf->r = t->r;
    rf->t = t;
    rf->start = start;
    rf->end = end;
    rf->waits = w;
    if (fr_moq_fetch_range(fr_moq_sub_session(t->up), &t->name.name, start,
                           end, &rf->up, rf) != 0) {
        free(w);
        free(rf);
        fetch_refuse(t->r, s, req, FR_MOQ_REQ_INTERNAL_ERROR,
                     "cannot fetch upstream");
        return;
    }
    rf->next = t->r->fetches;
    t->r->fetches = rf;
    t->r->stats.fetches_upstream++;
}

static int wait_refused(relay_fetch *rf, relay_fetch_wait *w, void *arg)
{
    (void)arg;
    return wait_accept(rf, w) != 0;
}

void fr_relay_on_fetch_ok(fr_moq_fetch *f, fr_moq_location end,
                          int end_of_track, void *ud)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    (void)ud;
    if (!rf)
        return;
    rf->answered = 1;
    rf->ok_end = end;
    rf->ok_end_of_track = end_of_track;
    waits_drop(rf, wait_refused, NULL);
}

void fr_relay_on_fetch_done(fr_moq_fetch *f, int rejected, uint64_t code,
                            const char *reason, void *ud)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    (void)ud;
    if (!rf)
        return;
    for (relay_fetch_wait *w = rf->waits; w; w = w->next) {
        if (w->down) {
            fr_moq_fetch_close(w->down);
            rf->r->stats.fetches_served++;
        } else {
            fetch_refuse(rf->r, w->s, w->req,
                         rejected ? code : FR_MOQ_REQ_INTERNAL_ERROR,
                         reason ? reason : "upstream fetch failed");
        }
    }
    fetch_free(rf);
}

/* An object of a FETCH we passed upstream. */
void fr_relay_fetched_object(fr_moq_fetch *f, const fr_moq_object *obj)
{
    relay_fetch *rf = fr_moq_fetch_get_user_data(f);

    if (!rf)
        return;
    rf->objects++;
    if (rf->t)
        fr_relay_cache_add(rf->t, obj);
    for (relay_fetch_wait *w = rf->waits; w; w = w->next)
        if (w->down && fr_moq_fetch_write(w->down, obj) == 0)
            rf->r->stats.objects_fetched++;
}

static int wait_of_session(relay_fetch *rf, relay_fetch_wait *w, void *s)
{
    (void)rf;
    return w->s == s;
}

void fr_relay_fetch_session_closed(fr_relay *r, fr_moq_session *s)
{
    for (relay_fetch *rf = r->fetches, *next; rf; rf = next) {
        next = rf->next;
        /* An upstream FETCH through `s` ends with it (fetch_done). */
        waits_drop(rf, wait_of_session, s);
    }
}

void fr_relay_on_fetch(fr_moq_session *s, uint64_t req,
                       const fr_moq_fetch_request *f, void *ud)
{
    fr_relay *r = relay_of(ud);
    relay_track *t = fr_relay_track_find(r, &f->name);
    fr_moq_location start, end;
    fetch_ctx fc = {r, NULL, 0};

    if (!t || !t->established || !t->has_largest) {
        fetch_refuse(r, s, req, FR_MOQ_REQ_DOES_NOT_EXIST,
                     "nothing cached for this track");
        return;
    }
    if (f->joining) {
        /* Up to and including the joining location: the largest object
         * when the subscription began. */
        relay_down *d = fr_moq_pub_get_user_data(f->joining_pub);
        if (!d || !d->has_joining) {
            fetch_refuse(r, s, req, FR_MOQ_REQ_INVALID_RANGE,
                         "nothing published before the subscription");
            return;
        }
        fr_moq_joining_range(f, d->joining, &start, &end);
    } else {
        start = f->start;
        end = f->end;
        if (end.group > t->largest.group) {
            end.group = t->largest.group;
            end.object = t->largest.object + 1;
        }
    }
    if (start.group > end.group) {
        fetch_refuse(r, s, req, FR_MOQ_REQ_INVALID_RANGE, "empty range");
        return;
    }
    if (!fr_moq_cache_covers(t->cache, start, end)) {
        fetch_upstream(t, s, req, start, end);
        return;
    }
    if (fr_moq_accept_fetch(s, req, end, 0, &fc.f) != 0)
        return;
    fr_moq_stream_set_copy_class(s, fc.f->data_stream, FR_COPY_REPLAY);
    fr_moq_cache_each(t->cache, start, end, f->group_order, fetch_one, &fc);
    fr_moq_fetch_close(fc.f);
    r->stats.fetches_served++;
}
