/* In-memory, virtual-time network of many QUIC endpoints (net_sim.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "net_sim.h"

#define MAX_NODES 256
#define MAX_DGRAM 1500

typedef struct net_pkt {
    struct net_pkt *next;
    fr_tstamp arrival;
    size_t to;         /* node index */
    fr_quic_path path; /* as the receiver sees it */
    size_t len;
    uint8_t data[MAX_DGRAM];
} net_pkt;

typedef struct net_node {
    fr_net *net;
    struct sockaddr_in addr;
    fr_quic_endpoint *ep;
    void *app;
    fr_net_tap tap;
    void *tap_arg;
} net_node;

struct fr_net {
    fr_duration delay;
    fr_tstamp now;
    net_node nodes[MAX_NODES];
    size_t nnodes;
    net_pkt *head;
    net_pkt *tail;
    uint64_t delivered;
    uint64_t unroutable;
};

fr_net *fr_net_new(fr_duration one_way_delay)
{
    fr_net *net = calloc(1, sizeof(*net));

    if (!net)
        return NULL;
    net->delay = one_way_delay;
    net->now = 1 * FR_SECONDS;
    return net;
}

void fr_net_del(fr_net *net)
{
    while (net->head) {
        net_pkt *p = net->head;
        net->head = p->next;
        free(p);
    }
    free(net);
}

static void set_addr(struct sockaddr_storage *ss, socklen_t *len,
                     const char *ip, uint16_t port)
{
    struct sockaddr_in *a = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof(*ss));
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    *len = sizeof(*a);
}

fr_quic_path fr_net_path(const char *ip, uint16_t port, const char *to_ip,
                         uint16_t to_port)
{
    fr_quic_path p;

    set_addr(&p.local, &p.local_len, ip, port);
    set_addr(&p.remote, &p.remote_len, to_ip, to_port);
    return p;
}

static net_node *node_at(fr_net *net, const struct sockaddr_storage *ss)
{
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

    for (size_t i = 0; i < net->nnodes; i++)
        if (net->nodes[i].addr.sin_addr.s_addr == a->sin_addr.s_addr &&
            net->nodes[i].addr.sin_port == a->sin_port)
            return &net->nodes[i];
    return NULL;
}

int fr_net_inject(fr_net *net, const fr_quic_path *path, const uint8_t *d,
                  size_t len)
{
    net_node *to = node_at(net, &path->remote);
    net_pkt *p;

    if (!to || len > MAX_DGRAM) {
        net->unroutable++;
        return 0;
    }
    p = malloc(sizeof(*p));
    if (!p)
        return FR_ERR_NOMEM;
    p->next = NULL;
    p->arrival = net->now + net->delay;
    p->to = (size_t)(to - net->nodes);
    p->path.local = path->remote;
    p->path.local_len = path->remote_len;
    p->path.remote = path->local;
    p->path.remote_len = path->local_len;
    p->len = len;
    memcpy(p->data, d, len);
    if (net->tail)
        net->tail->next = p;
    else
        net->head = p;
    net->tail = p;
    return 0;
}

static int net_send(fr_quic_endpoint *ep, const fr_quic_path *path,
                    const struct iovec *dgrams, size_t n, void *user_data)
{
    net_node *from = user_data;

    (void)ep;
    for (size_t i = 0; i < n; i++) {
        int rv = fr_net_inject(from->net, path, dgrams[i].iov_base,
                               dgrams[i].iov_len);

        if (rv)
            return rv;
    }
    return 0;
}

void fr_net_set_tap(fr_net *net, const fr_quic_endpoint *ep, fr_net_tap tap,
                    void *arg)
{
    for (size_t i = 0; i < net->nnodes; i++)
        if (net->nodes[i].ep == ep) {
            net->nodes[i].tap = tap;
            net->nodes[i].tap_arg = arg;
        }
}

fr_quic_endpoint *fr_net_endpoint(fr_net *net, const char *ip,
                                  uint16_t port, fr_quic_callbacks *cb,
                                  const fr_quic_settings *settings,
                                  void *app)
{
    net_node *node;
    socklen_t len;

    if (net->nnodes == MAX_NODES)
        return NULL;
    node = &net->nodes[net->nnodes];
    set_addr((struct sockaddr_storage *)&node->addr, &len, ip, port);
    node->net = net;
    node->app = app;
    cb->send = net_send;
    if (fr_quic_endpoint_new(&node->ep, cb, settings, node) != 0)
        return NULL;
    net->nnodes++;
    return node->ep;
}

void *fr_net_app(void *endpoint_user_data)
{
    return ((net_node *)endpoint_user_data)->app;
}

fr_tstamp fr_net_now(const fr_net *net)
{
    return net->now;
}

uint64_t fr_net_delivered(const fr_net *net)
{
    return net->delivered;
}

uint64_t fr_net_unroutable(const fr_net *net)
{
    return net->unroutable;
}

int fr_net_run(fr_net *net, int (*done)(void *arg),
               fr_tstamp (*tick)(void *arg, fr_tstamp now), void *arg,
               fr_duration limit)
{
    fr_tstamp end = net->now + limit, tick_at = tick ? net->now : FR_TSTAMP_MAX;

    while (net->now < end) {
        fr_tstamp next = tick_at;

        if (tick && net->now >= tick_at)
            tick_at = next = tick(arg, net->now);
        for (size_t i = 0; i < net->nnodes; i++)
            fr_quic_endpoint_flush(net->nodes[i].ep, net->now);
        if (done(arg))
            return 1;
        for (size_t i = 0; i < net->nnodes; i++) {
            fr_tstamp e = fr_quic_endpoint_next_expiry(net->nodes[i].ep);
            if (e < next)
                next = e;
        }
        if (net->head && net->head->arrival < next)
            next = net->head->arrival;
        if (next > end) {
            net->now = end;
            break;
        }
        if (next > net->now)
            net->now = next;
        while (net->head && net->head->arrival <= net->now) {
            net_pkt *p = net->head;
            net_node *to = &net->nodes[p->to];

            net->head = p->next;
            if (!net->head)
                net->tail = NULL;
            if (to->tap)
                to->tap(to->tap_arg, &p->path, p->data, p->len, net->now);
            fr_quic_endpoint_recv(net->nodes[p->to].ep, &p->path, p->data,
                                  p->len, net->now);
            net->delivered++;
            free(p);
        }
        for (size_t i = 0; i < net->nnodes; i++)
            fr_quic_endpoint_handle_expiry(net->nodes[i].ep, net->now);
    }
    return done(arg);
}
