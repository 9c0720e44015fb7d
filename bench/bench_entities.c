/*
 * bench_entities.c - tagging throughput and gazetteer build time.
 *
 * Loads the shipped gazetteer plus synthetic people (written to a temp
 * .gaz file) so that the gazetteer holds ~2k and ~100k names (aliases),
 * builds synthetic wire text that mentions real and synthetic entities
 * among ordinary words, tokenizes it up front (the tokenizer's cost is
 * shared by every processor) and times only the entities processor.
 *
 *   make build/bench/bench_entities && build/bench/bench_entities [MB]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/gazetteer.h"
#include "core/record.h"
#include "processors/processor.h"

extern const struct processor_ops entities_processor;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
        if (words % 18 == 0 && k < len) {   /* capitalize the next word */
            buf[k] = '\0';
        }
    }
    buf[k] = '\0';
    *out_len = k;
    return buf;
}

struct result {
    size_t names;
    double build_ms, mbps;
};

static int run_case(const char *gaz_dir, size_t target_names, size_t mb, struct result *res)
{
    char synth[] = "/tmp/ws-bench-gaz-XXXXXX";
    char path[64], conf_text[1024], err[512] = "";
    int fd = mkstemp(synth);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(synth);
    snprintf(path, sizeof(path), "%s.gaz", synth);

    /* How many names the shipped gazetteer has. */
    const char *paths[1] = {gaz_dir};
    struct gazetteer *g = gazetteer_load(paths, 1, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    size_t base = g->naliases;
    gazetteer_free(g);
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
    double t0 = now_s();
    if (entities_processor.init(&state, conf, &env, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    res->build_ms = (now_s() - t0) * 1000.0;
    g = gazetteer_load((const char *const[]){gaz_dir, path}, nsynth ? 2 : 1, err, sizeof(err));
    res->names = g ? g->naliases : 0;
    gazetteer_free(g);

    /* Articles of ~3 KB, tokenized before timing; best of 3 passes (the
     * machine may be shared), fresh records each pass. */
    size_t narts = mb * 1024 * 1024 / 3000 + 1;
    struct record **recs = calloc(narts, sizeof(*recs));
    res->mbps = 0;
    for (int pass = 0; pass < 3; pass++) {
        size_t bytes = 0, ents = 0;
        rng_state = 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < narts; i++) {
            size_t len = 0;
            char *text = make_text(3000, nsynth, &len);
            recs[i] = record_new();
            record_take_body(recs[i], text, len);
            record_set(&recs[i]->headline, "Ukraine and NATO discuss air defence", (size_t)-1);
            record_analyze(recs[i]);
            bytes += len;
        }
        t0 = now_s();
        for (size_t i = 0; i < narts; i++) {
            entities_processor.process(state, recs[i]);
            ents += recs[i]->nentities;
        }
        double dt = now_s() - t0;
        double mbps = (double)bytes / 1e6 / dt;
        if (mbps > res->mbps)
            res->mbps = mbps;
        fprintf(stderr, "  %zu names: %.1f MB in %.3f s, %zu entities\n", res->names,
                (double)bytes / 1e6, dt, ents);
        for (size_t i = 0; i < narts; i++)
            record_free(recs[i]);
    }
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
    const char *dir = getenv("WS_GAZETTEER") ? getenv("WS_GAZETTEER") : "config/gazetteer";
    struct result small, large;

    if (run_case(dir, 2000, mb, &small) < 0 || run_case(dir, 100000, mb, &large) < 0)
        return 1;
    printf("entities: %zu names: %.0f MB/s, build %.1f ms\n", small.names, small.mbps,
           small.build_ms);
    printf("entities: %zu names: %.0f MB/s, build %.1f ms\n", large.names, large.mbps,
           large.build_ms);
    printf("entities: slowdown 2k -> 100k names: %.2fx (target < 2x); "
           "targets: >= 200 MB/s, build < 100 ms\n", small.mbps / large.mbps);
    return 0;
}
