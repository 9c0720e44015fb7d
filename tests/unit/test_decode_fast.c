/*
 * test_decode_fast.c - decode's one-pass reader of the article object
 * against the Jansson reader it falls back to. An object with more than 64
 * keys always takes the Jansson path, so each seeded random article is
 * decoded as is and again padded with 64 extra keys: the records must be
 * the same (the padding removed from the passthrough fields), and so must
 * the reason code and message when the article is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/decode.h"
#include "core/encode.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

struct sb {
    char *p;
    size_t len, cap;
};

static void put(struct sb *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void ws(struct sb *b)
{
    static const char *const w[] = {"", "", "", " ", "\t", "\r\n", "  "};
    put(b, w[rnd(7)]);
}

static void str(struct sb *b)
{
    static const char *const good[] = {
        "Kyiv", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "\\t", "\xc3\xa9",
        "\\u20AC", " ", "2025-03-01T00:00:02Z", "2025-03-01", "\\b\\f\\r", "\\u001f",
        "\xf0\x9f\x98\x80", "\\u00E9t\\u00e9", "   ",
    };
    static const char *const bad[] = {"\\u0000", "\\ud83d", "\\ude00", "\\x", "\t",
                                      "\\u12G4", "\x01"};
    put(b, "\"");
    for (uint32_t i = rnd(7); i > 0; i--)
        put(b, good[rnd(sizeof(good) / sizeof(good[0]))]);
    if (rnd(40) == 0)
        put(b, bad[rnd(sizeof(bad) / sizeof(bad[0]))]);
    put(b, "\"");
}

static void value(struct sb *b, int depth)
{
    static const char *const scalars[] = {"null", "0", "-1", "5", "123456789012", "1.5", "-0.0",
                                          "1e5", "2E-3", "true", "false", "1e400",
                                          "12345678901234567890", "nul", "01"};
    uint32_t r = rnd(100);
    if (r < 55) {
        str(b);
    } else if (r < 75 || depth >= 3) {
        put(b, scalars[rnd(r < 73 ? 12 : 15)]);
    } else if (r < 87) {
        put(b, "[");
        for (uint32_t i = rnd(4), k = 0; i > 0; i--, k++) {
            if (k)
                put(b, ",");
            ws(b);
            value(b, depth + 1);
        }
        put(b, "]");
    } else {
        put(b, "{");
        for (uint32_t i = rnd(4), k = 0; i > 0; i--, k++) {
            if (k)
                put(b, ",");
            str(b);
            put(b, ":");
            value(b, depth + 1);
        }
        put(b, "}");
    }
}

/* A random article object without its closing brace. */
static char *article(void)
{
    static const char *const keys[] = {
        "id", "uri", "headline", "body", "body_text", "date", "versioncreated",
        "firstcreated", "source", "agency", "url", "language", "type", "subject", "urgency",
        "bo\\u0064y", "\\u00e9t\\u00e9", "located",
    };
    struct sb b = {0};
    int used[sizeof(keys) / sizeof(keys[0])] = {0};
    ws(&b);
    put(&b, "{");
    int k = 0;
    if (rnd(10)) {
        put(&b, "\"body_text\":");
        str(&b);
        used[4] = 1;
        k++;
    }
    for (uint32_t i = rnd(9); i > 0; i--) {
        size_t ki = rnd(sizeof(keys) / sizeof(keys[0]));
        if (used[ki] && rnd(20))
            continue;               /* a duplicate now and then */
        used[ki] = 1;
        if (k++)
            put(&b, ",");
        ws(&b);
        put(&b, "\"");
        put(&b, keys[ki]);
        put(&b, "\"");
        ws(&b);
        put(&b, ":");
        ws(&b);
        if (ki >= 5 && ki <= 7 && rnd(4))
            put(&b, rnd(2) ? "\"2025-03-01T00:00:02Z\"" : "\"2025-03-01T10:00:00+02:00\"");
        else if (ki <= 11 && rnd(2))
            str(&b);
        else
            value(&b, 0);
    }
    if (!k)
        put(&b, "\"pad\":1");
    return b.p;
}

