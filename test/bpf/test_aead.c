/*
 * ChaCha20-Poly1305 and QUIC packet protection in BPF (bpf/aead.bpf.h,
 * bpf/quic_crypto.bpf.h) through BPF_PROG_TEST_RUN: the RFC 8439
 * section 2.8.2 vector, exact bytes and tag; GnuTLS opening what the
 * program sealed, and the program opening what GnuTLS sealed, for AADs
 * and texts of many lengths (packet-sized ones included), a flipped bit
 * in tag, AAD or ciphertext refused; the RFC 9001 Appendix A.5
 * ChaCha20-Poly1305 short-header packet, exact bytes.
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

/* Runs `prog` on in[0..n) (an Ethernet header's room first); the
 * output, n bytes, into out. Returns the program's verdict. */
static int run(const struct bpf_program *prog, const uint8_t *in, size_t n,
               uint8_t *out)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
                .data_size_in = (uint32_t)n, .data_out = out,
                .data_size_out = 2048);

    assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts),
                     0);
    assert_int_equal(opts.data_size_out, n);
    return (int)opts.retval;
}

/* Seals (or opens) `text` (with its tag after it when opening) with the
 * program; `out` gets the ciphertext and the tag (the plaintext).
 * Returns the program's verdict. */
static int aead(const struct bpf_program *prog, const uint8_t key[32],
                const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *text, size_t text_len, uint8_t *out)
{
    uint8_t in[2048] = {0}, res[2048];
    size_t n = IN_AT;
    int verdict;

    memcpy(in + n, key, 32);
    memcpy(in + n + 32, nonce, 12);
    in[n + 44] = (uint8_t)aad_len;
    in[n + 45] = (uint8_t)text_len;
    in[n + 46] = (uint8_t)(text_len >> 8);
    n += HDR_LEN;
    memcpy(in + n, aad, aad_len);
    memcpy(in + n + aad_len, text, text_len + 16);
    n += aad_len + text_len + 16;
    verdict = run(prog, in, n, res);
    memcpy(out, res + IN_AT + HDR_LEN + aad_len, text_len + 16);
    return verdict;
}

static void seal(const uint8_t key[32], const uint8_t nonce[12],
                 const uint8_t *aad, size_t aad_len, const uint8_t *text,
                 size_t text_len, uint8_t *out)
{
    uint8_t room[1516] = {0};

    memcpy(room, text, text_len);
    assert_int_equal(aead(skel->progs.fr_aead_seal, key, nonce, aad,
                          aad_len, room, text_len, out),
                     0);
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

/* The program opens what GnuTLS sealed, and refuses it with a bit
 * flipped in the tag, the AAD or the ciphertext. */
static void test_opens_gnutls(void **state)
{
    static const size_t texts[] = {1, 16, 17, 64, 65, 1200, 1500};
    uint8_t key[32], nonce[12], aad[21], text[1500], sealed[1516],
        out[1516];

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(200 - i);
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(i * 3);
    for (size_t i = 0; i < sizeof(aad); i++)
        aad[i] = (uint8_t)(0x40 + i);
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        gnutls_datum_t k = {key, sizeof(key)};
        gnutls_aead_cipher_hd_t h;
        size_t n = texts[t], slen = sizeof(sealed);

        for (size_t i = 0; i < n; i++)
            text[i] = (uint8_t)(i * 5 + t);
        assert_int_equal(gnutls_aead_cipher_init(
                             &h, GNUTLS_CIPHER_CHACHA20_POLY1305, &k),
                         0);
        assert_int_equal(gnutls_aead_cipher_encrypt(
                             h, nonce, sizeof(nonce), aad, sizeof(aad), 16,
                             text, n, sealed, &slen),
                         0);
        gnutls_aead_cipher_deinit(h);
        assert_int_equal(slen, n + 16);
        assert_int_equal(aead(skel->progs.fr_aead_open, key, nonce, aad,
                              sizeof(aad), sealed, n, out),
                         0);
        assert_memory_equal(out, text, n);
        sealed[n + 15] ^= 0x01;
        assert_int_equal(aead(skel->progs.fr_aead_open, key, nonce, aad,
                              sizeof(aad), sealed, n, out),
                         1);
        sealed[n + 15] ^= 0x01;
        sealed[n / 2] ^= 0x80;
        assert_int_equal(aead(skel->progs.fr_aead_open, key, nonce, aad,
                              sizeof(aad), sealed, n, out),
                         1);
        sealed[n / 2] ^= 0x80;
        aad[3] ^= 0x04;
        assert_int_equal(aead(skel->progs.fr_aead_open, key, nonce, aad,
                              sizeof(aad), sealed, n, out),
                         1);
        aad[3] ^= 0x04;
    }
}

