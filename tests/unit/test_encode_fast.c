/*
 * test_encode_fast.c - encode_record_line() writes the record format
 * directly; json_dumps() of the Jansson tree from encode_record() is the
 * reference. Thousands of seeded random records (escapes, control
 * characters, non-ASCII, invalid UTF-8, awkward reals, passthrough fields
 * with and without collisions) must give the same bytes, or NULL on both.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/encode.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

/* A string made of pieces chosen to hit every branch of the escaper. */
static char *rnd_str(int allow_invalid)
{
    static const char *const pieces[] = {
        "Kyiv", " ", "said", "\"", "\\", "/", "\n", "\t", "\r", "\b", "\f", "\x01", "\x1f",
        "\x7f", "Chi\xc8\x99in\xc4\x83u", "\xe2\x80\x94", "\xe2\x80\x9c", "\xf0\x9f\x98\x80",
        "\xc2\xa0", "</script>", "%s", "{}", "[", "]", ":", ",", "0", "\xef\xbf\xbf",
    };
    static const char *const bad[] = {
        "\xc3", "\xe2\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80",
    };
    char buf[512];
    size_t len = 0;
    int n = (int)rnd(12);
    for (int i = 0; i < n; i++) {
        const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
        if (allow_invalid && rnd(40) == 0)
            p = bad[rnd(sizeof(bad) / sizeof(bad[0]))];
        size_t pl = strlen(p);
        if (len + pl >= sizeof(buf))
            break;
        memcpy(buf + len, p, pl);
        len += pl;
    }
    buf[len] = '\0';
    return strdup(buf);
}

static char *maybe_str(int allow_invalid)
{
    return rnd(4) == 0 ? NULL : rnd_str(allow_invalid);
}

static double rnd_real(void)
{
    static const double special[] = {0.0, -0.0, 1.0, 0.1, 0.5, 1e-7, 1e21, 123456789.0,
                                     2.5e-300, 1.0 / 3.0, 0.62, 1e100};
    switch (rnd(20)) {
    case 0:
        return NAN;
    case 1:
        return INFINITY;
    default:
        break;
    }
    if (rnd(2))
        return special[rnd(sizeof(special) / sizeof(special[0]))];
    if (rnd(2)) {       /* any mantissa, magnitudes around the fixed-notation range */
        double m = (double)((uint64_t)rnd(1u << 26) << 27 | rnd(1u << 27));
        return ldexp(rnd(2) ? m : -m, (int)rnd(110) - 90);
    }
    return (double)rnd(1000000) / (double)(1 + rnd(1000));
}

