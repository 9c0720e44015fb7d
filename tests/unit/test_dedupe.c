/*
 * test_dedupe.c - the dedupe processor, its fingerprints (core/minhash) and
 * its index (core/dedupe_index).
 *
 * The fixture test feeds tests/fixtures/dedupe/corpus.jsonl through the
 * processor in order and scores pairs of records: predicted same story =
 * same dedupe.cluster, truth = same "story" label. It prints precision and
 * recall and fails below the thresholds stated in docs/dedupe.md
 * (precision >= 0.99, recall >= 0.95).
 *
 * The generated-corpus test does the same through decode + clean + dedupe
 * on tests/fixtures/dedupe/generated.jsonl, a sample of bench/gen_corpus
 * (template prose: unrelated stories share much boilerplate vocabulary),
 * scored against the generator's answer key; with build/bench/gen_corpus
 * built it also runs a larger corpus of full-length articles.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/chain.h"
#include "core/conf.h"
#include "core/decode.h"
#include "core/dedupe_index.h"
#include "core/minhash.h"
#include "core/record.h"
#include "core/settings.h"
#include "processors/processor.h"

#define CORPUS "tests/fixtures/dedupe/corpus.jsonl"
#define GENERATED "tests/fixtures/dedupe/generated.jsonl"
#define GENERATED_TRUTH "tests/fixtures/dedupe/generated.truth.tsv"
#define GEN_CORPUS "build/bench/gen_corpus"
#define MIN_PRECISION 0.99
#define MIN_RECALL    0.95
#define HOUR_MS (3600LL * 1000)

extern const struct processor_ops dedupe_processor;

static const char *STORY_A =
    "KYIV, March 3 (Wirestream) - Ukraine's foreign minister met his Polish counterpart on "
    "Monday to discuss border crossings, grain transit and the reconstruction of power "
    "plants damaged during the winter, officials in both capitals said.\n\n"
    "The ministers agreed to open two more lanes for empty trucks at the busiest crossing "
    "and to set up a joint group that will meet every month to resolve complaints from "
    "hauliers and farmers on both sides of the frontier.\n\n"
    "Poland has been one of Ukraine's closest allies since the invasion, but protests by "
    "Polish farmers over cheap imports have strained relations at times. The group will "
    "also look at rail capacity and at storage for grain waiting to be exported through "
    "Baltic ports.\n\n"
    "Diplomats said the meeting was cordial and that both sides wanted to show progress "
    "before a summit of regional leaders planned for the spring in Warsaw.";

static const char *STORY_A_REWRITE =
    "WARSAW (AP) - Poland and Ukraine agreed on Monday to add two truck lanes at their "
    "busiest border crossing after talks between their foreign ministers.\n\n"
    "The ministers agreed to open two more lanes for empty trucks at the busiest crossing "
    "and to set up a joint group that will meet every month to resolve complaints from "
    "hauliers and farmers on both sides of the frontier.\n\n"
    "Poland has been one of Ukraine's closest allies since the invasion, but protests by "
    "Polish farmers over cheap imports have strained relations at times. The group will "
    "also study rail capacity and storage for grain waiting to be exported through "
    "Baltic ports.\n\n"
    "Diplomats called the meeting cordial and said both sides wanted to show progress "
    "before a summit of regional leaders planned for the spring in Warsaw.";

static const char *STORY_B =
    "LAGOS, March 3 (Wirestream) - Nigeria's central bank kept its benchmark interest rate "
    "unchanged on Monday, saying recent increases needed time to work through an economy "
    "still struggling with high food prices and a weak currency.\n\n"
    "The governor said the monetary policy committee had voted unanimously to hold the rate "
    "and would watch fuel prices closely after the removal of subsidies last year. Analysts "
    "had expected a pause after a series of steep hikes.\n\n"
    "The naira has lost much of its value against the dollar in the past two years, pushing "
    "up the cost of imported goods and medicines.";

/* ------------------------------------------------------------ helpers */

struct inst {
    struct conf_file *cf;
    void *conf;
    void *state;
};

static struct inst open_dedupe(const char *conf_text, struct state_store *store)
{
    char err[512];
    struct inst in;
    memset(&in, 0, sizeof(in));
    in.cf = conf_parse(conf_text, "config/wirestream.conf", err, sizeof(err));
    if (!in.cf)
        fail_msg("conf: %s", err);
    in.conf = calloc(1, dedupe_processor.conf_size);
    assert_non_null(in.conf);
    if (conf_bind(dedupe_processor.keys, conf_section(in.cf, "processor.dedupe"), in.cf,
                  in.conf, err, sizeof(err)) < 0)
        fail_msg("bind: %s", err);
    struct processor_env env = {.cf = in.cf, .store = store};
    if (dedupe_processor.init(&in.state, in.conf, &env, err, sizeof(err)) < 0)
        fail_msg("init: %s", err);
    return in;
}

static void close_dedupe(struct inst *in)
{
    dedupe_processor.destroy(in->state);
    conf_unbind(dedupe_processor.keys, in->conf);
    free(in->conf);
    conf_file_free(in->cf);
}

static struct record *make_rec(const char *id, const char *body, int64_t date_ms)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    if (id)
        assert_int_equal(record_set(&rec->id, id, (size_t)-1), 0);
    assert_int_equal(record_set(&rec->body, body, (size_t)-1), 0);
    rec->body_len = strlen(body);
    rec->date_ms = date_ms;
    assert_int_equal(record_analyze(rec), 0);
    return rec;
}

/* Processes one article; returns the verdict and leaves the record in *out
 * (the caller frees it) when out is given. */
static enum verdict feed(struct inst *in, const char *id, const char *body, int64_t date_ms,
                         struct record **out)
{
    struct record *rec = make_rec(id, body, date_ms);
    enum verdict v = dedupe_processor.process(in->state, rec);
    if (out)
        *out = rec;
    else
        record_free(rec);
    return v;
}

/* Fingerprints text; its shingle set goes to set when given. */
static void fingerprint_set(const char *text, struct minhash *mh, struct minhash_set *set)
{
    struct minhash_ctx *ctx = minhash_ctx_new(3);
    struct minhash_set own = {0};
    struct tokens t;
    memset(&t, 0, sizeof(t));
    assert_non_null(ctx);
    assert_int_equal(text_tokenize(text, strlen(text), &t), 0);
    assert_int_equal(minhash_compute(ctx, &t, 0, 0, mh, set ? set : &own), 0);
    minhash_set_free(&own);
    text_tokens_free(&t);
    minhash_ctx_free(ctx);
}

static void fingerprint(const char *text, struct minhash *mh)
{
    fingerprint_set(text, mh, NULL);
}

/* The query set of a against the sketch of b. */
static void compare(struct minhash_set *a, const struct minhash *b, struct minhash_cmp *out)
{
    minhash_compare(a, b->sketch, b->shift, b->nshingles, out);
}

/* A store that behaves like a compacted topic read back: the latest value
 * per key, in the order of their last write (a tombstone removes the key). */
struct kv {
    char *key;
    size_t klen;
    unsigned char *val;
    size_t vlen;
};

struct fake_store {
    struct kv *v;
    size_t n, cap;
    size_t puts, tombstones;
};

static int fake_put(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct fake_store *fs = opaque;
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->v[i].klen == klen && memcmp(fs->v[i].key, key, klen) == 0) {
            free(fs->v[i].key);
            free(fs->v[i].val);
            memmove(&fs->v[i], &fs->v[i + 1], (fs->n - i - 1) * sizeof(*fs->v));
            fs->n--;
            break;
        }
    }
    fs->puts++;
    if (!val) {
        fs->tombstones++;
        return 0;
    }
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 16;
        fs->v = realloc(fs->v, fs->cap * sizeof(*fs->v));
        assert_non_null(fs->v);
    }
    struct kv *e = &fs->v[fs->n++];
    e->key = malloc(klen);
    e->val = malloc(vlen);
    assert_non_null(e->key);
    assert_non_null(e->val);
    memcpy(e->key, key, klen);
    memcpy(e->val, val, vlen);
    e->klen = klen;
    e->vlen = vlen;
    return 0;
}

