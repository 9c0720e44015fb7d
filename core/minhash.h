/*
 * minhash.h - compact fingerprints of an article body for near-duplicate
 * detection (used by processors/dedupe.c).
 *
 * The body's word shingles (k consecutive normalized tokens, taken from the
 * token hashes record_analyze() already computed) are hashed once each to
 * 64 bits. Two things are kept from those hashes:
 *
 *  - LSH band keys: one-permutation MinHash with MINHASH_BANDS bins and
 *    optimal densification; each bin's 32-bit minimum is a band key (one
 *    row per band: one shared band makes two texts candidates, which is
 *    what catches truncated copies and excerpts), plus a 4-bit residue per
 *    band that lets the index skip entries that only share a bucket.
 *  - A bottom-k sketch for verification: the smallest distinct shingle
 *    keys (up to MINHASH_SKETCH, as many as MINHASH_SKETCH_BYTES hold:
 *    about 55), as 16-bit values inside a window [0, 2^(64-shift)) that
 *    just holds them, Rice-coded as gaps (about 11.5 bits each instead of
 *    16). The keys below a threshold are a uniform sample of the set; 16
 *    bits inside the window tell them apart from other keys of that range
 *    with odds of about 1 in 600.
 *
 * A query keeps its whole shingle set (struct minhash_set), so comparing
 * it with a remembered sketch is exact sampling, not a b-bit estimate:
 * every remembered key below the window threshold is looked up in the
 * query's set and every query key below it is counted. That gives the
 * containment in either direction as a binomial proportion with a known
 * number of samples (no b-bit collision floor, no Jaccard-to-containment
 * conversion that multiplies the noise) and the Jaccard of the union's
 * bottom sample (Broder's estimator).
 *
 * Everything here is deterministic (fixed seeds, arithmetic on integers, no
 * byte-order dependence): fingerprints are persisted and compared across
 * restarts and machines. A context is read-only once built and may be
 * shared between threads; a minhash_set belongs to one caller.
 */
#ifndef WS_MINHASH_H
#define WS_MINHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "text.h"

#define MINHASH_BANDS       16
#define MINHASH_CHECK_BYTES (MINHASH_BANDS / 2)
#define MINHASH_SKETCH      64   /* most sketch values kept */
#define MINHASH_SKETCH_BYTES 80   /* Rice-coded: about 55 values fit */
#define MINHASH_MAX_SHINGLE 8
#define MINHASH_BITMAPS     4    /* window shifts a query keeps a value bitmap for */

struct minhash {
    uint64_t body_hash;                 /* the whole token sequence: exact copies */
    uint32_t ntokens;                   /* tokens in the body */
    uint32_t nshingles;                 /* distinct shingles */
    uint32_t bands[MINHASH_BANDS];      /* bin minima: LSH band keys */
    uint8_t check[MINHASH_CHECK_BYTES]; /* 4-bit residue of each band key */
    uint8_t shift;                      /* sketch window: keys < 2^(64-shift) */
    uint8_t sketch[MINHASH_SKETCH_BYTES]; /* coded sketch values, see minhash_sketch_decode() */
};

/* The distinct shingle keys of one body (the query side of a comparison),
 * sorted, so that the keys below any window threshold are a prefix
 * (upto[] says how long for a power-of-two threshold). Owned by the caller: zero-initialize, reuse for
 * every body, release with minhash_set_free(). */
struct minhash_set {
    uint64_t *keys;        /* n distinct keys, ascending */
    uint64_t *list;        /* scratch: the keys in arrival order, repeats included */
    size_t n, cap;
    uint32_t upto[65];     /* keys with >= s leading zeros: keys[0 .. upto[s]) */
    int sorted;            /* keys ascending (always, after minhash_compute) */
    /* Scratch for minhash_compare(): for a few window shifts, a bitmap of
     * the 16-bit values the query's keys take inside that window (built
     * on first use, cleared for the next body). */
    uint64_t *bitmaps;     /* MINHASH_BITMAPS x 1024 words, allocated on first use */
    uint8_t bitmap_shift[MINHASH_BITMAPS];
    unsigned nbitmaps, next_bitmap;
};

void minhash_set_free(struct minhash_set *set);   /* keeps the struct; accepts NULL */

/* Shingle size and the stop-word set (shingles made only of stop words,
 * "it is a", are left out: every article shares them). */
struct minhash_ctx;

/* shingle in 1..MINHASH_MAX_SHINGLE. NULL on allocation failure or a bad
 * shingle size. */
struct minhash_ctx *minhash_ctx_new(unsigned shingle);
void minhash_ctx_free(struct minhash_ctx *ctx);   /* accepts NULL */
unsigned minhash_ctx_shingle(const struct minhash_ctx *ctx);

