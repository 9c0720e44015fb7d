/*
 * cmd_check.c - `wirestream check`: validate without running anything.
 *
 * Binds every section, builds the processor chain (which loads every data
 * file: boilerplate patterns, gazetteer, taxonomy) and hands the librdkafka
 * sections to librdkafka for validation. Prints "ok" and a summary, or the
 * first error with its file and line.
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "kconf.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: wirestream check [-c FILE] [-o section.key=value]\n");
}

int cmd_check(int argc, char **argv)
{
    struct cli cli;
    char err[1024];
    int rc = EXIT_USAGE;
    struct chain *ch = NULL;

    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    const struct cli_cmd cmd = {"check", usage, 0, NULL};
    int parsed = cli_parse_opts(&cli, &cmd, NULL, NULL);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    const struct settings *s = cli.settings;
    if (!(ch = chain_new(s, NULL, err, sizeof(err))))
        goto bad;
    if (settings_check_unused(s, err, sizeof(err)) < 0)
        goto bad;
    static const char *const roles[] = {"consumer", "producer"};
    for (size_t i = 0; i < 2; i++) {
        rd_kafka_conf_t *kc = kconf_new(s, "127.0.0.1:9092", roles[i], NULL, err, sizeof(err));
        if (!kc)
            goto bad;
        rd_kafka_conf_destroy(kc);
    }
    printf("ok: %s\n", s->cf->path);
    printf("  processors:");
    for (size_t i = 0; i < chain_count(ch); i++)
        printf(" %s", chain_name(ch, i));
    printf("\n  brokers: %s\n  input topics:", s->kafka.brokers);
    for (size_t i = 0; i < s->kafka.input_topics.n; i++)
        printf(" %s", s->kafka.input_topics.items[i]);
    printf("\n");
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "wirestream check: %s\n", err);
out:
    chain_free(ch);
    cli_free(&cli);
    return rc;
}
