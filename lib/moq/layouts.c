/* lib/moq's public structs by layout (layouts.h). */
#include "layouts.h"

#include <stddef.h>
#include <string.h>

#include "../util/layout.h"

static const fr_layout callbacks_layouts[] = FR_LAYOUT_ONE(fr_moq_callbacks);
static const fr_layout endpoint_callbacks_layouts[] =
    FR_LAYOUT_ONE(fr_moq_endpoint_callbacks);
static const fr_layout settings_layouts[] = {
    {1, offsetof(fr_moq_settings, webtransport_path)},
    {3, sizeof(fr_moq_settings)},
};

int fr_moq_take_callbacks(fr_moq_callbacks *dst, const fr_moq_callbacks *src,
                          int version)
{
    memset(dst, 0, sizeof(*dst));
    return fr_layout_copy(dst, src, FR_LAYOUTS(callbacks_layouts), version);
}

int fr_moq_take_endpoint_callbacks(fr_moq_endpoint_callbacks *dst,
                                   const fr_moq_endpoint_callbacks *src,
                                   int version)
{
    memset(dst, 0, sizeof(*dst));
    return fr_layout_copy(dst, src, FR_LAYOUTS(endpoint_callbacks_layouts),
                          version);
}

int fr_moq_take_settings(fr_moq_settings *dst, const fr_moq_settings *src,
                         int version)
{
    fr_moq_settings_default(dst);
    return fr_layout_copy(dst, src, FR_LAYOUTS(settings_layouts), version);
}

int fr_moq_give_settings(fr_moq_settings *dst, const fr_moq_settings *src,
                         int version)
{
    return fr_layout_copy(dst, src, FR_LAYOUTS(settings_layouts), version);
}