static void fake_free(struct fake_store *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].key);
        free(fs->v[i].val);
    }
    free(fs->v);
}

/* ------------------------------------------------------- fingerprints */

static void test_fingerprint_folding(void **unused)
{
    (void)unused;
    struct minhash a, b;
    struct minhash_set sa = {0};
    struct minhash_cmp cmp;
    fingerprint_set("He said \"peace is near\" on  Monday.\n\nTalks resume today.", &a, &sa);
    fingerprint("He said \xe2\x80\x9cpeace is near\xe2\x80\x9d on Monday.  \n \nTalks resume today!", &b);
    assert_true(a.body_hash == b.body_hash);
    assert_memory_equal(a.sketch, b.sketch, sizeof(a.sketch));
    assert_memory_equal(a.bands, b.bands, sizeof(a.bands));
    compare(&sa, &b, &cmp);
    assert_true(cmp.jaccard == 1.0 && cmp.contain == 1.0 && cmp.exact);
    minhash_set_free(&sa);

    fingerprint("He said peace is far on Monday. Talks resume today.", &b);
    assert_true(a.body_hash != b.body_hash);
}

static void test_fingerprint_similarity(void **unused)
{
    (void)unused;
    struct minhash a, r, u, t;
    struct minhash_set sa = {0}, st = {0};
    fingerprint_set(STORY_A, &a, &sa);
    fingerprint(STORY_A_REWRITE, &r);
    fingerprint(STORY_B, &u);
    /* The first half of STORY_A: a truncated copy. */
    char half[2048];
    size_t hl = strlen(STORY_A) / 2;
    memcpy(half, STORY_A, hl);
    half[hl] = '\0';
    fingerprint_set(half, &t, &st);

    struct minhash_cmp cr, cu, ct, ct2;
    compare(&sa, &r, &cr);
    compare(&sa, &u, &cu);
    compare(&sa, &t, &ct);     /* the original queried against the half */
    compare(&st, &a, &ct2);    /* the half queried against the original */
    print_message("rewrite J=%.2f unrelated J=%.2f C=%.2f half J=%.2f C=%.2f (%u/%u) "
                  "reverse C=%.2f (%u/%u)\n", cr.jaccard, cu.jaccard, cu.contain, ct.jaccard,
                  ct.contain, ct.matches, ct.samples, ct2.contain, ct2.matches, ct2.samples);
    assert_true(cr.jaccard >= 0.4);
    assert_true(cu.jaccard <= 0.1 && cu.contain <= 0.1);
    assert_true(ct.jaccard >= 0.3);
    /* The half is inside the original (but for the shingles across the cut). */
    assert_true(ct.contain >= 0.9 && ct2.contain >= 0.9);
    assert_true(a.nshingles > t.nshingles);
    assert_true(minhash_lower_bound(16, 16, 3.0) > 0.6 && minhash_lower_bound(4, 8, 3.0) < 0.25);
    minhash_set_free(&sa);
    minhash_set_free(&st);
    /* Bands share values with the rewrite, hardly any with unrelated text. */
    int shared_r = 0, shared_u = 0;
    for (int j = 0; j < MINHASH_BANDS; j++) {
        shared_r += a.bands[j] == r.bands[j];
        shared_u += a.bands[j] == u.bands[j];
    }
    assert_true(shared_r >= 3);
    assert_true(shared_u <= 1);
}

static void test_fingerprint_short_and_empty(void **unused)
{
    (void)unused;
    struct minhash a, b;
    fingerprint("", &a);
    assert_int_equal(a.ntokens, 0);
    /* Stop words only still give a fingerprint, one shingle. */
    fingerprint("It is what it is.", &a);
    fingerprint("it is what it is", &b);
    assert_true(a.nshingles > 0);
    assert_true(a.body_hash == b.body_hash);
    assert_memory_equal(a.sketch, b.sketch, sizeof(a.sketch));
}

/* Fingerprint of text with shingles of k words (its set in *set). */
static void fingerprint_k(unsigned k, const char *text, struct minhash *mh,
                          struct minhash_set *set)
{
    struct minhash_ctx *ctx = minhash_ctx_new(k);
    struct tokens t;
    memset(&t, 0, sizeof(t));
    assert_non_null(ctx);
    assert_int_equal(minhash_ctx_shingle(ctx), k);
    assert_int_equal(text_tokenize(text, strlen(text), &t), 0);
    assert_int_equal(minhash_compute(ctx, &t, 0, 0, mh, set), 0);
    text_tokens_free(&t);
    minhash_ctx_free(ctx);
}

/* Shingle sizes other than the default 3 take the general window code:
 * a copy is the same fingerprint, the first half of a story is contained
 * in it, an unrelated story is not, and a rewrite looks less alike with
 * 8-word shingles than with single words (fewer shingles survive each
 * changed word; the estimates are samples, so only the ends are compared). */
static void test_fingerprint_other_shingle_sizes(void **unused)
{
    (void)unused;
    char half[2048];
    size_t hl = strlen(STORY_A) / 2;
    memcpy(half, STORY_A, hl);
    half[hl] = '\0';
    double rewrite_k1 = 0, rewrite_kmax = 1;
    for (unsigned k = 1; k <= MINHASH_MAX_SHINGLE; k++) {
        struct minhash a, a2, h, u, r;
        struct minhash_set sa = {0}, sh = {0}, scratch = {0};
        fingerprint_k(k, STORY_A, &a, &sa);
        fingerprint_k(k, STORY_A, &a2, &scratch);
        fingerprint_k(k, half, &h, &sh);
        fingerprint_k(k, STORY_B, &u, &scratch);
        fingerprint_k(k, STORY_A_REWRITE, &r, &scratch);
        assert_true(a.body_hash == a2.body_hash && a.nshingles == a2.nshingles);
        assert_memory_equal(a.bands, a2.bands, sizeof(a.bands));
        assert_memory_equal(a.sketch, a2.sketch, sizeof(a.sketch));
        struct minhash_cmp self, part, other, rew;
        compare(&sa, &a2, &self);
        compare(&sh, &a, &part);            /* the half against the whole */
        compare(&sa, &u, &other);
        compare(&sa, &r, &rew);
        print_message("k=%u: %u shingles, self J=%.2f, half C=%.2f, unrelated J=%.2f, "
                      "rewrite J=%.2f\n", k, a.nshingles, self.jaccard, part.contain,
                      other.jaccard, rew.jaccard);
        assert_true(self.jaccard == 1.0);
        assert_true(part.contain >= 0.85);
        assert_true(other.jaccard <= 0.1);
        if (k == 1)
            rewrite_k1 = rew.jaccard;
        if (k == MINHASH_MAX_SHINGLE)
            rewrite_kmax = rew.jaccard;
        minhash_set_free(&sa);
        minhash_set_free(&sh);
        minhash_set_free(&scratch);
    }
    assert_true(rewrite_k1 > rewrite_kmax + 0.1);
    assert_null(minhash_ctx_new(0));
    assert_null(minhash_ctx_new(MINHASH_MAX_SHINGLE + 1));
}

/* A digest of everything a fingerprint persists (FNV-1a over the fields,
 * little-endian). */
static uint64_t fingerprint_digest(const struct minhash *mh)
{
    uint64_t h = 0xcbf29ce484222325ULL;
#define MIX(v, bytes)                                                     \
    for (unsigned b_ = 0; b_ < (bytes); b_++)                             \
        h = (h ^ (((uint64_t)(v) >> (8 * b_)) & 0xff)) * 0x100000001b3ULL;
    MIX(mh->body_hash, 8);
    MIX(mh->ntokens, 4);
    MIX(mh->nshingles, 4);
    for (unsigned j = 0; j < MINHASH_BANDS; j++)
        MIX(mh->bands[j], 4);
    MIX(mh->shift, 1);
    for (unsigned j = 0; j < MINHASH_SKETCH_BYTES; j++)
        MIX(mh->sketch[j], 1);
#undef MIX
    return h;
}

