/*
 * fr-rebind: makes a client behind interface IF look, to its server, as if
 * a NAT had given it a new port (bpf/rebind.bpf.c), --after S seconds;
 * runs until SIGINT/SIGTERM or its parent's exit, then detaches.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../../lib/fastpath/attach.h"
#include "rebind.skel.h"

#define TC_HANDLE 0xfa59
#define TC_PRIORITY 2

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static int usage(FILE *f, int rc)
{
    fputs("Usage: fr-rebind --dev IF --after S [--server-port P]\n"
          "After S seconds, packets from this host to server port P\n"
          "(default 4433) leave from another port (bit 14 flipped), and\n"
          "replies are mapped back: a NAT rebinding the client does not\n"
          "see. The old port still receives for 1 s more, then no longer.\n"
          "Runs until SIGINT/SIGTERM or its parent's exit.\n",
          f);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dev", required_argument, NULL, 'd'},
        {"after", required_argument, NULL, 'a'},
        {"server-port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    fr_fp_attachment out, in;
    const char *dev = NULL;
    long after = -1, port = 4433;
    struct rebind *skel;
    char why[256], *end;
    int ch, ifindex, rc = 1;
    pid_t parent = getppid();

    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': dev = optarg; break;
        case 'a':
            after = strtol(optarg, &end, 10);
            if (*end || after < 0 || after > 3600)
                return usage(stderr, 2);
            break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 1 || port > 65535)
                return usage(stderr, 2);
            break;
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, 2);
        }
    }
    if (optind < argc || !dev || after < 0)
        return usage(stderr, 2);
    ifindex = (int)if_nametoindex(dev);
    if (!ifindex) {
        fprintf(stderr, "fr-rebind: no interface '%s' here\n", dev);
        return 2;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
        return 1;
    skel = rebind__open();
    if (!skel)
        return 1;
    skel->rodata->server_port = (__u16)port;
    fr_fp_set_direction(skel->progs.rebind_egress, 1);
    fr_fp_set_direction(skel->progs.rebind_ingress, 0);
    if (rebind__load(skel)) {
        fprintf(stderr, "fr-rebind: cannot load the BPF programs (root?)\n");
        goto out;
    }
    if (fr_fp_attach(&out, skel->progs.rebind_egress, ifindex, 1,
                     FR_FP_ATTACH_AUTO, TC_HANDLE, TC_PRIORITY, why,
                     sizeof(why))) {
        fprintf(stderr, "fr-rebind: cannot attach: %s\n", why);
        goto out;
    }
    if (fr_fp_attach(&in, skel->progs.rebind_ingress, ifindex, 0,
                     FR_FP_ATTACH_AUTO, TC_HANDLE, TC_PRIORITY, why,
                     sizeof(why))) {
        fprintf(stderr, "fr-rebind: cannot attach: %s\n", why);
        fr_fp_detach(&out);
        goto out;
    }
    fprintf(stderr, "attached dev=%s\n", dev);
    for (long s = 0; s < after && !stopping; s++)
        sleep(1);
    if (!stopping) {
        skel->bss->active = 1;
        fprintf(stderr, "rebound\n");
        sleep(1);
    }
    if (!stopping) {
        skel->bss->old_dead = 1;
        fprintf(stderr, "old mapping expired\n");
    }
    while (!stopping)
        pause();
    fr_fp_detach(&in);
    fr_fp_detach(&out);
    rc = 0;
out:
    rebind__destroy(skel);
    return rc;
}
