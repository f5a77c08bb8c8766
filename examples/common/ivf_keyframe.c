/*
 * Key-frame detection from VP8, VP9 and AV1 frame bytes, reading only the
 * first header bits each codec defines (VP8: RFC 6386 section 9.1; VP9:
 * bitstream specification 6.2 and annex B; AV1: specification 5.3 and 5.9).
 */
#include <stdint.h>

#include "errors.h"
#include "ivf.h"

/* MSB-first bit reader over a byte range. */
typedef struct bitreader {
    const uint8_t *p;
    size_t len;
    size_t bit; /* next bit to read */
} bitreader;

/* Reads n (<= 32) bits. Returns -1 if the data ends first. */
static int64_t read_bits(bitreader *br, unsigned n)
{
    uint32_t v = 0;

    if (br->bit + n > br->len * 8)
        return -1;
    for (unsigned i = 0; i < n; i++, br->bit++)
        v = v << 1 | ((br->p[br->bit / 8] >> (7 - br->bit % 8)) & 1);
    return v;
}

static int vp8_is_key(const uint8_t *f, size_t len)
{
    /* 3-byte frame tag; bit 0 is 0 for key frames, which continue with the
     * start code 9d 01 2a and 4 bytes of dimensions. */
    if (len < 3)
        return FRT_ERR_FORMAT;
    if (f[0] & 1)
        return 0;
    if (len < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a)
        return FRT_ERR_FORMAT;
    return 1;
}

/* Length of the first frame of a VP9 superframe (0 if that is not within
 * the frame data), or len if the data is a single frame. Annex B: the index
 * at the end starts and ends with a marker byte 110mmfff (frame-size bytes
 * mm+1, frames fff+1) and lists each frame's size little-endian. */
static size_t vp9_first_frame_len(const uint8_t *f, size_t len)
{
    uint8_t marker = f[len - 1];
    size_t frames, mag, index_len, first = 0;

    if ((marker & 0xe0) != 0xc0)
        return len;
    frames = (size_t)(marker & 7) + 1;
    mag = (size_t)((marker >> 3) & 3) + 1;
    index_len = 2 + mag * frames;
    if (len < index_len || f[len - index_len] != marker)
        return len;
    for (size_t i = 0; i < mag; i++)
        first |= (size_t)f[len - index_len + 1 + i] << (8 * i);
    return first <= len - index_len ? first : 0;
}

static int vp9_is_key(const uint8_t *f, size_t len)
{
    bitreader br = {f, 0, 0};
    int64_t b;

    if (len == 0)
        return FRT_ERR_FORMAT;
    br.len = vp9_first_frame_len(f, len);
    if (br.len == 0)
        return FRT_ERR_FORMAT;
    /* frame_marker f(2) == 2, profile_low_bit, profile_high_bit; profile 3
     * adds reserved_zero. */
    b = read_bits(&br, 4);
    if (b >> 2 != 2)
        return FRT_ERR_FORMAT;
    if ((b & 3) == 3 && read_bits(&br, 1) != 0)
        return FRT_ERR_FORMAT;
    switch (read_bits(&br, 1)) { /* show_existing_frame */
    case 1:
        return 0;
    case 0:
        break;
    default:
        return FRT_ERR_FORMAT;
    }
    switch (read_bits(&br, 1)) { /* frame_type: 0 is KEY_FRAME */
    case 1:
        return 0;
    case 0:
        break;
    default:
        return FRT_ERR_FORMAT;
    }
    /* Skip show_frame and error_resilient_mode; check frame_sync_code. */
    if (read_bits(&br, 2) < 0 || read_bits(&br, 24) != 0x498342)
        return FRT_ERR_FORMAT;
    return 1;
}

enum {
    OBU_SEQUENCE_HEADER = 1,
    OBU_FRAME_HEADER = 3,
    OBU_FRAME = 6,
};

/* Reads a leb128 value of at most 8 bytes and below 2^32 (AV1 4.10.5).
 * Returns the bytes consumed, or 0 if malformed or truncated. */
static size_t read_leb128(const uint8_t *p, size_t len, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < 8 && i < len; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            return *v <= UINT32_MAX ? i + 1 : 0;
    }
    return 0;
}

static int av1_is_key(const uint8_t *f, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        uint8_t h = f[pos];
        unsigned type = (h >> 3) & 0xf;
        uint64_t size;
        bitreader br;

        if (h & 0x80) /* obu_forbidden_bit */
            return FRT_ERR_FORMAT;
        pos += (h & 0x04) ? 2 : 1; /* obu_extension_flag adds a byte */
        if (pos > len)
            return FRT_ERR_FORMAT;
        if (h & 0x02) { /* obu_has_size_field */
            size_t n = read_leb128(f + pos, len - pos, &size);
            if (n == 0)
                return FRT_ERR_FORMAT;
            pos += n;
            if (size > len - pos)
                return FRT_ERR_FORMAT;
        } else {
            size = len - pos; /* the OBU runs to the end of the unit */
        }
        switch (type) {
        case OBU_SEQUENCE_HEADER:
            return 1;
        case OBU_FRAME_HEADER:
        case OBU_FRAME:
            /* uncompressed_header(): show_existing_frame f(1), then
             * frame_type f(2), 0 being KEY_FRAME. (A reduced still-picture
             * header has neither field, but such a stream is one frame in
             * the temporal unit holding its sequence header, seen first.) */
            br = (bitreader){f + pos, (size_t)size, 0};
            switch (read_bits(&br, 1)) {
            case 1:
                return 0;
            case 0:
                break;
            default:
                return FRT_ERR_FORMAT;
            }
            switch (read_bits(&br, 2)) {
            case 0:
                return 1;
            case -1:
                return FRT_ERR_FORMAT;
            default:
                return 0;
            }
        default:
            break;
        }
        pos += (size_t)size;
    }
    return 0;
}

int frt_ivf_is_key_frame(uint32_t fourcc, const uint8_t *frame, size_t len)
{
    switch (fourcc) {
    case FRT_FOURCC_VP8:
        return vp8_is_key(frame, len);
    case FRT_FOURCC_VP9:
        return vp9_is_key(frame, len);
    case FRT_FOURCC_AV1:
        return av1_is_key(frame, len);
    default:
        return FRT_ERR_UNSUPPORTED;
    }
}
