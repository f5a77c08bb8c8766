/*
 * The fast path of a relay (include/fastrelay/fastpath.h): the relay's
 * hooks implemented over the kernel module, one slot per upstream and per
 * subscriber connection the kernel serves, and the upkeep that keeps the
 * kernel's view of each connection current (CIDs, stream pools, send
 * state).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fastrelay/error.h>
#include <fastrelay/fastpath.h>

#include "../moq/relay_fastpath.h"
#include "../quic/conn_hooks.h"
#include "../quic/conn_view.h"
#include "../quic/copy_class.h"
#include "../splice/splice.h"
#include "../util/logf.h"
#include "kernel.h"
#include "nexthop.h"

/* Tracks one subscriber connection gets from the kernel at most. */
#define MAX_JOINS 16
/* A pool is topped up when it falls to this level. */
#define POOL_LOW (FR_FP_POOL_SIZE / 2)
#define RATE_INTERVAL (100 * FR_MILLISECONDS)
/* How often a served subscriber's priority policy is asked (without a
 * congestion policy, which is asked every time: it sets the budget). */
#define POLICY_INTERVAL (10 * FR_MILLISECONDS)
/* Served subscribers' next hops are looked up again when the kernel
 * announces a route, neighbour or link change (checked every
 * HOP_CHECK, looked up at most every HOP_MIN), and every HOP_INTERVAL
 * anyway. */
#define HOP_CHECK (50 * FR_MILLISECONDS)
#define HOP_MIN (100 * FR_MILLISECONDS)
#define HOP_INTERVAL (10 * FR_SECONDS)
/* The default priority policy: a subscriber with more than this many
 * seconds of data waiting at its delivery rate gets priorities up to
 * BEHIND_FLOOR only. */
#define BEHIND_SECONDS 2
#define BEHIND_FLOOR 127
/* An upstream connection's CIDs the kernel knows, at most (ngtcp2 keeps
 * at most 8 in use; retired ones are registered a while longer). */
#define MAX_UP_CIDS 16

typedef struct fp_up {
    fr_moq_session *s;
    fr_quic_conn *c;
    uint32_t slot;
    uint32_t cid_gen;        /* of c when its CIDs were last written */
    ngtcp2_cid cids[MAX_UP_CIDS]; /* written to fr_fp_upstream_cids */
    size_t ncids;
    struct fp_up *next;
} fp_up;

typedef struct fp_join {
    fp_up *up;
    uint64_t alias;
} fp_join;

typedef struct fp_sub {
    fr_moq_session *s;
    fr_quic_conn *c;
    uint32_t slot;
    /* Delivery rate, measured over at least RATE_INTERVAL. */
    fr_tstamp rate_since;
    uint64_t acked_since;
    uint64_t rate;
    fr_tstamp policy_at;     /* when the policies were last asked */
    struct fr_fp_slot k;     /* as written to fr_fp_slots */
    fp_join joins[MAX_JOINS];
    size_t njoins;
    struct fp_sub *next;
} fp_sub;

struct fr_fastpath {
    fr_fp_kernel *k;
    fr_splice_ops ops;
    fr_relay *relay;
    fr_quic_endpoint *ep;
    fr_fp_attach_mode mode;
    fr_log log;
    fp_up *ups;
    fp_sub *subs;
    fp_sub *by_slot[FR_FP_MAX_SLOTS];
    uint64_t kernel_copies;
    uint64_t policy_drops;
    uint64_t lost_resets;
    uint64_t orphans;
    uint64_t late_starts;
    uint64_t cid_changes;
    uint64_t moves;
    uint64_t hop_changes;
    int nl_fd;               /* route/neighbour/link announcements, or -1 */
    int hops_stale;          /* an announcement came since the lookup */
    fr_tstamp hops_checked;  /* when nl_fd was last read */
    fr_tstamp hops_at;       /* when next hops were last looked up */
    fr_splice_stats gone;    /* of subscriber connections released */
    fr_fastpath_hooks hooks;
};

