/*
 * fr-aead-bench: what ChaCha20-Poly1305 costs in BPF (bpf/aead.bpf.h),
 * per packet, through BPF_PROG_TEST_RUN: sealing and opening texts of
 * several sizes. Each case runs RUNS times, one packet a run, and reports
 * the kernel's own timing of each run as percentiles, and opening's cost
 * against sealing's. Needs root.
 *
 *   fr-aead-bench [RUNS]      (default 2000, at most 100000)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "aead_test.skel.h"

#define IN_AT 14
#define HDR_LEN 47
#define AAD_LEN 21 /* a short header with an 8-byte CID, more or less */
#define MAX_RUNS 100000

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Runs `prog` on in[0..n) `runs` times and prints the p50, p90 and p99
 * of the kernel's timings (the p50 also into *p50). Returns 0, or -1 on
 * a failed run. */
static int measure(const char *what, const struct bpf_program *prog,
                   const uint8_t *in, size_t n, int runs, uint64_t *ns,
                   uint64_t *p50)
{
    uint8_t out[2048];

    for (int i = 0; i < runs; i++) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
                    .data_size_in = (uint32_t)n, .data_out = out,
                    .data_size_out = sizeof(out), .repeat = 1);

        if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) != 0 ||
            opts.retval != 0) {
            fprintf(stderr, "fr-aead-bench: %s: run %d failed\n", what, i);
            return -1;
        }
        ns[i] = opts.duration;
    }
    qsort(ns, (size_t)runs, sizeof(*ns), cmp_u64);
    *p50 = ns[runs / 2];
    printf("| %-22s | %7llu | %7llu | %7llu |", what,
           (unsigned long long)ns[runs / 2],
           (unsigned long long)ns[runs * 9 / 10],
           (unsigned long long)ns[runs * 99 / 100]);
    return 0;
}

/* The AEAD programs' input: key, nonce, lengths, AAD, text (sealed by
 * GnuTLS when `sealed`, so that opening succeeds every run). */
static size_t aead_input(uint8_t *in, size_t text_len, int sealed)
{
    uint8_t key[32], nonce[12], text[1500], *p = in + IN_AT;
    gnutls_datum_t k = {key, sizeof(key)};
    gnutls_aead_cipher_hd_t h;
    size_t out_len = text_len + 16;

    memset(in, 0, 2048);
    for (size_t i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (size_t i = 0; i < 12; i++)
        nonce[i] = (uint8_t)(i * 9);
    for (size_t i = 0; i < text_len; i++)
        text[i] = (uint8_t)(i * 7);
    memcpy(p, key, 32);
    memcpy(p + 32, nonce, 12);
    p[44] = AAD_LEN;
    p[45] = (uint8_t)text_len;
    p[46] = (uint8_t)(text_len >> 8);
    p += HDR_LEN;
    for (size_t i = 0; i < AAD_LEN; i++)
        p[i] = (uint8_t)(0x40 + i);
    if (sealed && gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_CHACHA20_POLY1305,
                                          &k) == 0) {
        gnutls_aead_cipher_encrypt(h, nonce, 12, p, AAD_LEN, 16, text,
                                   text_len, p + AAD_LEN, &out_len);
        gnutls_aead_cipher_deinit(h);
    } else {
        memcpy(p + AAD_LEN, text, text_len);
    }
    return IN_AT + HDR_LEN + AAD_LEN + text_len + 16;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {100, 600, 1200, 1452};
    int runs = 2000;
    struct aead_test *skel;
    uint64_t *ns, seal50, open50;
    uint8_t in[2048];

    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") ||
                                   !strcmp(argv[1], "--help")))) {
        printf("usage: fr-aead-bench [RUNS]   (default 2000, at most %d; "
               "needs root)\n",
               MAX_RUNS);
        return argc > 2 ? 2 : 0;
    }
    if (argc == 2) {
        char *end;
        long v = strtol(argv[1], &end, 10);

        if (*end || v < 10 || v > MAX_RUNS) {
            fprintf(stderr, "fr-aead-bench: RUNS must be 10..%d\n", MAX_RUNS);
            return 2;
        }
        runs = (int)v;
    }
    skel = aead_test__open_and_load();
    if (!skel) {
        fprintf(stderr, "fr-aead-bench: cannot load the programs: %s "
                        "(root needed)\n",
                strerror(errno));
        return 1;
    }
    ns = calloc((size_t)runs, sizeof(*ns));
    if (!ns)
        return 1;
    printf("ns per packet (kernel's timing of each run, %d runs), "
           "AAD %d bytes\n\n",
           runs, AAD_LEN);
    printf("| %-22s | %7s | %7s | %7s | open/seal p50 |\n", "case", "p50",
           "p90", "p99");
    printf("|---|---|---|---|---|\n");
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        char what[64];
        size_t n = aead_input(in, sizes[s], 0);

        snprintf(what, sizeof(what), "seal %zu B", sizes[s]);
        if (measure(what, skel->progs.fr_aead_seal, in, n, runs, ns,
                    &seal50))
            return 1;
        printf("               |\n");
        n = aead_input(in, sizes[s], 1);
        snprintf(what, sizeof(what), "open %zu B", sizes[s]);
        if (measure(what, skel->progs.fr_aead_open, in, n, runs, ns,
                    &open50))
            return 1;
        printf(" %13.2f |\n", seal50 ? (double)open50 / (double)seal50 : 0);
    }
    free(ns);
    aead_test__destroy(skel);
    return 0;
}
