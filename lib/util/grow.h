/*
 * Growable arrays: room for one more element, doubling the allocation.
 */
#ifndef FR_GROW_H
#define FR_GROW_H

#include <stddef.h>

/* Makes room for element `n` of the array *arr, which holds *cap elements
 * of `size` bytes: when n == *cap it doubles (to `first` from none).
 * Returns 0, or FR_ERR_NOMEM with the array as it was. */
int fr_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first);

#endif