uint8_t fr_fastpath_default_priority_floor(const fr_fastpath_subscriber *sub,
                                           void *user_data)
{
    uint64_t rate = sub->delivery_rate, window_rate;

    (void)user_data;
    /* The delivery rate of a connection that had little to send (just
     * joined, its joining FETCH queued only now) is what it was given,
     * not what it can take; the congestion window per round trip is what
     * it can take now (seen: 44 of 250 joiners lost the delta frames of
     * the group after their FETCH, their rate measured while idle). */
    window_rate = sub->smoothed_rtt > 0
                      ? sub->cwnd * FR_SECONDS / sub->smoothed_rtt
                      : 0;
    if (window_rate > rate)
        rate = window_rate;
    return sub->delivery_rate && sub->queued > BEHIND_SECONDS * rate
               ? BEHIND_FLOOR
               : UINT8_MAX;
}

static fr_tstamp conn_now(const fr_quic_conn *c)
{
    return fr_quic_endpoint_now(fr_quic_conn_get_endpoint(c));
}

/* What the policies see of a subscriber connection; `d` (NULL for one the
 * kernel does not serve) keeps its delivery rate. */
static void sub_info(fr_moq_session *s, fp_sub *d, fr_fastpath_subscriber *in)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    fr_quic_conn_stats st;

    fr_quic_conn_get_stats(c, &st);
    memset(in, 0, sizeof(*in));
    in->session = s;
    in->smoothed_rtt = st.smoothed_rtt;
    in->min_rtt = st.min_rtt;
    in->cwnd = st.cwnd;
    in->bytes_in_flight = st.bytes_in_flight;
    in->queued = fr_quic_conn_send_buffered(c);
    in->lost_packets = st.pkts_lost;
    if (d) {
        fr_tstamp now = conn_now(c);

        if (!d->rate_since) {
            d->rate_since = now;
            d->acked_since = st.stream_bytes_acked;
        } else if (now - d->rate_since >= RATE_INTERVAL) {
            d->rate = (st.stream_bytes_acked - d->acked_since) * FR_SECONDS /
                      (now - d->rate_since);
            d->rate_since = now;
            d->acked_since = st.stream_bytes_acked;
        }
        in->delivery_rate = d->rate;
    }
}

static uint8_t floor_of(const fr_fastpath *fp, const fr_fastpath_subscriber *in)
{
    return fp->hooks.priority_floor
               ? fp->hooks.priority_floor(in, fp->hooks.user_data)
               : fr_fastpath_default_priority_floor(in, NULL);
}

static const struct fallback {
    const char *name;
    fr_fp_role role;
    uint32_t reason;
} fallbacks[] = {
    {"ack_not_first", FR_FP_ROLE_UPSTREAM, FR_FP_NEEDS_ACK_STRIP},
    {"media_not_first", FR_FP_ROLE_UPSTREAM, FR_FP_MEDIA_NOT_FIRST},
    {"multi_stream", FR_FP_ROLE_UPSTREAM, FR_FP_MULTI_STREAM},
    {"unknown_frame", FR_FP_ROLE_UPSTREAM, FR_FP_UNKNOWN_FRAME},
    {"malformed", FR_FP_ROLE_UPSTREAM, FR_FP_MALFORMED},
    {"no_stream", FR_FP_ROLE_UPSTREAM, FR_FP_NO_SUBSTREAM},
    {"no_budget", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_BUDGET},
    {"ring_full", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_ROOM},
    {"inactive_slot", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_SLOT},
    {"egress_no_stream", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_STREAM},
    {"egress_unsupported", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_UNSUPPORTED},
    {"no_stream_credit", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_CREDIT},
    {"too_big", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_TOO_BIG},
};

#define NFALLBACKS (sizeof(fallbacks) / sizeof(fallbacks[0]))

size_t fr_fastpath_fallback_reasons(void)
{
    return NFALLBACKS;
}

const char *fr_fastpath_fallback_name(size_t i)
{
    return i < NFALLBACKS ? fallbacks[i].name : NULL;
}

uint64_t fr_fastpath_fallback_count(const fr_fastpath *fp, size_t i)
{
    return i < NFALLBACKS ? fr_fp_kernel_count(fp->k, fallbacks[i].role,
                                               fallbacks[i].reason)
                          : 0;
}

void fr_fastpath_settings_default(fr_fastpath_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->attach = FR_FASTPATH_ATTACH_AUTO;
    s->log.level = FR_LOG_NONE;
}

/* Interfaces and neighbours. */

/* How the relay reaches `peer` now (see nexthop.h). */
static int next_hop(const struct sockaddr_in *peer, int *ifindex,
                    uint8_t own_mac[6], uint8_t next_mac[6])
{
    fr_nexthop_tables t;
    int rv;

    if (fr_nexthop_tables_read(&t) != 0)
        return -1;
    rv = fr_nexthop_find(&t, peer->sin_addr, ifindex, own_mac, next_mac);
    fr_nexthop_tables_free(&t);
    return rv;
}

