/*
 * The public structs' layouts by FR_LAYOUT_VERSION (common.h): what the
 * functions that take or fill one use to read or write only the bytes of
 * the layout the application was built with.
 */
#ifndef FR_LAYOUT_H
#define FR_LAYOUT_H

#include <stddef.h>

/* A struct's size from layout version `since` on (until the next entry). */
typedef struct fr_layout {
    int since;
    size_t size;
} fr_layout;

/* A struct's layouts, oldest first, as the two arguments that follow. */
#define FR_LAYOUTS(table) (table), (sizeof(table) / sizeof((table)[0]))

/* The struct's size in layout `version`: 0 for a version below 1 or above
 * this library's FR_LAYOUT_VERSION. */
size_t fr_layout_size(const fr_layout *layouts, size_t n, int version);

/* Copies the struct's bytes of layout `version` from `src` to `dst`: from
 * the application's struct into the library's of the current layout
 * (which holds defaults for the fields appended since), or back, not a
 * byte past the application's. Returns 0, or FR_ERR_INVALID_ARGUMENT for
 * a version the library does not know (dst untouched). */
int fr_layout_copy(void *dst, const void *src, const fr_layout *layouts,
                   size_t n, int version);

/* The layout of a struct that has kept one since version 1. */
#define FR_LAYOUT_ONE(type) {{1, sizeof(type)}}

#endif
