/* An attachment made off the event loop (attach_job.h). */
#include "attach_job.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <fastrelay/error.h>

struct fr_fp_attach_job {
    pthread_t thread;
    fr_fp_dataplane *dp;
    int ifindex;
    fr_fp_role role;
    fr_fp_attach_mode mode;
    int rv;
    int done; /* set, with release, once rv and why are written */
    char why[256];
};

static void *run(void *arg)
{
    fr_fp_attach_job *j = arg;

    j->rv = j->dp->ops->attach(j->dp, j->ifindex, j->role, j->mode, j->why,
                               sizeof(j->why));
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int fr_fp_attach_job_start(fr_fp_attach_job **out, fr_fp_dataplane *dp,
                           int ifindex, fr_fp_role role,
                           fr_fp_attach_mode mode)
{
    fr_fp_attach_job *j = calloc(1, sizeof(*j));

    if (!j)
        return FR_ERR_NOMEM;
    j->dp = dp;
    j->ifindex = ifindex;
    j->role = role;
    j->mode = mode;
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        free(j);
        return FR_ERR_INTERNAL;
    }
    *out = j;
    return 0;
}

int fr_fp_attach_job_done(const fr_fp_attach_job *j)
{
    return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

int fr_fp_attach_job_end(fr_fp_attach_job *j, char *why, size_t whylen)
{
    int rv;

    pthread_join(j->thread, NULL);
    rv = j->rv;
    if (rv && why && whylen)
        snprintf(why, whylen, "%s", j->why);
    free(j);
    return rv;
}
