/*
 * decode.h - turning one message or line into a record.
 *
 * Every mode (run, process, replay, ingest) decodes through here, so bad
 * input is named the same way everywhere: a machine-readable reason code
 * and a human message. Nothing here aborts; the input buffer is only read.
 */
#ifndef WS_DECODE_H
#define WS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Reason codes (also the dead-letter header "ws.reason"). */
#define DECODE_EMPTY_MESSAGE     "empty_message"
#define DECODE_MESSAGE_TOO_LARGE "message_too_large"
#define DECODE_INVALID_UTF8      "invalid_utf8"
#define DECODE_NUL_BYTE          "nul_byte"
#define DECODE_INVALID_JSON      "invalid_json"
#define DECODE_NOT_OBJECT        "not_object"
#define DECODE_WRONG_TYPE        "wrong_type"
#define DECODE_MISSING_BODY      "missing_body"
#define DECODE_EMPTY_BODY        "empty_body"
#define DECODE_BODY_TOO_LARGE    "body_too_large"
#define DECODE_INVALID_DATE      "invalid_date"

struct decode_opts {
    enum input_format format;     /* INPUT_AUTO sniffs the first byte */
    size_t max_body_size;
    size_t max_message_size;
};

struct decode_error {
    const char *code;             /* one of the DECODE_* strings */
    char msg[256];
};

/* Returns a new record owned by the caller, or NULL with err filled. */
struct record *decode_article(const char *buf, size_t len,
                              const struct decode_opts *opts,
                              struct decode_error *err);

/* Parses an ISO 8601 date or date-time into Unix ms and a normalized UTC
 * string "YYYY-MM-DDTHH:MM:SSZ" (out: 21 bytes). 0 / -1. */
int decode_iso8601(const char *s, int64_t *ms, char out[32]);

/* Parses a command-line time: ISO 8601, Unix milliseconds, "now", or
 * "now-DURATION" (now-24h, now-90m). 0 / -1. */
int decode_time_arg(const char *s, int64_t now_ms, int64_t *ms);

/* Formats Unix ms as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void decode_format_ms(int64_t ms, char out[32]);

#endif
