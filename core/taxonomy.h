/*
 * taxonomy.h - the topic taxonomy: topics, contexts and their weighted
 * phrases and entity cues, loaded from a text file (config/taxonomy.conf,
 * format in docs/topics.md).
 *
 * A taxonomy is built completely by taxonomy_load() and is read-only
 * afterwards, so a reload builds a new one and swaps the pointer only on
 * success. Every phrase of every topic and context lives in one phrase set
 * (core/phrase.h) whose value is an index into `phrases`; each phrase
 * carries the (target, weight) pairs of the sections that list it.
 *
 * Ownership: the taxonomy owns everything it points to; taxonomy_free()
 * releases it all. Safe to read from several threads once built.
 */
#ifndef WS_TAXONOMY_H
#define WS_TAXONOMY_H

#include <stddef.h>
#include <stdint.h>

#include "phrase.h"

/* Longest topic/context name: Kafka allows 249 characters and the producer
 * prefixes "news.topic.". */
#define TAXONOMY_NAME_MAX 200

/* Model parameters ([scoring]); see docs/topics.md for the formula. */
struct taxonomy_params {
    double head_weight;    /* factor for a match in the headline */
    double lead_weight;    /* ... in the lead */
    size_t lead_tokens;    /* the lead: first paragraph, at most this long */
    double repeat_decay;   /* k-th repeat of a phrase counts decay^(k-1) */
    double length_ref;     /* body tokens before length damping starts */
    double length_alpha;   /* evidence *= (length_ref / n)^alpha beyond it */
    double scale;          /* default topic saturation scale */
    double context_scale;  /* saturation scale of contexts */
    double threshold;      /* default topic threshold */
};

/* Where a phrase's weight goes: topic `index`, or context `index` when
 * is_context is set. A `support` weight (topics only, from a `support W`
 * line) counts in the score but not toward the topic's `require`. */
struct taxonomy_weight {
    uint32_t index;
    uint32_t is_context;
    uint32_t support;
    double weight;
    int line;              /* where the file gave it */
};

struct taxonomy_phrase {
    char *text;            /* as written in the file (suffix expanded) */
    size_t ntok;
    struct taxonomy_weight *weights;
    size_t nweights;
};

enum taxonomy_cue_kind { TAXONOMY_CUE_QID, TAXONOMY_CUE_NAME, TAXONOMY_CUE_ROLE };

struct taxonomy_entity_cue {
    enum taxonomy_cue_kind kind;
    char *value;           /* "Q7184", "Wagner Group", "armed_group" */
    double weight;
};

struct taxonomy_topic {
    char *name;            /* [a-z0-9._-]+ */
    char *label;           /* may be NULL */
    char **iptc;           /* 8-digit IPTC Media Topic codes */
    size_t niptc;
    double threshold;
    double scale;
    double require;        /* core evidence (terms and entity cues, not
                            * support terms) needed to assign; 0 = none */
    double *damp;          /* per context (ncontexts entries), 0 = none */
    struct taxonomy_entity_cue *cues;
    size_t ncues;
    int line;
};

struct taxonomy_context {
    char *name;
    int line;
};

struct taxonomy {
    char *path;
    struct taxonomy_params params;
    struct taxonomy_topic *topics;
    size_t ntopics;
    struct taxonomy_context *contexts;
    size_t ncontexts;
    struct phrase_set *set;          /* value = index into phrases */
    struct taxonomy_phrase *phrases;
    size_t nphrases;
    size_t longest;                  /* most tokens in one phrase */
};

/* Reads and builds a taxonomy. NULL on failure with err filled as
 * "path:line: message" (line omitted for I/O errors). Caller frees. */
struct taxonomy *taxonomy_load(const char *path, char *err, size_t errlen);

/* Same from text in memory; `path` names it in errors. */
struct taxonomy *taxonomy_parse(const char *text, size_t len, const char *path,
                                char *err, size_t errlen);

void taxonomy_free(struct taxonomy *tax);   /* accepts NULL */

/* Index of the topic called name, or -1. */
int taxonomy_topic_index(const struct taxonomy *tax, const char *name);

/* 1 if s is a valid topic or context name: 1..TAXONOMY_NAME_MAX characters
 * of [a-z0-9._-]. */
int taxonomy_name_valid(const char *s);

#endif
