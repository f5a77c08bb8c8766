/*
 * The media model of the example tools: the object payload format that lets
 * a subscriber verify every object end to end and measure its one-way delay,
 * and a deterministic synthetic video source.
 *
 * Object payload, version 1: a 40-byte header, all integers little-endian,
 *
 *    0  u16 magic 0x4D46 (the bytes "FM")
 *    2  u8  version (1)
 *    3  u8  flags: FRT_MEDIA_KEY, FRT_MEDIA_FRAME; other bits zero
 *    4  u64 sequence number: per track, +1 for every object sent
 *   12  u64 send time, ns of CLOCK_MONOTONIC (one clock for all network
 *           namespaces of a machine, so delay is comparable across them)
 *   20  u64 group id
 *   28  u32 object id within the group
 *   32  u32 payload length, header included
 *   36  u32 CRC-32C of the whole payload except these 4 bytes
 *
 * then the body: with FRT_MEDIA_FRAME, the bytes of a real encoded frame;
 * without it, filler generated from the sequence number. The filler makes
 * every object's body distinct, so a relay that pairs one object's header
 * with another's body fails the checksum like any other corruption.
 */
#ifndef FRT_MEDIA_H
#define FRT_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define FRT_MEDIA_HDR_LEN 40
#define FRT_MEDIA_MAGIC 0x4D46
#define FRT_MEDIA_VERSION 1

/* Header flags. */
#define FRT_MEDIA_KEY 0x01   /* the object is a key frame (set by caller) */
#define FRT_MEDIA_FRAME 0x02 /* the body is a wrapped frame, not filler */

typedef struct frt_obj_meta {
    uint64_t seq;
    uint64_t send_ts_ns;
    uint64_t group_id;
    uint32_t object_id;
    uint32_t len;  /* payload length; output only (set by check/unwrap) */
    uint8_t flags; /* FRT_MEDIA_KEY on input; check/unwrap report all */
} frt_obj_meta;

/* Current CLOCK_MONOTONIC time in ns: the clock of send_ts_ns. */
uint64_t frt_media_now_ns(void);

/*
 * Writes a synthetic payload of len bytes: the header from m (its len and
 * FRT_MEDIA_FRAME are ignored) and filler derived from m->seq. Returns 0, or
 * FRT_ERR_RANGE if len is below FRT_MEDIA_HDR_LEN or above UINT32_MAX.
 */
int frt_media_fill(uint8_t *buf, size_t len, const frt_obj_meta *m);

/*
 * Verifies a payload of either kind and decodes its header into *out (may
 * be NULL). Returns 0 or, checked in this order:
 *   FRT_ERR_FORMAT       bad magic
 *   FRT_ERR_TRUNCATED    shorter than the header
 *   FRT_ERR_UNSUPPORTED  another version
 *   FRT_ERR_FORMAT       unknown flags
 *   FRT_ERR_LENGTH       the length field differs from len
 *   FRT_ERR_CHECKSUM     corrupted
 */
int frt_media_check(const uint8_t *buf, size_t len, frt_obj_meta *out);

/*
 * Writes a payload wrapping one encoded frame: the header from m (plus
 * FRT_MEDIA_FRAME) followed by the frame bytes, FRT_MEDIA_HDR_LEN + framelen
 * bytes in all. Returns 0, or FRT_ERR_RANGE if that exceeds cap or
 * UINT32_MAX.
 */
int frt_media_wrap(uint8_t *buf, size_t cap, const frt_obj_meta *m,
                   const uint8_t *frame, size_t framelen);

/*
 * Verifies a wrapped-frame payload like frt_media_check() and points *frame
 * at the frame bytes inside buf, *framelen at their count. Returns what
 * frt_media_check() does, or FRT_ERR_FORMAT for a synthetic payload.
 */
int frt_media_unwrap(const uint8_t *buf, size_t len, frt_obj_meta *out,
                     const uint8_t **frame, size_t *framelen);

/*
 * Synthetic video: fixed-rate frames in groups of `gop` objects, each group
 * starting with a key frame 5 times the size of a delta frame. Sizes come
 * from an exact integer budget, so over every whole GOP they add up to
 * bitrate * gop / fps / 8 bytes (to the byte, remainders carried), except
 * that no frame is smaller than FRT_SYNTH_MIN_SIZE: below roughly
 * FRT_SYNTH_MIN_SIZE * 8 * fps bit/s this floor raises the rate.
 *
 * Priority hints follow MoQT (lower is more important): key frames get
 * FRT_SYNTH_PRIO_KEY, delta frames FRT_SYNTH_PRIO_DELTA.
 */
#define FRT_SYNTH_MIN_SIZE 64
#define FRT_SYNTH_KEY_WEIGHT 5
#define FRT_SYNTH_PRIO_KEY 0
#define FRT_SYNTH_PRIO_DELTA 128
#define FRT_SYNTH_MAX_FPS 1000
#define FRT_SYNTH_MAX_GOP 100000

typedef struct frt_synth {
    uint32_t fps;
    uint32_t gop;
    uint64_t bitrate;
    uint64_t den;  /* 8 * fps * (gop - 1 + FRT_SYNTH_KEY_WEIGHT) */
    uint64_t acc;  /* budget carried to the next frame, in bytes * den */
    uint64_t tick; /* frames produced */
} frt_synth;

typedef struct frt_synth_frame {
    uint64_t seq;      /* frame index from 0 (the object sequence number) */
    uint64_t group_id; /* seq / gop */
    uint32_t object_id; /* seq % gop; 0 is the key frame */
    uint32_t size;     /* payload bytes, header included */
    uint64_t pts_ns;   /* due time after the first frame: seq * 1e9 / fps */
    uint8_t priority;  /* FRT_SYNTH_PRIO_KEY or FRT_SYNTH_PRIO_DELTA */
    uint8_t key;       /* 1 for the first object of each group */
} frt_synth_frame;

/*
 * Starts a source. Returns 0, or FRT_ERR_RANGE unless 1 <= fps <=
 * FRT_SYNTH_MAX_FPS, 1 <= gop <= FRT_SYNTH_MAX_GOP, bitrate >= 1 and a key
 * frame fits in UINT32_MAX bytes.
 */
int frt_synth_init(frt_synth *s, uint32_t fps, uint32_t gop,
                   uint64_t bitrate);

/* Produces the next frame's description. */
void frt_synth_next(frt_synth *s, frt_synth_frame *f);

#endif
