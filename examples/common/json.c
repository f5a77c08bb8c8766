/* Streaming JSON writer. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "json.h"

#define JSON_BUF_MIN 256

static void set_err(frt_json *j, int err)
{
    if (!j->err)
        j->err = err;
}

static void emit(frt_json *j, const char *s, size_t n)
{
    if (j->err || n == 0)
        return;
    if (j->f) {
        if (fwrite(s, 1, n, j->f) != n)
            set_err(j, FRT_ERR_IO);
        return;
    }
    if (j->cap - j->len <= n) {
        size_t cap = j->cap ? j->cap : JSON_BUF_MIN;
        char *b;

        while (cap - j->len <= n)
            cap *= 2;
        b = realloc(j->buf, cap);
        if (!b) {
            set_err(j, FRT_ERR_NOMEM);
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void emit_str(frt_json *j, const char *s)
{
    emit(j, s, strlen(s));
}

/* Pretty mode: a line break and the indentation of the current level. */
static void newline(frt_json *j)
{
    if (!(j->flags & FRT_JSON_PRETTY))
        return;
    emit(j, "\n", 1);
    for (int i = 0; i < j->depth; i++)
        emit(j, "  ", 2);
}

/* Starts a new member of the current container: the separating comma and,
 * in pretty mode, the line break. */
static void start_member(frt_json *j)
{
    if (j->has_items[j->depth - 1])
        emit(j, ",", 1);
    j->has_items[j->depth - 1] = 1;
    newline(j);
}

/* Checks that a value may come now and writes what precedes it. Returns 0
 * to go on, -1 if the writer is in error. */
static int begin_value(frt_json *j)
{
    if (j->err)
        return -1;
    if (j->depth == 0) {
        if (j->done) {
            set_err(j, FRT_ERR_INVALID);
            return -1;
        }
    } else if (j->in_object[j->depth - 1]) {
        if (!j->after_key) {
            set_err(j, FRT_ERR_INVALID);
            return -1;
        }
        j->after_key = 0;
    } else {
        start_member(j);
    }
    return 0;
}

static void end_value(frt_json *j)
{
    if (j->depth == 0)
        j->done = 1;
}

static void init(frt_json *j, FILE *f, unsigned flags)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
    j->flags = flags;
}

void frt_json_init_file(frt_json *j, FILE *f, unsigned flags)
{
    init(j, f, flags);
}

void frt_json_init_buf(frt_json *j, unsigned flags)
{
    init(j, NULL, flags);
}

static void container_begin(frt_json *j, int object)
{
    if (begin_value(j) < 0)
        return;
    if (j->depth == FRT_JSON_MAX_DEPTH) {
        set_err(j, FRT_ERR_INVALID);
        return;
    }
    emit(j, object ? "{" : "[", 1);
    j->in_object[j->depth] = (uint8_t)object;
    j->has_items[j->depth] = 0;
    j->depth++;
}

static void container_end(frt_json *j, int object)
{
    if (j->err)
        return;
    if (j->depth == 0 || j->in_object[j->depth - 1] != object ||
        j->after_key) {
        set_err(j, FRT_ERR_INVALID);
        return;
    }
    j->depth--;
    if (j->has_items[j->depth])
        newline(j);
    emit(j, object ? "}" : "]", 1);
    end_value(j);
}

void frt_json_obj_begin(frt_json *j)
{
    container_begin(j, 1);
}

void frt_json_obj_end(frt_json *j)
{
    container_end(j, 1);
}

void frt_json_arr_begin(frt_json *j)
{
    container_begin(j, 0);
}

