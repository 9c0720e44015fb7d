/*
 * test_encode.c - the output record: every schema field present, spans,
 * IPTC and Wikidata URIs, the ninjs form, and pass-through of unknown
 * input fields (collisions kept under "input_fields").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/encode.h"

static const char *const schema_fields[] = {
    "schema_version", "id", "headline", "body", "date", "source", "agency", "dateline",
    "url", "language", "dedupe", "entities", "topics", "provenance", "pipeline", NULL,
};

static struct record *minimal(void)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    char *b = strdup("Envoys met in Geneva.");
    record_take_body(rec, b, strlen(b));
    record_set(&rec->id, "r-1", (size_t)-1);
    return rec;
}

static char **strv(const char *const *v, size_t n)
{
    char **out = calloc(n, sizeof(*out));
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        out[i] = strdup(v[i]);
    return out;
}

/* A record with what the processors would have added. */
static struct record *enriched(void)
{
    struct record *rec = minimal();
    record_set(&rec->headline, "Envoys meet", (size_t)-1);
    record_set(&rec->date, "2023-06-02T10:15:30Z", (size_t)-1);
    record_set(&rec->agency, "Reuters", (size_t)-1);
    record_set(&rec->dateline, "GENEVA", (size_t)-1);
    record_set(&rec->url, "https://example.org/geneva", (size_t)-1);
    record_set(&rec->language, "en", (size_t)-1);

    struct entity *e = record_add_entity(rec);
    e->name = strdup("Geneva");
    e->type = ENTITY_PLACE;
    e->id = strdup("Q71");
    e->mentions = 1;
    e->spans = malloc(sizeof(*e->spans));
    e->spans[0].off = 14;
    e->spans[0].len = 6;
    e->nspans = 1;
    e->dateline = 1;
    e->salience = 0.75;
    e = record_add_entity(rec);
    e->name = strdup("Antonio Guterres");
    e->type = ENTITY_PERSON;
    e->id = strdup("Q311440");
    e->mentions = 2;
    e->in_headline = 1;
    e = record_add_entity(rec);
    e->name = strdup("Contact Group");
    e->type = ENTITY_ORGANIZATION;       /* no QID */

    struct topic_hit *t = record_add_topic(rec);
    t->name = strdup("diplomacy");
    t->score = 0.8;
    const char *codes[] = {"20000638", "20000621"};
    t->iptc = strv(codes, 2);
    t->niptc = 2;
    const char *ev[] = {"envoys", "talks"};
    t->evidence = strv(ev, 2);
    t->nevidence = 2;

    rec->dedupe.status = DEDUPE_NEAR_DUPLICATE;
    rec->dedupe.duplicate_of = strdup("r-0");
    rec->dedupe.cluster = strdup("r-0");
    rec->dedupe.similarity = 0.62;
    rec->dedupe.cluster_size = 3;
    return rec;
}

static void test_every_field_present(void **unused)
{
    struct record *rec = minimal();
    json_t *o = encode_record(rec, OUTPUT_RECORD, 0);
    assert_non_null(o);
    for (size_t i = 0; schema_fields[i]; i++)
        if (!json_object_get(o, schema_fields[i]))
            fail_msg("field %s missing", schema_fields[i]);
    assert_int_equal(json_object_size(o), 15);
    assert_string_equal(json_string_value(json_object_get(o, "schema_version")), SCHEMA_VERSION);
    assert_string_equal(json_string_value(json_object_get(o, "body")), "Envoys met in Geneva.");
    const char *nulls[] = {"headline", "date", "source", "agency", "dateline", "url",
                           "language", "provenance"};
    for (size_t i = 0; i < 8; i++)
        assert_true(json_is_null(json_object_get(o, nulls[i])));
    assert_int_equal(json_array_size(json_object_get(o, "entities")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "topics")), 0);

    json_t *d = json_object_get(o, "dedupe");
    assert_string_equal(json_string_value(json_object_get(d, "status")), "unique");
    assert_true(json_is_null(json_object_get(d, "duplicate_of")));
    assert_string_equal(json_string_value(json_object_get(d, "cluster")), "r-1");
    assert_int_equal(json_integer_value(json_object_get(d, "cluster_size")), 1);
    assert_true(json_real_value(json_object_get(d, "similarity")) == 0.0);

    json_t *p = json_object_get(o, "pipeline");
    assert_non_null(json_object_get(p, "version"));
    assert_null(json_object_get(p, "processed_at"));   /* 0: omitted */
    json_decref(o);

    o = encode_record(rec, OUTPUT_RECORD, 1685700930250LL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "pipeline"),
                                                          "processed_at")),
                        "2023-06-02T10:15:30.250Z");
    json_decref(o);
    record_free(rec);
}

