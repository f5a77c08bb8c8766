/*
 * SUBSCRIBEs a relay holds until a publisher of their track appears
 * (draft 18 RENDEZVOUS_TIMEOUT): each waits until a namespace or track
 * that covers it arrives, its deadline passes (REQUEST_ERROR TIMEOUT), or
 * its session goes.
 */
#ifndef FR_MOQ_RENDEZVOUS_H
#define FR_MOQ_RENDEZVOUS_H

#include <fastrelay/moq.h>

#include "session_internal.h"

typedef struct fr_rdv_wait fr_rdv_wait;

typedef struct fr_rdv {
    fr_rdv_wait *head;
    size_t count;
} fr_rdv;

/* Holds request `req` of `s` for `name` until `deadline`. Returns 0 or
 * FR_ERR_NOMEM (the caller then answers it). */
int fr_rdv_hold(fr_rdv *v, fr_moq_session *s, uint64_t req,
                const fr_moq_name *name, const fr_moq_sub_params *p,
                fr_tstamp deadline);

/* A publisher appeared for every track under `ns` (a namespace, or with
 * `exact` one track name): each waiting SUBSCRIBE it covers leaves the
 * list and goes to `again`, in arrival order. */
void fr_rdv_release(fr_rdv *v, const fr_moq_name *ns, int exact,
                    void (*again)(void *arg, fr_moq_session *s, uint64_t req,
                                  const fr_moq_name *name,
                                  const fr_moq_sub_params *p),
                    void *arg);

/* Answers REQUEST_ERROR TIMEOUT to every SUBSCRIBE due by `now`. */
void fr_rdv_expire(fr_rdv *v, fr_tstamp now);

/* The earliest deadline, or FR_TSTAMP_MAX. */
fr_tstamp fr_rdv_next_expiry(const fr_rdv *v);

/* Forgets the SUBSCRIBEs of `s` (it closed), or all (s NULL). */
void fr_rdv_drop(fr_rdv *v, const fr_moq_session *s);

#endif