void frt_json_arr_end(frt_json *j)
{
    container_end(j, 0);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if the
 * bytes there do not start one. Rejects overlong forms, surrogates and
 * code points above U+10FFFF. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static void emit_string(frt_json *j, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of bytes to copy unchanged */
    size_t i = 0;

    emit(j, "\"", 1);
    while (i < n) {
        unsigned char c = s[i];
        char esc[8];
        size_t len = 1;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            len = utf8_seq_len(s + i, n - i);
            if (len > 0) {
                i += len;
                continue;
            }
            len = 1;
        }
        emit(j, str + run, i - run);
        switch (c) {
        case '"':
            emit(j, "\\\"", 2);
            break;
        case '\\':
            emit(j, "\\\\", 2);
            break;
        case '\b':
            emit(j, "\\b", 2);
            break;
        case '\f':
            emit(j, "\\f", 2);
            break;
        case '\n':
            emit(j, "\\n", 2);
            break;
        case '\r':
            emit(j, "\\r", 2);
            break;
        case '\t':
            emit(j, "\\t", 2);
            break;
        default:
            if (c >= 0x80) {
                emit(j, "\\ufffd", 6);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                emit(j, esc, 6);
            }
            break;
        }
        i += len;
        run = i;
    }
    emit(j, str + run, i - run);
    emit(j, "\"", 1);
}

void frt_json_key(frt_json *j, const char *key)
{
    if (j->err)
        return;
    if (j->depth == 0 || !j->in_object[j->depth - 1] || j->after_key) {
        set_err(j, FRT_ERR_INVALID);
        return;
    }
    start_member(j);
    emit_string(j, key, strlen(key));
    emit_str(j, j->flags & FRT_JSON_PRETTY ? ": " : ":");
    j->after_key = 1;
}

/* Writes a scalar's text as the next value. */
static void scalar(frt_json *j, const char *text)
{
    if (begin_value(j) < 0)
        return;
    emit_str(j, text);
    end_value(j);
}

void frt_json_strn(frt_json *j, const char *s, size_t len)
{
    if (begin_value(j) < 0)
        return;
    emit_string(j, s, len);
    end_value(j);
}

void frt_json_str(frt_json *j, const char *s)
{
    if (s)
        frt_json_strn(j, s, strlen(s));
    else
        frt_json_null(j);
}

void frt_json_u64(frt_json *j, uint64_t v)
{
    char b[24];

    snprintf(b, sizeof(b), "%" PRIu64, v);
    scalar(j, b);
}

void frt_json_i64(frt_json *j, int64_t v)
{
    char b[24];

    snprintf(b, sizeof(b), "%" PRId64, v);
    scalar(j, b);
}

void frt_json_double(frt_json *j, double v)
{
    char b[32];

    if (!isfinite(v)) {
        scalar(j, "null");
        return;
    }
    /* 15 significant digits, or more if needed to read back the same
     * double (17 always do). Starting at 15 keeps 100 from becoming
     * "1e+02" and prints 0.1 as "0.1". */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof(b), "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    scalar(j, b);
}

void frt_json_bool(frt_json *j, int v)
{
    scalar(j, v ? "true" : "false");
}

void frt_json_null(frt_json *j)
{
    scalar(j, "null");
}

void frt_json_kv_str(frt_json *j, const char *key, const char *s)
{
    frt_json_key(j, key);
    frt_json_str(j, s);
}

void frt_json_kv_u64(frt_json *j, const char *key, uint64_t v)
{
    frt_json_key(j, key);
    frt_json_u64(j, v);
}

void frt_json_kv_i64(frt_json *j, const char *key, int64_t v)
{
    frt_json_key(j, key);
    frt_json_i64(j, v);
}

void frt_json_kv_double(frt_json *j, const char *key, double v)
{
    frt_json_key(j, key);
    frt_json_double(j, v);
}

void frt_json_kv_bool(frt_json *j, const char *key, int v)
{
    frt_json_key(j, key);
    frt_json_bool(j, v);
}

int frt_json_finish(frt_json *j)
{
    if (!j->err && !j->done)
        set_err(j, FRT_ERR_INVALID);
    emit(j, "\n", 1);
    if (j->f && !j->err && fflush(j->f) != 0)
        set_err(j, FRT_ERR_IO);
    return j->err;
}

const char *frt_json_buf(const frt_json *j, size_t *len)
{
    if (len)
        *len = j->len;
    return j->buf ? j->buf : "";
}

void frt_json_free(frt_json *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
}
