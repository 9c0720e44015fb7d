/*
 * decode.c - JSON (ninjs-style) and plain-text articles into records.
 *
 * Checks run cheapest first and each failure has its own reason code, so a
 * dead-letter consumer can count why input is bad without parsing prose.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "decode.h"
#include "text.h"

static void fail(struct decode_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct decode_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    size_t len, at;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* The message quotes input (Jansson's "near '...'", a bad date) and may
     * be cut inside a character; it ends up in JSON (stderr, dead-letter
     * headers), so it must be valid UTF-8: each bad byte becomes '?'. */
    len = strlen(err->msg);
    while (!text_utf8_valid(err->msg, len, &at))
        err->msg[at] = '?';
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), timezone-free. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

void decode_format_ms(int64_t ms, char out[32])
{
    /* Floor division: -1 ms is 23:59:59.999 of the day before the epoch. */
    int64_t s = ms / 1000 - (ms % 1000 < 0);
    time_t sec = (time_t)s;
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms - s * 1000));
}

int decode_iso8601(const char *s, int64_t *ms, char out[32])
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_min = 0;
    const char *p = s;

    if (digits(p, 4, &y) < 0 || p[4] != '-' || digits(p + 5, 2, &mo) < 0 || p[7] != '-' ||
        digits(p + 8, 2, &d) < 0)
        return -1;
    p += 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(p, 2, &h) < 0 || p[2] != ':' || digits(p + 3, 2, &mi) < 0)
            return -1;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec) < 0)
                return -1;
            p += 3;
            if (*p == '.' || *p == ',') {
                int scale = 100;
                p++;
                if (!isdigit((unsigned char)*p))
                    return -1;
                while (isdigit((unsigned char)*p)) {
                    frac_ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om = 0, sign = *p == '-' ? -1 : 1;
            if (digits(p + 1, 2, &oh) < 0)
                return -1;
            p += 3;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p)) {
                if (digits(p, 2, &om) < 0)
                    return -1;
                p += 2;
            }
            if (oh > 23 || om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1800 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + (int64_t)h * 3600 +
                (int64_t)mi * 60 +
                (sec == 60 ? 59 : sec) - (int64_t)off_min * 60;
    *ms = t * 1000 + frac_ms;
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

/* Fields the decoder maps; everything else is passed through. */
static const char *const known_fields[] = {
    "id", "uri", "headline", "body", "body_text", "date", "versioncreated",
    "firstcreated", "source", "agency", "url", "language", NULL,
};

static int is_known(const char *k)
{
    for (size_t i = 0; known_fields[i]; i++)
        if (strcmp(k, known_fields[i]) == 0)
            return 1;
    return 0;
}

/* Gets an optional string field; returns 0 when absent or null, 1 when a
 * string, -1 (and fills err) for any other type. */
static int get_str(json_t *obj, const char *key, const char **out, size_t *len,
                   struct decode_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        fail(err, DECODE_WRONG_TYPE, "field \"%s\" must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 1;
}

static int set_date(struct record *rec, const char *s, const char *field,
                    struct decode_error *err)
{
    char norm[32];
    int64_t ms;
    if (decode_iso8601(s, &ms, norm) < 0) {
        fail(err, DECODE_INVALID_DATE, "field \"%s\" is not an ISO 8601 date: \"%.40s\"",
             field, s);
        return -1;
    }
    rec->date_ms = ms;
    if (record_set(&rec->date, norm, (size_t)-1) < 0) {
        fail(err, "out_of_memory", "out of memory");
        return -1;
    }
    return 0;
}

static int only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

static struct record *decode_json(const char *buf, size_t len, const struct decode_opts *o,
                                  struct decode_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    struct record *rec = NULL;
    const char *s;
    size_t slen;
    int r;

    if (!root) {
        fail(err, DECODE_INVALID_JSON, "line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        fail(err, DECODE_NOT_OBJECT, "expected a JSON object, got %s",
             json_is_array(root) ? "an array" : json_is_string(root) ? "a string" : "a scalar");
        goto out;
    }
    if (!(rec = record_new()))
        goto oom;
    rec->format = INPUT_JSON;

    /* id, else ninjs uri */
    if ((r = get_str(root, "id", &s, &slen, err)) < 0)
        goto bad;
    if (r == 0 && (r = get_str(root, "uri", &s, &slen, err)) < 0)
        goto bad;
    if (r > 0 && slen > 0 && record_set(&rec->id, s, slen) < 0)
        goto oom;

    if ((r = get_str(root, "headline", &s, &slen, err)) < 0)
        goto bad;
    if (r > 0 && !only_space(s, slen) && record_set(&rec->headline, s, slen) < 0)
        goto oom;

    if ((r = get_str(root, "body", &s, &slen, err)) < 0)
        goto bad;
    if (r == 0 && (r = get_str(root, "body_text", &s, &slen, err)) < 0)
        goto bad;
    if (r == 0) {
        fail(err, DECODE_MISSING_BODY, "no \"body\" or \"body_text\" field");
        goto bad;
    }
    if (slen > o->max_body_size) {
        fail(err, DECODE_BODY_TOO_LARGE, "body is %zu bytes, the limit is %zu", slen,
             o->max_body_size);
        goto bad;
    }
    if (only_space(s, slen)) {
        fail(err, DECODE_EMPTY_BODY, "body is empty");
        goto bad;
    }
    char *body = ws_strndup(s, slen);
    if (!body)
        goto oom;
    record_take_body(rec, body, slen);

    static const char *const date_fields[] = {"date", "versioncreated", "firstcreated"};
    for (size_t i = 0; i < 3; i++) {
        if ((r = get_str(root, date_fields[i], &s, NULL, err)) < 0)
            goto bad;
        if (r > 0) {
            if (set_date(rec, s, date_fields[i], err) < 0)
                goto bad;
            break;
        }
    }
    struct {
        const char *key;
        char **field;
    } plain[] = {
        {"source", &rec->source}, {"agency", &rec->agency},
        {"url", &rec->url}, {"language", &rec->language},
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if ((r = get_str(root, plain[i].key, &s, &slen, err)) < 0)
            goto bad;
        if (r > 0 && slen && record_set(plain[i].field, s, slen) < 0)
            goto oom;
    }

    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (is_known(key))
            continue;
        if (!rec->extra && !(rec->extra = json_object()))
            goto oom;
        if (json_object_set(rec->extra, key, val) < 0)
            goto oom;
    }
    json_decref(root);
    return rec;
oom:
    fail(err, "out_of_memory", "out of memory");
bad:
    record_free(rec);
    rec = NULL;
out:
    json_decref(root);
    return rec;
}

/* Plain text: an optional leading " date YYYY-MM-DD" marker, then the
 * article. Scraped wire corpora put it there (see shared/seeds). */
static struct record *decode_text(const char *buf, size_t len, const struct decode_opts *o,
                                  struct decode_error *err)
{
    struct record *rec;
    size_t i = 0;
    char datebuf[11] = {0};

    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (len - i >= 15 && strncmp(buf + i, "date ", 5) == 0 &&
        isdigit((unsigned char)buf[i + 5]) && buf[i + 9] == '-' && buf[i + 12] == '-' &&
        (i + 15 == len || isspace((unsigned char)buf[i + 15]))) {
        memcpy(datebuf, buf + i + 5, 10);
        i += 15;
    }
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    size_t blen = len - i;
    while (blen && isspace((unsigned char)buf[i + blen - 1]))
        blen--;
    if (blen == 0) {
        fail(err, DECODE_EMPTY_BODY, "the text holds no article");
        return NULL;
    }
    if (blen > o->max_body_size) {
        fail(err, DECODE_BODY_TOO_LARGE, "body is %zu bytes, the limit is %zu", blen,
             o->max_body_size);
        return NULL;
    }
    if (!(rec = record_new()))
        goto oom;
    rec->format = INPUT_TEXT;
    char *body = ws_strndup(buf + i, blen);
    if (!body)
        goto oom;
    record_take_body(rec, body, blen);
    if (datebuf[0] && set_date(rec, datebuf, "date marker", err) < 0) {
        record_free(rec);
        return NULL;
    }
    return rec;
oom:
    record_free(rec);
    fail(err, "out_of_memory", "out of memory");
    return NULL;
}

struct record *decode_article(const char *buf, size_t len, const struct decode_opts *o,
                              struct decode_error *err)
{
    size_t bad_at;
    size_t i = 0;

    err->code = NULL;
    err->msg[0] = '\0';
    if (len == 0 || only_space(buf, len)) {
        fail(err, DECODE_EMPTY_MESSAGE, "empty message");
        return NULL;
    }
    if (len > o->max_message_size) {
        fail(err, DECODE_MESSAGE_TOO_LARGE, "message is %zu bytes, the limit is %zu", len,
             o->max_message_size);
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        fail(err, DECODE_NUL_BYTE, "NUL byte at offset %zu",
             (size_t)((const char *)memchr(buf, '\0', len) - buf));
        return NULL;
    }
    if (!text_utf8_valid(buf, len, &bad_at)) {
        fail(err, DECODE_INVALID_UTF8, "invalid UTF-8 at byte offset %zu", bad_at);
        return NULL;
    }
    /* A UTF-8 byte order mark (files saved by some editors) is not content. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
        if (only_space(buf, len)) {
            fail(err, DECODE_EMPTY_MESSAGE, "empty message");
            return NULL;
        }
    }
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    enum input_format f = o->format;
    if (f == INPUT_AUTO) {
        f = (buf[i] == '{' || buf[i] == '[') ? INPUT_JSON : INPUT_TEXT;
        /* A message that is a whole JSON scalar ("text", 42, null) was
         * meant as JSON, not as an article. */
        if (f == INPUT_TEXT && strchr("\"-0123456789tfn", buf[i])) {
            json_t *any = json_loadb(buf, len, JSON_DECODE_ANY, NULL);
            if (any) {
                json_decref(any);
                fail(err, DECODE_NOT_OBJECT, "expected a JSON object or plain text, got a JSON %s",
                     buf[i] == '"' ? "string" : "scalar");
                return NULL;
            }
        }
    }
    return f == INPUT_JSON ? decode_json(buf, len, o, err) : decode_text(buf, len, o, err);
}

int decode_time_arg(const char *s, int64_t now_ms, int64_t *ms)
{
    char norm[32];
    char *end;

    if (strcmp(s, "now") == 0) {
        *ms = now_ms;
        return 0;
    }
    if (strncmp(s, "now-", 4) == 0) {
        int64_t d;
        if (conf_parse_duration(s + 4, &d) < 0)
            return -1;
        *ms = now_ms - d;
        return 0;
    }
    if (decode_iso8601(s, ms, norm) == 0)
        return 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && v >= 0) {
        *ms = v;
        return 0;
    }
    return -1;
}
