/*
 * The relay core's world in virtual time: origins, a relay and many
 * subscribers on the simulated network of net_sim.h, each a real QUIC and
 * MoQT endpoint. Each origin connects to the relay and announces a
 * namespace of its own; it publishes one track of `groups` groups,
 * FR_WORLD_FPS objects of FR_WORLD_PAYLOAD bytes a second, a group a
 * second, one subgroup a group, under track alias 1 (every origin picks
 * the same: aliases are each publisher's own). Subscribers subscribe
 * through the relay to every origin's track and check every object's
 * bytes (which tell the origins apart) and order. Knobs in fr_world (more
 * origins, late joiners, a leaver, rendezvous, when the origins come)
 * shape the scenario before fr_net_run.
 */
#ifndef FR_RELAY_WORLD_H
#define FR_RELAY_WORLD_H

#include <fastrelay/fastrelay.h>

#include "net_sim.h"

#define FR_WORLD_RELAY_IP "198.18.0.2"
#define FR_WORLD_RELAY_PORT 4433
#define FR_WORLD_MAX_SUBS 32
#define FR_WORLD_MAX_ORIGINS 20
#define FR_WORLD_FPS 30
#define FR_WORLD_PAYLOAD 200

typedef struct fr_world fr_world;

typedef struct fr_world_sub fr_world_sub;

/* A subscriber's subscription to one origin's track: what it received,
 * checked as it came. */
typedef struct fr_world_rx {
    fr_world_sub *u;
    size_t origin;
    fr_moq_sub *sub;
    uint64_t received;
    uint64_t corrupt;
    uint64_t out_of_order;
    int has_last;
    fr_moq_location last;
    fr_moq_location first;    /* the subscription's first object */
    int ended;
    int rejected;
} fr_world_rx;

/* A subscriber: one subscription per origin (rx[k] to origin k's track)
 * and a late joiner's joining FETCH of the first origin's track. */
struct fr_world_sub {
    fr_world *w;
    char ip[16];
    fr_quic_endpoint *ep;
    fr_moq_session *s;
    fr_world_rx rx[FR_WORLD_MAX_ORIGINS];
    fr_moq_fetch *fetch;
    uint64_t fetched;
    int has_fetch_last;
    fr_moq_location fetch_last;
    int fetch_ended;
    int fetch_rejected;
};

/* An origin and the track it publishes. */
typedef struct fr_world_origin {
    fr_world *w;
    size_t index;
    char ip[16];
    char ns[16];              /* live, live2, live3, ... */
    fr_quic_endpoint *ep;
    fr_moq_session *s;
    fr_moq_pub *pub;          /* the relay's subscription to the origin */
    fr_moq_subgroup *sg;
    fr_moq_cache *cache;      /* what the origin published, for FETCH */
    uint64_t fetches;         /* FETCHes the origin answered */
    uint64_t next;            /* next object, counted from 0 */
    int done_sent;
} fr_world_origin;

struct fr_world {
    fr_net *net;
    fr_quic_settings client_settings;
    fr_cert *cert;
    fr_relay *relay;
    fr_quic_endpoint *relay_ep;
    fr_world_origin origins[FR_WORLD_MAX_ORIGINS];
    size_t norigins;          /* 1 unless a test sets more before the
                                 run */
    uint64_t groups;          /* each track's length */
    fr_world_sub subs[FR_WORLD_MAX_SUBS];
    size_t nsubs;
    size_t late_from;         /* subscribers from this index join late */
    uint64_t late_at;         /* ... once this many objects went out */
    uint64_t rendezvous_ms;   /* subscribers' RENDEZVOUS_TIMEOUT */
    fr_tstamp origin_at;      /* when the origins connect */
    int origins_up;
    uint64_t held_max;        /* most SUBSCRIBEs the relay held at once */
    int leaver;               /* this subscriber unsubscribes (-1: none) */
    uint64_t leave_at;        /* ... once this many objects went out */
    uint64_t subscribers_after_leave; /* the relay's count just after */
};

/* A world of `nsubs` subscribers and a track of `groups` groups, every
 * endpoint in crypto mode `mode`; the relay caches `cache_groups` groups
 * per track (0: its default). Subscribers connect at once; the relay's
 * endpoint has no connection until the network runs. */
void fr_world_new(fr_world *w, size_t nsubs, uint64_t groups,
                  size_t cache_groups, fr_crypto_mode mode);
void fr_world_del(fr_world *w);

/* fr_net_run's tick: the origins connect at origin_at and publish, late
 * joiners subscribe (with a joining FETCH), the leaver leaves. */
fr_tstamp fr_world_tick(void *arg, fr_tstamp now);
/* fr_net_run's done: every subscription ended; ... and every joining
 * FETCH too, and every origin finished its track. */
int fr_world_subs_ended(void *arg);
int fr_world_all_ended(void *arg);

/* The object after `loc` in the track; whether two are the same. */
fr_moq_location fr_world_after(fr_moq_location loc);
int fr_world_same(fr_moq_location a, fr_moq_location b);

#endif
