/*
 * cmd_run.c - `wirestream run`: the streaming pipeline until SIGTERM.
 *
 * With brokers = embedded (the default) it first starts the in-process
 * mock broker, creates the topics on it and prints its address, so any
 * Kafka client can feed it. Exit status: 0 after a clean shutdown (every
 * consumed message delivered and committed), 1 after a fatal error or
 * when something could not be delivered, 2 on a usage error.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "embedded.h"
#include "log.h"
#include "pipeline.h"

#define MOD "run"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: wirestream run [-c FILE] [-o section.key=value] [-X prop=value]\n"
            "                      [-b BROKERS] [--group ID] [-q] [-v]\n"
            "\n"
            "Consumes [kafka] input_topics, enriches every article and produces it to the\n"
            "[output] topics, committing input offsets only once the outputs are\n"
            "acknowledged. SIGTERM/SIGINT: drain, commit, exit 0. SIGHUP: reload the\n"
            "taxonomy and gazetteer files. With brokers = embedded an in-process broker\n"
            "is started and its address printed on stdout.\n");
}

int cmd_run(int argc, char **argv)
{
    struct cli cli;
    struct embedded *emb = NULL;
    struct pipeline *p = NULL;
    const char *group = NULL;
    char err[1024];
    int rc = EXIT_RUNTIME;
    sigset_t stop_sigs, old_mask;

    /* Until the pipeline's loop has its handlers (loading the data files
     * and starting the embedded broker take a while), a SIGTERM must wait
     * rather than kill: blocked here, it is delivered to the loop's handler
     * once installed and ends in a clean shutdown. librdkafka's threads,
     * created meanwhile, inherit the mask and so leave signals to us. */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old_mask);
    if (cli_common(argc, argv, &cli) < 0) {
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return EXIT_USAGE;
    }
    const struct cli_opt opts[] = {
        {"--group", NULL, CLI_STRING, &group},
        {0},
    };
    const struct cli_cmd cmd = {"run", usage, 0, opts};
    int parsed = cli_parse_opts(&cli, &cmd, NULL, NULL);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    const struct settings *s = cli.settings;
    const char *brokers = s->kafka.brokers;
    if (strcmp(brokers, "embedded") == 0) {
        if (!(emb = embedded_new((int)s->kafka.embedded_port, err, sizeof(err)))) {
            fprintf(stderr, "wirestream run: %s\n", err);
            rc = strstr(err, "embedded_port") ? EXIT_USAGE : EXIT_RUNTIME;
            goto out;
        }
        if (embedded_create_pipeline_topics(emb, s, err, sizeof(err)) < 0) {
            fprintf(stderr, "wirestream run: %s\n", err);
            goto out;
        }
        brokers = embedded_bootstraps(emb);
        printf("embedded broker: %s\n", brokers);
        fflush(stdout);
        log_info(MOD, "embedded Kafka broker listening on %s (kcat -b %s -L); it keeps "
                 "at most %d MB per partition", brokers, brokers,
                 EMBEDDED_PARTITION_BYTES / (1024 * 1024));
    }
    struct pipeline_opts o = {
        .brokers = brokers,
        .group_id = group,
        .embedded = emb,
        .quiet = cli.quiet,
        .handle_signals = 1,
    };
    if (!(p = pipeline_new(s, &o, err, sizeof(err)))) {
        fprintf(stderr, "wirestream run: %s\n", err);
        rc = EXIT_USAGE;     /* configuration, data files, librdkafka properties */
        goto out;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);   /* the loop catches them now */
    if (settings_check_unused(s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (s->http.enabled) {
        int port = pipeline_serve_http(p, err, sizeof(err));
        if (port < 0) {
            fprintf(stderr, "wirestream run: %s\n", err);
            goto out;
        }
        const char *host = s->http.listen;
        int v6 = strchr(host, ':') != NULL;
        printf("dashboard: http://%s%s%s:%d/\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
        fflush(stdout);
        log_info(MOD, "dashboard, /metrics, /stats, /healthz and /readyz on http://%s%s%s:%d/",
                 v6 ? "[" : "", host, v6 ? "]" : "", port);
    }
    if (pipeline_start(p, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream run: %s\n", err);
        goto out;
    }
    int r = pipeline_run(p);
    int stopped = pipeline_stop(p);
    rc = (r < 0 || stopped < 0) ? EXIT_RUNTIME : 0;
    if (rc == 0)
        log_info(MOD, "clean shutdown: everything consumed was delivered and committed");
out:
    pipeline_free(p);
    embedded_free(emb);
    cli_free(&cli);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}
