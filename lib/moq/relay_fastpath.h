/*
 * How the kernel fast path takes part in the relay's forwarding (see
 * lib/fastpath/fastpath.c): which downstream subscriptions the kernel
 * serves, and which subgroup streams it already forwards to them.
 */
#ifndef FR_MOQ_RELAY_FASTPATH_H
#define FR_MOQ_RELAY_FASTPATH_H

#include <stdint.h>

#include <fastrelay/relay.h>

typedef struct fr_relay_fastpath {
    void *arg;
    /* `down` is the first to subscribe to a track the relay will have
     * from `up`. Returns nonzero while the kernel gets ready to serve
     * them (an attachment under way): the relay then holds its upstream
     * SUBSCRIBE until fr_relay_fastpath_retry, so that the kernel has the
     * track from its first subgroup. Also asked, its answer unused, with
     * `up` NULL for every session that becomes ready (it may subscribe)
     * and with `down` NULL for every session that may publish (an
     * upstream, a namespace's publisher), so that the kernel is ready
     * before the first SUBSCRIBE. */
    int (*prepare)(void *arg, fr_moq_session *up, fr_moq_session *down);
    /* `down` wants every subgroup stream of track `alias` of the upstream
     * session `up` that begins from now on, and knows the track by
     * `down_alias` (the same for every `down` of the track); subgroups
     * whose header has no priority have the track's `default_priority`.
     * Returns 0 if the
     * kernel will forward them, a negative FR_ERR_* if it cannot
     * (userspace does then): FR_ERR_UNSUPPORTED when it never can (the
     * TLS suite of `up` or `down`), so their copies do not count as ones
     * the kernel could have sent. */
    int (*join)(void *arg, fr_moq_session *up, uint64_t alias,
                uint64_t down_alias, uint8_t default_priority,
                fr_moq_session *down);
    void (*leave)(void *arg, fr_moq_session *up, uint64_t alias,
                  fr_moq_session *down);
    /* The stream on which the kernel forwards upstream stream `stream` of
     * `up` to `down`, or -1 if it does not: userspace does. Asked once,
     * at the stream's start; the answer stands (the kernel cannot take
     * the stream on after a -1) until stream_end. */
    int64_t (*stream_for)(void *arg, fr_moq_session *up, uint64_t stream,
                          fr_moq_session *down);
    /* Upstream stream `stream` ended (after stream_for was asked of it
     * for `down`): its record for `down` can go. */
    void (*stream_end)(void *arg, fr_moq_session *up, uint64_t stream,
                       fr_moq_session *down);
    /* Whether `down`'s policy lets it have a subgroup of this publisher
     * priority (asked at each subgroup's start). */
    int (*admit)(void *arg, fr_moq_session *down, uint8_t priority);
    /* A session of the relay closed. */
    void (*session_closed)(void *arg, fr_moq_session *s);
} fr_relay_fastpath;

/* The fast path may now take subscriptions whose join it refused for
 * the time being (another error than FR_ERR_UNSUPPORTED): the relay asks
 * again, at once, for each, for the subgroups that begin from then on;
 * and it asks prepare again for each upstream SUBSCRIBE it holds. Not to
 * be called from inside a hook. */
void fr_relay_fastpath_retry(fr_relay *r);

/* Installs the hooks (copied); NULL removes them. */
void fr_relay_set_fastpath(fr_relay *r, const fr_relay_fastpath *fp);

#endif
