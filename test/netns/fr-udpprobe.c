/*
 * fr-udpprobe: a bounded UDP sequence sender and receiver for the netns
 * tests. The sender numbers its datagrams; the receiver reports which
 * numbers arrived. Every run ends by itself (count, idle time, time limit),
 * and the sender refuses destinations outside 198.18.0.0/15.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns_tool.h"

#define PROBE_MAGIC 0x46525042u /* "FRPB" */
#define PROBE_SIZE 64

struct options {
    struct netns_dest d; /* --to, --port, --count */
    uint32_t interval_us; /* send: gap between datagrams */
    uint32_t idle_ms;     /* recv: stop this long after the last datagram */
    uint32_t timeout_ms;  /* recv: stop after this long in any case */
    const char *missing;  /* recv: file for the missing sequence numbers */
};

static void usage(FILE *out)
{
    fputs("Usage: fr-udpprobe send --to ADDR --port N --count N "
          "[--interval-us US]\n"
          "       fr-udpprobe recv --port N --count N [--idle-ms MS] "
          "[--timeout-ms MS] [--missing FILE]\n"
          "\n"
          "send  sends datagrams numbered 0..count-1 to ADDR (198.18.0.0/15\n"
          "      only), paced --interval-us apart (default 20), and prints\n"
          "      'sent=N errors=N'.\n"
          "recv  prints 'ready port=N' once bound, then receives until all\n"
          "      count numbers arrived, --idle-ms passed after the last one\n"
          "      (default 1000) or --timeout-ms passed (default 10000), and\n"
          "      prints 'received=N missing=N duplicates=N'. --missing writes\n"
          "      the missing numbers to FILE, one a line.\n",
          out);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "fr-udpprobe: %s '%s'\nTry 'fr-udpprobe --help'.\n", what,
            arg);
    return 2;
}

static int parse_options(int argc, char **argv, bool sending,
                         struct options *o)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'c'},
        {"interval-us", required_argument, NULL, 'g'},
        {"idle-ms", required_argument, NULL, 'I'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"missing", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *o = (struct options){.interval_us = 20, .idle_ms = 1000,
                          .timeout_ms = 10000};
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const char *err;
        int taken = netns_dest_option(c, optarg, &o->d, &err);

        if (taken < 0)
            return usage_error(err, optarg);
        if (taken)
            continue;
        switch (c) {
        case 'g':
            if (!netns_parse_u32(optarg, 0, 1000000, &o->interval_us))
                return usage_error("interval must be 0 to 1000000 us, not",
                                   optarg);
            break;
        case 'I':
        case 'T':
            if (!netns_parse_u32(optarg, 1, 600000,
                           c == 'I' ? &o->idle_ms : &o->timeout_ms))
                return usage_error("time must be 1 to 600000 ms, not", optarg);
            break;
        case 'm':
            o->missing = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default: /* getopt_long has said what was wrong */
            fputs("Try 'fr-udpprobe --help'.\n", stderr);
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (!o->d.port || !o->d.count || (sending && !o->d.to_set))
        return usage_error("missing a required option of",
                           sending ? "send (--to, --port, --count)"
                                   : "recv (--port, --count)");
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int run_send(const struct options *o)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(o->d.port),
                             .sin_addr = o->d.to};
    uint8_t buf[PROBE_SIZE] = {0};
    uint32_t seq, errors = 0;
    int64_t start;
    int fd;

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to))) {
        perror("fr-udpprobe: socket");
        return 1;
    }
    start = now_ns();
    for (seq = 0; seq < o->d.count; seq++) {
        int64_t due = start + (int64_t)seq * o->interval_us * 1000;
        uint32_t words[2] = {htonl(PROBE_MAGIC), htonl(seq)};
        struct timespec ts = {.tv_sec = due / 1000000000,
                              .tv_nsec = due % 1000000000};

        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        memcpy(buf, words, sizeof(words));
        if (send(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
            errors++;
    }
    close(fd);
    printf("sent=%u errors=%u\n", o->d.count - errors, errors);
    return 0;
}

static int write_missing(const char *path, const uint8_t *seen, uint32_t count)
{
    FILE *f = fopen(path, "w");
    uint32_t seq;

    if (!f) {
        perror(path);
        return 1;
    }
    for (seq = 0; seq < count; seq++)
        if (!seen[seq])
            fprintf(f, "%u\n", seq);
    return fclose(f) ? 1 : 0;
}

static int run_recv(const struct options *o)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons(o->d.port)};
    const int rcvbuf = 4 << 20;
    uint32_t received = 0, duplicates = 0;
    int64_t deadline = now_ns() + (int64_t)o->timeout_ms * 1000000;
    int64_t idle_end = INT64_MAX;
    uint8_t *seen;
    int fd, ret;

    seen = calloc(o->d.count, 1);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (!seen || fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
        perror("fr-udpprobe: socket");
        free(seen);
        return 1;
    }
    /* A large buffer, so that only the network loses datagrams. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    printf("ready port=%u\n", o->d.port);
    fflush(stdout);

    while (received < o->d.count) {
        int64_t end = idle_end < deadline ? idle_end : deadline;
        int64_t now = now_ns();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint32_t words[2];
        uint32_t seq;

        if (now >= end)
            break;
        if (poll(&pfd, 1, (int)((end - now + 999999) / 1000000)) <= 0)
            continue;
        if (recv(fd, words, sizeof(words), MSG_TRUNC) < (ssize_t)sizeof(words))
            continue;
        idle_end = now_ns() + (int64_t)o->idle_ms * 1000000;
        seq = ntohl(words[1]);
        if (ntohl(words[0]) != PROBE_MAGIC || seq >= o->d.count)
            continue;
        if (seen[seq]) {
            duplicates++;
        } else {
            seen[seq] = 1;
            received++;
        }
    }
    close(fd);
    printf("received=%u missing=%u duplicates=%u\n", received,
           o->d.count - received, duplicates);
    ret = o->missing ? write_missing(o->missing, seen, o->d.count) : 0;
    free(seen);
    return ret;
}

int main(int argc, char **argv)
{
    struct options o;
    bool sending;
    int ret;

    if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
        bool help = argc >= 2 && (!strcmp(argv[1], "-h") ||
                                  !strcmp(argv[1], "--help"));

        usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    sending = !strcmp(argv[1], "send");
    ret = parse_options(argc - 1, argv + 1, sending, &o);
    if (ret)
        return ret;
    return sending ? run_send(&o) : run_recv(&o);
}
