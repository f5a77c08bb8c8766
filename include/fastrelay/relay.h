/*
 * libfastrelay — the MoQT relay core (userspace path).
 *
 * The relay serves downstream subscribers from one upstream subscription
 * per track. Upstreams are publishers that announced a namespace to the
 * relay (PUBLISH_NAMESPACE) or sessions the application adds with
 * fr_relay_add_upstream (an origin or another relay). Subgroup streams are
 * forwarded byte for byte as they arrive; a subscriber that joins while a
 * subgroup is in flight gets the rest of it object by object. Recent groups
 * are cached to serve FETCH (and so late joiners). A subscriber that cannot
 * keep up loses whole subgroups (reset), never parts of one, and never
 * slows the others.
 *
 * Use the relay's session callbacks for every MoQT session it serves:
 * fr_relay_moq_callbacks() with the relay as user data, or hand sessions to
 * fr_relay_attach.
 */
#ifndef FASTRELAY_RELAY_H
#define FASTRELAY_RELAY_H

#include <fastrelay/moq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fr_relay fr_relay;

typedef struct fr_relay_settings {
    /* Groups kept per track for FETCH and late joiners (0: no cache). */
    size_t cache_groups;
    /* Bytes cached per track at most; the oldest groups go first. */
    size_t cache_bytes;
    fr_log log;
    /* Bytes cached over all tracks at most (0: no limit): past it the
     * track holding the most loses its oldest group (a track's newest
     * group always stays). */
    size_t cache_total_bytes;
    /* Longest a SUBSCRIBE for a track nobody publishes yet is held for a
     * publisher, when its subscriber asks to wait (RENDEZVOUS_TIMEOUT);
     * past it the answer is REQUEST_ERROR TIMEOUT. 0: never held, always
     * DOES_NOT_EXIST at once. Needs fr_relay_handle_expiry. */
    fr_duration max_rendezvous;
} fr_relay_settings;

/* Fills `s`, of layout `version` (FR_LAYOUT_VERSION; callers use
 * fr_relay_settings_default), with defaults: 4 groups, 64 MiB per track,
 * 1 GiB in all, SUBSCRIBEs held 10 s at most, logging off. Returns 0, or
 * FR_ERR_INVALID_ARGUMENT for an unknown layout (nothing written). */
FR_EXTERN int fr_relay_settings_default_versioned(int version,
                                                  fr_relay_settings *s);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_relay_settings_default(fr_relay_settings *s);
#define fr_relay_settings_default(s)                                        \
    ((void)fr_relay_settings_default_versioned(FR_LAYOUT_VERSION, (s)))

/* Counters, defined once with their descriptions. */
#define FR_RELAY_STATS_FOREACH(X)                                             \
    X(subscribers, "downstream subscriptions now")                            \
    X(sessions, "MoQT sessions now")                                          \
    X(tracks, "tracks with an upstream subscription now")                     \
    X(objects_received, "objects received from upstreams")                    \
    X(objects_forwarded, "object copies sent to subscribers")                 \
    X(bytes_forwarded, "payload bytes sent to subscribers")                   \
    X(subgroups_forwarded, "subgroup streams opened to subscribers")          \
    X(subgroups_kernel, "... of them forwarded by the kernel fast path")      \
    X(subgroups_reset, "subgroups reset because a subscriber fell behind")    \
    X(fetches_served, "FETCH requests answered from the cache")               \
    X(objects_fetched, "objects sent in FETCH responses")                     \
    X(fetches_upstream, "FETCH requests passed on to an upstream")            \
    X(fetches_refused, "FETCH requests answered with an error")             \
    X(cached_bytes, "bytes cached now, all tracks")                           \
    X(cache_evictions, "groups dropped to keep the total cache limit")       \
    X(subscribes_held, "SUBSCRIBEs waiting for a publisher now")

typedef struct fr_relay_stats {
#define FR_RELAY_STAT_FIELD_(name, desc) uint64_t name;
    FR_RELAY_STATS_FOREACH(FR_RELAY_STAT_FIELD_)
#undef FR_RELAY_STAT_FIELD_
} fr_relay_stats;

/* Layouts of fr_relay_stats (FR_LAYOUT_VERSION): counters are only ever
 * appended, and a caller built against an older header gets its layout
 * filled, not a byte more (as fr_fastpath_stats). 1 and 2: up to
 * subscribes_held. */
#define FR_RELAY_STATS_V1 1
#define FR_RELAY_STATS_VERSION FR_LAYOUT_VERSION

/* Creates a relay with settings of layout `version` (FR_LAYOUT_VERSION;
 * callers use fr_relay_new), copied. */
FR_EXTERN int fr_relay_new_versioned(fr_relay **pr, int version,
                                     const fr_relay_settings *settings,
                                     void *user_data);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN int fr_relay_new(fr_relay **pr, const fr_relay_settings *settings,
                           void *user_data);
#define fr_relay_new(pr, settings, user_data)                               \
    fr_relay_new_versioned((pr), FR_LAYOUT_VERSION, (settings), (user_data))
/* Ends every subscription the relay serves and frees it. Sessions stay
 * open; delete the endpoint for those. */
FR_EXTERN void fr_relay_del(fr_relay *r);

/* Session callbacks that run the relay; their user_data must be the
 * relay. */
FR_EXTERN const fr_moq_callbacks *fr_relay_moq_callbacks(void);

/* Uses `s` (a session to an origin or another relay) for tracks no
 * announced namespace covers. */
FR_EXTERN int fr_relay_add_upstream(fr_relay *r, fr_moq_session *s);

/* SUBSCRIBEs held for a publisher time out by the clock of the sessions'
 * QUIC endpoints (fr_quic_ev_now on libev): call fr_relay_handle_expiry
 * when fr_relay_next_expiry comes (FR_TSTAMP_MAX: nothing waits). The
 * expiry moves only earlier when a session event holds a SUBSCRIBE, so
 * re-reading it before the loop blocks is enough. */
FR_EXTERN fr_tstamp fr_relay_next_expiry(const fr_relay *r);
FR_EXTERN void fr_relay_handle_expiry(fr_relay *r, fr_tstamp now);

/* Fills `st`, a fr_relay_stats of layout `version` (callers use
 * fr_relay_get_stats). Returns 0, or FR_ERR_INVALID_ARGUMENT for a
 * version this library does not know (nothing written). */
FR_EXTERN int fr_relay_get_stats_versioned(const fr_relay *r, int version,
                                           fr_relay_stats *st);
/* Layout 1's entry point, for programs built before versions. */
FR_EXTERN void fr_relay_get_stats(const fr_relay *r, fr_relay_stats *st);
#define fr_relay_get_stats(r, st)                                           \
    ((void)fr_relay_get_stats_versioned((r), FR_RELAY_STATS_VERSION, (st)))
FR_EXTERN void *fr_relay_get_user_data(const fr_relay *r);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_RELAY_H */
