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

#endif
