/* Reading BPF maps in tests. */
#ifndef FR_TEST_BPFMAP_H
#define FR_TEST_BPFMAP_H

#include <stdint.h>

struct bpf_map;

/* The sum over every CPU of entry `key` of a per-CPU array of __u64
 * counters; fails the test if the lookup fails. */
uint64_t fr_test_percpu_sum(const struct bpf_map *map, uint32_t key);

#endif
