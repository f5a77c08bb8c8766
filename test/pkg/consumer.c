/* A tiny program that uses the installed library through its public
 * headers only: proves headers, linking and symbol export work. */
#include <stdio.h>
#include <string.h>

#include <fastrelay/fastrelay.h>

static int send_nothing(fr_quic_endpoint *ep, const fr_quic_path *path,
                        const struct iovec *d, size_t n, void *ud)
{
    (void)ep;
    (void)path;
    (void)d;
    (void)n;
    (void)ud;
    return 0;
}

int main(void)
{
    fr_quic_callbacks cb;
    fr_quic_settings s;
    fr_quic_endpoint *ep;
    fr_cert *cert;
    int rv;

    if (strcmp(fr_version(), FR_VERSION) != 0) {
        fprintf(stderr, "header %s != library %s\n", FR_VERSION,
                fr_version());
        return 1;
    }
    memset(&cb, 0, sizeof(cb));
    cb.send = send_nothing;
    fr_quic_settings_default(&s);
    s.alpn = "consumer";
    if ((rv = fr_cert_generate(&cert, "localhost")) != 0 ||
        (s.cert = cert, s.accept_connections = 1,
         rv = fr_quic_endpoint_new(&ep, &cb, &s, NULL)) != 0) {
        fprintf(stderr, "consumer: %s\n", fr_strerror(rv));
        return 1;
    }
    fr_quic_endpoint_del(ep);
    fr_cert_del(cert);
    printf("consumer: libfastrelay %s OK\n", fr_version());
    return 0;
}
