/* The splice layer of one subscriber connection (see splice.h). */
#include "splice.h"

#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>
#include <fastrelay/fastpath.h>

#include "../quic/conn_hooks.h"
#include "../quic/conn_view.h"
#include "../quic/hooked_stream.h"
#include "../quic/wire.h"
#include "../util/grow.h"
#include "../util/qvarint.h"
#include "ack_rewrite.h"
#include "frames.h"
#include "pnmap.h"

#define TAG_LEN 16
/* ngtcp2 packets one registration may take (retransmissions ngtcp2 puts
 * first, then the kernel's bytes, then what did not fit). */
#define MAX_WRITES 4
/* Bytes by which a kernel packet may fall short of the size of ngtcp2's
 * packet of the same data (packet number and frame header widths). */
#define CWND_MARGIN 64
#define MAX_AHEAD ((uint64_t)FR_PNMAP_WINDOW / 2 * 1200)
/* A registration lag beyond this is taken for a clock mismatch, not
 * waited for. */
#define MAX_LAG FR_SECONDS

/* Losses waiting to be reported, at most. */
#define MAX_LOST 64
/* Kernel streams waiting to be reset, at most. */
#define MAX_RESETS 64
/* Subscriber datagrams held back, at most, and for how long at most. */
#define MAX_HELD 8
#define MAX_HOLD (5 * FR_MILLISECONDS)

/* A kernel packet waiting for registration. */
typedef struct pending {
    struct fr_fp_sent_event ev; /* offset/length: what is left to write */
    int shadowed; /* its first ngtcp2 packet is registered; the rest of
                     its bytes go out in packets of their own */
} pending;

enum outcome { KEEP, DONE, DROP };

/* A subscriber datagram held until ngtcp2 may read it (hook_hold). Most
 * are ACKs of a few dozen bytes: each entry's buffer is as large as the
 * largest it held, not a full datagram. */
typedef struct held {
    fr_tstamp due;
    fr_tstamp limit; /* held MAX_HOLD at most */
    int early; /* it acknowledges kernel packets not registered yet: due
                  when they are (and theirs is known), or at its limit */
    fr_quic_path path;
    size_t len;
    size_t cap;
    uint8_t *data;
} held;

typedef struct fr_splice fr_splice;

struct fr_splice {
    fr_quic_conn *c;
    fr_pnmap *map;
    struct fr_fp_tx own;
    struct fr_fp_tx *tx;
    int64_t unreg;     /* UDP bytes the kernel sent, not yet registered */
    int64_t published; /* budget last handed to the kernel */
    uint64_t ng_largest;
    int ng_any;
    int syncing;
    pending *q;
    size_t nq;
    size_t capq;
    fr_splice_stats stats;
    void *ref;
    /* What each registered ngtcp2 packet carried (by number in the
     * window), so that a loss can be told to the application. */
    struct carried {
        uint64_t pkt;
        uint64_t stream;
        uint64_t upstream_stream;
        uint32_t up_slot;
    } carried[FR_PNMAP_WINDOW];
    uint64_t lost[MAX_LOST];
    size_t nlost;
    struct {
        int64_t id;
        uint64_t code;
    } resets[MAX_RESETS]; /* kernel streams held until they can be reset */
    size_t nresets;
    int late;            /* a kernel packet was registered late: an ACK
                            may have to wait (hook_hold) */
    /* tls mode: our 1-RTT keys by key phase (keys_have: which phases
     * hold a generation; keys_unusable: another suite than ChaCha20). */
    fr_packet_keys keys[2];
    int keys_have[2];
    int keys_unusable;
    held *held; /* a ring of MAX_HELD, the oldest at held_head; made at
                   the first datagram held */
    size_t held_head;
    size_t nheld;
    uint8_t rxbuf[FR_MAX_UDP_PAYLOAD + FR_ACK_REWRITE_ROOM];
    uint8_t xbuf[FR_MAX_UDP_PAYLOAD];
};

static fr_splice *splice_of(const fr_quic_conn *c)
{
    return fr_conn_ext(c);
}

