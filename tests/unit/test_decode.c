/*
 * test_decode.c - one message into a record: every reason code of
 * core/decode.h, ninjs field aliases, pass-through of unknown fields, wrong
 * types, ISO 8601 variants and invalid dates, and the plain-text
 * " date YYYY-MM-DD" marker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/decode.h"

static const struct decode_opts opts = {
    .format = INPUT_AUTO,
    .max_body_size = 1000,
    .max_message_size = 4000,
};

static struct record *ok_with(const char *s, size_t len, const struct decode_opts *o)
{
    struct decode_error err;
    struct record *rec = decode_article(s, len, o, &err);
    if (!rec)
        fail_msg("decoding %.80s failed: %s: %s", s, err.code, err.msg);
    assert_null(err.code);
    return rec;
}

static struct record *ok(const char *s)
{
    return ok_with(s, strlen(s), &opts);
}

static void bad_with(const char *s, size_t len, const struct decode_opts *o, const char *code)
{
    struct decode_error err;
    struct record *rec = decode_article(s, len, o, &err);
    if (rec) {
        record_free(rec);
        fail_msg("decoding %.80s succeeded, expected %s", s, code);
    }
    assert_non_null(err.code);
    if (strcmp(err.code, code) != 0)
        fail_msg("decoding %.80s: got %s (%s), expected %s", s, err.code, err.msg, code);
    assert_true(err.msg[0] != '\0');
}

static void bad(const char *s, const char *code)
{
    bad_with(s, strlen(s), &opts, code);
}

static void test_minimal_json(void **unused)
{
    struct record *rec = ok("{\"id\":\"r-1\",\"headline\":\"Talks resume\",\"body\":\"Envoys met.\","
                            "\"date\":\"2023-06-02T10:15:30Z\",\"source\":\"Example Wire\","
                            "\"agency\":\"Reuters\",\"url\":\"https://example.org/a\","
                            "\"language\":\"en\"}");
    assert_int_equal(rec->format, INPUT_JSON);
    assert_string_equal(rec->id, "r-1");
    assert_string_equal(rec->headline, "Talks resume");
    assert_string_equal(rec->body, "Envoys met.");
    assert_int_equal(rec->body_len, 11);
    assert_string_equal(rec->date, "2023-06-02T10:15:30Z");
    assert_int_equal(rec->date_ms, 1685700930000LL);
    assert_string_equal(rec->source, "Example Wire");
    assert_string_equal(rec->agency, "Reuters");
    assert_string_equal(rec->url, "https://example.org/a");
    assert_string_equal(rec->language, "en");
    assert_null(rec->extra);
    assert_null(rec->dateline);
    assert_false(rec->id_generated);
    record_free(rec);

    /* Only a body: everything else absent, date unknown. */
    rec = ok("  {\"body\":\"Envoys met.\"}  ");
    assert_null(rec->id);
    assert_null(rec->headline);
    assert_null(rec->date);
    assert_true(rec->date_ms == RECORD_DATE_UNKNOWN);
    record_free(rec);

    /* Nulls and empty strings count as absent. */
    rec = ok("{\"id\":\"\",\"headline\":\"  \",\"body\":\"x\",\"source\":null,\"agency\":\"\","
             "\"date\":null}");
    assert_null(rec->id);
    assert_null(rec->headline);
    assert_null(rec->source);
    assert_null(rec->agency);
    assert_null(rec->date);
    record_free(rec);
}

static void test_ninjs_aliases(void **unused)
{
    struct record *rec = ok("{\"uri\":\"urn:ex:1\",\"body_text\":\"Body via ninjs.\","
                            "\"versioncreated\":\"2023-06-02T12:00:00+02:00\"}");
    assert_string_equal(rec->id, "urn:ex:1");
    assert_string_equal(rec->body, "Body via ninjs.");
    assert_string_equal(rec->date, "2023-06-02T10:00:00Z");
    assert_null(rec->extra);          /* aliases are known fields */
    record_free(rec);

    rec = ok("{\"body\":\"b\",\"firstcreated\":\"2022-02-24T03:00:00Z\"}");
    assert_string_equal(rec->date, "2022-02-24T03:00:00Z");
    record_free(rec);

    /* Precedence: id over uri, body over body_text, date over
     * versioncreated over firstcreated; a null id falls back to uri. */
    rec = ok("{\"id\":\"own\",\"uri\":\"urn:x\",\"body\":\"main\",\"body_text\":\"alt\","
             "\"firstcreated\":\"2020-01-01\",\"versioncreated\":\"2021-01-01\","
             "\"date\":\"2022-01-01\"}");
    assert_string_equal(rec->id, "own");
    assert_string_equal(rec->body, "main");
    assert_string_equal(rec->date, "2022-01-01T00:00:00Z");
    record_free(rec);
    rec = ok("{\"id\":null,\"uri\":\"urn:x\",\"body\":\"main\","
             "\"versioncreated\":\"2021-01-01\",\"firstcreated\":\"2020-01-01\"}");
    assert_string_equal(rec->id, "urn:x");
    assert_string_equal(rec->date, "2021-01-01T00:00:00Z");
    record_free(rec);
}

