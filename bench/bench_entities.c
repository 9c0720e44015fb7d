/*
 * bench_entities.c - tagging throughput and gazetteer build time.
 *
 * Loads the shipped gazetteer alone, then plus synthetic people (written
 * to a temp .gaz file) so that it holds ~2k, ~20k and ~100k names
 * (aliases); builds synthetic wire text that mentions real and synthetic
 * entities among ordinary words, tokenizes it up front (the tokenizer's
 * cost is shared by every processor) and times only the entities
 * processor. The machine may be shared: every case runs several passes
 * over the same records and reports the median and the best, and the
 * build is timed several times too. A checksum of the output (names, ids,
 * spans, flags, salience) makes a change that alters results visible.
 *
 *   make build/bench/bench_entities && build/bench/bench_entities [MB] [PASSES] [NAMES]
 *
 * NAMES runs one case only (0 = the shipped gazetteer alone), e.g. under
 * valgrind --tool=callgrind. With WS_BENCH_CORPUS=FILE (JSON Lines, e.g.
 * from gen_corpus), MB of its articles, decoded and run through `clean`
 * (config/boilerplate.conf) beforehand, replace the synthetic text: wire
 * prose, with its share of capitalized words, titles and quotes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/decode.h"
#include "core/gazetteer.h"
#include "core/record.h"
#include "processors/processor.h"

extern const struct processor_ops entities_processor;
extern const struct processor_ops clean_processor;

/* CPU time of this thread: on a shared machine, time spent descheduled
 * would otherwise count as tagging time ("MB/s per core" is the target). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A pronounceable made-up word, capitalized ("Karomel"). */
static void pseudo_word(char *out, uint64_t seed)
{
    static const char *syl[] = {"ka", "ro", "mel", "du", "na", "vit", "sor", "len",
                                "tas", "bri", "go", "ve", "min", "zal", "pe", "thu"};
    size_t n = 2 + seed % 3, k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = syl[(seed >> (4 + 4 * i)) & 15];
        memcpy(out + k, s, strlen(s));
        k += strlen(s);
    }
    out[k] = '\0';
    out[0] = (char)(out[0] - 'a' + 'A');
}

/* Writes `n` synthetic people to path; returns 0/-1. */
static int write_synthetic(const char *path, size_t n)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char a[32], b[32];
        pseudo_word(a, i * 2654435761ULL + 17);
        pseudo_word(b, i * 40503ULL + (i >> 3) * 977ULL + 5);
        fprintf(fp, "person | official | | %s %s%zu | %s%zu\n", a, b, i, b, i);
    }
    fclose(fp);
    return 0;
}

static const char *filler[] = {
    "the", "government", "said", "on", "tuesday", "that", "talks", "would", "continue",
    "after", "a", "week", "of", "heavy", "fighting", "near", "border", "and", "officials",
    "warned", "more", "attacks", "could", "follow", "in", "coming", "days", "while",
    "diplomats", "met", "to", "discuss", "ceasefire", "proposal", "aid", "deliveries",
};
static const char *real[] = {
    "Ukraine", "NATO", "Russia's", "Volodymyr Zelenskyy", "European Union", "Kyiv",
    "Ukrainian", "U.N. Security Council", "Hamas", "Israeli", "Antony Blinken", "Gaza",
    "Foreign Minister Anna Petrovska", "IAEA", "Turkey", "Beijing", "Rapid Support Forces",
};

/* ~len bytes of synthetic article text with paragraphs and sentences. */
static char *make_text(size_t len, size_t nsynth, size_t *out_len)
{
    char *buf = malloc(len + 512);
    size_t k = 0, words = 0;
    int cap_next = 1;
    if (!buf)
        return NULL;
    k += (size_t)sprintf(buf, "KYIV, June 3 - ");
    while (k < len) {
        uint64_t r = rnd();
        const char *w;
        char tmp[96];
        if (r % 100 < 3) {
            w = real[(r >> 8) % (sizeof(real) / sizeof(real[0]))];
        } else if (r % 100 < 5 && nsynth) {
            size_t i = (size_t)((r >> 8) % nsynth);
            char a[32], b[32];
            pseudo_word(a, i * 2654435761ULL + 17);
            pseudo_word(b, i * 40503ULL + (i >> 3) * 977ULL + 5);
            snprintf(tmp, sizeof(tmp), "%s %s%zu", a, b, i);
            w = tmp;
        } else {
            w = filler[(r >> 8) % (sizeof(filler) / sizeof(filler[0]))];
        }
        size_t l = strlen(w);
        memcpy(buf + k, w, l);
        k += l;
        words++;
        if (words % 18 == 0)
            buf[k++] = '.', buf[k++] = words % 90 == 0 ? '\n' : ' ';
        else
            buf[k++] = ' ';
        if (words % 18 == 0 && k < len)
            cap_next = 1;
        else if (cap_next && l && w[0] >= 'a' && w[0] <= 'z')
            buf[k - l - 1] = (char)(w[0] - 'a' + 'A');   /* sentence start */
        if (words % 18 != 0)
            cap_next = 0;
    }
    buf[k] = '\0';
    *out_len = k;
    return buf;
}

