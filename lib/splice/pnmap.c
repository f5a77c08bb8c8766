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
    uint8_t ack_only;  /* SENT, DONE: its packet completes without it */
};

struct pkt {
    uint64_t pkt;
    uint64_t maxwire;  /* the last of its wire packets that are not
                          ack_only */
    uint64_t sent;     /* when it really left (its first wire packet) */
    uint64_t lag;      /* registered this long after it was sent */
    uint64_t ready;    /* complete: may be the largest reported from then */
    uint8_t used;
    uint8_t remaining; /* wire packets not yet acknowledged */
    uint8_t taken;     /* reported to ngtcp2 */
    uint8_t untracked; /* ngtcp2 cannot declare it lost */
};

/* The rings start this small and double, up to FR_PNMAP_WINDOW, when a
 * number would take the slot of one that still matters: memory follows
 * the packets in flight (a subscriber of a few hundred kbit/s on a short
 * round trip has a handful), not the most a subscriber may have. */
#define MIN_SLOTS 32

struct fr_pnmap {
    struct wire *wires;  /* `slots` of each */
    struct pkt *pkts;
    uint64_t *scratch;
    uint64_t slots;      /* a power of two */
    uint64_t low;        /* lowest ngtcp2 number that may be untaken */
    uint64_t high;       /* one past the largest registered */
    uint64_t wire_acked; /* largest wire number acknowledged */
    int started;
    int any_acked;
};

#define SLOT(m, n) ((n) & ((m)->slots - 1))
/* QUIC's packet reordering threshold (RFC 9002 section 6.1.1). */
#define REORDER_THRESHOLD 3
/* An RTT sample may read short by this fraction of the round trip (so a
 * registration lag below it costs no wait). */
#define RTT_SLACK_DIV 4

/* Rings of `slots` for m, the entries of m's present rings (if any) moved
 * in: two numbers in one slot of the larger rings would have shared one
 * of the smaller. Returns 0, or -1 when out of memory (m unchanged). */
static int resize(fr_pnmap *m, uint64_t slots)
{
    struct wire *wires = calloc(slots, sizeof(*wires));
    struct pkt *pkts = calloc(slots, sizeof(*pkts));
    uint64_t *scratch = calloc(slots, sizeof(*scratch));

    if (!wires || !pkts || !scratch) {
        free(wires);
        free(pkts);
        free(scratch);
        return -1;
    }
    for (uint64_t i = 0; i < m->slots; i++) {
        if (m->wires[i].state != WIRE_EMPTY)
            wires[m->wires[i].wire & (slots - 1)] = m->wires[i];
        if (m->pkts[i].used)
            pkts[m->pkts[i].pkt & (slots - 1)] = m->pkts[i];
    }
    free(m->wires);
    free(m->pkts);
    free(m->scratch);
    m->wires = wires;
    m->pkts = pkts;
    m->scratch = scratch;
    m->slots = slots;
    return 0;
}

fr_pnmap *fr_pnmap_new(void)
{
    fr_pnmap *m = calloc(1, sizeof(fr_pnmap));

    if (m && resize(m, MIN_SLOTS)) {
        free(m);
        return NULL;
    }
    return m;
}

void fr_pnmap_del(fr_pnmap *m)
{
    if (!m)
        return;
    free(m->wires);
    free(m->pkts);
    free(m->scratch);
    free(m);
}

