/*
 * main.c - the wirestream binary: dispatches to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"process", cmd_process, "offline: JSON Lines (or text) in, enriched JSON Lines out"},
    {"run", cmd_run, "stream: consume Kafka, enrich, produce (brokers = embedded by default)"},
    {"demo", cmd_demo, "the pipeline on the embedded broker with sample stories, then a summary"},
    {"replay", cmd_replay, "re-run a time range of the input topics into prefixed output topics"},
    {"ingest", cmd_ingest, "produce a JSON Lines archive to the input topic, timestamped by date"},
    {"export", cmd_export, "write a topic's time range as JSON Lines"},
    {"check", cmd_check, "validate the configuration and every data file it names"},
    {"help", cmd_help, "this list; 'help config' prints the configuration reference"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
    fprintf(fp, "wirestream %s - a stream processor for wire news\n\n"
                "usage: wirestream COMMAND [options]\n\ncommands:\n", WS_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\ncommon options: -c FILE, -o section.key=value, -X librdkafka.prop=value,\n"
                "                -b BROKERS, -q (quiet), -v (verbose)\n"
                "'wirestream COMMAND --help' describes a command.\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "config") == 0) {
        int md = argc >= 3 && strcmp(argv[2], "--markdown") == 0;
        settings_describe(stdout, md);
        return 0;
    }
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("wirestream %s\n", WS_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return cmd_help(1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "wirestream: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