static const fr_quic_settings *settings_of(const fr_quic_conn *c)
{
    return fr_ep_settings(fr_quic_conn_get_endpoint(c));
}

/* The kernel side, as fr_splice_enable set it last. */
static fr_splice_ops *ops_of(const fr_quic_conn *c)
{
    return fr_conn_hooks_arg(c);
}

static void hook_credit(void *ext, int64_t stream_id, uint64_t max_data)
{
    fr_splice *sp = ext;
    fr_splice_ops *ops = ops_of(sp->c);
    fr_hooked_stream st;

    if (ops && ops->credit && !fr_hooked_stream_get(sp->c, stream_id, &st) &&
        st.ext)
        ops->credit(ops->arg, sp->c, stream_id, max_data);
}

static void *hook_attach(fr_quic_conn *c)
{
    fr_splice *sp = calloc(1, sizeof(*sp));

    if (!sp)
        return NULL;
    sp->map = fr_pnmap_new();
    if (!sp->map) {
        free(sp);
        return NULL;
    }
    sp->c = c;
    sp->tx = &sp->own;
    return sp;
}

static void hook_detach(void *ext)
{
    fr_splice *sp = ext;

    memset(sp->keys, 0, sizeof(sp->keys));
    fr_pnmap_del(sp->map);
    free(sp->q);
    for (size_t i = 0; sp->held && i < MAX_HELD; i++)
        free(sp->held[i].data);
    free(sp->held);
    free(sp);
}

/* Kernel packets and ngtcp2's must be the same size: no path MTU probing,
 * no shaping down to 1200 bytes (DESIGN.md section 6). BBR sizes the
 * window from delivery rate and RTT: a loss-based one shrinks it at every
 * random loss and, the media flow being application-limited, never grows
 * it back, so the kernel's budget would stay below a frame's burst
 * (measured with 2 % loss: 89 % of copies by the kernel with CUBIC, 97 %
 * with BBR). The peer may be an origin whose packets the kernel copies to
 * subscribers: the copies must still fit. */
static void hook_settings(void *ext, ngtcp2_settings *ns,
                          ngtcp2_transport_params *tp)
{
    fr_splice *sp = ext;

    ns->no_pmtud = 1;
    ns->no_tx_udp_payload_size_shaping = 1;
    ns->cc_algo = NGTCP2_CC_ALGO_BBR;
    tp->max_udp_payload_size =
        settings_of(sp->c)->max_udp_payload_size - FR_FASTPATH_HEADROOM;
}

struct fr_fp_tx *fr_splice_tx_state(fr_quic_conn *c)
{
    return splice_of(c)->tx;
}

void fr_splice_use_tx(fr_quic_conn *c, struct fr_fp_tx *shared)
{
    fr_splice *sp = splice_of(c);

    if (!shared) {
        sp->own.next_pn = __atomic_load_n(&sp->tx->next_pn, __ATOMIC_ACQUIRE);
        sp->own.key_phase = sp->tx->key_phase;
        sp->own.budget = 0;
        sp->tx = &sp->own;
        sp->published = 0;
        return;
    }
    shared->key_phase = sp->tx->key_phase;
    shared->budget = 0;
    __atomic_store_n(&shared->next_pn, sp->tx->next_pn, __ATOMIC_RELEASE);
    sp->tx = shared;
    sp->published = 0;
}

void fr_splice_set_ref(fr_quic_conn *c, void *ref)
{
    splice_of(c)->ref = ref;
}

void *fr_splice_ref(const fr_quic_conn *c)
{
    const fr_splice *sp = splice_of(c);

    return sp ? sp->ref : NULL;
}

int fr_splice_active(const fr_quic_conn *c)
{
    return splice_of(c) != NULL;
}

int fr_splice_open_stream(fr_quic_conn *c, int64_t *pstream_id)
{
    /* The splice marks the kernel's streams. */
    return fr_hooked_stream_open(c, splice_of(c), FR_COPY_ELIGIBLE,
                                 pstream_id);
}