/* Fingerprints are persisted (the changelog, state files) and compared
 * with new ones after a restart or an upgrade: a change to tokenizing,
 * shingling, hashing or coding that alters them silently stops old stories
 * from matching new versions. These digests are those of state format
 * version 2 (the code of session 4 gives the same); a change that moves
 * them needs a new state format version (processors/dedupe.c) and new
 * digests. */
static void test_fingerprints_are_stable(void **unused)
{
    (void)unused;
    static const struct {
        const char *name;
        const char *text;
        uint64_t digest;
    } cases[] = {
        {"STORY_A", NULL, 0xbf7490652c12c085ULL},
        {"STORY_B", NULL, 0x58b27600878ffea4ULL},
        {"STORY_A_REWRITE", NULL, 0xb1b0c46a09e73b4bULL},
        {"accents and quotes",
         "Zelenskyy met Erdo\xc4\x9f" "an in \xe2\x80\x9cKyiv\xe2\x80\x9d on Monday; "
         "the ministers\xe2\x80\x99 talks ran late, a spokesman said.", 0x58d0168ecb7ee3eeULL},
        /* Bodies shorter than one shingle. */
        {"one word", "Kyiv", 0x7b7a4e12e7888f5fULL},
        {"two words", "Kyiv talks", 0x289c9abea7b3bd12ULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *text = cases[i].text;
        if (!text)
            text = i == 0 ? STORY_A : i == 1 ? STORY_B : STORY_A_REWRITE;
        struct minhash mh;
        fingerprint(text, &mh);
        uint64_t d = fingerprint_digest(&mh);
        if (d != cases[i].digest)
            fail_msg("%s: fingerprint digest 0x%016llx, persisted state has 0x%016llx",
                     cases[i].name, (unsigned long long)d, (unsigned long long)cases[i].digest);
    }
}

/* A body past MINHASH_SCAN_LIMIT distinct shingles: comparisons by binary
 * search give the same estimates as for short bodies, and a short story
 * against a 30x longer one gives no estimate (chance meetings). */
static void test_compare_large_body(void **unused)
{
    (void)unused;
    size_t cap = 200000, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    for (unsigned i = 0; len + 64 < cap && i < 6000; i++)
        len += (size_t)snprintf(big + len, cap - len, "word%u item%u thing%u. ", i, i * 7 % 1000,
                                i * 13 % 977);
    struct minhash mbig, mpart, mother;
    struct minhash_set sbig = {0}, spart = {0};
    fingerprint_set(big, &mbig, &sbig);
    assert_true(sbig.n > MINHASH_SCAN_LIMIT);
    big[len / 10] = '\0';                            /* a tenth: an excerpt */
    fingerprint_set(big, &mpart, &spart);
    fingerprint(STORY_B, &mother);
    struct minhash_cmp self, part, rev, other;
    compare(&sbig, &mbig, &self);
    compare(&sbig, &mpart, &part);     /* the long one arrives after the excerpt */
    compare(&spart, &mbig, &rev);      /* the excerpt arrives after the long one */
    compare(&sbig, &mother, &other);
    print_message("self J=%.3f, excerpt C=%.3f (%u/%u), reverse C=%.3f (%u/%u), other C=%.3f\n",
                  self.jaccard, part.contain, part.matches, part.samples, rev.contain,
                  rev.matches, rev.samples, other.contain);
    assert_true(self.jaccard == 1.0);
    assert_true(part.contain >= 0.95 && rev.contain >= 0.8);
    assert_true(other.contain == 0 && other.jaccard == 0 && other.samples == 0);
    minhash_set_free(&sbig);
    minhash_set_free(&spart);
    free(big);
}

/* Synthetic prose for comparisons: sentence s of story `story`, words from
 * a small vocabulary so unrelated stories still share some shingles. */
static size_t put_sentence(char *buf, size_t cap, unsigned story, unsigned s)
{
    static const char *vocab[] = {
        "minister", "talks", "border", "troops", "ceasefire", "officials", "said", "capital",
        "alliance", "summit", "sanctions", "envoy", "agreement", "forces", "region", "aid",
        "parliament", "vote", "treaty", "delegation", "grain", "ports", "convoy", "drones",
    };
    uint32_t x = story * 2654435761u + s * 40503u + 1;
    size_t len = 0;
    for (int w = 0; w < 12 && len + 16 < cap; w++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", w ? " " : "",
                                vocab[x % (sizeof(vocab) / sizeof(vocab[0]))]);
    }
    len += (size_t)snprintf(buf + len, cap - len, ". ");
    return len;
}

/* Sentences [from, to) of a story; every `swap`-th one (0: none) taken from
 * another story instead, as a rewrite would. */
static void story_text(char *buf, size_t cap, unsigned story, unsigned from, unsigned to,
                       unsigned swap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned s = from; s < to && len + 200 < cap; s++)
        len += put_sentence(buf + len, cap - len, swap && s % swap == 0 ? story + 1000 : story, s);
}

static int same_cmp(const struct minhash_cmp *a, const struct minhash_cmp *b)
{
    return a->jaccard == b->jaccard && a->contain == b->contain && a->matches == b->matches &&
           a->samples == b->samples && a->union_samples == b->union_samples &&
           a->exact == b->exact;
}

/* A goal only cuts comparisons short that could not have reached it: every
 * pair whose full comparison reaches the jaccard or containment of the goal
 * gets the same result with the goal, and the others get that result or no
 * estimate. Pairs cover rewrites, excerpts both ways and unrelated stories
 * of several lengths, so the cut happens often and near the bound. */
static void test_compare_goal_keeps_every_reachable_pair(void **unused)
{
    (void)unused;
    const struct minhash_goal goal = {0.25, 0.5};
    static char a_text[32768], b_text[32768];
    unsigned reached = 0, cut = 0, pairs = 0;
    struct minhash_set sa = {0};
    for (unsigned story = 0; story < 12; story++) {
        unsigned len_a = 10 + story * 9;
        story_text(a_text, sizeof(a_text), story, 0, len_a, 0);
        struct minhash ma;
        fingerprint_set(a_text, &ma, &sa);
        for (unsigned v = 0; v < 24; v++) {
            unsigned other = v % 4 == 0 ? story + 50 : story;
            unsigned from = v % 3 == 1 ? len_a / 4 : 0;
            unsigned to = v % 6 < 2 ? len_a : len_a / (1 + v % 5) + 1 + v;
            story_text(b_text, sizeof(b_text), other, from, to, v % 7 == 0 ? 0 : 1 + v % 7);
            struct minhash mb;
            fingerprint(b_text, &mb);
            uint16_t vals[MINHASH_SKETCH];
            unsigned nv = minhash_sketch_decode(mb.sketch, vals);
            struct minhash_cmp full, fast;
            minhash_compare_values(&sa, vals, nv, mb.shift, mb.nshingles, NULL, &full);
            minhash_compare_values(&sa, vals, nv, mb.shift, mb.nshingles, &goal, &fast);
            pairs++;
            if (full.jaccard >= goal.jaccard || full.contain >= goal.contain) {
                reached++;
                assert_true(same_cmp(&full, &fast));
            } else if (!same_cmp(&full, &fast)) {
                cut++;
                assert_int_equal(fast.matches, 0);
                assert_int_equal(fast.samples, 0);
                assert_true(fast.jaccard == 0 && fast.contain == 0);
            }
        }
    }
    print_message("%u pairs: %u reach the goal, %u cut short\n", pairs, reached, cut);
    assert_true(reached >= 40);
    assert_true(cut >= 40);
    minhash_set_free(&sa);
}

/* ------------------------------------------------------------- index */

static void make_mh(struct minhash *mh, unsigned seed)
{
    char text[256];
    snprintf(text, sizeof(text), "story number %u about topic %u with detail %u and more %u",
             seed, seed * 7 + 1, seed * 13 + 5, seed * 31 + 9);
    fingerprint(text, mh);
}

struct evicted {
    int n;
    char last[64];
};

