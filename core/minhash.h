/*
 * minhash.h - compact fingerprints of an article body for near-duplicate
 * detection (used by processors/dedupe.c).
 *
 * The body's word shingles (k consecutive normalized tokens, taken from the
 * token hashes record_analyze() already computed) go through one-permutation
 * MinHash with 128 bins and optimal densification: one hash per shingle,
 * not 128. Each bin keeps a 4-bit residue for verification (b-bit MinHash:
 * 64 bytes per signature) and the first MINHASH_BANDS bins keep their full
 * 32-bit minimum as LSH band keys (one row per band: a shared shingle in a
 * band is enough to make two texts candidates, which is what catches
 * truncated copies and excerpts with Jaccard 0.2-0.5).
 *
 * Everything here is deterministic (fixed seeds, arithmetic on integers, no
 * byte-order dependence): fingerprints are persisted and compared across
 * restarts and machines. Pure functions; a context is read-only once built
 * and may be shared between threads.
 */
#ifndef WS_MINHASH_H
#define WS_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define MINHASH_K         128
#define MINHASH_BBITS     4
#define MINHASH_SIG_BYTES (MINHASH_K * MINHASH_BBITS / 8)
#define MINHASH_BANDS     16
#define MINHASH_MAX_SHINGLE 8

struct minhash {
    uint64_t body_hash;              /* the whole token sequence: exact copies */
    uint32_t ntokens;                /* tokens in the body */
    uint32_t nshingles;              /* shingles hashed (repeats included) */
    uint32_t bands[MINHASH_BANDS];   /* full minima of bins 0..BANDS-1 */
    uint8_t sig[MINHASH_SIG_BYTES];  /* 4-bit residue of every bin */
};

/* Shingle size and the stop-word set (shingles made only of stop words,
 * "it is a", are left out: every article shares them). */
struct minhash_ctx;

/* shingle in 1..MINHASH_MAX_SHINGLE. NULL on allocation failure or a bad
 * shingle size. */
struct minhash_ctx *minhash_ctx_new(unsigned shingle);
void minhash_ctx_free(struct minhash_ctx *ctx);   /* accepts NULL */
unsigned minhash_ctx_shingle(const struct minhash_ctx *ctx);

/*
 * Fingerprints toks. Tokens starting inside [skip_off, skip_off+skip_len)
 * (the dateline: "KYIV, March 3 (Reuters) -" differs between outlets) are
 * left out of the shingles but not of body_hash. A body with no tokens gets
 * ntokens = 0 and must not be compared. Never allocates.
 */
void minhash_compute(const struct minhash_ctx *ctx, const struct tokens *toks,
                     uint32_t skip_off, uint32_t skip_len, struct minhash *out);

/* Resemblance (Jaccard) estimate from two signatures, corrected for the
 * 1/16 chance that unrelated 4-bit residues agree; in [0,1]. */
double minhash_jaccard(const uint8_t *a, const uint8_t *b);

/* Containment of the smaller set in the larger one, derived from a
 * Jaccard estimate and the two set sizes; in [0,1]. */
double minhash_containment(double jaccard, uint32_t na, uint32_t nb);

/* 4-bit residue of bin j. */
static inline unsigned minhash_nibble(const uint8_t *sig, unsigned j)
{
    return (sig[j >> 1] >> ((j & 1) * 4)) & 0xf;
}

/* The mixer used throughout (splitmix64 finalizer). */
static inline uint64_t minhash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif
