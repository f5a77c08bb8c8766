/*
 * SUBSCRIBEs held for a publisher (see rendezvous.h). The list is short:
 * each entry is an unanswered SUBSCRIBE, bounded per session by its
 * subscription limit.
 */
#include <stdlib.h>

#include <fastrelay/error.h>

#include "rendezvous.h"

struct fr_rdv_wait {
    fr_moq_session *s;
    uint64_t req;
    fr_moq_name_copy name;
    fr_moq_sub_params params;
    fr_tstamp deadline;
    fr_rdv_wait *next;
};

int fr_rdv_hold(fr_rdv *v, fr_moq_session *s, uint64_t req,
                const fr_moq_name *name, const fr_moq_sub_params *p,
                fr_tstamp deadline)
{
    fr_rdv_wait *w = calloc(1, sizeof(*w)), **pp = &v->head;

    if (!w || fr_moq_name_copy_set(&w->name, name) != 0) {
        free(w);
        return FR_ERR_NOMEM;
    }
    w->s = s;
    w->req = req;
    w->params = *p;
    w->deadline = deadline;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    v->count++;
    return 0;
}

static void wait_free(fr_rdv *v, fr_rdv_wait *w)
{
    fr_moq_name_copy_free(&w->name);
    free(w);
    v->count--;
}

void fr_rdv_release(fr_rdv *v, const fr_moq_name *ns, int exact,
                    void (*again)(void *arg, fr_moq_session *s, uint64_t req,
                                  const fr_moq_name *name,
                                  const fr_moq_sub_params *p),
                    void *arg)
{
    fr_rdv_wait *ready = NULL, **tail = &ready, **pp = &v->head;

    /* Unlink first: `again` may hold some of them anew. */
    while (*pp) {
        fr_rdv_wait *w = *pp;
        if (exact ? fr_moq_name_eq(ns, &w->name.name)
                  : fr_moq_ns_covers(ns, &w->name.name)) {
            *pp = w->next;
            w->next = NULL;
            *tail = w;
            tail = &w->next;
        } else {
            pp = &w->next;
        }
    }
    while (ready) {
        fr_rdv_wait *w = ready;
        ready = w->next;
        again(arg, w->s, w->req, &w->name.name, &w->params);
        wait_free(v, w);
    }
}

void fr_rdv_expire(fr_rdv *v, fr_tstamp now)
{
    fr_rdv_wait **pp = &v->head;

    while (*pp) {
        fr_rdv_wait *w = *pp;
        if (w->deadline <= now) {
            *pp = w->next;
            /* The subscriber may have cancelled it meanwhile: then there
             * is nothing to answer. */
            fr_moq_reject(w->s, w->req, FR_MOQ_REQ_TIMEOUT,
                          "no publisher within the rendezvous timeout");
            wait_free(v, w);
        } else {
            pp = &w->next;
        }
    }
}

fr_tstamp fr_rdv_next_expiry(const fr_rdv *v)
{
    fr_tstamp t = FR_TSTAMP_MAX;

    for (const fr_rdv_wait *w = v->head; w; w = w->next)
        if (w->deadline < t)
            t = w->deadline;
    return t;
}

void fr_rdv_drop(fr_rdv *v, const fr_moq_session *s)
{
    fr_rdv_wait **pp = &v->head;

    while (*pp) {
        fr_rdv_wait *w = *pp;
        if (!s || w->s == s) {
            *pp = w->next;
            wait_free(v, w);
        } else {
            pp = &w->next;
        }
    }
}