static void test_unknown_fields_pass_through(void **unused)
{
    struct record *rec = ok("{\"body\":\"b\",\"priority\":3,\"slugline\":\"UKRAINE-CRISIS\","
                            "\"keywords\":[\"war\",\"drones\"],\"meta\":{\"desk\":\"world\"},"
                            "\"dedupe\":\"theirs\",\"embargo\":null}");
    assert_non_null(rec->extra);
    assert_int_equal(json_object_size(rec->extra), 6);
    assert_int_equal(json_integer_value(json_object_get(rec->extra, "priority")), 3);
    assert_string_equal(json_string_value(json_object_get(rec->extra, "slugline")),
                        "UKRAINE-CRISIS");
    assert_int_equal(json_array_size(json_object_get(rec->extra, "keywords")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec->extra, "meta"),
                                                          "desk")), "world");
    assert_true(json_is_null(json_object_get(rec->extra, "embargo")));
    assert_null(json_object_get(rec->extra, "body"));
    record_free(rec);
}

static void test_wrong_types(void **unused)
{
    bad("{\"headline\":42,\"body\":\"b\"}", DECODE_WRONG_TYPE);
    bad("{\"body\":{\"text\":\"b\"}}", DECODE_WRONG_TYPE);
    bad("{\"body\":[\"b\"]}", DECODE_WRONG_TYPE);
    bad("{\"body\":true}", DECODE_WRONG_TYPE);
    bad("{\"id\":17,\"body\":\"b\"}", DECODE_WRONG_TYPE);
    bad("{\"uri\":{},\"body\":\"b\"}", DECODE_WRONG_TYPE);
    bad("{\"body_text\":1.5}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"date\":1685700930}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"versioncreated\":false}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"source\":[\"AP\"]}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"agency\":1}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"url\":{}}", DECODE_WRONG_TYPE);
    bad("{\"body\":\"b\",\"language\":true}", DECODE_WRONG_TYPE);

    struct decode_error err;
    assert_null(decode_article("{\"headline\":42,\"body\":\"b\"}", 26, &opts, &err));
    assert_non_null(strstr(err.msg, "headline"));
}

static void test_reason_codes(void **unused)
{
    bad("", DECODE_EMPTY_MESSAGE);
    bad_with("", 0, &opts, DECODE_EMPTY_MESSAGE);
    bad(" \t\r\n ", DECODE_EMPTY_MESSAGE);

    bad("{\"body\":\"x\"", DECODE_INVALID_JSON);                 /* truncated */
    bad("{\"body\":\"x\",}", DECODE_INVALID_JSON);
    bad("{body:\"x\"}", DECODE_INVALID_JSON);
    bad("{\"body\":\"x\"} trailing", DECODE_INVALID_JSON);
    bad("{\"body\":\"\\ud800 alone\"}", DECODE_INVALID_JSON);    /* lone surrogate escape */
    bad("{\"body\":\"a\\u0000b\"}", DECODE_INVALID_JSON);        /* escaped NUL */
    bad("{\"body\":\"a\",\"body\":\"b\"}", DECODE_INVALID_JSON); /* duplicate key */

    bad("[{\"body\":\"x\"}]", DECODE_NOT_OBJECT);
    bad("\"just a string\"", DECODE_NOT_OBJECT);
    bad("42", DECODE_NOT_OBJECT);
    bad("-1.5e3", DECODE_NOT_OBJECT);
    bad("true", DECODE_NOT_OBJECT);
    bad("null", DECODE_NOT_OBJECT);

    bad("{\"headline\":\"no body\"}", DECODE_MISSING_BODY);
    bad("{\"body\":null}", DECODE_MISSING_BODY);
    bad("{}", DECODE_MISSING_BODY);
    bad("{\"body\":\"\"}", DECODE_EMPTY_BODY);
    bad("{\"body\":\" \\n\\t \"}", DECODE_EMPTY_BODY);
    bad("{\"body\":\"x\",\"date\":\"2023-02-30\"}", DECODE_INVALID_DATE);

    const char nul[] = "{\"body\":\"a\0b\"}";
    bad_with(nul, sizeof(nul) - 1, &opts, DECODE_NUL_BYTE);
    bad("{\"body\":\"caf\xC3\"}", DECODE_INVALID_UTF8);
    bad("{\"body\":\"\xC0\xAF\"}", DECODE_INVALID_UTF8);          /* overlong */
    bad("{\"body\":\"\xED\xA0\x80\"}", DECODE_INVALID_UTF8);      /* raw surrogate */
    bad("{\"body\":\"\xF4\x90\x80\x80\"}", DECODE_INVALID_UTF8);  /* > U+10FFFF */
    bad("plain text \xFF", DECODE_INVALID_UTF8);

    struct decode_error err;
    assert_null(decode_article(nul, sizeof(nul) - 1, &opts, &err));
    assert_non_null(strstr(err.msg, "offset 10"));
}

