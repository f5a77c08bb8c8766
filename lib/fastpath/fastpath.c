/*
 * The fast path of a relay (include/fastrelay/fastpath.h): its life cycle
 * and counters, the relay's hooks and the splice layer's ops implemented
 * over the kernel module. Slots are in conns.c, next hops in hops.c, the
 * priority policy in policy.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastrelay/error.h>

#include "../quic/conn_hooks.h"
#include "../quic/copy_class.h"
#include "../util/grow.h"
#include "../util/layout.h"
#include "fastpath_internal.h"

/* How often a served subscriber's priority policy is asked (without a
 * congestion policy, which is asked every time: it sets the budget). */
#define POLICY_INTERVAL (10 * FR_MILLISECONDS)
/* How often the loop looks for an attachment made off it to be done:
 * nothing else may wake it then (the relay holds a SUBSCRIBE for it). */
#define ATTACH_POLL FR_MILLISECONDS

/* Why media went through userspace: a program's count, or (library) the
 * connections whose suite the kernel cannot use. */
static const struct fallback {
    const char *name;
    fr_fp_role role;
    uint32_t reason;
    int library;
} fallbacks[] = {
    {"ack_not_first", FR_FP_ROLE_UPSTREAM, FR_FP_NEEDS_ACK_STRIP, 0},
    {"media_not_first", FR_FP_ROLE_UPSTREAM, FR_FP_MEDIA_NOT_FIRST, 0},
    {"multi_stream", FR_FP_ROLE_UPSTREAM, FR_FP_MULTI_STREAM, 0},
    {"unknown_frame", FR_FP_ROLE_UPSTREAM, FR_FP_UNKNOWN_FRAME, 0},
    {"malformed", FR_FP_ROLE_UPSTREAM, FR_FP_MALFORMED, 0},
    {"no_stream", FR_FP_ROLE_UPSTREAM, FR_FP_NO_SUBSTREAM, 0},
    {"no_budget", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_BUDGET, 0},
    {"ring_full", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_ROOM, 0},
    {"inactive_slot", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_SLOT, 0},
    {"egress_no_stream", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_STREAM, 0},
    {"egress_unsupported", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_UNSUPPORTED, 0},
    {"no_stream_credit", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_CREDIT, 0},
    {"too_big", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_TOO_BIG, 0},
    {"open_failed", FR_FP_ROLE_UPSTREAM, FR_FP_OPEN_FAILED, 0},
    {"no_keys", FR_FP_ROLE_UPSTREAM, FR_FP_NO_KEYS, 0},
    {"egress_no_keys", FR_FP_ROLE_SUBSCRIBERS, FR_FP_EG_NO_KEYS, 0},
    {"alias_too_long", FR_FP_ROLE_UPSTREAM, FR_FP_ALIAS_TOO_LONG, 0},
    {"cipher", FR_FP_ROLE_UPSTREAM, 0, 1},
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
    if (i >= NFALLBACKS)
        return 0;
    if (fallbacks[i].library)
        return fp->cipher_refused;
    return fr_fp_kernel_count(fp->k, fallbacks[i].role, fallbacks[i].reason);
}

static const fr_layout settings_layouts[] =
    FR_LAYOUT_ONE(fr_fastpath_settings);
static const fr_layout hooks_layouts[] = FR_LAYOUT_ONE(fr_fastpath_hooks);

int fr_fastpath_settings_default_versioned(int version,
                                           fr_fastpath_settings *s)
{
    fr_fastpath_settings d;

    memset(&d, 0, sizeof(d));
    d.attach = FR_FASTPATH_ATTACH_AUTO;
    d.log.level = FR_LOG_NONE;
    return fr_layout_copy(s, &d, FR_LAYOUTS(settings_layouts), version);
}

#undef fr_fastpath_settings_default
void fr_fastpath_settings_default(fr_fastpath_settings *s)
{
    fr_fastpath_settings_default_versioned(1, s);
}

/* Relay hooks. */

/* The relay is about to subscribe upstream for a first subscriber: the
 * attachments both need are asked for now, and while one is under way
 * the relay holds its SUBSCRIBE, so that no subgroup of the track begins
 * before the kernel can take it (it takes a subscriber on only from a
 * subgroup's start). Asked with one side only, ahead of that, for a
 * session that became ready or that may publish: its attachment starts
 * then, and is usually in by the first SUBSCRIBE. */
