/*
 * fr-impair: attaches the seeded loss program (bpf/impair.bpf.c) to one
 * interface and direction, runs until told to stop, detaches and prints the
 * counters. A test tool standing in for netem; see --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../lib/fastpath/attach.h"
#include "impair.skel.h"
#include "impair_kern_user.h"

/* Handle and priority of the filter in tc (clsact) mode. */
#define TC_HANDLE 1
#define TC_PRIORITY 1


static const char *const attach_mode_names[] = {"auto", "tcx", "tc"};

struct options {
    const char *dev;
    int ifindex;
    bool egress;
    bool direction_set;
    struct impair_config config;
    fr_fp_attach_mode mode;
    unsigned interval_s; /* periodic counters; 0 = none */
    unsigned duration_s; /* run time; 0 = until a signal */
};

/* What was attached, so that it can be undone. */
static void usage(FILE *out)
{
    fputs(
        "Usage: fr-impair --dev IF --direction ingress|egress [OPTION]...\n"
        "\n"
        "Drops packets on one interface in one direction with seeded,\n"
        "deterministic random loss: the same seed drops the same packets of\n"
        "the same packet sequence on every run. Runs until SIGINT or SIGTERM,\n"
        "the end of --duration, or the exit of its parent process; then\n"
        "detaches and prints the counters.\n"
        "\n"
        "  -d, --dev IF            interface to impair (required)\n"
        "  -D, --direction DIR     ingress or egress (required)\n"
        "  -l, --loss PERCENT      drop probability, 0 to 100, in steps of\n"
        "                          0.0001 (default 0: count only)\n"
        "  -s, --seed N            seed of the drop pattern (default 1)\n"
        "  -u, --udp-only          impair only UDP; other IP packets pass.\n"
        "                          Non-IP frames such as ARP always pass.\n"
        "  -a, --attach MODE       auto (tcx, else tc clsact), tcx or tc\n"
        "                          (default auto)\n"
        "  -i, --interval SEC      print the counters every SEC seconds\n"
        "  -t, --duration SEC      detach and exit after SEC seconds\n"
        "  -h, --help              show this help and exit\n"
        "\n"
        "Output, one line each, as key=value fields:\n"
        "  attached dev=IF direction=DIR mode=tcx|tc loss_ppm=N seed=N "
        "udp_only=0|1\n"
        "  stats seen=N dropped=N skipped=N     (every --interval)\n"
        "  final seen=N dropped=N skipped=N     (after detaching)\n"
        "seen counts packets given a loss decision, skipped those passed\n"
        "without one. Exit status: 0 after a clean detach, 1 on errors,\n"
        "2 on bad usage.\n",
        out);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("fr-impair: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'fr-impair --help'.\n", stderr);
    return 2;
}

static bool parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_percent(const char *s, uint32_t *ppm)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || errno || *end || !isfinite(v) || v < 0 || v > 100)
        return false;
    *ppm = (uint32_t)llround(v * (IMPAIR_PPM_MAX / 100));
    return true;
}

static bool parse_attach_mode(const char *s, fr_fp_attach_mode *mode)
{
    fr_fp_attach_mode m;

    for (m = FR_FP_ATTACH_AUTO; m <= FR_FP_ATTACH_TC; m++) {
        if (!strcmp(s, attach_mode_names[m])) {
            *mode = m;
            return true;
        }
    }
    return false;
}

/* Returns 0, or the exit status for a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"dev", required_argument, NULL, 'd'},
        {"direction", required_argument, NULL, 'D'},
        {"loss", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"udp-only", no_argument, NULL, 'u'},
        {"attach", required_argument, NULL, 'a'},
        {"interval", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;

    *o = (struct options){.config = {.seed = 1}};
    while ((c = getopt_long(argc, argv, "d:D:l:s:ua:i:t:h", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dev = optarg;
            break;
        case 'D':
            if (strcmp(optarg, "ingress") && strcmp(optarg, "egress"))
                return usage_error("direction must be ingress or egress, "
                                   "not '%s'", optarg);
            o->egress = !strcmp(optarg, "egress");
            o->direction_set = true;
            break;
        case 'l':
            if (!parse_percent(optarg, &o->config.loss_ppm))
                return usage_error("loss must be a percentage from 0 to 100, "
                                   "not '%s'", optarg);
            break;
        case 's':
            if (!parse_u64(optarg, 0, UINT64_MAX, &v))
                return usage_error("seed must be an unsigned 64-bit number, "
                                   "not '%s'", optarg);
            o->config.seed = v;
            break;
        case 'u':
            o->config.flags |= IMPAIR_F_UDP_ONLY;
            break;
        case 'a':
            if (!parse_attach_mode(optarg, &o->mode))
                return usage_error("attach mode must be auto, tcx or tc, "
                                   "not '%s'", optarg);
            break;
        case 'i':
        case 't':
            if (!parse_u64(optarg, 10, 86400, &v) || v == 0)
                return usage_error("seconds must be 1 to 86400, not '%s'",
                                   optarg);
            *(c == 'i' ? &o->interval_s : &o->duration_s) = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default: /* getopt_long has said what was wrong */
            fputs("Try 'fr-impair --help'.\n", stderr);
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->dev || !o->direction_set)
        return usage_error("%s", "--dev and --direction are required");
    o->ifindex = (int)if_nametoindex(o->dev);
    if (!o->ifindex)
        return usage_error("no interface '%s' in this network namespace",
                           o->dev);
    return 0;
}

