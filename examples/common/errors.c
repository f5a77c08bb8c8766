/* Descriptions of the frtools error codes. */
#include "errors.h"

const char *frt_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case FRT_ERR_INVALID:
        return "invalid argument";
    case FRT_ERR_NOMEM:
        return "out of memory";
    case FRT_ERR_IO:
        return "I/O error";
    case FRT_ERR_FORMAT:
        return "malformed data";
    case FRT_ERR_TRUNCATED:
        return "truncated data";
    case FRT_ERR_UNSUPPORTED:
        return "unsupported format or version";
    case FRT_ERR_LENGTH:
        return "length mismatch";
    case FRT_ERR_CHECKSUM:
        return "checksum mismatch";
    case FRT_ERR_RANGE:
        return "value out of range";
    default:
        return "unknown error";
    }
}