static int hook_prepare(void *arg, fr_moq_session *up, fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    /* Both asked for before either is waited on. */
    int up_waits = up && fr_fp_attaching(fp, up, FR_FP_ROLE_UPSTREAM);
    int down_waits =
        down && fr_fp_attaching(fp, down, FR_FP_ROLE_SUBSCRIBERS);

    return up_waits || down_waits;
}

static int hook_join(void *arg, fr_moq_session *up, uint64_t alias,
                     uint64_t down_alias, uint8_t default_priority,
                     fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_up *u;
    fp_sub *d;
    int rv;

    /* An upstream over WebTransport carries a header in front of each
     * stream that the ingress program does not skip yet: its tracks stay
     * in userspace. A WebTransport subscriber's header is written by
     * userspace and its copies shifted (fr_fp_slot.stream_shift). */
    if (fr_moq_session_is_webtransport(up))
        return FR_ERR_UNSUPPORTED;
    /* Both even when the upstream is not ready: their attachments (made
     * off the loop, kernel.h) are then under way together. */
    u = fr_fp_up_get(fp, up);
    d = !u || !u->refused ? fr_fp_sub_get(fp, down) : NULL;
    if ((u && u->refused) ||
        (!d && fr_fp_suite_refused(fp, fr_moq_session_conn(down))))
        return FR_ERR_UNSUPPORTED;
    if (!u || !d)
        return FR_ERR_LIMIT;
    if (fr_grow((void **)&d->joins, &d->capjoins, d->njoins,
                sizeof(*d->joins), 8) != 0)
        return FR_ERR_NOMEM;
    rv = fr_fp_kernel_track_join(fp->k, u->slot, alias, down_alias,
                                 default_priority, d->slot);
    if (rv)
        return rv;
    d->joins[d->njoins].up = u;
    d->joins[d->njoins].alias = alias;
    d->njoins++;
    return 0;
}

static void hook_leave(void *arg, fr_moq_session *up, uint64_t alias,
                       fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_up *u = fr_fp_up_find(fp, up);
    fp_sub *d = fr_fp_sub_find(down);

    if (!u || !d)
        return;
    for (size_t i = 0; i < d->njoins; i++)
        if (d->joins[i].up == u && d->joins[i].alias == alias) {
            fr_fp_join_remove(fp, d, i);
            return;
        }
}

static int64_t hook_stream_for(void *arg, fr_moq_session *up, uint64_t stream,
                               fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_fp_sub_find(down);
    fp_up *u = fr_fp_up_find(fp, up);
    uint64_t sid;
    int late;

    if (!d || !u ||
        fr_fp_kernel_substream_claim(fp->k, d->slot, u->slot, stream, &sid,
                                     &late) != 0)
        return -1;
    fp->late_starts += (uint64_t)late;
    return (int64_t)sid;
}

static void hook_stream_end(void *arg, fr_moq_session *up, uint64_t stream,
                            fr_moq_session *down)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_fp_sub_find(down);
    fp_up *u = fr_fp_up_find(fp, up);

    if (d && u)
        fr_fp_kernel_substream_forget(fp->k, d->slot, u->slot, stream);
}

static int hook_admit(void *arg, fr_moq_session *down, uint8_t priority)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_fp_sub_find(down);
    fr_fastpath_subscriber in;
    uint8_t floor;

    /* A served subscriber's floor is kept current in its slot; one the
     * kernel does not serve is asked now. */
    if (d) {
        floor = d->k.priority_floor;
    } else {
        fr_fp_sub_info(down, NULL, &in);
        floor = fr_fp_floor_of(fp, &in);
    }
    if (priority <= floor)
        return 1;
    fp->policy_drops++;
    return 0;
}

static void hook_session_closed(void *arg, fr_moq_session *s)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_fp_sub_find(s);
    fp_up *u = fr_fp_up_find(fp, s);

    if (d)
        fr_fp_sub_release(fp, d);
    if (u)
        fr_fp_up_release(fp, u);
}

/* Before every ngtcp2 call on a subscriber connection: the kernel's
 * records reach their connections, the upstreams' CIDs and keys are
 * brought up to date, and this connection's stream pool refilled. */
static void drain(void *arg, fr_quic_conn *c)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    fr_fp_kernel_poll_sent(fp->k, fr_fp_on_sent, fp);
    fr_fp_maybe_refresh_next_hops(fp, conn_now(c));
    for (fp_up *u = fp->ups; u; u = u->next) {
        if (u->refused)
            continue;
        fr_fp_up_sync_cids(fp, u);
        fr_fp_keys_up(fp, u);
        fr_fp_pn_up(fp, u);
    }
    if (d)
        fr_fp_pool_fill(fp, d);
}

