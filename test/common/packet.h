/* Building Ethernet/IPv4/UDP frames around a payload, for BPF tests. */
#ifndef FR_TEST_PACKET_H
#define FR_TEST_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define FR_TEST_L4_OFFSET 42 /* Ethernet (14) + IPv4 (20) + UDP (8) */

/* Writes Ethernet, IPv4 and UDP headers, checksums included, around the
 * `payload` bytes already at out + FR_TEST_L4_OFFSET; `proto` other than
 * 17 (UDP) makes a frame that is not UDP. Returns the frame length. */
size_t fr_test_frame(uint8_t *out, size_t payload, const uint8_t dmac[6],
                     const uint8_t smac[6], const char *src, const char *dst,
                     uint16_t sport, uint16_t dport, uint8_t proto);

#endif
