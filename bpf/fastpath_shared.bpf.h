/*
 * What the fast path's two programs share (upstream_ingress.bpf.c,
 * subscriber_egress.bpf.c): the load-time CID length, the upstream
 * connections' CIDs, the subscriber slots and the subscribers' stream
 * map. Compiled into both objects and
 * linked into one (bpftool gen object): weak definitions, which the
 * linker merges into one map or variable each.
 */
#ifndef FR_FASTPATH_SHARED_BPF_H
#define FR_FASTPATH_SHARED_BPF_H

/* Length of the relay's own connection IDs (fr_quic_settings.cid_len),
 * which upstream packets carry as DCID; set at load. */
const volatile __u8 upstream_dcid_len __weak = 8;

/* Our CIDs on upstream connections: ingress finds a packet's upstream
 * by them, egress a copy's (the copy still carries the upstream's). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FR_FP_MAX_UPSTREAM_CIDS);
    __type(key, struct fr_fp_cid_key);
    __type(value, struct fr_fp_upstream);
} fr_fp_upstream_cids SEC(".maps") __weak;

/* A hash, not an array: an update replaces the whole value at once, so a
 * program never reads a slot half-rewritten (say, during a CID change). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FR_FP_MAX_SLOTS);
    __type(key, __u32);
    __type(value, struct fr_fp_slot);
} fr_fp_slots SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FR_FP_MAX_STREAMS);
    __type(key, struct fr_fp_substream_key);
    __type(value, __u64);
} fr_fp_substreams SEC(".maps") __weak;

char LICENSE[] SEC("license") __weak = "Dual BSD/GPL";

#endif