static int ensure_attached(fr_fastpath *fp, int ifindex, fr_fp_role role)
{
    char why[256];

    if (fr_fp_kernel_is_attached(fp->k, ifindex, role))
        return 0;
    if (fr_fp_kernel_attach(fp->k, ifindex, role, fp->mode, why,
                            sizeof(why)) != 0) {
        FR_WARN(&fp->log, "fast path: cannot attach to interface %d: %s",
                ifindex, why);
        return -1;
    }
    return 0;
}

/* Brings the slot's interface and MAC addresses in line with the routing
 * and neighbour tables `t` (NULL: unreadable) for `peer`; a subscriber
 * without a next hop is left to userspace. Returns nonzero if anything
 * changed (not yet written to the kernel). */
static int follow_next_hop(fr_fastpath *fp, fp_sub *d,
                           const fr_nexthop_tables *t,
                           const struct sockaddr_in *peer)
{
    struct fr_fp_slot k = d->k;
    int ifindex;

    if (!t ||
        fr_nexthop_find(t, peer->sin_addr, &ifindex, k.src_mac, k.dst_mac) ||
        ensure_attached(fp, ifindex, FR_FP_ROLE_SUBSCRIBERS) != 0) {
        k.active = 0;
    } else {
        k.ifindex = (uint32_t)ifindex;
        k.active = 1;
    }
    if (memcmp(&k, &d->k, sizeof(k)) == 0)
        return 0;
    d->k = k;
    return 1;
}

static const struct sockaddr_in *ipv4(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? (const struct sockaddr_in *)ss : NULL;
}

/* Upstream connections. */

static fp_up *up_find(fr_fastpath *fp, const fr_moq_session *s)
{
    for (fp_up *u = fp->ups; u; u = u->next)
        if (u->s == s)
            return u;
    return NULL;
}

/* Writes the connection's current CIDs to the map, and removes old ones. */
static void up_sync_cids(fr_fastpath *fp, fp_up *u)
{
    const ngtcp2_cid *cids;
    uint32_t gen;
    size_t n = fr_conn_local_cids(u->c, &cids, &gen);

    if (u->cid_gen == gen && u->ncids)
        return;
    for (size_t i = 0; i < u->ncids; i++)
        fr_fp_kernel_upstream_cid_remove(fp->k, u->cids[i].data,
                                         u->cids[i].datalen);
    u->ncids = 0;
    for (size_t i = 0; i < n && u->ncids < MAX_UP_CIDS; i++)
        if (fr_fp_kernel_upstream_cid_add(fp->k, u->slot, cids[i].data,
                                          cids[i].datalen) == 0)
            u->cids[u->ncids++] = cids[i];
    u->cid_gen = gen;
}

static fp_up *up_get(fr_fastpath *fp, fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    const struct sockaddr_in *remote = ipv4(&fr_quic_conn_get_path(c)->remote);
    uint8_t mac[6];
    int ifindex;
    fp_up *u = up_find(fp, s);

    if (u)
        return u;
    /* The ingress program goes where the upstream's packets come in. */
    if (fr_quic_conn_get_crypto_mode(c) != FR_CRYPTO_CLEARTEXT || !remote ||
        next_hop(remote, &ifindex, mac, NULL) ||
        ensure_attached(fp, ifindex, FR_FP_ROLE_UPSTREAM))
        return NULL;
    u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    if (fr_fp_kernel_slot_alloc(fp->k, &u->slot) != 0) {
        free(u);
        return NULL;
    }
    u->s = s;
    u->c = c;
    up_sync_cids(fp, u);
    u->next = fp->ups;
    fp->ups = u;
    return u;
}

/* Subscriber connections. */

static fp_sub *sub_find(const fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);

    return fr_splice_ref(c);
}

/* Opens streams for the pool once it runs low. */
static void pool_fill(fr_fastpath *fp, fp_sub *d)
{
    uint64_t ids[FR_FP_POOL_SIZE];
    size_t n = 0, room;

    if (fr_fp_kernel_pool_level(fp->k, d->slot) > POOL_LOW)
        return;
    room = FR_FP_POOL_SIZE - fr_fp_kernel_pool_level(fp->k, d->slot);
    while (n < room) {
        int64_t id;

        if (fr_splice_open_stream(d->c, &id) != 0)
            break; /* out of stream credit: next time */
        ids[n++] = (uint64_t)id;
    }
    fr_fp_kernel_pool_refill(fp->k, d->slot, ids, n);
}