static void count_evict(void *opaque, const struct dedupe_index *idx, const struct dedupe_entry *e)
{
    struct evicted *ev = opaque;
    ev->n++;
    snprintf(ev->last, sizeof(ev->last), "%.*s", (int)e->id_len, dedupe_entry_id(idx, e));
}

static void test_index_insert_find_evict(void **unused)
{
    (void)unused;
    struct evicted ev = {0};
    struct dedupe_index *idx = dedupe_index_new(16, 4096, count_evict, &ev);
    assert_non_null(idx);
    uint64_t seqs[20];
    for (unsigned i = 0; i < 20; i++) {
        struct minhash mh;
        char id[32];
        make_mh(&mh, i);
        snprintf(id, sizeof(id), "id-%u", i);
        seqs[i] = dedupe_index_insert(idx, &mh, 1000 + i, id, strlen(id), NULL, 0, 0, 1);
        assert_true(seqs[i] != 0);
    }
    assert_int_equal(dedupe_index_count(idx), 16);
    assert_int_equal(ev.n, 4);
    assert_string_equal(ev.last, "id-3");          /* oldest first */
    for (unsigned i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof(id), "id-%u", i);
        uint64_t s = dedupe_index_find_id(idx, id, strlen(id));
        if (i < 4) {
            assert_true(s == 0);
            assert_null(dedupe_index_get(idx, seqs[i]));
        } else {
            assert_true(s == seqs[i]);
        }
        /* Each remembered fingerprint finds itself through its bands. */
        struct minhash mh;
        struct dedupe_candidate cand[64];
        make_mh(&mh, i);
        size_t n = dedupe_index_candidates(idx, &mh, 8, cand, 64);
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= cand[k].seq == seqs[i];
        assert_int_equal(found, i >= 4);
    }
    dedupe_index_expire(idx, 1010);                /* event times 1000..1019 */
    assert_int_equal(dedupe_index_count(idx), 10);
    assert_int_equal(ev.n, 10);
    assert_true(dedupe_index_find_id(idx, "id-9", 4) == 0);
    assert_true(dedupe_index_find_id(idx, "id-10", 5) == seqs[10]);
    dedupe_index_free(idx);
}

static void test_index_string_ring_wraps(void **unused)
{
    (void)unused;
    struct evicted ev = {0};
    /* 1024 bytes of ids, 100-byte ids: about ten fit, whatever the ring holds. */
    struct dedupe_index *idx = dedupe_index_new(64, 1024, count_evict, &ev);
    assert_non_null(idx);
    char id[101];
    for (unsigned i = 0; i < 200; i++) {
        struct minhash mh;
        make_mh(&mh, i);
        memset(id, 'a' + i % 26, 100);
        snprintf(id, sizeof(id), "%04u", i);
        id[4] = 'x';
        assert_true(dedupe_index_insert(idx, &mh, i, id, 100, "cluster", 7, 0, 1) != 0);
        assert_true(dedupe_index_count(idx) <= 10);
        /* The newest entries keep their exact strings after wrapping. */
        uint64_t s = dedupe_index_find_id(idx, id, 100);
        struct dedupe_entry *e = dedupe_index_get(idx, s);
        assert_non_null(e);
        size_t cl;
        assert_memory_equal(dedupe_entry_cluster(idx, e, &cl), "cluster", 7);
        assert_int_equal(cl, 7);
    }
    assert_true(ev.n >= 190);
    dedupe_index_free(idx);
}

static void test_index_probe_limit_bounds_chains(void **unused)
{
    (void)unused;
    /* 1000 identical fingerprints pile into one bucket per band: a lookup
     * walks at most probe_limit of them per band. */
    struct dedupe_index *idx = dedupe_index_new(2048, 65536, NULL, NULL);
    struct minhash mh;
    make_mh(&mh, 42);
    for (unsigned i = 0; i < 1000; i++)
        assert_true(dedupe_index_insert(idx, &mh, i, "x", 1, NULL, 0, 0, 1) != 0);
    struct dedupe_candidate cand[256];
    size_t n = dedupe_index_candidates(idx, &mh, 4, cand, 256);
    assert_int_equal(n, 4);                         /* the 4 newest, once each */
    assert_true(cand[0].seq == 1000 && cand[3].seq == 997);
    /* Each was met in all 16 bands, so none counts as met in a crowded one. */
    for (size_t k = 0; k < n; k++)
        assert_true(cand[k].bands == MINHASH_BANDS && !cand[k].crowded);
    dedupe_index_free(idx);
}

/* A fingerprint with the given band keys (its residues follow from them). */
static void banded_mh(struct minhash *mh, const uint32_t bands[MINHASH_BANDS])
{
    memset(mh, 0, sizeof(*mh));
    mh->ntokens = 100;
    mh->nshingles = 100;
    mh->body_hash = bands[0] ^ ((uint64_t)bands[1] << 32);
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        mh->bands[j] = bands[j];
        mh->check[j >> 1] |= (uint8_t)(minhash_check_of(bands[j]) << ((j & 1) * 4));
    }
}

/* How a candidate was met: the number of bands, and whether its only band
 * was a crowded one (a chain longer than probe_limit). */
static void test_index_candidate_bands_and_crowding(void **unused)
{
    (void)unused;
    struct dedupe_index *idx = dedupe_index_new(256, 65536, NULL, NULL);
    assert_non_null(idx);
    uint32_t b[MINHASH_BANDS];
    struct minhash mh;
    /* 20 strangers share band 0 (a common phrase), nothing else. */
    for (unsigned i = 0; i < 20; i++) {
        for (unsigned j = 0; j < MINHASH_BANDS; j++)
            b[j] = 1000000 + i * 100 + j;
        b[0] = 7;
        banded_mh(&mh, b);
        assert_true(dedupe_index_insert(idx, &mh, i, "s", 1, NULL, 0, 0, 1) != 0);
    }
    /* A version shares band 0 and bands 5 and 9 with the query; three
     * stories share band 3 only, with nobody else. */
    for (unsigned j = 0; j < MINHASH_BANDS; j++)
        b[j] = 2000000 + j;
    b[0] = 7;
    b[5] = 55;
    b[9] = 99;
    banded_mh(&mh, b);
    uint64_t version = dedupe_index_insert(idx, &mh, 30, "v", 1, NULL, 0, 0, 1);
    uint64_t rare[3];
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 0; j < MINHASH_BANDS; j++)
            b[j] = 3000000 + i * 100 + j;
        b[3] = 33;
        banded_mh(&mh, b);
        rare[i] = dedupe_index_insert(idx, &mh, 40 + i, "r", 1, NULL, 0, 0, 1);
    }

    for (unsigned j = 0; j < MINHASH_BANDS; j++)
        b[j] = 4000000 + j;
    b[0] = 7;
    b[3] = 33;
    b[5] = 55;
    b[9] = 99;
    banded_mh(&mh, b);
    struct dedupe_candidate cand[256];
    size_t n = dedupe_index_candidates(idx, &mh, 8, cand, 256);
    /* Band 0: the version and the 7 newest strangers (probe_limit 8);
     * band 3: the three rare ones. */
    assert_int_equal(n, 11);
    unsigned strangers = 0, rares = 0, versions = 0;
    for (size_t k = 0; k < n; k++) {
        if (cand[k].seq == version) {
            versions++;
            assert_int_equal(cand[k].bands, 3);
            assert_false(cand[k].crowded);
        } else if (cand[k].seq == rare[0] || cand[k].seq == rare[1] || cand[k].seq == rare[2]) {
            rares++;
            assert_int_equal(cand[k].bands, 1);
            assert_false(cand[k].crowded);     /* a chain of 3: not a common key */
        } else {
            strangers++;
            assert_int_equal(cand[k].bands, 1);
            assert_true(cand[k].crowded);
        }
    }
    assert_int_equal(versions, 1);
    assert_int_equal(rares, 3);
    assert_int_equal(strangers, 7);
    /* With a probe limit past the chain's length nothing is crowded. */
    n = dedupe_index_candidates(idx, &mh, 64, cand, 256);
    for (size_t k = 0; k < n; k++)
        assert_false(cand[k].crowded);
    /* A list that may fill up (walked band by band) claims no crowding. */
    n = dedupe_index_candidates(idx, &mh, 8, cand, 100);
    assert_int_equal(n, 11);
    for (size_t k = 0; k < n; k++)
        assert_false(cand[k].crowded);
    dedupe_index_free(idx);
}

