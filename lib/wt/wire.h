/*
 * WebTransport over HTTP/3 on the wire (draft-ietf-webtrans-http3): the
 * headers in front of a session's streams and datagrams, the mapping of
 * stream error codes into HTTP/3's space, and the WebTransport settings
 * added to an HTTP/3 SETTINGS frame. Pure functions over buffers.
 */
#ifndef FR_WT_WIRE_H
#define FR_WT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A unidirectional stream's type, a bidirectional stream's signal. */
#define FR_WT_UNI_STREAM_TYPE 0x54
#define FR_WT_BIDI_SIGNAL 0x41

/* HTTP/3 stream types and frames this layer looks at. */
#define FR_H3_CONTROL_STREAM 0x00
#define FR_H3_FRAME_SETTINGS 0x04

/* Settings: extended CONNECT (RFC 9220), HTTP datagrams (RFC 9297), and
 * WebTransport's: the draft-02 switch (what Chromium asks for by default)
 * and the session limits of drafts 07 and 13 on. */
#define FR_H3_SETTING_ENABLE_CONNECT_PROTOCOL 0x08
#define FR_H3_SETTING_H3_DATAGRAM 0x33
#define FR_H3_SETTING_ENABLE_WEBTRANSPORT 0x2b603742
#define FR_H3_SETTING_WT_MAX_SESSIONS_07 0xc671706a
#define FR_H3_SETTING_WT_MAX_SESSIONS 0x14e9cd29

/* Longest stream header: a type or signal and a session ID. */
#define FR_WT_STREAM_HEADER_MAX 16

/* Reads the header at the start of a stream (`bidi`: a signal, else a
 * type). Returns its length with *session_id set, 0 when d[0..len) ends
 * within it (more bytes needed), or FR_ERR_PROTO when the stream is not a
 * WebTransport stream (then it is HTTP/3's). */
ssize_t fr_wt_stream_header_parse(const uint8_t *d, size_t len, int bidi,
                                  uint64_t *session_id);

/* Writes the header of a stream we open; out has FR_WT_STREAM_HEADER_MAX
 * bytes. Returns its length. */
size_t fr_wt_stream_header_write(uint8_t *out, int bidi, uint64_t session_id);

/* A datagram's session: its quarter stream ID at the front. Returns the
 * length of that prefix with *session_id set, or FR_ERR_PROTO. */
ssize_t fr_wt_datagram_parse(const uint8_t *d, size_t len,
                             uint64_t *session_id);

/* Application error codes of a session's streams in HTTP/3's space and
 * back: fr_wt_code_from_h3 returns 0 with *code set, or FR_ERR_PROTO for
 * a code outside the range (or one of its reserved points). */
uint64_t fr_wt_code_to_h3(uint32_t code);
int fr_wt_code_from_h3(uint64_t h3, uint32_t *code);

/* Capsules on the CONNECT stream (RFC 9297 section 3.2) this layer
 * reads: WebTransport's session close (an error code and a message) and
 * drain. */
#define FR_WT_CAPSULE_CLOSE_SESSION 0x2843
#define FR_WT_CAPSULE_DRAIN_SESSION 0x78ae
#define FR_WT_CLOSE_MESSAGE_MAX 1024

/* Reads a capsule's type and value length at d[0..len). Returns the
 * header's length with *type and *value_len set, or 0 when more bytes
 * are needed. */
size_t fr_wt_capsule_header(const uint8_t *d, size_t len, uint64_t *type,
                            uint64_t *value_len);

/* Reads a CLOSE_WEBTRANSPORT_SESSION capsule's value v[0..len): returns 0
 * with *code and the message (*msg, *msg_len; UTF-8, not NUL-terminated)
 * set, or FR_ERR_PROTO when it is shorter than the code or the message is
 * over FR_WT_CLOSE_MESSAGE_MAX bytes. */
int fr_wt_close_session_parse(const uint8_t *v, size_t len, uint32_t *code,
                              const uint8_t **msg, size_t *msg_len);

/* Longest protocol name handled in wt-available-protocols/wt-protocol. */
#define FR_WT_PROTOCOL_MAX 32

/* Reads a Structured Field list of strings (wt-available-protocols,
 * RFC 8941; parameters ignored) and picks the first of ours[0..n) it
 * names. Returns its index, -1 when it names none of ours, or
 * FR_ERR_PROTO when the value is not such a list. */
int fr_wt_protocol_pick(const char *list, size_t len,
                        const char *const *ours, size_t n);

/* Reads a Structured Field string (wt-protocol) into out (cap bytes,
 * NUL-terminated). Returns 0 or FR_ERR_PROTO. */
int fr_wt_protocol_parse(const char *v, size_t len, char *out, size_t cap);

/* The start of a control stream, d[0..len): its type and its first frame,
 * SETTINGS. With the frame complete, writes the same bytes to out with
 * the `n` settings `add` (identifier, value) appended to the frame and
 * returns the length written, with *used set to the input it covers (the
 * rest follows unchanged). Returns 0 when the frame is not complete yet,
 * FR_ERR_PROTO when the bytes are not a control stream's start, and
 * FR_ERR_NOBUF when out is short. */
ssize_t fr_h3_settings_extend(const uint8_t *d, size_t len,
                              const uint64_t (*add)[2], size_t n,
                              uint8_t *out, size_t cap, size_t *used);

/* What a peer's SETTINGS say about extended CONNECT and WebTransport. */
typedef struct fr_h3_peer_settings {
    int connect_protocol; /* ENABLE_CONNECT_PROTOCOL = 1 */
    int webtransport;     /* any of WebTransport's settings, non-zero */
} fr_h3_peer_settings;

/* Reads the SETTINGS frame at the start of a peer's control stream,
 * d[0..len). Returns 1 with *out filled once the frame is whole, 0 when
 * more bytes are needed, FR_ERR_PROTO when they are not a control
 * stream's start. (nghttp3 1.8 reads the frame too, but on a client does
 * not report ENABLE_CONNECT_PROTOCOL.) */
int fr_h3_settings_scan(const uint8_t *d, size_t len,
                        fr_h3_peer_settings *out);

#endif