/* Keeps the slot's DCID and addresses the ones ngtcp2 uses: the
 * subscriber may issue new CIDs and retire old ones, or move (a NAT's new
 * mapping, a migration). */
static void sub_sync(fr_fastpath *fp, fp_sub *d)
{
    const ngtcp2_cid *dcid = ngtcp2_conn_get_dcid(fr_conn_ngtcp2(d->c));
    const ngtcp2_path *path = ngtcp2_conn_get_path(fr_conn_ngtcp2(d->c));
    const struct sockaddr_in *r = (const struct sockaddr_in *)path->remote.addr;
    const struct sockaddr_in *l = (const struct sockaddr_in *)path->local.addr;
    int cid_changed = dcid->datalen != d->k.dcid_len ||
                      memcmp(dcid->data, d->k.dcid, dcid->datalen) != 0;
    int moved = r->sin_family == AF_INET && l->sin_family == AF_INET &&
                (r->sin_addr.s_addr != d->k.dst_ip ||
                 r->sin_port != d->k.dst_port ||
                 l->sin_addr.s_addr != d->k.src_ip ||
                 l->sin_port != d->k.src_port);

    if (!cid_changed && !moved)
        return;
    if (cid_changed) {
        d->k.dcid_len = (uint8_t)dcid->datalen;
        memcpy(d->k.dcid, dcid->data, dcid->datalen);
        fp->cid_changes++;
        FR_INFO(&fp->log, "fast path: subscriber in slot %u has a new "
                          "connection ID",
                d->slot);
    }
    if (moved) {
        /* A new address may be reached by another route. */
        if (r->sin_addr.s_addr != d->k.dst_ip) {
            fr_nexthop_tables t;
            int have = fr_nexthop_tables_read(&t) == 0;

            follow_next_hop(fp, d, have ? &t : NULL, r);
            fr_nexthop_tables_free(&t);
        }
        d->k.dst_ip = r->sin_addr.s_addr;
        d->k.dst_port = r->sin_port;
        d->k.src_ip = l->sin_addr.s_addr;
        d->k.src_port = l->sin_port;
        fp->moves++;
        FR_INFO(&fp->log, "fast path: subscriber in slot %u moved to port %u",
                d->slot, ntohs(r->sin_port));
    }
    fr_fp_kernel_slot_set(fp->k, d->slot, &d->k);
    if (cid_changed && fp->hooks.cid_update)
        fp->hooks.cid_update(d->s, d->k.dcid, d->k.dcid_len,
                             fp->hooks.user_data);
}

static fp_sub *sub_get(fr_fastpath *fp, fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    const fr_quic_path *path = fr_quic_conn_get_path(c);
    const struct sockaddr_in *local = ipv4(&path->local);
    const struct sockaddr_in *remote = ipv4(&path->remote);
    const ngtcp2_transport_params *tp;
    const ngtcp2_cid *dcid;
    fr_fastpath_subscriber in;
    fp_sub *d = sub_find(s);
    int ifindex;

    if (d)
        return d;
    if (!fr_splice_active(c) || !local || !remote)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (next_hop(remote, &ifindex, d->k.src_mac, d->k.dst_mac) ||
        ensure_attached(fp, ifindex, FR_FP_ROLE_SUBSCRIBERS) ||
        fr_fp_kernel_slot_alloc(fp->k, &d->slot) != 0) {
        FR_DEBUG(&fp->log, "fast path: a subscriber stays in userspace (no "
                           "interface, neighbour entry or slot for it)");
        free(d);
        return NULL;
    }
    d->s = s;
    d->c = c;
    d->k.src_ip = local->sin_addr.s_addr;
    d->k.dst_ip = remote->sin_addr.s_addr;
    d->k.src_port = local->sin_port;
    d->k.dst_port = remote->sin_port;
    d->k.ifindex = (uint32_t)ifindex;
    d->k.active = 1;
    d->k.max_payload = (uint16_t)fr_ep_settings(fr_quic_conn_get_endpoint(c))
                           ->max_udp_payload_size;
    tp = ngtcp2_conn_get_remote_transport_params(fr_conn_ngtcp2(c));
    d->k.stream_credit = tp ? tp->initial_max_stream_data_uni : 0;
    dcid = ngtcp2_conn_get_dcid(fr_conn_ngtcp2(c));
    d->k.dcid_len = (uint8_t)dcid->datalen;
    memcpy(d->k.dcid, dcid->data, dcid->datalen);
    /* The policy is asked before the first subgroup: until its first
     * answer the slot would let every priority through (seen: a
     * key-frames-only subscriber got a whole group of delta frames). */
    sub_info(s, d, &in);
    d->k.priority_floor = floor_of(fp, &in);
    d->policy_at = conn_now(c);
    /* Send state and streams are in place before the slot is active. */
    fr_splice_use_tx(c, fr_fp_kernel_tx(fp->k, d->slot));
    pool_fill(fp, d);
    if (fr_fp_kernel_slot_set(fp->k, d->slot, &d->k) != 0) {
        fr_splice_use_tx(c, NULL);
        fr_fp_kernel_slot_free(fp->k, d->slot);
        free(d);
        return NULL;
    }
    fr_splice_set_ref(c, d);
    fp->by_slot[d->slot] = d;
    d->next = fp->subs;
    fp->subs = d;
    if (fp->hooks.cid_update)
        fp->hooks.cid_update(s, d->k.dcid, d->k.dcid_len, fp->hooks.user_data);
    return d;
}

