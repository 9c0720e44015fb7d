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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* Fields the decoder maps; everything else is passed through. The order
 * is the index into struct fval arrays below. */
enum {
    F_ID, F_URI, F_HEADLINE, F_BODY, F_BODY_TEXT, F_DATE, F_VERSIONCREATED, F_FIRSTCREATED,
    F_SOURCE, F_AGENCY, F_URL, F_LANGUAGE, F_COUNT
};

static const char *const known_fields[] = {
    "id", "uri", "headline", "body", "body_text", "date", "versioncreated",
    "firstcreated", "source", "agency", "url", "language", NULL,
};

static int known_index(const char *k)
{
    for (int i = 0; known_fields[i]; i++)
        if (strcmp(k, known_fields[i]) == 0)
            return i;
    return -1;
}

/* One known field as found in the input. */
enum { FV_ABSENT = 0, FV_NULL, FV_STRING, FV_OTHER };

struct fval {
    int kind;
    const char *s;          /* FV_STRING: the decoded value, NUL-terminated */
    size_t len;
    char *own;              /* s when it is malloc'd and may be taken over */
};

/* The fields of one article object, from either parser. Passthrough
 * fields: borrowed keys and values, in input order. */
struct fields {
    struct fval v[F_COUNT];
    const char **xkeys;
    json_t **xvals;
    size_t nx, capx;
};

static int fields_add_extra(struct fields *f, const char *key, json_t *val)
{
    if (f->nx == f->capx) {
        size_t cap = f->capx ? f->capx * 2 : 16;
        const char **nk = realloc(f->xkeys, cap * sizeof(*nk));
        if (!nk)
            return -1;
        f->xkeys = nk;
        json_t **nv = realloc(f->xvals, cap * sizeof(*nv));
        if (!nv)
            return -1;
        f->xvals = nv;
        f->capx = cap;
    }
    f->xkeys[f->nx] = key;
    f->xvals[f->nx++] = val;
    return 0;
}

/* Gets an optional string field; returns 0 when absent or null, 1 when a
 * string, -1 (and fills err) for any other type. */
static int get_str(const struct fields *f, int idx, const char **out, size_t *len,
                   struct decode_error *err)
{
    const struct fval *v = &f->v[idx];
    if (v->kind == FV_ABSENT || v->kind == FV_NULL)
        return 0;
    if (v->kind != FV_STRING) {
        fail(err, DECODE_WRONG_TYPE, "field \"%s\" must be a string", known_fields[idx]);
        return -1;
    }
    *out = v->s;
    if (len)
        *len = v->len;
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

/* *field = the value s of f->v[idx]: its own buffer when the fast path
 * decoded it (taken over), else a copy. 0, -1 on allocation failure. */
static int take_or_copy(char **field, struct fields *f, int idx, const char *s, size_t len)
{
    struct fval *v = &f->v[idx];
    if (v->own && v->s == s && v->len == len) {
        free(*field);
        *field = v->own;
        v->own = NULL;
        return 0;
    }
    return record_set(field, s, len);
}

/* The record from the fields of a parsed object, whichever parser read it.
 * Takes over the f->v[].own buffers it uses (sets them NULL). */
static struct record *build_record(struct fields *f, const struct decode_opts *o,
                                   struct decode_error *err)
{
    struct record *rec = NULL;
    const char *s;
    size_t slen;
    int r, which, which_id = F_ID;

    if (!(rec = record_new()))
        goto oom;
    rec->format = INPUT_JSON;

    /* id, else ninjs uri */
    if ((r = get_str(f, F_ID, &s, &slen, err)) < 0)
        goto bad;
    if (r == 0 && (r = get_str(f, which_id = F_URI, &s, &slen, err)) < 0)
        goto bad;
    if (r > 0 && slen > 0 && take_or_copy(&rec->id, f, which_id, s, slen) < 0)
        goto oom;

    if ((r = get_str(f, F_HEADLINE, &s, &slen, err)) < 0)
        goto bad;
    if (r > 0 && !only_space(s, slen) && take_or_copy(&rec->headline, f, F_HEADLINE, s, slen) < 0)
        goto oom;

