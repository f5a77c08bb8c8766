/*
 * How the fast path's copies leave: the interface and next hop of each
 * peer (nexthop.h), programs attached where they are needed, and looked
 * up again when the kernel announces a route, neighbour or link change.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastpath_internal.h"

int fr_fp_reach(fr_fastpath *fp, const struct sockaddr_in *peer,
                fr_fp_role role, int *ifindex, uint8_t own_mac[6],
                uint8_t next_mac[6])
{
    fr_nexthop_tables t;
    int rv = fr_fp_kernel_tables_read(fp->k, &t);

    if (rv)
        return rv;
    rv = fr_nexthop_find(&t, peer->sin_addr, ifindex, own_mac, next_mac);
    fr_nexthop_tables_free(&t);
    return rv ? rv : fr_fp_ensure_attached(fp, *ifindex, role);
}

int fr_fp_ensure_attached(fr_fastpath *fp, int ifindex, fr_fp_role role)
{
    char why[256];
    int rv;

    rv = fr_fp_kernel_attach_soon(fp->k, ifindex, role, fp->mode, why,
                                  sizeof(why));
    if (rv && why[0])
        FR_WARN(&fp->log, "fast path: cannot attach to interface %d: %s",
                ifindex, why);
    return rv;
}

int fr_fp_attach_poll(fr_fastpath *fp)
{
    char why[256];
    int ifindex = 0, made = 0, done = 0, rv;

    while ((rv = fr_fp_kernel_attach_poll(fp->k, &ifindex, why,
                                          sizeof(why))) != 0) {
        if (rv > 0)
            FR_INFO(&fp->log, "fast path: attached to interface %d",
                    ifindex);
        else
            FR_WARN(&fp->log, "fast path: cannot attach to interface %d: %s",
                    ifindex, why);
        made |= rv > 0;
        done = 1;
    }
    /* A subscriber whose next hop moved to that interface before waits in
     * userspace (fr_fp_follow_next_hop): its next hop is looked up again
     * at the next refresh. */
    fp->hops_stale |= made;
    return done;
}

/* Brings the slot's interface and MAC addresses in line with the routing
 * and neighbour tables `t` (NULL: unreadable) for `peer`; a subscriber
 * without a next hop is left to userspace. Returns nonzero if anything
 * changed (not yet written to the kernel). */
int fr_fp_follow_next_hop(fr_fastpath *fp, fp_sub *d,
                           const fr_nexthop_tables *t,
                           const struct sockaddr_in *peer)
{
    struct fr_fp_slot k = d->k;
    int ifindex;

    if (!t ||
        fr_nexthop_find(t, peer->sin_addr, &ifindex, k.src_mac, k.dst_mac) ||
        fr_fp_ensure_attached(fp, ifindex, FR_FP_ROLE_SUBSCRIBERS) != 0) {
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

/* Routes and neighbours change (a gateway fails over, a neighbour gets a
 * new MAC address): every served subscriber's next hop is looked up again
 * (see fr_fp_maybe_refresh_next_hops for when). */
static void refresh_next_hops(fr_fastpath *fp, fr_tstamp now)
{
    fr_nexthop_tables t;
    int have = fr_fp_kernel_tables_read(fp->k, &t) == 0;

    fp->hops_at = now;
    for (fp_sub *d = fp->subs; d; d = d->next) {
        struct sockaddr_in peer = {.sin_family = AF_INET,
                                   .sin_port = d->k.dst_port};

        peer.sin_addr.s_addr = d->k.dst_ip;
        if (!fr_fp_follow_next_hop(fp, d, have ? &t : NULL, &peer))
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
int fr_fp_open_announcements(void)
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

void fr_fp_maybe_refresh_next_hops(fr_fastpath *fp, fr_tstamp now)
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
