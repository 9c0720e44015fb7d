/*
 * commands.h - the subcommands of the wirestream binary.
 *
 * Each cmd_* takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status. main() only dispatches.
 *
 * Exit statuses: 0 success; 1 runtime failure (broker fatal error, I/O);
 * 2 usage or configuration error; 3 (process) some input was rejected.
 */
#ifndef WS_COMMANDS_H
#define WS_COMMANDS_H

#include "settings.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_REJECTED 3

int cmd_process(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_help(int argc, char **argv);

/*
 * Options every command shares, parsed by cli_common():
 *   -c FILE        configuration file (default: $WIRESTREAM_CONFIG, else
 *                  config/wirestream.conf next to the binary or in the
 *                  working directory, else built-in defaults)
 *   -o sec.key=v   override any configuration key
 *   -X prop=v      librdkafka property for consumer and producer (kcat style)
 *   -b BROKERS     shorthand for -o kafka.brokers=BROKERS
 *   -q             quiet: warnings and errors only, no periodic statistics
 *   -v             verbose: debug logging
 * cli_common() consumes these and leaves the others for the command in
 * rest[] (rest[0] = argv[0]); it sets up logging from [log].
 * Returns 0, or -1 after printing the error (exit with EXIT_USAGE).
 */
struct cli {
    struct settings *settings;   /* owned: settings_free() */
    int quiet;
    char **rest;                 /* owned array, borrowed strings */
    int nrest;
};

int cli_common(int argc, char **argv, struct cli *cli);
void cli_free(struct cli *cli);

#endif