/*
 * Fingerprints toks into out and leaves its shingle set in set. Tokens
 * starting inside [skip_off, skip_off+skip_len) (the dateline: "KYIV,
 * March 3 (Reuters) -" differs between outlets) are left out of the
 * shingles but not of body_hash. A body with no tokens gets ntokens = 0 and
 * must not be compared. Grows set's buffers (about 24 bytes per token):
 * returns -1 if that fails (out and set are then unusable), else 0.
 */
int minhash_compute(const struct minhash_ctx *ctx, const struct tokens *toks,
                    uint32_t skip_off, uint32_t skip_len, struct minhash *out,
                    struct minhash_set *set);

/* The values of a coded sketch, ascending, into v; returns how many. The
 * coding (a 7-bit count, a 4-bit Rice parameter, then Rice-coded gaps
 * between the 16-bit values) stores the smallest values that fit. */
unsigned minhash_sketch_decode(const uint8_t *sketch, uint16_t v[MINHASH_SKETCH]);

/* A query set against a remembered sketch (coded sketch, its shift and
 * the remembered body's distinct shingle count nb). Chance meetings of
 * 16-bit values are subtracted; when the query is so much longer than the
 * remembered body that they would exceed 5 % of the sketch, everything is
 * 0 (no estimate). */
struct minhash_cmp {
    double jaccard;      /* resemblance estimate, in [0,1] */
    double contain;      /* share of the smaller set found in the larger one */
    unsigned matches;    /* sampled keys found in both */
    unsigned samples;    /* sampled keys of the smaller set: contain = matches/samples */
    unsigned union_samples; /* sampled keys of the union: jaccard = matches/union_samples */
    int exact;           /* every key of the smaller set was compared */
};

void minhash_compare(struct minhash_set *a, const uint8_t *sketch, unsigned shift,
                     uint32_t nb, struct minhash_cmp *out);

/* What a caller will accept: a pair is interesting only if its jaccard or
 * its containment can reach these. */
struct minhash_goal {
    double jaccard;
    double contain;
};

/* The same with the sketch already decoded (v[0..nv), minhash_sketch_decode):
 * callers that meet the same remembered sketch again and again keep it
 * decoded. With a goal, the comparison stops as soon as too few sketch
 * values are left for the pair to reach either share, and reports it as no
 * estimate (everything 0); most candidates of a lookup are such pairs. A
 * pair that can reach the goal gets the same result as without one. */
void minhash_compare_values(struct minhash_set *a, const uint16_t *v, unsigned nv,
                            unsigned shift, uint32_t nb, const struct minhash_goal *goal,
                            struct minhash_cmp *out);

/* A comparison looks each sketch value up in a bitmap of the query's values
 * inside the sketch's window (one per shift, built once per query, while the
 * window holds at most MINHASH_BITMAP_LIMIT query keys); past that it does
 * one binary search per sketch value, so its cost is bounded by
 * O(64 log n). Bodies with more than MINHASH_SCAN_LIMIT shingles
 * are sorted by qsort. */
#define MINHASH_SCAN_LIMIT 4096
#define MINHASH_BITMAP_LIMIT 4096

/* The check residue of a band key (bits the bucket choice does not use). */
static inline unsigned minhash_check_of(uint32_t band);

/* 4-bit residue j of a check array. */
static inline unsigned minhash_nibble(const uint8_t *check, unsigned j)
{
    return (check[j >> 1] >> ((j & 1) * 4)) & 0xf;
}

/* 8 bytes as a little-endian word, whatever the host's order. */
static inline uint64_t minhash_load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
#else
    uint64_t x = 0;
    for (unsigned b = 0; b < 8; b++)
        x |= (uint64_t)p[b] << (b * 8);
    return x;
#endif
}

/* How many of the MINHASH_BANDS check residues of two fingerprints agree:
 * every shared band key, plus about one in 16 of the others by chance. */
static inline unsigned minhash_check_agreement(const uint8_t *a, const uint8_t *b)
{
    _Static_assert(MINHASH_CHECK_BYTES == 8, "one 64-bit word of residues");
    /* A nibble of d is 0 where the residues agree. */
    uint64_t d = minhash_load_le64(a) ^ minhash_load_le64(b);
    d |= d >> 1;
    d |= d >> 2;
    return MINHASH_BANDS - (unsigned)__builtin_popcountll(d & 0x1111111111111111ULL);
}

/* Wilson score lower bound of a binomial proportion k/n at z standard
 * deviations: how low the true share can plausibly be. 0 when n == 0. */
double minhash_lower_bound(unsigned k, unsigned n, double z);

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

static inline unsigned minhash_check_of(uint32_t band)
{
    return (unsigned)(minhash_mix64(band) & 0xf);
}

#endif
