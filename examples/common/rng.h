/* Internal: splitmix64, a small fast generator for filler bytes and
 * sampling (not for anything security related). */
#ifndef FRT_RNG_H
#define FRT_RNG_H

#include <stdint.h>

/* Advances *state and returns the next 64 pseudo-random bits; every output
 * depends on all bits of the state. */
static inline uint64_t frt_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

#endif
