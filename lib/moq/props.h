/*
 * Track properties this implementation understands: DEFAULT PUBLISHER
 * PRIORITY and DEFAULT PUBLISHER GROUP ORDER. Others are skipped.
 */
#ifndef FR_MOQ_PROPS_H
#define FR_MOQ_PROPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FR_MOQ_PROP_DEFAULT_PUBLISHER_PRIORITY 0x0E
#define FR_MOQ_PROP_DEFAULT_PUBLISHER_GROUP_ORDER 0x22

/* Writes both properties (ascending types, delta-encoded). Returns bytes
 * written, or FR_ERR_NOBUF. */
ssize_t fr_moq_track_props_encode(uint8_t *buf, size_t len, uint8_t priority,
                                  uint8_t group_order);

/* Reads the two properties from a Key-Value-Pair sequence; absent ones
 * take the draft's defaults (128, ascending). Returns 0, or FR_ERR_PROTO
 * for a malformed sequence, an invalid value, or a mandatory track property
 * (0x4000-0x7FFF) we do not know. */
int fr_moq_track_props_decode(const uint8_t *buf, size_t len,
                              uint8_t *priority, uint8_t *group_order);

#endif