int fr_splice_kernel_sent(fr_quic_conn *c, const struct fr_fp_sent_event *ev)
{
    fr_splice *sp = splice_of(c);

    if (fr_grow((void **)&sp->q, &sp->capq, sp->nq, sizeof(*sp->q), 64) != 0)
        return FR_ERR_NOMEM;
    sp->q[sp->nq].ev = *ev;
    sp->q[sp->nq].shadowed = 0;
    sp->nq++;
    sp->stats.kernel_packets++;
    /* Registered by the connection's next write. */
    fr_conn_want_write(c);
    return 0;
}

/* The write loop sent bytes of a kernel stream: bytes the kernel
 * declined. */
static void hook_stream_sent(void *ext, void *stream_ext, uint64_t bytes)
{
    fr_splice *sp = ext;

    if (stream_ext)
        sp->stats.userspace_bytes += bytes;
}

/* A key generation: kept under its phase bit (or the suite noted as one
 * the kernel cannot use), the kernel side told. */
static void hook_keys(void *ext, uint64_t gen, const fr_packet_keys *k)
{
    fr_splice *sp = ext;
    fr_splice_ops *ops = ops_of(sp->c);
    int phase = (int)(gen & 1);

    if (k) {
        sp->keys[phase] = *k;
        sp->keys_have[phase] = 1;
    } else if (sp->keys_unusable) {
        return; /* said once */
    } else {
        sp->keys_unusable = 1;
    }
    if (ops && ops->keys)
        ops->keys(ops->arg, sp->c, phase);
}

int fr_splice_keys(const fr_quic_conn *c, int phase, fr_packet_keys *k)
{
    const fr_splice *sp = splice_of(c);

    if (!sp)
        return FR_ERR_INVALID_STATE;
    if (sp->keys_unusable)
        return FR_ERR_UNSUPPORTED;
    if (phase < 0 || phase > 1 || !sp->keys_have[phase])
        return FR_ERR_INVALID_STATE;
    *k = sp->keys[phase];
    return 0;
}

void fr_splice_get_stats(const fr_quic_conn *c, fr_splice_stats *stats)
{
    *stats = splice_of(c)->stats;
}

/* Packet numbers. */

static uint64_t ngtcp2_number(fr_splice *sp, const fr_short_hdr *h)
{
    uint64_t pkt = fr_wire_pn_decode(sp->ng_any, sp->ng_largest, h->pn_trunc,
                                     h->pn_len);

    if (!sp->ng_any || pkt > sp->ng_largest)
        sp->ng_largest = pkt;
    sp->ng_any = 1;
    return pkt;
}

/* Takes the next wire number for a packet with this key phase; the phase
 * is published first, so a kernel copy numbered after it carries it. */
static uint64_t next_wire(fr_splice *sp, int key_phase)
{
    __atomic_store_n(&sp->tx->key_phase, (uint32_t)key_phase,
                     __ATOMIC_RELEASE);
    return __atomic_fetch_add(&sp->tx->next_pn, 1, __ATOMIC_ACQ_REL);
}

static int find_short(const fr_quic_conn *c, const uint8_t *d, size_t len,
                      size_t *at, fr_short_hdr *h)
{
    ssize_t pos = fr_wire_find_short(d, len);

    if (pos < 0 ||
        fr_wire_parse_short(d + pos, len - (size_t)pos,
                            ngtcp2_conn_get_dcid(fr_conn_ngtcp2(c))->datalen,
                            h))
        return FR_ERR_PROTO;
    *at = (size_t)pos;
    return 0;
}

/* Gives the datagram ngtcp2 wrote into buf[0..n) (room for n + 3 bytes)
 * its wire number and records it. */
static size_t hook_tx(void *ext, uint8_t *buf, size_t n, int tracked)
{
    fr_splice *sp = ext;
    fr_quic_conn *c = sp->c;
    fr_short_hdr h;
    uint64_t pkt, wire;
    size_t at;

    if (find_short(c, buf, n, &at, &h))
        return n; /* handshake packets only: their spaces are not ours */
    pkt = ngtcp2_number(sp, &h);
    wire = next_wire(sp, h.key_phase);
    n = at + fr_wire_set_pn(buf + at, n - at, &h, wire);
    fr_pnmap_register(sp->map, pkt, &wire, 1, 0, 0, 0);
    if (!tracked)
        fr_pnmap_untracked(sp->map, pkt);
    return n;
}

