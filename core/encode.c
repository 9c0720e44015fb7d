/*
 * encode.c - records to JSON: the wirestream schema and ninjs 2.x.
 *
 * Every field of the schema is always present (null or empty when
 * unknown), so dashboards never have to test for a key. Unknown input
 * fields are passed through at the top level; one whose name the schema
 * already uses is kept under "input_fields" instead of being overwritten.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode.h"
#include "encode.h"

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int encode_parse_format(const char *s, enum output_format *fmt)
{
    if (strcmp(s, "record") == 0)
        *fmt = OUTPUT_RECORD;
    else if (strcmp(s, "ninjs") == 0)
        *fmt = OUTPUT_NINJS;
    else
        return -1;
    return 0;
}

static json_t *encode_dedupe(const struct record *rec)
{
    const struct dedupe_info *d = &rec->dedupe;
    return json_pack("{s:s,s:o,s:f,s:o,s:I}",
                     "status", record_dedupe_status_name(d->status),
                     "duplicate_of", str_or_null(d->duplicate_of),
                     "similarity", d->similarity,
                     "cluster", str_or_null(d->cluster ? d->cluster : rec->id),
                     "cluster_size", (json_int_t)(d->cluster_size ? d->cluster_size : 1));
}

static json_t *encode_entities(const struct record *rec)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < rec->nentities; i++) {
        const struct entity *e = &rec->entities[i];
        json_t *spans = json_array();
        for (size_t k = 0; spans && k < e->nspans; k++)
            json_array_append_new(spans, json_pack("{s:I,s:I}", "start",
                                                   (json_int_t)e->spans[k].off, "end",
                                                   (json_int_t)e->spans[k].off + e->spans[k].len));
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:o,s:b,s:b,s:f}",
                              "name", e->name ? e->name : "",
                              "type", record_entity_type_name(e->type),
                              "id", str_or_null(e->id),
                              "role", str_or_null(e->role),
                              "mentions", (json_int_t)e->mentions,
                              "spans", spans ? spans : json_array(),
                              "in_headline", e->in_headline,
                              "dateline", e->dateline,
                              "salience", e->salience);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *strv(char *const *v, size_t n, const char *prefix)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (prefix) {
            char buf[256];
            snprintf(buf, sizeof(buf), "%s%s", prefix, v[i]);
            json_array_append_new(arr, json_string(buf));
        } else {
            json_array_append_new(arr, json_string(v[i]));
        }
    }
    return arr;
}

static json_t *encode_topics(const struct record *rec)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < rec->ntopics; i++) {
        const struct topic_hit *t = &rec->topics[i];
        json_array_append_new(arr, json_pack("{s:s,s:f,s:o,s:o}", "name",
                                             t->name ? t->name : "",
                                             "score", t->score,
                                             "iptc", strv(t->iptc, t->niptc, IPTC_MEDIATOPIC_URI),
                                             "evidence", strv(t->evidence, t->nevidence, NULL)));
    }
    return arr;
}

static json_t *encode_provenance(const struct record *rec)
{
    const struct provenance *p = &rec->prov;
    if (!p->set)
        return json_null();
    char ts[32];
    json_t *time = json_null();     /* -1: the message had no timestamp */
    if (p->timestamp_ms >= 0) {
        decode_format_ms(p->timestamp_ms, ts);
        time = json_string(ts);
    }
    return json_pack("{s:o,s:i,s:I,s:I,s:o}", "topic", str_or_null(p->topic),
                     "partition", (int)p->partition, "offset", (json_int_t)p->offset,
                     "timestamp", (json_int_t)p->timestamp_ms, "time", time);
}

static json_t *encode_pipeline(int64_t processed_at)
{
    json_t *o = json_pack("{s:s}", "version", WS_VERSION);
    if (o && processed_at) {
        char ts[32];
        decode_format_ms(processed_at, ts);
        json_object_set_new(o, "processed_at", json_string(ts));
    }
    return o;
}

/* Adds passthrough fields; collisions go under "input_fields". */
static void add_extra(json_t *out, const json_t *extra)
{
    const char *key;
    json_t *val;
    json_t *moved = NULL;

    int collide = 0;

    if (!extra)
        return;
    json_object_foreach((json_t *)extra, key, val)
        collide |= json_object_get(out, key) != NULL;
    json_object_foreach((json_t *)extra, key, val) {
        /* Once there are collisions "input_fields" is ours: an input field
         * of that name moves under it as well instead of being replaced. */
        if (json_object_get(out, key) || (collide && strcmp(key, "input_fields") == 0)) {
            if (!moved)
                moved = json_object();
            json_object_set(moved, key, val);
        } else {
            json_object_set(out, key, val);
        }
    }
    if (moved)
        json_object_set_new(out, "input_fields", moved);
}