static void test_size_limits(void **unused)
{
    struct decode_opts o = opts;
    char *big = malloc(5000);
    assert_non_null(big);

    /* Body exactly at the limit passes, one more byte fails. */
    o.max_body_size = 20;
    struct record *rec = ok_with("{\"body\":\"12345678901234567890\"}", 31, &o);
    assert_int_equal(rec->body_len, 20);
    record_free(rec);
    bad_with("{\"body\":\"123456789012345678901\"}", 32, &o, DECODE_BODY_TOO_LARGE);
    bad_with("123456789012345678901", 21, &o, DECODE_BODY_TOO_LARGE);
    /* Plain text: the limit applies after trimming. */
    rec = ok_with("   12345678901234567890   ", 26, &o);
    record_free(rec);

    /* The message limit is checked before anything else. */
    memset(big, 'x', 5000);
    bad_with(big, 4001, &opts, DECODE_MESSAGE_TOO_LARGE);
    big[0] = '{';
    bad_with(big, 5000, &opts, DECODE_MESSAGE_TOO_LARGE);
    free(big);
}

static void test_iso8601(void **unused)
{
    struct {
        const char *in, *norm;
        int64_t ms;
    } good[] = {
        {"2023-06-02", "2023-06-02T00:00:00Z", 1685664000000LL},
        {"2023-06-02T10:15:30Z", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02t10:15:30z", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02 10:15:30Z", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T10:15Z", "2023-06-02T10:15:00Z", 1685700900000LL},
        {"2023-06-02T10:15:30", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T10:15:30.250Z", "2023-06-02T10:15:30Z", 1685700930250LL},
        {"2023-06-02T10:15:30.123456789Z", "2023-06-02T10:15:30Z", 1685700930123LL},
        {"2023-06-02T10:15:30,5Z", "2023-06-02T10:15:30Z", 1685700930500LL},
        {"2023-06-02T12:15:30+02:00", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T12:15:30+0200", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T12:15:30+02", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T04:45:30-05:30", "2023-06-02T10:15:30Z", 1685700930000LL},
        {"2023-06-02T01:00:00+03:00", "2023-06-01T22:00:00Z", 1685656800000LL},
        {"2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00Z", 1704069000000LL},
        {"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z", 1709164800000LL},
        {"2000-02-29", "2000-02-29T00:00:00Z", 951782400000LL},
        {"2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z", 1483228799000LL},
        {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char out[32] = "";
        int64_t ms = -1;
        if (decode_iso8601(good[i].in, &ms, out) != 0)
            fail_msg("\"%s\" rejected", good[i].in);
        assert_string_equal(out, good[i].norm);
        assert_int_equal(ms, good[i].ms);
    }
    const char *invalid[] = {
        "", "2023", "2023-06", "2023-6-2", "23-06-02", "2023/06/02", "2023-02-30",
        "2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-00-10", "2023-06-00",
        "2023-06-32", "2023-06-02T", "2023-06-02T25:00Z", "2023-06-02T10:60Z",
        "2023-06-02T10:15:61Z", "2023-06-02T10:15:30.Z", "2023-06-02T10:15:30Zjunk",
        "2023-06-02T10:15:30+24:00", "2023-06-02T10:15:30+02:75", "2023-06-02T10:15:30+2",
        "2023-06-02Z", "2023-06-02 ", " 2023-06-02", "June 2, 2023", "1066-10-14",
        "2023-06-02T10", "2023-06-02T1015",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        char out[32];
        int64_t ms;
        if (decode_iso8601(invalid[i], &ms, out) == 0)
            fail_msg("\"%s\" accepted as %s", invalid[i], out);
    }
}

static void test_format_ms(void **unused)
{
    char out[32];
    decode_format_ms(1685700930250LL, out);
    assert_string_equal(out, "2023-06-02T10:15:30.250Z");
    decode_format_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    /* Before the epoch the second rounds down, not toward zero. */
    decode_format_ms(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    decode_format_ms(-1500, out);
    assert_string_equal(out, "1969-12-31T23:59:58.500Z");
}

static void test_plain_text(void **unused)
{
    struct record *rec = ok(" date 2023-06-02 President spoke on Friday.\n\nMore text.\n");
    assert_int_equal(rec->format, INPUT_TEXT);
    assert_string_equal(rec->date, "2023-06-02T00:00:00Z");
    assert_string_equal(rec->body, "President spoke on Friday.\n\nMore text.");
    assert_null(rec->headline);
    assert_null(rec->id);
    assert_null(rec->extra);
    record_free(rec);

    rec = ok("date 2023-06-02\nKYIV, June 2 (Reuters) - Text.");
    assert_string_equal(rec->date, "2023-06-02T00:00:00Z");
    assert_string_equal(rec->body, "KYIV, June 2 (Reuters) - Text.");
    record_free(rec);

    /* Not a marker: no date, the words stay in the body. */
    const char *not_marker[] = {"dated 2023-06-02 letters were found.",
                                "date 2023-06-02x is not a marker.",
                                "The date 2023-06-02 was chosen."};
    for (size_t i = 0; i < 3; i++) {
        rec = ok(not_marker[i]);
        assert_null(rec->date);
        assert_string_equal(rec->body, not_marker[i]);
        record_free(rec);
    }

    bad(" date 2023-02-30 Impossible day.", DECODE_INVALID_DATE);
    bad(" date 2023-13-02 Impossible month.", DECODE_INVALID_DATE);
    bad(" date 2023-06-02   \n\n ", DECODE_EMPTY_BODY);

    /* Forced text format: even a JSON-looking message is an article. */
    struct decode_opts o = opts;
    o.format = INPUT_TEXT;
    rec = ok_with("{\"body\":\"x\"}", 12, &o);
    assert_string_equal(rec->body, "{\"body\":\"x\"}");
    record_free(rec);
    /* Forced JSON: plain text is invalid JSON. */
    o.format = INPUT_JSON;
    bad_with("KYIV - text", 11, &o, DECODE_INVALID_JSON);
}

static void test_auto_detection(void **unused)
{
    /* Text that merely starts like a JSON scalar is still an article. */
    const char *text[] = {"2023 was a hard year for the front line.", "- a bulleted line",
                          "taking stock of the war", "no deal, officials said",
                          "false dawn for talks", "\"We will win,\" he said."};
    for (size_t i = 0; i < 6; i++) {
        struct record *rec = ok(text[i]);
        assert_int_equal(rec->format, INPUT_TEXT);
        record_free(rec);
    }
    /* A UTF-8 byte order mark does not turn a JSON object into text. */
    struct record *rec = ok("\xEF\xBB\xBF{\"body\":\"Envoys met.\"}");
    assert_int_equal(rec->format, INPUT_JSON);
    assert_string_equal(rec->body, "Envoys met.");
    record_free(rec);
}

static void test_deep_nesting(void **unused)
{
    size_t n = 100000;
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    struct decode_opts o = opts;
    o.max_message_size = 1 << 20;
    bad_with(s, 2 * n, &o, DECODE_INVALID_JSON);
    s[0] = '{';
    bad_with(s, n, &o, DECODE_INVALID_JSON);
    free(s);
}

/* Strings are scanned 16 and 8 bytes at a time: an escape, a UTF-8
 * sequence or a raw control character (invalid JSON) at every position of
 * bodies of 0 to 40 bytes, so each lands in a block, in a tail and across
 * their edges. */
static void test_escape_at_every_offset(void **unused)
{
    static const struct { const char *json, *text; } cases[] = {
        {"\\n", "\n"}, {"\\\"", "\""}, {"\\\\", "\\"}, {"\\/", "/"},
        {"\\u00e9", "\xc3\xa9"}, {"\xc3\xa9", "\xc3\xa9"},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"}, {"\x01", NULL}, {"\x1f", NULL},
    };
    char json[160], want[128];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        for (size_t len = 1; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                int n = snprintf(json, sizeof(json), "{\"id\":\"e\",\"body\":\"%.*s%s%.*s\"}",
                                 (int)at, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", cases[k].json,
                                 (int)(len - at), "cccccccccccccccccccccccccccccccccccccccc");
                if (!cases[k].text) {
                    bad_with(json, (size_t)n, &opts, DECODE_INVALID_JSON);
                    continue;
                }
                snprintf(want, sizeof(want), "%.*s%s%.*s", (int)at,
                         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", cases[k].text, (int)(len - at),
                         "cccccccccccccccccccccccccccccccccccccccc");
                struct record *rec = ok_with(json, (size_t)n, &opts);
                if (strcmp(rec->body, want) != 0)
                    fail_msg("case %zu, length %zu, at %zu: body %s", k, len, at, rec->body);
                record_free(rec);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_json),
        cmocka_unit_test(test_ninjs_aliases),
        cmocka_unit_test(test_unknown_fields_pass_through),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_format_ms),
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_auto_detection),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_escape_at_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
