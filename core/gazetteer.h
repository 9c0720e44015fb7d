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
struct gaz_pool;

/* The strings of an entity lie back to back in the gazetteer's pool (one
 * or two cache lines to copy them out), and belong to the gazetteer. */
struct gaz_entity {
    char *name;            /* canonical name */
    char *id;              /* Wikidata QID, NULL when unknown */
    char *role;            /* "country", "alliance", "foreign_minister"... */
    char *country;         /* informational, may be NULL */
    char *as_of;           /* when the role was true, may be NULL */
    enum entity_type type;
    uint32_t name_len, id_len, role_len;   /* strlen() of each, 0 if NULL */
};

struct gaz_alias {
    uint32_t entity;       /* index into ents */
    uint32_t next;         /* next alias with the same phrase, or GAZ_NONE */
    uint32_t case_off;     /* ntok requirements at case_req[case_off] */
    /* The same requirements, 2 bits per token from the first, when ntok <=
     * GAZ_CASE_BITS_MAX: checking an alias then reads only the alias. */
    uint32_t case_bits;
    uint8_t ntok;
    uint8_t kind;          /* enum gaz_alias_kind */
    uint8_t type;          /* the entity's enum entity_type, copied here */
};

#define GAZ_CASE_BITS_MAX 16

struct gazetteer {
    struct gaz_entity *ents;
    size_t nents, cap_ents;
    struct gaz_alias *aliases;
    size_t naliases, cap_aliases;
    uint8_t *case_req;     /* enum gaz_case per alias token */
    size_t ncase, cap_case;
    struct phrase_set *ps; /* phrase -> first alias index */
    /* Filter over alias starts, so that most words cost one 64-bit load
     * in a small array instead of a probe into the (possibly large) trie
     * table. A Bloom filter blocked to one word (3 bits of the word per
     * key, ~16 bits of array per key). Keys: the first token's hash, for a
     * capitalized word (any alias may start with it); for a lower-case
     * word, only aliases whose first token may be lower case count
     * ("al-Qaeda", "the Taliban"): their first token, and then their first
     * two tokens (or the one and GAZ_ALONE), so that "the government"
     * costs two filter tests and no trie walk. */
    uint64_t *start_filter;
    size_t start_filter_mask; /* words - 1 */
    size_t nfiles;
    struct gaz_pool *pool; /* entity strings */
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

/* 1 if alias a's case requirements hold for the tokens it would cover
 * (toks[0..a->ntok)). */
static inline int gazetteer_alias_case_ok(const struct gazetteer *g, const struct gaz_alias *a,
                                          const struct token *toks)
{
    if (a->ntok <= GAZ_CASE_BITS_MAX) {
        for (uint32_t bits = a->case_bits, k = 0; bits; bits >>= 2, k++)
            if (!gazetteer_case_ok(bits & 3, toks[k].flags))
                return 0;
        return 1;
    }
    const uint8_t *req = &g->case_req[a->case_off];
    for (size_t k = 0; k < a->ntok; k++)
        if (!gazetteer_case_ok(req[k], toks[k].flags))
            return 0;
    return 1;
}

#define GAZ_LOWER_SALT 0x5bd1e9955bd1e995ULL

static inline uint64_t gazetteer_filter_mix(uint64_t key)
{
    /* The word and bit positions come from the top bits of a multiplicative
     * remix: FNV-1a's low bits mix poorly. */
    return key * 0x9e3779b97f4a7c15ULL;
}

/* Filter word index and the 3 bit positions of a mixed key. */
#define GAZ_FILTER_WORD(m, mask) ((size_t)((m) >> 20) & (mask))
#define GAZ_FILTER_BIT1(m) ((unsigned)((m) >> 58))
#define GAZ_FILTER_BIT2(m) ((unsigned)((m) >> 52) & 63)
#define GAZ_FILTER_BIT3(m) ((unsigned)((m) >> 46) & 63)

/* Start filter keys of a lower-case word: alone, or with the next one. */
static inline uint64_t gazetteer_lower_key(uint64_t h0)
{
    return h0 ^ GAZ_LOWER_SALT;
}

#define GAZ_ALONE 0   /* second token of a one-token alias in a pair key */

static inline uint64_t gazetteer_pair_key(uint64_t h0, uint64_t h1)
{
    return ((h0 ^ GAZ_LOWER_SALT) * 0xff51afd7ed558ccdULL) ^ h1;
}

static inline int gazetteer_filter_has(const struct gazetteer *g, uint64_t key)
{
    uint64_t m = gazetteer_filter_mix(key);
    uint64_t w = g->start_filter[GAZ_FILTER_WORD(m, g->start_filter_mask)];
    /* Most words fail on the first bit. */
    if (!((w >> GAZ_FILTER_BIT1(m)) & 1))
        return 0;
    return (int)((w >> GAZ_FILTER_BIT2(m)) & (w >> GAZ_FILTER_BIT3(m)) & 1);
}

/* 1 if an alias may start at token i of t (0: surely not). A phrase never
 * continues across a TOK_BREAK, so neither does a pair key. */
static inline int gazetteer_may_start(const struct gazetteer *g, const struct tokens *t,
                                      size_t i)
{
    const struct token *tok = &t->toks[i];
    if (tok->flags & (TOK_CAP | TOK_UPPER))
        return gazetteer_filter_has(g, tok->hash);
    if (!gazetteer_filter_has(g, gazetteer_lower_key(tok->hash)))
        return 0;
    if (i + 1 < t->n && !(tok[1].flags & TOK_BREAK) &&
        gazetteer_filter_has(g, gazetteer_pair_key(tok->hash, tok[1].hash)))
        return 1;
    return gazetteer_filter_has(g, gazetteer_pair_key(tok->hash, GAZ_ALONE));
}

#endif