static json_t *encode_wirestream(const struct record *rec, int64_t processed_at)
{
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "schema_version", SCHEMA_VERSION,
                     "id", str_or_null(rec->id),
                     "dedupe", encode_dedupe(rec),
                     "entities", encode_entities(rec),
                     "topics", encode_topics(rec),
                     "provenance", encode_provenance(rec),
                     "pipeline", encode_pipeline(processed_at));
}

static json_t *encode_schema(const struct record *rec, int64_t processed_at)
{
    json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                          "schema_version", SCHEMA_VERSION,
                          "id", str_or_null(rec->id),
                          "headline", str_or_null(rec->headline),
                          "body", str_or_null(rec->body),
                          "date", str_or_null(rec->date),
                          "source", str_or_null(rec->source),
                          "agency", str_or_null(rec->agency),
                          "dateline", str_or_null(rec->dateline),
                          "url", str_or_null(rec->url),
                          "language", str_or_null(rec->language));
    if (!o)
        return NULL;
    json_object_set_new(o, "dedupe", encode_dedupe(rec));
    json_object_set_new(o, "entities", encode_entities(rec));
    json_object_set_new(o, "topics", encode_topics(rec));
    json_object_set_new(o, "provenance", encode_provenance(rec));
    json_object_set_new(o, "pipeline", encode_pipeline(processed_at));
    add_extra(o, rec->extra);
    return o;
}

/* ninjs 2.x: subjects carry IPTC Media Topic URIs, people/organisations/
 * places carry Wikidata URIs; our own fields go in one "wirestream" block. */
static json_t *encode_ninjs(const struct record *rec, int64_t processed_at)
{
    /* Built at full length: a fixed buffer cut long ids inside a UTF-8
     * character, and Jansson refuses the invalid string (fuzz_clean). */
    json_t *uri = rec->url ? json_string(rec->url)
                           : json_sprintf("urn:wirestream:%s", rec->id ? rec->id : "unknown");
    json_t *o = json_pack("{s:s,s:o,s:s,s:o,s:o,s:o,s:o}",
                          "$schema", "http://www.iptc.org/std/ninjs/ninjs-schema_2.1.json",
                          "uri", uri, "type", "text",
                          "headline", str_or_null(rec->headline),
                          "body_text", str_or_null(rec->body),
                          "versioncreated", str_or_null(rec->date),
                          "language", str_or_null(rec->language));
    if (!o)
        return NULL;
    json_t *subjects = json_array();
    for (size_t i = 0; i < rec->ntopics; i++) {
        const struct topic_hit *t = &rec->topics[i];
        for (size_t k = 0; k < t->niptc; k++) {
            char turi[128];
            snprintf(turi, sizeof(turi), "%s%s", IPTC_MEDIATOPIC_URI, t->iptc[k]);
            json_array_append_new(subjects, json_pack("{s:s,s:s,s:i}", "name", t->name,
                                                      "uri", turi, "relevance",
                                                      (int)(t->score * 100 + 0.5)));
        }
    }
    json_object_set_new(o, "subjects", subjects);
    json_t *groups[3] = {json_array(), json_array(), json_array()};
    for (size_t i = 0; i < rec->nentities; i++) {
        const struct entity *e = &rec->entities[i];
        json_t *item = json_pack("{s:s}", "name", e->name ? e->name : "");
        if (e->id) {
            char wuri[128];
            snprintf(wuri, sizeof(wuri), "%s%s", WIKIDATA_URI, e->id);
            json_object_set_new(item, "uri", json_string(wuri));
        }
        json_array_append_new(groups[e->type], item);
    }
    json_object_set_new(o, "people", groups[ENTITY_PERSON]);
    json_object_set_new(o, "organisations", groups[ENTITY_ORGANIZATION]);
    json_object_set_new(o, "places", groups[ENTITY_PLACE]);
    if (rec->dateline)
        json_object_set_new(o, "located", json_string(rec->dateline));
    if (rec->source || rec->agency)
        json_object_set_new(o, "copyrightholder",
                            json_string(rec->agency ? rec->agency : rec->source));
    json_object_set_new(o, "wirestream", encode_wirestream(rec, processed_at));
    add_extra(o, rec->extra);
    return o;
}

