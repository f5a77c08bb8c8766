/* Numeric address parsing and formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>
#include <fastrelay/quic.h>

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v;

    if (!*s)
        return FR_ERR_ADDRESS;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > 65535)
        return FR_ERR_ADDRESS;
    *port = (uint16_t)v;
    return 0;
}

int fr_addr_parse(struct sockaddr_storage *addr, socklen_t *len,
                  const char *host_port)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    size_t hostlen;
    uint16_t port;

    if (!addr || !len || !host_port)
        return FR_ERR_INVALID_ARGUMENT;
    memset(addr, 0, sizeof(*addr));
    if (host_port[0] == '[') {
        const char *close = strchr(host_port, ']');
        if (!close || close[1] != ':')
            return FR_ERR_ADDRESS;
        hostlen = (size_t)(close - host_port - 1);
        if (hostlen >= sizeof(host))
            return FR_ERR_ADDRESS;
        memcpy(host, host_port + 1, hostlen);
        host[hostlen] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(host_port, ':');
        if (!colon)
            return FR_ERR_ADDRESS;
        hostlen = (size_t)(colon - host_port);
        if (hostlen >= sizeof(host))
            return FR_ERR_ADDRESS;
        memcpy(host, host_port, hostlen);
        host[hostlen] = '\0';
    }
    if (parse_port(colon + 1, &port))
        return FR_ERR_ADDRESS;

    struct sockaddr_in *sin = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *len = sizeof(*sin6);
        return 0;
    }
    return FR_ERR_ADDRESS;
}

const char *fr_addr_format(char *buf, size_t buflen,
                           const struct sockaddr *addr)
{
    char host[INET6_ADDRSTRLEN];

    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, buflen, "%s:%u", host, ntohs(sin->sin_port));
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, buflen, "[%s]:%u", host, ntohs(sin6->sin6_port));
    } else {
        snprintf(buf, buflen, "(family %d)", addr->sa_family);
    }
    return buf;
}
