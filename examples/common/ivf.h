/*
 * IVF files: the simple container libvpx, libaom and ffmpeg write for VP8,
 * VP9 and AV1 elementary streams.
 *
 * Layout (all integers little-endian):
 *
 *   file header, 32 bytes:
 *     0  "DKIF"                     16  u32 timebase denominator
 *     4  u16 version (0)            20  u32 timebase numerator
 *     6  u16 header size (32)       24  u32 frame count
 *     8  fourcc ("VP80", ...)       28  u32 unused
 *    12  u16 width, 14 u16 height
 *   then per frame: u32 frame size, u64 timestamp (in timebase units),
 *   and the frame bytes.
 *
 * The timebase is numerator/denominator seconds, e.g. 1/25 for 25 fps with
 * one tick per frame. For AV1 a frame is a temporal unit (a sequence of
 * OBUs, each with a size field); for VP9 it may be a superframe.
 */
#ifndef FRT_IVF_H
#define FRT_IVF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A fourcc as stored in the file: the first character in the low byte. */
#define FRT_FOURCC(a, b, c, d)                                              \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 |                 \
     (uint32_t)(uint8_t)(c) << 16 | (uint32_t)(uint8_t)(d) << 24)
#define FRT_FOURCC_VP8 FRT_FOURCC('V', 'P', '8', '0')
#define FRT_FOURCC_VP9 FRT_FOURCC('V', 'P', '9', '0')
#define FRT_FOURCC_AV1 FRT_FOURCC('A', 'V', '0', '1')

#define FRT_IVF_HEADER_SIZE 32
#define FRT_IVF_FRAME_HEADER_SIZE 12
/* Largest frame the reader accepts; a bigger size field means a corrupt
 * file rather than a real frame. */
#define FRT_IVF_MAX_FRAME (64u << 20)

typedef struct frt_ivf_header {
    uint32_t fourcc;
    uint16_t width;
    uint16_t height;
    uint32_t tb_den;      /* timebase denominator, e.g. 25 */
    uint32_t tb_num;      /* timebase numerator, e.g. 1 */
    uint32_t frame_count; /* as stored; may be 0 or stale in live files */
} frt_ivf_header;

/* Reader state. Fields are read-only for callers. */
typedef struct frt_ivf_reader {
    FILE *f;
    frt_ivf_header hdr;
    long data_start;  /* file offset of the first frame header */
    uint64_t frames;  /* frames returned so far since open or rewind */
    uint8_t *buf;     /* holds the frame last returned */
    size_t cap;
    char errmsg[192]; /* detail of the last error, "" if none */
} frt_ivf_reader;

/*
 * Opens path and reads and validates the file header into r->hdr. Returns 0,
 * FRT_ERR_IO (cannot open or read; errno set), FRT_ERR_FORMAT (not an IVF
 * file, or header size below 32), FRT_ERR_UNSUPPORTED (version other than
 * 0) or FRT_ERR_TRUNCATED (file shorter than its header). On failure
 * frt_ivf_reader_errmsg() says what was wrong and nothing needs closing.
 */
int frt_ivf_open(frt_ivf_reader *r, const char *path);

/*
 * Reads the next frame. On success returns 1 and points *data at the frame
 * bytes (valid until the next call on r), with *len and *pts set. Returns 0
 * at the clean end of the file, or FRT_ERR_TRUNCATED (file ends inside a
 * frame), FRT_ERR_RANGE (frame size above FRT_IVF_MAX_FRAME), FRT_ERR_NOMEM
 * or FRT_ERR_IO.
 */
int frt_ivf_read_frame(frt_ivf_reader *r, const uint8_t **data, size_t *len,
                       uint64_t *pts);

/* Goes back to the first frame (to loop a file). Returns 0 or FRT_ERR_IO. */
int frt_ivf_rewind(frt_ivf_reader *r);

/* Detail of the last error on r, e.g. "bad magic \"RIFF\": not an IVF
 * file", or "" if there was none. */
const char *frt_ivf_reader_errmsg(const frt_ivf_reader *r);

/* Closes the file and frees the frame buffer. Safe on a zeroed reader. */
void frt_ivf_close(frt_ivf_reader *r);

/* Writer state. Fields are read-only for callers. */
typedef struct frt_ivf_writer {
    FILE *f;
    uint32_t frames; /* frames written so far */
    int failed;      /* a write failed; frt_ivf_finish() reports it */
} frt_ivf_writer;

/*
 * Creates (truncates) path and writes the file header from h; h->frame_count
 * is ignored and written as 0 until frt_ivf_finish(). Returns 0 or
 * FRT_ERR_IO (errno set).
 */
int frt_ivf_create(frt_ivf_writer *w, const char *path,
                   const frt_ivf_header *h);

/* Appends one frame. Returns 0, FRT_ERR_RANGE (len above UINT32_MAX or too
 * many frames) or FRT_ERR_IO. */
int frt_ivf_write_frame(frt_ivf_writer *w, const uint8_t *data, size_t len,
                        uint64_t pts);

/*
 * Rewrites the frame count in the file header and closes the file. Returns 0,
 * or FRT_ERR_IO if this or any earlier write failed (the file is closed
 * either way).
 */
int frt_ivf_finish(frt_ivf_writer *w);

/*
 * Tells whether a frame read from an IVF file with this fourcc is a key
 * frame, i.e. one a decoder can start from:
 *   VP8: frame tag bit 0 is 0, and the key-frame start code follows.
 *   VP9: the first frame of the (super)frame has frame_type KEY_FRAME and is
 *        not a show_existing_frame.
 *   AV1: the temporal unit holds a sequence header OBU, or its first frame
 *        header has frame_type KEY_FRAME. A shown existing frame does not
 *        count (it needs decoder state to classify).
 * Returns 1 for a key frame, 0 for another frame, FRT_ERR_FORMAT if the
 * bytes are malformed for the codec, FRT_ERR_UNSUPPORTED for another fourcc.
 */
int frt_ivf_is_key_frame(uint32_t fourcc, const uint8_t *frame, size_t len);

#endif
