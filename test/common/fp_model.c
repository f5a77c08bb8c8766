/* The fast path's programs modelled in C (fp_model.h). */
#include "fp_model.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/moq/codec.h"
#include "../../lib/util/qvarint.h"

#define TAG_LEN 16
#define MAX_FRAMES 32
#define MAX_STREAMS 4096
#define MAX_DGRAM 1500
#define MAX_PENDING 64

/* An upstream stream whose subgroup header was read (fr_fp_streams). */
typedef struct stream_rec {
    struct fr_fp_stream_key key;
    struct fr_fp_stream st;
} stream_rec;

/* The first bytes of a stream whose header did not fit its first frame
 * (fr_fp_pending). */
typedef struct pending_rec {
    struct fr_fp_stream_key key;
    struct fr_fp_pending p;
    int used;
} pending_rec;

struct fr_fp_model {
    fr_fp_dataplane *dp;
    fr_fp_sim *sim;
    size_t cid_len;
    fr_net *net;
    stream_rec streams[MAX_STREAMS];
    size_t nstreams; /* a ring past MAX_STREAMS, as the LRU map */
    pending_rec pending[MAX_PENDING];
    size_t npending; /* a ring too */
    uint64_t copies;
    uint64_t drop_every;
    uint64_t dropped;
};

/* The walk over one packet's frames (the programs' struct walk). */
typedef struct walk {
    const uint8_t *d;
    size_t off;
    size_t end;
    uint32_t slot;
    int verdict;
    int media;
    int multi;
    uint64_t stream_id;
    int fresh;
    size_t header_at;  /* where its subgroup header is, if it has it */
    int ack_lead;
    int ack_other;
    int media_late;
} walk;

fr_fp_model *fr_fp_model_new(fr_fp_dataplane *dp, fr_fp_sim *sim,
                             size_t cid_len, fr_net *net)
{
    fr_fp_model *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->dp = dp;
    m->sim = sim;
    m->cid_len = cid_len;
    m->net = net;
    return m;
}

void fr_fp_model_del(fr_fp_model *m)
{
    free(m);
}

uint64_t fr_fp_model_copies(const fr_fp_model *m)
{
    return m->copies;
}

void fr_fp_model_drop_every(fr_fp_model *m, uint64_t n)
{
    m->drop_every = n;
}

uint64_t fr_fp_model_dropped(const fr_fp_model *m)
{
    return m->dropped;
}

static void count(fr_fp_model *m, uint32_t reason)
{
    fr_fp_sim_count(m->sim, FR_FP_ROLE_UPSTREAM, reason);
}

static void eg_count(fr_fp_model *m, uint32_t reason)
{
    fr_fp_sim_count(m->sim, FR_FP_ROLE_SUBSCRIBERS, reason);
}

static stream_rec *stream_find(fr_fp_model *m,
                               const struct fr_fp_stream_key *key)
{
    size_t n = m->nstreams < MAX_STREAMS ? m->nstreams : MAX_STREAMS;

    for (size_t i = 0; i < n; i++)
        if (m->streams[i].key.slot == key->slot &&
            m->streams[i].key.stream_id == key->stream_id)
            return &m->streams[i];
    return NULL;
}

/* Records a stream whose header parsed: 1 if it is new, 0 if its start
 * was seen before (a retransmission). */
static int record(fr_fp_model *m, const struct fr_fp_stream_key *key,
                  const struct fr_fp_stream *st)
{
    stream_rec *r;

    if (stream_find(m, key))
        return 0;
    r = &m->streams[m->nstreams++ % MAX_STREAMS];
    r->key = *key;
    r->st = *st;
    count(m, FR_FP_NEW_SUBGROUP);
    return 1;
}

/* A MoQT varint at b[*o..n): 0, or -1 if it does not come whole. */
static int moq_varint(const uint8_t *b, size_t n, size_t *o, __u64 *v)
{
    uint64_t x;
    ssize_t r = fr_moq_varint_decode(b + *o, n - *o, &x);

    if (r <= 0)
        return -1;
    *o += (size_t)r;
    *v = x;
    return 0;
}