/* Receive path. */

/* Finds the frames of a subscriber's 1-RTT datagram: d[*hdr..*hdr +
 * *payload). Returns FR_ERR_PROTO for a datagram to hand ngtcp2 as it is
 * (no short packet, or a tag that is not ours: a stateless reset). */
static int frames_of(const fr_quic_conn *c, const uint8_t *d, size_t len,
                     size_t *hdr, size_t *payload)
{
    ssize_t pos = fr_wire_find_short(d, len);
    fr_short_hdr h;

    if (pos < 0 || fr_wire_parse_short(d + pos, len - (size_t)pos,
                                       settings_of(c)->cid_len, &h))
        return FR_ERR_PROTO;
    *hdr = (size_t)pos + h.pn_off + h.pn_len;
    if (len - *hdr < TAG_LEN)
        return FR_ERR_PROTO;
    for (size_t i = len - TAG_LEN; i < len; i++)
        if (d[i])
            return FR_ERR_PROTO;
    *payload = len - *hdr - TAG_LEN;
    return 0;
}

/* Rewrites a datagram from the subscriber (its 1-RTT packet's ACKs) into
 * the splice's buffer. */
static ssize_t hook_rx(void *ext, const uint8_t *d, size_t len, fr_tstamp now,
                       const uint8_t **out)
{
    fr_splice *sp = ext;
    fr_quic_conn *c = sp->c;
    size_t hdr, payload;
    ssize_t r;

    if (frames_of(c, d, len, &hdr, &payload))
        return 0;
    if (len > FR_MAX_UDP_PAYLOAD)
        return FR_ERR_PROTO;
    memcpy(sp->rxbuf, d, hdr);
    r = fr_ack_rewrite(sp->map, d + hdr, payload, sp->rxbuf + hdr,
                       sizeof(sp->rxbuf) - hdr - TAG_LEN, now);
    if (r < 0)
        return r;
    memset(sp->rxbuf + hdr + (size_t)r, 0, TAG_LEN);
    *out = sp->rxbuf;
    return (ssize_t)(hdr + (size_t)r + TAG_LEN);
}

/* Whether a kernel packet waiting for registration (its bytes not yet
 * queued on the stream: the upstream's datagram is read after the
 * subscriber's) has been acknowledged already. */
static int acked_early(const fr_splice *sp)
{
    for (size_t i = 0; i < sp->nq; i++)
        if (!sp->q[i].shadowed &&
            fr_pnmap_acked_early(sp->map, sp->q[i].ev.pn))
            return 1;
    return 0;
}

/* ngtcp2 samples the RTT when an ACK newly acknowledges its largest
 * packet; a kernel packet registered `lag` late may lead one only `lag`
 * after its acknowledgement arrived (see pnmap.h). Rather than leave such
 * an acknowledgement for a later subscriber datagram (there may be none
 * for a while: the subscriber delays its ACK of the frame's last packet
 * by up to its max_ack_delay, and ngtcp2 would send probes first), the
 * datagram that carries it is held until then, at most a few
 * milliseconds; datagrams after it wait behind it, in order. So is one
 * that acknowledges a kernel packet not registered yet, until it is. */