    which = F_BODY;
    if ((r = get_str(f, F_BODY, &s, &slen, err)) < 0)
        goto bad;
    if (r == 0 && (r = get_str(f, which = F_BODY_TEXT, &s, &slen, err)) < 0)
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
    char *body = f->v[which].own;
    if (body)
        f->v[which].own = NULL;
    else if (!(body = ws_strndup(s, slen)))
        goto oom;
    record_take_body(rec, body, slen);

    static const int date_fields[] = {F_DATE, F_VERSIONCREATED, F_FIRSTCREATED};
    for (size_t i = 0; i < 3; i++) {
        if ((r = get_str(f, date_fields[i], &s, NULL, err)) < 0)
            goto bad;
        if (r > 0) {
            if (set_date(rec, s, known_fields[date_fields[i]], err) < 0)
                goto bad;
            break;
        }
    }
    struct {
        int idx;
        char **field;
    } plain[] = {
        {F_SOURCE, &rec->source}, {F_AGENCY, &rec->agency},
        {F_URL, &rec->url}, {F_LANGUAGE, &rec->language},
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if ((r = get_str(f, plain[i].idx, &s, &slen, err)) < 0)
            goto bad;
        if (r > 0 && slen && take_or_copy(plain[i].field, f, plain[i].idx, s, slen) < 0)
            goto oom;
    }

    for (size_t i = 0; i < f->nx; i++) {
        if (!rec->extra && !(rec->extra = json_object()))
            goto oom;
        if (json_object_set(rec->extra, f->xkeys[i], f->xvals[i]) < 0)
            goto oom;
    }
    return rec;
oom:
    fail(err, "out_of_memory", "out of memory");
bad:
    record_free(rec);
    return NULL;
}

/*
 * Fast path: one pass over the top-level object that decodes the known
 * string fields straight into their own buffers, and hands each other
 * value to Jansson on its own (strings are made directly). Jansson parsed
 * the whole object into a tree before, which cost more than the rest of
 * decoding. It only accepts what it fully understands; anything else
 * (syntax errors, duplicate keys, \u0000, a known field that is neither a
 * string nor null, allocation failure) returns -1 and the Jansson path
 * decides, with its own error messages. The input is valid UTF-8 without
 * NUL bytes (checked by decode_article()).
 */
struct fast {
    struct fields f;
    char *keys[64];         /* decoded keys, in karena or malloc'd (kowned) */
    unsigned char kowned[64];
    size_t nkeys;
    char karena[2048];
    size_t kused;
};

static void fast_free(struct fast *fp)
{
    for (size_t i = 0; i < F_COUNT; i++)
        free(fp->f.v[i].own);
    for (size_t i = 0; i < fp->nkeys; i++)
        if (fp->kowned[i])
            free(fp->keys[i]);
    for (size_t i = 0; i < fp->f.nx; i++)
        json_decref(fp->f.xvals[i]);
    free(fp->f.xkeys);
    free(fp->f.xvals);
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* A JSON string; *pp points after the opening quote and is moved past the
 * closing one. Returns the decoded value, in buf when it fits in bufcap
 * bytes, else malloc'd; NULL when it is not one Jansson would accept as is
 * (or on allocation failure). */
static char *fast_string(const char **pp, const char *end, size_t *outlen, char *buf,
                         size_t bufcap)
{
    const char *p = *pp, *q = p;
    int escapes = 0;
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time while none is a quote, a backslash or a
         * control character (below 0x20 unsigned: min(b, 0x1f) == b) */
        while (end - q >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)q);
            __m128i hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
            unsigned mask = (unsigned)_mm_movemask_epi8(hit);
            if (mask) {
                q += __builtin_ctz(mask);
                break;
            }
            q += 16;
        }
#endif
        /* 8 bytes at a time while none is a quote, a backslash or a
         * control character (exact SWAR tests) */
        while (end - q >= 8) {
            uint64_t x, a, b;
            memcpy(&x, q, 8);
            a = x ^ (ones * '"');
            b = x ^ (ones * '\\');
            if ((((x - ones * 0x20) & ~x) | ((a - ones) & ~a) | ((b - ones) & ~b)) & highs)
                break;
            q += 8;
        }
        if (q >= end || *q == '"')
            break;
        if ((unsigned char)*q < 0x20)
            return NULL;
        if (*q == '\\') {
            escapes = 1;
            if (++q >= end)
                return NULL;
        }
        q++;
    }
    if (q >= end)
        return NULL;
    char *out = (size_t)(q - p) + 1 <= bufcap ? buf : malloc((size_t)(q - p) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    if (!escapes) {
        n = (size_t)(q - p);
        memcpy(out, p, n);
    } else {
        while (p < q) {
            const char *bs = memchr(p, '\\', (size_t)(q - p));
            size_t run = bs ? (size_t)(bs - p) : (size_t)(q - p);
            memcpy(out + n, p, run);
            n += run;
            p += run;
            if (p >= q)
                break;
            char c = p[1];
            p += 2;
            switch (c) {
            case '"': case '\\': case '/': out[n++] = c; break;
            case 'b': out[n++] = '\b'; break;
            case 'f': out[n++] = '\f'; break;
            case 'n': out[n++] = '\n'; break;
            case 'r': out[n++] = '\r'; break;
            case 't': out[n++] = '\t'; break;
            case 'u': {
                uint32_t cp, lo;
                if (q - p < 4 || hex4(p, &cp) < 0)
                    goto bad;
                p += 4;
                if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
                    goto bad;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
                        lo < 0xdc00 || lo > 0xdfff)
                        goto bad;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                /* \uXXXX is 6 bytes (a pair 12) and its UTF-8 at most 4 */
                if (cp < 0x80) {
                    out[n++] = (char)cp;
                } else if (cp < 0x800) {
                    out[n++] = (char)(0xc0 | (cp >> 6));
                    out[n++] = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                    out[n++] = (char)(0xe0 | (cp >> 12));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    out[n++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    out[n++] = (char)(0xf0 | (cp >> 18));
                    out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    out[n++] = (char)(0x80 | (cp & 0x3f));
                }
                break;
            }
            default:
                goto bad;
            }
        }
    }
    out[n] = '\0';
    *outlen = n;
    *pp = q + 1;
    return out;
bad:
    if (out != buf)
        free(out);
    return NULL;
}

