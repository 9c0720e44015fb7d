/*
 * minhash.c - one-permutation MinHash band keys and a bottom-k sketch over
 * word shingles; see minhash.h for the model and the reasons behind it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "minhash.h"

/* The stop-word set is asked once per token, and about 40 % of the tokens
 * of running text are stop words: a lookup that branches on the answer is
 * mispredicted all the time. So it is a table of 4-slot buckets in which
 * every stop word has a place in its own bucket (the multiplier that picks
 * buckets is chosen when the context is built), and a lookup compares the
 * four slots without a branch. */
#define STOP_BUCKETS 256   /* power of two; about one stop word in nine slots */
#define STOP_WAYS    4

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
    uint64_t stop_mul;                                 /* bucket = (h * stop_mul) >> 56 */
    uint64_t stop[STOP_BUCKETS][STOP_WAYS];           /* 0 = empty */
};
_Static_assert(STOP_BUCKETS == 256, "stop_bucket() takes the top 8 bits");

static unsigned stop_bucket(const struct minhash_ctx *ctx, uint64_t h)
{
    return (unsigned)((h * ctx->stop_mul) >> 56);
}

/* 0 marks an empty slot, so a hash of 0 is looked up as 1. */
static inline uint64_t stop_key(uint64_t h)
{
    return h + (h == 0);
}

/* 0, or -1 when h's bucket is full (the caller tries another multiplier). */
static int stop_add(struct minhash_ctx *ctx, uint64_t h)
{
    h = stop_key(h);
    uint64_t *slot = ctx->stop[stop_bucket(ctx, h)];
    for (unsigned w = 0; w < STOP_WAYS; w++) {
        if (slot[w] == h)
            return 0;
        if (!slot[w]) {
            slot[w] = h;
            return 0;
        }
    }
    return -1;
}