static void test_enriched_record(void **unused)
{
    struct record *rec = enriched();
    json_t *o = encode_record(rec, OUTPUT_RECORD, 0);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "dateline")), "GENEVA");

    json_t *ents = json_object_get(o, "entities");
    assert_int_equal(json_array_size(ents), 3);
    json_t *g = json_array_get(ents, 0);
    assert_string_equal(json_string_value(json_object_get(g, "name")), "Geneva");
    assert_string_equal(json_string_value(json_object_get(g, "type")), "place");
    assert_string_equal(json_string_value(json_object_get(g, "id")), "Q71");
    json_t *span = json_array_get(json_object_get(g, "spans"), 0);
    assert_int_equal(json_integer_value(json_object_get(span, "start")), 14);
    assert_int_equal(json_integer_value(json_object_get(span, "end")), 20);
    /* A span indexes the output body. */
    const char *body = json_string_value(json_object_get(o, "body"));
    assert_memory_equal(body + 14, "Geneva", 6);
    assert_true(json_is_true(json_object_get(g, "dateline")));
    assert_true(json_is_false(json_object_get(g, "in_headline")));
    assert_true(json_real_value(json_object_get(g, "salience")) == 0.75);
    json_t *person = json_array_get(ents, 1);
    assert_string_equal(json_string_value(json_object_get(person, "type")), "person");
    assert_true(json_is_true(json_object_get(person, "in_headline")));
    assert_int_equal(json_array_size(json_object_get(person, "spans")), 0);
    json_t *org = json_array_get(ents, 2);
    assert_string_equal(json_string_value(json_object_get(org, "type")), "organization");
    assert_true(json_is_null(json_object_get(org, "id")));

    json_t *topic = json_array_get(json_object_get(o, "topics"), 0);
    assert_string_equal(json_string_value(json_object_get(topic, "name")), "diplomacy");
    assert_true(json_real_value(json_object_get(topic, "score")) == 0.8);
    json_t *iptc = json_object_get(topic, "iptc");
    assert_int_equal(json_array_size(iptc), 2);
    assert_string_equal(json_string_value(json_array_get(iptc, 0)),
                        "http://cv.iptc.org/newscodes/mediatopic/20000638");
    assert_string_equal(json_string_value(json_array_get(json_object_get(topic, "evidence"), 1)),
                        "talks");

    json_t *d = json_object_get(o, "dedupe");
    assert_string_equal(json_string_value(json_object_get(d, "status")), "near_duplicate");
    assert_string_equal(json_string_value(json_object_get(d, "duplicate_of")), "r-0");
    assert_string_equal(json_string_value(json_object_get(d, "cluster")), "r-0");
    assert_int_equal(json_integer_value(json_object_get(d, "cluster_size")), 3);
    json_decref(o);

    rec->prov.set = 1;
    rec->prov.topic = strdup("news.raw");
    rec->prov.partition = 2;
    rec->prov.offset = 41;
    rec->prov.timestamp_ms = 1685700930250LL;
    o = encode_record(rec, OUTPUT_RECORD, 0);
    json_t *p = json_object_get(o, "provenance");
    assert_string_equal(json_string_value(json_object_get(p, "topic")), "news.raw");
    assert_int_equal(json_integer_value(json_object_get(p, "partition")), 2);
    assert_int_equal(json_integer_value(json_object_get(p, "offset")), 41);
    assert_string_equal(json_string_value(json_object_get(p, "time")), "2023-06-02T10:15:30.250Z");
    json_decref(o);

    /* A message without a timestamp (-1) has no time, not a 1969 date. */
    rec->prov.timestamp_ms = -1;
    o = encode_record(rec, OUTPUT_RECORD, 0);
    p = json_object_get(o, "provenance");
    assert_int_equal(json_integer_value(json_object_get(p, "timestamp")), -1);
    assert_true(json_is_null(json_object_get(p, "time")));
    json_decref(o);
    record_free(rec);
}

