/* Wire and ngtcp2 packet numbers of one subscriber connection. */
#include "pnmap.h"

#include <stdlib.h>

#include <fastrelay/error.h>

enum wire_state {
    WIRE_EMPTY = 0,
    WIRE_SENT,       /* registered, not acknowledged */
    WIRE_HELD,       /* acknowledged before it was registered */
    WIRE_DONE        /* registered and acknowledged */
};

struct wire {
    uint64_t wire;
    uint64_t pkt;
    uint8_t state;
};

struct pkt {
    uint64_t pkt;
    uint8_t used;
    uint8_t remaining; /* wire packets not yet acknowledged */
};

struct fr_pnmap {
    struct wire wires[FR_PNMAP_WINDOW];
    struct pkt pkts[FR_PNMAP_WINDOW];
    uint64_t done[FR_PNMAP_WINDOW]; /* complete, not yet taken */
    size_t ndone;
};

#define SLOT(n) ((n) & (FR_PNMAP_WINDOW - 1))

fr_pnmap *fr_pnmap_new(void)
{
    return calloc(1, sizeof(fr_pnmap));
}

void fr_pnmap_del(fr_pnmap *m)
{
    free(m);
}

static void complete(fr_pnmap *m, uint64_t pkt)
{
    /* Full only if the window's worth was never taken; then the oldest
     * news is lost, as numbers behind the window are. */
    if (m->ndone < FR_PNMAP_WINDOW)
        m->done[m->ndone++] = pkt;
}

static int wire_registered(const fr_pnmap *m, uint64_t wire)
{
    const struct wire *w = &m->wires[SLOT(wire)];

    return w->wire == wire && (w->state == WIRE_SENT || w->state == WIRE_DONE);
}

int fr_pnmap_register(fr_pnmap *m, uint64_t pkt, const uint64_t *wires,
                      size_t n)
{
    struct pkt *p = &m->pkts[SLOT(pkt)];
    size_t remaining = n;

    if (n == 0 || n > FR_PNMAP_MAX_WIRES || (p->used && p->pkt == pkt))
        return FR_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        if (wire_registered(m, wires[i]))
            return FR_ERR_INVALID_ARGUMENT;
        for (size_t j = 0; j < i; j++)
            if (wires[j] == wires[i])
                return FR_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        struct wire *w = &m->wires[SLOT(wires[i])];

        if (w->wire == wires[i] && w->state == WIRE_HELD) {
            w->state = WIRE_DONE;
            remaining--;
        } else {
            w->state = WIRE_SENT;
        }
        w->wire = wires[i];
        w->pkt = pkt;
    }
    p->pkt = pkt;
    p->used = 1;
    p->remaining = (uint8_t)remaining;
    if (remaining == 0)
        complete(m, pkt);
    return 0;
}

static void ack_one(fr_pnmap *m, uint64_t wire)
{
    struct wire *w = &m->wires[SLOT(wire)];
    struct pkt *p;

    if (w->state == WIRE_EMPTY ||
        (w->wire < wire && w->state != WIRE_SENT)) {
        w->wire = wire;
        w->state = WIRE_HELD;
        return;
    }
    /* Behind the window, or the slot holds a packet still in flight (a
     * window's worth in flight is more than budgets allow; an ACK that
     * far ahead is bogus). */
    if (w->wire != wire)
        return;
    if (w->state != WIRE_SENT)
        return; /* acknowledged before */
    w->state = WIRE_DONE;
    p = &m->pkts[SLOT(w->pkt)];
    if (p->used && p->pkt == w->pkt && p->remaining > 0 &&
        --p->remaining == 0)
        complete(m, w->pkt);
}

void fr_pnmap_wire_acked(fr_pnmap *m, const fr_pn_range *ranges, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t first = ranges[i].first, last = ranges[i].last;

        if (first > last)
            continue;
        /* Only the window's worth below `last` can still matter. */
        if (last - first >= FR_PNMAP_WINDOW)
            first = last - (FR_PNMAP_WINDOW - 1);
        for (uint64_t w = first;; w++) {
            ack_one(m, w);
            if (w == last)
                break;
        }
    }
}

static int descending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

size_t fr_pnmap_take_acked(fr_pnmap *m, fr_pn_range *out, size_t max)
{
    size_t nr = 0, used = 0;

    if (max == 0 || m->ndone == 0)
        return 0;
    qsort(m->done, m->ndone, sizeof(m->done[0]), descending);
    while (used < m->ndone) {
        uint64_t pn = m->done[used];

        /* Each packet completes once, so there are no duplicates. */
        if (nr > 0 && pn + 1 == out[nr - 1].first) {
            out[nr - 1].first = pn;
        } else if (nr == max) {
            break;
        } else {
            out[nr].first = out[nr].last = pn;
            nr++;
        }
        used++;
    }
    for (size_t i = used; i < m->ndone; i++)
        m->done[i - used] = m->done[i];
    m->ndone -= used;
    return nr;
}