/* Attaches in the requested mode; returns the mode used, or -1. */
static int attach(struct impair *skel, const struct options *o,
                  fr_fp_attachment *a)
{
    char why[256];

    if (fr_fp_attach(a, skel->progs.impair, o->ifindex, o->egress, o->mode,
                     TC_HANDLE, TC_PRIORITY, why, sizeof(why)) != 0) {
        fprintf(stderr, "fr-impair: cannot attach to %s: %s\n", o->dev, why);
        return -1;
    }
    return (int)a->mode;
}

static void print_stats(struct impair *skel, const char *tag)
{
    const uint32_t key = 0;
    struct impair_stats s;

    if (bpf_map__lookup_elem(skel->maps.impair_stats, &key, sizeof(key), &s,
                             sizeof(s), 0)) {
        fprintf(stderr, "fr-impair: reading the counters failed: %s\n",
                strerror(errno));
        return;
    }
    printf("%s seen=%" PRIu64 " dropped=%" PRIu64 " skipped=%" PRIu64 "\n",
           tag, (uint64_t)s.seen, (uint64_t)s.dropped, (uint64_t)s.skipped);
    fflush(stdout);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for one of the blocked `stop` signals or the end of --duration,
 * printing the counters every --interval meanwhile. */
static void run_until_stopped(struct impair *skel, const struct options *o,
                              const sigset_t *stop)
{
    const int64_t hour_ms = 3600 * 1000;
    int64_t end = o->duration_s ? now_ms() + o->duration_s * 1000LL
                                : INT64_MAX;
    int64_t next = o->interval_s ? now_ms() + o->interval_s * 1000LL
                                 : INT64_MAX;

    for (;;) {
        int64_t now = now_ms();
        int64_t wait_ms = (end < next ? end : next) - now;
        struct timespec ts;

        if (now >= end)
            return;
        if (now >= next) {
            print_stats(skel, "stats");
            next += o->interval_s * 1000LL;
            continue;
        }
        if (wait_ms > hour_ms)
            wait_ms = hour_ms;
        ts.tv_sec = wait_ms / 1000;
        ts.tv_nsec = (wait_ms % 1000) * 1000000;
        if (sigtimedwait(stop, NULL, &ts) >= 0)
            return;
    }
}

int main(int argc, char **argv)
{
    const uint32_t key = 0;
    fr_fp_attachment att;
    struct impair *skel;
    struct options o;
    sigset_t stop;
    pid_t parent;
    int mode, ret;

    ret = parse_options(argc, argv, &o);
    if (ret)
        return ret;

    /* Stop signals stay pending until run_until_stopped(), so one that
     * arrives while attaching still leads to a clean detach. The parent's
     * exit also stops us, so a killed test leaves nothing attached. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent) {
        fputs("fr-impair: parent process gone, not starting\n", stderr);
        return 1;
    }

    skel = impair__open();
    if (!skel) {
        fprintf(stderr, "fr-impair: opening the BPF object failed: %s\n",
                strerror(errno));
        return 1;
    }
    if (o.mode != FR_FP_ATTACH_TC)
        fr_fp_set_direction(skel->progs.impair, o.egress);
    ret = impair__load(skel);
    if (ret) {
        fprintf(stderr, "fr-impair: loading the BPF program failed: %s%s\n",
                strerror(-ret),
                ret == -EPERM ? " (needs root or CAP_BPF+CAP_NET_ADMIN)" : "");
        goto out;
    }
    ret = bpf_map__update_elem(skel->maps.impair_config, &key, sizeof(key),
                               &o.config, sizeof(o.config), 0);
    if (ret) {
        fprintf(stderr, "fr-impair: writing the configuration failed: %s\n",
                strerror(-ret));
        goto out;
    }

    mode = attach(skel, &o, &att);
    if (mode < 0) {
        ret = 1;
        goto out;
    }
    printf("attached dev=%s direction=%s mode=%s loss_ppm=%" PRIu32
           " seed=%" PRIu64 " udp_only=%d\n",
           o.dev, o.egress ? "egress" : "ingress", attach_mode_names[mode],
           (uint32_t)o.config.loss_ppm, (uint64_t)o.config.seed,
           !!(o.config.flags & IMPAIR_F_UDP_ONLY));
    fflush(stdout);

    run_until_stopped(skel, &o, &stop);
    fr_fp_detach(&att);
    print_stats(skel, "final");
out:
    impair__destroy(skel);
    return ret ? 1 : 0;
}
