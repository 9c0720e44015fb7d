/*
 * conf.c - INI-like configuration files bound into typed module structs.
 *
 * Every error names the file, the line and the key, because the person
 * reading it is editing that file. Values are never logged here: some are
 * secrets (sasl.password = ${KAFKA_PASSWORD}).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fileio.h"
#include "record.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static struct conf_section *add_section(struct conf_file *cf, const char *name, int line)
{
    struct conf_section *ns = realloc(cf->sections, (cf->n + 1) * sizeof(*ns));
    if (!ns)
        return NULL;
    cf->sections = ns;
    struct conf_section *sec = &cf->sections[cf->n];
    memset(sec, 0, sizeof(*sec));
    sec->name = strdup(name);
    sec->line = line;
    if (!sec->name)
        return NULL;
    cf->n++;
    return sec;
}

struct conf_section *conf_section(const struct conf_file *cf, const char *name)
{
    if (!cf)
        return NULL;
    for (size_t i = 0; i < cf->n; i++)
        if (strcmp(cf->sections[i].name, name) == 0)
            return &cf->sections[i];
    return NULL;
}

static struct conf_entry *find_entry(const struct conf_section *sec, const char *key)
{
    for (size_t i = 0; sec && i < sec->n; i++)
        if (strcmp(sec->entries[i].key, key) == 0)
            return &sec->entries[i];
    return NULL;
}

const char *conf_get(const struct conf_section *sec, const char *key)
{
    struct conf_entry *e = find_entry(sec, key);
    return e ? e->value : NULL;
}

static int set_entry(struct conf_section *sec, const char *key, const char *value, int line)
{
    struct conf_entry *e = find_entry(sec, key);
    char *v = strdup(value);
    if (!v)
        return -1;
    if (e) {                    /* later lines and overrides win */
        free(e->value);
        e->value = v;
        e->line = line;
        return 0;
    }
    struct conf_entry *ne = realloc(sec->entries, (sec->n + 1) * sizeof(*ne));
    if (!ne) {
        free(v);
        return -1;
    }
    sec->entries = ne;
    e = &sec->entries[sec->n];
    e->key = strdup(key);
    if (!e->key) {
        free(v);
        return -1;
    }
    e->value = v;
    e->line = line;
    e->used = 0;
    sec->n++;
    return 0;
}

/* Expands ${NAME} and ${NAME:-default}. Returns a malloc'd string or NULL
 * with err filled (an unset variable without default is an error: a missing
 * secret must not silently become an empty password). */
static char *expand_env(const char *v, const char *where, char *err, size_t errlen)
{
    size_t cap = strlen(v) + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        goto oom;
    while (*v) {
        const char *add = v;
        size_t addlen = 1;
        char name[128];
        if (v[0] == '$' && v[1] == '{') {
            const char *close = strchr(v + 2, '}');
            if (!close) {
                snprintf(err, errlen, "%s: unterminated ${ in value", where);
                free(out);
                return NULL;
            }
            size_t nl = (size_t)(close - (v + 2));
            if (nl >= sizeof(name))
                nl = sizeof(name) - 1;
            memcpy(name, v + 2, nl);
            name[nl] = '\0';
            char *def = strstr(name, ":-");
            if (def) {
                *def = '\0';
                def += 2;
            }
            const char *val = getenv(name);
            if (!val || (!*val && def))
                val = def;
            if (!val) {
                snprintf(err, errlen, "%s: environment variable %s is not set", where, name);
                free(out);
                return NULL;
            }
            add = val;
            addlen = strlen(val);
            v = close + 1;
        } else {
            v++;
        }
        if (len + addlen + 1 > cap) {
            cap = (len + addlen + 1) * 2;
            char *no = realloc(out, cap);
            if (!no)
                goto oom;
            out = no;
        }
        memcpy(out + len, add, addlen);
        len += addlen;
    }
    out[len] = '\0';
    return out;
oom:
    free(out);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return ws_strndup(path, (size_t)(slash - path));
}

