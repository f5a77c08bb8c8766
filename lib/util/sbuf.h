/*
 * Send buffer of one stream: bytes written by the application and not yet
 * acknowledged by the peer, addressed by absolute stream offset. Data never
 * moves once written, because ngtcp2 keeps pointers into it until the peer
 * acknowledges it.
 */
#ifndef FR_SBUF_H
#define FR_SBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct fr_sbuf_block {
    struct fr_sbuf_block *next;
    size_t len;
    size_t cap;
    uint8_t data[];
} fr_sbuf_block;

typedef struct fr_sbuf {
    fr_sbuf_block *head;
    fr_sbuf_block *tail;
    uint64_t head_off; /* stream offset of head->data[0] */
    uint64_t end_off;  /* stream offset one past the last byte written */
} fr_sbuf;

void fr_sbuf_init(fr_sbuf *sb);
void fr_sbuf_free(fr_sbuf *sb);

/* Appends a copy of data. Returns 0 or FR_ERR_NOMEM. */
int fr_sbuf_append(fr_sbuf *sb, const uint8_t *data, size_t len);

/* Fills up to maxv iovecs covering [off, min(end, end_off)). Returns how
 * many. */
size_t fr_sbuf_peek(const fr_sbuf *sb, uint64_t off, uint64_t end,
                    struct iovec *v, size_t maxv);

/* Frees every block lying wholly below offset `upto`. */
void fr_sbuf_release(fr_sbuf *sb, uint64_t upto);

/* Bytes held (written and not released). */
static inline uint64_t fr_sbuf_held(const fr_sbuf *sb)
{
    return sb->end_off - sb->head_off;
}

#endif
