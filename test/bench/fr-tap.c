/*
 * fr-tap: attaches the benchmark's packet tap (bpf/tap.bpf.c) to one
 * interface and direction and writes one CSV line per STREAM frame seen
 * until SIGINT/SIGTERM, --seconds, or its parent's exit; then detaches.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../../lib/fastpath/attach.h"
#include "tap.skel.h"
#include "tap_keys.h"
#include "tap_kern_user.h"

/* Handle and priorities in tc (clsact) mode: on ingress before the fast
 * path's (0xfa), seeing packets as they arrive; on egress after it, seeing
 * its copies as rewritten. With tcx the fast path orders itself so. */
#define TC_HANDLE 0xfa58
#define TC_PRIORITY_INGRESS 1
#define TC_PRIORITY_EGRESS 0xfb

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(FILE *f)
{
    fputs("Usage: fr-tap --dev IF --direction ingress|egress --out FILE\n"
          "              [--dcid-len N] [--seconds S] [--keys FILE]\n"
          "\n"
          "Records when each STREAM frame of the QUIC 1-RTT packets on IF\n"
          "passes (cleartext ones; with --keys, encrypted ones opened with\n"
          "a key log), as CSV lines: time_ns (CLOCK_MONOTONIC),\n"
          "conn (hex of the DCID's first 8 bytes, or 4 when shorter),\n"
          "sport, dport, stream, offset, length, mark, head (hex of a\n"
          "stream's first 24 bytes, at offset 0). Never changes a packet.\n"
          "On ingress it sees packets before the fast path's program, on\n"
          "egress after it (its copies as sent).\n"
          "Runs until SIGINT/SIGTERM, --seconds (default 300) or the exit\n"
          "of its parent; then detaches.\n"
          "\n"
          "  --dev IF              interface (required)\n"
          "  --direction DIR       ingress or egress (required)\n"
          "  --out FILE            where the lines go (required)\n"
          "  --dcid-len N          destination CID length on this link,\n"
          "                        4..20 (default 8)\n"
          "  --seconds S           stop after S seconds (1..3600)\n"
          "  --keys FILE           the packets are encrypted: open them\n"
          "                        with the key log the tools write under\n"
          "                        FR_QUIC_KEYLOG=FILE (ChaCha20-Poly1305)\n",
          f);
}

static int fail_usage(const char *msg)
{
    fprintf(stderr, "fr-tap: %s (see --help)\n", msg);
    return 2;
}

/* Where records go. */
typedef struct sink {
    FILE *out;
    tap_keys *keys;     /* --keys: raw records to open */
    unsigned long unopened;
} sink;

static int on_rec(void *ctx, void *data, size_t len)
{
    const struct fr_tap_rec *r = data;
    sink *k = ctx;
    FILE *out = k->out;

    if (k->keys) {
        if (len >= sizeof(struct fr_tap_raw) &&
            tap_keys_lines(k->keys, data, out) < 0)
            k->unopened++;
        return 0;
    }
    if (len < sizeof(*r))
        return 0;
    fprintf(out, "%" PRIu64 ",%016" PRIx64 ",%u,%u,%" PRIu64 ",%" PRIu64
                 ",%u,%u,",
            (uint64_t)r->time_ns, (uint64_t)r->conn, r->sport, r->dport,
            (uint64_t)r->stream, (uint64_t)r->offset, r->length, r->mark);
    for (unsigned i = 0; i < r->head_len && i < FR_TAP_HEAD; i++)
        fprintf(out, "%02x", r->head[i]);
    fputc('\n', out);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dev", required_argument, NULL, 'd'},
        {"direction", required_argument, NULL, 'D'},
        {"out", required_argument, NULL, 'o'},
        {"dcid-len", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dev = NULL, *outpath = NULL, *dir = NULL, *keys = NULL;
    sink k = {0};
    long dcid_len = 8, seconds = 300;
    char why[256], *end;
    fr_fp_attachment att;
    struct ring_buffer *rb = NULL;
    struct tap *skel;
    FILE *out;
    int ch, ifindex, egress, ret = 1;
    time_t stop_at;
    pid_t parent = getppid();

    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': dev = optarg; break;
        case 'D': dir = optarg; break;
        case 'o': outpath = optarg; break;
        case 'c':
            dcid_len = strtol(optarg, &end, 10);
            if (*end || dcid_len < 4 || dcid_len > 20)
                return fail_usage("--dcid-len takes 4..20");
            break;
        case 's':
            seconds = strtol(optarg, &end, 10);
            if (*end || seconds < 1 || seconds > 3600)
                return fail_usage("--seconds takes 1..3600");
            break;
        case 'k': keys = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return fail_usage("unknown option");
        }
    }
    if (optind < argc)
        return fail_usage("unexpected argument");
    if (!dev || !dir || !outpath)
        return fail_usage("--dev, --direction and --out are required");
    if (strcmp(dir, "ingress") && strcmp(dir, "egress"))
        return fail_usage("--direction is ingress or egress");
    egress = strcmp(dir, "egress") == 0;
    ifindex = (int)if_nametoindex(dev);
    if (!ifindex) {
        fprintf(stderr, "fr-tap: no interface '%s' here\n", dev);
        return 2;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
        return 1;
    out = fopen(outpath, "w");
    if (!out) {
        fprintf(stderr, "fr-tap: cannot write %s: %s\n", outpath,
                strerror(errno));
        return 1;
    }
    skel = tap__open();
    if (!skel) {
        fprintf(stderr, "fr-tap: cannot open the BPF object\n");
        fclose(out);
        return 1;
    }
    skel->rodata->dcid_len = (__u8)dcid_len;
    skel->rodata->raw_mode = keys != NULL;
    k.out = out;
    if (keys && !(k.keys = tap_keys_new(keys, (size_t)dcid_len))) {
        fprintf(stderr, "fr-tap: out of memory\n");
        goto out;
    }
    fr_fp_set_direction(skel->progs.fr_tap, egress);
    if (tap__load(skel)) {
        fprintf(stderr, "fr-tap: cannot load the BPF program (root?)\n");
        goto out;
    }
    if (fr_fp_attach(&att, skel->progs.fr_tap, ifindex, egress,
                     FR_FP_ATTACH_AUTO, TC_HANDLE,
                     egress ? TC_PRIORITY_EGRESS : TC_PRIORITY_INGRESS, why,
                     sizeof(why))) {
        fprintf(stderr, "fr-tap: cannot attach to %s: %s\n", dev, why);
        goto out;
    }
    rb = ring_buffer__new(bpf_map__fd(skel->maps.fr_tap_recs), on_rec, &k,
                          NULL);
    if (!rb) {
        fprintf(stderr, "fr-tap: cannot read the ring buffer\n");
        fr_fp_detach(&att);
        goto out;
    }
    fprintf(stderr, "attached dev=%s direction=%s\n", dev, dir);
    stop_at = time(NULL) + seconds;
    while (!stopping && time(NULL) < stop_at)
        if (ring_buffer__poll(rb, 100) < 0 && errno != EINTR)
            break;
    ring_buffer__consume(rb);
    fr_fp_detach(&att);
    if (k.unopened)
        fprintf(stderr, "fr-tap: %lu packets no logged key opened\n",
                k.unopened);
    ret = 0;
out:
    tap_keys_del(k.keys);
    ring_buffer__free(rb);
    tap__destroy(skel);
    if (fclose(out) != 0)
        ret = 1;
    return ret;
}