struct conf_file *conf_parse(const char *text, const char *path, char *err, size_t errlen)
{
    struct conf_file *cf = calloc(1, sizeof(*cf));
    char *copy = strdup(text);
    struct conf_section *sec = NULL;
    int lineno = 0;

    if (!cf || !copy)
        goto oom;
    cf->path = strdup(path);
    cf->dir = dir_of(path);
    if (!cf->path || !cf->dir)
        goto oom;

    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || *trim(close + 1)) {
                snprintf(err, errlen, "%s:%d: malformed section header", path, lineno);
                goto fail;
            }
            *close = '\0';
            char *name = trim(s + 1);
            if (!*name) {
                snprintf(err, errlen, "%s:%d: empty section name", path, lineno);
                goto fail;
            }
            sec = conf_section(cf, name);
            if (!sec && !(sec = add_section(cf, name, lineno)))
                goto oom;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key) {
            snprintf(err, errlen, "%s:%d: missing key before '='", path, lineno);
            goto fail;
        }
        /* Strip a trailing comment only when preceded by whitespace, so
         * that values such as "#hashtag" or URLs with '#' survive. */
        if (val[0] == '"' && strchr(val + 1, '"')) {
            /* A quoted value keeps everything between its quotes. */
            char *close = strrchr(val + 1, '"');
            char *rest = trim(close + 1);
            if (*rest && *rest != '#') {
                snprintf(err, errlen, "%s:%d: text after the closing quote", path, lineno);
                goto fail;
            }
            *close = '\0';
            val++;
        } else {
            char *hash = strstr(val, " #");
            if (hash) {
                *hash = '\0';
                val = trim(val);
            }
        }
        if (!sec) {
            snprintf(err, errlen, "%s:%d: key '%s' outside any [section]", path, lineno, key);
            goto fail;
        }
        char where[512];
        snprintf(where, sizeof(where), "%s:%d: [%s] %s", path, lineno, sec->name, key);
        char *expanded = expand_env(val, where, err, errlen);
        if (!expanded)
            goto fail;
        int rc = set_entry(sec, key, expanded, lineno);
        free(expanded);
        if (rc < 0)
            goto oom;
    }
    free(copy);
    return cf;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
fail:
    free(copy);
    conf_file_free(cf);
    return NULL;
}

struct conf_file *conf_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *buf = fileio_read(path, &len, err, errlen);
    if (!buf)
        return NULL;
    if (strlen(buf) != len) {
        free(buf);
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        return NULL;
    }
    struct conf_file *cf = conf_parse(buf, path, err, errlen);
    free(buf);
    return cf;
}

void conf_file_free(struct conf_file *cf)
{
    if (!cf)
        return;
    for (size_t i = 0; i < cf->n; i++) {
        struct conf_section *sec = &cf->sections[i];
        for (size_t k = 0; k < sec->n; k++) {
            free(sec->entries[k].key);
            free(sec->entries[k].value);
        }
        free(sec->entries);
        free(sec->name);
    }
    free(cf->sections);
    free(cf->path);
    free(cf->dir);
    free(cf);
}

