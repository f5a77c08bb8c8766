/*
 * The fast path's own structures, and the functions its files share
 * (fastpath.c: the API, the relay's hooks and the splice layer's ops;
 * conns.c: slots of upstream and subscriber connections; hops.c: how
 * copies leave, kept current; policy.c: the priority policy and what the
 * policies see). Internal to lib/fastpath.
 */
#ifndef FR_FASTPATH_INTERNAL_H
#define FR_FASTPATH_INTERNAL_H

#include <netinet/in.h>

#include <fastrelay/fastpath.h>

#include "../moq/relay_fastpath.h"
#include "../quic/conn_view.h"
#include "../splice/splice.h"
#include "../util/logf.h"
#include "kernel.h"
#include "nexthop.h"

/* Served subscribers' next hops are looked up again when the kernel
 * announces a route, neighbour or link change (checked every
 * HOP_CHECK, looked up at most every HOP_MIN), and every HOP_INTERVAL
 * anyway. */
#define HOP_CHECK (50 * FR_MILLISECONDS)
#define HOP_MIN (100 * FR_MILLISECONDS)
#define HOP_INTERVAL (10 * FR_SECONDS)
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
    uint32_t keys_changes;   /* of c when its keys were last written */
    int keys_written;
    uint64_t pn_raised;      /* the slot's packet-number record, as last
                                raised from c's (0: not yet) */
    int refused;             /* its suite is not one the kernel opens:
                                userspace serves it (no CIDs in the map) */
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
    fp_join *joins;          /* the tracks the kernel forwards to it */
    size_t njoins, capjoins;
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
    uint64_t cipher_refused; /* connections whose suite the kernel cannot
                                use: served by userspace */
    int tls;                 /* the endpoint's crypto mode is tls */
    int nl_fd;               /* route/neighbour/link announcements, or -1 */
    int hops_stale;          /* an announcement came since the lookup */
    fr_tstamp hops_checked;  /* when nl_fd was last read */
    fr_tstamp hops_at;       /* when next hops were last looked up */
    fr_splice_stats gone;    /* of subscriber connections released */
    fr_fastpath_hooks hooks;
};

static inline fr_tstamp conn_now(const fr_quic_conn *c)
{
    return fr_quic_endpoint_now(fr_quic_conn_get_endpoint(c));
}

/* fastpath.c */
/* The fast path for `relay`, whose subscribers connect to `ep`, over data
 * plane `dp` (which it then owns, also on failure; NULL: load the BPF
 * programs): fr_fastpath_new's work, for tests that bring a data plane of
 * their own. */
int fr_fp_new_on(fr_fastpath **pfp, fr_relay *relay, fr_quic_endpoint *ep,
                 fr_fp_dataplane *dp, const fr_fastpath_settings *settings,
                 char *why, size_t whylen);

/* policy.c */
void fr_fp_sub_info(fr_moq_session *s, fp_sub *d, fr_fastpath_subscriber *in);
uint8_t fr_fp_floor_of(const fr_fastpath *fp, const fr_fastpath_subscriber *in);

/* hops.c */
/* How the relay reaches `peer` now (see nexthop.h: *ifindex, own_mac,
 * and next_mac unless NULL), and the program of `role` asked for on that
 * interface: fr_fp_ensure_attached's answer (0: it runs there;
 * FR_ERR_INVALID_STATE: being attached), or the lookup's FR_ERR_*. */
int fr_fp_reach(fr_fastpath *fp, const struct sockaddr_in *peer,
                fr_fp_role role, int *ifindex, uint8_t own_mac[6],
                uint8_t next_mac[6]);
/* The program of `role` runs on ifindex (0), or does not yet: nonzero,
 * and the connection waits in userspace (an attachment is made off the
 * loop, fr_fp_attach_poll takes it in). */
int fr_fp_ensure_attached(fr_fastpath *fp, int ifindex, fr_fp_role role);
/* Takes in, and logs, the attachments made off the loop that are done;
 * returns 1 if one was (made or failed). */
int fr_fp_attach_poll(fr_fastpath *fp);
int fr_fp_follow_next_hop(fr_fastpath *fp, fp_sub *d,
                           const fr_nexthop_tables *t,
                           const struct sockaddr_in *peer);
int fr_fp_open_announcements(void);
void fr_fp_maybe_refresh_next_hops(fr_fastpath *fp, fr_tstamp now);

/* keys.c: tls mode, the slots' keys. Each returns 0, or FR_ERR_UNSUPPORTED
 * for a suite the kernel cannot use, or another FR_ERR_*. */
int fr_fp_keys_sub(fr_fastpath *fp, fr_quic_conn *c, uint32_t slot);
/* An upstream slot's keys, written again whenever the connection's
 * changed. */
int fr_fp_keys_up(fr_fastpath *fp, fp_up *u);
/* Keeps the slot's record of the packet numbers opened near c's. */
void fr_fp_pn_up(fr_fastpath *fp, fp_up *u);
/* Whether spliced connection c negotiated a suite the kernel cannot use
 * (tls mode). */
int fr_fp_suite_refused(const fr_fastpath *fp, const fr_quic_conn *c);
/* fr_splice_ops.keys; counts a subscriber on another suite (told once,
 * at its handshake). */
void fr_fp_keys_changed(void *arg, fr_quic_conn *c, int phase);

/* conns.c */
fp_up *fr_fp_up_find(fr_fastpath *fp, const fr_moq_session *s);
fp_up *fr_fp_up_get(fr_fastpath *fp, fr_moq_session *s);
void fr_fp_up_sync_cids(fr_fastpath *fp, fp_up *u);
void fr_fp_up_release(fr_fastpath *fp, fp_up *u);
/* Whether the attachment session s's packets need (its interface, role)
 * is under way: 1, else 0 (made, or cannot be: s stays in userspace). */
int fr_fp_attaching(fr_fastpath *fp, fr_moq_session *s, fr_fp_role role);
fp_sub *fr_fp_sub_find(const fr_moq_session *s);
fp_sub *fr_fp_sub_get(fr_fastpath *fp, fr_moq_session *s);
void fr_fp_sub_sync(fr_fastpath *fp, fp_sub *d);
void fr_fp_sub_release(fr_fastpath *fp, fp_sub *d);
void fr_fp_pool_fill(fr_fastpath *fp, fp_sub *d);
void fr_fp_join_remove(fr_fastpath *fp, fp_sub *d, size_t i);
void fr_fp_on_sent(const struct fr_fp_sent_event *ev, void *arg);
void fr_fp_add_stats(fr_splice_stats *sum, const fr_splice_stats *s);

#endif
