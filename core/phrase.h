/*
 * phrase.h - multi-phrase matching over token streams.
 *
 * A phrase set is a trie whose edges are normalized tokens (their 64-bit
 * hashes), kept in one open-addressing table keyed by (node, token hash):
 * matching walks whole tokens, so the cost per token does not depend on how
 * many phrases are loaded and the hot data stays small (this is why we do
 * not use a byte-level automaton with 256-wide rows). Phrases are tokenized
 * with text_tokenize(), exactly as the text they are matched against.
 *
 * Built once, then read-only: a built set may be shared and read from any
 * number of threads.
 */
#ifndef WS_PHRASE_H
#define WS_PHRASE_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

struct phrase_set;

struct phrase_match {
    size_t ntok;     /* tokens matched, starting at the scan position */
    uint32_t value;  /* the value the phrase was added with */
};

struct phrase_set *phrase_set_new(void);
void phrase_set_free(struct phrase_set *ps);       /* accepts NULL */

/* Adds a phrase with a caller-defined value. A phrase added twice keeps the
 * first value and returns 1. Returns 0 on success, -1 when the phrase has
 * no tokens or on allocation failure (err says which). */
int phrase_set_add(struct phrase_set *ps, const char *phrase, uint32_t value,
                   char *err, size_t errlen);

/* Adds an already tokenized phrase (normalized-token hashes). */
int phrase_set_add_hashes(struct phrase_set *ps, const uint64_t *hashes,
                          size_t n, uint32_t value);

/* Hints that a walk starting with a token of this hash is coming soon:
 * fetches the table slot of its first step into cache. No effect on
 * results; lets a caller overlap the (possibly cache-missing) first probes
 * of many walks. */
void phrase_set_prefetch(const struct phrase_set *ps, uint64_t first_hash);

/* The same one step further, for a walk about to read tokens h0 and h1:
 * finds the first step (best after phrase_set_prefetch(h0) had time to
 * work) and fetches the slot of the second. */
void phrase_set_prefetch2(const struct phrase_set *ps, uint64_t h0, uint64_t h1);

/* The filter of the tokens that start a phrase (PHRASE_FIRST_BITS bits,
 * 4 KB): most tokens of a text start none, and a caller scanning every
 * position answers them with phrase_may_start() before calling
 * phrase_set_match_at(), which tests it again. */
#define PHRASE_FIRST_BITS 15
#define PHRASE_FIRST_WORDS ((1u << PHRASE_FIRST_BITS) / 64)

const uint64_t *phrase_set_first(const struct phrase_set *ps);

static inline unsigned phrase_first_bit(uint64_t tok_hash)
{
    return (unsigned)((tok_hash * 0x9e3779b97f4a7c15ULL) >> (64 - PHRASE_FIRST_BITS));
}

/* 0: no phrase of the set starts with this token. */
static inline int phrase_may_start(const uint64_t *first, uint64_t tok_hash)
{
    unsigned b = phrase_first_bit(tok_hash);
    return (int)((first[b >> 6] >> (b & 63)) & 1);
}

size_t phrase_set_count(const struct phrase_set *ps);
size_t phrase_set_memory(const struct phrase_set *ps);

/* Every phrase that starts at token i, shortest first. Writes at most max
 * matches and returns how many were found (up to max). A walk never
 * crosses a token flagged TOK_BREAK (a comma or a full stop ends a name).
 * A possessive does not end a walk: "People's Liberation Army" is one
 * phrase, and "Ukraine's" still matches "Ukraine". */
size_t phrase_set_match_at(const struct phrase_set *ps,
                           const struct tokens *t, size_t i,
                           struct phrase_match *out, size_t max);

#endif
