/*
 * libFuzzer target: the rewrite of a subscriber packet's ACK frames
 * (lib/splice/ack_rewrite.c), which reads frames a peer wrote.
 *
 * The first input byte says how many ngtcp2 packets (0-15) are registered
 * before, ngtcp2 packet i in wire packet 100 + 2i; the rest is the
 * packet's frames. Feeding the frames' ACKs alone (fr_ack_feed, as a held
 * datagram's are) must accept exactly what the rewrite accepts, and
 * leave its result unchanged. A rewrite that succeeds must fit its bound,
 * never be empty, and be a valid frame sequence itself; once its ACK is
 * gone, a rewrite gives back the same bytes.
 *
 * Built with -DFR_FUZZ_SEED_MAIN it is instead a program that writes a seed
 * corpus of valid packets into the directory given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/splice/ack_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_out[4096 + FR_ACK_REWRITE_ROOM];
static uint8_t g_again[sizeof(g_out) + FR_ACK_REWRITE_ROOM];
static uint8_t g_third[sizeof(g_again) + FR_ACK_REWRITE_ROOM];

static void oracle_fail(const char *what)
{
    fprintf(stderr, "oracle failure: %s\n", what);
    abort();
}

/* A map with `count` ngtcp2 packets registered, packet i in wire packet
 * 100 + 2i. */
static fr_pnmap *map_with(uint64_t count)
{
    fr_pnmap *m = fr_pnmap_new();

    if (!m)
        abort();
    for (uint64_t i = 0; i < count; i++) {
        uint64_t wire = 100 + 2 * i;

        if (fr_pnmap_register(m, i, &wire, 1, 0, 0, 0))
            oracle_fail("register");
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_pnmap *m, *fed_first;
    ssize_t n, n_fed, again, third;
    int fed;

    if (size < 1 || size - 1 > 4096)
        return 0;
    m = map_with(data[0] & 0x0f);
    fed_first = map_with(data[0] & 0x0f);
    n = fr_ack_rewrite(m, data + 1, size - 1, g_out, sizeof(g_out), 0);
    fed = fr_ack_feed(fed_first, data + 1, size - 1, 0);
    n_fed = fr_ack_rewrite(fed_first, data + 1, size - 1, g_again,
                           sizeof(g_again), 0);
    if ((fed == 0) != (n >= 0))
        oracle_fail("feeding and rewriting disagree on what parses");
    if (n_fed != n || (n > 0 && memcmp(g_again, g_out, (size_t)n) != 0))
        oracle_fail("feeding first changed the rewrite");
    fr_pnmap_del(fed_first);
    if (n >= 0) {
        if (n == 0 || (size_t)n > size - 1 + FR_ACK_REWRITE_ROOM)
            oracle_fail("output length out of bounds");
        /* Its own output parses. Its ACK (if any) names ngtcp2 numbers
         * below 16, which no registered wire number (100 and up) matches,
         * so nothing completes and the ACK is dropped; an ACK-free packet
         * then comes back unchanged. */
        again = fr_ack_rewrite(m, g_out, (size_t)n, g_again, sizeof(g_again),
                               0);
        if (again <= 0)
            oracle_fail("output does not parse");
        third = fr_ack_rewrite(m, g_again, (size_t)again, g_third,
                               sizeof(g_third), 0);
        if (third != again || memcmp(g_third, g_again, (size_t)again) != 0)
            oracle_fail("rewrite of an ACK-free packet changed it");
    }
    fr_pnmap_del(m);
    return 0;
}

#ifdef FR_FUZZ_SEED_MAIN
#include "fuzz_seed.h"

int main(int argc, char **argv)
{
    /* 4 registered; ACK 100-106 with a gap; STREAM; MAX_DATA. */
    static const uint8_t acks[] = {4,    0x02, 0x40, 106, 3,   1,
                                   2,    0,    2,    0x0a, 0x00, 3,
                                   'a',  'b',  'c',  0x10, 0x43, 0xe8};
    /* ACK_ECN, PING, NEW_CONNECTION_ID with a 4-byte CID and its token. */
    static const uint8_t ecn[] = {8, 0x03, 0x40, 114, 0, 0, 14, 1, 2, 3,
                                  0x01, 0x18, 1, 0, 4, 9, 9, 9, 9,
                                  0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0};
    /* CONNECTION_CLOSE with a reason; HANDSHAKE_DONE; PADDING. */
    static const uint8_t close_frame[] = {0,   0x1c, 0x0a, 0x00, 2,
                                          'n', 'o',  0x1e, 0x00, 0x00};
    static const struct {
        const uint8_t *p;
        size_t n;
    } seeds[] = {{acks, sizeof(acks)},
                 {ecn, sizeof(ecn)},
                 {close_frame, sizeof(close_frame)}};

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        fuzz_seed_write(argv[1], "seed", (int)i, seeds[i].p, seeds[i].n);
    return 0;
}
#endif