/* The SUBGROUP_HEADER in a stream's first `n` bytes, as
 * fr_fp_parse_header reads it: 0, 1 if more bytes are needed, -1 if it is
 * no header. */
static int parse_header(const uint8_t *b, size_t n, struct fr_fp_stream *st)
{
    int more = n < FR_FP_HEADER_MAX ? 1 : -1;
    __u64 type;
    size_t o = 0;

    if (moq_varint(b, n, &o, &type))
        return more;
    if ((type & ~0x6fULL) != 0x10 || ((type >> 1) & 3) == 3)
        return -1;
    memset(st, 0, sizeof(*st));
    st->header_type = type;
    st->has_priority = !(type & 0x20);
    st->alias_at = (__u8)o;
    if (moq_varint(b, n, &o, &st->track_alias))
        return more;
    st->alias_len = (__u8)(o - st->alias_at);
    if (moq_varint(b, n, &o, &st->group) ||
        (((type >> 1) & 3) == 2 && moq_varint(b, n, &o, &st->subgroup)))
        return more;
    if (st->has_priority) {
        if (o >= n)
            return more;
        st->priority = b[o];
    }
    return 0;
}

static pending_rec *pending_find(fr_fp_model *m,
                                 const struct fr_fp_stream_key *key)
{
    for (size_t i = 0; i < MAX_PENDING; i++)
        if (m->pending[i].used && m->pending[i].key.slot == key->slot &&
            m->pending[i].key.stream_id == key->stream_id)
            return &m->pending[i];
    return NULL;
}

/* A stream's first frame: records its header, or keeps its first bytes
 * when the header goes on in the next frame (stream_start). */
static int stream_start(fr_fp_model *m, const struct fr_fp_stream_key *key,
                        const uint8_t *data, uint64_t len, int *fresh)
{
    size_t n = len < FR_FP_HEADER_MAX ? (size_t)len : FR_FP_HEADER_MAX;
    struct fr_fp_stream st;
    pending_rec *p;
    int r;

    if (n == 0)
        return FR_FP_NOT_MEDIA;
    r = parse_header(data, n, &st);
    if (r == 0) {
        *fresh = record(m, key, &st);
        return 0;
    }
    if (r > 0) {
        p = pending_find(m, key);
        if (!p)
            p = &m->pending[m->npending++ % MAX_PENDING];
        memset(p, 0, sizeof(*p));
        p->used = 1;
        p->key = *key;
        p->p.len = (uint8_t)n;
        memcpy(p->p.bytes, data, n);
    }
    return FR_FP_NOT_MEDIA;
}

/* A later frame of a stream whose header was cut short: completes and
 * records the header; the packet itself is not forwardable
 * (stream_rest). */
static int stream_rest(fr_fp_model *m, const struct fr_fp_stream_key *key,
                       const uint8_t *data, uint64_t len, uint64_t offset)
{
    pending_rec *p = pending_find(m, key);
    struct fr_fp_stream st;
    uint8_t b[FR_FP_HEADER_MAX];
    size_t have, take;

    if (!p || p->p.len != offset || p->p.len >= FR_FP_HEADER_MAX)
        return FR_FP_NOT_MEDIA;
    have = p->p.len;
    take = len < FR_FP_HEADER_MAX - have ? (size_t)len
                                         : FR_FP_HEADER_MAX - have;
    if (take == 0)
        return FR_FP_NOT_MEDIA;
    memcpy(b, p->p.bytes, have);
    memcpy(b + have, data, take);
    switch (parse_header(b, have + take, &st)) {
    case 0:
        record(m, key, &st);
        count(m, FR_FP_SPLIT_HEADER);
        p->used = 0;
        break;
    case 1:
        p->p.len = (uint8_t)(have + take);
        memcpy(p->p.bytes, b, have + take);
        break;
    default:
        p->used = 0;
        break;
    }
    return FR_FP_NOT_MEDIA;
}