static inline int is_stop(const struct minhash_ctx *ctx, uint64_t h)
{
    h = stop_key(h);
    const uint64_t *slot = ctx->stop[stop_bucket(ctx, h)];
    return (slot[0] == h) | (slot[1] == h) | (slot[2] == h) | (slot[3] == h);
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
    /* Odd multipliers in turn until every word fits its bucket: with
     * 117 words in 256 buckets of 4, the first one nearly always does. */
    int fits = 0;
    for (uint64_t attempt = 0; !fits && attempt < 1000; attempt++) {
        ctx->stop_mul = 0x9e3779b97f4a7c15ULL + 2 * attempt;
        memset(ctx->stop, 0, sizeof(ctx->stop));
        fits = 1;
        for (size_t i = 0; i < t.n && fits; i++)
            fits = stop_add(ctx, t.toks[i].hash) == 0;
    }
    text_tokens_free(&t);
    if (!fits) {                       /* cannot happen with this word list */
        free(ctx);
        return NULL;
    }
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

void minhash_set_free(struct minhash_set *set)
{
    if (!set)
        return;
    free(set->keys);
    free(set->list);
    free(set->bitmaps);
    memset(set, 0, sizeof(*set));
}

#define BITMAP_WORDS (65536 / 64)

/* The query's 16-bit values inside window `shift`, as the bits of map. */
static void bitmap_fill(const struct minhash_set *set, unsigned shift, uint64_t *map, int on)
{
    const uint64_t *keys = set->keys;
    for (size_t i = 0, n = set->upto[shift]; i < n; i++) {
        unsigned v = (unsigned)((keys[i] << shift) >> 48);
        if (on)
            map[v >> 6] |= 1ULL << (v & 63);
        else
            map[v >> 6] = 0;
    }
}

/* Clears the bitmaps of the body the set held (its keys are still there):
 * only the words that were set, not 8 KB each. */
static void bitmaps_reset(struct minhash_set *set)
{
    for (unsigned b = 0; b < set->nbitmaps; b++)
        bitmap_fill(set, set->bitmap_shift[b], set->bitmaps + (size_t)b * BITMAP_WORDS, 0);
    set->nbitmaps = 0;
    set->next_bitmap = 0;
}

/* The bitmap of window `shift` for the current body, built on first use;
 * NULL when it cannot be allocated (the caller searches instead). */
static const uint64_t *bitmap_for(struct minhash_set *set, unsigned shift)
{
    for (unsigned b = 0; b < set->nbitmaps; b++)
        if (set->bitmap_shift[b] == shift)
            return set->bitmaps + (size_t)b * BITMAP_WORDS;
    if (!set->bitmaps) {
        set->bitmaps = calloc((size_t)MINHASH_BITMAPS * BITMAP_WORDS, sizeof(uint64_t));
        if (!set->bitmaps)
            return NULL;
    }
    unsigned b;
    if (set->nbitmaps < MINHASH_BITMAPS) {
        b = set->nbitmaps++;
    } else {   /* more window sizes than bitmaps: reuse them in turn */
        b = set->next_bitmap;
        set->next_bitmap = (b + 1) % MINHASH_BITMAPS;
        bitmap_fill(set, set->bitmap_shift[b], set->bitmaps + (size_t)b * BITMAP_WORDS, 0);
    }
    uint64_t *map = set->bitmaps + (size_t)b * BITMAP_WORDS;
    set->bitmap_shift[b] = (uint8_t)shift;
    bitmap_fill(set, shift, map, 1);
    return map;
}

/* Sizes the set's buffers for up to n keys and empties it. */
static int set_reserve(struct minhash_set *set, size_t n)
{
    if (set->sorted)
        bitmaps_reset(set);
    if (n > set->cap) {
        uint64_t *k = malloc(n * sizeof(*k)), *l = malloc(n * sizeof(*l));
        if (!k || !l) {
            free(k);
            free(l);
            return -1;
        }
        free(set->keys);
        free(set->list);
        set->keys = k;
        set->list = l;
        set->cap = n;
    }
    set->n = 0;
    set->sorted = 0;
    return 0;
}

#define BIN_BITS 4        /* log2(MINHASH_BANDS) */
_Static_assert(1 << BIN_BITS == MINHASH_BANDS, "BIN_BITS");

struct bins {
    uint32_t min[MINHASH_BANDS];
    uint32_t filled;                /* bit j: bin j holds a real minimum */
    uint32_t n;                     /* shingles hashed, repeats included */
    struct minhash_set *set;
};

static inline void bins_add(struct bins *b, uint64_t h)
{
    h = minhash_mix64(h);
    unsigned bin = (unsigned)(h >> (64 - BIN_BITS));   /* top bits: the bin */
    uint32_t v = (uint32_t)h;
    /* Branch-free: min[] starts at UINT32_MAX, `filled` says which bins
     * hold a real minimum (a shingle may hash to UINT32_MAX itself). */
    b->filled |= 1u << bin;
    b->min[bin] = v < b->min[bin] ? v : b->min[bin];
    b->n++;

    /* The sketch orders keys by bits 60..32 first: independent of the bin
     * (the top bits) and of the band minimum (31..0). 0 marks an empty slot. */
    uint64_t key = (h << BIN_BITS) | (h >> (64 - BIN_BITS));
    key = key ? key : 1;
    /* Repeats too: set_sort() drops them (cheaper than a table lookup per
     * shingle, and most shingles of an article occur once). */
    b->set->list[b->set->n++] = key;
}

static int bins_has(const struct bins *b, unsigned bin)
{
    return (b->filled >> bin) & 1;
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

/* A body shorter than one shingle is one shingle of what there is: its n
 * token hashes (n < the shingle size) in order. */
static uint64_t short_body_key(const uint64_t *w, unsigned n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (unsigned j = 0; j < n; j++)
        h = (h ^ w[j]) * 0x100000001b3ULL;
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
        if ((uint32_t)(tok->off - skip_off) < skip_len)   /* inside the skipped span */
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
    if (kept > 0 && kept < k)
        bins_add(b, short_body_key(window, kept));
    return skipped;
}

/* hash_shingles() for the default size, 3: the window is three registers
 * and the stop words in it three bits, instead of circular arrays whose
 * index arithmetic cost more than the hashing. Same keys, same order. */
static uint32_t hash_shingles3(const struct minhash_ctx *ctx, const struct tokens *toks,
                               uint32_t skip_off, uint32_t skip_len, int use_stop,
                               struct bins *b)
{
    uint64_t w0 = 0, w1 = 0;          /* the two tokens before, oldest first */
    unsigned stops = 0;               /* bit 0: the newest token is a stop word */
    uint32_t kept = 0, skipped = 0;

    for (size_t i = 0; i < toks->n; i++) {
        const struct token *tok = &toks->toks[i];
        if ((uint32_t)(tok->off - skip_off) < skip_len)   /* inside the skipped span */
            continue;
        uint64_t w2 = tok->hash;
        stops = ((stops << 1) | (use_stop ? (unsigned)is_stop(ctx, w2) : 0)) & 7;
        if (++kept >= 3) {
            if (stops == 7)
                skipped++;
            else
                bins_add(b, w0 ^ ((w1 << 21) | (w1 >> 43)) ^ ((w2 << 42) | (w2 >> 22)));
        }
        w0 = w1;
        w1 = w2;
    }
    if (kept > 0 && kept < 3) {
        const uint64_t first[2] = {w0, w1};       /* the kept tokens end at w1 */
        bins_add(b, short_body_key(first + 2 - kept, kept));
    }
    return skipped;
}

static int cmp_u64(const void *a, const void *b);

/* Sorts the arrival list into keys, ascending and without repeats (set->n
 * becomes the distinct count), and fills upto[]. The keys are uniform
 * hashes: one counting pass on their top bits, with one or two buckets per
 * key, leaves them nearly sorted, and insertion sort moves only the few
 * that share a bucket. (With a fixed 256 buckets, a 500-shingle body put two
 * keys in each, and whether a key had to move was a coin toss: the
 * mispredicted branches cost more than the bigger counting pass.) */
#define SORT_MIN_BITS 8
#define SORT_MAX_BITS 12
_Static_assert(MINHASH_SCAN_LIMIT <= (1 << SORT_MAX_BITS), "SORT_MAX_BITS");

static void set_sort(struct minhash_set *set)
{
    size_t n = set->n;
    uint64_t *keys = set->keys, *list = set->list;
    if (n > MINHASH_SCAN_LIMIT) {
        memcpy(keys, list, n * sizeof(*keys));
        qsort(keys, n, sizeof(*keys), cmp_u64);
    } else {
        unsigned bits = SORT_MIN_BITS;
        while (bits < SORT_MAX_BITS && ((size_t)1 << bits) < n)
            bits++;
        size_t nb = (size_t)1 << bits;
        uint32_t start[(1 << SORT_MAX_BITS) + 1];
        memset(start, 0, (nb + 1) * sizeof(start[0]));
        for (size_t i = 0; i < n; i++)
            start[(list[i] >> (64 - bits)) + 1]++;
        for (size_t b = 0; b < nb; b++)
            start[b + 1] += start[b];
        for (size_t i = 0; i < n; i++)
            keys[start[list[i] >> (64 - bits)]++] = list[i];
        for (size_t i = 1; i < n; i++) {
            uint64_t v = keys[i];
            size_t j = i;
            while (j > 0 && keys[j - 1] > v) {
                keys[j] = keys[j - 1];
                j--;
            }
            keys[j] = v;
        }
    }
    size_t d = n ? 1 : 0;
    for (size_t i = 1; i < n; i++)
        if (keys[i] != keys[d - 1])
            keys[d++] = keys[i];
    set->n = n = d;
    set->sorted = 1;
    /* upto[s]: keys below 2^(64-s), i.e. with at least s leading zeros.
     * Four tallies: most keys land in the first buckets, and one tally
     * would make every increment wait for the previous one. */
    uint32_t tally[4][64] = {{0}};
    for (size_t i = 0; i < n; i++)
        tally[i & 3][__builtin_clzll(keys[i])]++;
    set->upto[64] = 0;
    for (int c = 63; c >= 0; c--)
        set->upto[c] = set->upto[c + 1] + tally[0][c] + tally[1][c] + tally[2][c] + tally[3][c];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- the coded sketch ---------------------------------------------------------- */

struct bits {
    uint64_t w[MINHASH_SKETCH_BYTES / 8 + 1];
    unsigned pos;        /* in bits */
};

/* Appends the low n (<= 32) bits of v. */
static void bits_put(struct bits *b, uint64_t v, unsigned n)
{
    unsigned o = b->pos & 63;
    b->w[b->pos >> 6] |= v << o;
    if (o + n > 64)
        b->w[(b->pos >> 6) + 1] |= v >> (64 - o);
    b->pos += n;
}

#define HDR_BITS 11   /* 7-bit count, 4-bit Rice parameter */

/* Rice-codes the ascending values w[0..k): as many of the smallest as fit
 * (the smallest values of a bottom-k sketch are a bottom-c sketch). */
static void sketch_encode(const uint16_t *w, unsigned k, uint8_t *out)
{
    const unsigned cap = MINHASH_SKETCH_BYTES * 8;
    /* The best Rice parameter is about log2 of the mean gap: try it and
     * the one below. */
    unsigned mean = k ? w[k - 1] / k : 0, r0 = 0;
    while (r0 < 15 && (2u << r0) <= mean)
        r0++;
    unsigned best_r = r0, best_cost = UINT32_MAX;
    for (unsigned r = r0 ? r0 - 1 : 0; r <= r0; r++) {
        unsigned cost = 0, prev = 0;
        for (unsigned i = 0; i < k; i++) {
            cost += ((unsigned)(w[i] - prev) >> r) + 1 + r;
            prev = w[i];
        }
        if (cost < best_cost) {
            best_cost = cost;
            best_r = r;
        }
    }
    unsigned n = 0, used = HDR_BITS, prev = 0;
    for (; n < k; n++) {
        unsigned c = ((unsigned)(w[n] - prev) >> best_r) + 1 + best_r;
        if (used + c > cap)
            break;
        used += c;
        prev = w[n];
    }
    struct bits b;
    memset(&b, 0, sizeof(b));
    bits_put(&b, n, 7);
    bits_put(&b, best_r, 4);
    prev = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned g = (unsigned)(w[i] - prev);
        for (unsigned q = g >> best_r; q; q -= q > 31 ? 31 : q)
            bits_put(&b, (1ULL << (q > 31 ? 31 : q)) - 1, q > 31 ? 31 : q);   /* q ones */
        bits_put(&b, 0, 1);
        bits_put(&b, g & ((1u << best_r) - 1), best_r);
        prev = w[i];
    }
    /* Little-endian bytes, whatever the host's order. */
    for (unsigned i = 0; i < MINHASH_SKETCH_BYTES; i++)
        out[i] = (uint8_t)(b.w[i >> 3] >> ((i & 7) * 8));
}

unsigned minhash_sketch_decode(const uint8_t *sketch, uint16_t v[MINHASH_SKETCH])
{
    /* The stream is little-endian bit order. Called for every candidate of
     * every lookup, so the loop is built for the common case: an unaligned
     * 8-byte read at the current byte holds at least 57 good bits, enough
     * for the run, its 0 and the r low bits of any value whose run is
     * shorter than 41 ones; longer runs take the exact slow read. The bytes
     * are copied into a zero-padded buffer, so reads past the sketch see 0
     * (a run ends there, and the pos checks reject it). */
    uint8_t bytes[MINHASH_SKETCH_BYTES + 16];
    memcpy(bytes, sketch, MINHASH_SKETCH_BYTES);
    memset(bytes + MINHASH_SKETCH_BYTES, 0, 16);
    const unsigned cap = MINHASH_SKETCH_BYTES * 8;
    uint64_t w = minhash_load_le64(bytes);
    unsigned n = (unsigned)(w & 0x7f), r = (unsigned)((w >> 7) & 0xf);
    uint32_t mask = (1u << r) - 1;
    unsigned pos = HDR_BITS;
    if (n > MINHASH_SKETCH)
        n = MINHASH_SKETCH;
    uint32_t prev = 0;
    for (unsigned i = 0; i < n; i++) {
        if (pos >= cap)
            return i;
        w = minhash_load_le64(bytes + (pos >> 3)) >> (pos & 7);    /* >= 57 good bits */
        unsigned q = (unsigned)__builtin_ctzll(~w | (1ULL << 57));
        if (__builtin_expect(q + 1 + r > 57, 0)) {
            /* A long run: count it word by word. */
            q = 0;
            for (;;) {
                uint64_t x = minhash_load_le64(bytes + ((pos + q) >> 3)) >> ((pos + q) & 7);
                unsigned ones = (unsigned)__builtin_ctzll(~x | (1ULL << 57));
                q += ones;
                if (ones < 57 || pos + q >= cap)
                    break;
            }
            if (q >= 64)
                return i;   /* a damaged sketch: what was read so far */
            pos += q + 1;
            if (pos + r > cap)
                return i;
            w = minhash_load_le64(bytes + (pos >> 3)) >> (pos & 7);
            prev += (q << r) | (uint32_t)(w & mask);
        } else {
            pos += q + 1;
            if (pos + r > cap)
                return i;
            prev += (q << r) | (uint32_t)((w >> q >> 1) & mask);
        }
        pos += r;
        if (prev > UINT16_MAX)
            return i;
        v[i] = (uint16_t)prev;
    }
    return n;
}

/* The k smallest keys (the sorted set's prefix), as 16-bit values inside
 * the narrowest window [0, 2^(64-shift)) that holds them. */
static void make_sketch(const struct minhash_set *set, struct minhash *out)
{
    unsigned k = set->n < MINHASH_SKETCH ? (unsigned)set->n : MINHASH_SKETCH;
    if (!k)
        return;
    const uint64_t *keys = set->keys;      /* ascending (set_sort) */
    unsigned shift = (unsigned)__builtin_clzll(keys[k - 1]);
    uint16_t w[MINHASH_SKETCH];
    out->shift = (uint8_t)shift;
    for (unsigned i = 0; i < k; i++)
        w[i] = (uint16_t)((keys[i] << shift) >> 48);
    sketch_encode(w, k, out->sketch);
}

int minhash_compute(const struct minhash_ctx *ctx, const struct tokens *toks,
                    uint32_t skip_off, uint32_t skip_len, struct minhash *out,
                    struct minhash_set *set)
{
    struct bins b;
    memset(&b, 0, sizeof(b));
    memset(b.min, 0xff, sizeof(b.min));
    memset(out, 0, sizeof(*out));
    b.set = set;
    if (set_reserve(set, toks->n + 1) < 0)
        return -1;

    /* Arithmetic on the token hashes, not their bytes: endian-stable. */
    uint64_t bh = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < toks->n; i++)
        bh = (bh ^ toks->toks[i].hash) * 0x100000001b3ULL;
    out->body_hash = minhash_mix64(bh ^ toks->n);
    out->ntokens = toks->n > UINT32_MAX ? UINT32_MAX : (uint32_t)toks->n;
    if (!toks->n) {
        memset(set->upto, 0, sizeof(set->upto));
        return 0;
    }

    uint32_t (*shingles)(const struct minhash_ctx *, const struct tokens *, uint32_t, uint32_t,
                         int, struct bins *) = ctx->shingle == 3 ? hash_shingles3 : hash_shingles;
    uint32_t skipped = shingles(ctx, toks, skip_off, skip_len, 1, &b);
    if (b.n == 0 && skipped)            /* nothing but stop words */
        shingles(ctx, toks, skip_off, skip_len, 0, &b);
    if (b.n == 0)                       /* only the dateline: use it all */
        shingles(ctx, toks, 0, 0, 0, &b);
    set_sort(set);
    out->nshingles = set->n > UINT32_MAX ? UINT32_MAX : (uint32_t)set->n;
    make_sketch(set, out);

    /* Optimal densification (Shrivastava 2017): an empty bin borrows the
     * minimum of a bin chosen by a fixed hash of (bin, attempt), so two
     * texts fill the same empty bin from the same donor. */
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        uint32_t v = 0;
        if (bins_has(&b, j)) {
            v = b.min[j];
        } else {
            for (uint64_t a = 1;; a++) {
                unsigned d = (unsigned)(minhash_mix64(((uint64_t)j << 32) ^ a ^ 0x5bd1e995ULL) &
                                        (MINHASH_BANDS - 1));
                if (bins_has(&b, d)) {
                    v = b.min[d];
                    break;
                }
            }
        }
        out->bands[j] = v;
        unsigned nib = minhash_check_of(v);
        out->check[j >> 1] |= (uint8_t)(nib << ((j & 1) * 4));
    }
    return 0;
}