size_t fr_pnmap_slots(const fr_pnmap *m)
{
    return (size_t)m->slots;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* The subscriber has seen wire packets far enough beyond this one that
 * QUIC would call it lost. */
static int wire_lost(const fr_pnmap *m, uint64_t wire)
{
    return m->any_acked && m->wire_acked >= wire + REORDER_THRESHOLD;
}

/* Whether wire number `wire` would push out another that still matters:
 * one registered and on its way, or acknowledged and still to be
 * registered, less than a full window apart. */
static int wire_crowded(const fr_pnmap *m, uint64_t wire)
{
    const struct wire *w = &m->wires[SLOT(m, wire)];

    if (w->wire == wire || distance(w->wire, wire) >= FR_PNMAP_WINDOW)
        return 0;
    return w->state == WIRE_HELD ||
           (w->state == WIRE_SENT && !wire_lost(m, w->wire));
}

/* Whether ngtcp2 packet `pkt` would push out another that may still be
 * reported: complete and not taken, or still awaiting acknowledgements
 * that are not given up on. */
static int pkt_crowded(const fr_pnmap *m, uint64_t pkt)
{
    const struct pkt *p = &m->pkts[SLOT(m, pkt)];

    if (!p->used || p->pkt == pkt || p->taken ||
        distance(p->pkt, pkt) >= FR_PNMAP_WINDOW)
        return 0;
    return p->remaining == 0 || !wire_lost(m, p->maxwire);
}

/* Doubles the rings if there is room to (and memory). */
static int grow(fr_pnmap *m)
{
    return m->slots < FR_PNMAP_WINDOW && resize(m, m->slots * 2) == 0;
}

static int wire_registered(const fr_pnmap *m, uint64_t wire)
{
    const struct wire *w = &m->wires[SLOT(m, wire)];

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
                      size_t n, size_t ack_only, uint64_t lag, uint64_t now)
{
    struct pkt *p = &m->pkts[SLOT(m, pkt)];
    size_t required = n - ack_only, remaining = required;
    uint64_t acked_at = 0;
    int crowded;

    if (n == 0 || n > FR_PNMAP_MAX_WIRES || ack_only >= n ||
        (p->used && p->pkt == pkt))
        return FR_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        if (wire_registered(m, wires[i]))
            return FR_ERR_INVALID_ARGUMENT;
        for (size_t j = 0; j < i; j++)
            if (wires[j] == wires[i])
                return FR_ERR_INVALID_ARGUMENT;
    }
    do {
        crowded = pkt_crowded(m, pkt);
        for (size_t i = 0; i < n; i++)
            crowded |= wire_crowded(m, wires[i]);
    } while (crowded && grow(m));
    p = &m->pkts[SLOT(m, pkt)];
    for (size_t i = 0; i < n; i++) {
        struct wire *w = &m->wires[SLOT(m, wires[i])];

        if (w->wire == wires[i] && w->state == WIRE_HELD) {
            if (i < required) {
                if (w->u.acked_at > acked_at)
                    acked_at = w->u.acked_at;
                remaining--;
            }
            w->state = WIRE_DONE;
        } else {
            w->state = WIRE_SENT;
        }
        w->wire = wires[i];
        w->u.pkt = pkt;
        w->ack_only = i >= required;
    }
    p->pkt = pkt;
    p->used = 1;
    p->taken = 0;
    p->untracked = 0;
    p->remaining = (uint8_t)remaining;
    p->lag = lag;
    p->sent = now > lag ? now - lag : 0;
    p->ready = ready_at(p, acked_at);
    p->maxwire = 0;
    for (size_t i = 0; i < required; i++)
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

int fr_pnmap_acked_early(const fr_pnmap *m, uint64_t wire)
{
    const struct wire *w = &m->wires[SLOT(m, wire)];

    return w->wire == wire && w->state == WIRE_HELD;
}

void fr_pnmap_untracked(fr_pnmap *m, uint64_t pkt)
{
    struct pkt *p = &m->pkts[SLOT(m, pkt)];

    if (p->used && p->pkt == pkt)
        p->untracked = 1;
}

static void ack_one(fr_pnmap *m, uint64_t wire, uint64_t now)
{
    struct wire *w;
    struct pkt *p;

    if (!m->any_acked || wire > m->wire_acked) {
        m->wire_acked = wire;
        m->any_acked = 1;
    }
    while (wire_crowded(m, wire) && grow(m))
        ;
    w = &m->wires[SLOT(m, wire)];
    if (w->state == WIRE_EMPTY ||
        (w->wire < wire && w->state != WIRE_SENT)) {
        w->wire = wire;
        w->state = WIRE_HELD;
        w->u.acked_at = now;
        return;
    }
    /* Behind the window, or the slot holds a packet still in flight a
     * full window away (more in flight than budgets allow; an ACK that
     * far ahead is bogus). */
    if (w->wire != wire)
        return;
    if (w->state != WIRE_SENT)
        return; /* acknowledged before */
    w->state = WIRE_DONE;
    p = &m->pkts[SLOT(m, w->u.pkt)];
    if (!w->ack_only && p->used && p->pkt == w->u.pkt && p->remaining > 0 &&
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
    struct pkt *p = &m->pkts[SLOT(m, pkt)];

    return p->used && p->pkt == pkt && !p->taken ? p : NULL;
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
            if (!p->untracked && !wire_lost(m, p->maxwire)) {
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
    return n ? m->pkts[SLOT(m, m->scratch[n - 1])].ready : 0;
}

size_t fr_pnmap_take_acked(fr_pnmap *m, fr_pn_range *out, size_t max,
                           uint64_t now)
{
    size_t n, nr = 0;

    if (max == 0)
        return 0;
    n = candidates(m);
    /* ngtcp2 samples the RTT from the largest: not one reported early. */
    while (n > 0 && m->pkts[SLOT(m, m->scratch[n - 1])].ready > now)
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
        m->pkts[SLOT(m, pn)].taken = 1;
    }
    return nr;
}
