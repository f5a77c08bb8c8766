/*
 * Types and the loss decision shared by bpf/impair.bpf.c and its userspace
 * users (test/netns/fr-impair, test/bpf/test_impair).
 *
 * One loaded instance of the program impairs one interface in one direction:
 * its config map holds the loss rate and seed, its stats map the counters.
 * Packet number i of that stream is dropped when impair_drop(seed, i, loss)
 * says so, which makes the drop pattern a pure function of the seed and the
 * packet order, identical on every run.
 */
#ifndef FR_IMPAIR_KERN_USER_H
#define FR_IMPAIR_KERN_USER_H

/* BPF programs get the __u* types from vmlinux.h, included first. */
#ifndef __bpf__
#include <linux/types.h>
#endif

/* Loss rates are given in parts per million. */
#define IMPAIR_PPM_MAX 1000000u

/* impair_config.flags: impair only UDP (over IPv4 or IPv6). */
#define IMPAIR_F_UDP_ONLY (1u << 0)

/* Value of the single entry of the impair_config map, written by userspace. */
struct impair_config {
    __u64 seed;
    __u32 loss_ppm; /* 0 .. IMPAIR_PPM_MAX */
    __u32 flags;    /* IMPAIR_F_* */
};
_Static_assert(sizeof(struct impair_config) == 16, "impair_config layout");

/* Value of the single entry of the impair_stats map, updated atomically by
 * the program. Userspace resets it by writing zeros. */
struct impair_stats {
    __u64 seen;    /* packets given a loss decision; also the next index */
    __u64 dropped; /* packets dropped by that decision */
    __u64 skipped; /* packets passed without a decision (non-IP, filtered) */
};
_Static_assert(sizeof(struct impair_stats) == 24, "impair_stats layout");

/* SplitMix64 output function: a bijective 64-bit mixer. */
static inline __u64 impair_mix64(__u64 x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Counter-based decision: nonzero when packet number `index` of a stream
 * impaired with `seed` at `loss_ppm` must be dropped. The top 32 bits of the
 * hash are scaled onto [0, IMPAIR_PPM_MAX) without modulo bias. */
static inline int impair_drop(__u64 seed, __u64 index, __u32 loss_ppm)
{
    __u64 r = impair_mix64(seed + (index + 1) * 0x9e3779b97f4a7c15ULL);

    return ((r >> 32) * IMPAIR_PPM_MAX >> 32) < loss_ppm;
}

#endif