json_t *encode_record(const struct record *rec, enum output_format fmt, int64_t processed_at)
{
    return fmt == OUTPUT_NINJS ? encode_ninjs(rec, processed_at)
                               : encode_schema(rec, processed_at);
}

/*
 * Direct writer for the record format: the same bytes as json_dumps() of
 * encode_schema() (JSON_COMPACT), without building a Jansson tree (that
 * was half of the cost of an article offline). Anything the tree path
 * treats specially (invalid UTF-8, which makes Jansson drop a value or the
 * whole record; non-finite reals; NULL array items; passthrough fields
 * that collide with ours) makes the writer give up, and the caller takes
 * the tree path, which stays the reference (tests/unit/test_encode_fast.c).
 */
struct jw {
    char *p;
    size_t len, cap;
    int fail;               /* allocation failure or a case left to Jansson */
};

static int jw_grow(struct jw *w, size_t n)
{
    size_t ncap = w->cap ? w->cap * 2 : 1024;
    while (ncap < w->len + n + 1)
        ncap *= 2;
    char *np = realloc(w->p, ncap);
    if (!np) {
        w->fail = 1;
        return -1;
    }
    w->p = np;
    w->cap = ncap;
    return 0;
}

/* Room for n more bytes and a NUL; -1 once the writer has failed. */
static inline int jw_reserve(struct jw *w, size_t n)
{
    if (w->fail)
        return -1;
    if (w->len + n + 1 <= w->cap)
        return 0;
    return jw_grow(w, n);
}

static inline void jw_put(struct jw *w, const char *s, size_t n)
{
    if (jw_reserve(w, n) < 0)
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

#define JW_LIT(w, lit) jw_put((w), (lit), sizeof(lit) - 1)

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), 0 if it is
 * not valid by Jansson's rules (no overlong forms, surrogates, or code
 * points above U+10FFFF). s is NUL-terminated, so reading stops there. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2; cp = c & 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3; cp = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4; cp = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string the way Jansson's dump_string() writes it: '"' and '\\'
 * escaped, control characters as \b \f \n \r \t or \u00XX (upper-case
 * hex), everything else (including '/' and non-ASCII) as is. */
/* Any byte of x below 0x20, '"', '\\' or from 0x80 (exact, SWAR). */
static int json_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & highs) != 0;
}

static void jw_str_body(struct jw *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0, n = strlen(str);

    for (;;) {
#ifdef __SSE2__
        /* Plain ASCII 16 bytes at a time: a signed compare with 0x20
         * catches control characters and every byte from 0x80 at once. */
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                       _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
            unsigned mask = (unsigned)_mm_movemask_epi8(hit);
            if (mask) {
                i += (size_t)__builtin_ctz(mask);
                break;
            }
            i += 16;
        }
#endif
        while (i + 8 <= n) {            /* plain ASCII 8 bytes at a time */
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (json_special8(x))
                break;
            i += 8;
        }
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t m = utf8_seq(s + i);
            if (!m) {
                w->fail = 1;
                return;
            }
            i += m;
            continue;
        }
        jw_put(w, str + run, i - run);
        if (c == 0)
            break;
        char esc[8];
        size_t en = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            en = (size_t)snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
        }
        jw_put(w, esc, en);
        run = ++i;
    }
}

static void jw_str(struct jw *w, const char *str)
{
    JW_LIT(w, "\"");
    jw_str_body(w, str);
    JW_LIT(w, "\"");
}

static void jw_str_or_null(struct jw *w, const char *s)
{
    if (s)
        jw_str(w, s);
    else
        JW_LIT(w, "null");
}

/* "%lld" without printf (spans make dozens of integers per record). */
static void jw_int(struct jw *w, long long v)
{
    char b[24];
    size_t i = sizeof(b);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    jw_put(w, b + i, sizeof(b) - i);
}

/*
 * "%.17g" of v without printf (about 3,000 instructions a number in
 * glibc, and a record has a salience per entity), for the numbers a record
 * holds: zero and |v| from 1e-4 to below 1e15, printed in fixed notation. The 17
 * significant digits are v * 10^p rounded half-to-even, computed exactly
 * in 128 bits from v's integer mantissa and binary exponent. Returns the
 * length, 0 when v is outside that range (the caller uses snprintf).
 */
