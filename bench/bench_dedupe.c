/*
 * bench_dedupe.c - throughput and memory of the dedupe processor.
 *
 *   make build/bench/bench_dedupe && build/bench/bench_dedupe [entries]
 *
 * Reports fingerprints per second, lookups per second with `entries`
 * (default 1M) remembered, bytes per entry and the time to restore that
 * many entries from persisted state. Articles are synthetic token streams
 * (300 words, a skewed vocabulary so common shingles pile up in the same
 * buckets) fed straight into record->body_toks: tokenizing is the
 * tokenizer's cost, not dedupe's, and is measured elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dedupe_index.h"
#include "core/minhash.h"
#include "core/record.h"
#include "processors/processor.h"

extern const struct processor_ops dedupe_processor;

#define WORDS 300
#define BASE_MS 1750000000000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return minhash_mix64(*s);
}

/* Article `doc`'s token hashes: 45% from 300 very common words, the rest
 * from a long tail of 500k. `edit` > 0 changes that share of words, as a
 * rewrite does. */
static void gen_doc(uint64_t doc, double edit, uint64_t *out)
{
    uint64_t s = doc * 7919 + 1, e = doc ^ 0xabcdefULL;
    for (int i = 0; i < WORDS; i++) {
        uint64_t r = rng_next(&s);
        uint64_t w = (r & 0xff) < 115 ? (r >> 8) % 300 : 300 + (r >> 8) % 500000;
        if (edit > 0 && (double)(rng_next(&e) % 10000) < edit * 10000)
            w = 300 + rng_next(&e) % 500000;
        out[i] = minhash_mix64(w + 12345);
    }
}

static void fill_tokens(struct tokens *t, const uint64_t *h, int n)
{
    for (int i = 0; i < n; i++) {
        t->toks[i].off = (uint32_t)(i * 8);
        t->toks[i].len = 7;
        t->toks[i].hash = h[i];
        t->toks[i].flags = 0;
    }
    t->n = (size_t)n;
}

static struct record *make_rec(uint64_t doc, const char *tag, double edit, int64_t t)
{
    uint64_t h[WORDS];
    char id[48];
    struct record *rec = record_new();
    snprintf(id, sizeof(id), "%s-%012llu", tag, (unsigned long long)doc);
    record_set(&rec->id, id, (size_t)-1);
    rec->date_ms = t;
    rec->body_toks.toks = malloc(WORDS * sizeof(struct token));
    rec->body_toks.cap = WORDS;
    gen_doc(doc, edit, h);
    fill_tokens(&rec->body_toks, h, WORDS);
    rec->analyzed = 1;
    return rec;
}

/* An in-memory store: the restore benchmark replays what was written. */
struct blob {
    unsigned char *p;
    size_t len, cap;
    size_t n;
};

static int blob_put(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct blob *b = opaque;
    if (!val)
        return 0;      /* tombstones: the replay below is of live entries */
    size_t need = b->len + 8 + klen + vlen;
    if (need > b->cap) {
        b->cap = need * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            return -1;
    }
    uint32_t kl = (uint32_t)klen, vl = (uint32_t)vlen;
    memcpy(b->p + b->len, &kl, 4);
    memcpy(b->p + b->len + 4, &vl, 4);
    memcpy(b->p + b->len + 8, key, klen);
    memcpy(b->p + b->len + 8 + klen, val, vlen);
    b->len = need;
    b->n++;
    return 0;
}

static void *open_inst(const char *text, struct state_store *store, struct conf_file **cfp,
                       void **confp)
{
    char err[256];
    struct conf_file *cf = conf_parse(text, "bench.conf", err, sizeof(err));
    void *conf = calloc(1, dedupe_processor.conf_size), *state = NULL;
    struct processor_env env = {.cf = cf, .store = store};
    if (!cf || conf_bind(dedupe_processor.keys, conf_section(cf, "processor.dedupe"), cf, conf,
                         err, sizeof(err)) < 0 ||
        dedupe_processor.init(&state, conf, &env, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_dedupe: %s\n", err);
        exit(1);
    }
    *cfp = cf;
    *confp = conf;
    return state;
}

static void close_inst(void *state, struct conf_file *cf, void *conf)
{
    dedupe_processor.destroy(state);
    conf_unbind(dedupe_processor.keys, conf);
    free(conf);
    conf_file_free(cf);
}

/* Runs n lookups of a mix of new articles, rewrites and copies of
 * remembered ones (doc numbers below `known`); returns seconds. */
static double lookups(void *state, uint64_t known, uint64_t n, uint64_t first_new, int64_t t,
                      uint64_t seed, uint64_t counts[3])
{
    double secs = 0;
    uint64_t s = seed;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&s);
        struct record *rec;
        uint64_t old = known - 1 - (r >> 8) % (known < 100000 ? known : 100000);
        switch (r & 3) {
        case 0: rec = make_rec(old, "copy", 0, t); break;
        case 1: rec = make_rec(old, "rewrite", 0.08, t); break;
        default: rec = make_rec(first_new + i, "new", 0, t); break;
        }
        double t0 = now_s();
        dedupe_processor.process(state, rec);
        secs += now_s() - t0;
        counts[rec->dedupe.status]++;
        record_free(rec);
    }
    return secs;
}

