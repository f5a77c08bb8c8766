/*
 * fr-tap's opening of encrypted packets (--keys): the key log that
 * FR_QUIC_KEYLOG makes the tools write (lib/quic/keylog.c), and, for each
 * raw record of tap.bpf.c, the same CSV lines the cleartext tap writes.
 * Only what the benchmark needs: ChaCha20-Poly1305, generation 0, the
 * plaintext's first bytes (no tag check: nothing is trusted from it but
 * timing).
 */
#ifndef FR_TAP_KEYS_H
#define FR_TAP_KEYS_H

#include <stddef.h>
#include <stdio.h>

#include "tap_kern_user.h"

typedef struct tap_keys tap_keys;

/* The key log at `path` (read again whenever a packet's DCID is not in
 * it yet), for DCIDs of dcid_len bytes. NULL when out of memory. */
tap_keys *tap_keys_new(const char *path, size_t dcid_len);
void tap_keys_del(tap_keys *t);

/* Writes a CSV line per STREAM frame of record r whose header is in its
 * captured bytes. Returns how many, or -1 when no key matches its DCID. */
int tap_keys_lines(tap_keys *t, const struct fr_tap_raw *r, FILE *out);

#endif