static int hook_hold(void *ext, const fr_quic_path *path, const uint8_t *d,
                     size_t len, fr_tstamp now)
{
    fr_splice *sp = ext;
    fr_quic_conn *c = sp->c;
    size_t hdr, payload;
    fr_tstamp due = now;
    int early = 0;
    held *h;

    /* Without kernel packets every ACK may go at once (the upstream's
     * connections, subscribers the kernel has not served yet). */
    if (!sp->late && sp->nheld == 0 && sp->nq == 0)
        return 0;
    if (len > FR_MAX_UDP_PAYLOAD || frames_of(c, d, len, &hdr, &payload) ||
        fr_ack_feed(sp->map, d + hdr, payload, now))
        return 0;
    if (sp->nheld == MAX_HELD)
        return 0;
    if (!sp->held && !(sp->held = calloc(MAX_HELD, sizeof(*sp->held))))
        return 0; /* it goes to ngtcp2 at once */
    if (sp->nheld == 0) {
        early = acked_early(sp);
        due = early ? now + MAX_HOLD : fr_pnmap_due(sp->map);
        if (due <= now || due - now > MAX_HOLD)
            return 0;
    }
    h = &sp->held[(sp->held_head + sp->nheld) % MAX_HELD];
    if (h->cap < len) {
        uint8_t *grown = realloc(h->data, len);

        if (!grown)
            return 0;
        h->data = grown;
        h->cap = len;
    }
    h->due = due;
    h->limit = now + MAX_HOLD;
    h->early = early;
    h->path = *path;
    h->len = len;
    memcpy(h->data, d, len);
    sp->nheld++;
    sp->stats.held++;
    return 1;
}

/* When the oldest held datagram is due. */
static fr_tstamp hook_expiry(const void *ext)
{
    const fr_splice *sp = ext;

    return sp->nheld ? sp->held[sp->held_head].due : FR_TSTAMP_MAX;
}

static size_t hook_release(void *ext, fr_tstamp due_by, fr_quic_path *path,
                           uint8_t *buf)
{
    fr_splice *sp = ext;
    held *h;
    size_t len;

    if (sp->nheld == 0)
        return 0;
    h = &sp->held[sp->held_head];
    if (h->due > due_by)
        return 0;
    /* The last one carries what the earlier ones could not report yet
     * (packets registered late, acknowledged by them): it waits for
     * those, within its limit, unless a datagram behind it goes now. */
    if (sp->nheld == 1 && due_by != FR_TSTAMP_MAX) {
        fr_tstamp due = fr_pnmap_due(sp->map);

        if (due > due_by && due <= h->limit) {
            h->due = due;
            return 0;
        }
    }
    *path = h->path;
    len = h->len;
    memcpy(buf, h->data, len);
    sp->held_head = (sp->held_head + 1) % MAX_HELD;
    sp->nheld--;
    return len;
}

/* Registration. */

/* What the short packet of extras() kept. */
enum kept { KEPT_NONE, KEPT_ACKS, KEPT_ELICITING };

/* Copies to xbuf what ngtcp2's packet buf[0..n) holds besides the kernel's
 * STREAM frame (stream `id` at `off`) and PADDING: coalesced long-header
 * packets, and the short packet's other frames under its header. Returns
 * the length (0: nothing else), with *frames telling what the short
 * packet kept: no frame, only ACK frames, or one that elicits an ACK. */
static size_t extras(fr_splice *sp, const uint8_t *buf, size_t n, size_t at,
                     const fr_short_hdr *h, int64_t id, uint64_t off,
                     enum kept *frames)
{
    size_t start = at + h->pn_off + h->pn_len, end = n - TAG_LEN;
    size_t pos = start, o = start;

    *frames = KEPT_NONE;
    memcpy(sp->xbuf, buf, start);
    while (pos < end) {
        size_t f = pos, q;
        uint64_t type, sid, soff = 0;
        int skip;

        if (fr_qvarint_get(buf, end, &pos, &type))
            break;
        q = pos;
        skip = type == FR_FRAME_PADDING;
        if (FR_FRAME_IS_STREAM(type) &&
            !fr_qvarint_get(buf, end, &q, &sid) &&
            (!(type & 0x04) || !fr_qvarint_get(buf, end, &q, &soff)))
            skip = (int64_t)sid == id && soff == off;
        if (fr_frame_skip_body(buf, end, &pos, type))
            break;
        if (!skip) {
            memcpy(sp->xbuf + o, buf + f, pos - f);
            o += pos - f;
            if (type != FR_FRAME_ACK && type != FR_FRAME_ACK_ECN)
                *frames = KEPT_ELICITING;
            else if (*frames == KEPT_NONE)
                *frames = KEPT_ACKS;
        }
    }
    if (*frames) {
        memset(sp->xbuf + o, 0, TAG_LEN);
        return o + TAG_LEN;
    }
    return at;
}

