/*
 * bench_chain.c - the processors alone: the configured chain (clean, dedupe,
 * entities, topics) on records decoded beforehand. No JSON in the timed
 * part, no Kafka, one core.
 *
 * Records are decoded in batches outside the clock, then each goes through
 * chain_process() inside it. The per-processor split comes from the chain's
 * own counters (chain_stats() "ns_total"); the first processor that needs
 * tokens pays for record_analyze(), so tokenization is also timed on its
 * own over the raw bodies and shown as a separate line (not added to the
 * total). Prints "RESULT <name> <articles> <body bytes> <seconds>" lines for
 * bench/run.sh, then a table.
 *
 *   build/bench/bench_chain FILE [-c CONF] [-o section.key=value]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "core/chain.h"
#include "core/commands.h"
#include "core/decode.h"
#include "core/text.h"

#define BATCH 2000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct cli cli;
    char err[1024];
    const char *path = NULL;

    /* cli_common() takes -c/-o like wirestream; the first other argument
     * is the file. argv[0] plays the subcommand name. */
    if (cli_common(argc, argv, &cli) < 0)
        return 2;
    for (int i = 1; i < cli.nrest; i++)
        if (!path)
            path = cli.rest[i];
    if (!path) {
        fprintf(stderr, "usage: bench_chain FILE [-c CONF] [-o section.key=value]...\n");
        return 2;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return 1;
    }
    struct chain *ch = chain_new(cli.settings, NULL, err, sizeof(err));
    if (!ch) {
        fprintf(stderr, "bench_chain: %s\n", err);
        return 2;
    }
    struct decode_opts o = {INPUT_AUTO, (size_t)cli.settings->input.max_body_size,
                            (size_t)cli.settings->input.max_message_size};
    struct record **batch = calloc(BATCH, sizeof(*batch));
    char *line = NULL;
    size_t cap = 0, n = 0, bytes = 0;
    double t_chain = 0, t_tok = 0;
    ssize_t len;
    int eof = 0;
    struct tokens toks = {0};

    while (!eof) {
        size_t nb = 0;
        while (nb < BATCH) {
            if ((len = getline(&line, &cap, fp)) < 0) {
                eof = 1;
                break;
            }
            struct decode_error derr;
            struct record *rec = decode_article(line, (size_t)len, &o, &derr);
            if (rec)
                batch[nb++] = rec;
        }
        /* Tokenization alone, on the raw bodies (not added to the total). */
        double t0 = now_s();
        for (size_t i = 0; i < nb; i++)
            text_tokenize(batch[i]->body, batch[i]->body_len, &toks);
        t_tok += now_s() - t0;

        t0 = now_s();
        for (size_t i = 0; i < nb; i++)
            chain_process(ch, batch[i]);
        t_chain += now_s() - t0;
        for (size_t i = 0; i < nb; i++) {
            bytes += batch[i]->body_len;
            record_free(batch[i]);
        }
        n += nb;
    }
    fclose(fp);

    json_t *st = json_object();
    chain_stats(ch, st);
    json_t *procs = json_object_get(st, "processors");
    printf("bench_chain: %zu articles, %.1f MB of cleaned bodies (%.0f bytes each)\n", n,
           (double)bytes / 1e6, n ? (double)bytes / (double)n : 0.0);
    printf("RESULT chain %zu %zu %.6f\n", n, bytes, t_chain);
    for (size_t i = 0; i < chain_count(ch); i++) {
        const char *name = chain_name(ch, i);
        json_t *p = json_object_get(procs, name);
        double s = (double)json_integer_value(json_object_get(p, "ns_total")) / 1e9;
        printf("RESULT %s %zu %zu %.6f\n", name, n, bytes, s);
    }
    printf("RESULT tokenize %zu %zu %.6f\n", n, bytes, t_tok);
    printf("  %-12s %12s %10s %12s\n", "processor", "articles/s", "us/article", "share");
    for (size_t i = 0; i < chain_count(ch); i++) {
        const char *name = chain_name(ch, i);
        json_t *p = json_object_get(procs, name);
        double s = (double)json_integer_value(json_object_get(p, "ns_total")) / 1e9;
        printf("  %-12s %12.0f %10.1f %11.1f%%\n", name, s > 0 ? (double)n / s : 0.0,
               n ? s * 1e6 / (double)n : 0.0, t_chain > 0 ? 100.0 * s / t_chain : 0.0);
    }
    printf("  %-12s %12.0f %10.1f %11s\n", "total", t_chain > 0 ? (double)n / t_chain : 0.0,
           n ? t_chain * 1e6 / (double)n : 0.0, "100%");
    printf("  %-12s %12.0f %10.1f %11s\n", "(tokenize)", t_tok > 0 ? (double)n / t_tok : 0.0,
           n ? t_tok * 1e6 / (double)n : 0.0, "included above");
    json_decref(st);
    text_tokens_free(&toks);
    free(line);
    free(batch);
    chain_free(ch);
    cli_free(&cli);
    return 0;
}
