/*
 * record.h - one article as it moves through wirestream.
 *
 * Ownership: a record owns every string and array it points to; each
 * setter frees what it replaces; record_free() releases all of it. The
 * decoder creates records, the processor chain edits them in place, the
 * encoder only reads them. Nothing in a record points into a Kafka message
 * or an input buffer: the consumer copies what it needs and lets the
 * message go. A record is used by one thread at a time.
 *
 * Analysis (the token streams of the body and headline) is computed once,
 * on first use through record_tokens(), and shared by every processor.
 * Whoever changes `body` or `headline` must call record_text_changed().
 */
#ifndef WS_RECORD_H
#define WS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "text.h"

#define RECORD_DATE_UNKNOWN INT64_MIN

enum input_format { INPUT_AUTO = 0, INPUT_JSON, INPUT_TEXT };

enum dedupe_status { DEDUPE_UNIQUE = 0, DEDUPE_DUPLICATE, DEDUPE_NEAR_DUPLICATE };

enum entity_type { ENTITY_PERSON = 0, ENTITY_ORGANIZATION, ENTITY_PLACE };

/* Byte range in the output body. */
struct span {
    uint32_t off;
    uint32_t len;
};

struct dedupe_info {
    enum dedupe_status status;
    char *duplicate_of;   /* id of the first article seen, or NULL */
    char *cluster;        /* id of the story's first article (own id if unique) */
    double similarity;    /* 1.0 for exact duplicates, 0 when unique */
    uint32_t cluster_size;/* versions of the story seen so far, this one included */
};

struct entity {
    char *name;           /* canonical name */
    enum entity_type type;
    char *id;             /* Wikidata QID ("Q212"), or NULL when unknown */
    uint32_t mentions;
    struct span *spans;   /* one per mention in the body, in text order */
    size_t nspans;
    int in_headline;
    int dateline;         /* the place the story was filed from */
    double salience;
    char *role;           /* gazetteer role ("country", "alliance",
                             "defence_minister"...), NULL when unknown */
};

struct topic_hit {
    char *name;
    double score;         /* [0,1] */
    char **iptc;          /* IPTC Media Topic codes, "20000062" */
    size_t niptc;
    char **evidence;      /* terms and entities that contributed most */
    size_t nevidence;
};

/* Where the input came from, in Kafka modes. */
struct provenance {
    int set;
    char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
};

struct record {
    /* Article fields. NULL when absent. */
    char *id;
    char *headline;
    char *body;            /* cleaned body once the clean processor ran */
    size_t body_len;
    char *date;            /* ISO 8601, as normalized by the decoder */
    int64_t date_ms;       /* RECORD_DATE_UNKNOWN when unknown */
    char *source;
    char *agency;
    char *dateline;        /* "KYIV": the place part of the dateline */
    struct span dateline_span; /* its position in body (len 0: none) */
    char *url;
    char *language;
    json_t *extra;         /* unknown input fields, passed through untouched
                              (owned reference, may be NULL) */
    enum input_format format;
    int id_generated;      /* id is a hash of the cleaned text */

    /* Analysis, see record_tokens(). */
    struct tokens body_toks;
    struct tokens head_toks;
    int analyzed;

    /* Processor results. */
    struct dedupe_info dedupe;
    struct entity *entities;
    size_t nentities;
    struct topic_hit *topics;
    size_t ntopics;
    struct provenance prov;

    /* Set when a processor rejects the record. */
    char *reject_code;
    char *reject_msg;
};

struct record *record_new(void);
void record_free(struct record *rec);   /* accepts NULL */

/* Replaces *field with a copy of s (len bytes, or strlen when len is
 * (size_t)-1); s == NULL clears it. Returns 0, -1 on allocation failure
 * (the field is then unchanged). */
int record_set(char **field, const char *s, size_t len);

/* Where the record was read (a Kafka input): sets rec->prov. The topic is
 * copied; if that copy fails the topic stays unset, the rest is still set
 * (the output then names no topic). */
void record_set_provenance(struct record *rec, const char *topic, int32_t partition,
                           int64_t offset, int64_t timestamp_ms);

/* Takes ownership of a malloc'd body of len bytes (NUL-terminated). */
void record_take_body(struct record *rec, char *body, size_t len);

/* Tokenizes body and headline if not yet done. Returns 0, -1 on
 * allocation failure. */
int record_analyze(struct record *rec);
void record_text_changed(struct record *rec);

/* Appends a zeroed entity/topic and returns it (NULL on allocation
 * failure). The record owns it and everything the caller hangs on it. */
struct entity *record_add_entity(struct record *rec);
struct topic_hit *record_add_topic(struct record *rec);

/* Sets id to "ws-" + a stable 64-bit hash of the body's folded words
 * (used when the input has no id). 0 / -1. */
int record_make_id(struct record *rec);

/* Marks the record rejected with a reason code and a message. */
void record_reject(struct record *rec, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *record_dedupe_status_name(enum dedupe_status s);
const char *record_entity_type_name(enum entity_type t);

/* strdup that may fail; a small convenience shared by every module. */
char *ws_strndup(const char *s, size_t len);

#endif