/* --------------------------------------------------------- processor */

static void test_exact_near_unique(void **unused)
{
    (void)unused;
    struct inst in = open_dedupe("", NULL);
    struct record *rec;
    int64_t t0 = 1741000000000LL;

    assert_int_equal(feed(&in, "a1", STORY_A, t0, &rec), VERDICT_KEEP);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_null(rec->dedupe.duplicate_of);
    assert_int_equal(rec->dedupe.cluster_size, 1);
    record_free(rec);

    /* Same body, another id: dropped by default. */
    assert_int_equal(feed(&in, "a2", STORY_A, t0 + HOUR_MS, &rec), VERDICT_DROP);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a1");
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_true(rec->dedupe.similarity == 1.0);
    assert_int_equal(rec->dedupe.cluster_size, 2);
    record_free(rec);

    /* A rewrite: published, linked. */
    assert_int_equal(feed(&in, "a3", STORY_A_REWRITE, t0 + 2 * HOUR_MS, &rec), VERDICT_KEEP);
    assert_int_equal(rec->dedupe.status, DEDUPE_NEAR_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a1");
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_true(rec->dedupe.similarity >= 0.3 && rec->dedupe.similarity < 1.0);
    assert_int_equal(rec->dedupe.cluster_size, 3);
    record_free(rec);

    /* An exact copy of the rewrite names the rewrite, in a1's cluster. */
    assert_int_equal(feed(&in, "a4", STORY_A_REWRITE, t0 + 3 * HOUR_MS, &rec), VERDICT_DROP);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a3");
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_int_equal(rec->dedupe.cluster_size, 4);
    record_free(rec);

    /* Unrelated: its own cluster. */
    assert_int_equal(feed(&in, "b1", STORY_B, t0 + 3 * HOUR_MS, &rec), VERDICT_KEEP);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);
    assert_string_equal(rec->dedupe.cluster, "b1");
    record_free(rec);

    /* The same id again with a corrected body: a duplicate by id. */
    assert_int_equal(feed(&in, "b1", "A completely different correction text.", t0 + 4 * HOUR_MS,
                          &rec), VERDICT_DROP);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "b1");
    record_free(rec);

    json_t *stats = json_object();
    dedupe_processor.stats(in.state, stats);
    assert_int_equal(json_integer_value(json_object_get(stats, "duplicates")), 3);
    assert_int_equal(json_integer_value(json_object_get(stats, "near_duplicates")), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "unique")), 2);
    json_decref(stats);
    close_dedupe(&in);
}

static void test_verdict_switches(void **unused)
{
    (void)unused;
    struct inst in = open_dedupe("[processor.dedupe]\ndrop_exact = false\npublish_near = false\n",
                                 NULL);
    int64_t t0 = 1741000000000LL;
    assert_int_equal(feed(&in, "a1", STORY_A, t0, NULL), VERDICT_KEEP);
    assert_int_equal(feed(&in, "a2", STORY_A, t0, NULL), VERDICT_KEEP);
    assert_int_equal(feed(&in, "a3", STORY_A_REWRITE, t0, NULL), VERDICT_DROP);
    close_dedupe(&in);

    /* A threshold above any rewrite's score leaves only exact matches. */
    in = open_dedupe("[processor.dedupe]\nthreshold = 0.99\ncontainment = 1.0\n", NULL);
    struct record *rec;
    feed(&in, "a1", STORY_A, t0, NULL);
    feed(&in, "a3", STORY_A_REWRITE, t0, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);
    record_free(rec);
    close_dedupe(&in);
}

