/*
 * minhash.c - one-permutation b-bit MinHash over word shingles; see
 * minhash.h for the model and the reasons behind its parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "minhash.h"

#define STOP_SLOTS 512   /* power of two, > 2x the stop words */

/* Words every English article uses; a shingle made only of these says
 * nothing about which story it came from. */
static const char stop_words[] =
    "a an the and or but if then of at by for with about against between "
    "into through during before after above below to from up down in out "
    "on off over under again further once here there when where why how all "
    "any both each few more most other some such no nor not only own same so "
    "than too very can will just should now is are was were be been being "
    "have has had having do does did doing i me my we our you your he him "
    "his she her it its they them their what which who whom this that these "
    "those am would could also said says say told as while";

struct minhash_ctx {
    unsigned shingle;
    uint64_t filter[64];         /* 4096-bit prefilter: most words skip the table */
    uint64_t stop[STOP_SLOTS];   /* open addressing, 0 = empty */
};

static unsigned filter_bit(uint64_t h)
{
    return (unsigned)(h >> 40) & 4095;
}

static void stop_add(struct minhash_ctx *ctx, uint64_t h)
{
    if (!h)
        h = 1;
    size_t i = (size_t)(minhash_mix64(h) & (STOP_SLOTS - 1));
    while (ctx->stop[i] && ctx->stop[i] != h)
        i = (i + 1) & (STOP_SLOTS - 1);
    ctx->stop[i] = h;
    ctx->filter[filter_bit(h) >> 6] |= 1ULL << (filter_bit(h) & 63);
}

static int is_stop(const struct minhash_ctx *ctx, uint64_t h)
{
    if (!((ctx->filter[filter_bit(h) >> 6] >> (filter_bit(h) & 63)) & 1))
        return 0;
    if (!h)
        h = 1;
    size_t i = (size_t)(minhash_mix64(h) & (STOP_SLOTS - 1));
    while (ctx->stop[i]) {
        if (ctx->stop[i] == h)
            return 1;
        i = (i + 1) & (STOP_SLOTS - 1);
    }
    return 0;
}

struct minhash_ctx *minhash_ctx_new(unsigned shingle)
{
    if (shingle < 1 || shingle > MINHASH_MAX_SHINGLE)
        return NULL;
    struct minhash_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->shingle = shingle;

    /* Through the one tokenizer, so the hashes are the ones text carries. */
    struct tokens t;
    memset(&t, 0, sizeof(t));
    if (text_tokenize(stop_words, sizeof(stop_words) - 1, &t) < 0) {
        text_tokens_free(&t);
        free(ctx);
        return NULL;
    }
    for (size_t i = 0; i < t.n; i++)
        stop_add(ctx, t.toks[i].hash);
    text_tokens_free(&t);
    return ctx;
}

void minhash_ctx_free(struct minhash_ctx *ctx)
{
    free(ctx);
}

unsigned minhash_ctx_shingle(const struct minhash_ctx *ctx)
{
    return ctx->shingle;
}

struct bins {
    uint32_t min[MINHASH_K];
    uint64_t filled[MINHASH_K / 64];
    uint32_t n;
};

static inline void bins_add(struct bins *b, uint64_t h)
{
    h = minhash_mix64(h);
    unsigned bin = (unsigned)(h >> 57);          /* top 7 bits: 128 bins */
    uint32_t v = (uint32_t)h;
    /* Branch-free: min[] starts at UINT32_MAX, `filled` says which bins
     * hold a real minimum (a shingle may hash to UINT32_MAX itself). */
    b->filled[bin >> 6] |= 1ULL << (bin & 63);
    b->min[bin] = v < b->min[bin] ? v : b->min[bin];
    b->n++;
}

static int bins_has(const struct bins *b, unsigned bin)
{
    return (b->filled[bin >> 6] >> (bin & 63)) & 1;
}

/* Order-sensitive combination of k token hashes (window[] is circular,
 * `first` is the oldest): each position rotates by its own amount, and
 * bins_add() mixes the result. */
static inline uint64_t shingle_hash(const uint64_t *window, unsigned k, unsigned first)
{
    uint64_t h = 0;
    unsigned p = first;
    for (unsigned j = 0; j < k; j++) {
        unsigned r = (j * 21) & 63;
        h ^= r ? (window[p] << r) | (window[p] >> (64 - r)) : window[p];
        if (++p == k)
            p = 0;
    }
    return h;
}

/* One pass over the tokens; returns the number of shingles skipped because
 * they held only stop words. */
