/*
 * How the relay reaches an IPv4 peer: the interface its route in the main
 * table leaves by, that interface's MAC address, and the MAC address of
 * the next hop (the peer on its link, else the route's gateway) from the
 * ARP table. The tables are read once for any number of lookups.
 */
#ifndef FR_FP_NEXTHOP_H
#define FR_FP_NEXTHOP_H

#include <netinet/in.h>
#include <stdint.h>

typedef struct fr_nexthop_tables {
    char *route; /* /proc/net/route */
    char *arp;   /* /proc/net/arp */
} fr_nexthop_tables;

/* Returns 0, or FR_ERR_INTERNAL if a table cannot be read. */
int fr_nexthop_tables_read(fr_nexthop_tables *t);
void fr_nexthop_tables_free(fr_nexthop_tables *t);

/* Fills *ifindex and own_mac and, unless next_mac is NULL, next_mac (a
 * complete ARP entry only). Returns 0, FR_ERR_ADDRESS when `peer` has no
 * route, interface or next hop, or FR_ERR_SOCKET. */
int fr_nexthop_find(const fr_nexthop_tables *t, struct in_addr peer,
                    int *ifindex, uint8_t own_mac[6], uint8_t next_mac[6]);

#endif