static void test_window_by_event_time(void **unused)
{
    (void)unused;
    struct inst in = open_dedupe("[processor.dedupe]\nwindow = 72h\n", NULL);
    struct record *rec;
    int64_t t0 = 1741000000000LL;
    feed(&in, "a1", STORY_A, t0, NULL);
    feed(&in, "a2", STORY_A, t0 + 71 * HOUR_MS, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    record_free(rec);
    /* 73 h after the first: forgotten, a new story (and a new root). */
    feed(&in, "a3", STORY_A, t0 + 73 * HOUR_MS, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);
    assert_string_equal(rec->dedupe.cluster, "a3");
    record_free(rec);

    /* No date: the message timestamp is the event time. */
    rec = make_rec("a4", STORY_A, RECORD_DATE_UNKNOWN);
    rec->prov.set = 1;
    rec->prov.timestamp_ms = t0 + 200 * HOUR_MS;
    dedupe_processor.process(in.state, rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);   /* a3 is 127 h older */
    record_free(rec);
    /* Neither: the newest time seen, so it matches a4. */
    feed(&in, "a5", STORY_A, RECORD_DATE_UNKNOWN, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a4");
    record_free(rec);
    close_dedupe(&in);
}

static void test_memory_bounds(void **unused)
{
    (void)unused;
    struct inst in = open_dedupe("[processor.dedupe]\nmax_entries = 100000\nmemory_budget = 1MiB\n",
                                 NULL);
    json_t *stats = json_object();
    dedupe_processor.stats(in.state, stats);
    json_int_t cap = json_integer_value(json_object_get(stats, "capacity"));
    json_int_t bytes = json_integer_value(json_object_get(stats, "index_bytes"));
    print_message("1 MiB budget: %lld entries, %lld bytes (%.0f per entry)\n", (long long)cap,
                  (long long)bytes, (double)bytes / (double)cap);
    assert_true(cap > 3000 && cap < 100000);
    assert_true(bytes <= 1024 * 1024);
    assert_true((double)bytes / (double)cap <= 256.0);
    json_decref(stats);
    close_dedupe(&in);

    char err[256];
    struct conf_file *cf = conf_parse("[processor.dedupe]\nthreshold = 1.5\n", "x.conf", err,
                                      sizeof(err));
    void *conf = calloc(1, dedupe_processor.conf_size);
    void *state = NULL;
    assert_int_equal(conf_bind(dedupe_processor.keys, conf_section(cf, "processor.dedupe"), cf,
                               conf, err, sizeof(err)), 0);
    struct processor_env env = {.cf = cf, .store = NULL};
    assert_int_equal(dedupe_processor.init(&state, conf, &env, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "threshold"));
    conf_unbind(dedupe_processor.keys, conf);
    free(conf);
    conf_file_free(cf);
}

/* The story's count survives its first article: versions that matched
 * different earlier versions still share one count after the root is
 * evicted. */
static void test_cluster_size_after_root_evicted(void **unused)
{
    (void)unused;
    struct inst in = open_dedupe("[processor.dedupe]\nmax_entries = 16\n", NULL);
    int64_t t0 = 1741000000000LL;
    struct record *rec;
    char a_more[4096], r_more[4096];
    snprintf(a_more, sizeof(a_more), "%s\n\nThe talks will resume in Lublin next month, an "
             "aide to the minister told reporters after the meeting.", STORY_A);
    snprintf(r_more, sizeof(r_more), "%s\n\nHauliers welcomed the new lanes but said queues "
             "of empty trucks still stretched for kilometres on Monday evening.", STORY_A_REWRITE);
    feed(&in, "a1", STORY_A, t0, NULL);
    feed(&in, "a2", STORY_A_REWRITE, t0 + 1, &rec);          /* near a1 */
    assert_int_equal(rec->dedupe.cluster_size, 2);
    record_free(rec);
    feed(&in, "a3", a_more, t0 + 2, &rec);                   /* near a1, not a2 */
    assert_string_equal(rec->dedupe.duplicate_of, "a1");
    assert_int_equal(rec->dedupe.cluster_size, 3);
    record_free(rec);
    for (int i = 0; i < 14; i++) {                           /* a1 leaves the ring */
        char id[16], body[160];
        snprintf(id, sizeof(id), "f%d", i);
        snprintf(body, sizeof(body), "filler number %d says nothing at all about item %d "
                 "or the weather in region %d", i, i * 3, i * 7);
        feed(&in, id, body, t0 + 10 + i, NULL);
    }
    feed(&in, "a4", r_more, t0 + 100, &rec);                 /* near a2 */
    assert_int_equal(rec->dedupe.status, DEDUPE_NEAR_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a2");
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_int_equal(rec->dedupe.cluster_size, 4);
    record_free(rec);
    feed(&in, "a5", r_more, t0 + 101, &rec);                 /* a copy of a4 */
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_int_equal(rec->dedupe.cluster_size, 5);
    record_free(rec);
    close_dedupe(&in);
}

static void test_restore_round_trip(void **unused)
{
    (void)unused;
    struct fake_store fs = {0};
    struct state_store store = {.opaque = &fs, .put = fake_put};
    int64_t t0 = 1741000000000LL;

    struct inst in = open_dedupe("", &store);
    feed(&in, "a1", STORY_A, t0, NULL);
    feed(&in, "a2", STORY_A, t0 + HOUR_MS, NULL);            /* count record for a1 */
    feed(&in, "a3", STORY_A_REWRITE, t0 + 2 * HOUR_MS, NULL);
    feed(&in, "b1", STORY_B, t0 + 2 * HOUR_MS, NULL);
    close_dedupe(&in);
    /* Entries a1, a3, b1 and a1's count. */
    assert_int_equal(fs.n, 4);

    /* A fresh instance, fed the persisted state before any record. */
    struct inst again = open_dedupe("", NULL);
    for (size_t i = 0; i < fs.n; i++)
        assert_int_equal(dedupe_processor.restore(again.state, fs.v[i].key, fs.v[i].klen,
                                                  fs.v[i].val, fs.v[i].vlen), 0);
    struct record *rec;
    assert_int_equal(feed(&again, "a9", STORY_A, t0 + 5 * HOUR_MS, &rec), VERDICT_DROP);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "a1");
    assert_string_equal(rec->dedupe.cluster, "a1");
    assert_int_equal(rec->dedupe.cluster_size, 4);            /* a1, a2, a3, a9 */
    record_free(rec);
    feed(&again, "b2", STORY_B, t0 + 5 * HOUR_MS, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);
    assert_string_equal(rec->dedupe.duplicate_of, "b1");
    record_free(rec);
    feed(&again, "a3", "something else entirely, a correction", t0 + 5 * HOUR_MS, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_DUPLICATE);   /* by id */
    assert_string_equal(rec->dedupe.cluster, "a1");
    record_free(rec);

    json_t *stats = json_object();
    dedupe_processor.stats(again.state, stats);
    assert_int_equal(json_integer_value(json_object_get(stats, "restored")), 3);
    json_decref(stats);
    close_dedupe(&again);
    fake_free(&fs);
}

static void test_restore_tombstones_and_garbage(void **unused)
{
    (void)unused;
    struct fake_store fs = {0};
    struct state_store store = {.opaque = &fs, .put = fake_put};
    int64_t t0 = 1741000000000LL;

    /* A 16-entry index: the first articles are evicted with tombstones. */
    struct inst in = open_dedupe("[processor.dedupe]\nmax_entries = 16\n", &store);
    feed(&in, "a1", STORY_A, t0, NULL);
    for (int i = 0; i < 16; i++) {
        char id[16], body[128];
        snprintf(id, sizeof(id), "f%d", i);
        snprintf(body, sizeof(body), "filler number %d says nothing at all about item %d", i, i * 3);
        feed(&in, id, body, t0 + i, NULL);
    }
    close_dedupe(&in);
    assert_true(fs.tombstones >= 1);
    for (size_t i = 0; i < fs.n; i++)
        assert_false(fs.v[i].klen == 4 && memcmp(fs.v[i].key, "e:a1", 4) == 0);

    struct inst again = open_dedupe("", NULL);
    /* Unknown keys, other versions and truncated values are skipped, not fatal. */
    assert_int_equal(dedupe_processor.restore(again.state, "zz", 2, "x", 1), 0);
    assert_int_equal(dedupe_processor.restore(again.state, "e:q", 3, "WSD\x03", 4), 0);
    /* A version 1 entry (b-bit signature, 160 bytes): skipped, not fatal. */
    unsigned char v1[160] = "WSD\x01\x03\x10\x04\x10";
    assert_int_equal(dedupe_processor.restore(again.state, "e:old", 5, v1, sizeof(v1)), 0);
    for (size_t i = 0; i < fs.n; i++) {
        assert_int_equal(dedupe_processor.restore(again.state, fs.v[i].key, fs.v[i].klen,
                                                  fs.v[i].val, fs.v[i].vlen > 8 ? fs.v[i].vlen - 1 : fs.v[i].vlen), 0);
    }
    /* A value followed by its tombstone: forgotten. */
    struct fake_store fs2 = {0};
    struct state_store store2 = {.opaque = &fs2, .put = fake_put};
    struct inst one = open_dedupe("", &store2);
    feed(&one, "a1", STORY_A, t0, NULL);
    close_dedupe(&one);
    struct inst two = open_dedupe("", NULL);
    assert_int_equal(fs2.n, 1);
    dedupe_processor.restore(two.state, fs2.v[0].key, fs2.v[0].klen, fs2.v[0].val, fs2.v[0].vlen);
    dedupe_processor.restore(two.state, fs2.v[0].key, fs2.v[0].klen, NULL, 0);
    struct record *rec;
    feed(&two, "a2", STORY_A, t0, &rec);
    assert_int_equal(rec->dedupe.status, DEDUPE_UNIQUE);
    record_free(rec);

    json_t *stats = json_object();
    dedupe_processor.stats(again.state, stats);
    assert_true(json_integer_value(json_object_get(stats, "restore_skipped")) >= 3);
    assert_int_equal(json_integer_value(json_object_get(stats, "restored")), 0);
    json_decref(stats);
    close_dedupe(&two);
    close_dedupe(&again);
    fake_free(&fs);
    fake_free(&fs2);
}

/* ------------------------------------------------------------ corpus */

struct item {
    struct minhash mh;
    struct minhash_set set;
    char *story;
    char *cluster;
    char *id;
    enum dedupe_status status;
    double similarity;
    enum verdict verdict;
};

static int64_t parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return RECORD_DATE_UNKNOWN;
    return (int64_t)timegm(&tm) * 1000;
}

static size_t run_corpus(const char *conf_text, struct item **out)
{
    FILE *fp = fopen(CORPUS, "r");
    if (!fp)
        fail_msg("cannot open %s (run the tests from the repository root)", CORPUS);
    struct inst in = open_dedupe(conf_text, NULL);
    struct item *items = NULL;
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (!j)
            fail_msg("%s:%d: %s", CORPUS, jerr.line, jerr.text);
        struct record *rec = make_rec(json_string_value(json_object_get(j, "id")),
                                      json_string_value(json_object_get(j, "body")),
                                      parse_date(json_string_value(json_object_get(j, "date"))));
        record_set(&rec->headline, json_string_value(json_object_get(j, "headline")), (size_t)-1);
        record_text_changed(rec);
        assert_int_equal(record_analyze(rec), 0);
        items = realloc(items, (n + 1) * sizeof(*items));
        assert_non_null(items);
        struct minhash_ctx *ctx = minhash_ctx_new(3);
        assert_non_null(ctx);
        memset(&items[n].set, 0, sizeof(items[n].set));
        assert_int_equal(minhash_compute(ctx, &rec->body_toks, 0, 0, &items[n].mh, &items[n].set), 0);
        minhash_ctx_free(ctx);
        items[n].verdict = dedupe_processor.process(in.state, rec);
        items[n].story = strdup(json_string_value(json_object_get(j, "story")));
        items[n].cluster = strdup(rec->dedupe.cluster);
        items[n].id = strdup(rec->id);
        items[n].status = rec->dedupe.status;
        items[n].similarity = rec->dedupe.similarity;
        n++;
        record_free(rec);
        json_decref(j);
    }
    free(line);
    fclose(fp);
    close_dedupe(&in);
    *out = items;
    return n;
}

