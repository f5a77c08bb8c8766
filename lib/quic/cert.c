/* Server certificates: loaded from PEM files or generated in memory. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <fastrelay/error.h>
#include <fastrelay/quic.h>

#include "quic_internal.h"

struct fr_cert {
    gnutls_certificate_credentials_t cred;
    char *pem; /* first certificate of the chain */
    size_t pemlen;
};

gnutls_certificate_credentials_t fr_cert_credentials(const fr_cert *cert)
{
    return cert->cred;
}

static int cert_alloc(fr_cert **pcert)
{
    fr_cert *cert = calloc(1, sizeof(*cert));

    if (!cert)
        return FR_ERR_NOMEM;
    if (gnutls_certificate_allocate_credentials(&cert->cred) != 0) {
        free(cert);
        return FR_ERR_NOMEM;
    }
    *pcert = cert;
    return 0;
}

static int set_pem(fr_cert *cert, gnutls_x509_crt_t crt)
{
    gnutls_datum_t out;

    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out) != 0)
        return FR_ERR_CERT;
    cert->pem = malloc(out.size + 1);
    if (!cert->pem) {
        gnutls_free(out.data);
        return FR_ERR_NOMEM;
    }
    memcpy(cert->pem, out.data, out.size);
    cert->pem[out.size] = '\0';
    cert->pemlen = out.size;
    gnutls_free(out.data);
    return 0;
}

int fr_cert_load(fr_cert **pcert, const char *cert_file, const char *key_file)
{
    fr_cert *cert;
    gnutls_x509_crt_t crt;
    gnutls_datum_t raw;
    int rv;

    if (!pcert || !cert_file || !key_file)
        return FR_ERR_INVALID_ARGUMENT;
    rv = cert_alloc(&cert);
    if (rv)
        return rv;
    if (gnutls_certificate_set_x509_key_file(cert->cred, cert_file, key_file,
                                             GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_certificate_get_crt_raw(cert->cred, 0, 0, &raw) != 0 ||
        gnutls_x509_crt_init(&crt) != 0) {
        fr_cert_del(cert);
        return FR_ERR_CERT;
    }
    rv = gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) == 0
             ? set_pem(cert, crt)
             : FR_ERR_CERT;
    gnutls_x509_crt_deinit(crt);
    if (rv) {
        fr_cert_del(cert);
        return rv;
    }
    *pcert = cert;
    return 0;
}

static int set_subject(gnutls_x509_crt_t crt, const char *name)
{
    unsigned char ip[sizeof(struct in6_addr)];
    int rv;

    rv = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                       name, (unsigned)strlen(name));
    if (rv)
        return rv;
    if (inet_pton(AF_INET, name, ip) == 1)
        return gnutls_x509_crt_set_subject_alt_name(
            crt, GNUTLS_SAN_IPADDRESS, ip, 4, GNUTLS_FSAN_SET);
    if (inet_pton(AF_INET6, name, ip) == 1)
        return gnutls_x509_crt_set_subject_alt_name(
            crt, GNUTLS_SAN_IPADDRESS, ip, 16, GNUTLS_FSAN_SET);
    return gnutls_x509_crt_set_subject_alt_name(
        crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name),
        GNUTLS_FSAN_SET);
}

int fr_cert_generate(fr_cert **pcert, const char *name)
{
    return fr_cert_generate_days(pcert, name, 365);
}

int fr_cert_generate_days(fr_cert **pcert, const char *name, unsigned days)
{
    fr_cert *cert = NULL;
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    unsigned char serial[16];
    time_t now = time(NULL);
    int rv;

    if (!pcert || !name || !*name || days < 1 || days > 3650)
        return FR_ERR_INVALID_ARGUMENT;
    rv = cert_alloc(&cert);
    if (rv)
        return rv;
    rv = FR_ERR_CERT;
    if (gnutls_x509_privkey_init(&key) != 0 ||
        gnutls_x509_privkey_generate(
            key, GNUTLS_PK_ECDSA,
            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) != 0 ||
        gnutls_x509_crt_init(&crt) != 0 ||
        gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) != 0)
        goto out;
    serial[0] &= 0x7f; /* a positive serial number */
    if (gnutls_x509_crt_set_version(crt, 3) != 0 ||
        gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) != 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 3600) != 0 ||
        gnutls_x509_crt_set_expiration_time(
            crt, now + (time_t)days * 24 * 3600) != 0 ||
        set_subject(crt, name) != 0 ||
        gnutls_x509_crt_set_key(crt, key) != 0 ||
        gnutls_x509_crt_set_basic_constraints(crt, 0, -1) != 0 ||
        gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) != 0 ||
        gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
                                            0) != 0 ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) != 0 ||
        gnutls_certificate_set_x509_key(cert->cred, &crt, 1, key) != 0)
        goto out;
    rv = set_pem(cert, crt);

out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    if (rv) {
        fr_cert_del(cert);
        return rv;
    }
    *pcert = cert;
    return 0;
}

int fr_cert_sha256(const fr_cert *cert, uint8_t out[32])
{
    gnutls_datum_t raw;

    if (!cert || !out)
        return FR_ERR_INVALID_ARGUMENT;
    if (gnutls_certificate_get_crt_raw(cert->cred, 0, 0, &raw) != 0 ||
        gnutls_hash_fast(GNUTLS_DIG_SHA256, raw.data, raw.size, out) != 0)
        return FR_ERR_CERT;
    return 0;
}

const char *fr_cert_pem(const fr_cert *cert, size_t *plen)
{
    if (plen)
        *plen = cert->pemlen;
    return cert->pem;
}

void fr_cert_del(fr_cert *cert)
{
    if (!cert)
        return;
    gnutls_certificate_free_credentials(cert->cred);
    free(cert->pem);
    free(cert);
}