static void join_remove(fr_fastpath *fp, fp_sub *d, size_t i)
{
    fr_fp_kernel_track_leave(fp->k, d->joins[i].up->slot, d->joins[i].alias,
                             d->slot);
    d->joins[i] = d->joins[--d->njoins];
}

static void on_sent(const struct fr_fp_sent_event *ev, void *arg)
{
    fr_fastpath *fp = arg;
    fp_sub *d = ev->slot < FR_FP_MAX_SLOTS ? fp->by_slot[ev->slot] : NULL;

    fp->kernel_copies++;
    if (!d || ev->gen != fr_fp_kernel_slot_gen(fp->k, ev->slot) ||
        fr_splice_kernel_sent(d->c, ev) != 0)
        fp->orphans++;
}

static void add_stats(fr_splice_stats *sum, const fr_splice_stats *s)
{
    sum->kernel_packets += s->kernel_packets;
    sum->registered += s->registered;
    sum->stale += s->stale;
    sum->extra_packets += s->extra_packets;
    sum->userspace_bytes += s->userspace_bytes;
    sum->held += s->held;
}

/* The kernel stops serving the connection: it leaves its tracks, its
 * last records reach it, it takes its send state back. */
static void sub_release(fr_fastpath *fp, fp_sub *d)
{
    fr_splice_stats st;
    fp_sub **pp = &fp->subs;

    while (d->njoins)
        join_remove(fp, d, d->njoins - 1);
    d->k.active = 0;
    fr_fp_kernel_slot_set(fp->k, d->slot, &d->k);
    fr_fp_kernel_poll_sent(fp->k, on_sent, fp);
    fr_splice_use_tx(d->c, NULL);
    fr_splice_set_ref(d->c, NULL);
    fr_splice_get_stats(d->c, &st);
    add_stats(&fp->gone, &st);
    /* Its records still waiting to be registered never will be: the
     * copies went to a connection that is leaving. */
    fp->orphans += fr_splice_unregistered(&st);
    fp->by_slot[d->slot] = NULL;
    fr_fp_kernel_slot_free(fp->k, d->slot);
    while (*pp != d)
        pp = &(*pp)->next;
    *pp = d->next;
    free(d);
}

static void up_release(fr_fastpath *fp, fp_up *u)
{
    fp_up **pp = &fp->ups;

    for (fp_sub *d = fp->subs; d; d = d->next)
        for (size_t i = d->njoins; i-- > 0;)
            if (d->joins[i].up == u)
                join_remove(fp, d, i);
    for (size_t i = 0; i < u->ncids; i++)
        fr_fp_kernel_upstream_cid_remove(fp->k, u->cids[i].data,
                                         u->cids[i].datalen);
    fr_fp_kernel_slot_free(fp->k, u->slot);
    while (*pp != u)
        pp = &(*pp)->next;
    *pp = u->next;
    free(u);
}

/* Relay hooks. */