/* A JSON integer Jansson reads with strtoll() without overflow, or the
 * literals true/false/null; NULL for anything else. */
static json_t *simple_scalar(const char *p, const char *e)
{
    size_t n = (size_t)(e - p);
    if (n == 4 && memcmp(p, "true", 4) == 0)
        return json_true();
    if (n == 5 && memcmp(p, "false", 5) == 0)
        return json_false();
    if (n == 4 && memcmp(p, "null", 4) == 0)
        return json_null();
    const char *d = p + (n && *p == '-');
    size_t nd = (size_t)(e - d);
    if (nd == 0 || nd > 18 || (*d == '0' && nd > 1))
        return NULL;
    long long v = 0;
    for (const char *c = d; c < e; c++) {
        if (*c < '0' || *c > '9')
            return NULL;
        v = v * 10 + (*c - '0');
    }
    return json_integer(d == p ? v : -v);
}

/* End of the JSON value at p (not checked: Jansson parses it). Deep
 * nesting is left to the full parse, whose depth limit counts the
 * enclosing object. */
static const char *skip_value(const char *p, const char *end)
{
    size_t depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
            if (!depth)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > 512)
                return NULL;
        } else if (c == '}' || c == ']') {
            if (!depth)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (!depth && (c == ',' || json_space(c))) {
            return p;
        }
        p++;
    }
    return depth ? NULL : p;
}

