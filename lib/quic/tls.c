/* GnuTLS sessions for QUIC connections: credentials, ALPN, verification. */
#include <arpa/inet.h>
#include <string.h>

#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <fastrelay/error.h>

#include "quic_internal.h"

/* TLS 1.3 only, the AEADs QUIC defines, no middlebox compatibility mode. */
static const char tls_priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:%DISABLE_TLS13_COMPAT_MODE";
/* The same, ChaCha20-Poly1305 first and chosen by the server when the
 * client offers it (as a client: offered first): the suite a hooking
 * layer (the kernel fast path) can protect and open packets with
 * (wire_protect.c, rx_keys.c). */
static const char tls_priority_chacha20[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305:"
    "+AES-128-GCM:+AES-256-GCM:%DISABLE_TLS13_COMPAT_MODE:"
    "%SERVER_PRECEDENCE";

int fr_tls_is_chacha20(const ngtcp2_crypto_aead *aead)
{
    return aead->native_handle == (void *)GNUTLS_CIPHER_CHACHA20_POLY1305;
}

int fr_tls_install_level(ngtcp2_conn *conn, ngtcp2_encryption_level level,
                         const void *rx_secret, const void *tx_secret,
                         size_t secretlen)
{
    if (rx_secret && ngtcp2_crypto_derive_and_install_rx_key(
                         conn, NULL, NULL, NULL, level, rx_secret,
                         secretlen) != 0)
        return -1;
    if (tx_secret && ngtcp2_crypto_derive_and_install_tx_key(
                         conn, NULL, NULL, NULL, level, tx_secret,
                         secretlen) != 0)
        return -1;
    return 0;
}

int fr_tls_client_cred_new(fr_quic_endpoint *ep)
{
    const fr_quic_settings *s = &ep->settings;
    gnutls_certificate_credentials_t cred;
    int rv;

    if (gnutls_certificate_allocate_credentials(&cred) != 0)
        return FR_ERR_NOMEM;
    if (s->ca_file) {
        rv = gnutls_certificate_set_x509_trust_file(cred, s->ca_file,
                                                    GNUTLS_X509_FMT_PEM);
        if (rv <= 0) {
            FR_ERROR(&s->log, "cannot load CA file %s: %s", s->ca_file,
                     rv < 0 ? gnutls_strerror(rv) : "no certificate in it");
            gnutls_certificate_free_credentials(cred);
            return FR_ERR_CERT;
        }
    } else if (s->ca_pem) {
        gnutls_datum_t d = {(unsigned char *)s->ca_pem,
                            (unsigned int)s->ca_pem_len};
        rv = gnutls_certificate_set_x509_trust_mem(cred, &d,
                                                   GNUTLS_X509_FMT_PEM);
        if (rv <= 0) {
            FR_ERROR(&s->log, "cannot load pinned CA certificate: %s",
                     rv < 0 ? gnutls_strerror(rv) : "no certificate in it");
            gnutls_certificate_free_credentials(cred);
            return FR_ERR_CERT;
        }
    } else if (!s->insecure) {
        /* At the first connection made (fr_tls_session_new): parsing
         * the system's CAs is most of a relay's start, and a relay that
         * dials nothing never needs them. */
        ep->system_trust_due = 1;
    }
    ep->client_cred = cred;
    return 0;
}

static void load_system_trust(fr_quic_endpoint *ep)
{
    int rv = gnutls_certificate_set_x509_system_trust(ep->client_cred);

    if (rv < 0)
        FR_WARN(&ep->settings.log, "cannot load the system trust store: %s",
                gnutls_strerror(rv));
    ep->system_trust_due = 0;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1 ||
           inet_pton(AF_INET6, name, buf) == 1;
}

int fr_tls_session_new(fr_quic_conn *c, const char *server_name)
{
    fr_quic_endpoint *ep = c->ep;
    const fr_quic_settings *s = &ep->settings;
    gnutls_session_t session;
    gnutls_datum_t alpn[FR_ALPN_LIST_MAX];
    int rv, keyed;

    for (size_t i = 0; i < ep->nalpn; i++) {
        alpn[i].data = (unsigned char *)ep->alpn_wire[i];
        alpn[i].size = (unsigned int)strlen(ep->alpn_wire[i]);
    }
    rv = gnutls_init(&session, (c->is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                   GNUTLS_NO_END_OF_EARLY_DATA);
    if (rv != 0)
        return FR_ERR_NOMEM;
    if (!c->is_server && ep->system_trust_due)
        load_system_trust(ep);
    if (c->is_server)
        rv = ngtcp2_crypto_gnutls_configure_server_session(session);
    else
        rv = ngtcp2_crypto_gnutls_configure_client_session(session);
    if (rv != 0)
        goto fail;
    keyed = (fr_wp_wanted(ep, c->is_server) && ep->hooks->keys) ||
            fr_rx_keys_wanted(ep, c->is_server);
    if (s->crypto_mode == FR_CRYPTO_CLEARTEXT)
        fr_cleartext_configure_session(session);
    else if (fr_wp_wanted(ep, c->is_server))
        fr_wp_configure_session(session);
    else if (fr_rx_keys_wanted(ep, c->is_server))
        fr_rx_keys_configure_session(session);
    if (gnutls_priority_set_direct(
            session, keyed ? tls_priority_chacha20 : tls_priority, NULL) != 0)
        goto fail;
    rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE,
                                c->is_server ? fr_cert_credentials(s->cert)
                                             : ep->client_cred);
    if (rv != 0)
        goto fail;
    /* A server accepts only its own ALPNs, its preference first: a peer in
     * the other crypto mode offers different ones and the handshake fails
     * with no_application_protocol. */
    if (gnutls_alpn_set_protocols(session, alpn, (unsigned)ep->nalpn,
                                  c->is_server
                                      ? GNUTLS_ALPN_MANDATORY |
                                            GNUTLS_ALPN_SERVER_PRECEDENCE
                                      : 0))
        goto fail;
    if (!c->is_server) {
        if (server_name && !is_ip_literal(server_name) &&
            gnutls_server_name_set(session, GNUTLS_NAME_DNS, server_name,
                                   strlen(server_name)) != 0)
            goto fail;
        if (!s->insecure)
            gnutls_session_set_verify_cert(session, server_name, 0);
    }
    gnutls_session_set_ptr(session, &c->conn_ref);
    c->session = session;
    return 0;

fail:
    gnutls_deinit(session);
    return FR_ERR_TLS;
}

int fr_tls_check_alpn(fr_quic_conn *c)
{
    gnutls_datum_t d;

    if (gnutls_alpn_get_selected_protocol(c->session, &d) != 0)
        return FR_ERR_TLS;
    for (size_t i = 0; i < c->ep->nalpn; i++)
        if (d.size == strlen(c->ep->alpn_wire[i]) &&
            memcmp(d.data, c->ep->alpn_wire[i], d.size) == 0) {
            c->alpn_index = (int)i;
            return 0;
        }
    return FR_ERR_TLS;
}

const char *fr_tls_alert_hint(uint64_t error_code)
{
    /* CRYPTO_ERROR codes are 0x100 + the TLS alert (RFC 9001 4.8). */
    if (error_code < 0x100 || error_code > 0x1ff)
        return NULL;
    switch (error_code - 0x100) {
    case GNUTLS_A_NO_APPLICATION_PROTOCOL:
        return "TLS alert no_application_protocol: the peers share no ALPN; "
               "is one side in cleartext mode and the other in tls mode, or "
               "do they speak different applications?";
    case GNUTLS_A_BAD_CERTIFICATE:
    case GNUTLS_A_UNKNOWN_CA:
    case GNUTLS_A_CERTIFICATE_UNKNOWN:
        return "TLS alert: certificate rejected; give the client the "
               "server's CA (--ca) or, for tests only, --insecure";
    case GNUTLS_A_HANDSHAKE_FAILURE:
        return "TLS alert handshake_failure: no common cipher or group";
    default:
        return gnutls_alert_get_name(
            (gnutls_alert_description_t)(error_code - 0x100));
    }
}