int main(int argc, char **argv)
{
    uint64_t entries = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char conf_text[256];
    snprintf(conf_text, sizeof(conf_text),
             "[processor.dedupe]\nmax_entries = %llu\nmemory_budget = 0\n",
             (unsigned long long)entries);

    /* 1. Fingerprints per second. */
    struct minhash_ctx *ctx = minhash_ctx_new(3);
    struct tokens t;
    memset(&t, 0, sizeof(t));
    t.toks = malloc(WORDS * sizeof(struct token));
    uint64_t h[WORDS];
    struct minhash mh;
    struct minhash_set set = {0};
    const int nfp = 200000;
    double fp_secs = 0;
    unsigned sink = 0;
    for (int i = 0; i < nfp; i++) {
        gen_doc((uint64_t)i, 0, h);
        fill_tokens(&t, h, WORDS);
        double t0 = now_s();
        if (minhash_compute(ctx, &t, 0, 0, &mh, &set) < 0)
            return 1;
        fp_secs += now_s() - t0;
        sink += mh.sketch[0];
    }
    printf("fingerprints: %.0f per second (%.2f us each, 300-word bodies)%s\n",
           nfp / fp_secs, fp_secs / nfp * 1e6, sink == 1 ? " " : "");
    free(t.toks);
    minhash_set_free(&set);
    minhash_ctx_free(ctx);

    /* 2. Fill, then look up: small index first, then `entries`. */
    struct blob blob = {0};
    struct state_store store = {.opaque = &blob, .put = blob_put};
    struct conf_file *cf;
    void *conf;
    void *state = open_inst(conf_text, &store, &cf, &conf);
    double fill_secs = 0;
    uint64_t counts[3] = {0};
    double small_secs = 0;
    const uint64_t nlook = 200000, small = 10000;
    for (uint64_t d = 0; d < entries; d++) {
        struct record *rec = make_rec(d, "doc", 0, BASE_MS + (int64_t)d);
        double t0 = now_s();
        dedupe_processor.process(state, rec);
        fill_secs += now_s() - t0;
        record_free(rec);
        if (d + 1 == small && entries > small) {
            uint64_t c[3] = {0};
            small_secs = lookups(state, small, nlook / 4, 1ULL << 40, BASE_MS + (int64_t)d, 98, c);
        }
    }
    printf("insert: %.0f articles per second while filling to %llu entries\n",
           (double)entries / fill_secs, (unsigned long long)entries);
    double look_secs = lookups(state, entries, nlook, 1ULL << 41, BASE_MS + (int64_t)entries,
                               99, counts);
    if (small_secs > 0)
        printf("lookups with %llu remembered: %.0f per second (%.2f us each)\n",
               (unsigned long long)small, (double)(nlook / 4) / small_secs,
               small_secs / (double)(nlook / 4) * 1e6);
    printf("lookups with %llu remembered: %.0f per second (%.2f us each; "
           "%llu unique, %llu exact, %llu near)\n",
           (unsigned long long)entries, (double)nlook / look_secs, look_secs / (double)nlook * 1e6,
           (unsigned long long)counts[0], (unsigned long long)counts[1],
           (unsigned long long)counts[2]);

    json_t *stats = json_object();
    dedupe_processor.stats(state, stats);
    double bytes = (double)json_integer_value(json_object_get(stats, "index_bytes"));
    double cap = (double)json_integer_value(json_object_get(stats, "capacity"));
    printf("memory: %.0f bytes allocated for %.0f entries = %.1f bytes per entry "
           "(fixed part %.1f, id allowance 40)\n",
           bytes, cap, bytes / cap, bytes / cap - 40);
    json_decref(stats);
    close_inst(state, cf, conf);

    /* 3. Restore every entry written into a fresh instance. */
    state = open_inst(conf_text, NULL, &cf, &conf);
    double t0 = now_s();
    size_t off = 0, n = 0;
    while (off < blob.len) {
        uint32_t kl, vl;
        memcpy(&kl, blob.p + off, 4);
        memcpy(&vl, blob.p + off + 4, 4);
        dedupe_processor.restore(state, blob.p + off + 8, kl, blob.p + off + 8 + kl, vl);
        off += 8 + kl + vl;
        n++;
    }
    double rs = now_s() - t0;
    stats = json_object();
    dedupe_processor.stats(state, stats);
    printf("restore: %zu records (%.0f MB) in %.2f s, %lld entries remembered\n", n,
           (double)blob.len / 1e6, rs,
           (long long)json_integer_value(json_object_get(stats, "entries")));
    json_decref(stats);
    /* The restored state still knows the articles (other rewrites and
     * copies than above, so the earlier lookups' entries do not answer). */
    uint64_t c2[3] = {0};
    lookups(state, entries, 1000, 1ULL << 42, BASE_MS + (int64_t)entries, 7, c2);
    printf("after restore, 1000 lookups: %llu unique, %llu exact, %llu near\n",
           (unsigned long long)c2[0], (unsigned long long)c2[1], (unsigned long long)c2[2]);
    close_inst(state, cf, conf);
    free(blob.p);
    return 0;
}
