/*
 * Error codes of the example tools library (frtools): one negative code
 * space shared by every module. Functions return 0 (or a non-negative count)
 * on success and one of these on failure.
 */
#ifndef FRT_ERRORS_H
#define FRT_ERRORS_H

enum {
    FRT_ERR_INVALID = -1,     /* invalid argument or API misuse */
    FRT_ERR_NOMEM = -2,       /* out of memory */
    FRT_ERR_IO = -3,          /* I/O error; errno holds the cause */
    FRT_ERR_FORMAT = -4,      /* malformed input (bad magic, bad syntax) */
    FRT_ERR_TRUNCATED = -5,   /* input ends in the middle of a structure */
    FRT_ERR_UNSUPPORTED = -6, /* well-formed but unsupported (version) */
    FRT_ERR_LENGTH = -7,      /* length field disagrees with the data */
    FRT_ERR_CHECKSUM = -8,    /* checksum mismatch: data corrupted */
    FRT_ERR_RANGE = -9,       /* value out of the allowed range */
};

/* Returns a static English description of err ("success" for 0). */
const char *frt_strerror(int err);

#endif
