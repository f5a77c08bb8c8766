/* Track properties (Key-Value-Pairs with delta-encoded types). */
#include <fastrelay/error.h>
#include <fastrelay/moq.h>

#include "codec.h"
#include "props.h"

ssize_t fr_moq_track_props_encode(uint8_t *buf, size_t len, uint8_t priority,
                                  uint8_t group_order)
{
    const uint64_t kv[4] = {
        FR_MOQ_PROP_DEFAULT_PUBLISHER_PRIORITY, priority,
        FR_MOQ_PROP_DEFAULT_PUBLISHER_GROUP_ORDER -
            FR_MOQ_PROP_DEFAULT_PUBLISHER_PRIORITY,
        group_order};
    size_t off = 0;

    for (size_t i = 0; i < 4; i++) {
        ssize_t n = fr_moq_varint_encode(buf + off, len - off, kv[i]);
        if (n < 0)
            return FR_ERR_NOBUF;
        off += (size_t)n;
    }
    return (ssize_t)off;
}

int fr_moq_track_props_decode(const uint8_t *buf, size_t len,
                              uint8_t *priority, uint8_t *group_order)
{
    uint64_t type = 0;
    size_t off = 0;

    *priority = 128;
    *group_order = FR_MOQ_ORDER_ASCENDING;
    while (off < len) {
        uint64_t delta, value;
        ssize_t n = fr_moq_varint_decode(buf + off, len - off, &delta);
        if (n <= 0 || delta > UINT64_MAX - type)
            return FR_ERR_PROTO;
        off += (size_t)n;
        type += delta;
        n = fr_moq_varint_decode(buf + off, len - off, &value);
        if (n <= 0)
            return FR_ERR_PROTO;
        off += (size_t)n;
        if (type & 1) {
            /* Odd types carry a length and that many bytes. */
            if (value > 65535 || value > len - off)
                return FR_ERR_PROTO;
            off += (size_t)value;
        } else if (type == FR_MOQ_PROP_DEFAULT_PUBLISHER_PRIORITY) {
            if (value > 255)
                return FR_ERR_PROTO;
            *priority = (uint8_t)value;
        } else if (type == FR_MOQ_PROP_DEFAULT_PUBLISHER_GROUP_ORDER) {
            if (value != FR_MOQ_ORDER_ASCENDING &&
                value != FR_MOQ_ORDER_DESCENDING)
                return FR_ERR_PROTO;
            *group_order = (uint8_t)value;
        }
        if (type >= 0x4000 && type <= 0x7fff)
            return FR_ERR_PROTO; /* a mandatory property we do not understand */
    }
    return 0;
}