/* RFC 9001 Appendix A.5: a short-header packet carrying one PING,
 * protected with ChaCha20-Poly1305, packet number 654360564 on three
 * bytes. */
static void test_rfc9001_a5(void **state)
{
    static const uint8_t key[32] = {
        0xc6, 0xd9, 0x8f, 0xf3, 0x44, 0x1c, 0x3f, 0xe1, 0xb2, 0x18, 0x20,
        0x94, 0xf6, 0x9c, 0xaa, 0x2e, 0xd4, 0xb7, 0x16, 0xb6, 0x54, 0x88,
        0x96, 0x0a, 0x7a, 0x98, 0x49, 0x79, 0xfb, 0x23, 0xe1, 0xc8};
    static const uint8_t iv[12] = {0xe0, 0x45, 0x9b, 0x34, 0x74, 0xbd,
                                   0xd0, 0xe4, 0x4a, 0x41, 0xc1, 0x44};
    static const uint8_t hp[32] = {
        0x25, 0xa2, 0x82, 0xb9, 0xe8, 0x2f, 0x06, 0xf2, 0x1f, 0x48, 0x89,
        0x17, 0xa4, 0xfc, 0x8f, 0x1b, 0x73, 0x57, 0x36, 0x85, 0x60, 0x85,
        0x97, 0xd0, 0xef, 0xcb, 0x07, 0x6b, 0x0a, 0xb7, 0xa7, 0xa4};
    static const uint8_t header[4] = {0x42, 0x00, 0xbf, 0xf4};
    static const uint8_t protected[] = {
        0x4c, 0xfe, 0x41, 0x89, 0x65, 0x5e, 0x5c, 0xd5, 0x5c, 0x41, 0xf6,
        0x90, 0x80, 0x57, 0x5d, 0x79, 0x99, 0xc2, 0x5a, 0x5b, 0xfb};
    const uint64_t pn = 654360564;
    uint8_t in[256] = {0}, out[2048];
    size_t n = IN_AT;

    (void)state;
    if (geteuid() != 0)
        FR_TEST_SKIP("needs root (BPF)");
    memcpy(in + n, key, 32);
    memcpy(in + n + 32, iv, 12);
    memcpy(in + n + 44, hp, 32);
    for (int i = 0; i < 8; i++)
        in[n + 76 + i] = (uint8_t)(pn >> (8 * i));
    in[n + 84] = sizeof(header);
    in[n + 85] = 3;
    in[n + 86] = 1;
    n += 88;
    memcpy(in + n, header, sizeof(header));
    in[n + sizeof(header)] = 0x01; /* PING */
    n += sizeof(header) + 1 + 16;
    assert_int_equal(run(skel->progs.fr_quic_protect, in, n, out), 0);
    assert_memory_equal(out + IN_AT + 88, protected, sizeof(protected));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8439_vector),
        cmocka_unit_test(test_gnutls_opens),
        cmocka_unit_test(test_opens_gnutls),
        cmocka_unit_test(test_rfc9001_a5),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
