/* In-memory, virtual-time network between two QUIC endpoints. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "quic_sim.h"

typedef struct sim_pkt {
    struct sim_pkt *next;
    fr_tstamp arrival;
    int to_server;
    fr_quic_path path; /* as seen by the receiver */
    size_t len;
    uint8_t data[];
} sim_pkt;

typedef struct sim_side {
    fr_sim *sim;
    int is_client;
} sim_side;

struct fr_sim {
    fr_duration delay;
    fr_tstamp now;
    fr_quic_endpoint *client;
    fr_quic_endpoint *server;
    sim_side cside;
    sim_side sside;
    sim_pkt *head;
    sim_pkt *tail;
    fr_sim_tap tap;
    void *tap_arg;
    fr_sim_mutator mutator;
    void *mutator_arg;
    void *app;
    unsigned loss_permille; /* of datagrams towards the client */
    uint64_t rng;
    uint64_t dropped;
};

static fr_quic_path client_path;

const fr_quic_path *fr_sim_client_path(void)
{
    struct sockaddr_in *l = (struct sockaddr_in *)&client_path.local;
    struct sockaddr_in *r = (struct sockaddr_in *)&client_path.remote;

    memset(&client_path, 0, sizeof(client_path));
    l->sin_family = AF_INET;
    l->sin_port = htons(5000);
    inet_pton(AF_INET, "198.18.0.1", &l->sin_addr);
    r->sin_family = AF_INET;
    r->sin_port = htons(4433);
    inet_pton(AF_INET, "198.18.0.2", &r->sin_addr);
    client_path.local_len = sizeof(*l);
    client_path.remote_len = sizeof(*r);
    return &client_path;
}

fr_sim *fr_sim_new(fr_duration one_way_delay)
{
    fr_sim *sim = calloc(1, sizeof(*sim));

    sim->delay = one_way_delay;
    sim->now = 1 * FR_SECONDS;
    sim->cside.sim = sim;
    sim->cside.is_client = 1;
    sim->sside.sim = sim;
    return sim;
}

void fr_sim_del(fr_sim *sim)
{
    sim_pkt *p = sim->head;

    while (p) {
        sim_pkt *next = p->next;
        free(p);
        p = next;
    }
    free(sim);
}

/* xorshift64: the same drops for the same seed. */
static int sim_drop(fr_sim *sim)
{
    if (!sim->loss_permille)
        return 0;
    sim->rng ^= sim->rng << 13;
    sim->rng ^= sim->rng >> 7;
    sim->rng ^= sim->rng << 17;
    if (sim->rng % 1000 >= sim->loss_permille)
        return 0;
    sim->dropped++;
    return 1;
}

/* Queues a datagram for the other side; `path` as the receiver sees it. */
static void sim_queue(fr_sim *sim, int to_server, const fr_quic_path *path,
                      const uint8_t *data, size_t len)
{
    sim_pkt *p;

    if (sim->tap)
        sim->tap(to_server, data, len, sim->tap_arg);
    if (!to_server && sim_drop(sim))
        return;
    if (len > FR_SIM_MAX_DGRAM)
        return;
    p = malloc(sizeof(*p) + FR_SIM_MAX_DGRAM);
    p->next = NULL;
    p->arrival = sim->now + sim->delay;
    p->to_server = to_server;
    p->path = *path;
    p->len = len;
    memcpy(p->data, data, len);
    if (sim->mutator &&
        sim->mutator(to_server, p->data, &p->len, sim->mutator_arg)) {
        free(p);
        return;
    }
    if (sim->tail)
        sim->tail->next = p;
    else
        sim->head = p;
    sim->tail = p;
}

/* The path as the receiver sees it: mirrored. */
static void mirror(const fr_quic_path *path, fr_quic_path *seen)
{
    seen->local = path->remote;
    seen->local_len = path->remote_len;
    seen->remote = path->local;
    seen->remote_len = path->local_len;
}

static int sim_send(fr_quic_endpoint *ep, const fr_quic_path *path,
                    const struct iovec *dgrams, size_t n, void *user_data)
{
    sim_side *side = user_data;
    fr_quic_path seen;

    (void)ep;
    mirror(path, &seen);
    for (size_t i = 0; i < n; i++)
        sim_queue(side->sim, side->is_client, &seen, dgrams[i].iov_base,
                  dgrams[i].iov_len);
    return 0;
}

void fr_sim_inject_to_client(fr_sim *sim, const uint8_t *data, size_t len)
{
    sim_queue(sim, 0, fr_sim_client_path(), data, len);
}

void fr_sim_inject_to_server(fr_sim *sim, const uint8_t *data, size_t len)
{
    fr_quic_path seen;

    mirror(fr_sim_client_path(), &seen);
    sim_queue(sim, 1, &seen, data, len);
}

void fr_sim_set_mutator(fr_sim *sim, fr_sim_mutator fn, void *arg)
{
    sim->mutator = fn;
    sim->mutator_arg = arg;
}

void fr_sim_set_loss(fr_sim *sim, unsigned permille, uint64_t seed)
{
    sim->loss_permille = permille;
    sim->rng = seed ? seed : 1;
}

uint64_t fr_sim_dropped(const fr_sim *sim)
{
    return sim->dropped;
}

void fr_sim_bind(fr_sim *sim, fr_quic_callbacks *client_cb,
                 fr_quic_callbacks *server_cb)
{
    (void)sim;
    client_cb->send = sim_send;
    server_cb->send = sim_send;
}

void *fr_sim_client_ud(fr_sim *sim)
{
    return &sim->cside;
}

void *fr_sim_server_ud(fr_sim *sim)
{
    return &sim->sside;
}

void fr_sim_set_endpoints(fr_sim *sim, fr_quic_endpoint *client,
                          fr_quic_endpoint *server)
{
    sim->client = client;
    sim->server = server;
}

void fr_sim_set_tap(fr_sim *sim, fr_sim_tap tap, void *arg)
{
    sim->tap = tap;
    sim->tap_arg = arg;
}

void fr_sim_set_app(fr_sim *sim, void *app)
{
    sim->app = app;
}

void *fr_sim_app(void *endpoint_user_data)
{
    return ((sim_side *)endpoint_user_data)->sim->app;
}

fr_tstamp fr_sim_now(const fr_sim *sim)
{
    return sim->now;
}

int fr_sim_run(fr_sim *sim, int (*done)(void *arg), void *arg,
               fr_duration limit)
{
    fr_tstamp end = sim->now + limit;

    while (sim->now < end) {
        fr_tstamp next;

        fr_quic_endpoint_flush(sim->client, sim->now);
        fr_quic_endpoint_flush(sim->server, sim->now);
        if (done(arg))
            return 1;
        next = fr_quic_endpoint_next_expiry(sim->client);
        if (fr_quic_endpoint_next_expiry(sim->server) < next)
            next = fr_quic_endpoint_next_expiry(sim->server);
        if (sim->head && sim->head->arrival < next)
            next = sim->head->arrival;
        if (next > end) {
            sim->now = end;
            break;
        }
        if (next > sim->now)
            sim->now = next;
        while (sim->head && sim->head->arrival <= sim->now) {
            sim_pkt *p = sim->head;
            sim->head = p->next;
            if (!sim->head)
                sim->tail = NULL;
            fr_quic_endpoint_recv(p->to_server ? sim->server : sim->client,
                                  &p->path, p->data, p->len, sim->now);
            free(p);
        }
        fr_quic_endpoint_handle_expiry(sim->client, sim->now);
        fr_quic_endpoint_handle_expiry(sim->server, sim->now);
    }
    return done(arg);
}