/* First index in keys[0..n) whose key is >= v. Branch-free halving: the
 * keys are uniform hashes, so every comparison is a coin toss a branch
 * predictor would lose. */
static size_t lower_bound(const uint64_t *keys, size_t n, uint64_t v)
{
    if (!n)
        return 0;
    const uint64_t *base = keys;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half - 1] < v ? base + half : base;
        n -= half;
    }
    return (size_t)(base - keys) + (*base < v);
}

void minhash_compare(struct minhash_set *a, const uint8_t *coded, unsigned shift,
                     uint32_t nb, struct minhash_cmp *out)
{
    uint16_t sketch[MINHASH_SKETCH];
    unsigned nv = minhash_sketch_decode(coded, sketch);
    minhash_compare_values(a, sketch, nv, shift, nb, NULL, out);
}

/* The fewest sketch values a pair must meet for its jaccard or its
 * containment to reach the goal, less one (the shares are computed in
 * floating point below; the bound must never reject a pair that passes).
 * The chance correction only lowers the count, so the raw count bounds it. */
static unsigned matches_needed(const struct minhash_goal *goal, unsigned nv, unsigned in,
                               size_t na, uint32_t nb)
{
    double u, samples;
    if (nb <= nv) {             /* the exact case below: nb counts as nv */
        u = (double)na + nv;
        samples = na < nv ? (double)na : nv;
    } else {
        u = (double)nv + in;
        samples = na <= nb ? in : nv;
    }
    double j = goal->jaccard * u / (1.0 + goal->jaccard);   /* x / (u - x) >= jaccard */
    double c = goal->contain * samples;                       /* x / samples >= contain */
    double m = j < c ? j : c;
    return m >= 1 ? (unsigned)m - 1 : 0;
}

