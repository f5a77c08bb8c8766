/*
 * libev adapter: one UDP socket and the timers of one fr_quic_endpoint.
 *
 * Reads drain the socket with recvmmsg and feed every datagram to the
 * endpoint; an ev_prepare watcher flushes pending writes with sendmmsg and
 * re-arms the expiry timer each time before the loop blocks, so writes made
 * from any callback go out in one batch.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, in6_pktinfo */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include <fastrelay/error.h>
#include <fastrelay/quic_ev.h>

#include "quic_internal.h"

#define FR_RX_BATCH 32
#define FR_RX_BUFLEN 2048
#define FR_SOCKBUF (8 * 1024 * 1024)

struct fr_quic_ev {
    struct ev_loop *loop;
    fr_quic_endpoint *ep;
    fr_quic_callbacks user_cb;
    int fd;
    int wildcard; /* bound to the unspecified address: use pktinfo */
    struct sockaddr_storage local;
    socklen_t local_len;
    ev_io rio;
    ev_timer timer;
    ev_prepare prepare;
    uint8_t rxbuf[FR_RX_BATCH][FR_RX_BUFLEN];
};

fr_tstamp fr_quic_ev_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fr_tstamp)ts.tv_sec * FR_SECONDS + (fr_tstamp)ts.tv_nsec;
}

/* Adds a source-address control message for `local` to `msg`. */
static void set_src_cmsg(struct msghdr *msg, char *cbuf, size_t cbuflen,
                         const struct sockaddr_storage *local)
{
    struct cmsghdr *cm;

    msg->msg_control = cbuf;
    msg->msg_controllen = cbuflen;
    memset(cbuf, 0, cbuflen);
    cm = CMSG_FIRSTHDR(msg);
    if (local->ss_family == AF_INET) {
        struct in_pktinfo pi = {0};
        pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        msg->msg_controllen = CMSG_SPACE(sizeof(pi));
    } else {
        struct in6_pktinfo pi = {0};
        pi.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        msg->msg_controllen = CMSG_SPACE(sizeof(pi));
    }
}

static int send_cb(fr_quic_endpoint *ep, const fr_quic_path *path,
                   const struct iovec *datagrams, size_t n, void *user_data)
{
    fr_quic_ev *qev = user_data;
    struct mmsghdr msgs[FR_TX_BATCH];
    char cbuf[FR_TX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
    size_t sent = 0;

    (void)ep;
    if (n > FR_TX_BATCH)
        n = FR_TX_BATCH;
    memset(msgs, 0, sizeof(msgs[0]) * n);
    for (size_t i = 0; i < n; i++) {
        struct msghdr *m = &msgs[i].msg_hdr;
        m->msg_name = (void *)&path->remote;
        m->msg_namelen = path->remote_len;
        m->msg_iov = (struct iovec *)&datagrams[i];
        m->msg_iovlen = 1;
        if (qev->wildcard)
            set_src_cmsg(m, cbuf[i], sizeof(cbuf[i]), &path->local);
    }
    while (sent < n) {
        int r = sendmmsg(qev->fd, msgs + sent, (unsigned)(n - sent), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* A full socket buffer or an unreachable peer loses these
             * datagrams; QUIC loss recovery resends what matters. */
            sent++;
            continue;
        }
        sent += (size_t)r;
    }
    return 0;
}

/* Fills path->local from pktinfo, or from the bound address. */
static void local_from_msg(const fr_quic_ev *qev, struct msghdr *m,
                           fr_quic_path *path)
{
    path->local = qev->local;
    path->local_len = qev->local_len;
    if (!qev->wildcard)
        return;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            ((struct sockaddr_in *)&path->local)->sin_addr = pi.ipi_addr;
        } else if (cm->cmsg_level == IPPROTO_IPV6 &&
                   cm->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            ((struct sockaddr_in6 *)&path->local)->sin6_addr = pi.ipi6_addr;
        }
    }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    fr_quic_ev *qev = w->data;
    struct mmsghdr msgs[FR_RX_BATCH];
    struct iovec iov[FR_RX_BATCH];
    struct sockaddr_storage from[FR_RX_BATCH];
    char cbuf[FR_RX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
    fr_quic_path path;

    (void)loop;
    (void)revents;
    /* Bounded: at most 8 batches per wake-up so timers still run. */
    for (int round = 0; round < 8; round++) {
        fr_tstamp now;
        int r;

        memset(msgs, 0, sizeof(msgs));
        for (int i = 0; i < FR_RX_BATCH; i++) {
            iov[i].iov_base = qev->rxbuf[i];
            iov[i].iov_len = FR_RX_BUFLEN;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = cbuf[i];
            msgs[i].msg_hdr.msg_controllen = sizeof(cbuf[i]);
        }
        r = recvmmsg(qev->fd, msgs, FR_RX_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        now = fr_quic_ev_now();
        for (int i = 0; i < r; i++) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                continue;
            path.remote = from[i];
            path.remote_len = msgs[i].msg_hdr.msg_namelen;
            local_from_msg(qev, &msgs[i].msg_hdr, &path);
            fr_quic_endpoint_recv(qev->ep, &path, qev->rxbuf[i],
                                  msgs[i].msg_len, now);
        }
        if (r < FR_RX_BATCH)
            return;
    }
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    fr_quic_ev *qev = w->data;

    (void)loop;
    (void)revents;
    fr_quic_endpoint_handle_expiry(qev->ep, fr_quic_ev_now());
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    fr_quic_ev *qev = w->data;
    fr_tstamp now = fr_quic_ev_now();
    fr_tstamp expiry;

    (void)revents;
    fr_quic_endpoint_flush(qev->ep, now);
    expiry = fr_quic_endpoint_next_expiry(qev->ep);
    ev_timer_stop(loop, &qev->timer);
    if (expiry == FR_TSTAMP_MAX)
        return;
    ev_timer_set(&qev->timer,
                 expiry > now ? (double)(expiry - now) / FR_SECONDS : 0.0, 0.0);
    ev_timer_start(loop, &qev->timer);
}

