/*
 * encode.c - records to JSON: the wirestream schema and ninjs 2.x.
 *
 * Every field of the schema is always present (null or empty when
 * unknown), so dashboards never have to test for a key. Unknown input
 * fields are passed through at the top level; one whose name the schema
 * already uses is kept under "input_fields" instead of being overwritten.
 */
#include <stdlib.h>
#include <string.h>

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

char *encode_record_line(const struct record *rec, enum output_format fmt,
                         int64_t processed_at, size_t *len)
{
    json_t *o = encode_record(rec, fmt, processed_at);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}
