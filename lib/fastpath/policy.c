/*
 * The fast path's default priority policy, and what the policies see of a
 * subscriber connection (its delivery rate measured here).
 */
#include <string.h>

#include "fastpath_internal.h"

#define RATE_INTERVAL (100 * FR_MILLISECONDS)
/* The default priority policy: a subscriber with more than this many
 * seconds of data waiting at its delivery rate gets priorities up to
 * BEHIND_FLOOR only. */
#define BEHIND_SECONDS 2
#define BEHIND_FLOOR 127

uint8_t fr_fastpath_default_priority_floor(const fr_fastpath_subscriber *sub,
                                           void *user_data)
{
    uint64_t rate = sub->delivery_rate, window_rate;

    (void)user_data;
    /* The delivery rate of a connection that had little to send (just
     * joined, its joining FETCH queued only now) is what it was given,
     * not what it can take; the congestion window per round trip is what
     * it can take now (seen: 44 of 250 joiners lost the delta frames of
     * the group after their FETCH, their rate measured while idle). */
    window_rate = sub->smoothed_rtt > 0
                      ? sub->cwnd * FR_SECONDS / sub->smoothed_rtt
                      : 0;
    if (window_rate > rate)
        rate = window_rate;
    return sub->delivery_rate && sub->queued > BEHIND_SECONDS * rate
               ? BEHIND_FLOOR
               : UINT8_MAX;
}

/* What the policies see of a subscriber connection; `d` (NULL for one the
 * kernel does not serve) keeps its delivery rate. */
void fr_fp_sub_info(fr_moq_session *s, fp_sub *d, fr_fastpath_subscriber *in)
{
    fr_quic_conn *c = fr_moq_session_conn(s);
    fr_quic_conn_stats st;

    fr_quic_conn_get_stats(c, &st);
    memset(in, 0, sizeof(*in));
    in->session = s;
    in->smoothed_rtt = st.smoothed_rtt;
    in->min_rtt = st.min_rtt;
    in->cwnd = st.cwnd;
    in->bytes_in_flight = st.bytes_in_flight;
    in->queued = fr_quic_conn_send_buffered(c);
    in->lost_packets = st.pkts_lost;
    if (d) {
        fr_tstamp now = conn_now(c);

        if (!d->rate_since) {
            d->rate_since = now;
            d->acked_since = st.stream_bytes_acked;
        } else if (now - d->rate_since >= RATE_INTERVAL) {
            d->rate = (st.stream_bytes_acked - d->acked_since) * FR_SECONDS /
                      (now - d->rate_since);
            d->rate_since = now;
            d->acked_since = st.stream_bytes_acked;
        }
        in->delivery_rate = d->rate;
    }
}

uint8_t fr_fp_floor_of(const fr_fastpath *fp, const fr_fastpath_subscriber *in)
{
    return fp->hooks.priority_floor
               ? fp->hooks.priority_floor(in, fp->hooks.user_data)
               : fr_fastpath_default_priority_floor(in, NULL);
}
