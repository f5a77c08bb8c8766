/* Stream send buffer: a list of fixed blocks addressed by stream offset. */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "sbuf.h"

#define FR_SBUF_BLOCK_SIZE 16384

void fr_sbuf_init(fr_sbuf *sb)
{
    memset(sb, 0, sizeof(*sb));
}

void fr_sbuf_free(fr_sbuf *sb)
{
    fr_sbuf_block *b = sb->head;

    while (b) {
        fr_sbuf_block *next = b->next;
        free(b);
        b = next;
    }
    sb->head = sb->tail = NULL;
    sb->head_off = sb->end_off;
}

int fr_sbuf_append(fr_sbuf *sb, const uint8_t *data, size_t len)
{
    while (len > 0) {
        fr_sbuf_block *t = sb->tail;
        size_t n;

        if (!t || t->len == t->cap) {
            size_t cap = len > FR_SBUF_BLOCK_SIZE ? len : FR_SBUF_BLOCK_SIZE;
            fr_sbuf_block *b = malloc(sizeof(*b) + cap);
            if (!b)
                return FR_ERR_NOMEM;
            b->next = NULL;
            b->len = 0;
            b->cap = cap;
            if (t)
                t->next = b;
            else
                sb->head = b;
            sb->tail = t = b;
        }
        n = t->cap - t->len;
        if (n > len)
            n = len;
        memcpy(t->data + t->len, data, n);
        t->len += n;
        sb->end_off += n;
        data += n;
        len -= n;
    }
    return 0;
}

size_t fr_sbuf_peek(const fr_sbuf *sb, uint64_t off, uint64_t end,
                    struct iovec *v, size_t maxv)
{
    uint64_t boff = sb->head_off;
    size_t n = 0;

    for (fr_sbuf_block *b = sb->head; b && n < maxv && boff < end;
         b = b->next) {
        uint64_t bend = boff + b->len;
        if (off < bend && off < end) {
            size_t skip = off > boff ? (size_t)(off - boff) : 0;
            size_t cut = bend > end ? (size_t)(bend - end) : 0;
            v[n].iov_base = b->data + skip;
            v[n].iov_len = b->len - skip - cut;
            n++;
        }
        boff = bend;
    }
    return n;
}

void fr_sbuf_release(fr_sbuf *sb, uint64_t upto)
{
    while (sb->head && sb->head_off + sb->head->len <= upto) {
        fr_sbuf_block *b = sb->head;
        sb->head_off += b->len;
        sb->head = b->next;
        if (!sb->head)
            sb->tail = NULL;
        free(b);
    }
}