static char **rnd_strv(size_t n, int allow_null)
{
    char **v = calloc(n ? n : 1, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = allow_null && rnd(30) == 0 ? NULL : rnd_str(1);
    return v;
}

/* A passthrough value of any shape: nested arrays and objects (empty ones
 * too, and deeper than the direct writer goes), strings that need escaping
 * or are not valid UTF-8, reals among integers. */
static json_t *rnd_json(int depth)
{
    switch (depth > 40 ? rnd(4) : rnd(8)) {
    case 0: return json_integer((json_int_t)rnd(100000) - 50000);
    case 1: return json_real((double)rnd(1000) / 7.0);
    case 2: return rnd(2) ? json_null() : json_boolean(rnd(2));
    case 3: {
        char *s = rnd_str(rnd(8) == 0);
        json_t *v = json_string_nocheck(s);
        free(s);
        return v;
    }
    case 4: case 5: {
        json_t *a = json_array();
        /* a long chain of single-item arrays now and then: past the depth
         * where the direct writer hands over to Jansson */
        for (uint32_t i = depth < 2 && rnd(10) == 0 ? 1 : rnd(4); i > 0; i--)
            json_array_append_new(a, rnd_json(depth + (rnd(10) == 0 ? 40 : 1)));
        return a;
    }
    default: {
        static const char *const keys[] = {"a", "qcode", "name", "x\"y", "\u00e9t\u00e9", ""};
        json_t *o = json_object();
        for (uint32_t i = rnd(4); i > 0; i--)
            json_object_set_new(o, keys[rnd(6)], rnd_json(depth + 1));
        return o;
    }
    }
}

static struct record *rnd_record(void)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    char *b = rnd_str(1);
    record_take_body(rec, b, strlen(b));
    rec->id = maybe_str(1);
    rec->headline = maybe_str(1);
    rec->date = maybe_str(0);
    rec->source = maybe_str(0);
    rec->agency = maybe_str(1);
    rec->dateline = maybe_str(0);
    rec->url = maybe_str(0);
    rec->language = maybe_str(0);

    rec->dedupe.status = (enum dedupe_status)rnd(3);
    rec->dedupe.duplicate_of = maybe_str(1);
    rec->dedupe.cluster = maybe_str(0);
    rec->dedupe.similarity = rnd_real();
    rec->dedupe.cluster_size = rnd(3) ? rnd(5) : UINT32_MAX;

    for (uint32_t i = rnd(4); i > 0; i--) {
        struct entity *e = record_add_entity(rec);
        assert_non_null(e);
        e->name = maybe_str(1);
        e->type = (enum entity_type)rnd(3);
        e->id = maybe_str(0);
        e->role = maybe_str(0);
        e->mentions = rnd(100);
        e->nspans = rnd(4);
        e->spans = calloc(e->nspans ? e->nspans : 1, sizeof(*e->spans));
        for (size_t k = 0; k < e->nspans; k++) {
            e->spans[k].off = rnd(8) ? rnd(5000) : UINT32_MAX - rnd(3);
            e->spans[k].len = rnd(20);
        }
        e->in_headline = (int)rnd(3);
        e->dateline = (int)rnd(2);
        e->salience = rnd_real();
    }
    for (uint32_t i = rnd(3); i > 0; i--) {
        struct topic_hit *t = record_add_topic(rec);
        assert_non_null(t);
        t->name = maybe_str(1);
        t->score = rnd_real();
        t->niptc = rnd(3);
        t->iptc = rnd_strv(t->niptc, 1);
        if (t->niptc && rnd(20) == 0) {     /* longer than strv()'s buffer */
            free(t->iptc[0]);
            t->iptc[0] = calloc(300, 1);
            memset(t->iptc[0], '7', 215 + rnd(3));
        }
        t->nevidence = rnd(4);
        t->evidence = rnd_strv(t->nevidence, 1);
    }
    if (rnd(2)) {
        rec->prov.set = 1;
        rec->prov.topic = maybe_str(1);
        rec->prov.partition = (int32_t)rnd(10) - 1;
        rec->prov.offset = (int64_t)rnd(1000000) * (rnd(2) ? 1 : 1000003);
        rec->prov.timestamp_ms = rnd(5) ? (int64_t)rnd(2000000000) * 1000 + rnd(1000) : -1;
    }
    if (rnd(2)) {
        static const char *const keys[] = {"type", "version", "subject", "located", "urgency",
                                           "body", "input_fields", "pipeline", "x\"y", "é"};
        rec->extra = json_object();
        for (uint32_t i = rnd(4); i > 0; i--) {
            const char *k = keys[rnd(sizeof(keys) / sizeof(keys[0]))];
            json_t *v;
            switch (rnd(6)) {
            case 0: v = json_integer((json_int_t)rnd(100000) - 50000); break;
            case 4: {
                static const json_int_t ext[] = {INT64_MIN, INT64_MAX, 0, -1, 1000000007};
                v = rnd(3) ? json_integer(ext[rnd(5)]) : rnd(2) ? json_true() : json_false();
                break;
            }
            case 1: v = json_real((double)rnd(1000) / 7.0); break;
            case 2: v = rnd(2) ? json_pack("{s:[i,s,n,b]}", "a", (int)rnd(9), "x/y\n", 1)
                               : rnd_json(0);
                    break;
            case 3: v = json_null(); break;
            default: {
                char *s = rnd_str(0);
                v = json_string(s);
                free(s);
            }
            }
            json_object_set_new(rec->extra, k, v);
        }
    }
    return rec;
}