void minhash_compare_values(struct minhash_set *a, const uint16_t *sketch, unsigned nv,
                            unsigned shift, uint32_t nb, const struct minhash_goal *goal,
                            struct minhash_cmp *out)
{
    memset(out, 0, sizeof(*out));
    size_t na = a->n;
    if (!nv || !na || shift > 63)
        return;
    uint16_t wmax = sketch[nv - 1];
    unsigned in = 0;
    unsigned x = 0;       /* sketch values met by a query key */
    /* The query keys are sorted, so those inside the window are a prefix:
     * `in` of them fall at or below the sketch's largest value. */
    size_t lim = a->upto[shift];
    in = wmax == UINT16_MAX ? (unsigned)lim
                            : (unsigned)lower_bound(a->keys, lim,
                                                    ((uint64_t)wmax + 1) << 48 >> shift);
    const uint64_t *map = lim <= MINHASH_BITMAP_LIMIT ? bitmap_for(a, shift) : NULL;
    if (map) {
        /* A sketch value is met when some query key inside the window has
         * it: one bit test each. (Keys above wmax cannot equal a sketch
         * value, so the bitmap may hold all `lim` of them.) */
        unsigned need = goal ? matches_needed(goal, nv, in, na, nb) : 0;
        for (unsigned j = 0; j < nv;) {
            for (unsigned end = j + 8 < nv ? j + 8 : nv; j < end; j++) {
                size_t v = sketch[j];
                x += (unsigned)(map[v >> 6] >> (v & 63)) & 1;
            }
            if (x + (nv - j) < need)
                return;         /* out of reach: no estimate */
        }
    } else {
        /* A long query against a short sketch: one binary search per
         * sketch value bounds the cost. The keys of value w are
         * [w << 48 >> shift, (w + 1) << 48 >> shift). */
        for (unsigned j = 0; j < nv; j++) {
            uint64_t lo = (uint64_t)sketch[j] << 48 >> shift;
            size_t p = lower_bound(a->keys, in, lo);
            if (p < in && (sketch[j] == UINT16_MAX ||
                           a->keys[p] < (((uint64_t)sketch[j] + 1) << 48 >> shift)))
                x++;
        }
    }
    /* (Two remembered keys on one 16-bit value, a few % of sketches, share
     * its fate: both lookups above see the same bit or search result.)
     *
     * A query key outside the remembered set still meets one of the
     * sketch's 16-bit values by chance, q per value: negligible for bodies
     * of similar length (~0.2 %), not when the query is tens of times
     * longer. Remove the expected chance meetings; give up (no estimate)
     * when they would be more than 5 % of the values. */
    double q = (double)(in - (x < in ? x : in)) / ((double)wmax + 1.0);
    if (q > 0.05)
        return;
    double xc = ((double)x - nv * q) / (1.0 - q);
    x = xc <= 0 ? 0 : (unsigned)(xc + 0.5);
    if (x > in)
        x = in;
    out->matches = x;
    if (nb <= nv) {
        /* The whole remembered set is in the sketch: exact counts. */
        nb = nv;
        size_t small = na < nb ? na : nb;
        double u = (double)na + (double)nb - (double)x;
        out->jaccard = (double)x / u;
        out->union_samples = u > UINT32_MAX ? UINT32_MAX : (unsigned)u;
        out->samples = (unsigned)(small > UINT32_MAX ? UINT32_MAX : small);
        out->exact = 1;
    } else {
        /* Bottom-nv of the union: the sketch plus the query keys below
         * its threshold. */
        out->union_samples = nv + in - x;
        out->jaccard = (double)x / (double)out->union_samples;
        if (na <= nb) {
            out->samples = in;
            out->exact = in == na;
        } else {
            out->samples = nv;
        }
    }
    out->contain = out->samples ? (double)x / (double)out->samples : 0;
    if (out->contain > 1)
        out->contain = 1;
}

double minhash_lower_bound(unsigned k, unsigned n, double z)
{
    if (!n)
        return 0;
    double p = (double)k / n, z2 = z * z, d = 1 + z2 / n;
    double c = p + z2 / (2.0 * n);
    double h = z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
    double lb = (c - h) / d;
    return lb < 0 ? 0 : lb;
}
