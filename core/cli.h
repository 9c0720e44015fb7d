/*
 * cli.h - a subcommand's own options, from a table.
 *
 * cli_common() (commands.h) takes the options every command shares and
 * leaves the rest in cli->rest[]; each cmd_*.c then describes what it
 * accepts in a struct cli_cmd and calls cli_parse_opts() once, so every
 * command reports a bad argument the same way.
 */
#ifndef WS_CLI_H
#define WS_CLI_H

#include <stddef.h>
#include <stdio.h>

struct cli;

enum cli_opt_type {
    CLI_FLAG,   /* dest is an int *, set to 1 */
    CLI_STRING, /* dest is a const char **, the next argument (borrowed from
                   cli->rest[]); a repeated option keeps the last value */
};

struct cli_opt {
    const char *name;  /* "--input"; the table ends with a NULL name */
    const char *alias; /* "-i", or NULL */
    enum cli_opt_type type;
    void *dest;
};

/* struct cli_cmd flags */
enum {
    CLI_POSITIONAL = 0x1,         /* "-" and what does not start with '-' go to
                                     pos[]; otherwise they are unexpected */
};

struct cli_cmd {
    const char *name;    /* messages read "wirestream NAME: ..." */
    void (*usage)(FILE *fp);
    unsigned flags;
    const struct cli_opt *opts; /* ends with a {0} row; NULL: no options */
};

/*
 * Parses cli->rest[1..] in order against cmd->opts; -h and --help are
 * always known. Positional arguments (CLI_POSITIONAL) are stored in pos[],
 * which holds at least cli->nrest entries, and counted in *npos (pos and
 * npos may be NULL without the flag). The first -h or bad argument ends
 * the parse. Returns 0 when the command goes on; 1 after -h (usage printed
 * on stdout: exit 0); -1 after a bad argument (reported on stderr: exit
 * EXIT_USAGE).
 */
int cli_parse_opts(const struct cli *cli, const struct cli_cmd *cmd, const char **pos,
                   size_t *npos);

#endif
