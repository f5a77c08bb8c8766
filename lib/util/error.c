/* Error codes and their messages. */
#include <fastrelay/error.h>

const char *fr_strerror(int error_code)
{
    switch (error_code) {
    case 0:
        return "success";
#define FR_ERR_CASE_(name, value, msg)                                        \
    case name:                                                                \
        return msg;
        FR_ERRORS_FOREACH(FR_ERR_CASE_)
#undef FR_ERR_CASE_
    default:
        return "unknown error";
    }
}

int fr_err_is_fatal(int error_code)
{
    return error_code <= FR_ERR_FATAL;
}
