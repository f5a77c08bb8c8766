/*
 * Command-line helpers shared by fr-origin, fr-relay and fr-sub: parsing of
 * numeric option values with errors that name the option, and the version
 * line.
 *
 * Parsers take the option name (used only in messages, e.g. "--bitrate"),
 * its argument, and a buffer for an error message of one line without the
 * program name, for the caller to print as "fr-origin: <message>". They
 * return 0, FRT_ERR_INVALID (missing or malformed value) or FRT_ERR_RANGE
 * (well-formed but out of range); *out is only written on success and err
 * (may be NULL) only on failure.
 *
 * Numbers are plain decimal: no sign, no spaces, no hexadecimal. Bit rates
 * and durations may have a fraction ("1.5M", "0.25s") if the result is a
 * whole number of bit/s or ns.
 */
#ifndef FRT_CLI_H
#define FRT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A whole number in [min, max], e.g. --gop 30. */
int frt_cli_parse_uint(const char *flag, const char *arg, uint64_t min,
                       uint64_t max, uint64_t *out, char *err, size_t errlen);

/* A positive bit rate in bit/s with an optional SI suffix k or K (1e3), M
 * (1e6) or G (1e9): "500k", "2M", "1.5G", "64000". */
int frt_cli_parse_bitrate(const char *flag, const char *arg, uint64_t *bps,
                          char *err, size_t errlen);

/* A positive duration in ns with an optional suffix ns, us, ms, s, m
 * (minutes) or h; no suffix means seconds: "500ms", "15s", "2m", "10". */
int frt_cli_parse_duration(const char *flag, const char *arg, uint64_t *ns,
                           char *err, size_t errlen);

/* Prints "<prog> (libfastrelay) <version>\n" to f, e.g. for -V. */
void frt_cli_print_version(FILE *f, const char *prog, const char *version);

#endif
