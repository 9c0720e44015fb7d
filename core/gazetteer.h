/*
 * gazetteer.h - named-entity lists loaded from the .gaz files of config/gazetteer/.
 *
 * A gazetteer is a table of entities (canonical name, type, role, Wikidata
 * id) and of their aliases, compiled into one phrase_set (core/phrase.h)
 * whose values index the alias table. Each alias carries per-token case
 * requirements taken from how it is written in the file: "NATO" only
 * matches text in capitals, "Ukraine" only capitalized text, "al" in
 * "al-Qaeda" anything. The file format is documented in
 * config/gazetteer/README.md.
 *
 * Built once, then read-only: a finished gazetteer may be read from any
 * number of threads. Reload builds a new one and swaps pointers.
 */
#ifndef WS_GAZETTEER_H
#define WS_GAZETTEER_H

#include <stddef.h>
#include <stdint.h>

#include "phrase.h"
#include "record.h"

#define GAZ_NONE UINT32_MAX

enum gaz_alias_kind {
    GAZ_ALIAS_NAME = 0,   /* the canonical name or a full alias */
    GAZ_ALIAS_DEMONYM,    /* "Ukrainian" -> Ukraine */
    GAZ_ALIAS_SURNAME,    /* links only when the entity is otherwise named
                             in the same article */
};

/* Case requirement of one alias token. */
enum gaz_case { GAZ_CASE_ANY = 0, GAZ_CASE_CAP, GAZ_CASE_UPPER };

struct build;

struct gaz_entity {
    char *name;            /* canonical name */
    char *id;              /* Wikidata QID, NULL when unknown */
    char *role;            /* "country", "alliance", "foreign_minister"... */
    char *country;         /* informational, may be NULL */
    char *as_of;           /* when the role was true, may be NULL */
    enum entity_type type;
};

struct gaz_alias {
    uint32_t entity;       /* index into ents */
    uint32_t next;         /* next alias with the same phrase, or GAZ_NONE */
    uint32_t case_off;     /* ntok requirements at case_req[case_off] */
    uint8_t ntok;
    uint8_t kind;          /* enum gaz_alias_kind */
};

struct gazetteer {
    struct gaz_entity *ents;
    size_t nents, cap_ents;
    struct gaz_alias *aliases;
    size_t naliases, cap_aliases;
    uint8_t *case_req;     /* enum gaz_case per alias token */
    size_t ncase, cap_case;
    struct phrase_set *ps; /* phrase -> first alias index */
    /* Bloom filter over the first token of every alias whose first token
     * may be lower case ("al-Qaeda"): lets the scan skip ordinary lower
     * case words with one bit test instead of a hash-table probe. */
    uint64_t *lower_bloom;
    size_t lower_bloom_mask; /* bits - 1 */
    /* The same over the first token of every alias: a capitalized word
     * that starts no alias (most sentence starts) costs no probe either. */
    uint64_t *start_bloom;
    size_t start_bloom_mask;
    size_t nfiles;
    struct build *build;   /* scratch while adding; NULL once finished */
};

/* An empty gazetteer, or NULL on allocation failure. */
struct gazetteer *gazetteer_new(void);
void gazetteer_free(struct gazetteer *g);   /* accepts NULL */

/* Adds the entries of a .gaz file, or of every *.gaz file of a folder (in
 * name order). 0, or -1 with err = "file:line: message". On failure the
 * gazetteer may hold part of the file: discard it. */
int gazetteer_add_path(struct gazetteer *g, const char *path,
                       char *err, size_t errlen);

/* Adds entries from text in memory; `name` labels errors. */
int gazetteer_add_text(struct gazetteer *g, const char *text, size_t len,
                       const char *name, char *err, size_t errlen);

/* Finishes the build (filters). Call once, after the last add. */
int gazetteer_finish(struct gazetteer *g, char *err, size_t errlen);

/* Loads and finishes a gazetteer from paths (files or folders). NULL with
 * err filled on failure. */
struct gazetteer *gazetteer_load(const char *const *paths, size_t npaths,
                                 char *err, size_t errlen);

/* 1 if token `tok` satisfies case requirement `req`. */
static inline int gazetteer_case_ok(uint8_t req, uint16_t flags)
{
    if (req == GAZ_CASE_UPPER)
        return (flags & TOK_UPPER) != 0;
    if (req == GAZ_CASE_CAP)
        return (flags & (TOK_CAP | TOK_UPPER)) != 0;
    return 1;
}

static inline int gazetteer_bloom_has(const uint64_t *bloom, size_t mask, uint64_t hash)
{
    size_t b = (size_t)(hash >> 7) & mask;
    size_t b2 = (size_t)(hash >> 37) & mask;
    return (bloom[b >> 6] >> (b & 63) & 1) && (bloom[b2 >> 6] >> (b2 & 63) & 1);
}

/* 1 if a token with this hash and flags may start an alias. */
static inline int gazetteer_may_start(const struct gazetteer *g, uint64_t hash, uint16_t flags)
{
    if (flags & (TOK_CAP | TOK_UPPER))
        return gazetteer_bloom_has(g->start_bloom, g->start_bloom_mask, hash);
    return gazetteer_bloom_has(g->lower_bloom, g->lower_bloom_mask, hash);
}

#endif
