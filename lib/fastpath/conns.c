/*
 * The fast path's slots: one per upstream connection (its CIDs) and per
 * subscriber connection the kernel serves (addresses, CID, stream pool,
 * send state), kept current with the connection and released with it.
 */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "fastpath_internal.h"

/* A pool is topped up when it falls to this level. */
#define POOL_LOW (FR_FP_POOL_SIZE / 2)

static const struct sockaddr_in *ipv4(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? (const struct sockaddr_in *)ss : NULL;
}

fp_up *fr_fp_up_find(fr_fastpath *fp, const fr_moq_session *s)
{
    for (fp_up *u = fp->ups; u; u = u->next)
        if (u->s == s)
            return u;
    return NULL;
}

/* Writes the connection's current CIDs to the map, and removes old ones. */
void fr_fp_up_sync_cids(fr_fastpath *fp, fp_up *u)
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

fp_up *fr_fp_up_get(fr_fastpath *fp, fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    const struct sockaddr_in *remote = ipv4(&fr_quic_conn_get_path(c)->remote);
    uint8_t mac[6];
    int ifindex;
    fp_up *u = fr_fp_up_find(fp, s);

    if (u)
        return u;
    /* The ingress program goes where the upstream's packets come in.
     * The slot is made even while that attachment is under way (off the
     * loop): its keys, CIDs and packet-number record are in place when
     * the program starts (fr_fp_pn_up keeps the record near userspace's,
     * which opens the packets the program did not see). */
    if (!remote)
        return NULL;
    switch (fr_fp_reach(fp, remote, FR_FP_ROLE_UPSTREAM, &ifindex, mac,
                        NULL)) {
    case 0:
    case FR_ERR_INVALID_STATE:
        break;
    default:
        return NULL;
    }
    u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    if (fr_fp_kernel_slot_alloc(fp->k, &u->slot) != 0) {
        free(u);
        return NULL;
    }
    u->s = s;
    u->c = c;
    switch (fr_fp_keys_up(fp, u)) {
    case 0:
        fr_fp_pn_up(fp, u);
        fr_fp_up_sync_cids(fp, u);
        break;
    case FR_ERR_UNSUPPORTED:
        /* Kept, so that it is counted once and asked no more. */
        FR_WARN(&fp->log, "fast path: an upstream negotiated another suite "
                          "than ChaCha20-Poly1305: userspace serves it");
        u->refused = 1;
        fp->cipher_refused++;
        break;
    default: /* no keys yet: next time */
        fr_fp_kernel_slot_free(fp->k, u->slot);
        free(u);
        return NULL;
    }
    u->next = fp->ups;
    fp->ups = u;
    return u;
}

int fr_fp_attaching(fr_fastpath *fp, fr_moq_session *s, fr_fp_role role)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    const struct sockaddr_in *remote = ipv4(&fr_quic_conn_get_path(c)->remote);
    const fp_up *u = fr_fp_up_find(fp, s);
    uint8_t mac[6];
    int ifindex;

    if (!remote || (u && u->refused) ||
        (role == FR_FP_ROLE_SUBSCRIBERS &&
         (!fr_splice_active(c) || fr_fp_suite_refused(fp, c))))
        return 0;
    return fr_fp_reach(fp, remote, role, &ifindex, mac, NULL) ==
           FR_ERR_INVALID_STATE;
}

fp_sub *fr_fp_sub_find(const fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);

    return fr_splice_ref(c);
}

/* Opens streams for the pool once it runs low. */
void fr_fp_pool_fill(fr_fastpath *fp, fp_sub *d)
{
    uint64_t ids[FR_FP_POOL_SIZE];
    size_t n = 0, room;

    if (fr_fp_kernel_pool_level(fp->k, d->slot) > POOL_LOW)
        return;
    room = FR_FP_POOL_SIZE - fr_fp_kernel_pool_level(fp->k, d->slot);
    while (n < room) {
        size_t hlen;
        int64_t id;

        if (fr_splice_open_stream(d->c, &id) != 0)
            break; /* out of stream credit: next time */
        /* The session's transport header (WebTransport's) goes first;
         * the kernel's copies follow it (the slot's stream_shift). */
        if (fr_moq_session_adopt_stream(d->s, id, &hlen) != 0 ||
            hlen > UINT8_MAX) {
            fr_quic_conn_stream_reset(d->c, id, FR_MOQ_STREAM_INTERNAL_ERROR);
            break;
        }
        d->k.stream_shift = (uint8_t)hlen;
        ids[n++] = (uint64_t)id;
    }
    fr_fp_kernel_pool_refill(fp->k, d->slot, ids, n);
}

