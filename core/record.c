/*
 * record.c - lifetime of an article record; see record.h for ownership.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

char *ws_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

struct record *record_new(void)
{
    struct record *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return NULL;
    rec->date_ms = RECORD_DATE_UNKNOWN;
    return rec;
}

void record_set_provenance(struct record *rec, const char *topic, int32_t partition,
                           int64_t offset, int64_t timestamp_ms)
{
    rec->prov.set = 1;
    record_set(&rec->prov.topic, topic, (size_t)-1);
    rec->prov.partition = partition;
    rec->prov.offset = offset;
    rec->prov.timestamp_ms = timestamp_ms;
}

int record_set(char **field, const char *s, size_t len)
{
    char *copy = NULL;
    if (s) {
        if (len == (size_t)-1)
            len = strlen(s);
        copy = ws_strndup(s, len);
        if (!copy)
            return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

void record_take_body(struct record *rec, char *body, size_t len)
{
    free(rec->body);
    rec->body = body;
    rec->body_len = body ? len : 0;
    record_text_changed(rec);
}

void record_text_changed(struct record *rec)
{
    rec->analyzed = 0;
}

int record_analyze(struct record *rec)
{
    if (rec->analyzed)
        return 0;
    if (text_tokenize(rec->body ? rec->body : "", rec->body_len, &rec->body_toks) < 0)
        return -1;
    const char *h = rec->headline ? rec->headline : "";
    if (text_tokenize(h, strlen(h), &rec->head_toks) < 0)
        return -1;
    rec->analyzed = 1;
    return 0;
}

static void *grow_array(void *arr, size_t n, size_t elem)
{
    /* Arrays grow by powers of two; n is the count before appending. */
    if (n && (n & (n - 1)))
        return arr;
    size_t cap = n ? n * 2 : 4;
    return realloc(arr, cap * elem);
}

struct entity *record_add_entity(struct record *rec)
{
    struct entity *e = grow_array(rec->entities, rec->nentities, sizeof(*e));
    if (!e)
        return NULL;
    rec->entities = e;
    e = &rec->entities[rec->nentities++];
    memset(e, 0, sizeof(*e));
    return e;
}

struct topic_hit *record_add_topic(struct record *rec)
{
    struct topic_hit *t = grow_array(rec->topics, rec->ntopics, sizeof(*t));
    if (!t)
        return NULL;
    rec->topics = t;
    t = &rec->topics[rec->ntopics++];
    memset(t, 0, sizeof(*t));
    return t;
}

void record_reject(struct record *rec, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    record_set(&rec->reject_code, code, (size_t)-1);
    record_set(&rec->reject_msg, msg, (size_t)-1);
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void record_free(struct record *rec)
{
    if (!rec)
        return;
    free(rec->id);
    free(rec->headline);
    free(rec->body);
    free(rec->date);
    free(rec->source);
    free(rec->agency);
    free(rec->dateline);
    free(rec->url);
    free(rec->language);
    json_decref(rec->extra);
    text_tokens_free(&rec->body_toks);
    text_tokens_free(&rec->head_toks);
    free(rec->dedupe.duplicate_of);
    free(rec->dedupe.cluster);
    for (size_t i = 0; i < rec->nentities; i++) {
        free(rec->entities[i].name);
        free(rec->entities[i].id);
        free(rec->entities[i].spans);
        free(rec->entities[i].role);
    }
    free(rec->entities);
    for (size_t i = 0; i < rec->ntopics; i++) {
        free(rec->topics[i].name);
        free_strv(rec->topics[i].iptc, rec->topics[i].niptc);
        free_strv(rec->topics[i].evidence, rec->topics[i].nevidence);
    }
    free(rec->topics);
    free(rec->prov.topic);
    free(rec->reject_code);
    free(rec->reject_msg);
    free(rec);
}

const char *record_dedupe_status_name(enum dedupe_status s)
{
    switch (s) {
    case DEDUPE_DUPLICATE: return "duplicate";
    case DEDUPE_NEAR_DUPLICATE: return "near_duplicate";
    default: return "unique";
    }
}

const char *record_entity_type_name(enum entity_type t)
{
    switch (t) {
    case ENTITY_ORGANIZATION: return "organization";
    case ENTITY_PLACE: return "place";
    default: return "person";
    }
}

int record_make_id(struct record *rec)
{
    char id[24];

    if (record_analyze(rec) < 0)
        return -1;
    /* A hash of the folded words: the same article scraped twice with
     * other spacing or quotes gets the same id. */
    const struct tokens *t = &rec->body_toks;
    uint64_t h = text_hash64("", 0);
    for (size_t i = 0; i < t->n; i++) {
        h = text_hash64_continue(h, text_token_norm(t, i), t->toks[i].norm_len);
        h = text_hash64_continue(h, " ", 1);
    }
    snprintf(id, sizeof(id), "ws-%016llx", (unsigned long long)h);
    if (record_set(&rec->id, id, (size_t)-1) < 0)
        return -1;
    rec->id_generated = 1;
    return 0;
}
