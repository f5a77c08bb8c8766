/* Logging sinks. */
#include <stdarg.h>
#include <stdio.h>

#include "logf.h"

const char *fr_log_level_name(fr_log_level level)
{
    switch (level) {
    case FR_LOG_DEBUG:
        return "debug";
    case FR_LOG_INFO:
        return "info";
    case FR_LOG_WARN:
        return "warn";
    case FR_LOG_ERROR:
        return "error";
    default:
        return "none";
    }
}

void fr_log_stderr(fr_log_level level, const char *msg, void *user_data)
{
    (void)user_data;
    fprintf(stderr, "fastrelay: %s: %s\n", fr_log_level_name(level), msg);
}

void fr_logf(const fr_log *log, fr_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log->fn(level, msg, log->user_data);
}
