/*
 * Which connections an endpoint writes, and when their timers fire.
 *
 * A flush writes only the connections touched since the last one (a
 * datagram read, a timer, data or a close from the application, a layer's
 * fr_conn_want_write), not all of them; each connection's next expiry
 * sits in a binary min-heap, so finding the next timer and the due
 * connections costs O(log N) per connection touched rather than O(N) per
 * event-loop iteration. Every connection is in the heap from its start to
 * its end; its key is refreshed after each write, since only the calls
 * that touch a connection change its expiry.
 */
#include <stdlib.h>

#include "../util/grow.h"
#include "quic_internal.h"

/* Rounds of one flush: connections touched while a round writes (by
 * another connection's write, or because their send quantum ran out) go
 * in the next round; those left after the last wait for the next flush,
 * which the endpoint then asks for at once (next expiry: now). */
#define FLUSH_ROUNDS 4

/* Where a connection is: on no list, touched, on the list the flush
 * under way writes, or being written (a touch then changes nothing: the
 * write under way sends what there is). */
enum { SCHED_IDLE, SCHED_TOUCHED, SCHED_FLUSHING, SCHED_WRITING };

static fr_quic_conn **list_of(fr_quic_endpoint *ep, int which)
{
    return which == SCHED_FLUSHING ? &ep->flushing : &ep->touched;
}

static void list_remove(fr_quic_conn *c)
{
    fr_quic_conn **head = list_of(c->ep, c->sched_list);

    if (c->touched_prev)
        c->touched_prev->touched_next = c->touched_next;
    else
        *head = c->touched_next;
    if (c->touched_next)
        c->touched_next->touched_prev = c->touched_prev;
    c->touched_prev = c->touched_next = NULL;
    c->sched_list = SCHED_IDLE;
}

void fr_conn_want_write(fr_quic_conn *c)
{
    fr_quic_endpoint *ep = c->ep;

    if (c->sched_list != SCHED_IDLE)
        return;
    c->sched_list = SCHED_TOUCHED;
    c->touched_prev = NULL;
    c->touched_next = ep->touched;
    if (ep->touched)
        ep->touched->touched_prev = c;
    ep->touched = c;
}

/* The heap: ep->heap[0] expires first; c->heap_pos is its index + 1. */

static int earlier(const fr_quic_conn *a, const fr_quic_conn *b)
{
    return a->heap_at < b->heap_at;
}

static void heap_place(fr_quic_endpoint *ep, fr_quic_conn *c, size_t i)
{
    ep->heap[i] = c;
    c->heap_pos = i + 1;
}

static void sift_up(fr_quic_endpoint *ep, size_t i)
{
    fr_quic_conn *c = ep->heap[i];

    while (i > 0 && earlier(c, ep->heap[(i - 1) / 2])) {
        heap_place(ep, ep->heap[(i - 1) / 2], i);
        i = (i - 1) / 2;
    }
    heap_place(ep, c, i);
}

static void sift_down(fr_quic_endpoint *ep, size_t i)
{
    fr_quic_conn *c = ep->heap[i];

    for (;;) {
        size_t k = 2 * i + 1;

        if (k >= ep->nheap)
            break;
        if (k + 1 < ep->nheap && earlier(ep->heap[k + 1], ep->heap[k]))
            k++;
        if (!earlier(ep->heap[k], c))
            break;
        heap_place(ep, ep->heap[k], i);
        i = k;
    }
    heap_place(ep, c, i);
}

static void heap_remove(fr_quic_endpoint *ep, fr_quic_conn *c)
{
    size_t i = c->heap_pos - 1;
    fr_quic_conn *last = ep->heap[--ep->nheap];

    c->heap_pos = 0;
    if (last == c)
        return;
    heap_place(ep, last, i);
    sift_up(ep, i);
    sift_down(ep, last->heap_pos - 1);
}

/* Puts `c` in the heap at `at`, or moves it there. Out of memory, it
 * stays touched instead: written at every flush, as if always due. */
static void heap_set(fr_quic_endpoint *ep, fr_quic_conn *c, fr_tstamp at)
{
    if (!c->heap_pos) {
        if (fr_grow((void **)&ep->heap, &ep->heap_cap, ep->nheap,
                    sizeof(*ep->heap), 64) != 0) {
            fr_conn_want_write(c);
            return;
        }
        c->heap_at = at;
        heap_place(ep, c, ep->nheap++);
        sift_up(ep, c->heap_pos - 1);
        return;
    }
    c->heap_at = at;
    sift_up(ep, c->heap_pos - 1);
    sift_down(ep, c->heap_pos - 1);
}

void fr_sched_forget(fr_quic_conn *c)
{
    if (c->sched_list == SCHED_TOUCHED || c->sched_list == SCHED_FLUSHING)
        list_remove(c);
    c->sched_list = SCHED_IDLE;
    if (c->heap_pos)
        heap_remove(c->ep, c);
}

void fr_sched_free(fr_quic_endpoint *ep)
{
    free(ep->heap);
    ep->heap = NULL;
    ep->nheap = ep->heap_cap = 0;
}

void fr_sched_flush(fr_quic_endpoint *ep, fr_tstamp now)
{
    if (ep->hooks && ep->hooks->flush)
        ep->hooks->flush(ep->hooks_arg);
    for (int round = 0; round < FLUSH_ROUNDS && ep->touched; round++) {
        fr_quic_conn *c;

        ep->flushing = ep->touched;
        ep->touched = NULL;
        for (c = ep->flushing; c; c = c->touched_next)
            c->sched_list = SCHED_FLUSHING;
        while ((c = ep->flushing) != NULL) {
            int more;

            list_remove(c);
            c->sched_list = SCHED_WRITING;
            more = fr_conn_write(c, now);
            c->sched_list = SCHED_IDLE;
            if (c->state == FR_CONN_DEAD) {
                fr_conn_free(c);
                continue;
            }
            heap_set(ep, c, fr_conn_expiry(c));
            if (more)
                fr_conn_want_write(c);
        }
    }
}

void fr_sched_expire(fr_quic_endpoint *ep, fr_tstamp now)
{
    while (ep->nheap && ep->heap[0]->heap_at <= now) {
        fr_quic_conn *c = ep->heap[0];

        heap_remove(ep, c);
        fr_conn_handle_expiry(c, now);
        fr_conn_want_write(c);
    }
}

fr_tstamp fr_sched_next(const fr_quic_endpoint *ep)
{
    fr_tstamp next;

    if (ep->touched)
        return ep->now;
    next = ep->nheap ? ep->heap[0]->heap_at : FR_TSTAMP_MAX;
    if (ep->hooks && ep->hooks->flush_by) {
        fr_tstamp by = ep->hooks->flush_by(ep->hooks_arg);

        if (by < next)
            next = by;
    }
    return next;
}
