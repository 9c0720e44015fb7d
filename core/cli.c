/*
 * cli.c - options every subcommand shares (see commands.h).
 *
 * The configuration is found in this order: -c FILE, $WIRESTREAM_CONFIG,
 * ./config/wirestream.conf, then config/wirestream.conf next to the
 * binary. Without any, the built-in defaults apply and data files resolve
 * against the binary's config/ folder.
 *
 * cli_parse_opts() then reads what is left against the command's own
 * option table (cli.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "log.h"

static int readable(const char *p)
{
    return access(p, R_OK) == 0;
}

/* config/wirestream.conf beside the executable, or NULL. Caller frees. */
static char *exe_config(const char *file)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    size_t len = strlen(exe) + strlen(file) + 16;
    char *p = malloc(len);
    if (!p)
        return NULL;
    snprintf(p, len, "%s/config/%s", exe, file);
    if (!readable(p)) {
        /* build/wirestream during development: look one folder up too */
        snprintf(p, len, "%s/../config/%s", exe, file);
        if (!readable(p)) {
            free(p);
            return NULL;
        }
    }
    return p;
}

static struct conf_file *find_config(const char *path, char *err, size_t errlen)
{
    if (path)
        return conf_load(path, err, errlen);
    const char *env = getenv("WIRESTREAM_CONFIG");
    if (env && *env)
        return conf_load(env, err, errlen);
    if (readable("config/wirestream.conf"))
        return conf_load("config/wirestream.conf", err, errlen);
    char *p = exe_config("wirestream.conf");
    if (p) {
        struct conf_file *cf = conf_load(p, err, errlen);
        free(p);
        return cf;
    }
    /* Built-in defaults; data files still resolve against config/. */
    char *dir = exe_config("boilerplate.conf");
    char base[4096] = "config/defaults";
    if (dir) {
        snprintf(base, sizeof(base), "%s", dir);
        char *slash = strrchr(base, '/');
        if (slash)
            snprintf(slash, sizeof(base) - (size_t)(slash - base), "/defaults");
        free(dir);
    }
    return conf_parse("", base, err, errlen);
}

static int add_override(struct conf_file *cf, const char *section, const char *kv,
                        char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errlen, "expected key=value, got '%s'", kv);
        return -1;
    }
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    return conf_override(cf, section, key, eq + 1, err, errlen);
}

int cli_common(int argc, char **argv, struct cli *cli)
{
    const char *config = NULL;
    char err[1024];
    int verbose = 0;
    struct conf_file *cf = NULL;

    memset(cli, 0, sizeof(*cli));
    cli->rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!cli->rest)
        return -1;
    cli->rest[cli->nrest++] = argv[0];

    /* First pass: find -c, so overrides apply on top of the file. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "wirestream: %s needs a file\n", argv[i]);
                goto fail;
            }
            config = argv[++i];
        }
    }
    if (!(cf = find_config(config, err, sizeof(err)))) {
        fprintf(stderr, "wirestream: %s\n", err);
        goto fail;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                cli->rest[cli->nrest++] = argv[i];
            break;
        }
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            i++;
        } else if (strcmp(a, "-o") == 0 && has_val) {
            if (conf_override_arg(cf, argv[++i], err, sizeof(err)) < 0)
                goto bad;
        } else if (strcmp(a, "-X") == 0 && has_val) {
            if (add_override(cf, "librdkafka", argv[++i], err, sizeof(err)) < 0)
                goto bad;
        } else if (strcmp(a, "-b") == 0 && has_val) {
            if (conf_override(cf, "kafka", "brokers", argv[++i], err, sizeof(err)) < 0)
                goto bad;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->quiet = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "-X") == 0 || strcmp(a, "-b") == 0)) {
            fprintf(stderr, "wirestream: %s needs a value\n", a);
            goto fail;
        } else {
            cli->rest[cli->nrest++] = argv[i];
        }
    }
    cli->settings = settings_load(cf, err, sizeof(err));
    cf = NULL;          /* settings_load owns it, also on failure */
    if (!cli->settings) {
        fprintf(stderr, "wirestream: %s\n", err);
        goto fail;
    }
    enum log_level level = LOG_INFO;
    if (log_parse_level(cli->settings->log.level, &level) < 0) {
        fprintf(stderr, "wirestream: %s: [log] level: expected error, warn, info or debug\n",
                cli->settings->cf->path);
        goto fail;
    }
    if (verbose)
        level = LOG_DEBUG;
    else if (cli->quiet && level > LOG_WARN)
        level = LOG_WARN;
    log_setup(level, strcmp(cli->settings->log.format, "json") == 0);
    return 0;
bad:
    fprintf(stderr, "wirestream: %s\n", err);
fail:
    conf_file_free(cf);
    cli_free(cli);
    return -1;
}

void cli_free(struct cli *cli)
{
    settings_free(cli->settings);
    free(cli->rest);
    memset(cli, 0, sizeof(*cli));
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *a)
{
    for (; opts && opts->name; opts++)
        if (strcmp(a, opts->name) == 0 || (opts->alias && strcmp(a, opts->alias) == 0))
            return opts;
    return NULL;
}

int cli_parse_opts(const struct cli *cli, const struct cli_cmd *cmd, const char **pos,
                   size_t *npos)
{
    for (int i = 1; i < cli->nrest; i++) {
        const char *a = cli->rest[i];
        const struct cli_opt *o = find_opt(cmd->opts, a);
        int has_val = i + 1 < cli->nrest;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd->usage(stdout);
            return 1;
        }
        if (o && o->type == CLI_FLAG) {
            *(int *)o->dest = 1;
        } else if (o && has_val) {
            *(const char **)o->dest = cli->rest[++i];
        } else if (o) {
            fprintf(stderr, "wirestream %s: %s needs a value; see 'wirestream %s --help'\n",
                    cmd->name, a, cmd->name);
            return -1;
        } else if ((cmd->flags & CLI_POSITIONAL) && (a[0] != '-' || !a[1])) {
            pos[(*npos)++] = a;
        } else {
            fprintf(stderr, "wirestream %s: %s %s; see 'wirestream %s --help'\n", cmd->name,
                    a[0] == '-' && a[1] ? "unknown option" : "unexpected argument", a, cmd->name);
            return -1;
        }
    }
    return 0;
}