static int hook_join(void *arg, fr_moq_session *up, uint64_t alias,
                     uint8_t default_priority, fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_up *u = up_get(fp, up);
    fp_sub *d = u ? sub_get(fp, down) : NULL;

    if (!d || d->njoins == MAX_JOINS ||
        fr_fp_kernel_track_join(fp->k, u->slot, alias, default_priority,
                                d->slot) != 0)
        return -1;
    d->joins[d->njoins].up = u;
    d->joins[d->njoins].alias = alias;
    d->njoins++;
    return 0;
}

static void hook_leave(void *arg, fr_moq_session *up, uint64_t alias,
                       fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_up *u = up_find(fp, up);
    fp_sub *d = sub_find(down);

    if (!u || !d)
        return;
    for (size_t i = 0; i < d->njoins; i++)
        if (d->joins[i].up == u && d->joins[i].alias == alias) {
            join_remove(fp, d, i);
            return;
        }
}

static int64_t hook_stream_for(void *arg, fr_moq_session *up, uint64_t stream,
                               fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_sub *d = sub_find(down);
    uint64_t sid;
    int late;

    (void)up;
    if (!d ||
        fr_fp_kernel_substream_claim(fp->k, d->slot, stream, &sid, &late) != 0)
        return -1;
    fp->late_starts += (uint64_t)late;
    return (int64_t)sid;
}

static void hook_stream_end(void *arg, fr_moq_session *up, uint64_t stream,
                            fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_sub *d = sub_find(down);

    (void)up;
    if (d)
        fr_fp_kernel_substream_forget(fp->k, d->slot, stream);
}

static int hook_admit(void *arg, fr_moq_session *down, uint8_t priority)
{
    fr_fastpath *fp = arg;
    fp_sub *d = sub_find(down);
    fr_fastpath_subscriber in;
    uint8_t floor;

    /* A served subscriber's floor is kept current in its slot; one the
     * kernel does not serve is asked now. */
    if (d) {
        floor = d->k.priority_floor;
    } else {
        sub_info(down, NULL, &in);
        floor = floor_of(fp, &in);
    }
    if (priority <= floor)
        return 1;
    fp->policy_drops++;
    return 0;
}

static void hook_session_closed(void *arg, fr_moq_session *s)
{
    fr_fastpath *fp = arg;
    fp_sub *d = sub_find(s);
    fp_up *u = up_find(fp, s);

    if (d)
        sub_release(fp, d);
    if (u)
        up_release(fp, u);
}

/* Routes and neighbours change (a gateway fails over, a neighbour gets a
 * new MAC address): every served subscriber's next hop is looked up again
 * (see maybe_refresh_next_hops for when). */
static void refresh_next_hops(fr_fastpath *fp, fr_tstamp now)
{
    fr_nexthop_tables t;
    int have = fr_nexthop_tables_read(&t) == 0;

    fp->hops_at = now;
    for (fp_sub *d = fp->subs; d; d = d->next) {
        struct sockaddr_in peer = {.sin_family = AF_INET,
                                   .sin_port = d->k.dst_port};

        peer.sin_addr.s_addr = d->k.dst_ip;
        if (!follow_next_hop(fp, d, have ? &t : NULL, &peer))
            continue;
        fp->hop_changes++;
        FR_INFO(&fp->log, "fast path: subscriber in slot %u has a new next "
                          "hop%s",
                d->slot, d->k.active ? "" : " (none known: userspace sends)");
        fr_fp_kernel_slot_set(fp->k, d->slot, &d->k);
    }
    fr_nexthop_tables_free(&t);
}

/* A socket that hears of route, neighbour and link changes, or -1. */
static int open_announcements(void)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_NEIGH |
                                          RTMGRP_IPV4_ROUTE};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    NETLINK_ROUTE);

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Whether the kernel announced a change since the last call (reads every
 * announcement waiting). */
static int announced(fr_fastpath *fp)
{
    char buf[8192];
    int any = 0;

    if (fp->nl_fd < 0)
        return 0;
    while (recv(fp->nl_fd, buf, sizeof(buf), 0) > 0)
        any = 1;
    return any;
}

static void maybe_refresh_next_hops(fr_fastpath *fp, fr_tstamp now)
{
    if (now - fp->hops_checked >= HOP_CHECK) {
        fp->hops_checked = now;
        fp->hops_stale |= announced(fp);
    }
    if ((fp->hops_stale && now - fp->hops_at >= HOP_MIN) ||
        now - fp->hops_at >= HOP_INTERVAL) {
        fp->hops_stale = 0;
        refresh_next_hops(fp, now);
    }
}