/* ngtcp2's packet `np` carries the bytes the kernel sent in wire packet
 * p->ev.pn: registers it under that number, and sends what else ngtcp2
 * put in it in a wire packet of its own. */
static void shadow(fr_quic_conn *c, pending *p, const fr_hooked_pkt *np,
                   fr_tstamp now)
{
    fr_splice *sp = splice_of(c);
    uint64_t wires[2] = {p->ev.pn, 0}, pkt, lag = 0;
    size_t at, xlen, nw = 1;
    fr_short_hdr h;
    enum kept frames;

    if (find_short(c, np->buf, np->len, &at, &h)) {
        fr_hooked_pkt_commit(c, np); /* cannot happen in 1-RTT */
        return;
    }
    pkt = ngtcp2_number(sp, &h);
    xlen = extras(sp, np->buf, np->len, at, &h, (int64_t)p->ev.stream,
                  np->off, &frames);
    if (xlen > 0) {
        if (frames != KEPT_NONE) {
            wires[nw++] = next_wire(sp, h.key_phase);
            xlen = at + fr_wire_set_pn(sp->xbuf + at, xlen - at, &h, wires[1]);
        }
        memcpy(np->buf, sp->xbuf, xlen);
        fr_hooked_pkt_send(c, np, xlen);
        sp->stats.extra_packets++;
    }
    if (now > p->ev.time_ns && now - p->ev.time_ns < MAX_LAG) {
        lag = now - p->ev.time_ns;
        sp->late = 1;
    }
    fr_pnmap_register(sp->map, pkt, wires, nw, frames == KEPT_ACKS, lag, now);
    sp->stats.registered++;
    p->shadowed = 1;
    sp->carried[pkt % FR_PNMAP_WINDOW] = (struct carried){
        pkt + 1, p->ev.stream, p->ev.upstream_stream, p->ev.up_slot};
    if (ops_of(c) && ops_of(c)->registered)
        ops_of(c)->registered(ops_of(c)->arg, c, &p->ev);
}

static enum outcome register_one(fr_quic_conn *c, pending *p, fr_tstamp now)
{
    struct fr_fp_sent_event *ev = &p->ev;
    int64_t id = (int64_t)ev->stream;
    uint64_t end = ev->offset + ev->length;
    fr_hooked_stream st;

    if (fr_hooked_stream_get(c, id, &st) || st.reset || !st.ext)
        return DROP;
    if (ev->offset < st.sent_off || (ev->length == 0 && st.fin_sent))
        return DROP; /* userspace sent these bytes already */
    if (ev->offset > st.sent_off || st.queued_end < end ||
        (ev->fin && !(st.fin_queued && st.queued_end == end)))
        return KEEP; /* earlier bytes, or these, not queued yet */
    for (int i = 0; i < MAX_WRITES; i++) {
        fr_hooked_pkt np;
        int rv = fr_hooked_stream_write(c, id, end, ev->fin, now, &np);

        if (rv < 0)
            return DROP;
        if (rv == 0)
            return KEEP; /* congestion or credit: after the next ACK */
        if (!p->shadowed) {
            shadow(c, p, &np, now);
        } else {
            fr_hooked_pkt_commit(c, &np);
            splice_of(c)->stats.userspace_bytes += np.datalen;
        }
        ev->offset = np.off + np.datalen;
        ev->length = (uint32_t)(end - ev->offset);
        if (ev->length == 0 && (!ev->fin || np.fin_sent))
            return DONE;
    }
    return KEEP;
}

/* Registers what can be registered, in as many passes as make progress
 * (records of one stream may arrive out of order). */