/* Skips an ACK frame whose type byte is at *pos. */
static int skip_ack(const uint8_t *d, size_t end, size_t *pos, uint8_t type)
{
    uint64_t v, ranges;

    *pos += 1;
    if (fr_qvarint_get(d, end, pos, &v) || fr_qvarint_get(d, end, pos, &v) ||
        fr_qvarint_get(d, end, pos, &ranges) ||
        fr_qvarint_get(d, end, pos, &v))
        return -1;
    for (uint64_t i = 0; i < 2 * ranges; i++)
        if (fr_qvarint_get(d, end, pos, &v))
            return -1;
    for (int i = 0; type == 0x03 && i < 3; i++)
        if (fr_qvarint_get(d, end, pos, &v))
            return -1;
    return 0;
}

/* A STREAM frame's fields after its stream ID, from *pos: its offset, its
 * data's length (to `end` without a length field) and where the data is. */
static int stream_fields(const uint8_t *d, size_t end, size_t *pos,
                         uint8_t type, uint64_t *offset, uint64_t *len)
{
    *offset = 0;
    if ((type & 0x04) && fr_qvarint_get(d, end, pos, offset))
        return -1;
    if (type & 0x02) {
        if (fr_qvarint_get(d, end, pos, len))
            return -1;
    } else {
        *len = end - *pos;
    }
    return *len > end - *pos ? -1 : 0;
}

/* One STREAM frame (fr_fp_stream_frame): a fr_fp_reason, 0 for media. */
static int stream_frame(fr_fp_model *m, walk *w, uint8_t type, int *fresh,
                        uint64_t *sid, size_t *header_at)
{
    struct fr_fp_stream_key key = {.slot = w->slot};
    uint64_t offset, len, id;
    size_t pos = w->off + 1;

    if (fr_qvarint_get(w->d, w->end, &pos, &id) ||
        stream_fields(w->d, w->end, &pos, type, &offset, &len))
        return FR_FP_MALFORMED;
    key.stream_id = id;
    w->off = pos + (size_t)len;
    *sid = key.stream_id;
    *fresh = 0;
    *header_at = offset == 0 ? pos : 0;
    if (!(key.stream_id & 0x02))
        return FR_FP_NOT_MEDIA;
    if (offset == 0)
        return stream_start(m, &key, w->d + pos, len, fresh);
    if (stream_find(m, &key))
        return 0;
    return stream_rest(m, &key, w->d + pos, len, offset);
}

/* One frame (walk_frame): returns 1 to stop. */
static int walk_frame(fr_fp_model *m, walk *w, unsigned index)
{
    uint8_t type;
    uint64_t sid;
    size_t header_at;
    int r, fresh;

    if (w->off >= w->end)
        return 1;
    type = w->d[w->off];
    if (type == 0x00) {
        for (size_t i = w->off; i < w->end; i++)
            if (w->d[i])
                w->verdict = FR_FP_UNKNOWN_FRAME;
        w->off = w->end;
        return 1;
    }
    if (type == 0x01) {
        w->off++;
        return 0;
    }
    if (type == 0x02 || type == 0x03) {
        if (skip_ack(w->d, w->end, &w->off, type)) {
            w->verdict = FR_FP_MALFORMED;
            return 1;
        }
        if (index == 0)
            w->ack_lead = 1;
        else
            w->ack_other = 1;
        return 0;
    }
    if ((type & 0xf8) != 0x08) {
        w->verdict = FR_FP_UNKNOWN_FRAME;
        return 1;
    }
    r = stream_frame(m, w, type, &fresh, &sid, &header_at);
    if (r == 0 && w->media) {
        w->multi = 1;
    } else if (r == 0) {
        if (index != (w->ack_lead ? 1u : 0u))
            w->media_late = 1;
        w->media = 1;
        w->stream_id = sid;
        w->fresh = fresh;
        w->header_at = header_at;
    }
    if (r && w->verdict == FR_FP_FORWARDABLE)
        w->verdict = r;
    return r == FR_FP_MALFORMED;
}

