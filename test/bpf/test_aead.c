/*
 * ChaCha20-Poly1305 in BPF (bpf/aead.bpf.h) through BPF_PROG_TEST_RUN:
 * the RFC 8439 section 2.8.2 vector, exact bytes and tag, and GnuTLS
 * opening what the program sealed for AADs and texts of many lengths
 * (packet-sized ones included), with a flipped bit refused.
 */
#include "fr_test.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "aead_test.skel.h"

#define IN_AT 14
#define HDR_LEN 47

static struct aead_test *skel;

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    skel = aead_test__open_and_load();
    return skel ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    aead_test__destroy(skel);
    return 0;
}

/* Seals `text` with the program; `out` gets the ciphertext and the tag. */
static void seal(const uint8_t key[32], const uint8_t nonce[12],
                 const uint8_t *aad, size_t aad_len, const uint8_t *text,
                 size_t text_len, uint8_t *out)
{
    uint8_t in[2048] = {0}, res[2048];
    size_t n = IN_AT;

    memcpy(in + n, key, 32);
    memcpy(in + n + 32, nonce, 12);
    in[n + 44] = (uint8_t)aad_len;
    in[n + 45] = (uint8_t)text_len;
    in[n + 46] = (uint8_t)(text_len >> 8);
    n += HDR_LEN;
    memcpy(in + n, aad, aad_len);
    memcpy(in + n + aad_len, text, text_len);
    n += aad_len + text_len + 16;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
                .data_size_in = (uint32_t)n, .data_out = res,
                .data_size_out = sizeof(res));
    assert_int_equal(bpf_prog_test_run_opts(
                         bpf_program__fd(skel->progs.fr_aead_seal), &opts),
                     0);
    assert_int_equal(opts.retval, 0);
    assert_int_equal(opts.data_size_out, n);
    memcpy(out, res + IN_AT + HDR_LEN + aad_len, text_len + 16);
}

static void test_rfc8439_vector(void **state)
{
    static const char text[] =
        "Ladies and Gentlemen of the class of '99: If I could offer you "
        "only one tip for the future, sunscreen would be it.";
    static const uint8_t aad[12] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1,
                                    0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
    static const uint8_t nonce[12] = {0x07, 0x00, 0x00, 0x00, 0x40, 0x41,
                                      0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
    static const uint8_t ct[] = {
        0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb, 0x7b, 0x86, 0xaf,
        0xbc, 0x53, 0xef, 0x7e, 0xc2, 0xa4, 0xad, 0xed, 0x51, 0x29, 0x6e,
        0x08, 0xfe, 0xa9, 0xe2, 0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6, 0x3d,
        0xbe, 0xa4, 0x5e, 0x8c, 0xa9, 0x67, 0x12, 0x82, 0xfa, 0xfb, 0x69,
        0xda, 0x92, 0x72, 0x8b, 0x1a, 0x71, 0xde, 0x0a, 0x9e, 0x06, 0x0b,
        0x29, 0x05, 0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36, 0x92, 0xdd,
        0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c, 0x98, 0x03, 0xae, 0xe3, 0x28,
        0x09, 0x1b, 0x58, 0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94,
        0x55, 0x85, 0x80, 0x8b, 0x48, 0x31, 0xd7, 0xbc, 0x3f, 0xf4, 0xde,
        0xf0, 0x8e, 0x4b, 0x7a, 0x9d, 0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce,
        0xc6, 0x4b, 0x61, 0x16,
        /* tag */
        0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e,
        0xcb, 0xd0, 0x60, 0x06, 0x91};
    uint8_t key[32], out[sizeof(ct)];

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x80 + i);
    assert_int_equal(sizeof(text) - 1 + 16, sizeof(ct));
    seal(key, nonce, aad, sizeof(aad), (const uint8_t *)text,
         sizeof(text) - 1, out);
    assert_memory_equal(out, ct, sizeof(ct));
}

/* GnuTLS opens what the program sealed, for AADs of 0 to 48 bytes and
 * texts of 1 to 1500; a flipped bit in the tag is refused. */
static void test_gnutls_opens(void **state)
{
    static const size_t texts[] = {1, 15, 16, 17, 63, 64, 65, 100, 1000,
                                   1199, 1200, 1452, 1500};
    static const size_t aads[] = {0, 1, 12, 16, 21, 25, 48};
    uint8_t key[32], nonce[12], aad[48], text[1500], sealed[1516],
        opened[1500];

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        for (size_t g = 0; g < sizeof(aads) / sizeof(aads[0]); g++) {
            gnutls_datum_t k = {key, sizeof(key)};
            gnutls_aead_cipher_hd_t h;
            size_t n = texts[t], alen = aads[g], olen = sizeof(opened);

            for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t)(i * 13 + t);
            for (size_t i = 0; i < sizeof(nonce); i++)
                nonce[i] = (uint8_t)(i + 7 * g);
            for (size_t i = 0; i < alen; i++)
                aad[i] = (uint8_t)(i ^ 0x5a);
            for (size_t i = 0; i < n; i++)
                text[i] = (uint8_t)(i * 31 + g);
            seal(key, nonce, aad, alen, text, n, sealed);
            assert_int_equal(gnutls_aead_cipher_init(
                                 &h, GNUTLS_CIPHER_CHACHA20_POLY1305, &k),
                             0);
            if (gnutls_aead_cipher_decrypt(h, nonce, sizeof(nonce), aad,
                                           alen, 16, sealed, n + 16, opened,
                                           &olen) != 0)
                fail_msg("GnuTLS refused text %zu, AAD %zu", n, alen);
            assert_int_equal(olen, n);
            assert_memory_equal(opened, text, n);
            sealed[n + 3] ^= 0x10;
            olen = sizeof(opened);
            assert_int_not_equal(gnutls_aead_cipher_decrypt(
                                     h, nonce, sizeof(nonce), aad, alen, 16,
                                     sealed, n + 16, opened, &olen),
                                 0);
            gnutls_aead_cipher_deinit(h);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8439_vector),
        cmocka_unit_test(test_gnutls_opens),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
