/* Next hops from the routing and ARP tables (see nexthop.h). */
#include "nexthop.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fastrelay/error.h>

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            char *b = realloc(buf, cap + 16384);

            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
            cap += 16384;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

int fr_nexthop_tables_read(fr_nexthop_tables *t)
{
    t->route = read_all("/proc/net/route");
    t->arp = read_all("/proc/net/arp");
    if (t->route && t->arp)
        return 0;
    fr_nexthop_tables_free(t);
    return FR_ERR_INTERNAL;
}

void fr_nexthop_tables_free(fr_nexthop_tables *t)
{
    free(t->route);
    free(t->arp);
    t->route = t->arp = NULL;
}

/* Copies the line at *p (without its newline, cut to the buffer) and moves
 * *p to the next one. Returns 0 at the end of the text. */
static int next_line(const char **p, char line[256])
{
    const char *end;
    size_t n;

    if (!**p)
        return 0;
    end = strchr(*p, '\n');
    n = end ? (size_t)(end - *p) : strlen(*p);
    memcpy(line, *p, n < 255 ? n : 255);
    line[n < 255 ? n : 255] = '\0';
    *p += end ? n + 1 : n;
    return 1;
}

/* The route the main table gives `peer`: its interface's name and its
 * gateway (0.0.0.0 for a peer on the link). Longest prefix, then lowest
 * metric. */
static int route_toward(const char *table, struct in_addr peer,
                        char dev[IF_NAMESIZE], struct in_addr *gateway)
{
    char line[256], name[IF_NAMESIZE];
    unsigned dst, gw, flags, refcnt, use, metric, mask, best_metric = 0;
    int best_len = -1;

    /* Addresses are printed as the raw 32-bit values, like s_addr. */
    while (next_line(&table, line)) {
        int len;

        if (sscanf(line, "%15s %x %x %x %u %u %u %x", name, &dst, &gw, &flags,
                   &refcnt, &use, &metric, &mask) != 8 ||
            !(flags & RTF_UP) || (peer.s_addr & mask) != dst)
            continue;
        len = __builtin_popcount(mask);
        if (len > best_len || (len == best_len && metric < best_metric)) {
            best_len = len;
            best_metric = metric;
            memcpy(dev, name, sizeof(name));
            gateway->s_addr = (flags & RTF_GATEWAY) ? gw : 0;
        }
    }
    return best_len >= 0 ? 0 : FR_ERR_ADDRESS;
}

/* The MAC address of on-link neighbour `ip` (complete entries only). */
static int neighbour_mac(const char *table, struct in_addr ip, uint8_t mac[6])
{
    char line[256], ips[64], hw[64], mask[64], dev[64];
    unsigned type, flags, m[6];
    struct in_addr a;

    while (next_line(&table, line))
        if (sscanf(line, "%63s 0x%x 0x%x %63s %63s %63s", ips, &type, &flags,
                   hw, mask, dev) == 6 &&
            inet_pton(AF_INET, ips, &a) == 1 && a.s_addr == ip.s_addr &&
            (flags & 0x2) &&
            sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
                   &m[5]) == 6) {
            for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)m[i];
            return 0;
        }
    return FR_ERR_ADDRESS;
}

int fr_nexthop_find(const fr_nexthop_tables *t, struct in_addr peer,
                    int *ifindex, uint8_t own_mac[6], uint8_t next_mac[6])
{
    char dev[IF_NAMESIZE];
    struct in_addr gw;
    struct ifreq ifr;
    int fd, rv = FR_ERR_ADDRESS;

    if (route_toward(t->route, peer, dev, &gw) != 0 ||
        (*ifindex = (int)if_nametoindex(dev)) <= 0)
        return FR_ERR_ADDRESS;
    if (next_mac && neighbour_mac(t->arp, gw.s_addr ? gw : peer, next_mac))
        return FR_ERR_ADDRESS;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FR_ERR_SOCKET;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
        memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);
        rv = 0;
    }
    close(fd);
    return rv;
}