static size_t g17_fixed(double v, char *out)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    int neg = (int)(bits >> 63);
    int be = (int)((bits >> 52) & 0x7ff);
    if (be == 0 && (bits << 1) == 0) {          /* "0", "-0" */
        memcpy(out, neg ? "-0" : "0", neg ? 3 : 2);
        return neg ? 2 : 1;
    }
    if (be == 0 || be == 0x7ff)
        return 0;                               /* subnormal, inf, NaN */
    uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int q = be - 1075;                          /* |v| = m * 2^q */
    if (q > 0 || q < -120)
        return 0;
    double a = neg ? -v : v;
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
        10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
        10000000000000000000ULL,
    };
    /* d: digits before the point (may be <= 0); a first guess, then fixed
     * by the exact result */
    int d = a >= 1 ? 1 : 0;
    double t = a;
    while (t >= 10 && d < 16) {
        t /= 10;
        d++;
    }
    t = a;
    while (t < 0.1 && d > -4) {
        t *= 10;
        d--;
    }
    uint64_t n = 0;
    for (int tries = 0; tries < 3; tries++) {
        int p = 17 - d;                         /* 1 .. 21 */
        if (p < 1 || p > 21)
            return 0;
        unsigned __int128 prod = (unsigned __int128)m *
                                 (p > 19 ? pow10[19] : pow10[p]);
        if (p > 19)
            prod *= pow10[p - 19];
        int s = -q;
        unsigned __int128 nn = s ? prod >> s : prod;
        if (s) {
            unsigned __int128 rem = prod - (nn << s), half = (unsigned __int128)1 << (s - 1);
            if (rem > half || (rem == half && (nn & 1)))
                nn++;
        }
        if (nn >= pow10[17]) {
            d++;
            continue;
        }
        if (nn < pow10[16]) {
            d--;
            continue;
        }
        n = (uint64_t)nn;
        break;
    }
    if (!n || d - 1 < -4 || d - 1 > 16)
        return 0;
    char dig[17];
    for (int i = 16; i >= 0; i--) {
        dig[i] = (char)('0' + n % 10);
        n /= 10;
    }
    int last = 16;                              /* last significant digit */
    while (last > 0 && dig[last] == '0')
        last--;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (d > 0) {
        for (int i = 0; i < d; i++)
            out[o++] = dig[i];
        if (last >= d) {
            out[o++] = '.';
            for (int i = d; i <= last; i++)
                out[o++] = dig[i];
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = d; i < 0; i++)
            out[o++] = '0';
        for (int i = 0; i <= last; i++)
            out[o++] = dig[i];
    }
    out[o] = '\0';
    return o;
}

/* Jansson's jsonp_dtostr() at its default precision: "%.17g", ".0" added
 * when the result looks like an integer, the exponent without '+' and
 * leading zeros. */
static void jw_real(struct jw *w, double v)
{
    char b[40];
    if (!isfinite(v)) {     /* json_real() refuses it: left to Jansson */
        w->fail = 1;
        return;
    }
    size_t fast = g17_fixed(v, b);
    int n = fast ? (int)fast : snprintf(b, sizeof(b), "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(b) - 3) {
        w->fail = 1;
        return;
    }
    size_t len = (size_t)n;
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        memcpy(b + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(b, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len + 1 - (size_t)(end - b));
            len -= (size_t)(end - start);
        }
    }
    jw_put(w, b, len);
}

static void jw_bool(struct jw *w, int v)
{
    if (v)
        JW_LIT(w, "true");
    else
        JW_LIT(w, "false");
}

#define JW_JSON_DEPTH 32   /* deeper passthrough values: Jansson writes the rest */

/* A passthrough value (an input field we do not know), as json_dumps()
 * writes it: strings, integers, booleans, null, arrays and objects (in
 * insertion order) here; reals, strings holding NUL and anything deeper than
 * JW_JSON_DEPTH by Jansson (its fixed cost per call was most of the
 * encoding of a record with a small "subject" array). */