static char *show(struct record *rec, const struct decode_error *err)
{
    char *s;
    if (!rec) {
        size_t n = strlen(err->msg) + 64;
        s = malloc(n);
        snprintf(s, n, "refused %s: %s", err->code ? err->code : "(none)", err->msg);
        return s;
    }
    if (rec->extra) {
        char key[16];
        for (int i = 0; i < 64; i++) {
            snprintf(key, sizeof(key), "zz%d", i);
            json_object_del(rec->extra, key);
        }
        if (json_object_size(rec->extra) == 0) {
            json_decref(rec->extra);
            rec->extra = NULL;
        }
    }
    s = encode_record_line(rec, OUTPUT_RECORD, 0, NULL);
    assert_non_null(s);
    return s;
}

static void test_same_records_as_jansson(void **unused)
{
    struct decode_opts o = {INPUT_AUTO, 1 << 20, 4 << 20};
    size_t accepted = 0;
    rng_state = 9;
    for (int i = 0; i < 20000; i++) {
        char *a = article();
        size_t alen = strlen(a);
        char *plain = malloc(alen + 8), *padded = malloc(alen + 64 * 12 + 8);
        const char *tail = rnd(50) ? "}" : rnd(2) ? "} x" : ",}";
        snprintf(plain, alen + 8, "%s%s", a, tail);
        strcpy(padded, a);
        for (int k = 0; k < 64; k++)
            sprintf(padded + strlen(padded), ",\"zz%d\":%d", k, k);
        strcat(padded, tail);

        struct decode_error e1, e2;
        struct record *r1 = decode_article(plain, strlen(plain), &o, &e1);
        struct record *r2 = decode_article(padded, strlen(padded), &o, &e2);
        char *s1 = show(r1, &e1), *s2 = show(r2, &e2);
        accepted += r1 != NULL;
        /* Error positions differ with the padding; codes must not. */
        if (!r1 || !r2) {
            if (!e1.code || !e2.code || strcmp(e1.code, e2.code) != 0)
                fail_msg("article %d:\n%s\n%s\n%s", i, plain, s1, s2);
        } else if (strcmp(s1, s2) != 0) {
            fail_msg("article %d differs:\n%s\nfast   %s\nJansson %s", i, plain, s1, s2);
        }
        free(s1);
        free(s2);
        record_free(r1);
        record_free(r2);
        free(a);
        free(plain);
        free(padded);
    }
    print_message("%zu of 20000 accepted\n", accepted);
    assert_true(accepted > 5000);
    assert_true(accepted < 19000);
}

/* Refusals from the one-pass reader carry Jansson's own message. */
static void test_errors_unchanged(void **unused)
{
    struct decode_opts o = {INPUT_AUTO, 1 << 20, 4 << 20};
    struct decode_error err;
    static const struct {
        const char *in, *code, *msg;
    } cases[] = {
        {"{\"body\":\"a\",\"body\":\"b\"}", DECODE_INVALID_JSON, "duplicate object key"},
        {"{\"body\":\"a\\u0000b\"}", DECODE_INVALID_JSON, "\\u0000 is not allowed"},
        {"{\"body\":\"a\"} x", DECODE_INVALID_JSON, "end of file expected"},
        {"{\"body\":\"a\",}", DECODE_INVALID_JSON, "string or '}' expected"},
        {"{\"body\":5}", DECODE_WRONG_TYPE, "field \"body\" must be a string"},
        {"{\"id\":[1,2],\"body\":\"x\"}", DECODE_WRONG_TYPE, "field \"id\" must be a string"},
        {"{\"body\":\"x\",\"n\":1e400}", DECODE_INVALID_JSON, "real number overflow"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct record *rec = decode_article(cases[i].in, strlen(cases[i].in), &o, &err);
        assert_null(rec);
        assert_string_equal(err.code, cases[i].code);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].in, err.msg, cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_records_as_jansson),
        cmocka_unit_test(test_errors_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