/* Before every ngtcp2 call on a subscriber connection: the kernel's
 * records reach their connections, and this connection's slot and the
 * upstream CIDs are brought up to date. */
static void drain(void *arg, fr_quic_conn *c)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    fr_fp_kernel_poll_sent(fp->k, on_sent, fp);
    maybe_refresh_next_hops(fp, conn_now(c));
    for (fp_up *u = fp->ups; u; u = u->next)
        up_sync_cids(fp, u);
    if (d) {
        sub_sync(fp, d);
        pool_fill(fp, d);
    }
}

/* After each ngtcp2 call on a served subscriber: its policies. The
 * priority floor goes to the slot when it changes; the budget the
 * congestion policy grants is what the kernel gets. */
static uint64_t budget(void *arg, fr_quic_conn *c, uint64_t allowed)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);
    fr_fastpath_subscriber in;
    uint8_t floor;
    uint64_t b;

    if (!d)
        return allowed;
    if (!fp->hooks.budget && d->policy_at &&
        conn_now(c) - d->policy_at < POLICY_INTERVAL)
        return allowed;
    d->policy_at = conn_now(c);
    sub_info(d->s, d, &in);
    floor = floor_of(fp, &in);
    if (floor != d->k.priority_floor) {
        d->k.priority_floor = floor;
        fr_fp_kernel_slot_set(fp->k, d->slot, &d->k);
    }
    if (!fp->hooks.budget)
        return allowed;
    b = fp->hooks.budget(&in, allowed, fp->hooks.user_data);
    return b < allowed ? b : allowed;
}

static void registered(void *arg, fr_quic_conn *c,
                       const struct fr_fp_sent_event *ev)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    if (d && fp->hooks.registered)
        fp->hooks.registered(d->s, (int64_t)ev->stream, ev->offset,
                             ev->length, fp->hooks.user_data);
}

/* Kernel data was lost: by default ngtcp2 sends it again; the on_lost hook
 * may give the subgroup up instead: the kernel stops forwarding it, and
 * once every copy it sent is registered (so the stream's final size
 * covers them) the stream is reset; the relay's next write to it fails. */
static void lost(void *arg, fr_quic_conn *c, int64_t stream_id,
                 uint64_t upstream_stream)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    if (!d || !fp->hooks.on_lost ||
        fp->hooks.on_lost(d->s, stream_id, fp->hooks.user_data) !=
            FR_FASTPATH_RESET)
        return;
    fr_fp_kernel_substream_forget(fp->k, d->slot, upstream_stream);
    if (fr_splice_reset_stream(c, stream_id, FR_MOQ_STREAM_TOO_FAR_BEHIND) ==
        0)
        fp->lost_resets++;
}

/* A kernel stream's credit grew: the kernel may send further on it. */
static void credit(void *arg, fr_quic_conn *c, int64_t stream_id,
                   uint64_t max_data)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    if (d)
        fr_fp_kernel_credit_set(fp->k, d->slot, (uint64_t)stream_id,
                                max_data);
}

