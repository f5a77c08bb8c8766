/*
 * keyframes-relay: a MoQT relay on the kernel fast path whose priority
 * policy is the application's own, installed with fr_fastpath_set_hooks.
 *
 * Subscribers whose smoothed RTT exceeds --rtt-ms (all of them with
 * --keyframes-only) get only the most urgent subgroups: publisher
 * priority 0, which fr-origin gives its key frames. The kernel stops
 * forwarding the other subgroups to them at each subgroup's start, and
 * the relay does not send those either. It also logs every connection-ID
 * change the kernel follows and counts registrations, through the same
 * hooks; with --reset-lost, a subgroup whose kernel-sent data is lost is
 * given up (its stream reset) rather than retransmitted.
 *
 *   keyframes-relay --listen 198.18.2.1:4433 --cert-out relay.pem \
 *                   --keyframes-only --duration 30
 *
 * Needs root (BPF). Peers speak standard QUIC: the kernel opens and seals
 * their packets (ChaCha20-Poly1305); with --cleartext, the cleartext
 * variant (fr-origin/fr-sub --cleartext).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include <fastrelay/fastrelay.h>

typedef struct policy {
    int keyframes_only;
    int reset_lost;
    fr_duration rtt_limit;
    uint64_t registered;
    uint64_t cid_updates;
} policy;

/* The application's priority policy: key frames only for subscribers that
 * are too far away (or for everyone), everything for the others. */
static uint8_t floor_for(const fr_fastpath_subscriber *sub, void *user_data)
{
    const policy *p = user_data;

    if (p->keyframes_only ||
        (p->rtt_limit && sub->smoothed_rtt > p->rtt_limit))
        return 0;
    return UINT8_MAX;
}

static void on_cid(fr_moq_session *s, const uint8_t *cid, size_t len,
                   void *user_data)
{
    policy *p = user_data;

    (void)s;
    p->cid_updates++;
    fprintf(stderr, "keyframes-relay: subscriber CID now ");
    for (size_t i = 0; i < len; i++)
        fprintf(stderr, "%02x", cid[i]);
    fputc('\n', stderr);
}

static void on_registered(fr_moq_session *s, int64_t stream_id,
                          uint64_t offset, size_t length, void *user_data)
{
    (void)s;
    (void)stream_id;
    (void)offset;
    (void)length;
    ((policy *)user_data)->registered++;
}

/* Stale media is not worth a retransmission here. */
static fr_fastpath_lost_action on_lost(fr_moq_session *s, int64_t stream_id,
                                       void *user_data)
{
    (void)s;
    (void)stream_id;
    return ((policy *)user_data)->reset_lost ? FR_FASTPATH_RESET
                                             : FR_FASTPATH_RETRANSMIT;
}

static void stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void usage(FILE *f)
{
    fputs("usage: keyframes-relay --listen ADDR:PORT --cert-out FILE\n"
          "                       [--keyframes-only | --rtt-ms N]\n"
          "                       [--reset-lost] [--duration S] "
          "[--cleartext]\n"
          "A relay on the kernel fast path (root) whose\n"
          "subscribers get only key-frame subgroups (publisher priority 0)\n"
          "when their smoothed RTT exceeds N ms, or always; with\n"
          "--reset-lost it gives up subgroups whose data was lost.\n"
          "--cleartext: peers speak the cleartext variant (their\n"
          "--cleartext) instead of standard, encrypted QUIC.\n",
          f);
}