#define MAX_PASSES 64
#define BUILDS 5

struct result {
    size_t names;
    double build_med, build_best;  /* ms */
    double mbps_med, mbps_best;
    size_t entities;
    uint64_t checksum;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

/* Everything the processor wrote, hashed; then the record is reset so the
 * next pass starts from the same input. */
static uint64_t take_entities(struct record *rec, uint64_t h)
{
    for (size_t i = 0; i < rec->nentities; i++) {
        struct entity *e = &rec->entities[i];
        int64_t sal = llround(e->salience * 1e6);
        uint32_t fl[4] = {(uint32_t)e->type, e->mentions, (uint32_t)e->in_headline,
                          (uint32_t)e->dateline};
        h = fnv(h, e->name, strlen(e->name) + 1);
        h = fnv(h, e->id ? e->id : "", e->id ? strlen(e->id) + 1 : 1);
        h = fnv(h, e->role ? e->role : "", e->role ? strlen(e->role) + 1 : 1);
        h = fnv(h, fl, sizeof(fl));
        h = fnv(h, &sal, sizeof(sal));
        h = fnv(h, e->spans, e->nspans * sizeof(*e->spans));
        free(e->name);
        free(e->id);
        free(e->role);
        free(e->spans);
    }
    free(rec->entities);
    rec->entities = NULL;
    rec->nentities = 0;
    return h;
}

/* Up to mb MB of cleaned, analyzed articles from a JSON Lines file. */
static struct record **load_corpus(const char *path, size_t mb, size_t *n)
{
    char err[512];
    struct conf_file *cf = conf_parse("[processor.clean]\n", "config/bench.conf", err,
                                      sizeof(err));
    void *conf = calloc(1, clean_processor.conf_size);
    void *state = NULL;
    FILE *fp = fopen(path, "rb");
    struct record **recs = NULL;
    size_t cap = 0, bytes = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;

