/*
 * One attachment made on a thread of its own. Attaching a tcx link makes
 * the kernel wait for an RCU grace period (4-26 ms measured on the
 * development VM), and the relay's event loop, which serves every
 * connection, must not wait with it. The thread calls the data plane's
 * attach op and nothing else; the loop owns everything else. Attachments
 * to different interfaces or directions run at once (kernel.c): their
 * waits overlap.
 */
#ifndef FR_FP_ATTACH_JOB_H
#define FR_FP_ATTACH_JOB_H

#include <stddef.h>

#include "dataplane.h"

typedef struct fr_fp_attach_job fr_fp_attach_job;

/* Starts dp->ops->attach(dp, ifindex, role, mode). Returns 0, or
 * FR_ERR_NOMEM / FR_ERR_INTERNAL (no thread could be started). */
int fr_fp_attach_job_start(fr_fp_attach_job **out, fr_fp_dataplane *dp,
                           int ifindex, fr_fp_role role,
                           fr_fp_attach_mode mode);

/* Whether the attach op has returned. */
int fr_fp_attach_job_done(const fr_fp_attach_job *j);

/* Waits for the attach op if it has not returned, frees the job, and
 * returns what the op returned (`why`, if not NULL, gets its reason on
 * failure). */
int fr_fp_attach_job_end(fr_fp_attach_job *j, char *why, size_t whylen);

#endif
