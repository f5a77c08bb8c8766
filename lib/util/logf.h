/* Internal logging helpers: format a message and pass it to an fr_log. */
#ifndef FR_UTIL_LOGF_H
#define FR_UTIL_LOGF_H

#include <fastrelay/log.h>

void fr_logf(const fr_log *log, fr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int fr_log_enabled(const fr_log *log, fr_log_level level)
{
    return log->fn && level >= log->level && level < FR_LOG_NONE;
}

#define FR_LOGF(log, lvl, ...)                                                \
    do {                                                                      \
        if (fr_log_enabled((log), (lvl)))                                     \
            fr_logf((log), (lvl), __VA_ARGS__);                               \
    } while (0)

#define FR_DEBUG(log, ...) FR_LOGF(log, FR_LOG_DEBUG, __VA_ARGS__)
#define FR_INFO(log, ...) FR_LOGF(log, FR_LOG_INFO, __VA_ARGS__)
#define FR_WARN(log, ...) FR_LOGF(log, FR_LOG_WARN, __VA_ARGS__)
#define FR_ERROR(log, ...) FR_LOGF(log, FR_LOG_ERROR, __VA_ARGS__)

#endif