int fr_fastpath_new(fr_fastpath **pfp, fr_relay *relay,
                    fr_moq_endpoint *downstream,
                    const fr_fastpath_settings *settings, char *why,
                    size_t whylen)
{
    fr_quic_endpoint *ep;
    fr_fastpath *fp;
    fr_relay_fastpath hooks = {.join = hook_join,
                               .leave = hook_leave,
                               .stream_for = hook_stream_for,
                               .stream_end = hook_stream_end,
                               .admit = hook_admit,
                               .session_closed = hook_session_closed};
    int rv;

    if (!pfp || !relay || !downstream || !settings)
        return FR_ERR_INVALID_ARGUMENT;
    ep = fr_moq_endpoint_quic(downstream);
    if (fr_ep_settings(ep)->crypto_mode != FR_CRYPTO_CLEARTEXT) {
        snprintf(why, whylen,
                 "the fast path needs cleartext mode: the kernel reads and "
                 "rewrites the packets");
        return FR_ERR_INVALID_ARGUMENT;
    }
    if (fr_quic_endpoint_conn_count(ep)) {
        snprintf(why, whylen, "the endpoint has connections already");
        return FR_ERR_INVALID_STATE;
    }
    fp = calloc(1, sizeof(*fp));
    if (!fp)
        return FR_ERR_NOMEM;
    rv = fr_fp_kernel_open(&fp->k, fr_ep_settings(ep)->cid_len, why, whylen);
    if (rv) {
        free(fp);
        return rv;
    }
    fp->relay = relay;
    fp->ep = ep;
    fp->log = settings->log;
    fp->nl_fd = open_announcements();
    if (fp->nl_fd < 0)
        FR_WARN(&fp->log, "fast path: no route/neighbour announcements (%s); "
                          "next hops are looked up every %d s",
                strerror(errno), (int)(HOP_INTERVAL / FR_SECONDS));
    fp->mode = settings->attach == FR_FASTPATH_ATTACH_TCX ? FR_FP_ATTACH_TCX
               : settings->attach == FR_FASTPATH_ATTACH_TC ? FR_FP_ATTACH_TC
                                                           : FR_FP_ATTACH_AUTO;
    hooks.arg = fp;
    fr_relay_set_fastpath(relay, &hooks);
    fp->ops.arg = fp;
    fp->ops.drain = drain;
    fp->ops.credit = credit;
    fp->ops.budget = budget;
    fp->ops.registered = registered;
    fp->ops.lost = lost;
    fr_splice_enable(ep, &fp->ops);
    *pfp = fp;
    return 0;
}

void fr_fastpath_del(fr_fastpath *fp)
{
    if (!fp)
        return;
    while (fp->subs)
        sub_release(fp, fp->subs);
    while (fp->ups)
        up_release(fp, fp->ups);
    fr_relay_set_fastpath(fp->relay, NULL);
    /* Its connections stay spliced, on their own send state. */
    fr_splice_enable(fp->ep, NULL);
    fr_fp_kernel_close(fp->k);
    if (fp->nl_fd >= 0)
        close(fp->nl_fd);
    free(fp);
}

void fr_fastpath_set_hooks(fr_fastpath *fp, const fr_fastpath_hooks *hooks)
{
    if (hooks)
        fp->hooks = *hooks;
    else
        memset(&fp->hooks, 0, sizeof(fp->hooks));
}

/* Every counter, in the newest layout. */
static void get_stats(const fr_fastpath *fp, fr_fastpath_stats *st)
{
    fr_splice_stats sum = fp->gone;

    memset(st, 0, sizeof(*st));
    for (const fp_sub *d = fp->subs; d; d = d->next) {
        fr_splice_stats s;

        fr_splice_get_stats(d->c, &s);
        add_stats(&sum, &s);
        st->unregistered += fr_splice_unregistered(&s);
        st->subscribers++;
    }
    for (const fp_up *u = fp->ups; u; u = u->next)
        st->upstreams++;
    st->kernel_copies = fp->kernel_copies;
    st->userspace_copies = fr_ep_copy_packets(fp->ep, FR_COPY_ELIGIBLE);
    st->cache_replay_copies = fr_ep_copy_packets(fp->ep, FR_COPY_REPLAY);
    st->retransmitted = fr_conn_hooks_lost(fp->ep);
    st->registered = sum.registered;
    st->stale = sum.stale;
    st->orphaned = fp->orphans;
    st->held_datagrams = sum.held;
    st->declined_bytes = sum.userspace_bytes;
    st->extra_packets = sum.extra_packets;
    st->policy_drops = fp->policy_drops;
    st->lost_resets = fp->lost_resets;
    st->late_starts = fp->late_starts;
    st->cid_changes = fp->cid_changes;
    st->moves = fp->moves;
    st->next_hop_changes = fp->hop_changes;
}

int fr_fastpath_get_stats_versioned(const fr_fastpath *fp, int version,
                                    fr_fastpath_stats *st)
{
    fr_fastpath_stats all;
    size_t n;

    switch (version) {
    case FR_FASTPATH_STATS_V1:
        n = offsetof(fr_fastpath_stats, late_starts);
        break;
    case FR_FASTPATH_STATS_V2:
        n = sizeof(all);
        break;
    default:
        return FR_ERR_INVALID_ARGUMENT;
    }
    get_stats(fp, &all);
    memcpy(st, &all, n);
    return 0;
}

#undef fr_fastpath_get_stats
void fr_fastpath_get_stats(const fr_fastpath *fp, fr_fastpath_stats *st)
{
    fr_fastpath_get_stats_versioned(fp, FR_FASTPATH_STATS_V1, st);
}