/* The packet's verdict (frames()). */
static int frames(fr_fp_model *m, walk *w)
{
    unsigned i;

    w->verdict = FR_FP_FORWARDABLE;
    for (i = 0; i < MAX_FRAMES && !walk_frame(m, w, i); i++)
        ;
    if (w->verdict == FR_FP_FORWARDABLE && w->off < w->end)
        return FR_FP_UNKNOWN_FRAME;
    if (w->verdict == FR_FP_FORWARDABLE && !w->media)
        return FR_FP_NOT_MEDIA;
    if (w->verdict != FR_FP_FORWARDABLE)
        return w->verdict;
    if (w->ack_other)
        return FR_FP_NEEDS_ACK_STRIP;
    if (w->media_late)
        return FR_FP_MEDIA_NOT_FIRST;
    if (w->multi)
        return FR_FP_MULTI_STREAM;
    return w->ack_lead ? FR_FP_LEADING_ACK : FR_FP_FORWARDABLE;
}

/* Subscriber `slot`'s stream for stream `sid` of upstream `up`
 * (substream()): 0 with *id, -2 for a policy drop, -1 for none. */
static int substream(fr_fp_model *m, uint32_t slot, uint32_t up, uint64_t sid,
                     int fresh, int excludes, uint64_t *id)
{
    const fr_fp_dataplane_ops *ops = m->dp->ops;
    struct fr_fp_substream_key k = {.slot = slot, .up_slot = up,
                                    .upstream_stream = sid};
    struct fr_fp_pool *pool = &m->dp->pools[slot];

    if (ops->lookup(m->dp, FR_FP_MAP_SUBSTREAMS, &k, id) == 0)
        return *id == FR_FP_SUBSTREAM_USERSPACE ? -1 : 0;
    if (!fresh)
        return -1;
    if (excludes)
        return -2;
    if (pool->head == pool->tail)
        return -1;
    *id = pool->ids[pool->head++ % FR_FP_POOL_SIZE];
    if (ops->update(m->dp, FR_FP_MAP_SUBSTREAMS, &k, id, FR_FP_NOEXIST) == 0)
        return 0;
    return ops->lookup(m->dp, FR_FP_MAP_SUBSTREAMS, &k, id) == 0 &&
                   *id != FR_FP_SUBSTREAM_USERSPACE
               ? 0
               : -1;
}