static int parse_addr(const char *s, struct sockaddr_in *sa, char host[64])
{
    const char *colon = strrchr(s, ':');
    long port;

    if (!colon || colon - s >= 64)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = strtol(colon + 1, NULL, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return port > 0 && port < 65536 &&
                   inet_pton(AF_INET, host, &sa->sin_addr) == 1
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"cert-out", required_argument, NULL, 'c'},
        {"keyframes-only", no_argument, NULL, 'k'},
        {"reset-lost", no_argument, NULL, 'L'},
        {"rtt-ms", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"cleartext", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static policy pol;
    const char *listen = NULL, *cert_out = NULL;
    double duration = 0;
    struct sockaddr_in addr;
    struct ev_loop *loop = EV_DEFAULT;
    fr_quic_settings qs;
    fr_moq_settings ms;
    fr_relay_settings rs;
    fr_fastpath_settings fs;
    fr_fastpath_hooks hooks = {0};
    fr_fastpath_stats st;
    fr_moq_endpoint *ep;
    fr_fastpath *fp;
    fr_relay *relay;
    fr_cert *cert;
    ev_timer timer;
    ev_signal sigint, sigterm;
    char why[256] = "", host[64];
    FILE *f;
    int ch, rv, cleartext = 0;

    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'c': cert_out = optarg; break;
        case 'k': pol.keyframes_only = 1; break;
        case 'L': pol.reset_lost = 1; break;
        case 'r':
            pol.rtt_limit = (fr_duration)strtoul(optarg, NULL, 10) *
                            FR_MILLISECONDS;
            break;
        case 'd': duration = strtod(optarg, NULL); break;
        case 'C': cleartext = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !listen || !cert_out || parse_addr(listen, &addr, host) ||
        duration < 0) {
        usage(stderr);
        return 2;
    }

    /* A self-signed certificate for the subscribers' --ca. */
    if (fr_cert_generate(&cert, host) != 0 ||
        !(f = fopen(cert_out, "w"))) {
        fprintf(stderr, "keyframes-relay: cannot write %s\n", cert_out);
        return 1;
    }
    fputs(fr_cert_pem(cert, NULL), f);
    fclose(f);

    fr_quic_settings_default(&qs);
    qs.crypto_mode = cleartext ? FR_CRYPTO_CLEARTEXT : FR_CRYPTO_TLS;
    qs.accept_connections = 1;
    qs.cert = cert;
    fr_moq_settings_default(&ms);
    fr_relay_settings_default(&rs);
    if (fr_relay_new(&relay, &rs, NULL) != 0 ||
        fr_moq_endpoint_new(&ep, loop, NULL, fr_relay_moq_callbacks(), &ms,
                            &qs, (struct sockaddr *)&addr, sizeof(addr),
                            relay) != 0) {
        fprintf(stderr, "keyframes-relay: cannot listen on %s\n", listen);
        return 1;
    }
    fr_fastpath_settings_default(&fs);
    rv = fr_fastpath_new(&fp, relay, ep, &fs, why, sizeof(why));
    if (rv) {
        fprintf(stderr, "keyframes-relay: no fast path: %s\n", why);
        return 1;
    }
    /* The application's policy and observers replace the defaults. */
    hooks.user_data = &pol;
    hooks.priority_floor = floor_for;
    hooks.cid_update = on_cid;
    hooks.registered = on_registered;
    hooks.on_lost = on_lost;
    fr_fastpath_set_hooks(fp, &hooks);

    fprintf(stderr, "keyframes-relay: listening on %s\n", listen);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sigterm);
    if (duration > 0) {
        ev_timer_init(&timer, stop, duration, 0);
        ev_timer_start(loop, &timer);
    }
    ev_run(loop, 0);

    fr_fastpath_get_stats(fp, &st);
    fprintf(stderr,
            "keyframes-relay: summary kernel_copies=%llu registered=%llu "
            "hook_registered=%llu policy_drops=%llu lost_resets=%llu "
            "cid_updates=%llu\n",
            (unsigned long long)st.kernel_copies,
            (unsigned long long)st.registered,
            (unsigned long long)pol.registered,
            (unsigned long long)st.policy_drops,
            (unsigned long long)st.lost_resets,
            (unsigned long long)pol.cid_updates);
    fr_fastpath_del(fp);
    fr_moq_endpoint_shutdown(ep, 0, "relay shutting down");
    ev_run(loop, EVRUN_NOWAIT);
    fr_moq_endpoint_del(ep);
    fr_relay_del(relay);
    fr_cert_del(cert);
    return 0;
}