int conf_override(struct conf_file *cf, const char *section, const char *key,
                  const char *value, char *err, size_t errlen)
{
    struct conf_section *sec = conf_section(cf, section);
    if (!sec && !(sec = add_section(cf, section, 0))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (set_entry(sec, key, value, 0) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int conf_override_arg(struct conf_file *cf, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    const char *dot = strchr(arg, '.');
    if (!eq || !dot || dot > eq || dot == arg || dot + 1 == eq) {
        snprintf(err, errlen, "-o %s: expected section.key=value", arg);
        return -1;
    }
    /* Some sections have a dot of their own: processor.dedupe.window,
     * librdkafka.producer.linger.ms. */
    const char *split = dot;
    size_t head = (size_t)(dot - arg);
    if ((head == 9 && strncmp(arg, "processor", 9) == 0) ||
        (head == 10 && strncmp(arg, "librdkafka", 10) == 0)) {
        const char *dot2 = strchr(dot + 1, '.');
        int two_part = head == 9 ||
                       (dot2 && ((size_t)(dot2 - dot - 1) == 8 &&
                                 (strncmp(dot + 1, "producer", 8) == 0 ||
                                  strncmp(dot + 1, "consumer", 8) == 0)));
        if (two_part && dot2 && dot2 < eq)
            split = dot2;
    }
    char section[128], key[256];
    snprintf(section, sizeof(section), "%.*s", (int)(split - arg), arg);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - split - 1), split + 1);
    return conf_override(cf, section, key, eq + 1, err, errlen);
}

int conf_parse_bool(const char *s, int *b)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *b = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *b = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_scaled(const char *s, int64_t *out, const char *const *units,
                        const double *scale, size_t nunits)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v))
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    double mul = 1;
    if (*end) {
        size_t i;
        for (i = 0; i < nunits; i++)
            if (strcasecmp(end, units[i]) == 0)
                break;
        if (i == nunits)
            return -1;
        mul = scale[i];
    }
    double r = v * mul;
    if (r > 9.0e18)
        return -1;
    *out = (int64_t)r;
    return 0;
}

int conf_parse_duration(const char *s, int64_t *ms)
{
    static const char *const units[] = {"ms", "s", "m", "min", "h", "d"};
    static const double scale[] = {1, 1e3, 6e4, 6e4, 3.6e6, 8.64e7};
    return parse_scaled(s, ms, units, scale, 6);
}

int conf_parse_size(const char *s, int64_t *bytes)
{
    static const char *const units[] = {"b", "kb", "mb", "gb", "kib", "mib", "gib", "k", "m", "g"};
    static const double scale[] = {1, 1e3, 1e6, 1e9, 1024.0, 1048576.0, 1073741824.0,
                                   1024.0, 1048576.0, 1073741824.0};
    return parse_scaled(s, bytes, units, scale, 10);
}

