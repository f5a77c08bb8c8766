/*
 * The benchmark's packet tap (tap.bpf.c): one record per STREAM frame of
 * each 1-RTT packet seen at a point of the path, with the time it passed
 * (cleartext packets), or the first bytes of each (encrypted ones). Shared
 * by the program and the collector (test/bench/fr-tap.c).
 */
#ifndef FR_TAP_KERN_USER_H
#define FR_TAP_KERN_USER_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define FR_TAP_HEAD 24 /* stream bytes kept from offset 0 (its header) */

struct fr_tap_rec {
    __u64 time_ns;      /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
    __u64 conn;         /* the DCID's first 8 bytes (or 4): the
                           connection, where many share a UDP port */
    __u64 stream;
    __u64 offset;
    __u32 length;
    __u32 mark;         /* skb->mark: a fast-path clone before rewrite */
    __u16 sport;        /* host order */
    __u16 dport;
    __u16 head_len;     /* bytes valid in head (offset 0 only) */
    __u16 pad;
    __u8 head[FR_TAP_HEAD];
};
_Static_assert(sizeof(struct fr_tap_rec) == 72, "fr_tap_rec layout");

/* In raw mode (encrypted packets, which the collector opens with a key
 * log): one record per short-header packet, its first bytes as they are. */
#define FR_TAP_RAW 128

struct fr_tap_raw {
    __u64 time_ns;
    __u32 mark;
    __u16 sport;
    __u16 dport;
    __u16 len;          /* UDP payload bytes */
    __u16 caplen;       /* bytes valid in bytes */
    __u32 pad;
    __u8 bytes[FR_TAP_RAW];
};
_Static_assert(sizeof(struct fr_tap_raw) == 152, "fr_tap_raw layout");

#endif
