/*
 * A small streaming JSON writer, to a FILE * or to a growing memory buffer.
 *
 * Calls mirror the document: begin/end objects and arrays, a key before
 * each member value, values. Commas, and with FRT_JSON_PRETTY newlines and
 * indentation, are inserted automatically. Strings are escaped (quote,
 * backslash, control characters) and invalid UTF-8 bytes are replaced by
 * U+FFFD, so the output is valid JSON whatever the input strings hold.
 * Non-finite doubles are written as null.
 *
 * Misuse (a value without a key inside an object, a key outside one, an
 * unbalanced end, nesting deeper than FRT_JSON_MAX_DEPTH, a second top-level
 * value) makes the writer ignore further calls and frt_json_finish() return
 * FRT_ERR_INVALID; output already written stays.
 *
 *   frt_json j;
 *   frt_json_init_file(&j, stdout, 0);
 *   frt_json_obj_begin(&j);
 *   frt_json_kv_u64(&j, "objects", 42);
 *   frt_json_key(&j, "delay_us");
 *   frt_json_obj_begin(&j);
 *   frt_json_kv_u64(&j, "p50", 830);
 *   frt_json_obj_end(&j);
 *   frt_json_obj_end(&j);
 *   frt_json_finish(&j);      -> {"objects":42,"delay_us":{"p50":830}}\n
 */
#ifndef FRT_JSON_H
#define FRT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FRT_JSON_MAX_DEPTH 32

/* Flags. */
#define FRT_JSON_PRETTY 0x1 /* one member per line, 2-space indentation */

typedef struct frt_json {
    FILE *f;     /* output file, or NULL to write to buf */
    char *buf;   /* buffer mode: NUL-terminated output */
    size_t len;  /* bytes in buf */
    size_t cap;
    unsigned flags;
    int depth;   /* open containers */
    int err;     /* first error (FRT_ERR_*), 0 if none */
    int done;    /* the top-level value is complete */
    int after_key; /* a key was written, its value is due */
    uint8_t in_object[FRT_JSON_MAX_DEPTH]; /* container kind per level */
    uint8_t has_items[FRT_JSON_MAX_DEPTH]; /* level holds a member already */
} frt_json;

/* Starts a document written to f. */
void frt_json_init_file(frt_json *j, FILE *f, unsigned flags);

/* Starts a document written to memory; see frt_json_buf(). */
void frt_json_init_buf(frt_json *j, unsigned flags);

void frt_json_obj_begin(frt_json *j);
void frt_json_obj_end(frt_json *j);
void frt_json_arr_begin(frt_json *j);
void frt_json_arr_end(frt_json *j);

/* The key (not NULL) of the next member; only inside an object. */
void frt_json_key(frt_json *j, const char *key);

/* Values. A NULL string is written as null. */
void frt_json_str(frt_json *j, const char *s);
void frt_json_strn(frt_json *j, const char *s, size_t len);
void frt_json_u64(frt_json *j, uint64_t v);
void frt_json_i64(frt_json *j, int64_t v);
void frt_json_double(frt_json *j, double v); /* %.15g, exact to 17 */
void frt_json_bool(frt_json *j, int v);
void frt_json_null(frt_json *j);

/* Key and value in one call. */
void frt_json_kv_str(frt_json *j, const char *key, const char *s);
void frt_json_kv_u64(frt_json *j, const char *key, uint64_t v);
void frt_json_kv_i64(frt_json *j, const char *key, int64_t v);
void frt_json_kv_double(frt_json *j, const char *key, double v);
void frt_json_kv_bool(frt_json *j, const char *key, int v);

/*
 * Ends the document: checks that one complete value was written, then adds
 * a newline and, in file mode, flushes. Returns 0, FRT_ERR_INVALID (misuse
 * or incomplete document), FRT_ERR_NOMEM or FRT_ERR_IO. To write another
 * document (e.g. JSON lines), initialize j again (in buffer mode after
 * frt_json_free()).
 */
int frt_json_finish(frt_json *j);

/* Buffer mode: the NUL-terminated output so far ("" if none), its length
 * in *len if len is not NULL. Owned by j. */
const char *frt_json_buf(const frt_json *j, size_t *len);

/* Frees the buffer (buffer mode); does not close the file. */
void frt_json_free(frt_json *j);

#endif