size_t fr_fp_model_rewrite(fr_fp_model *m, uint32_t slot_id,
                           const uint8_t *d, size_t len, fr_tstamp now,
                           uint8_t *out, struct fr_fp_slot *to_slot)
{
    const fr_fp_dataplane_ops *ops = m->dp->ops;
    struct fr_fp_substream_key skey = {.slot = slot_id};
    struct fr_fp_credit_key ckey = {.slot = slot_id};
    struct fr_fp_cid_key ukey = {.len = (uint8_t)m->cid_len};
    struct fr_fp_upstream up;
    struct fr_fp_sent_event ev = {0};
    struct fr_fp_slot slot;
    struct fr_fp_tx *tx = &m->dp->tx[slot_id];
    size_t fo, o, end = len - TAG_LEN, head, plen, w = 0;
    uint64_t sub, credit, length, offset, upstream;
    uint8_t type;

    eg_count(m, FR_FP_EG_SEEN);
    if (ops->lookup(m->dp, FR_FP_MAP_SLOTS, &slot_id, &slot) || !slot.active) {
        eg_count(m, FR_FP_EG_NO_SLOT);
        return 0;
    }
    /* Its upstream, by the CID the copy still carries. */
    memcpy(ukey.cid, d + 1, m->cid_len);
    if (ops->lookup(m->dp, FR_FP_MAP_UPSTREAM_CIDS, &ukey, &up)) {
        eg_count(m, FR_FP_EG_NO_STREAM);
        return 0;
    }
    skey.up_slot = up.slot;
    fo = 1 + m->cid_len + (size_t)(d[0] & 3) + 1;
    type = d[fo];
    if ((type == 0x02 || type == 0x03) && skip_ack(d, end, &fo, type)) {
        eg_count(m, FR_FP_EG_UNSUPPORTED);
        return 0;
    }
    type = d[fo];
    o = fo + 1;
    if ((type & 0xf8) != 0x08 || fr_qvarint_get(d, end, &o, &upstream)) {
        eg_count(m, FR_FP_EG_UNSUPPORTED);
        return 0;
    }
    skey.upstream_stream = upstream;
    if (ops->lookup(m->dp, FR_FP_MAP_SUBSTREAMS, &skey, &sub) ||
        sub == FR_FP_SUBSTREAM_USERSPACE) {
        eg_count(m, FR_FP_EG_NO_STREAM);
        return 0;
    }
    head = o;
    if (stream_fields(d, end, &head, type, &offset, &length)) {
        eg_count(m, FR_FP_EG_UNSUPPORTED);
        return 0;
    }
    ev.offset = offset;
    ev.length = (uint32_t)length;
    ev.fin = type & 0x01;
    ckey.stream = sub;
    if (ops->lookup(m->dp, FR_FP_MAP_CREDIT, &ckey, &credit))
        credit = slot.stream_credit;
    if (ev.offset + ev.length > credit) {
        eg_count(m, FR_FP_EG_NO_CREDIT);
        return 0;
    }
    plen = 1 + slot.dcid_len + 4 + 1 + fr_qvarint_len(sub) + (len - o);
    if (plen > slot.max_payload || plen > MAX_DGRAM) {
        eg_count(m, FR_FP_EG_TOO_BIG);
        return 0;
    }
    if (tx->budget < (int64_t)plen) {
        eg_count(m, FR_FP_EG_NO_BUDGET);
        return 0;
    }
    tx->budget -= (int64_t)plen;
    ev.pn = tx->next_pn++;

    out[w++] = 0x40 | (tx->key_phase ? 0x04 : 0) | 0x03;
    memcpy(out + w, slot.dcid, slot.dcid_len);
    w += slot.dcid_len;
    for (int i = 3; i >= 0; i--)
        out[w++] = (uint8_t)(ev.pn >> (8 * i));
    out[w++] = type;
    fr_qvarint_put(out, MAX_DGRAM, &w, sub);
    memcpy(out + w, d + o, len - o);
    w += len - o;

    ev.time_ns = now;
    ev.upstream_stream = upstream;
    ev.up_slot = (uint16_t)up.slot;
    ev.stream = sub;
    ev.slot = slot_id;
    ev.gen = slot.gen;
    ev.packet_len = (uint16_t)plen;
    fr_fp_sim_sent(m->sim, &ev);
    eg_count(m, FR_FP_EG_SENT);
    *to_slot = slot;
    return w;
}

/* Rewrites upstream packet d[0..len) for subscriber `slot_id` and sends
 * it from `relay`. */
static void egress(fr_fp_model *m, uint32_t slot_id, const uint8_t *d,
                   size_t len, const struct sockaddr_storage *relay,
                   fr_tstamp now)
{
    uint8_t out[MAX_DGRAM];
    struct fr_fp_slot slot;
    fr_quic_path path = {0};
    struct sockaddr_in *to = (struct sockaddr_in *)&path.remote;
    size_t n = fr_fp_model_rewrite(m, slot_id, d, len, now, out, &slot);

    if (n == 0)
        return;
    path.local = *relay;
    path.local_len = sizeof(struct sockaddr_in);
    to->sin_family = AF_INET;
    to->sin_addr.s_addr = slot.dst_ip;
    to->sin_port = slot.dst_port;
    path.remote_len = sizeof(*to);
    m->copies++;
    if (m->drop_every && m->copies % m->drop_every == 0) {
        m->dropped++;
        return;
    }
    fr_net_inject(m->net, &path, out, n);
}