char *conf_resolve_path(const struct conf_file *cf, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/' || !cf || !cf->dir)
        return strdup(path);
    size_t n = strlen(cf->dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", cf->dir, path);
    return p;
}

void conf_list_free(struct conf_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int conf_list_contains(const struct conf_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

static int parse_list(const char *s, struct conf_list *l)
{
    char *copy = strdup(s);
    if (!copy)
        return -1;
    l->items = NULL;
    l->n = 0;
    for (char *tok = copy, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        char *t = trim(tok);
        if (!*t)
            continue;
        char **ni = realloc(l->items, (l->n + 1) * sizeof(*ni));
        if (!ni || !(ni[l->n] = strdup(t))) {
            if (ni)
                l->items = ni;
            conf_list_free(l);
            free(copy);
            return -1;
        }
        l->items = ni;
        l->n++;
    }
    free(copy);
    return 0;
}

static void release_field(const struct conf_key *k, void *out)
{
    char *field = (char *)out + k->offset;
    if (k->type == CONF_STRING || k->type == CONF_PATH) {
        free(*(char **)field);
        *(char **)field = NULL;
    } else if (k->type == CONF_LIST) {
        conf_list_free((struct conf_list *)field);
    }
}

/* Stores one value; returns 0, -1 with a reason in why. */
static int store(const struct conf_key *k, const char *v, const struct conf_file *cf,
                 void *out, const char **why)
{
    char *field = (char *)out + k->offset;
    char *end;

    switch (k->type) {
    case CONF_STRING:
    case CONF_PATH: {
        char *s = k->type == CONF_PATH && *v ? conf_resolve_path(cf, v) : strdup(v);
        if (!s) {
            *why = "out of memory";
            return -1;
        }
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case CONF_INT: {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (end == v || *end || errno) {
            *why = "expected an integer";
            return -1;
        }
        *(int64_t *)field = n;
        return 0;
    }
    case CONF_BOOL:
        if (conf_parse_bool(v, (int *)field) < 0) {
            *why = "expected true or false";
            return -1;
        }
        return 0;
    case CONF_DOUBLE: {
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d)) {
            *why = "expected a number";
            return -1;
        }
        *(double *)field = d;
        return 0;
    }
    case CONF_DURATION:
        if (conf_parse_duration(v, (int64_t *)field) < 0) {
            *why = "expected a duration such as 500ms, 30s, 5m, 72h";
            return -1;
        }
        return 0;
    case CONF_SIZE:
        if (conf_parse_size(v, (int64_t *)field) < 0) {
            *why = "expected a size such as 65536, 64KB, 1MiB";
            return -1;
        }
        return 0;
    case CONF_LIST: {
        struct conf_list l;
        if (parse_list(v, &l) < 0) {
            *why = "out of memory";
            return -1;
        }
        conf_list_free((struct conf_list *)field);
        *(struct conf_list *)field = l;
        return 0;
    }
    }
    *why = "unknown type";
    return -1;
}

int conf_bind(const struct conf_key *keys, struct conf_section *sec,
              const struct conf_file *cf, void *out, char *err, size_t errlen)
{
    const char *why = NULL;
    const char *path = cf && cf->path ? cf->path : "<defaults>";

    for (const struct conf_key *k = keys; k->name; k++) {
        if (k->def && store(k, k->def, cf, out, &why) < 0) {
            snprintf(err, errlen, "built-in default of %s: %s", k->name, why);
            goto fail;
        }
    }
    for (size_t i = 0; sec && i < sec->n; i++) {
        struct conf_entry *e = &sec->entries[i];
        const struct conf_key *k;
        for (k = keys; k->name; k++)
            if (strcmp(k->name, e->key) == 0)
                break;
        if (!k->name) {
            if (e->line)
                snprintf(err, errlen, "%s:%d: [%s] unknown key '%s'", path, e->line,
                         sec->name, e->key);
            else
                snprintf(err, errlen, "command line: unknown key '%s.%s'", sec->name, e->key);
            goto fail;
        }
        if (store(k, e->value, cf, out, &why) < 0) {
            if (e->line)
                snprintf(err, errlen, "%s:%d: [%s] %s: %s", path, e->line, sec->name,
                         e->key, why);
            else
                snprintf(err, errlen, "command line: %s.%s: %s", sec->name, e->key, why);
            goto fail;
        }
        e->used = 1;
    }
    return 0;
fail:
    conf_unbind(keys, out);
    return -1;
}

void conf_unbind(const struct conf_key *keys, void *out)
{
    for (const struct conf_key *k = keys; k->name; k++)
        release_field(k, out);
}

static const char *type_name(enum conf_type t)
{
    switch (t) {
    case CONF_STRING: return "string";
    case CONF_PATH: return "path";
    case CONF_INT: return "integer";
    case CONF_BOOL: return "bool";
    case CONF_DOUBLE: return "number";
    case CONF_DURATION: return "duration";
    case CONF_SIZE: return "size";
    case CONF_LIST: return "list";
    }
    return "?";
}

void conf_describe(FILE *fp, const char *section, const struct conf_key *keys, int markdown)
{
    if (markdown) {
        fprintf(fp, "#### `[%s]`\n\n| key | type | default | description |\n|---|---|---|---|\n",
                section);
        for (const struct conf_key *k = keys; k->name; k++) {
            fprintf(fp, "| `%s` | %s | %s%s%s | ", k->name, type_name(k->type),
                    k->def && *k->def ? "`" : "", k->def && *k->def ? k->def : "(unset)",
                    k->def && *k->def ? "`" : "");
            /* Markdown would eat "<topic name>" as HTML and split on '|'. */
            for (const char *c = k->desc; *c; c++) {
                if (*c == '<')
                    fputs("&lt;", fp);
                else if (*c == '|')
                    fputs("\\|", fp);
                else
                    fputc(*c, fp);
            }
            fputs(" |\n", fp);
        }
        fputc('\n', fp);
        return;
    }
    fprintf(fp, "[%s]\n", section);
    for (const struct conf_key *k = keys; k->name; k++)
        fprintf(fp, "  %-22s %-8s %-16s %s\n", k->name, type_name(k->type),
                k->def && *k->def ? k->def : "-", k->desc);
    fputc('\n', fp);
}
