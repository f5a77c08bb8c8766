/*
 * Helpers shared by the netns test tools (fr-udpprobe, fr-garbage):
 * argument parsing and the rule that they send only to the benchmarking
 * range 198.18.0.0/15.
 */
#ifndef FR_NETNS_TOOL_H
#define FR_NETNS_TOOL_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Parses a decimal number in [min, max]. */
static inline bool netns_parse_u32(const char *s, uint32_t min, uint32_t max,
                                   uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s == '-')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Only the benchmarking range 198.18.0.0/15 is an allowed destination. */
static inline bool netns_is_benchmark_addr(struct in_addr a)
{
    return (ntohl(a.s_addr) & 0xfffe0000u) == 0xc6120000u;
}

/* The options both tools take: --to ADDR (198.18.0.0/15 only), --port N,
 * --count N (1 to NETNS_MAX_COUNT), as getopt codes 'a', 'p' and 'c'. */
#define NETNS_MAX_COUNT 10000000u
struct netns_dest {
    struct in_addr to;
    bool to_set;
    uint16_t port;
    uint32_t count;
};

/* Returns 1 if `c` was one of them (taken into `d`), 0 if it is not, -1
 * with *err saying what was wrong with `arg`. */
static inline int netns_dest_option(int c, const char *arg,
                                    struct netns_dest *d, const char **err)
{
    uint32_t port;

    switch (c) {
    case 'a':
        if (inet_pton(AF_INET, arg, &d->to) != 1) {
            *err = "not an IPv4 address:";
            return -1;
        }
        if (!netns_is_benchmark_addr(d->to)) {
            *err = "refusing a destination outside 198.18.0.0/15:";
            return -1;
        }
        d->to_set = true;
        return 1;
    case 'p':
        if (!netns_parse_u32(arg, 1, 65535, &port)) {
            *err = "port must be 1 to 65535, not";
            return -1;
        }
        d->port = (uint16_t)port;
        return 1;
    case 'c':
        if (!netns_parse_u32(arg, 1, NETNS_MAX_COUNT, &d->count)) {
            *err = "count must be 1 to 10000000, not";
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

#endif
