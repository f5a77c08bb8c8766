/* A growable buffer for bytes of a stream not parsed yet (fr_moq_buf). */
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>

#include "session_internal.h"

int fr_moq_buf_append(fr_moq_buf *b, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *n;
        while (cap < b->len + len)
            cap *= 2;
        n = realloc(b->data, cap);
        if (!n)
            return FR_ERR_NOMEM;
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void fr_moq_buf_consume(fr_moq_buf *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void fr_moq_buf_free(fr_moq_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
