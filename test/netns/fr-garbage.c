/*
 * fr-garbage: sends junk UDP datagrams at a QUIC server, for the tests that
 * a relay survives them. A seeded mix of four kinds:
 *   random    random bytes, 1 to 1500 of them
 *   initial   QUIC v1 long headers (Initial, padded to 1200 bytes) with
 *             random CIDs and a random, undecryptable payload: each one
 *             looks like a new connection
 *   version   long headers of unknown versions (version negotiation)
 *   short     short headers with random destination CIDs of --cid-len
 *             bytes and random payloads (1-RTT packets of no connection)
 * Bounded: --count datagrams spread evenly over --duration seconds, then
 * it stops; destinations outside 198.18.0.0/15 are refused.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns_tool.h"

#define MAX_DGRAM 1500

enum kind { K_RANDOM, K_INITIAL, K_VERSION, K_SHORT, K_COUNT };
static const char *const kind_names[K_COUNT] = {"random", "initial",
                                                "version", "short"};

struct options {
    struct netns_dest d; /* --to, --port, --count */
    uint32_t duration_s;
    uint32_t seed;
    uint32_t cid_len;
};

static void usage(FILE *out)
{
    fputs("Usage: fr-garbage --to ADDR --port N --count N [--duration S]\n"
          "                  [--seed N] [--cid-len N]\n"
          "\n"
          "Sends --count junk datagrams to ADDR:PORT (198.18.0.0/15 only),\n"
          "evenly over --duration seconds (default 8), a seeded (--seed,\n"
          "default 1) mix of random bytes, fake QUIC v1 Initials, long\n"
          "headers of unknown versions and short headers with random\n"
          "destination CIDs of --cid-len bytes (default 8). Prints\n"
          "'sent=N errors=N' and the count of each kind.\n",
          out);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "fr-garbage: %s '%s'\nTry 'fr-garbage --help'.\n", what,
            arg);
    return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},
        {"cid-len", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *o = (struct options){.duration_s = 8, .seed = 1, .cid_len = 8};
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const char *err;
        int taken = netns_dest_option(c, optarg, &o->d, &err);

        if (taken < 0)
            return usage_error(err, optarg);
        if (taken)
            continue;
        switch (c) {
        case 'd':
            if (!netns_parse_u32(optarg, 1, 600, &o->duration_s))
                return usage_error("duration must be 1 to 600 s, not", optarg);
            break;
        case 's':
            if (!netns_parse_u32(optarg, 0, UINT32_MAX, &o->seed))
                return usage_error("not a seed:", optarg);
            break;
        case 'l':
            if (!netns_parse_u32(optarg, 1, 20, &o->cid_len))
                return usage_error("CID length must be 1 to 20, not", optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default: /* getopt_long has said what was wrong */
            fputs("Try 'fr-garbage --help'.\n", stderr);
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (!o->d.to_set || !o->d.port || !o->d.count) {
        fputs("fr-garbage: --to, --port and --count are required\n"
              "Try 'fr-garbage --help'.\n",
              stderr);
        return 2;
    }
    return 0;
}

/* xorshift64*: the same seed gives the same datagrams. */
static uint64_t next_rand(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * 0x2545f4914f6cdd1dull;
}

static void fill_random(uint64_t *st, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next_rand(st);
}

/* A long header: first byte, version, DCID and SCID with their lengths;
 * the rest random. Returns the datagram's length. */
static size_t long_header(uint64_t *st, uint8_t *p, uint32_t version,
                          size_t len)
{
    size_t dcil = 8 + next_rand(st) % 13, scil = next_rand(st) % 21, off = 0;

    fill_random(st, p, len);
    p[off++] = (uint8_t)(0xc0 | (p[0] & 0x0f)); /* Initial when v1 */
    p[off++] = (uint8_t)(version >> 24);
    p[off++] = (uint8_t)(version >> 16);
    p[off++] = (uint8_t)(version >> 8);
    p[off++] = (uint8_t)version;
    p[off++] = (uint8_t)dcil;
    off += dcil;
    p[off++] = (uint8_t)scil;
    off += scil;
    if (version == 1) {
        size_t rest;
        p[off++] = 0; /* token length */
        rest = len - off - 2; /* the Length field: a 2-byte varint */
        p[off++] = (uint8_t)(0x40 | (rest >> 8));
        p[off++] = (uint8_t)rest;
    }
    return len;
}

static size_t make_dgram(uint64_t *st, const struct options *o, enum kind k,
                         uint8_t *p)
{
    uint32_t v;
    size_t len;

    switch (k) {
    case K_RANDOM:
        len = 1 + next_rand(st) % MAX_DGRAM;
        fill_random(st, p, len);
        return len;
    case K_INITIAL:
        return long_header(st, p, 1, 1200);
    case K_VERSION:
        do
            v = (uint32_t)next_rand(st);
        while (v == 1 || v == 0);
        return long_header(st, p, v, 1200 + next_rand(st) % 200);
    default:
        len = 1 + o->cid_len + 20 + next_rand(st) % 1200;
        fill_random(st, p, len);
        p[0] = (uint8_t)(0x40 | (p[0] & 0x3f)); /* short header, fixed bit */
        return len;
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct options o;
    struct sockaddr_in to;
    uint8_t buf[MAX_DGRAM];
    uint64_t st, start, gap_ns, sent = 0, errors = 0;
    uint64_t per_kind[K_COUNT] = {0};
    int fd, rv;

    rv = parse_options(argc, argv, &o);
    if (rv)
        return rv;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("fr-garbage: socket");
        return 1;
    }
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_addr = o.d.to;
    to.sin_port = htons(o.d.port);
    st = 0x9e3779b97f4a7c15ull ^ o.seed;
    gap_ns = (uint64_t)o.duration_s * 1000000000ull / o.d.count;
    start = now_ns();
    for (uint32_t i = 0; i < o.d.count; i++) {
        enum kind k = (enum kind)(next_rand(&st) % K_COUNT);
        size_t len = make_dgram(&st, &o, k, buf);
        uint64_t due = start + i * gap_ns, t = now_ns();

        if (due > t + 1000000) { /* more than 1 ms ahead: wait */
            struct timespec d = {(time_t)((due - t) / 1000000000ull),
                                 (long)((due - t) % 1000000000ull)};
            nanosleep(&d, NULL);
        }
        if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
            errors++;
        else
            sent++;
        per_kind[k]++;
    }
    close(fd);
    printf("sent=%llu errors=%llu", (unsigned long long)sent,
           (unsigned long long)errors);
    for (int k = 0; k < K_COUNT; k++)
        printf(" %s=%llu", kind_names[k], (unsigned long long)per_kind[k]);
    printf(" seconds=%.1f\n", (double)(now_ns() - start) / 1e9);
    return errors == sent + errors ? 1 : 0;
}
