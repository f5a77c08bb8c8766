/* WebTransport over HTTP/3 on the wire (see wire.h). */
#include "wire.h"

#include <string.h>

#include <fastrelay/error.h>

#include "../util/qvarint.h"

/* Error codes: 2^32 application codes spread over HTTP/3's space, one
 * point in every 0x1f left out (HTTP/3's reserved codes). */
#define CODE_FIRST UINT64_C(0x52e4a40fa8db)
#define CODE_LAST UINT64_C(0x52e5ac983162)

ssize_t fr_wt_stream_header_parse(const uint8_t *d, size_t len, int bidi,
                                  uint64_t *session_id)
{
    size_t pos = 0;
    uint64_t type;

    if (fr_qvarint_get(d, len, &pos, &type))
        return 0;
    if (type != (bidi ? FR_WT_BIDI_SIGNAL : FR_WT_UNI_STREAM_TYPE))
        return FR_ERR_PROTO;
    if (fr_qvarint_get(d, len, &pos, session_id))
        return 0;
    return (ssize_t)pos;
}

size_t fr_wt_stream_header_write(uint8_t *out, int bidi, uint64_t session_id)
{
    size_t pos = 0;

    fr_qvarint_put(out, FR_WT_STREAM_HEADER_MAX, &pos,
                   bidi ? FR_WT_BIDI_SIGNAL : FR_WT_UNI_STREAM_TYPE);
    fr_qvarint_put(out, FR_WT_STREAM_HEADER_MAX, &pos, session_id);
    return pos;
}

size_t fr_wt_capsule_header(const uint8_t *d, size_t len, uint64_t *type,
                            uint64_t *value_len)
{
    size_t pos = 0;

    if (fr_qvarint_get(d, len, &pos, type) ||
        fr_qvarint_get(d, len, &pos, value_len))
        return 0;
    return pos;
}

int fr_wt_close_session_parse(const uint8_t *v, size_t len, uint32_t *code,
                              const uint8_t **msg, size_t *msg_len)
{
    if (len < 4 || len - 4 > FR_WT_CLOSE_MESSAGE_MAX)
        return FR_ERR_PROTO;
    *code = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
            (uint32_t)v[2] << 8 | v[3];
    *msg = v + 4;
    *msg_len = len - 4;
    return 0;
}

ssize_t fr_wt_datagram_parse(const uint8_t *d, size_t len,
                             uint64_t *session_id)
{
    size_t pos = 0;
    uint64_t quarter;

    if (fr_qvarint_get(d, len, &pos, &quarter) ||
        quarter > FR_QVARINT_MAX / 4)
        return FR_ERR_PROTO;
    *session_id = quarter * 4;
    return (ssize_t)pos;
}

uint64_t fr_wt_code_to_h3(uint32_t code)
{
    return CODE_FIRST + code + code / 0x1e;
}

int fr_wt_code_from_h3(uint64_t h3, uint32_t *code)
{
    uint64_t shifted;

    if (h3 < CODE_FIRST || h3 > CODE_LAST)
        return FR_ERR_PROTO;
    shifted = h3 - CODE_FIRST;
    if ((shifted + 1) % 0x1f == 0)
        return FR_ERR_PROTO;
    *code = (uint32_t)(shifted - shifted / 0x1f);
    return 0;
}

static size_t skip_ows(const char *v, size_t len, size_t i)
{
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    return i;
}

/* Reads the sf-string at v[*i] (at its opening quote) into out; advances
 * *i past it. Returns 0, or FR_ERR_PROTO (not a string, unterminated,
 * too long, a character a string may not hold). */
static int sf_string(const char *v, size_t len, size_t *i, char *out,
                     size_t cap)
{
    size_t o = 0;

    if (*i >= len || v[*i] != '"')
        return FR_ERR_PROTO;
    for (size_t k = *i + 1; k < len; k++) {
        char ch = v[k];

        if (ch == '"') {
            out[o] = '\0';
            *i = k + 1;
            return 0;
        }
        if (ch == '\\') {
            if (++k == len || (v[k] != '"' && v[k] != '\\'))
                return FR_ERR_PROTO;
            ch = v[k];
        } else if (ch < 0x20 || ch > 0x7e) {
            return FR_ERR_PROTO;
        }
        if (o + 1 >= cap)
            return FR_ERR_PROTO;
        out[o++] = ch;
    }
    return FR_ERR_PROTO;
}

