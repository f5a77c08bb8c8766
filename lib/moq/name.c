/* Track names: building them from strings, comparing, copying, printing
 * them, and their wire form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrelay/error.h>
#include <fastrelay/moq.h>

#include "session_internal.h"

int fr_moq_name_set(fr_moq_name *n, const char *ns_path, const char *track)
{
    const char *p = ns_path;

    if (!n || !ns_path || !track)
        return FR_ERR_INVALID_ARGUMENT;
    memset(n, 0, sizeof(*n));
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || n->nfields == FR_MOQ_MAX_NS_FIELDS)
            return FR_ERR_INVALID_ARGUMENT;
        n->ns[n->nfields].data = (const uint8_t *)p;
        n->ns[n->nfields].len = len;
        n->nfields++;
        p += len;
        if (*p == '/' && *++p == '\0')
            return FR_ERR_INVALID_ARGUMENT; /* trailing slash */
    }
    if (n->nfields == 0)
        return FR_ERR_INVALID_ARGUMENT;
    n->track.data = (const uint8_t *)track;
    n->track.len = strlen(track);
    return 0;
}

static int is_literal(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Appends one field in the draft's safe form; returns the new offset. */
static size_t put_field(char *buf, size_t buflen, size_t off,
                        const fr_moq_field *f)
{
    for (size_t i = 0; i < f->len && off + 4 < buflen; i++) {
        uint8_t c = f->data[i];
        if (is_literal(c))
            buf[off++] = (char)c;
        else
            off += (size_t)snprintf(buf + off, buflen - off, ".%02x", c);
    }
    return off;
}

const char *fr_moq_name_format(char *buf, size_t buflen, const fr_moq_name *n)
{
    size_t off = 0;

    if (buflen == 0)
        return buf;
    for (size_t i = 0; i < n->nfields; i++) {
        if (i > 0 && off + 1 < buflen)
            buf[off++] = '-';
        off = put_field(buf, buflen, off, &n->ns[i]);
    }
    if (off + 2 < buflen) {
        buf[off++] = '-';
        buf[off++] = '-';
    }
    off = put_field(buf, buflen, off, &n->track);
    buf[off < buflen ? off : buflen - 1] = '\0';
    return buf;
}

static int field_eq(const fr_moq_field *a, const fr_moq_field *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int fr_moq_name_eq(const fr_moq_name *a, const fr_moq_name *b)
{
    if (a->nfields != b->nfields || !field_eq(&a->track, &b->track))
        return 0;
    for (size_t i = 0; i < a->nfields; i++)
        if (!field_eq(&a->ns[i], &b->ns[i]))
            return 0;
    return 1;
}

int fr_moq_ns_covers(const fr_moq_name *ns, const fr_moq_name *name)
{
    if (ns->nfields > name->nfields)
        return 0;
    for (size_t i = 0; i < ns->nfields; i++)
        if (!field_eq(&ns->ns[i], &name->ns[i]))
            return 0;
    return 1;
}

int fr_moq_name_copy_set(fr_moq_name_copy *dst, const fr_moq_name *src)
{
    size_t total = src->track.len;
    uint8_t *p;

    for (size_t i = 0; i < src->nfields; i++)
        total += src->ns[i].len;
    dst->bytes = malloc(total ? total : 1);
    if (!dst->bytes)
        return FR_ERR_NOMEM;
    p = dst->bytes;
    dst->name.nfields = src->nfields;
    for (size_t i = 0; i < src->nfields; i++) {
        if (src->ns[i].len)
            memcpy(p, src->ns[i].data, src->ns[i].len);
        dst->name.ns[i].data = p;
        dst->name.ns[i].len = src->ns[i].len;
        p += src->ns[i].len;
    }
    if (src->track.len) /* empty for a namespace alone */
        memcpy(p, src->track.data, src->track.len);
    dst->name.track.data = p;
    dst->name.track.len = src->track.len;
    return 0;
}

void fr_moq_name_copy_free(fr_moq_name_copy *c)
{
    free(c->bytes);
    c->bytes = NULL;
}

void fr_moq_ns_from_wire(fr_moq_name *n, const fr_moq_namespace *ns)
{
    memset(n, 0, sizeof(*n));
    n->nfields = ns->nfields;
    for (size_t i = 0; i < ns->nfields; i++) {
        n->ns[i].data = ns->fields[i].base;
        n->ns[i].len = ns->fields[i].len;
    }
}

void fr_moq_ns_to_wire(fr_moq_namespace *ns, const fr_moq_name *n)
{
    ns->nfields = n->nfields;
    for (size_t i = 0; i < n->nfields; i++) {
        ns->fields[i].base = n->ns[i].data;
        ns->fields[i].len = n->ns[i].len;
    }
}

void fr_moq_name_from_wire(fr_moq_name *n, const fr_moq_track_ref *t)
{
    fr_moq_ns_from_wire(n, &t->ns);
    n->track.data = t->name.base;
    n->track.len = t->name.len;
}

void fr_moq_name_to_wire(fr_moq_track_ref *t, const fr_moq_name *n)
{
    fr_moq_ns_to_wire(&t->ns, n);
    t->name.base = n->track.data;
    t->name.len = n->track.len;
}
