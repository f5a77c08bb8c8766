/* Ethernet/IPv4/UDP frames for BPF tests. */
#include <arpa/inet.h>
#include <string.h>

#include "packet.h"

/* RFC 1071 checksum of the given bytes with an initial sum. */
static uint16_t inet_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t fr_test_frame(uint8_t *out, size_t payload, const uint8_t dmac[6],
                     const uint8_t smac[6], const char *src, const char *dst,
                     uint16_t sport, uint16_t dport, uint8_t proto)
{
    uint8_t *ip = out + 14, *udp = ip + 20, pseudo[12];
    uint16_t total = (uint16_t)(20 + 8 + payload), ulen = (uint16_t)(8 + payload);
    uint16_t c;

    memcpy(out, dmac, 6);
    memcpy(out + 6, smac, 6);
    out[12] = 0x08;
    out[13] = 0x00;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    c = inet_sum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)(ulen >> 8);
    udp[5] = (uint8_t)ulen;
    udp[6] = udp[7] = 0;
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 17;
    pseudo[10] = (uint8_t)(ulen >> 8);
    pseudo[11] = (uint8_t)ulen;
    {
        uint32_t sum = 0;
        for (size_t i = 0; i < 12; i += 2)
            sum += (uint32_t)pseudo[i] << 8 | pseudo[i + 1];
        c = inet_sum(udp, ulen, sum);
    }
    if (c == 0)
        c = 0xffff;
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    return 42 + payload;
}
