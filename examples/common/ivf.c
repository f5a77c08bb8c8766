/* IVF container reader and writer. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "errors.h"
#include "ivf.h"

#define IVF_MAGIC "DKIF"

static int reader_fail(frt_ivf_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a detailed message for err and returns err. */
static int reader_fail(frt_ivf_reader *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

/* Copies a fourcc into a printable string, replacing unprintable bytes. */
static void fourcc_str(const uint8_t *p, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[4] = '\0';
}

static int parse_header(frt_ivf_reader *r)
{
    uint8_t h[FRT_IVF_HEADER_SIZE];
    size_t n = fread(h, 1, sizeof(h), r->f);
    char cc[5];
    unsigned version, hdr_size;

    if (n < sizeof(h) && ferror(r->f))
        return reader_fail(r, FRT_ERR_IO, "cannot read the file header: %s",
                           strerror(errno));
    if (n >= 4 && memcmp(h, IVF_MAGIC, 4) != 0) {
        fourcc_str(h, cc);
        return reader_fail(r, FRT_ERR_FORMAT,
                           "bad magic \"%s\" (expected \"DKIF\"): "
                           "not an IVF file",
                           cc);
    }
    if (n < sizeof(h))
        return reader_fail(r, FRT_ERR_TRUNCATED,
                           "truncated file header: %zu of %d bytes", n,
                           FRT_IVF_HEADER_SIZE);
    version = frt_load_le16(h + 4);
    hdr_size = frt_load_le16(h + 6);
    if (version != 0)
        return reader_fail(r, FRT_ERR_UNSUPPORTED,
                           "unsupported IVF version %u (expected 0)",
                           version);
    if (hdr_size < FRT_IVF_HEADER_SIZE)
        return reader_fail(r, FRT_ERR_FORMAT,
                           "bad header size %u (at least %d expected)",
                           hdr_size, FRT_IVF_HEADER_SIZE);
    r->hdr.fourcc = frt_load_le32(h + 8);
    r->hdr.width = frt_load_le16(h + 12);
    r->hdr.height = frt_load_le16(h + 14);
    r->hdr.tb_den = frt_load_le32(h + 16);
    r->hdr.tb_num = frt_load_le32(h + 20);
    r->hdr.frame_count = frt_load_le32(h + 24);
    r->data_start = (long)hdr_size;
    /* A longer header is allowed: skip what we do not know. */
    if (hdr_size > FRT_IVF_HEADER_SIZE &&
        fseek(r->f, r->data_start, SEEK_SET) != 0)
        return reader_fail(r, FRT_ERR_IO, "cannot skip the file header: %s",
                           strerror(errno));
    return 0;
}

int frt_ivf_open(frt_ivf_reader *r, const char *path)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->f = fopen(path, "rb");
    if (!r->f)
        return reader_fail(r, FRT_ERR_IO, "%s", strerror(errno));
    rc = parse_header(r);
    if (rc < 0) {
        int saved = errno;
        fclose(r->f);
        r->f = NULL;
        errno = saved;
    }
    return rc;
}