static uint32_t hash_shingles(const struct minhash_ctx *ctx, const struct tokens *toks,
                              uint32_t skip_off, uint32_t skip_len, int use_stop,
                              struct bins *b)
{
    uint64_t window[MINHASH_MAX_SHINGLE];
    unsigned stops[MINHASH_MAX_SHINGLE] = {0};   /* read only once written; zeroed for the analyzer */
    unsigned k = ctx->shingle, nstop = 0, pos = 0;
    uint32_t kept = 0, skipped = 0;

    for (size_t i = 0; i < toks->n; i++) {
        const struct token *tok = &toks->toks[i];
        if (skip_len && tok->off >= skip_off && tok->off - skip_off < skip_len)
            continue;
        if (kept >= k)
            nstop -= stops[pos];
        window[pos] = tok->hash;
        stops[pos] = use_stop ? (unsigned)is_stop(ctx, tok->hash) : 0;
        nstop += stops[pos];
        kept++;
        if (++pos == k)
            pos = 0;                       /* pos is now the oldest */
        if (kept < k)
            continue;
        if (nstop == k) {
            skipped++;
            continue;
        }
        bins_add(b, shingle_hash(window, k, pos));
    }
    /* A body shorter than one shingle is one shingle of what there is. */
    if (kept > 0 && kept < k) {
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (unsigned j = 0; j < kept; j++)
            h = (h ^ window[j]) * 0x100000001b3ULL;
        bins_add(b, h);
    }
    return skipped;
}

void minhash_compute(const struct minhash_ctx *ctx, const struct tokens *toks,
                     uint32_t skip_off, uint32_t skip_len, struct minhash *out)
{
    struct bins b;
    memset(&b, 0, sizeof(b));
    memset(b.min, 0xff, sizeof(b.min));
    memset(out, 0, sizeof(*out));

    /* Arithmetic on the token hashes, not their bytes: endian-stable. */
    uint64_t bh = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < toks->n; i++)
        bh = (bh ^ toks->toks[i].hash) * 0x100000001b3ULL;
    out->body_hash = minhash_mix64(bh ^ toks->n);
    out->ntokens = toks->n > UINT32_MAX ? UINT32_MAX : (uint32_t)toks->n;
    if (!toks->n)
        return;

    uint32_t skipped = hash_shingles(ctx, toks, skip_off, skip_len, 1, &b);
    if (b.n == 0 && skipped)            /* nothing but stop words */
        hash_shingles(ctx, toks, skip_off, skip_len, 0, &b);
    if (b.n == 0)                       /* only the dateline: use it all */
        hash_shingles(ctx, toks, 0, 0, 0, &b);
    out->nshingles = b.n;

    /* Optimal densification (Shrivastava 2017): an empty bin borrows the
     * minimum of a bin chosen by a fixed hash of (bin, attempt), so two
     * texts fill the same empty bin from the same donor. */
    uint32_t full[MINHASH_K];
    for (unsigned j = 0; j < MINHASH_K; j++) {
        if (bins_has(&b, j)) {
            full[j] = b.min[j];
            continue;
        }
        for (uint64_t a = 1;; a++) {
            unsigned d = (unsigned)(minhash_mix64(((uint64_t)j << 32) ^ a ^ 0x5bd1e995ULL) &
                                    (MINHASH_K - 1));
            if (bins_has(&b, d)) {
                full[j] = b.min[d];
                break;
            }
        }
    }
    for (unsigned j = 0; j < MINHASH_BANDS; j++)
        out->bands[j] = full[j];
    for (unsigned j = 0; j < MINHASH_K; j++) {
        /* The residue comes from bits the bin choice did not use. */
        unsigned nib = (unsigned)(minhash_mix64(full[j]) & 0xf);
        out->sig[j >> 1] |= (uint8_t)(nib << ((j & 1) * 4));
    }
}

double minhash_jaccard(const uint8_t *a, const uint8_t *b)
{
    unsigned same = 0;
    for (unsigned i = 0; i < MINHASH_SIG_BYTES; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        uint64_t d = x ^ y;
        /* One bit per nibble that differs somewhere. */
        d |= d >> 1;
        d |= d >> 2;
        d &= 0x1111111111111111ULL;
        same += 16 - (unsigned)__builtin_popcountll(d);
    }
    const double chance = 1.0 / (1 << MINHASH_BBITS);
    double p = (double)same / MINHASH_K;
    double j = (p - chance) / (1.0 - chance);
    return j < 0 ? 0 : j > 1 ? 1 : j;
}

double minhash_containment(double jaccard, uint32_t na, uint32_t nb)
{
    if (!na || !nb)
        return 0;
    double inter = jaccard * ((double)na + (double)nb) / (1.0 + jaccard);
    double c = inter / (double)(na < nb ? na : nb);
    return c > 1 ? 1 : c;
}