/* Keeps the slot's DCID and addresses the ones ngtcp2 uses: the
 * subscriber may issue new CIDs and retire old ones, or move (a NAT's new
 * mapping, a migration). */
void fr_fp_sub_sync(fr_fastpath *fp, fp_sub *d)
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
            int have = fr_fp_kernel_tables_read(fp->k, &t) == 0;

            fr_fp_follow_next_hop(fp, d, have ? &t : NULL, r);
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

fp_sub *fr_fp_sub_get(fr_fastpath *fp, fr_moq_session *s)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    const fr_quic_path *path = fr_quic_conn_get_path(c);
    const struct sockaddr_in *local = ipv4(&path->local);
    const struct sockaddr_in *remote = ipv4(&path->remote);
    const ngtcp2_transport_params *tp;
    const ngtcp2_cid *dcid;
    fr_fastpath_subscriber in;
    fp_sub *d = fr_fp_sub_find(s);
    int ifindex;

    if (d)
        return d;
    if (!fr_splice_active(c) || !local || !remote)
        return NULL;
    /* Its suite decides first (one on another suite was counted at its
     * handshake); the keys go in with the slot. */
    if (fr_fp_suite_refused(fp, c))
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (fr_fp_reach(fp, remote, FR_FP_ROLE_SUBSCRIBERS, &ifindex,
                    d->k.src_mac, d->k.dst_mac) ||
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
    fr_fp_sub_info(s, d, &in);
    d->k.priority_floor = fr_fp_floor_of(fp, &in);
    d->policy_at = conn_now(c);
    /* Keys, send state and streams are in place before the slot is
     * active. */
    fr_splice_use_tx(c, fr_fp_kernel_tx(fp->k, d->slot));
    fr_fp_pool_fill(fp, d);
    if (fr_fp_keys_sub(fp, c, d->slot) != 0 ||
        fr_fp_kernel_slot_set(fp->k, d->slot, &d->k) != 0) {
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

void fr_fp_join_remove(fr_fastpath *fp, fp_sub *d, size_t i)
{
    fr_fp_kernel_track_leave(fp->k, d->joins[i].up->slot, d->joins[i].alias,
                             d->slot);
    d->joins[i] = d->joins[--d->njoins];
}

void fr_fp_on_sent(const struct fr_fp_sent_event *ev, void *arg)
{
    fr_fastpath *fp = arg;
    fp_sub *d = ev->slot < FR_FP_MAX_SLOTS ? fp->by_slot[ev->slot] : NULL;

    fp->kernel_copies++;
    if (!d || ev->gen != fr_fp_kernel_slot_gen(fp->k, ev->slot) ||
        fr_splice_kernel_sent(d->c, ev) != 0)
        fp->orphans++;
}

void fr_fp_add_stats(fr_splice_stats *sum, const fr_splice_stats *s)
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
void fr_fp_sub_release(fr_fastpath *fp, fp_sub *d)
{
    fr_splice_stats st;
    fp_sub **pp = &fp->subs;

    while (d->njoins)
        fr_fp_join_remove(fp, d, d->njoins - 1);
    d->k.active = 0;
    fr_fp_kernel_slot_set(fp->k, d->slot, &d->k);
    fr_fp_kernel_poll_sent(fp->k, fr_fp_on_sent, fp);
    fr_splice_use_tx(d->c, NULL);
    fr_splice_set_ref(d->c, NULL);
    fr_splice_get_stats(d->c, &st);
    fr_fp_add_stats(&fp->gone, &st);
    /* Its records still waiting to be registered never will be: the
     * copies went to a connection that is leaving. */
    fp->orphans += fr_splice_unregistered(&st);
    fp->by_slot[d->slot] = NULL;
    fr_fp_kernel_slot_free(fp->k, d->slot);
    while (*pp != d)
        pp = &(*pp)->next;
    *pp = d->next;
    free(d->joins);
    free(d);
}

void fr_fp_up_release(fr_fastpath *fp, fp_up *u)
{
    fp_up **pp = &fp->ups;

    for (fp_sub *d = fp->subs; d; d = d->next)
        for (size_t i = d->njoins; i-- > 0;)
            if (d->joins[i].up == u)
                fr_fp_join_remove(fp, d, i);
    for (size_t i = 0; i < u->ncids; i++)
        fr_fp_kernel_upstream_cid_remove(fp->k, u->cids[i].data,
                                         u->cids[i].datalen);
    fr_fp_kernel_slot_free(fp->k, u->slot);
    while (*pp != u)
        pp = &(*pp)->next;
    *pp = u->next;
    free(u);
}
