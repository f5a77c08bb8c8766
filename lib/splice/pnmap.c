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
    union {
        uint64_t pkt;      /* SENT, DONE: the ngtcp2 packet it carried */
        uint64_t acked_at; /* HELD: when the acknowledgement came */
    } u;
    uint8_t state;
};

struct pkt {
    uint64_t pkt;
    uint64_t maxwire;  /* the last of its wire packets */
    uint64_t sent;     /* when it really left (its first wire packet) */
    uint64_t lag;      /* registered this long after it was sent */
    uint64_t ready;    /* complete: may be the largest reported from then */
    uint8_t used;
    uint8_t remaining; /* wire packets not yet acknowledged */
    uint8_t taken;     /* reported to ngtcp2 */
};

struct fr_pnmap {
    struct wire wires[FR_PNMAP_WINDOW];
    struct pkt pkts[FR_PNMAP_WINDOW];
    uint64_t low;        /* lowest ngtcp2 number that may be untaken */
    uint64_t high;       /* one past the largest registered */
    uint64_t wire_acked; /* largest wire number acknowledged */
    int started;
    int any_acked;
    uint64_t scratch[FR_PNMAP_WINDOW];
};

#define SLOT(n) ((n) & (FR_PNMAP_WINDOW - 1))
/* QUIC's packet reordering threshold (RFC 9002 section 6.1.1). */
#define REORDER_THRESHOLD 3
/* An RTT sample may read short by this fraction of the round trip (so a
 * registration lag below it costs no wait). */
#define RTT_SLACK_DIV 4

fr_pnmap *fr_pnmap_new(void)
{
    return calloc(1, sizeof(fr_pnmap));
}

void fr_pnmap_del(fr_pnmap *m)
{
    free(m);
}

static int wire_registered(const fr_pnmap *m, uint64_t wire)
{
    const struct wire *w = &m->wires[SLOT(wire)];

    return w->wire == wire && (w->state == WIRE_SENT || w->state == WIRE_DONE);
}

/* When a packet acknowledged at `acked_at` may lead an ACK: ngtcp2's
 * sample is then the round trip since it really left, less the slack. */
static uint64_t ready_at(const struct pkt *p, uint64_t acked_at)
{
    uint64_t rtt = acked_at > p->sent ? acked_at - p->sent : 0;
    uint64_t slack = rtt / RTT_SLACK_DIV;

    return p->lag > slack ? acked_at + (p->lag - slack) : acked_at;
}

int fr_pnmap_register(fr_pnmap *m, uint64_t pkt, const uint64_t *wires,
                      size_t n, uint64_t lag, uint64_t now)
{
    struct pkt *p = &m->pkts[SLOT(pkt)];
    size_t remaining = n;
    uint64_t acked_at = 0;

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
            if (w->u.acked_at > acked_at)
                acked_at = w->u.acked_at;
            w->state = WIRE_DONE;
            remaining--;
        } else {
            w->state = WIRE_SENT;
        }
        w->wire = wires[i];
        w->u.pkt = pkt;
    }
    p->pkt = pkt;
    p->used = 1;
    p->taken = 0;
    p->remaining = (uint8_t)remaining;
    p->lag = lag;
    p->sent = now > lag ? now - lag : 0;
    p->ready = ready_at(p, acked_at);
    p->maxwire = 0;
    for (size_t i = 0; i < n; i++)
        if (wires[i] > p->maxwire)
            p->maxwire = wires[i];
    if (!m->started || pkt < m->low) {
        m->low = pkt;
        m->started = 1;
    }
    if (pkt >= m->high)
        m->high = pkt + 1;
    if (m->high - m->low > FR_PNMAP_WINDOW)
        m->low = m->high - FR_PNMAP_WINDOW;
    return 0;
}

static void ack_one(fr_pnmap *m, uint64_t wire, uint64_t now)
{
    struct wire *w = &m->wires[SLOT(wire)];
    struct pkt *p;

    if (!m->any_acked || wire > m->wire_acked) {
        m->wire_acked = wire;
        m->any_acked = 1;
    }
    if (w->state == WIRE_EMPTY ||
        (w->wire < wire && w->state != WIRE_SENT)) {
        w->wire = wire;
        w->state = WIRE_HELD;
        w->u.acked_at = now;
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
    p = &m->pkts[SLOT(w->u.pkt)];
    if (p->used && p->pkt == w->u.pkt && p->remaining > 0 &&
        --p->remaining == 0)
        p->ready = ready_at(p, now);
}

void fr_pnmap_wire_acked(fr_pnmap *m, const fr_pn_range *ranges, size_t n,
                         uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t first = ranges[i].first, last = ranges[i].last;

        if (first > last)
            continue;
        /* Only the window's worth below `last` can still matter. */
        if (last - first >= FR_PNMAP_WINDOW)
            first = last - (FR_PNMAP_WINDOW - 1);
        for (uint64_t w = first;; w++) {
            ack_one(m, w, now);
            if (w == last)
                break;
        }
    }
}

static struct pkt *live(fr_pnmap *m, uint64_t pkt)
{
    struct pkt *p = &m->pkts[SLOT(pkt)];

    return p->used && p->pkt == pkt && !p->taken ? p : NULL;
}

/* The subscriber has seen wire packets far enough beyond this one that
 * QUIC would call it lost. */
static int wire_lost(const fr_pnmap *m, uint64_t wire)
{
    return m->any_acked && m->wire_acked >= wire + REORDER_THRESHOLD;
}

/* Fills scratch with the complete packets that may be reported now, in
 * ngtcp2's order; returns how many. */
static size_t candidates(fr_pnmap *m)
{
    uint64_t blocker = 0;
    size_t n = 0;
    int blocked = 0;

    while (m->low < m->high && !live(m, m->low))
        m->low++;
    /* In ngtcp2's order, a complete packet is reported unless an earlier
     * one still on its way left after it on the wire: ngtcp2 would take
     * that one for lost (its number is lower, the kernel's packet was
     * registered later than it was sent). */
    for (uint64_t q = m->low; q < m->high; q++) {
        struct pkt *p = live(m, q);

        if (!p)
            continue;
        if (p->remaining > 0) {
            if (!wire_lost(m, p->maxwire)) {
                if (!blocked || p->maxwire > blocker)
                    blocker = p->maxwire;
                blocked = 1;
            }
            continue;
        }
        if (!blocked || p->maxwire > blocker)
            m->scratch[n++] = q;
    }
    return n;
}

uint64_t fr_pnmap_due(fr_pnmap *m)
{
    size_t n = candidates(m);

    /* Only the largest must wait (see fr_pnmap_take_acked). */
    return n ? m->pkts[SLOT(m->scratch[n - 1])].ready : 0;
}

size_t fr_pnmap_take_acked(fr_pnmap *m, fr_pn_range *out, size_t max,
                           uint64_t now)
{
    size_t n, nr = 0;

    if (max == 0)
        return 0;
    n = candidates(m);
    /* ngtcp2 samples the RTT from the largest: not one reported early. */
    while (n > 0 && m->pkts[SLOT(m->scratch[n - 1])].ready > now)
        n--;
    for (size_t i = n; i-- > 0;) {
        uint64_t pn = m->scratch[i];

        if (nr > 0 && pn + 1 == out[nr - 1].first) {
            out[nr - 1].first = pn;
        } else if (nr == max) {
            break;
        } else {
            out[nr].first = out[nr].last = pn;
            nr++;
        }
        m->pkts[SLOT(pn)].taken = 1;
    }
    return nr;
}