static void free_items(struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].story);
        free(items[i].cluster);
        free(items[i].id);
        minhash_set_free(&items[i].set);
    }
    free(items);
}

static void test_corpus_precision_recall(void **unused)
{
    (void)unused;
    struct item *it;
    /* DEDUPE_TEST_CONF (configuration text) is for tuning the defaults. */
    const char *conf = getenv("DEDUPE_TEST_CONF");
    size_t n = run_corpus(conf ? conf : "", &it);
    assert_true(n >= 60);
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = i + 1; k < n; k++) {
            int truth = strcmp(it[i].story, it[k].story) == 0;
            int pred = strcmp(it[i].cluster, it[k].cluster) == 0;
            tp += truth && pred;
            fp += !truth && pred;
            fn += truth && !pred;
            if (truth != pred)
                print_message("  %s pair: %s (%s) / %s (%s)\n", pred ? "false" : "missed",
                              it[i].id, it[i].cluster, it[k].id, it[k].cluster);
        }
    }
    /* The margin: the highest scores between different stories must stay
     * well below the default thresholds (0.25 and 0.5). */
    double max_j = 0, max_c = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < n; k++) {
            if (strcmp(it[i].story, it[k].story) == 0)
                continue;
            struct minhash_cmp cmp;      /* i arriving with k remembered */
            compare(&it[i].set, &it[k].mh, &cmp);
            max_j = cmp.jaccard > max_j ? cmp.jaccard : max_j;
            max_c = cmp.contain > max_c ? cmp.contain : max_c;
        }
    }
    print_message("different stories: highest estimated Jaccard %.3f, containment %.3f\n",
                  max_j, max_c);
    if (!conf) {
        assert_true(max_j <= 0.2);
        assert_true(max_c <= 0.4);
    }
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 1.0;
    double recall = tp + fn ? (double)tp / (double)(tp + fn) : 1.0;
    size_t near = 0, exact = 0;
    double min_sim = 1.0;
    for (size_t i = 0; i < n; i++) {
        near += it[i].status == DEDUPE_NEAR_DUPLICATE;
        exact += it[i].status == DEDUPE_DUPLICATE;
        if (it[i].status == DEDUPE_NEAR_DUPLICATE && it[i].similarity < min_sim)
            min_sim = it[i].similarity;
    }
    print_message("dedupe corpus: %zu records, %zu exact, %zu near (lowest similarity %.2f); "
                  "same-story pairs: precision %.4f recall %.4f (tp %zu fp %zu fn %zu)\n",
                  n, exact, near, min_sim, precision, recall, tp, fp, fn);
    assert_true(precision >= MIN_PRECISION);
    assert_true(recall >= MIN_RECALL);

    /* The distinct reports of one event stay apart, whatever the totals. */
    const char *pairs[][2] = {{"nato-vilnius-a-orig", "nato-vilnius-b-orig"},
                              {"sudan-talks-a-orig", "sudan-talks-b-orig"},
                              {"quake-a-orig", "quake-b-orig"}};
    for (size_t p = 0; p < 3; p++) {
        const char *ca = NULL, *cb = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!ca && strcmp(it[i].id, pairs[p][0]) == 0)
                ca = it[i].cluster;
            if (!cb && strcmp(it[i].id, pairs[p][1]) == 0)
                cb = it[i].cluster;
        }
        assert_non_null(ca);
        assert_non_null(cb);
        assert_string_not_equal(ca, cb);
    }
    free_items(it, n);
}

static void test_corpus_deterministic(void **unused)
{
    (void)unused;
    struct item *a, *b;
    size_t na = run_corpus("", &a);
    size_t nb = run_corpus("", &b);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].cluster, b[i].cluster);
        assert_int_equal(a[i].status, b[i].status);
        assert_int_equal(a[i].verdict, b[i].verdict);
        assert_true(a[i].similarity == b[i].similarity);
    }
    free_items(a, na);
    free_items(b, nb);
}

/* ------------------------------------------------- generated corpus */

/* Truth from gen_corpus --truth: "id<TAB>kind<TAB>story's first id" per
 * line, in article order. */
struct gen_item {
    char *story;
    char *cluster;
};

/* Runs the articles of fp (JSON Lines, one per line of truth) through
 * decode, clean and dedupe with the default configuration and scores the
 * pairs. Returns the number of articles. */
/* clean and dedupe from the shipped configuration, with one dedupe option
 * set when key is not NULL; the settings (freed by the caller after the
 * chain) and the decode options that go with them. */
static struct chain *clean_dedupe_chain(const char *key, const char *value,
                                        struct settings **settings, struct decode_opts *dopts)
{
    char err[512];
    struct conf_file *cf = conf_load("config/wirestream.conf", err, sizeof(err));
    if (!cf)
        fail_msg("conf: %s", err);
    assert_int_equal(conf_override(cf, "pipeline", "processors", "clean, dedupe", err, sizeof(err)),
                     0);
    if (key)
        assert_int_equal(conf_override(cf, "processor.dedupe", key, value, err, sizeof(err)), 0);
    struct settings *s = settings_load(cf, err, sizeof(err));
    if (!s)
        fail_msg("settings: %s", err);
    struct chain *ch = chain_new(s, NULL, err, sizeof(err));
    if (!ch)
        fail_msg("chain: %s", err);
    *dopts = (struct decode_opts){.format = INPUT_AUTO,
                                  .max_body_size = (size_t)s->input.max_body_size,
                                  .max_message_size = (size_t)s->input.max_message_size};
    *settings = s;
    return ch;
}

static size_t run_generated(FILE *fp, FILE *truth, double *precision, double *recall)
{
    /* The shipped configuration (clean's boilerplate lists), dedupe's
     * defaults. */
    struct settings *s;
    struct decode_opts dopts;
    struct chain *ch = clean_dedupe_chain(NULL, NULL, &s, &dopts);

    struct gen_item *it = NULL;
    size_t n = 0, cap = 0, lcap = 0, tcap = 0;
    char *line = NULL, *tline = NULL;
    ssize_t len;
    size_t n_near = 0, n_exact = 0, false_near = 0;
    while ((len = getline(&line, &lcap, fp)) > 0) {
        if (getline(&tline, &tcap, truth) <= 0)
            fail_msg("the truth file has fewer lines than the corpus");
        char *kind = strchr(tline, '\t');
        char *story = kind ? strchr(kind + 1, '\t') : NULL;
        if (!story)
            fail_msg("bad truth line: %s", tline);
        story++;
        story[strcspn(story, "\r\n")] = '\0';
        struct decode_error derr = {0};
        struct record *rec = decode_article(line, (size_t)len, &dopts, &derr);
        if (!rec)
            fail_msg("article %zu: %s", n + 1, derr.msg);
        chain_process(ch, rec);
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            it = realloc(it, cap * sizeof(*it));
            assert_non_null(it);
        }
        it[n].story = strdup(story);
        it[n].cluster = strdup(rec->dedupe.cluster ? rec->dedupe.cluster : "");
        n_near += rec->dedupe.status == DEDUPE_NEAR_DUPLICATE;
        n_exact += rec->dedupe.status == DEDUPE_DUPLICATE;
        if (rec->dedupe.status == DEDUPE_NEAR_DUPLICATE && strcmp(story, rec->dedupe.cluster) != 0)
            false_near++;
        n++;
        record_free(rec);
    }
    free(line);
    free(tline);
    chain_free(ch);
    settings_free(s);

    /* Pairs by group: sort-free, the corpora are small enough for n^2. */
    size_t tp = 0, fp_ = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = i + 1; k < n; k++) {
            int truth_same = strcmp(it[i].story, it[k].story) == 0;
            int pred = strcmp(it[i].cluster, it[k].cluster) == 0;
            tp += truth_same && pred;
            fp_ += !truth_same && pred;
            fn += truth_same && !pred;
        }
    }
    *precision = tp + fp_ ? (double)tp / (double)(tp + fp_) : 1.0;
    *recall = tp + fn ? (double)tp / (double)(tp + fn) : 1.0;
    print_message("  %zu articles: %zu exact, %zu near (%zu joined another story); pairs: "
                  "precision %.4f recall %.4f (tp %zu fp %zu fn %zu)\n",
                  n, n_exact, n_near, false_near, *precision, *recall, tp, fp_, fn);
    for (size_t i = 0; i < n; i++) {
        free(it[i].story);
        free(it[i].cluster);
    }
    free(it);
    return n;
}

