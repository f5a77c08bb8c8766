/* A data plane in memory, for unit tests of the fast path (fp_sim.h). */
#include "fp_sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastrelay/error.h>

#define MAX_KEY 24
#define MAX_VALUE sizeof(struct fr_fp_subscribers) /* the largest */
#define MAX_HOSTS 64
#define MAX_EVENTS 4096
#define MAX_REASONS 32

_Static_assert(FR_FP_REASONS <= MAX_REASONS &&
                   FR_FP_EG_REASONS <= MAX_REASONS,
               "room for every reason");

typedef struct entry {
    uint8_t key[MAX_KEY];
    uint8_t value[MAX_VALUE];
} entry;

/* One map: its entries in insertion order (what next_key walks). */
typedef struct table {
    size_t key_len;
    size_t value_len;
    entry *e;
    size_t n;
} table;

struct fr_fp_sim {
    fr_fp_dataplane dp; /* first: the ops get this */
    size_t capacity;
    table maps[FR_FP_MAPS];
    struct {
        int armed;
        fr_fp_map m;
        uint8_t key[MAX_KEY];
        uint8_t value[MAX_VALUE];
    } race;
    struct fr_fp_sent_event events[MAX_EVENTS];
    size_t nevents;
    uint64_t counts[2][MAX_REASONS];
    size_t attached[2];
    int gate_closed; /* fr_fp_sim_attach_gate */
    fr_fp_dataplane_ops threaded_ops; /* fr_fp_sim_attach_on_threads */
    char hosts[MAX_HOSTS][INET_ADDRSTRLEN];
    uint8_t macs[MAX_HOSTS][6];
    size_t nhosts;
};

static fr_fp_sim *sim_of(fr_fp_dataplane *dp)
{
    return (fr_fp_sim *)dp;
}

static entry *find(table *t, const void *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->e[i].key, key, t->key_len) == 0)
            return &t->e[i];
    return NULL;
}

static int insert(fr_fp_sim *s, table *t, const void *key, const void *value)
{
    if (t->n == s->capacity)
        return -E2BIG;
    memcpy(t->e[t->n].key, key, t->key_len);
    memcpy(t->e[t->n].value, value, t->value_len);
    t->n++;
    return 0;
}

static int lookup(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  void *value)
{
    fr_fp_sim *s = sim_of(dp);
    table *t = &s->maps[m];
    entry *e = find(t, key);

    if (e) {
        memcpy(value, e->value, t->value_len);
        return 0;
    }
    if (s->race.armed && s->race.m == m &&
        memcmp(s->race.key, key, t->key_len) == 0) {
        s->race.armed = 0;
        insert(s, t, s->race.key, s->race.value);
    }
    return -ENOENT;
}

static int update(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                  const void *value, int flags)
{
    fr_fp_sim *s = sim_of(dp);
    table *t = &s->maps[m];
    entry *e = find(t, key);

    if (e && flags == FR_FP_NOEXIST)
        return -EEXIST;
    if (e) {
        memcpy(e->value, value, t->value_len);
        return 0;
    }
    return insert(s, t, key, value);
}

static int remove_key(fr_fp_dataplane *dp, fr_fp_map m, const void *key)
{
    table *t = &sim_of(dp)->maps[m];
    entry *e = find(t, key);

    if (!e)
        return -ENOENT;
    memmove(e, e + 1, (size_t)(t->e + t->n - (e + 1)) * sizeof(*e));
    t->n--;
    return 0;
}

static int next_key(fr_fp_dataplane *dp, fr_fp_map m, const void *key,
                    void *next)
{
    table *t = &sim_of(dp)->maps[m];
    entry *e = key ? find(t, key) : NULL;
    size_t i = e ? (size_t)(e - t->e) + 1 : 0;

    /* A key that is gone restarts the walk, as the kernel's hash does. */
    if (i >= t->n)
        return -ENOENT;
    memcpy(next, t->e[i].key, t->key_len);
    return 0;
}

static int poll_sent(fr_fp_dataplane *dp, fr_fp_sent_cb on_sent,
                     void *user_data)
{
    fr_fp_sim *s = sim_of(dp);
    size_t n = s->nevents;

    /* on_sent may lead to more events: those wait for the next poll. */
    s->nevents = 0;
    for (size_t i = 0; i < n; i++)
        on_sent(&s->events[i], user_data);
    return (int)n;
}

static uint64_t count(fr_fp_dataplane *dp, fr_fp_role role, uint32_t reason)
{
    return reason < MAX_REASONS ? sim_of(dp)->counts[role][reason] : 0;
}

static int attach(fr_fp_dataplane *dp, int ifindex, fr_fp_role role,
                  fr_fp_attach_mode mode, char *why, size_t whylen)
{
    (void)ifindex;
    (void)mode;
    (void)why;
    (void)whylen;
    while (__atomic_load_n(&sim_of(dp)->gate_closed, __ATOMIC_ACQUIRE))
        usleep(1000);
    __atomic_fetch_add(&sim_of(dp)->attached[role], 1, __ATOMIC_RELAXED);
    return 0;
}

/* The hosts, all on the loopback interface (which has an index and a
 * MAC address on every machine), in /proc/net/route's and /proc/net/arp's
 * formats. */
