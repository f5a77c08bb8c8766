/*
 * lib/moq's public structs as the application built them (layout.h,
 * FR_LAYOUT_VERSION): each function copies the bytes of layout `version`
 * into the current layout (NULL callbacks, default settings past them), or
 * the current layout's into the application's (`give`). 0, or
 * FR_ERR_INVALID_ARGUMENT for an unknown layout.
 */
#ifndef FR_MOQ_LAYOUTS_H
#define FR_MOQ_LAYOUTS_H

#include <fastrelay/moq.h>

int fr_moq_take_callbacks(fr_moq_callbacks *dst, const fr_moq_callbacks *src,
                          int version);
int fr_moq_take_endpoint_callbacks(fr_moq_endpoint_callbacks *dst,
                                   const fr_moq_endpoint_callbacks *src,
                                   int version);
int fr_moq_take_settings(fr_moq_settings *dst, const fr_moq_settings *src,
                         int version);
int fr_moq_give_settings(fr_moq_settings *dst, const fr_moq_settings *src,
                         int version);

#endif
