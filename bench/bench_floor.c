/*
 * bench_floor.c - the cost of JSON alone, over a JSON Lines file: the floor
 * that `wirestream process` is compared with.
 *
 *   decode     json_loadb() of every line, then json_decref()
 *   roundtrip  json_loadb() + json_dumps(JSON_COMPACT) (what `jq -c .` does)
 *   io         wirestream's own I/O path without processors: decode_article()
 *              into a record, encode_record_line() of the (unenriched) record
 *
 * The file is read into memory first; timings cover only the loop, on one
 * core. Each mode prints one line: "RESULT <mode> <articles> <bytes> <seconds>"
 * (bytes: input bytes), then a human line. Same Jansson flags as
 * core/decode.c and core/encode.c.
 *
 *   build/bench/bench_floor FILE [decode|roundtrip|io]...   (default: all three)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "core/decode.h"
#include "core/encode.h"

struct lines {
    char *data;
    size_t len;
    size_t *off, *n;
    size_t count;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, struct lines *l)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    l->data = malloc((size_t)sz + 1);
    if (!l->data || fread(l->data, 1, (size_t)sz, fp) != (size_t)sz) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    l->len = (size_t)sz;
    size_t cap = 1024;
    l->off = malloc(cap * sizeof(size_t));
    l->n = malloc(cap * sizeof(size_t));
    for (size_t i = 0; i < l->len;) {
        char *nl = memchr(l->data + i, '\n', l->len - i);
        size_t e = nl ? (size_t)(nl - l->data) : l->len;
        if (e > i) {
            if (l->count == cap) {
                cap *= 2;
                l->off = realloc(l->off, cap * sizeof(size_t));
                l->n = realloc(l->n, cap * sizeof(size_t));
            }
            l->off[l->count] = i;
            l->n[l->count++] = e - i;
        }
        i = e + 1;
    }
    return 0;
}

static void report(const char *mode, const struct lines *l, size_t ok, double secs)
{
    printf("RESULT %s %zu %zu %.6f\n", mode, ok, l->len, secs);
    printf("  %-10s %8zu articles  %8.1f MB  %7.3f s  %8.1f MB/s  %9.0f articles/s\n", mode, ok,
           (double)l->len / 1e6, secs, (double)l->len / 1e6 / secs, (double)ok / secs);
    fflush(stdout);
}

static void run(const char *mode, const struct lines *l)
{
    size_t ok = 0;
    double t0 = now_s();

    if (strcmp(mode, "decode") == 0) {
        for (size_t i = 0; i < l->count; i++) {
            json_t *j = json_loadb(l->data + l->off[i], l->n[i], JSON_REJECT_DUPLICATES, NULL);
            ok += j != NULL;
            json_decref(j);
        }
    } else if (strcmp(mode, "roundtrip") == 0) {
        for (size_t i = 0; i < l->count; i++) {
            json_t *j = json_loadb(l->data + l->off[i], l->n[i], JSON_REJECT_DUPLICATES, NULL);
            char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            ok += s != NULL;
            free(s);
            json_decref(j);
        }
    } else if (strcmp(mode, "io") == 0) {
        struct decode_opts o = {INPUT_AUTO, 1 << 20, 4 << 20};
        struct decode_error err;
        for (size_t i = 0; i < l->count; i++) {
            struct record *rec = decode_article(l->data + l->off[i], l->n[i], &o, &err);
            if (!rec)
                continue;
            if (!rec->id)
                record_make_id(rec);
            size_t n;
            char *s = encode_record_line(rec, OUTPUT_RECORD, 0, &n);
            ok += s != NULL;
            free(s);
            record_free(rec);
        }
    } else {
        fprintf(stderr, "bench_floor: unknown mode %s\n", mode);
        exit(2);
    }
    report(mode, l, ok, now_s() - t0);
}

int main(int argc, char **argv)
{
    struct lines l = {0};
    if (argc < 2) {
        fprintf(stderr, "usage: bench_floor FILE [decode|roundtrip|io]...\n");
        return 2;
    }
    if (load(argv[1], &l) < 0)
        return 1;
    printf("bench_floor: %zu lines, %.1f MB, Jansson %s\n", l.count, (double)l.len / 1e6,
           JANSSON_VERSION);
    if (argc == 2) {
        run("decode", &l);
        run("roundtrip", &l);
        run("io", &l);
    }
    for (int i = 2; i < argc; i++)
        run(argv[i], &l);
    free(l.data);
    free(l.off);
    free(l.n);
    return 0;
}
