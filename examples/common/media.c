/* Object payload format and synthetic video source. */
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "crc32c.h"
#include "errors.h"
#include "media.h"
#include "rng.h"

#define OFF_MAGIC 0
#define OFF_VERSION 2
#define OFF_FLAGS 3
#define OFF_SEQ 4
#define OFF_TS 12
#define OFF_GROUP 20
#define OFF_OBJECT 28
#define OFF_LEN 32
#define OFF_CRC 36

_Static_assert(OFF_CRC + 4 == FRT_MEDIA_HDR_LEN, "header layout");

uint64_t frt_media_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CRC of everything but the checksum field. */
static uint32_t payload_crc(const uint8_t *buf, size_t len)
{
    uint32_t crc = frt_crc32c(0, buf, OFF_CRC);
    return frt_crc32c(crc, buf + FRT_MEDIA_HDR_LEN, len - FRT_MEDIA_HDR_LEN);
}

static void put_header(uint8_t *buf, size_t len, const frt_obj_meta *m,
                       uint8_t flags)
{
    frt_store_le16(buf + OFF_MAGIC, FRT_MEDIA_MAGIC);
    buf[OFF_VERSION] = FRT_MEDIA_VERSION;
    buf[OFF_FLAGS] = flags;
    frt_store_le64(buf + OFF_SEQ, m->seq);
    frt_store_le64(buf + OFF_TS, m->send_ts_ns);
    frt_store_le64(buf + OFF_GROUP, m->group_id);
    frt_store_le32(buf + OFF_OBJECT, m->object_id);
    frt_store_le32(buf + OFF_LEN, (uint32_t)len);
}

int frt_media_fill(uint8_t *buf, size_t len, const frt_obj_meta *m)
{
    uint64_t state = m->seq;
    size_t off = FRT_MEDIA_HDR_LEN;

    if (len < FRT_MEDIA_HDR_LEN || len > UINT32_MAX)
        return FRT_ERR_RANGE;
    put_header(buf, len, m, m->flags & FRT_MEDIA_KEY);
    for (; off + 8 <= len; off += 8)
        frt_store_le64(buf + off, frt_splitmix64(&state));
    if (off < len) {
        uint8_t tail[8];
        frt_store_le64(tail, frt_splitmix64(&state));
        memcpy(buf + off, tail, len - off);
    }
    frt_store_le32(buf + OFF_CRC, payload_crc(buf, len));
    return 0;
}

int frt_media_check(const uint8_t *buf, size_t len, frt_obj_meta *out)
{
    uint8_t flags;

    if (len >= 2 && frt_load_le16(buf + OFF_MAGIC) != FRT_MEDIA_MAGIC)
        return FRT_ERR_FORMAT;
    if (len < FRT_MEDIA_HDR_LEN)
        return FRT_ERR_TRUNCATED;
    if (buf[OFF_VERSION] != FRT_MEDIA_VERSION)
        return FRT_ERR_UNSUPPORTED;
    flags = buf[OFF_FLAGS];
    if (flags & ~(FRT_MEDIA_KEY | FRT_MEDIA_FRAME))
        return FRT_ERR_FORMAT;
    if (frt_load_le32(buf + OFF_LEN) != len)
        return FRT_ERR_LENGTH;
    if (frt_load_le32(buf + OFF_CRC) != payload_crc(buf, len))
        return FRT_ERR_CHECKSUM;
    if (out) {
        out->seq = frt_load_le64(buf + OFF_SEQ);
        out->send_ts_ns = frt_load_le64(buf + OFF_TS);
        out->group_id = frt_load_le64(buf + OFF_GROUP);
        out->object_id = frt_load_le32(buf + OFF_OBJECT);
        out->len = (uint32_t)len;
        out->flags = flags;
    }
    return 0;
}

int frt_media_wrap(uint8_t *buf, size_t cap, const frt_obj_meta *m,
                   const uint8_t *frame, size_t framelen)
{
    size_t len = FRT_MEDIA_HDR_LEN + framelen;

    if (framelen > UINT32_MAX - FRT_MEDIA_HDR_LEN || len > cap)
        return FRT_ERR_RANGE;
    put_header(buf, len, m,
               (uint8_t)((m->flags & FRT_MEDIA_KEY) | FRT_MEDIA_FRAME));
    if (framelen > 0)
        memcpy(buf + FRT_MEDIA_HDR_LEN, frame, framelen);
    frt_store_le32(buf + OFF_CRC, payload_crc(buf, len));
    return 0;
}

int frt_media_unwrap(const uint8_t *buf, size_t len, frt_obj_meta *out,
                     const uint8_t **frame, size_t *framelen)
{
    frt_obj_meta m;
    int rc = frt_media_check(buf, len, &m);

    if (rc < 0)
        return rc;
    if (!(m.flags & FRT_MEDIA_FRAME))
        return FRT_ERR_FORMAT;
    if (out)
        *out = m;
    *frame = buf + FRT_MEDIA_HDR_LEN;
    *framelen = len - FRT_MEDIA_HDR_LEN;
    return 0;
}

int frt_synth_init(frt_synth *s, uint32_t fps, uint32_t gop,
                   uint64_t bitrate)
{
    uint64_t den, key_num;

    memset(s, 0, sizeof(*s));
    if (fps < 1 || fps > FRT_SYNTH_MAX_FPS || gop < 1 ||
        gop > FRT_SYNTH_MAX_GOP || bitrate < 1)
        return FRT_ERR_RANGE;
    den = 8ull * fps * (gop - 1 + FRT_SYNTH_KEY_WEIGHT);
    /* frt_synth_next() adds up to key_num to acc (< den): keep that in 64
     * bits, and the resulting key frame size in 32. */
    if (bitrate > (UINT64_MAX - den) / ((uint64_t)FRT_SYNTH_KEY_WEIGHT * gop))
        return FRT_ERR_RANGE;
    key_num = FRT_SYNTH_KEY_WEIGHT * bitrate * gop;
    if ((key_num + den - 1) / den > UINT32_MAX)
        return FRT_ERR_RANGE;
    s->fps = fps;
    s->gop = gop;
    s->bitrate = bitrate;
    s->den = den;
    return 0;
}

void frt_synth_next(frt_synth *s, frt_synth_frame *f)
{
    /* Frame i of a GOP gets weight w_i (key 5, delta 1) out of W = gop - 1 +
     * 5, so bytes_i = w_i * bitrate * gop / (8 * fps * W). acc carries the
     * fractional bytes so the GOP total is exact. */
    uint32_t object = (uint32_t)(s->tick % s->gop);
    uint64_t w = object == 0 ? FRT_SYNTH_KEY_WEIGHT : 1;
    uint64_t size;

    s->acc += w * s->bitrate * s->gop;
    size = s->acc / s->den;
    s->acc %= s->den;
    if (size < FRT_SYNTH_MIN_SIZE)
        size = FRT_SYNTH_MIN_SIZE;
    f->seq = s->tick;
    f->group_id = s->tick / s->gop;
    f->object_id = object;
    f->size = (uint32_t)size;
    f->pts_ns = s->tick / s->fps * 1000000000u +
                s->tick % s->fps * 1000000000u / s->fps;
    f->key = object == 0;
    f->priority = f->key ? FRT_SYNTH_PRIO_KEY : FRT_SYNTH_PRIO_DELTA;
    s->tick++;
}
