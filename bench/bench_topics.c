/*
 * bench_topics.c - how fast the topics processor classifies, compared with
 * decoding the same article from JSON (the bar: classification
 * must cost less than json_loads of the article).
 *
 * Articles are the labelled fixture stories, each encoded once as a JSON
 * object {id, headline, body}. Single-threaded, so rates are per core.
 * Tokenization (record_analyze) is shown separately: it is computed once
 * per record and shared by every processor, so it is not the classifier's
 * cost.
 *
 *   build/bench/bench_topics [taxonomy.conf] [seconds-per-measurement]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "core/conf.h"
#include "core/record.h"
#include "processors/processor.h"

extern const struct processor_ops topics_processor;

#define MAX_ARTICLES 256

struct article {
    char *headline;
    char *body;
    char *json;
    size_t json_len;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads "=== ID | labels" stories (tests/fixtures/topics/ format). */
static size_t load(const char *path, struct article *out, size_t n, size_t max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return n;
    char line[4096];
    struct article *cur = NULL;
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "===", 3) == 0) {
            if (n == max)
                break;
            cur = &out[n++];
            memset(cur, 0, sizeof(*cur));
            cur->body = strdup("");
            continue;
        }
        if (!cur)
            continue;
        if (!cur->headline) {
            line[strcspn(line, "\n")] = '\0';
            if (*line)
                cur->headline = strdup(line);
            continue;
        }
        size_t a = strlen(cur->body), b = strlen(line);
        cur->body = realloc(cur->body, a + b + 1);
        memcpy(cur->body + a, line, b + 1);
    }
    fclose(fp);
    return n;
}

static void clear_topics(struct record *rec)
{
    /* The bench re-classifies the same record; record.h has no call to
     * drop results, so release them the way record_free() would. */
    for (size_t i = 0; i < rec->ntopics; i++) {
        struct topic_hit *h = &rec->topics[i];
        free(h->name);
        for (size_t j = 0; j < h->niptc; j++)
            free(h->iptc[j]);
        free(h->iptc);
        for (size_t j = 0; j < h->nevidence; j++)
            free(h->evidence[j]);
        free(h->evidence);
    }
    rec->ntopics = 0;
}

/* Times json_loads, tokenization and classification over arts[0..n);
 * prints a table; returns 1 when classifying is cheaper than decoding. */
static int measure(const char *title, void *st, const struct article *arts, size_t n,
                   double secs)
{
    struct record **recs = calloc(n, sizeof(*recs));
    size_t toks = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i] = record_new();
        record_set(&recs[i]->headline, arts[i].headline, (size_t)-1);
        record_take_body(recs[i], strdup(arts[i].body), strlen(arts[i].body));
        record_analyze(recs[i]);
        toks += recs[i]->body_toks.n + recs[i]->head_toks.n;
        bytes += arts[i].json_len;
    }
    printf("%s: %zu article(s), mean %zu JSON bytes, %zu tokens\n", title, n, bytes / n,
           toks / n);

    /* 1. json_loads of the article. */
    size_t iters = 0;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_loadb(arts[i].json, arts[i].json_len, 0, NULL);
            json_decref(o);
        }
        iters += n;
    } while ((t = now_s() - t0) < secs);
    double json_rate = (double)iters / t;

    /* 2. Tokenization (shared by every processor, once per record). */
    iters = 0;
    t0 = now_s();
    do {
        for (size_t i = 0; i < n; i++) {
            record_text_changed(recs[i]);
            record_analyze(recs[i]);
        }
        iters += n;
    } while ((t = now_s() - t0) < secs);
    double tok_rate = (double)iters / t;

    /* 3. Classification of an analyzed record. */
    iters = 0;
    size_t tagged = 0;
    t0 = now_s();
    do {
        for (size_t i = 0; i < n; i++) {
            clear_topics(recs[i]);
            topics_processor.process(st, recs[i]);
            tagged += recs[i]->ntopics;
        }
        iters += n;
    } while ((t = now_s() - t0) < secs);
    double cls_rate = (double)iters / t;

    printf("  %-32s %11.0f articles/s/core %10.2f us/article\n", "json_loads (decode only)",
           json_rate, 1e6 / json_rate);
    printf("  %-32s %11.0f articles/s/core %10.2f us/article\n",
           "record_analyze (shared tokens)", tok_rate, 1e6 / tok_rate);
    printf("  %-32s %11.0f articles/s/core %10.2f us/article\n", "topics classify", cls_rate,
           1e6 / cls_rate);
    printf("  classify/json_loads cost ratio %.2f (%s), %.2f topics per article\n",
           json_rate / cls_rate, cls_rate > json_rate ? "cheaper than decoding" : "SLOWER",
           (double)tagged / (double)iters);
    for (size_t i = 0; i < n; i++)
        record_free(recs[i]);
    free(recs);
    return cls_rate > json_rate;
}

static void encode(struct article *a)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", "bench", "headline", a->headline, "body",
                          a->body);
    a->json = json_dumps(o, JSON_COMPACT);
    a->json_len = strlen(a->json);
    json_decref(o);
}

int main(int argc, char **argv)
{
    const char *tax = argc > 1 ? argv[1] : "config/taxonomy.conf";
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    static struct article arts[MAX_ARTICLES];
    size_t n = load("tests/fixtures/topics/stories.txt", arts, 0, MAX_ARTICLES);
    n = load("tests/fixtures/topics/heldout.txt", arts, n, MAX_ARTICLES);
    if (n == 0) {
        fprintf(stderr, "bench_topics: no fixture stories (run from the repository root)\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        encode(&arts[i]);

    /* Every story joined into one long feature: both costs grow with
     * length, the ratio should hold. */
    struct article big = {0};
    size_t blen = 1;
    for (size_t i = 0; i < n; i++)
        blen += strlen(arts[i].body) + 1;
    big.headline = strdup(arts[0].headline);
    big.body = calloc(1, blen);
    for (size_t i = 0; i < n; i++) {
        strcat(big.body, arts[i].body);
        strcat(big.body, "\n");
    }
    encode(&big);

    /* The processor, bound like the chain binds it. */
    char text[1024], err[512];
    snprintf(text, sizeof(text), "[processor.topics]\ntaxonomy = %s\n", tax);
    struct conf_file *cf = conf_parse(text, "bench.conf", err, sizeof(err));
    void *conf = calloc(1, topics_processor.conf_size);
    void *st = NULL;
    struct processor_env env = {.cf = cf, .store = NULL};
    if (!cf || conf_bind(topics_processor.keys, conf_section(cf, "processor.topics"), cf, conf,
                         err, sizeof(err)) < 0 ||
        topics_processor.init(&st, conf, &env, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_topics: %s\n", err);
        return 1;
    }

    printf("bench_topics: taxonomy %s, %.1f s per measurement, one thread\n", tax, secs);
    int ok = measure("fixture stories", st, arts, n, secs);
    ok &= measure("all stories as one long article", st, &big, 1, secs);

    for (size_t i = 0; i < n; i++) {
        free(arts[i].headline);
        free(arts[i].body);
        free(arts[i].json);
    }
    free(big.headline);
    free(big.body);
    free(big.json);
    topics_processor.destroy(st);
    conf_unbind(topics_processor.keys, conf);
    free(conf);
    conf_file_free(cf);
    return ok ? 0 : 1;
}