/* Once per flush, before any connection writes: the kernel's records
 * reach their connections, and once an attachment made off the loop is
 * done, the relay asks again what it held back for it: joins, and
 * upstream SUBSCRIBEs (a safe point for it: no connection is in the
 * middle of an ngtcp2 call). */
static void poll_kernel(void *arg)
{
    fr_fastpath *fp = arg;

    fr_fp_kernel_poll_sent(fp->k, fr_fp_on_sent, fp);
    if (fr_fp_attach_poll(fp))
        fr_relay_fastpath_retry(fp->relay);
}

/* fr_splice_ops.poll_by: soon again while an attachment is under way. */
static fr_tstamp poll_by(void *arg)
{
    fr_fastpath *fp = arg;

    return fr_fp_kernel_attaching(fp->k)
               ? fr_quic_endpoint_now(fp->ep) + ATTACH_POLL
               : FR_TSTAMP_MAX;
}

/* After each ngtcp2 call on a served subscriber: the slot follows the
 * connection ID and path the call may have changed (read while ngtcp2's
 * state is still in cache; before the call it cost 3 % of the relay at
 * 300 subscribers), then its policies. The priority floor goes to the
 * slot when it changes; the budget the congestion policy grants is what
 * the kernel gets. */
static uint64_t budget(void *arg, fr_quic_conn *c, uint64_t allowed)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);
    fr_fastpath_subscriber in;
    uint8_t floor;
    uint64_t b;

    if (!d)
        return allowed;
    fr_fp_sub_sync(fp, d);
    if (!fp->hooks.budget && d->policy_at &&
        conn_now(c) - d->policy_at < POLICY_INTERVAL)
        return allowed;
    d->policy_at = conn_now(c);
    fr_fp_sub_info(d->s, d, &in);
    floor = fr_fp_floor_of(fp, &in);
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
                 uint32_t up_slot, uint64_t upstream_stream)
{
    fr_fastpath *fp = arg;
    fp_sub *d = fr_splice_ref(c);

    if (!d || !fp->hooks.on_lost ||
        fp->hooks.on_lost(d->s, stream_id, fp->hooks.user_data) !=
            FR_FASTPATH_RESET)
        return;
    fr_fp_kernel_substream_forget(fp->k, d->slot, up_slot, upstream_stream);
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

int fr_fp_new_on(fr_fastpath **pfp, fr_relay *relay, fr_quic_endpoint *ep,
                 fr_fp_dataplane *dp, const fr_fastpath_settings *settings,
                 char *why, size_t whylen)
{
    fr_fastpath *fp;
    fr_relay_fastpath hooks = {.prepare = hook_prepare,
                               .join = hook_join,
                               .leave = hook_leave,
                               .stream_for = hook_stream_for,
                               .stream_end = hook_stream_end,
                               .admit = hook_admit,
                               .session_closed = hook_session_closed};
    int rv;

    if (fr_quic_endpoint_conn_count(ep)) {
        snprintf(why, whylen, "the endpoint has connections already");
        rv = FR_ERR_INVALID_STATE;
        goto fail;
    }
    fp = calloc(1, sizeof(*fp));
    if (!fp) {
        rv = FR_ERR_NOMEM;
        goto fail;
    }
    rv = dp ? fr_fp_kernel_on(&fp->k, dp)
            : fr_fp_kernel_open(&fp->k, fr_ep_settings(ep)->cid_len,
                                fr_ep_settings(ep)->crypto_mode ==
                                    FR_CRYPTO_TLS,
                                why, whylen);
    if (rv) {
        free(fp);
        return rv;
    }
    fp->relay = relay;
    fp->ep = ep;
    fp->tls = fr_ep_settings(ep)->crypto_mode == FR_CRYPTO_TLS;
    fp->log = settings->log;
    fp->nl_fd = fr_fp_open_announcements();
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
    fp->ops.poll = poll_kernel;
    fp->ops.poll_by = poll_by;
    fp->ops.credit = credit;
    fp->ops.budget = budget;
    fp->ops.registered = registered;
    fp->ops.lost = lost;
    fp->ops.keys = fr_fp_keys_changed;
    fr_splice_enable(ep, &fp->ops);
    fr_conn_keep_rx_keys(ep);
    *pfp = fp;
    return 0;
fail:
    if (dp)
        dp->ops->close(dp);
    return rv;
}

int fr_fastpath_new_versioned(fr_fastpath **pfp, fr_relay *relay,
                              fr_moq_endpoint *downstream, int version,
                              const fr_fastpath_settings *app_settings,
                              char *why, size_t whylen)
{
    fr_fastpath_settings set;

    if (!pfp || !relay || !downstream || !app_settings)
        return FR_ERR_INVALID_ARGUMENT;
    fr_fastpath_settings_default(&set);
    if (fr_layout_copy(&set, app_settings, FR_LAYOUTS(settings_layouts),
                       version)) {
        snprintf(why, whylen, "settings of unknown layout %d", version);
        return FR_ERR_INVALID_ARGUMENT;
    }
    return fr_fp_new_on(pfp, relay, fr_moq_endpoint_quic(downstream), NULL,
                        &set, why, whylen);
}

#undef fr_fastpath_new
int fr_fastpath_new(fr_fastpath **pfp, fr_relay *relay,
                    fr_moq_endpoint *downstream,
                    const fr_fastpath_settings *settings, char *why,
                    size_t whylen)
{
    return fr_fastpath_new_versioned(pfp, relay, downstream, 1, settings, why,
                                     whylen);
}

int fr_fastpath_add_upstream_endpoint(fr_fastpath *fp,
                                      fr_moq_endpoint *upstream)
{
    fr_quic_endpoint *ep;

    if (!fp || !upstream)
        return FR_ERR_INVALID_ARGUMENT;
    ep = fr_moq_endpoint_quic(upstream);
    if (fr_quic_endpoint_conn_count(ep))
        return FR_ERR_INVALID_STATE;
    fr_conn_keep_rx_keys(ep);
    return 0;
}

void fr_fastpath_del(fr_fastpath *fp)
{
    if (!fp)
        return;
    while (fp->subs)
        fr_fp_sub_release(fp, fp->subs);
    while (fp->ups)
        fr_fp_up_release(fp, fp->ups);
    fr_relay_set_fastpath(fp->relay, NULL);
    /* Its connections stay spliced, on their own send state. */
    fr_splice_enable(fp->ep, NULL);
    fr_fp_kernel_close(fp->k);
    if (fp->nl_fd >= 0)
        close(fp->nl_fd);
    free(fp);
}

int fr_fastpath_set_hooks_versioned(fr_fastpath *fp, int version,
                                    const fr_fastpath_hooks *hooks)
{
    fr_fastpath_hooks h;

    memset(&h, 0, sizeof(h));
    if (hooks &&
        fr_layout_copy(&h, hooks, FR_LAYOUTS(hooks_layouts), version))
        return FR_ERR_INVALID_ARGUMENT;
    fp->hooks = h;
    return 0;
}

#undef fr_fastpath_set_hooks
void fr_fastpath_set_hooks(fr_fastpath *fp, const fr_fastpath_hooks *hooks)
{
    fr_fastpath_set_hooks_versioned(fp, 1, hooks);
}

/* Every counter, in the newest layout. */
static void get_stats(const fr_fastpath *fp, fr_fastpath_stats *st)
{
    fr_splice_stats sum = fp->gone;

    memset(st, 0, sizeof(*st));
    for (const fp_sub *d = fp->subs; d; d = d->next) {
        fr_splice_stats s;

        fr_splice_get_stats(d->c, &s);
        fr_fp_add_stats(&sum, &s);
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

static const fr_layout stats_layouts[] = {
    {1, offsetof(fr_fastpath_stats, late_starts)},
    {2, sizeof(fr_fastpath_stats)},
};

int fr_fastpath_get_stats_versioned(const fr_fastpath *fp, int version,
                                    fr_fastpath_stats *st)
{
    fr_fastpath_stats all;

    if (!fr_layout_size(FR_LAYOUTS(stats_layouts), version))
        return FR_ERR_INVALID_ARGUMENT;
    get_stats(fp, &all);
    return fr_layout_copy(st, &all, FR_LAYOUTS(stats_layouts), version);
}

#undef fr_fastpath_get_stats
void fr_fastpath_get_stats(const fr_fastpath *fp, fr_fastpath_stats *st)
{
    fr_fastpath_get_stats_versioned(fp, FR_FASTPATH_STATS_V1, st);
}