static void grow_sockbuf(int fd, int opt_force, int opt)
{
    int size = FR_SOCKBUF;

    if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof(size)) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int open_socket(fr_quic_ev *qev, const struct sockaddr *addr,
                       socklen_t len, const fr_log *log)
{
    int one = 1;
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    char abuf[64];

    if (fd < 0)
        return FR_ERR_SOCKET;
    grow_sockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
    grow_sockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    if (addr->sa_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
        qev->wildcard = IN6_IS_ADDR_UNSPECIFIED(
            &((const struct sockaddr_in6 *)addr)->sin6_addr);
    } else {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        qev->wildcard =
            ((const struct sockaddr_in *)addr)->sin_addr.s_addr == INADDR_ANY;
    }
    if (bind(fd, addr, len) != 0) {
        FR_ERROR(log, "cannot bind UDP socket to %s: %s",
                 fr_addr_format(abuf, sizeof(abuf), addr), strerror(errno));
        close(fd);
        return FR_ERR_SOCKET;
    }
    qev->local_len = sizeof(qev->local);
    getsockname(fd, (struct sockaddr *)&qev->local, &qev->local_len);
    qev->fd = fd;
    return 0;
}

int fr_quic_ev_new_versioned(fr_quic_ev **pqev, struct ev_loop *loop,
                             int version, const fr_quic_callbacks *callbacks,
                             const fr_quic_settings *settings,
                             const struct sockaddr *bind_addr,
                             socklen_t bind_addr_len, void *user_data)
{
    fr_quic_callbacks cb;
    fr_quic_settings set;
    fr_quic_ev *qev;
    int rv;

    if (!pqev || !loop || !callbacks || !settings || !bind_addr ||
        fr_quic_take_callbacks(&cb, callbacks, version) ||
        fr_quic_take_settings(&set, settings, version) || cb.send)
        return FR_ERR_INVALID_ARGUMENT;
    if (bind_addr->sa_family != AF_INET && bind_addr->sa_family != AF_INET6)
        return FR_ERR_ADDRESS;
    qev = calloc(1, sizeof(*qev));
    if (!qev)
        return FR_ERR_NOMEM;
    qev->loop = loop;
    qev->fd = -1;
    rv = open_socket(qev, bind_addr, bind_addr_len, &set.log);
    if (rv) {
        free(qev);
        return rv;
    }
    cb.send = send_cb;
    rv = fr_quic_endpoint_new(&qev->ep, &cb, &set, user_data);
    if (rv) {
        close(qev->fd);
        free(qev);
        return rv;
    }
    /* The adapter receives send() calls: route them to itself while the
     * endpoint's user_data stays the application's. */
    qev->ep->send_user_data = qev;
    ev_io_init(&qev->rio, read_cb, qev->fd, EV_READ);
    qev->rio.data = qev;
    ev_timer_init(&qev->timer, timer_cb, 0.0, 0.0);
    qev->timer.data = qev;
    ev_prepare_init(&qev->prepare, prepare_cb);
    qev->prepare.data = qev;
    ev_io_start(loop, &qev->rio);
    ev_prepare_start(loop, &qev->prepare);
    *pqev = qev;
    return 0;
}