static int fast_parse(const char *buf, size_t len, struct fast *fp)
{
    const char *p = buf, *end = buf + len;

    memset(fp, 0, sizeof(*fp));
    while (p < end && json_space(*p))
        p++;
    if (p >= end || *p++ != '{')
        return -1;
    while (p < end && json_space(*p))
        p++;
    if (p < end && *p == '}') {
        p++;
        goto tail;
    }
    for (;;) {
        size_t klen, vlen;
        if (p >= end || *p++ != '"' || fp->nkeys == sizeof(fp->keys) / sizeof(fp->keys[0]))
            return -1;
        char *kbuf = fp->karena + fp->kused;
        char *key = fast_string(&p, end, &klen, kbuf, sizeof(fp->karena) - fp->kused);
        if (!key)
            return -1;
        if (key == kbuf)
            fp->kused += klen + 1;
        fp->kowned[fp->nkeys] = key != kbuf;
        fp->keys[fp->nkeys++] = key;
        for (size_t i = 0; i + 1 < fp->nkeys; i++)
            if (strcmp(fp->keys[i], key) == 0)
                return -1;                      /* duplicate key */
        while (p < end && json_space(*p))
            p++;
        if (p >= end || *p++ != ':')
            return -1;
        while (p < end && json_space(*p))
            p++;
        if (p >= end)
            return -1;
        int idx = known_index(key);
        if (idx >= 0) {
            struct fval *v = &fp->f.v[idx];
            if (*p == '"') {
                p++;
                if (!(v->own = fast_string(&p, end, &vlen, NULL, 0)))
                    return -1;
                v->kind = FV_STRING;
                v->s = v->own;
                v->len = vlen;
            } else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
                v->kind = FV_NULL;
                p += 4;
            } else {
                return -1;
            }
        } else {
            json_t *val;
            if (*p == '"') {
                char vbuf[512];
                p++;
                char *sv = fast_string(&p, end, &vlen, vbuf, sizeof(vbuf));
                if (!sv)
                    return -1;
                val = json_stringn_nocheck(sv, vlen);
                if (sv != vbuf)
                    free(sv);
            } else {
                const char *e = skip_value(p, end);
                if (!e || e == p)
                    return -1;
                if (!(val = simple_scalar(p, e)))
                    val = json_loadb(p, (size_t)(e - p),
                                     JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
                p = e;
            }
            if (!val)
                return -1;
            if (fields_add_extra(&fp->f, key, val) < 0) {
                json_decref(val);
                return -1;
            }
        }
        while (p < end && json_space(*p))
            p++;
        if (p < end && *p == ',') {
            p++;
            while (p < end && json_space(*p))
                p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return -1;
    }
tail:
    while (p < end && json_space(*p))
        p++;
    return p == end ? 0 : -1;
}

/* The reference path: Jansson reads the whole object. */
static struct record *decode_json_jansson(const char *buf, size_t len,
                                          const struct decode_opts *o, struct decode_error *err)
{
    struct record *rec;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    struct fields f;

    if (!root) {
        fail(err, DECODE_INVALID_JSON, "line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
        return NULL;
    }
    rec = NULL;
    if (!json_is_object(root)) {
        fail(err, DECODE_NOT_OBJECT, "expected a JSON object, got %s",
             json_is_array(root) ? "an array" : json_is_string(root) ? "a string" : "a scalar");
        goto out;
    }
    memset(&f, 0, sizeof(f));
    for (int i = 0; i < F_COUNT; i++) {
        json_t *v = json_object_get(root, known_fields[i]);
        struct fval *fv = &f.v[i];
        if (!v)
            fv->kind = FV_ABSENT;
        else if (json_is_null(v))
            fv->kind = FV_NULL;
        else if (json_is_string(v)) {
            fv->kind = FV_STRING;
            fv->s = json_string_value(v);
            fv->len = json_string_length(v);
        } else {
            fv->kind = FV_OTHER;
        }
    }
    const char *key;
    json_t *val;
    int oom = 0;
    json_object_foreach(root, key, val) {
        if (known_index(key) < 0 && fields_add_extra(&f, key, val) < 0) {
            oom = 1;
            break;
        }
    }
    if (oom)
        fail(err, "out_of_memory", "out of memory");
    else
        rec = build_record(&f, o, err);
    free(f.xkeys);
    free(f.xvals);
out:
    json_decref(root);
    return rec;
}

static struct record *decode_json(const char *buf, size_t len, const struct decode_opts *o,
                                  struct decode_error *err)
{
    struct fast fp;
    struct record *rec;

    if (fast_parse(buf, len, &fp) == 0) {
        rec = build_record(&fp.f, o, err);
        fast_free(&fp);
        return rec;
    }
    fast_free(&fp);
    return decode_json_jansson(buf, len, o, err);
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
