/*
 * UDP checksums for the tc programs: a segment's partial sum, read in
 * chunks through a per-CPU buffer, and the final fold. Header-only; its
 * buffer map is weak, like quic_parse.bpf.h's functions.
 */
#ifndef FR_UDP_CSUM_BPF_H
#define FR_UDP_CSUM_BPF_H

#define CSUM_CHUNK 256
#define CSUM_CHUNKS 8 /* 2 KiB of UDP payload at most */

struct csum_buf {
    __u8 b[CSUM_CHUNK];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct csum_buf);
} fr_fp_csum SEC(".maps") __weak;

/* Folds a 32-bit partial sum (as bpf_csum_diff returns it) to the 16-bit
 * checksum, complemented, ready to store as it is. */
static __always_inline __u16 csum_finish(__s64 partial)
{
    __u32 sum = (__u32)partial;

    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

/* Partial sum of the UDP segment [l4, l4 + len), read in zero-padded
 * chunks (zeros add nothing; chunks keep 16-bit alignment). Returns the
 * sum folded in with `seed`, or a negative value. */
static __always_inline __s64 segment_sum(struct __sk_buff *skb, __u32 l4,
                                         __u32 len, __s64 seed)
{
    __u32 zero = 0, done = 0;
    struct csum_buf *buf = bpf_map_lookup_elem(&fr_fp_csum, &zero);
    __s64 sum = seed;

    if (!buf)
        return -1;
    for (int i = 0; i < CSUM_CHUNKS; i++) {
        __u32 n = len - done;
        if (done >= len)
            break;
        if (n > CSUM_CHUNK)
            n = CSUM_CHUNK;
        __builtin_memset(buf->b, 0, CSUM_CHUNK);
        if (n == 0 || n > CSUM_CHUNK ||
            bpf_skb_load_bytes(skb, l4 + done, buf->b, n))
            return -1;
        sum = bpf_csum_diff(NULL, 0, (__be32 *)buf->b, CSUM_CHUNK,
                            (__wsum)sum);
        if (sum < 0)
            return -1;
        done += n;
    }
    return done >= len ? sum : -1;
}

#endif
