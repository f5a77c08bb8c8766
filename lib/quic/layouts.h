/*
 * lib/quic's public structs as the application built them (layout.h,
 * FR_LAYOUT_VERSION), for lib/quic and the modules above it that take
 * them from the application.
 */
#ifndef FR_QUIC_LAYOUTS_H
#define FR_QUIC_LAYOUTS_H

#include <fastrelay/quic.h>

/* The application's callbacks or settings of layout `version` as the
 * current layout (NULL callbacks, default settings past it): 0, or
 * FR_ERR_INVALID_ARGUMENT for an unknown layout. */
int fr_quic_take_callbacks(fr_quic_callbacks *dst,
                           const fr_quic_callbacks *src, int version);
int fr_quic_take_settings(fr_quic_settings *dst, const fr_quic_settings *src,
                          int version);

#endif
