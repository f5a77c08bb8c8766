/*
 * libfastrelay — logging.
 *
 * Objects take an fr_log in their settings. The library never writes to
 * stdout or stderr by itself; messages at or above `level` go to `fn`.
 */
#ifndef FASTRELAY_LOG_H
#define FASTRELAY_LOG_H

#include <fastrelay/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fr_log_level {
    FR_LOG_DEBUG = 0,
    FR_LOG_INFO = 1,
    FR_LOG_WARN = 2,
    FR_LOG_ERROR = 3,
    FR_LOG_NONE = 4
} fr_log_level;

/* Receives one complete message (no trailing newline). */
typedef void (*fr_log_fn)(fr_log_level level, const char *msg, void *user_data);

typedef struct fr_log {
    fr_log_fn fn;         /* NULL: discard every message */
    fr_log_level level;   /* minimum level delivered */
    void *user_data;
} fr_log;

/* A ready-made sink that writes "fastrelay: LEVEL: msg" lines to stderr. */
FR_EXTERN void fr_log_stderr(fr_log_level level, const char *msg,
                             void *user_data);

/* Returns "debug", "info", "warn" or "error". */
FR_EXTERN const char *fr_log_level_name(fr_log_level level);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_LOG_H */
