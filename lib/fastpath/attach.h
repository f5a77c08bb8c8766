/*
 * Attaching tc BPF programs to an interface: a tcx link where the kernel
 * has tcx, else a clsact qdisc and a filter at a caller-chosen handle and
 * priority. tcx links end with the process that holds them; a tc filter
 * outlives a crash, so fr_fp_remove_stale clears one left behind.
 */
#ifndef FR_FP_ATTACH_H
#define FR_FP_ATTACH_H

#include <stdint.h>

#include <bpf/libbpf.h>

typedef enum fr_fp_attach_mode {
    FR_FP_ATTACH_AUTO = 0, /* tcx, else tc */
    FR_FP_ATTACH_TCX,
    FR_FP_ATTACH_TC
} fr_fp_attach_mode;

typedef struct fr_fp_attachment {
    fr_fp_attach_mode mode;   /* the mode in use */
    struct bpf_link *link;    /* tcx */
    struct bpf_tc_hook hook;  /* tc */
    uint32_t handle;
    uint32_t priority;
    int qdisc_created;
    int filter_attached;
} fr_fp_attachment;

/* Before loading: tcx takes the direction from the program's expected
 * attach type, so set it for the direction it will be attached to. */
void fr_fp_set_direction(struct bpf_program *prog, int egress);

/* Attaches `prog` to ifindex's ingress or egress. In tc mode the filter
 * gets `handle` and `priority`. Returns 0 or a negative errno; `why` (if
 * not NULL) gets a readable reason on failure. */
int fr_fp_attach(fr_fp_attachment *a, const struct bpf_program *prog,
                 int ifindex, int egress, fr_fp_attach_mode mode,
                 uint32_t handle, uint32_t priority, char *why,
                 size_t whylen);

/* Detaches; removes the clsact qdisc too if this attachment created it
 * and the other direction holds no filter at the same handle/priority. */
void fr_fp_detach(fr_fp_attachment *a);

/* Removes a tc filter at (handle, priority) on ifindex's ingress or egress
 * that a process which died left there. Returns 1 if one was removed, 0
 * if there was none, or a negative errno. */
int fr_fp_remove_stale(int ifindex, int egress, uint32_t handle,
                       uint32_t priority);

#endif