static void register_pending(fr_quic_conn *c, fr_tstamp now)
{
    fr_splice *sp = splice_of(c);
    int progress = 1;

    for (size_t i = 0; i < sp->nq; i++)
        fr_hooked_stream_set_limit(c, (int64_t)sp->q[i].ev.stream,
                                   UINT64_MAX);
    for (int pass = 0; progress && pass < 4 && fr_conn_is_active(c);
         pass++) {
        size_t keep = 0;

        progress = 0;
        for (size_t i = 0; i < sp->nq; i++) {
            pending *p = &sp->q[i];

            switch (register_one(c, p, now)) {
            case KEEP:
                sp->q[keep++] = *p;
                break;
            case DROP:
                if (!p->shadowed)
                    sp->stats.stale++;
                /* fall through */
            case DONE:
                sp->unreg -= p->ev.packet_len;
                progress = 1;
                fr_hooked_stream_requeue(c, (int64_t)p->ev.stream);
                break;
            }
        }
        sp->nq = keep;
    }
    for (size_t i = 0; i < sp->nq; i++)
        fr_hooked_stream_cap_limit(c, (int64_t)sp->q[i].ev.stream,
                                   sp->q[i].ev.offset);
}

static int has_pending(const fr_splice *sp, int64_t stream_id)
{
    for (size_t i = 0; i < sp->nq; i++)
        if ((int64_t)sp->q[i].ev.stream == stream_id)
            return 1;
    return 0;
}

/* Resets the streams waiting for it whose kernel packets are all
 * registered. */
static void settle_resets(fr_quic_conn *c)
{
    fr_splice *sp = splice_of(c);
    size_t keep = 0;

    for (size_t i = 0; i < sp->nresets; i++) {
        int64_t id = sp->resets[i].id;
        fr_hooked_stream st;

        if (fr_hooked_stream_get(c, id, &st))
            continue;
        if (has_pending(sp, id)) {
            sp->resets[keep++] = sp->resets[i];
            continue;
        }
        fr_hooked_stream_hold(c, id, 0);
        fr_quic_conn_stream_reset(c, id, sp->resets[i].code);
    }
    sp->nresets = keep;
}

int fr_splice_reset_stream(fr_quic_conn *c, int64_t stream_id, uint64_t code)
{
    fr_splice *sp = splice_of(c);
    fr_hooked_stream st;

    if (fr_hooked_stream_get(c, stream_id, &st) || !st.ext)
        return FR_ERR_STREAM_NOT_FOUND;
    if (st.held || st.reset)
        return 0;
    if (sp->nresets == MAX_RESETS)
        return fr_quic_conn_stream_reset(c, stream_id, code);
    fr_hooked_stream_hold(c, stream_id, 1);
    sp->resets[sp->nresets].id = stream_id;
    sp->resets[sp->nresets++].code = code;
    return 0;
}

/* The kernel packets the oldest held datagram acknowledged early are
 * registered: it is due when its largest may lead an ACK. */
static void hold_registered(fr_splice *sp)
{
    held *h = &sp->held[sp->held_head];
    fr_tstamp due;

    if (!h->early || acked_early(sp))
        return;
    h->early = 0;
    due = fr_pnmap_due(sp->map);
    if (due < h->due)
        h->due = due;
}

/* Before every ngtcp2 call that may read, time out or write: withdraws the
 * kernel's budget, drains and registers the kernel's packets. */
static void hook_before(void *ext, fr_tstamp now)
{
    fr_splice *sp = ext;
    fr_quic_conn *c = sp->c;
    int64_t left;

    if (sp->syncing)
        return;
    sp->syncing = 1;
    left = __atomic_exchange_n(&sp->tx->budget, 0, __ATOMIC_ACQ_REL);
    sp->unreg += sp->published - left;
    sp->published = 0;
    if (ops_of(c) && ops_of(c)->drain)
        ops_of(c)->drain(ops_of(c)->arg, c);
    if (sp->nq)
        register_pending(c, now);
    if (sp->nheld)
        hold_registered(sp);
    if (sp->nresets)
        settle_resets(c);
    sp->syncing = 0;
}

/* After the write loop sent a packet: registers kernel packets it may have
 * unblocked (bytes the kernel declined sent before them). */
