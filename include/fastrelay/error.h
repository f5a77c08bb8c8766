/*
 * libfastrelay — error codes.
 *
 * Every function that can fail returns 0 (or a non-negative count) on success
 * and a negative FR_ERR_* code on failure. Codes at or below FR_ERR_FATAL
 * mean the object that returned them can no longer be used and must be
 * deleted.
 */
#ifndef FASTRELAY_ERROR_H
#define FASTRELAY_ERROR_H

#include <fastrelay/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro list: name, value, message. Appended only; values never change. */
#define FR_ERRORS_FOREACH(X)                                                  \
    X(FR_ERR_INVALID_ARGUMENT, -201, "invalid argument")                      \
    X(FR_ERR_NOBUF, -202, "buffer too small")                                 \
    X(FR_ERR_PROTO, -203, "protocol violation by peer")                       \
    X(FR_ERR_INVALID_STATE, -204, "operation not allowed in this state")      \
    X(FR_ERR_STREAM_LIMIT, -205, "stream limit reached; wait for credit")     \
    X(FR_ERR_STREAM_NOT_FOUND, -206, "no such stream")                        \
    X(FR_ERR_STREAM_SHUT_WR, -207, "stream already closed for writing")       \
    X(FR_ERR_DATAGRAM_UNSUPPORTED, -208,                                      \
      "peer does not accept datagrams")                                       \
    X(FR_ERR_DATAGRAM_TOO_LARGE, -209, "datagram larger than peer accepts")   \
    X(FR_ERR_QUEUE_FULL, -210, "send queue full")                             \
    X(FR_ERR_ADDRESS, -211, "cannot parse or resolve address")                \
    X(FR_ERR_SOCKET, -212, "socket error")                                    \
    X(FR_ERR_TLS, -213, "TLS error")                                          \
    X(FR_ERR_CERT, -214, "cannot load or generate certificate")               \
    X(FR_ERR_CONN_CLOSED, -215, "connection is closed")                       \
    X(FR_ERR_UNSUPPORTED, -216, "not supported")                              \
    X(FR_ERR_LIMIT, -217, "a fixed capacity is used up")                      \
    X(FR_ERR_BPF, -218, "cannot load, attach or update the BPF programs")     \
    X(FR_ERR_GOING_AWAY, -219, "the peer is going away (GOAWAY)")             \
    X(FR_ERR_CALLBACK_FAILURE, -501, "application callback failed")           \
    X(FR_ERR_NOMEM, -502, "out of memory")                                    \
    X(FR_ERR_INTERNAL, -503, "internal error")

enum fr_error {
#define FR_ERR_ENUM_(name, value, msg) name = value,
    FR_ERRORS_FOREACH(FR_ERR_ENUM_)
#undef FR_ERR_ENUM_
};

/* Codes at or below this value are fatal for the object that returned them. */
#define FR_ERR_FATAL (-500)

/* Returns a static, human-readable description of an FR_ERR_* code. */
FR_EXTERN const char *fr_strerror(int error_code);

/* Returns nonzero if error_code is fatal (<= FR_ERR_FATAL). */
FR_EXTERN int fr_err_is_fatal(int error_code);

#ifdef __cplusplus
}
#endif

#endif /* FASTRELAY_ERROR_H */
