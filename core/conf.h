/*
 * conf.h - configuration files and typed configuration tables.
 *
 * The file format is INI-like: `[section]` headers, `key = value` lines,
 * `#` comments, values may reference environment variables as ${NAME}
 * (that is how secrets stay out of files). Each module describes its keys
 * in a static table of struct conf_key; conf_bind() fills a module's
 * struct from a section and rejects unknown keys and bad values with an
 * error naming the file, the line and the key. `wirestream help config`
 * and the README's reference are printed from the same tables.
 */
#ifndef WS_CONF_H
#define WS_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
    CONF_STRING,   /* char *            */
    CONF_PATH,     /* char *, relative to the config file's folder */
    CONF_INT,      /* int64_t           */
    CONF_BOOL,     /* int (0/1): true/false/yes/no/on/off/1/0 */
    CONF_DOUBLE,   /* double            */
    CONF_DURATION, /* int64_t ms: "250ms", "30s", "5m", "72h", "2d"; bare = ms */
    CONF_SIZE,     /* int64_t bytes: "512", "64KB", "1MiB", "2GB" */
    CONF_LIST,     /* struct conf_list: comma-separated */
};

struct conf_list {
    char **items;
    size_t n;
};

struct conf_key {
    const char *name;
    enum conf_type type;
    const char *def;      /* default as text; NULL = unset (NULL/0/empty) */
    size_t offset;        /* offsetof() in the module's struct */
    const char *desc;
};

struct conf_entry {
    char *key;
    char *value;          /* environment references already expanded */
    int line;             /* 0 when set on the command line */
    int used;
};

struct conf_section {
    char *name;
    int line;
    struct conf_entry *entries;
    size_t n;
};

struct conf_file {
    char *path;           /* "<defaults>" when built without a file */
    char *dir;            /* folder that relative paths resolve against */
    struct conf_section *sections;
    size_t n;
};

/* Loads and parses a file. NULL on failure with err filled ("file:line:
 * message"). The caller owns the result: conf_file_free(). */
struct conf_file *conf_load(const char *path, char *err, size_t errlen);

/* Parses text held in memory; `path` names it in errors and sets the
 * folder for relative paths. */
struct conf_file *conf_parse(const char *text, const char *path,
                             char *err, size_t errlen);
void conf_file_free(struct conf_file *cf);

/* Sets or replaces section.key (a command-line override). 0 / -1 with err. */
int conf_override(struct conf_file *cf, const char *section, const char *key,
                  const char *value, char *err, size_t errlen);

/* Parses "section.key=value" (the -o option). The key part may contain
 * dots, the section is everything before the first dot. */
int conf_override_arg(struct conf_file *cf, const char *arg,
                      char *err, size_t errlen);

struct conf_section *conf_section(const struct conf_file *cf, const char *name);
const char *conf_get(const struct conf_section *sec, const char *key);

/* Fills `out` from the table: defaults first, then the section's entries
 * (sec may be NULL). Unknown keys and bad values fail with err. On failure
 * `out` is left fully released. Marks the entries it used. */
int conf_bind(const struct conf_key *keys, struct conf_section *sec,
              const struct conf_file *cf, void *out, char *err, size_t errlen);

/* Frees the strings and lists conf_bind() put into `out`. */
void conf_unbind(const struct conf_key *keys, void *out);

/* Parsers shared with the command line. 0 / -1. */
int conf_parse_duration(const char *s, int64_t *ms);
int conf_parse_size(const char *s, int64_t *bytes);
int conf_parse_bool(const char *s, int *b);

/* Resolves a path against cf->dir (absolute paths unchanged). Caller frees. */
char *conf_resolve_path(const struct conf_file *cf, const char *path);

/* Prints a table as Markdown (README) or plain text (--help). */
void conf_describe(FILE *fp, const char *section, const struct conf_key *keys,
                   int markdown);

void conf_list_free(struct conf_list *l);
int conf_list_contains(const struct conf_list *l, const char *s);

#endif