static void test_generated_precision_recall(void **unused)
{
    (void)unused;
    FILE *fp = fopen(GENERATED, "r");
    FILE *truth = fopen(GENERATED_TRUTH, "r");
    if (!fp || !truth)
        fail_msg("cannot open %s / %s (run the tests from the repository root)", GENERATED,
                 GENERATED_TRUTH);
    double p, r;
    print_message("generated corpus (%s):\n", GENERATED);
    size_t n = run_generated(fp, truth, &p, &r);
    fclose(fp);
    fclose(truth);
    assert_true(n >= 1000);
    assert_true(p >= MIN_PRECISION);
    assert_true(r >= MIN_RECALL);
}

/* Full-length articles (1-6 kB bodies, the benchmark's defaults) from the
 * generator itself, when it is built: more and longer stories than the
 * fixture can hold. */
/* The whole output of gen_corpus with args (skips the test when it is not
 * built). Read to the end before use: the generator writes its truth file
 * as it goes, complete only once it has finished. */
static char *generated_corpus(const char *args, size_t *len)
{
    FILE *probe = fopen(GEN_CORPUS, "r");
    if (!probe) {
        print_message("%s not built (make %s): skipped\n", GEN_CORPUS, GEN_CORPUS);
        skip();
    }
    fclose(probe);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", GEN_CORPUS, args);
    FILE *gen = popen(cmd, "r");
    assert_non_null(gen);
    char *all = NULL;
    size_t alen = 0;
    FILE *mem = open_memstream(&all, &alen);
    assert_non_null(mem);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), gen)) > 0)
        assert_int_equal(fwrite(buf, 1, got, mem), got);
    assert_int_equal(pclose(gen), 0);
    fclose(mem);
    *len = alen;
    return all;
}

/* A corpus through clean and dedupe with one dedupe option set; each
 * article's verdict as "status cluster duplicate_of similarity", and
 * dedupe's counters. */
static char **verdicts_with(const char *corpus, size_t corpus_len, const char *key,
                            const char *value, size_t *count, json_t **stats)
{
    struct settings *s;
    struct decode_opts dopts;
    struct chain *ch = clean_dedupe_chain(key, value, &s, &dopts);
    FILE *fp = fmemopen((void *)corpus, corpus_len, "r");
    assert_non_null(fp);
    char **v = NULL, *line = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, fp)) > 0) {
        struct decode_error derr = {0};
        struct record *rec = decode_article(line, (size_t)len, &dopts, &derr);
        assert_non_null(rec);
        chain_process(ch, rec);
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **nv = realloc(v, cap * sizeof(*v));
            assert_non_null(nv);
            v = nv;
        }
        char buf[512];
        snprintf(buf, sizeof(buf), "%d %s %s %.17g", (int)rec->dedupe.status,
                 rec->dedupe.cluster ? rec->dedupe.cluster : "-",
                 rec->dedupe.duplicate_of ? rec->dedupe.duplicate_of : "-",
                 rec->dedupe.similarity);
        v[n++] = strdup(buf);
        record_free(rec);
    }
    free(line);
    fclose(fp);
    json_t *all = json_object();
    chain_stats(ch, all);
    *stats = json_incref(json_object_get(json_object_get(all, "processors"), "dedupe"));
    assert_non_null(*stats);
    json_decref(all);
    chain_free(ch);
    settings_free(s);
    *count = n;
    return v;
}

/* skip_strangers leaves out comparisons, not verdicts: on 6,000 generated
 * articles (template prose, where unrelated stories share many phrases)
 * every article gets the same status, cluster, link and similarity with it
 * on and off, while a good share of the comparisons is not made. The
 * counters add up: every skipped candidate is compared when it is off.
 * (Skipping every candidate met only in one crowded band, without the
 * residue and length conditions, changes two verdicts here.) */
static void test_skip_strangers_changes_no_verdict(void **unused)
{
    (void)unused;
    size_t corpus_len;
    char *corpus = generated_corpus("-s 3 -n 6000", &corpus_len);
    size_t n_on, n_off;
    json_t *on_stats, *off_stats;
    char **on = verdicts_with(corpus, corpus_len, "skip_strangers", "true", &n_on, &on_stats);
    char **off = verdicts_with(corpus, corpus_len, "skip_strangers", "false", &n_off, &off_stats);
    free(corpus);
    assert_int_equal(n_on, n_off);
    assert_int_equal(n_on, 6000);
    for (size_t i = 0; i < n_on; i++) {
        if (strcmp(on[i], off[i]) != 0)
            fail_msg("article %zu: %s with skip_strangers, %s without", i + 1, on[i], off[i]);
        free(on[i]);
        free(off[i]);
    }
    free(on);
    free(off);
    json_int_t cmp_on = json_integer_value(json_object_get(on_stats, "comparisons"));
    json_int_t skipped = json_integer_value(json_object_get(on_stats, "strangers_skipped"));
    json_int_t cmp_off = json_integer_value(json_object_get(off_stats, "comparisons"));
    print_message("comparisons: %lld without skip_strangers, %lld with it (%lld skipped)\n",
                  (long long)cmp_off, (long long)cmp_on, (long long)skipped);
    assert_int_equal(json_integer_value(json_object_get(off_stats, "strangers_skipped")), 0);
    assert_int_equal(cmp_on + skipped, cmp_off);
    assert_true(skipped * 5 >= cmp_off);          /* at least a fifth left out */
    json_decref(on_stats);
    json_decref(off_stats);
}

static void test_generated_large(void **unused)
{
    (void)unused;
    const char *truth_path = "build/tests/dedupe_gen_truth.tsv";
    size_t alen;
    char *all = generated_corpus("-s 3 -n 6000 --truth build/tests/dedupe_gen_truth.tsv", &alen);
    FILE *articles = fmemopen(all, alen, "r");
    FILE *truth = fopen(truth_path, "r");
    assert_non_null(articles);
    assert_non_null(truth);
    double p, r;
    print_message("generated corpus (gen_corpus -s 3 -n 6000):\n");
    size_t n = run_generated(articles, truth, &p, &r);
    fclose(articles);
    fclose(truth);
    free(all);
    assert_int_equal(n, 6000);
    assert_true(p >= MIN_PRECISION);
    assert_true(r >= MIN_RECALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_folding),
        cmocka_unit_test(test_fingerprint_similarity),
        cmocka_unit_test(test_fingerprint_short_and_empty),
        cmocka_unit_test(test_fingerprint_other_shingle_sizes),
        cmocka_unit_test(test_fingerprints_are_stable),
        cmocka_unit_test(test_compare_large_body),
        cmocka_unit_test(test_compare_goal_keeps_every_reachable_pair),
        cmocka_unit_test(test_index_insert_find_evict),
        cmocka_unit_test(test_index_string_ring_wraps),
        cmocka_unit_test(test_index_probe_limit_bounds_chains),
        cmocka_unit_test(test_index_candidate_bands_and_crowding),
        cmocka_unit_test(test_exact_near_unique),
        cmocka_unit_test(test_verdict_switches),
        cmocka_unit_test(test_window_by_event_time),
        cmocka_unit_test(test_memory_bounds),
        cmocka_unit_test(test_cluster_size_after_root_evicted),
        cmocka_unit_test(test_restore_round_trip),
        cmocka_unit_test(test_restore_tombstones_and_garbage),
        cmocka_unit_test(test_corpus_precision_recall),
        cmocka_unit_test(test_corpus_deterministic),
        cmocka_unit_test(test_generated_precision_recall),
        cmocka_unit_test(test_generated_large),
        cmocka_unit_test(test_skip_strangers_changes_no_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
