/* Reading BPF maps in tests. */
#include "fr_test.h"

#include <bpf/libbpf.h>

#include "bpfmap.h"

#define MAX_CPUS 512

uint64_t fr_test_percpu_sum(const struct bpf_map *map, uint32_t key)
{
    int ncpu = libbpf_num_possible_cpus();
    uint64_t vals[MAX_CPUS], sum = 0;

    assert_true(ncpu > 0 && ncpu <= MAX_CPUS);
    assert_int_equal(bpf_map__lookup_elem(map, &key, sizeof(key), vals,
                                          sizeof(uint64_t) * (size_t)ncpu, 0),
                     0);
    for (int i = 0; i < ncpu; i++)
        sum += vals[i];
    return sum;
}