#undef fr_quic_ev_new
int fr_quic_ev_new(fr_quic_ev **pqev, struct ev_loop *loop,
                   const fr_quic_callbacks *callbacks,
                   const fr_quic_settings *settings,
                   const struct sockaddr *bind_addr, socklen_t bind_addr_len,
                   void *user_data)
{
    return fr_quic_ev_new_versioned(pqev, loop, 1, callbacks, settings,
                                    bind_addr, bind_addr_len, user_data);
}

void fr_quic_ev_del(fr_quic_ev *qev)
{
    if (!qev)
        return;
    ev_io_stop(qev->loop, &qev->rio);
    ev_timer_stop(qev->loop, &qev->timer);
    ev_prepare_stop(qev->loop, &qev->prepare);
    fr_quic_endpoint_del(qev->ep);
    close(qev->fd);
    free(qev);
}

fr_quic_endpoint *fr_quic_ev_get_endpoint(const fr_quic_ev *qev)
{
    return qev->ep;
}

int fr_quic_ev_local_addr(const fr_quic_ev *qev, struct sockaddr_storage *addr,
                          socklen_t *len)
{
    *addr = qev->local;
    *len = qev->local_len;
    return 0;
}

/* Sets the port of an IPv4 or IPv6 address. */
static void set_port(struct sockaddr_storage *a, in_port_t port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = port;
    else
        ((struct sockaddr_in6 *)a)->sin6_port = port;
}

static in_port_t get_port(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET
               ? ((const struct sockaddr_in *)a)->sin_port
               : ((const struct sockaddr_in6 *)a)->sin6_port;
}

int fr_quic_ev_migrate(fr_quic_ev *qev)
{
    struct sockaddr_storage addr = qev->local;
    socklen_t len = qev->local_len;
    int old_fd = qev->fd;
    fr_tstamp now = fr_quic_ev_now();
    fr_quic_conn *c = NULL;
    int rv, first_err = 0;

    set_port(&addr, 0);
    rv = open_socket(qev, (struct sockaddr *)&addr, len,
                     &qev->ep->settings.log);
    if (rv)
        return rv;
    ev_io_stop(qev->loop, &qev->rio);
    ev_io_set(&qev->rio, qev->fd, EV_READ);
    ev_io_start(qev->loop, &qev->rio);
    close(old_fd);
    while ((c = fr_quic_endpoint_next_conn(qev->ep, c)) != NULL) {
        fr_quic_path p;

        if (fr_quic_conn_is_server(c))
            continue;
        p = *fr_quic_conn_get_path(c);
        set_port(&p.local, get_port(&qev->local));
        rv = fr_quic_conn_migrate(c, (struct sockaddr *)&p.local,
                                  p.local_len, now);
        if (rv && !first_err)
            first_err = rv;
    }
    return first_err;
}

int fr_quic_ev_connect(fr_quic_ev *qev, fr_quic_conn **pconn,
                       const struct sockaddr *remote, socklen_t remote_len,
                       const char *server_name, void *conn_user_data)
{
    fr_quic_path path;

    if (!qev || !remote || remote_len > sizeof(path.remote))
        return FR_ERR_INVALID_ARGUMENT;
    memset(&path, 0, sizeof(path));
    path.local = qev->local;
    path.local_len = qev->local_len;
    memcpy(&path.remote, remote, remote_len);
    path.remote_len = remote_len;
    if (qev->wildcard) {
        /* Learn the source address the kernel would use for this peer. */
        int fd = socket(remote->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_storage src;
        socklen_t slen = sizeof(src);
        if (fd < 0 || connect(fd, remote, remote_len) != 0 ||
            getsockname(fd, (struct sockaddr *)&src, &slen) != 0) {
            if (fd >= 0)
                close(fd);
            return FR_ERR_ADDRESS;
        }
        close(fd);
        if (src.ss_family == AF_INET)
            ((struct sockaddr_in *)&path.local)->sin_addr =
                ((struct sockaddr_in *)&src)->sin_addr;
        else
            ((struct sockaddr_in6 *)&path.local)->sin6_addr =
                ((struct sockaddr_in6 *)&src)->sin6_addr;
    }
    return fr_quic_endpoint_connect(qev->ep, pconn, &path, server_name,
                                    conn_user_data, fr_quic_ev_now());
}