int frt_ivf_read_frame(frt_ivf_reader *r, const uint8_t **data, size_t *len,
                       uint64_t *pts)
{
    uint8_t h[FRT_IVF_FRAME_HEADER_SIZE];
    size_t n = fread(h, 1, sizeof(h), r->f);
    uint32_t size;

    if (n < sizeof(h)) {
        if (ferror(r->f))
            return reader_fail(r, FRT_ERR_IO,
                               "cannot read frame %llu: %s",
                               (unsigned long long)r->frames,
                               strerror(errno));
        if (n == 0)
            return 0;
        return reader_fail(r, FRT_ERR_TRUNCATED,
                           "truncated header of frame %llu: %zu of %d bytes",
                           (unsigned long long)r->frames, n,
                           FRT_IVF_FRAME_HEADER_SIZE);
    }
    size = frt_load_le32(h);
    if (size > FRT_IVF_MAX_FRAME)
        return reader_fail(r, FRT_ERR_RANGE,
                           "frame %llu claims %u bytes (limit %u): "
                           "corrupt file",
                           (unsigned long long)r->frames, size,
                           FRT_IVF_MAX_FRAME);
    if (size > r->cap) {
        uint8_t *b = realloc(r->buf, size);
        if (!b)
            return reader_fail(r, FRT_ERR_NOMEM,
                               "no memory for a %u-byte frame", size);
        r->buf = b;
        r->cap = size;
    }
    n = size > 0 ? fread(r->buf, 1, size, r->f) : 0;
    if (n < size) {
        if (ferror(r->f))
            return reader_fail(r, FRT_ERR_IO, "cannot read frame %llu: %s",
                               (unsigned long long)r->frames,
                               strerror(errno));
        return reader_fail(r, FRT_ERR_TRUNCATED,
                           "truncated frame %llu: %zu of %u bytes",
                           (unsigned long long)r->frames, n, size);
    }
    *data = r->buf;
    *len = size;
    *pts = frt_load_le64(h + 4);
    r->frames++;
    return 1;
}

int frt_ivf_rewind(frt_ivf_reader *r)
{
    if (fseek(r->f, r->data_start, SEEK_SET) != 0)
        return reader_fail(r, FRT_ERR_IO, "cannot rewind: %s",
                           strerror(errno));
    clearerr(r->f);
    r->frames = 0;
    return 0;
}

const char *frt_ivf_reader_errmsg(const frt_ivf_reader *r)
{
    return r->errmsg;
}

void frt_ivf_close(frt_ivf_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    r->f = NULL;
    r->buf = NULL;
    r->cap = 0;
}

static void write_bytes(frt_ivf_writer *w, const void *p, size_t len)
{
    if (len > 0 && fwrite(p, 1, len, w->f) != len)
        w->failed = 1;
}

int frt_ivf_create(frt_ivf_writer *w, const char *path,
                   const frt_ivf_header *h)
{
    uint8_t b[FRT_IVF_HEADER_SIZE] = {0};

    memset(w, 0, sizeof(*w));
    w->f = fopen(path, "wb");
    if (!w->f)
        return FRT_ERR_IO;
    memcpy(b, IVF_MAGIC, 4);
    frt_store_le16(b + 4, 0);
    frt_store_le16(b + 6, FRT_IVF_HEADER_SIZE);
    frt_store_le32(b + 8, h->fourcc);
    frt_store_le16(b + 12, h->width);
    frt_store_le16(b + 14, h->height);
    frt_store_le32(b + 16, h->tb_den);
    frt_store_le32(b + 20, h->tb_num);
    /* Frame count (24) stays 0 until frt_ivf_finish(); 28 is unused. */
    write_bytes(w, b, sizeof(b));
    if (w->failed) {
        int saved = errno;
        fclose(w->f);
        w->f = NULL;
        errno = saved;
        return FRT_ERR_IO;
    }
    return 0;
}

int frt_ivf_write_frame(frt_ivf_writer *w, const uint8_t *data, size_t len,
                        uint64_t pts)
{
    uint8_t h[FRT_IVF_FRAME_HEADER_SIZE];

    if (len > UINT32_MAX || w->frames == UINT32_MAX)
        return FRT_ERR_RANGE;
    frt_store_le32(h, (uint32_t)len);
    frt_store_le64(h + 4, pts);
    write_bytes(w, h, sizeof(h));
    write_bytes(w, data, len);
    if (w->failed)
        return FRT_ERR_IO;
    w->frames++;
    return 0;
}

int frt_ivf_finish(frt_ivf_writer *w)
{
    uint8_t b[4];
    int failed;

    if (!w->f)
        return FRT_ERR_INVALID;
    frt_store_le32(b, w->frames);
    if (fseek(w->f, 24, SEEK_SET) != 0)
        w->failed = 1;
    else
        write_bytes(w, b, sizeof(b));
    failed = w->failed;
    if (fclose(w->f) != 0)
        failed = 1;
    w->f = NULL;
    return failed ? FRT_ERR_IO : 0;
}