static void test_ninjs(void **unused)
{
    struct record *rec = enriched();
    json_t *o = encode_record(rec, OUTPUT_NINJS, 0);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "uri")), "https://example.org/geneva");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(o, "body_text")), "Envoys met in Geneva.");
    assert_string_equal(json_string_value(json_object_get(o, "versioncreated")),
                        "2023-06-02T10:15:30Z");
    assert_string_equal(json_string_value(json_object_get(o, "located")), "GENEVA");
    assert_string_equal(json_string_value(json_object_get(o, "copyrightholder")), "Reuters");

    json_t *subjects = json_object_get(o, "subjects");
    assert_int_equal(json_array_size(subjects), 2);
    json_t *s0 = json_array_get(subjects, 0);
    assert_string_equal(json_string_value(json_object_get(s0, "uri")),
                        "http://cv.iptc.org/newscodes/mediatopic/20000638");
    assert_string_equal(json_string_value(json_object_get(s0, "name")), "diplomacy");
    assert_int_equal(json_integer_value(json_object_get(s0, "relevance")), 80);

    json_t *people = json_object_get(o, "people");
    assert_int_equal(json_array_size(people), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(people, 0), "uri")),
                        "http://www.wikidata.org/entity/Q311440");
    json_t *places = json_object_get(o, "places");
    assert_string_equal(json_string_value(json_object_get(json_array_get(places, 0), "uri")),
                        "http://www.wikidata.org/entity/Q71");
    json_t *orgs = json_object_get(o, "organisations");
    assert_int_equal(json_array_size(orgs), 1);
    assert_null(json_object_get(json_array_get(orgs, 0), "uri"));   /* no QID, no URI */

    json_t *ws = json_object_get(o, "wirestream");
    assert_string_equal(json_string_value(json_object_get(ws, "schema_version")), SCHEMA_VERSION);
    assert_string_equal(json_string_value(json_object_get(ws, "id")), "r-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ws, "dedupe"), "status")),
                        "near_duplicate");
    json_decref(o);

    /* Without a URL the uri is a URN of the id. */
    free(rec->url);
    rec->url = NULL;
    o = encode_record(rec, OUTPUT_NINJS, 0);
    assert_string_equal(json_string_value(json_object_get(o, "uri")), "urn:wirestream:r-1");
    json_decref(o);
    record_free(rec);

    enum output_format f;
    assert_int_equal(encode_parse_format("ninjs", &f), 0);
    assert_int_equal(f, OUTPUT_NINJS);
    assert_int_equal(encode_parse_format("record", &f), 0);
    assert_int_equal(f, OUTPUT_RECORD);
    assert_int_equal(encode_parse_format("xml", &f), -1);
}