int fr_wt_protocol_pick(const char *list, size_t len,
                        const char *const *ours, size_t n)
{
    int best = -1;
    size_t i = skip_ows(list, len, 0);

    while (i < len) {
        char name[FR_WT_PROTOCOL_MAX + 1];

        if (sf_string(list, len, &i, name, sizeof(name)))
            return FR_ERR_PROTO;
        for (size_t k = 0; k < n; k++)
            if (strcmp(name, ours[k]) == 0 && (best < 0 || (int)k < best))
                best = (int)k;
        /* Parameters (;key or ;key=value) up to the next member. */
        while (i < len && list[i] != ',') {
            if (list[i] == '"') {
                char skip[FR_WT_PROTOCOL_MAX * 4];

                if (sf_string(list, len, &i, skip, sizeof(skip)))
                    return FR_ERR_PROTO;
                continue;
            }
            i++;
        }
        if (i < len) {
            i = skip_ows(list, len, i + 1);
            if (i == len)
                return FR_ERR_PROTO; /* a trailing comma */
        }
    }
    return best;
}

int fr_wt_protocol_parse(const char *v, size_t len, char *out, size_t cap)
{
    size_t i = skip_ows(v, len, 0);

    if (sf_string(v, len, &i, out, cap))
        return FR_ERR_PROTO;
    /* Parameters may follow; nothing else. */
    return i == len || v[i] == ';' || v[i] == ' ' ? 0 : FR_ERR_PROTO;
}

/* Whether the SETTINGS payload p[0..len) names setting `id`. */
static int has_setting(const uint8_t *p, size_t len, uint64_t id)
{
    size_t pos = 0;

    while (pos < len) {
        uint64_t k, v;

        if (fr_qvarint_get(p, len, &pos, &k) ||
            fr_qvarint_get(p, len, &pos, &v))
            return 0;
        if (k == id)
            return 1;
    }
    return 0;
}

/* The SETTINGS frame at the start of a control stream d[0..len): 1 with
 * its payload at d[*at..*at + *flen), 0 when it is not whole yet,
 * FR_ERR_PROTO when the bytes are not a control stream's start. */
static int settings_frame(const uint8_t *d, size_t len, size_t *at,
                          uint64_t *flen)
{
    size_t pos = 0;
    uint64_t type, frame;

    if (fr_qvarint_get(d, len, &pos, &type))
        return 0;
    if (type != FR_H3_CONTROL_STREAM)
        return FR_ERR_PROTO;
    if (fr_qvarint_get(d, len, &pos, &frame))
        return 0;
    if (frame != FR_H3_FRAME_SETTINGS)
        return FR_ERR_PROTO;
    if (fr_qvarint_get(d, len, &pos, flen) || *flen > len - pos)
        return 0;
    *at = pos;
    return 1;
}

ssize_t fr_h3_settings_extend(const uint8_t *d, size_t len,
                              const uint64_t (*add)[2], size_t n,
                              uint8_t *out, size_t cap, size_t *used)
{
    size_t o = 0, payload_at, extra = 0;
    uint64_t flen;
    int r = settings_frame(d, len, &payload_at, &flen);

    if (r <= 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (!has_setting(d + payload_at, (size_t)flen, add[i][0]))
            extra += fr_qvarint_len(add[i][0]) + fr_qvarint_len(add[i][1]);
    if (fr_qvarint_put(out, cap, &o, FR_H3_CONTROL_STREAM) ||
        fr_qvarint_put(out, cap, &o, FR_H3_FRAME_SETTINGS) ||
        fr_qvarint_put(out, cap, &o, flen + extra) || cap - o < flen)
        return FR_ERR_NOBUF;
    memcpy(out + o, d + payload_at, (size_t)flen);
    o += (size_t)flen;
    for (size_t i = 0; i < n; i++)
        if (!has_setting(d + payload_at, (size_t)flen, add[i][0]) &&
            (fr_qvarint_put(out, cap, &o, add[i][0]) ||
             fr_qvarint_put(out, cap, &o, add[i][1])))
            return FR_ERR_NOBUF;
    *used = payload_at + (size_t)flen;
    return (ssize_t)o;
}

int fr_h3_settings_scan(const uint8_t *d, size_t len,
                        fr_h3_peer_settings *out)
{
    size_t pos, end;
    uint64_t flen;
    int r = settings_frame(d, len, &pos, &flen);

    if (r <= 0)
        return r;
    memset(out, 0, sizeof(*out));
    end = pos + (size_t)flen;
    while (pos < end) {
        uint64_t id, v;

        if (fr_qvarint_get(d, end, &pos, &id) ||
            fr_qvarint_get(d, end, &pos, &v))
            return FR_ERR_PROTO;
        if (id == FR_H3_SETTING_ENABLE_CONNECT_PROTOCOL)
            out->connect_protocol = v == 1;
        else if ((id == FR_H3_SETTING_ENABLE_WEBTRANSPORT ||
                  id == FR_H3_SETTING_WT_MAX_SESSIONS_07 ||
                  id == FR_H3_SETTING_WT_MAX_SESSIONS) &&
                 v)
            out->webtransport = 1;
    }
    return 1;
}
