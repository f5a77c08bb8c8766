/* The public structs' layouts by version (layout.h). */
#include "layout.h"

#include <string.h>

#include <fastrelay/common.h>
#include <fastrelay/error.h>

size_t fr_layout_size(const fr_layout *layouts, size_t n, int version)
{
    size_t size = 0;

    if (version < 1 || version > FR_LAYOUT_VERSION)
        return 0;
    for (size_t i = 0; i < n && layouts[i].since <= version; i++)
        size = layouts[i].size;
    return size;
}

int fr_layout_copy(void *dst, const void *src, const fr_layout *layouts,
                   size_t n, int version)
{
    size_t size = fr_layout_size(layouts, n, version);

    if (size == 0)
        return FR_ERR_INVALID_ARGUMENT;
    memcpy(dst, src, size);
    return 0;
}