static void jw_json(struct jw *w, json_t *val, int depth)
{
    if (json_is_string(val) && !memchr(json_string_value(val), '\0', json_string_length(val))) {
        jw_str(w, json_string_value(val));
    } else if (json_is_integer(val)) {
        jw_int(w, (long long)json_integer_value(val));
    } else if (json_is_true(val) || json_is_false(val)) {
        jw_bool(w, json_is_true(val));
    } else if (json_is_null(val)) {
        JW_LIT(w, "null");
    } else if (json_is_array(val) && depth < JW_JSON_DEPTH) {
        JW_LIT(w, "[");
        for (size_t i = 0, n = json_array_size(val); i < n && !w->fail; i++) {
            if (i)
                JW_LIT(w, ",");
            jw_json(w, json_array_get(val, i), depth + 1);
        }
        JW_LIT(w, "]");
    } else if (json_is_object(val) && depth < JW_JSON_DEPTH) {
        const char *key;
        json_t *v;
        int first = 1;
        JW_LIT(w, "{");
        json_object_foreach(val, key, v) {
            if (!first)
                JW_LIT(w, ",");
            first = 0;
            jw_str(w, key);
            JW_LIT(w, ":");
            jw_json(w, v, depth + 1);
        }
        JW_LIT(w, "}");
    } else {
        char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (!s) {
            w->fail = 1;
            return;
        }
        jw_put(w, s, strlen(s));
        free(s);
    }
}

/* ,"key": */
static void jw_key(struct jw *w, const char *lit, size_t n)
{
    jw_put(w, lit, n);
}

#define JW_KEY(w, lit) jw_key((w), (lit), sizeof(lit) - 1)