static void test_passthrough_and_collisions(void **unused)
{
    struct record *rec = minimal();
    json_error_t jerr;
    rec->extra = json_loads("{\"priority\":3,\"keywords\":[\"war\"],\"dedupe\":\"theirs\","
                            "\"entities\":\"theirs too\"}", 0, &jerr);
    assert_non_null(rec->extra);
    json_t *o = encode_record(rec, OUTPUT_RECORD, 0);
    assert_int_equal(json_integer_value(json_object_get(o, "priority")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "keywords"), 0)), "war");
    assert_true(json_is_object(json_object_get(o, "dedupe")));       /* ours kept */
    assert_true(json_is_array(json_object_get(o, "entities")));
    json_t *in = json_object_get(o, "input_fields");
    assert_non_null(in);
    assert_int_equal(json_object_size(in), 2);
    assert_string_equal(json_string_value(json_object_get(in, "dedupe")), "theirs");
    assert_string_equal(json_string_value(json_object_get(in, "entities")), "theirs too");
    /* The record's extra is not modified by encoding. */
    assert_int_equal(json_object_size(rec->extra), 4);
    json_decref(o);

    /* ninjs: a collision with a ninjs field goes under input_fields too. */
    json_decref(rec->extra);
    rec->extra = json_loads("{\"subjects\":[1],\"slugline\":\"GENEVA-TALKS\"}", 0, &jerr);
    o = encode_record(rec, OUTPUT_NINJS, 0);
    assert_string_equal(json_string_value(json_object_get(o, "slugline")), "GENEVA-TALKS");
    assert_true(json_is_array(json_object_get(o, "subjects")));
    assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
    assert_true(json_is_array(json_object_get(json_object_get(o, "input_fields"), "subjects")));
    json_decref(o);

    /* An input field itself called "input_fields" is not lost when other
     * fields collide: both end up under input_fields, whatever the order. */
    const char *inputs[] = {"{\"input_fields\":{\"a\":1},\"dedupe\":\"x\"}",
                            "{\"dedupe\":\"x\",\"input_fields\":{\"a\":1}}"};
    for (size_t i = 0; i < 2; i++) {
        json_decref(rec->extra);
        rec->extra = json_loads(inputs[i], JSON_PRESERVE_ORDER, &jerr);
        o = encode_record(rec, OUTPUT_RECORD, 0);
        json_t *moved = json_object_get(o, "input_fields");
        assert_non_null(moved);
        assert_string_equal(json_string_value(json_object_get(moved, "dedupe")), "x");
        json_t *theirs = json_object_get(moved, "input_fields");
        if (!theirs)
            fail_msg("the input's own input_fields was lost (order %zu)", i);
        assert_int_equal(json_integer_value(json_object_get(theirs, "a")), 1);
        json_decref(o);
    }
    /* Alone (no collision), it passes through at the top level. */
    json_decref(rec->extra);
    rec->extra = json_loads("{\"input_fields\":{\"a\":1}}", 0, &jerr);
    o = encode_record(rec, OUTPUT_RECORD, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "input_fields"), "a")), 1);
    json_decref(o);
    record_free(rec);
}

static void test_record_line(void **unused)
{
    struct record *rec = enriched();
    size_t len = 0;
    char *s = encode_record_line(rec, OUTPUT_RECORD, 0, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_null(strchr(s, '\n'));                    /* one line */
    assert_memory_equal(s, "{\"schema_version\":\"1.0\",\"id\":\"r-1\",", 35);
    json_error_t jerr;
    json_t *back = json_loads(s, 0, &jerr);
    assert_non_null(back);
    json_decref(back);
    free(s);

    /* Bodies with newlines and non-ASCII survive the round trip. */
    char *b = strdup("Zełenski spoke.\n\n“Kyiv” held.");
    record_take_body(rec, b, strlen(b));
    s = encode_record_line(rec, OUTPUT_RECORD, 0, &len);
    assert_null(strchr(s, '\n'));
    back = json_loads(s, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(back, "body")), b);
    json_decref(back);
    free(s);
    record_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_present),
        cmocka_unit_test(test_enriched_record),
        cmocka_unit_test(test_ninjs),
        cmocka_unit_test(test_passthrough_and_collisions),
        cmocka_unit_test(test_record_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