static void hook_sent_one(void *ext, fr_tstamp now)
{
    fr_splice *sp = ext;

    if (sp->nq && !sp->syncing) {
        sp->syncing = 1;
        register_pending(sp->c, now);
        sp->syncing = 0;
    }
}

/* ngtcp2 declared packet `pkt` lost, from inside ngtcp2: acted on after
 * the call. */
static void hook_lost(void *ext, uint64_t pkt)
{
    fr_splice *sp = ext;

    if (sp->nlost < MAX_LOST)
        sp->lost[sp->nlost++] = pkt;
}

/* Tells the kernel side which of the packets ngtcp2 declared lost carried
 * kernel data. */
static void report_losses(fr_quic_conn *c)
{
    fr_splice *sp = splice_of(c);
    fr_splice_ops *ops = ops_of(c);

    for (size_t i = 0; i < sp->nlost; i++) {
        const struct carried *e = &sp->carried[sp->lost[i] % FR_PNMAP_WINDOW];

        /* pkt + 1: zero marks an empty entry. */
        if (e->pkt == sp->lost[i] + 1 && ops && ops->lost)
            ops->lost(ops->arg, c, (int64_t)e->stream, e->up_slot,
                      e->upstream_stream);
    }
    sp->nlost = 0;
}

/* After the ngtcp2 calls: publishes the budget ngtcp2's state allows. */
static void hook_after(void *ext)
{
    fr_splice *sp = ext;
    fr_quic_conn *c = sp->c;
    fr_splice_ops *ops = ops_of(c);
    int64_t budget = 0;

    if (fr_conn_is_active(c) && fr_quic_conn_is_handshake_completed(c)) {
        uint64_t cwnd = ngtcp2_conn_get_cwnd_left(fr_conn_ngtcp2(c));
        uint64_t data = ngtcp2_conn_get_max_data_left(fr_conn_ngtcp2(c));
        uint64_t room;

        /* ngtcp2 sends a whole packet while any congestion window is
         * left; so may the kernel (less a margin for ngtcp2's packet of
         * the same bytes being a little longer). Flow-control credit is
         * exact. */
        if (cwnd > 0)
            cwnd += fr_conn_pkt_size(c) - CWND_MARGIN;
        room = cwnd < data ? cwnd : data;

        /* Fewer packets in flight than the number map's window holds. */
        if (room > MAX_AHEAD)
            room = MAX_AHEAD;
        budget = (int64_t)room - sp->unreg;
        if (budget < 0)
            budget = 0;
        if (ops && ops->budget)
            budget = (int64_t)ops->budget(ops->arg, c, (uint64_t)budget);
    }
    if (sp->nlost)
        report_losses(c);
    __atomic_store_n(&sp->tx->budget, budget, __ATOMIC_RELEASE);
    sp->published = budget;
}

/* Once per flush: the kernel's records make their connections want a
 * write. */
static void hook_flush(void *arg)
{
    fr_splice_ops *ops = arg;

    if (ops && ops->poll)
        ops->poll(ops->arg);
}

static fr_tstamp hook_flush_by(void *arg)
{
    fr_splice_ops *ops = arg;

    return ops && ops->poll_by ? ops->poll_by(ops->arg) : FR_TSTAMP_MAX;
}

static const fr_conn_hooks splice_hooks = {
    .attach = hook_attach,
    .detach = hook_detach,
    .settings = hook_settings,
    .tx_growth = 3, /* a 4-byte wire number in place of ngtcp2's */
    .before = hook_before,
    .after = hook_after,
    .sent_one = hook_sent_one,
    .rx = hook_rx,
    .hold = hook_hold,
    .release = hook_release,
    .expiry = hook_expiry,
    .tx = hook_tx,
    .lost = hook_lost,
    .credit = hook_credit,
    .stream_sent = hook_stream_sent,
    .keys = hook_keys,
    .flush = hook_flush,
    .flush_by = hook_flush_by,
};

void fr_splice_enable(fr_quic_endpoint *ep, fr_splice_ops *ops)
{
    fr_conn_hooks_set(ep, &splice_hooks, ops);
}