static int is_schema_key(const char *k)
{
    static const char *const keys[] = {
        "schema_version", "id", "headline", "body", "date", "source", "agency",
        "dateline", "url", "language", "dedupe", "entities", "topics", "provenance",
        "pipeline", "input_fields", NULL,
    };
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

static char *write_schema(const struct record *rec, int64_t processed_at, size_t *len)
{
    struct jw w = {0};
    const struct dedupe_info *d = &rec->dedupe;
    char ts[32];

    /* Passthrough fields that collide with ours (or are called
     * "input_fields") are rearranged by add_extra(): left to Jansson. */
    if (rec->extra) {
        const char *key;
        json_t *val;
        json_object_foreach(rec->extra, key, val)
            if (is_schema_key(key))
                return NULL;
    }
    if (jw_reserve(&w, 512 + (rec->body ? strlen(rec->body) : 0)) < 0)
        return NULL;
    JW_LIT(&w, "{\"schema_version\":\"" SCHEMA_VERSION "\",\"id\":");
    jw_str_or_null(&w, rec->id);
    JW_KEY(&w, ",\"headline\":");
    jw_str_or_null(&w, rec->headline);
    JW_KEY(&w, ",\"body\":");
    jw_str_or_null(&w, rec->body);
    JW_KEY(&w, ",\"date\":");
    jw_str_or_null(&w, rec->date);
    JW_KEY(&w, ",\"source\":");
    jw_str_or_null(&w, rec->source);
    JW_KEY(&w, ",\"agency\":");
    jw_str_or_null(&w, rec->agency);
    JW_KEY(&w, ",\"dateline\":");
    jw_str_or_null(&w, rec->dateline);
    JW_KEY(&w, ",\"url\":");
    jw_str_or_null(&w, rec->url);
    JW_KEY(&w, ",\"language\":");
    jw_str_or_null(&w, rec->language);

    JW_KEY(&w, ",\"dedupe\":{\"status\":");
    jw_str(&w, record_dedupe_status_name(d->status));
    JW_KEY(&w, ",\"duplicate_of\":");
    jw_str_or_null(&w, d->duplicate_of);
    JW_KEY(&w, ",\"similarity\":");
    jw_real(&w, d->similarity);
    JW_KEY(&w, ",\"cluster\":");
    jw_str_or_null(&w, d->cluster ? d->cluster : rec->id);
    JW_KEY(&w, ",\"cluster_size\":");
    jw_int(&w, (long long)(d->cluster_size ? d->cluster_size : 1));

    JW_KEY(&w, "},\"entities\":[");
    for (size_t i = 0; i < rec->nentities; i++) {
        const struct entity *e = &rec->entities[i];
        if (i)
            JW_LIT(&w, ",");
        JW_KEY(&w, "{\"name\":");
        jw_str(&w, e->name ? e->name : "");
        JW_KEY(&w, ",\"type\":");
        jw_str(&w, record_entity_type_name(e->type));
        JW_KEY(&w, ",\"id\":");
        jw_str_or_null(&w, e->id);
        JW_KEY(&w, ",\"role\":");
        jw_str_or_null(&w, e->role);
        JW_KEY(&w, ",\"mentions\":");
        jw_int(&w, (long long)e->mentions);
        JW_KEY(&w, ",\"spans\":[");
        for (size_t k = 0; k < e->nspans; k++) {
            if (k)
                JW_LIT(&w, ",");
            JW_KEY(&w, "{\"start\":");
            jw_int(&w, (long long)e->spans[k].off);
            JW_KEY(&w, ",\"end\":");
            jw_int(&w, (long long)e->spans[k].off + e->spans[k].len);
            JW_LIT(&w, "}");
        }
        JW_KEY(&w, "],\"in_headline\":");
        jw_bool(&w, e->in_headline);
        JW_KEY(&w, ",\"dateline\":");
        jw_bool(&w, e->dateline);
        JW_KEY(&w, ",\"salience\":");
        jw_real(&w, e->salience);
        JW_LIT(&w, "}");
    }

    JW_KEY(&w, "],\"topics\":[");
    for (size_t i = 0; i < rec->ntopics; i++) {
        const struct topic_hit *t = &rec->topics[i];
        if (i)
            JW_LIT(&w, ",");
        JW_KEY(&w, "{\"name\":");
        jw_str(&w, t->name ? t->name : "");
        JW_KEY(&w, ",\"score\":");
        jw_real(&w, t->score);
        JW_KEY(&w, ",\"iptc\":[");
        for (size_t k = 0; k < t->niptc; k++) {
            /* strv() formats into 256 bytes: a longer code would be cut */
            if (!t->iptc[k] || strlen(t->iptc[k]) + sizeof(IPTC_MEDIATOPIC_URI) > 256) {
                w.fail = 1;
                break;
            }
            if (k)
                JW_LIT(&w, ",");
            JW_KEY(&w, "\"" IPTC_MEDIATOPIC_URI);
            jw_str_body(&w, t->iptc[k]);
            JW_LIT(&w, "\"");
        }
        JW_KEY(&w, "],\"evidence\":[");
        for (size_t k = 0; k < t->nevidence; k++) {
            if (!t->evidence[k]) {
                w.fail = 1;
                break;
            }
            if (k)
                JW_LIT(&w, ",");
            jw_str(&w, t->evidence[k]);
        }
        JW_LIT(&w, "]}");
    }

    JW_KEY(&w, "],\"provenance\":");
    if (!rec->prov.set) {
        JW_LIT(&w, "null");
    } else {
        const struct provenance *p = &rec->prov;
        JW_KEY(&w, "{\"topic\":");
        jw_str_or_null(&w, p->topic);
        JW_KEY(&w, ",\"partition\":");
        jw_int(&w, (long long)(int)p->partition);
        JW_KEY(&w, ",\"offset\":");
        jw_int(&w, (long long)p->offset);
        JW_KEY(&w, ",\"timestamp\":");
        jw_int(&w, (long long)p->timestamp_ms);
        JW_KEY(&w, ",\"time\":");
        if (p->timestamp_ms >= 0) {
            decode_format_ms(p->timestamp_ms, ts);
            jw_str(&w, ts);
        } else {
            JW_LIT(&w, "null");
        }
        JW_LIT(&w, "}");
    }

    JW_KEY(&w, ",\"pipeline\":{\"version\":");
    jw_str(&w, WS_VERSION);
    if (processed_at) {
        decode_format_ms(processed_at, ts);
        JW_KEY(&w, ",\"processed_at\":");
        jw_str(&w, ts);
    }
    JW_LIT(&w, "}");

    if (rec->extra) {
        const char *key;
        json_t *val;
        json_object_foreach(rec->extra, key, val) {
            JW_LIT(&w, ",");
            jw_str(&w, key);
            JW_LIT(&w, ":");
            jw_json(&w, val, 0);
        }
    }
    JW_LIT(&w, "}");
    if (w.fail) {
        free(w.p);
        return NULL;
    }
    w.p[w.len] = '\0';
    if (len)
        *len = w.len;
    return w.p;
}

char *encode_record_line(const struct record *rec, enum output_format fmt,
                         int64_t processed_at, size_t *len)
{
    if (fmt == OUTPUT_RECORD) {
        char *s = write_schema(rec, processed_at, len);
        if (s)
            return s;
    }
    json_t *o = encode_record(rec, fmt, processed_at);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}