static int tables_read(fr_fp_dataplane *dp, fr_nexthop_tables *t)
{
    fr_fp_sim *s = sim_of(dp);
    size_t cap = 256 + s->nhosts * 96, o = 0;

    t->route = malloc(256);
    t->arp = malloc(cap);
    if (!t->route || !t->arp) {
        fr_nexthop_tables_free(t);
        return FR_ERR_NOMEM;
    }
    /* 198.18.0.0/15 on the link: addresses as raw 32-bit values. */
    snprintf(t->route, 256,
             "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "lo\t%08X\t00000000\t0001\t0\t0\t0\t%08X\n",
             (unsigned)inet_addr("198.18.0.0"),
             (unsigned)inet_addr("255.254.0.0"));
    o += (size_t)snprintf(t->arp, cap,
                          "IP address HW type Flags HW address Mask Device\n");
    for (size_t i = 0; i < s->nhosts; i++) {
        const uint8_t *m = s->macs[i];

        o += (size_t)snprintf(t->arp + o, cap - o,
                              "%s 0x1 0x2 %02x:%02x:%02x:%02x:%02x:%02x * lo\n",
                              s->hosts[i], m[0], m[1], m[2], m[3], m[4], m[5]);
    }
    return 0;
}

static void close_sim(fr_fp_dataplane *dp)
{
    fr_fp_sim *s = sim_of(dp);

    for (int m = 0; m < FR_FP_MAPS; m++)
        free(s->maps[m].e);
    free(dp->pools);
    free(dp->tx);
    free(s);
}

static const fr_fp_dataplane_ops sim_ops = {
    .lookup = lookup,
    .update = update,
    .remove = remove_key,
    .next_key = next_key,
    .poll_sent = poll_sent,
    .count = count,
    .attach = attach,
    .tables_read = tables_read,
    .close = close_sim,
};

void fr_fp_sim_attach_on_threads(fr_fp_sim *sim)
{
    /* The same ops, attaching as the BPF data plane does: on a thread. */
    sim->threaded_ops = sim_ops;
    sim->threaded_ops.attach_blocks = 1;
    sim->dp.ops = &sim->threaded_ops;
}

void fr_fp_sim_attach_gate(fr_fp_sim *sim, int open)
{
    __atomic_store_n(&sim->gate_closed, !open, __ATOMIC_RELEASE);
}

fr_fp_dataplane *fr_fp_sim_new(size_t capacity, fr_fp_sim **sim)
{
    static const size_t sizes[FR_FP_MAPS][2] = {
        [FR_FP_MAP_UPSTREAM_CIDS] = {sizeof(struct fr_fp_cid_key),
                                     sizeof(struct fr_fp_upstream)},
        [FR_FP_MAP_SLOTS] = {sizeof(uint32_t), sizeof(struct fr_fp_slot)},
        [FR_FP_MAP_SUBSTREAMS] = {sizeof(struct fr_fp_substream_key),
                                  sizeof(uint64_t)},
        [FR_FP_MAP_CREDIT] = {sizeof(struct fr_fp_credit_key),
                              sizeof(uint64_t)},
        [FR_FP_MAP_KEYS] = {sizeof(uint32_t), sizeof(struct fr_fp_keys)},
        [FR_FP_MAP_RX_PN] = {sizeof(uint32_t), sizeof(uint64_t)},
        [FR_FP_MAP_TRACK_SLOTS] = {sizeof(struct fr_fp_track_key),
                                   sizeof(struct fr_fp_subscribers)},
    };
    fr_fp_sim *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->dp.ops = &sim_ops;
    s->capacity = capacity;
    s->dp.pools = calloc(FR_FP_MAX_SLOTS, sizeof(*s->dp.pools));
    s->dp.tx = calloc(FR_FP_MAX_SLOTS, sizeof(*s->dp.tx));
    for (int m = 0; m < FR_FP_MAPS; m++) {
        s->maps[m].key_len = sizes[m][0];
        s->maps[m].value_len = sizes[m][1];
        s->maps[m].e = calloc(capacity ? capacity : 1, sizeof(entry));
        if (!s->maps[m].e)
            s->dp.pools = NULL; /* fails below */
    }
    if (!s->dp.pools || !s->dp.tx) {
        close_sim(&s->dp);
        return NULL;
    }
    *sim = s;
    return &s->dp;
}

size_t fr_fp_sim_entries(const fr_fp_sim *sim, fr_fp_map m)
{
    return sim->maps[m].n;
}

void fr_fp_sim_race(fr_fp_sim *sim, fr_fp_map m, const void *key,
                    size_t key_len, const void *value, size_t value_len)
{
    sim->race.armed = 1;
    sim->race.m = m;
    memcpy(sim->race.key, key, key_len);
    memcpy(sim->race.value, value, value_len);
}

void fr_fp_sim_sent(fr_fp_sim *sim, const struct fr_fp_sent_event *ev)
{
    if (sim->nevents < MAX_EVENTS)
        sim->events[sim->nevents++] = *ev;
}

void fr_fp_sim_count(fr_fp_sim *sim, fr_fp_role role, uint32_t reason)
{
    if (reason < MAX_REASONS)
        sim->counts[role][reason]++;
}

void fr_fp_sim_host(fr_fp_sim *sim, const char *ip, const uint8_t mac[6])
{
    if (sim->nhosts == MAX_HOSTS)
        return;
    snprintf(sim->hosts[sim->nhosts], INET_ADDRSTRLEN, "%s", ip);
    memcpy(sim->macs[sim->nhosts], mac, 6);
    sim->nhosts++;
}

size_t fr_fp_sim_attached(const fr_fp_sim *sim, fr_fp_role role)
{
    return __atomic_load_n(&sim->attached[role], __ATOMIC_RELAXED);
}