    *n = 0;
    if (!fp || !cf || !conf ||
        conf_bind(clean_processor.keys, conf_section(cf, "processor.clean"), cf, conf, err,
                  sizeof(err)) < 0 ||
        clean_processor.init(&state, conf, &(struct processor_env){.cf = cf}, err,
                             sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s: %s\n", path, fp ? err : "cannot open");
        exit(1);
    }
    struct decode_opts o = {INPUT_AUTO, 1 << 20, 4 << 20};
    while (bytes < mb * 1024 * 1024 && (len = getline(&line, &lcap, fp)) > 0) {
        struct decode_error derr;
        struct record *rec = decode_article(line, (size_t)len, &o, &derr);
        if (!rec)
            continue;
        if (clean_processor.process(state, rec) != VERDICT_KEEP || !rec->body) {
            record_free(rec);
            continue;
        }
        record_analyze(rec);
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            recs = realloc(recs, cap * sizeof(*recs));
        }
        recs[(*n)++] = rec;
        bytes += rec->body_len;
    }
    free(line);
    fclose(fp);
    clean_processor.destroy(state);
    conf_unbind(clean_processor.keys, conf);
    free(conf);
    conf_file_free(cf);
    return recs;
}

static int run_case(const char *gaz_dir, size_t base, size_t target_names, size_t mb,
                    int passes, struct record **corpus, size_t ncorpus, struct result *res)
{
    char synth[] = "/tmp/ws-bench-gaz-XXXXXX";
    char path[64], conf_text[1024], err[512] = "";
    int fd = mkstemp(synth);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(synth);
    snprintf(path, sizeof(path), "%s.gaz", synth);

    /* Each synthetic person brings 3 names: full, alias, surname. */
    size_t nsynth = target_names > base ? (target_names - base) / 3 : 0;
    if (write_synthetic(path, nsynth) < 0)
        return -1;

    snprintf(conf_text, sizeof(conf_text), "[processor.entities]\ngazetteer = %s%s%s\n",
             gaz_dir, nsynth ? ", " : "", nsynth ? path : "");
    struct conf_file *cf = conf_parse(conf_text, "bench.conf", err, sizeof(err));
    void *conf = calloc(1, entities_processor.conf_size);
    void *state = NULL;
    if (!cf || !conf ||
        conf_bind(entities_processor.keys, conf_section(cf, "processor.entities"), cf, conf,
                  err, sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    struct processor_env env = {.cf = cf};
    double bt[BUILDS];
    for (int b = 0; b < BUILDS; b++) {
        if (state)
            entities_processor.destroy(state);
        state = NULL;
        double t0 = now_s();
        if (entities_processor.init(&state, conf, &env, err, sizeof(err)) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            return -1;
        }
        bt[b] = (now_s() - t0) * 1000.0;
    }
    json_t *st = json_object();
    entities_processor.stats(state, st);
    res->names = (size_t)json_integer_value(json_object_get(st, "gazetteer_aliases"));
    json_decref(st);
    res->build_med = median(bt, BUILDS);
    res->build_best = bt[0];   /* median() sorted bt */

    /* Articles of ~3 KB, tokenized before timing; the same records every
     * pass (their entities are hashed and dropped between passes). */
    size_t narts = corpus ? ncorpus : mb * 1024 * 1024 / 3000 + 1, bytes = 0;
    struct record **recs = corpus ? corpus : calloc(narts, sizeof(*recs));
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; corpus && i < narts; i++)
        bytes += recs[i]->body_len;
    for (size_t i = 0; !corpus && i < narts; i++) {
        size_t len = 0;
        char *text = make_text(3000, nsynth, &len);
        recs[i] = record_new();
        record_take_body(recs[i], text, len);
        record_set(&recs[i]->headline, "Ukraine and NATO discuss air defence", (size_t)-1);
        record_set(&recs[i]->dateline, "KYIV", (size_t)-1);
        recs[i]->dateline_span.off = 0;
        recs[i]->dateline_span.len = 4;
        record_analyze(recs[i]);
        bytes += len;
    }
    double mbps[MAX_PASSES];
    res->entities = 0;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now_s();
        for (size_t i = 0; i < narts; i++)
            entities_processor.process(state, recs[i]);
        double dt = now_s() - t0;
        mbps[pass] = (double)bytes / 1e6 / dt;
        uint64_t h = 0xcbf29ce484222325ULL;
        size_t ents = 0;
        for (size_t i = 0; i < narts; i++) {
            ents += recs[i]->nentities;
            h = take_entities(recs[i], h);
        }
        if (pass > 0 && (h != res->checksum || ents != res->entities)) {
            fprintf(stderr, "bench: pass %d gave different results\n", pass);
            return -1;
        }
        res->checksum = h;
        res->entities = ents;
    }
    res->mbps_best = 0;
    for (int pass = 0; pass < passes; pass++)
        if (mbps[pass] > res->mbps_best)
            res->mbps_best = mbps[pass];
    res->mbps_med = median(mbps, (size_t)passes);
    for (size_t i = 0; !corpus && i < narts; i++)
        record_free(recs[i]);
    if (!corpus)
        free(recs);
    entities_processor.destroy(state);
    conf_unbind(entities_processor.keys, conf);
    free(conf);
    conf_file_free(cf);
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 16;
    int passes = argc > 2 ? atoi(argv[2]) : 9;
    long only = argc > 3 ? atol(argv[3]) : -1;
    const char *dir = getenv("WS_GAZETTEER") ? getenv("WS_GAZETTEER") : "config/gazetteer";
    static const size_t targets[] = {0, 2000, 20000, 100000};
    struct result r[4];
    char err[512];

    if (mb < 1 || passes < 1 || passes > MAX_PASSES) {
        fprintf(stderr, "usage: bench_entities [MB >= 1] [PASSES 1-%d]\n", MAX_PASSES);
        return 2;
    }
    /* How many names the shipped gazetteer has. */
    struct gazetteer *g = gazetteer_load((const char *const[]){dir}, 1, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    size_t base = g->naliases;
    gazetteer_free(g);

    const char *corpus_path = getenv("WS_BENCH_CORPUS");
    size_t ncorpus = 0;
    struct record **corpus = corpus_path ? load_corpus(corpus_path, mb, &ncorpus) : NULL;
    if (corpus)
        printf("entities: %zu articles of %s, cleaned and tokenized beforehand; %d passes, "
               "build timed %d times; thread CPU time\n", ncorpus, corpus_path, passes,
               BUILDS);
    else
        printf("entities: %zu MB of ~3 KB synthetic articles, tokenized beforehand; %d "
               "passes, build timed %d times; thread CPU time\n", mb, passes, BUILDS);
    for (size_t i = 0; i < 4; i++) {
        if (only >= 0 && (size_t)only != targets[i])
            continue;
        if (run_case(dir, base, targets[i], mb, passes, corpus, ncorpus, &r[i]) < 0)
            return 1;
        printf("entities: %-8s %6zu names: median %4.0f MB/s, best %4.0f MB/s; "
               "build median %5.1f ms, best %5.1f ms; %zu entities, checksum %016llx\n",
               i == 0 ? "shipped" : targets[i] == 2000 ? "2k" : targets[i] == 20000 ? "20k"
                                                                                    : "100k",
               r[i].names, r[i].mbps_med, r[i].mbps_best, r[i].build_med, r[i].build_best,
               r[i].entities, (unsigned long long)r[i].checksum);
        fflush(stdout);
    }
    for (size_t i = 0; i < ncorpus; i++)
        record_free(corpus[i]);
    free(corpus);
    if (only >= 0)
        return 0;
    printf("entities: slowdown 2k -> 100k names: %.2fx median, %.2fx best (target < 2x); "
           "targets: >= 200 MB/s, build < 100 ms\n", r[1].mbps_med / r[3].mbps_med,
           r[1].mbps_best / r[3].mbps_best);
    return 0;
}