static char *reference(const struct record *rec, int64_t at)
{
    json_t *o = encode_record(rec, OUTPUT_RECORD, at);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void test_same_bytes_as_jansson(void **unused)
{
    size_t null_both = 0;
    rng_state = 20261128;
    for (int i = 0; i < 20000; i++) {
        struct record *rec = rnd_record();
        int64_t at = rnd(2) ? 0 : 1685700930250LL + rnd(100000);
        char *want = reference(rec, at);
        size_t len = (size_t)-1;
        char *got = encode_record_line(rec, OUTPUT_RECORD, at, &len);
        if (!want) {
            if (got)
                fail_msg("record %d: reference failed, direct writer gave %s", i, got);
            null_both++;
        } else {
            if (!got)
                fail_msg("record %d: direct writer failed, reference %s", i, want);
            if (strcmp(want, got) != 0)
                fail_msg("record %d differs:\nwant %s\ngot  %s", i, want, got);
            assert_int_equal(len, strlen(got));
        }
        free(want);
        free(got);
        record_free(rec);
    }
    /* Both kinds of case occur: the test covers the fallback too. */
    assert_true(null_both > 0);
    assert_true(null_both < 20000 / 2);
}

/* Strings are scanned 16 and 8 bytes at a time: every special byte (one
 * that must be escaped, a UTF-8 sequence, an invalid byte that sends the
 * record to the tree path) at every position of strings of 0 to 40 bytes,
 * so each one lands in a block, in a tail and across their edges. */
static void test_special_byte_at_every_offset(void **unused)
{
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", "/",
                                           "\xc3\xa9", "\xe2\x80\x94", "\xf0\x9f\x98\x80",
                                           "\xff", "\xc3"};
    char buf[64];
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        size_t sl = strlen(specials[k]);
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                memset(buf, 'a', len);
                memcpy(buf + at, specials[k], sl);
                size_t n = len + sl;
                buf[n] = '\0';
                struct record *rec = record_new();
                record_take_body(rec, strdup(buf), n);
                record_set(&rec->headline, buf, (size_t)-1);
                char *want = reference(rec, 0);
                char *got = encode_record_line(rec, OUTPUT_RECORD, 0, NULL);
                if (!want != !got || (want && strcmp(want, got) != 0))
                    fail_msg("special %zu, length %zu, at %zu:\nwant %s\ngot  %s", k, len, at,
                             want ? want : "(null)", got ? got : "(null)");
                free(want);
                free(got);
                record_free(rec);
            }
        }
    }
}

/* The common case stays on the direct path: a plain enriched record. */
static void test_plain_record(void **unused)
{
    struct record *rec = record_new();
    char *b = strdup("KYIV, June 2 (Reuters) - Envoys met \"today\" in Kyiv\xe2\x80\x94" "and left.");
    record_take_body(rec, b, strlen(b));
    record_set(&rec->id, "r-1", (size_t)-1);
    struct entity *e = record_add_entity(rec);
    e->name = strdup("Kyiv");
    e->type = ENTITY_PLACE;
    e->salience = 0.1;
    rec->dedupe.similarity = 1.0;
    char *want = reference(rec, 0);
    char *got = encode_record_line(rec, OUTPUT_RECORD, 0, NULL);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "\"similarity\":1.0,"));
    assert_non_null(strstr(got, "\"salience\":0.10000000000000001}"));
    free(want);
    free(got);
    record_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_jansson),
        cmocka_unit_test(test_plain_record),
        cmocka_unit_test(test_special_byte_at_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