/* The copies of one page of the track's list. */
static void fan_page(fr_fp_model *m, const struct fr_fp_subscribers *subs,
                     uint8_t priority, const walk *w, const uint8_t *d,
                     size_t len, const struct sockaddr_storage *relay,
                     fr_tstamp now)
{
    const fr_fp_dataplane_ops *ops = m->dp->ops;

    for (uint32_t i = 0; i < subs->count && i < FR_FP_MAX_FANOUT; i++) {
        uint32_t slot_id = subs->slots[i];
        struct fr_fp_slot slot;
        uint64_t id;

        if (ops->lookup(m->dp, FR_FP_MAP_SLOTS, &slot_id, &slot) ||
            !slot.active)
            continue;
        switch (substream(m, slot_id, w->slot, w->stream_id, w->fresh,
                          priority > slot.priority_floor, &id)) {
        case 0:
            count(m, FR_FP_CLONES);
            egress(m, slot_id, d, len, relay, now);
            break;
        case -2:
            count(m, FR_FP_POLICY_DROP);
            break;
        default:
            count(m, FR_FP_NO_SUBSTREAM);
            break;
        }
    }
}

/* Copies of a forwardable packet to every subscriber of its track
 * (fan_out and fan_one); a packet with the subgroup header names the
 * track by the subscribers' alias in theirs. */
static void fan_out(fr_fp_model *m, const walk *w, const uint8_t *d,
                    size_t len, const struct sockaddr_storage *relay,
                    fr_tstamp now)
{
    const fr_fp_dataplane_ops *ops = m->dp->ops;
    struct fr_fp_stream_key sk = {.slot = w->slot, .stream_id = w->stream_id};
    struct fr_fp_track_key tk = {.upstream_slot = w->slot};
    struct fr_fp_subscribers subs;
    stream_rec *r = stream_find(m, &sk);
    uint8_t copy[MAX_DGRAM];

    if (!r)
        return;
    tk.track_alias = r->st.track_alias;
    for (tk.page = 0; tk.page < FR_FP_TRACK_PAGES; tk.page++) {
        if (ops->lookup(m->dp, FR_FP_MAP_TRACK_SLOTS, &tk, &subs))
            return;
        if (tk.page == 0 && w->header_at &&
            subs.down_alias != r->st.track_alias) {
            if (len > sizeof(copy))
                return;
            memcpy(copy, d, len);
            if (fr_moq_varint_encode_in(copy + w->header_at + r->st.alias_at,
                                        r->st.alias_len,
                                        subs.down_alias) < 0) {
                count(m, FR_FP_ALIAS_TOO_LONG);
                return;
            }
            d = copy;
        }
        fan_page(m, &subs,
                 r->st.has_priority ? r->st.priority : subs.default_priority,
                 w, d, len, relay, now);
    }
}

void fr_fp_model_tap(void *model, const fr_quic_path *path, const uint8_t *d,
                     size_t len, fr_tstamp now)
{
    fr_fp_model *m = model;
    struct fr_fp_cid_key key = {.len = (uint8_t)m->cid_len};
    struct fr_fp_upstream up;
    walk w = {.d = d};
    int verdict;

    count(m, FR_FP_SEEN);
    if (len < 1) {
        count(m, FR_FP_NOT_QUIC);
        return;
    }
    if (d[0] & 0x80) {
        count(m, FR_FP_LONG_HEADER);
        return;
    }
    if (1 + m->cid_len + 4 + TAG_LEN > len) {
        count(m, FR_FP_NOT_QUIC);
        return;
    }
    memcpy(key.cid, d + 1, m->cid_len);
    if (m->dp->ops->lookup(m->dp, FR_FP_MAP_UPSTREAM_CIDS, &key, &up)) {
        count(m, FR_FP_UNKNOWN_CID);
        return;
    }
    w.off = 1 + m->cid_len + (size_t)(d[0] & 3) + 1;
    w.end = len - TAG_LEN;
    w.slot = up.slot;
    verdict = frames(m, &w);
    count(m, (uint32_t)verdict);
    if (verdict == FR_FP_FORWARDABLE || verdict == FR_FP_LEADING_ACK)
        fan_out(m, &w, d, len, &path->local, now);
}
