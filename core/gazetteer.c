/*
 * gazetteer.c - parses .gaz files into an entity table and one phrase_set.
 *
 * A line is "type | role | qid | name | aliases | demonyms | country |
 * as_of" (trailing fields may be left out). Every name, alias and demonym
 * is tokenized with text_tokenize(), exactly as article text is, so the
 * matcher compares token hashes and never re-reads strings.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "gazetteer.h"

#define MAX_FIELDS 8
#define MAX_ALIAS_TOKENS 32

/* Build-time scratch that does not outlive gazetteer_finish(). */
struct build {
    struct tokens toks;
    uint64_t *lower_first;     /* start filter keys of aliases whose first
                                  token may be lower case */
    size_t nlower, cap_lower;
    uint64_t *first;           /* first-token hashes of all aliases */
    size_t nfirst, cap_first;
};

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Entity strings, in chunks that never move (entities point into them). */
struct gaz_pool {
    struct gaz_pool *next;
    size_t used, cap;
    char data[];
};

static char *pool_alloc(struct gazetteer *g, size_t n)
{
    struct gaz_pool *p = g->pool;
    if (!p || p->cap - p->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        p = malloc(sizeof(*p) + cap);
        if (!p)
            return NULL;
        p->next = g->pool;
        p->used = 0;
        p->cap = cap;
        g->pool = p;
    }
    char *s = p->data + p->used;
    p->used += n;
    return s;
}

struct gazetteer *gazetteer_new(void)
{
    struct gazetteer *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->ps = phrase_set_new();
    if (!g->ps) {
        free(g);
        return NULL;
    }
    return g;
}

void gazetteer_free(struct gazetteer *g)
{
    if (!g)
        return;
    while (g->pool) {
        struct gaz_pool *next = g->pool->next;
        free(g->pool);
        g->pool = next;
    }
    free(g->ents);
    free(g->aliases);
    free(g->case_req);
    phrase_set_free(g->ps);
    free(g->start_filter);
    struct build *b = g->build;
    if (b) {
        text_tokens_free(&b->toks);
        free(b->lower_first);
        free(b->first);
        free(b);
    }
    free(g);
}

static struct build *build_of(struct gazetteer *g)
{
    if (!g->build)
        g->build = calloc(1, sizeof(struct build));
    return g->build;
}

/* Trims spaces and tabs in place; returns the trimmed start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Copies the non-empty strings of f[0..n) back to back into one pool
 * block; out[i] is NULL for an empty one. 0 / -1. */
static int pool_strings(struct gazetteer *g, char *const *f, size_t n, char **out,
                        uint32_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        len[i] = (uint32_t)strlen(f[i]);
        total += len[i] ? len[i] + 1 : 0;
    }
    char *p = pool_alloc(g, total ? total : 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (!len[i])
            continue;
        memcpy(p, f[i], len[i] + 1);
        out[i] = p;
        p += len[i] + 1;
    }
    return 0;
}

/*
 * Adds one alias phrase for entity `ent`. Returns 0 (added or harmlessly
 * redundant), -1 on allocation failure or a phrase without words.
 */
static int add_alias(struct gazetteer *g, uint32_t ent, const char *text,
                     enum gaz_alias_kind kind, char *why, size_t whylen)
{
    struct build *b = build_of(g);
    uint64_t hashes[MAX_ALIAS_TOKENS];

    if (!b)
        goto oom;
    if (text_tokenize(text, strlen(text), &b->toks) < 0)
        goto oom;
    size_t n = b->toks.n;
    if (n == 0) {
        snprintf(why, whylen, "\"%s\" has no words", text);
        return -1;
    }
    if (n > MAX_ALIAS_TOKENS) {
        snprintf(why, whylen, "\"%.40s...\" has more than %d words", text,
                 MAX_ALIAS_TOKENS);
        return -1;
    }
    if (grow((void **)&g->aliases, &g->cap_aliases, g->naliases + 1,
             sizeof(*g->aliases)) < 0 ||
        grow((void **)&g->case_req, &g->cap_case, g->ncase + n, 1) < 0)
        goto oom;

    uint32_t idx = (uint32_t)g->naliases;
    struct gaz_alias *a = &g->aliases[idx];
    a->entity = ent;
    a->next = GAZ_NONE;
    a->case_off = (uint32_t)g->ncase;
    a->ntok = (uint8_t)n;
    a->kind = (uint8_t)kind;
    a->type = (uint8_t)g->ents[ent].type;
    a->case_bits = 0;
    for (size_t i = 0; i < n; i++) {
        const struct token *t = &b->toks.toks[i];
        hashes[i] = t->hash;
        uint8_t req = (t->flags & TOK_UPPER) ? GAZ_CASE_UPPER
                      : (t->flags & TOK_CAP) ? GAZ_CASE_CAP
                                             : GAZ_CASE_ANY;
        g->case_req[g->ncase + i] = req;
        if (i < GAZ_CASE_BITS_MAX)
            a->case_bits |= (uint32_t)req << (2 * i);
    }

    int rc = phrase_set_add_hashes(g->ps, hashes, n, idx);
    if (rc < 0)
        goto oom;
    if (rc == 1) {
        /* The phrase exists: chain this alias behind the first one, unless
         * it says the same thing again (Türkiye / Turkiye). */
        struct phrase_match m[MAX_ALIAS_TOKENS];
        size_t nm = phrase_set_match_at(g->ps, &b->toks, 0, m, MAX_ALIAS_TOKENS);
        uint32_t first = GAZ_NONE;
        for (size_t i = 0; i < nm; i++)
            if (m[i].ntok == n)
                first = m[i].value;
        if (first == GAZ_NONE)
            return 0;   /* unreachable phrase (a break inside): nothing to do */
        uint32_t *link = &first;
        for (uint32_t k = first; k != GAZ_NONE; k = g->aliases[k].next) {
            const struct gaz_alias *o = &g->aliases[k];
            if (o->entity == ent && o->kind == kind &&
                memcmp(&g->case_req[o->case_off], &g->case_req[a->case_off], n) == 0)
                return 0;
            link = &g->aliases[k].next;
        }
        *link = idx;
    }
    if (grow((void **)&b->first, &b->cap_first, b->nfirst + 1, sizeof(uint64_t)) < 0)
        goto oom;
    b->first[b->nfirst++] = hashes[0];
    if (g->case_req[a->case_off] == GAZ_CASE_ANY) {
        if (grow((void **)&b->lower_first, &b->cap_lower, b->nlower + 2,
                 sizeof(uint64_t)) < 0)
            goto oom;
        b->lower_first[b->nlower++] = gazetteer_lower_key(hashes[0]);
        b->lower_first[b->nlower++] = gazetteer_pair_key(hashes[0], n > 1 ? hashes[1]
                                                                          : GAZ_ALONE);
    }
    g->naliases++;
    g->ncase += n;
    return 0;
oom:
    snprintf(why, whylen, "out of memory");
    return -1;
}

/* Calls add_alias for each ";"-separated item of list. */
static int add_list(struct gazetteer *g, uint32_t ent, char *list,
                    enum gaz_alias_kind kind, int *had_surname,
                    char *why, size_t whylen)
{
    char *save = NULL;
    for (char *item = strtok_r(list, ";", &save); item;
         item = strtok_r(NULL, ";", &save)) {
        item = trim(item);
        if (!*item)
            continue;
        enum gaz_alias_kind k = kind;
        if (*item == '~') {
            item = trim(item + 1);
            k = GAZ_ALIAS_SURNAME;
            *had_surname = 1;
        }
        if (add_alias(g, ent, item, k, why, whylen) < 0)
            return -1;
        if (kind == GAZ_ALIAS_DEMONYM) {
            /* Ukrainian -> Ukrainians, Iraqi -> Iraqis. */
            size_t l = strlen(item);
            if (l > 2 && l < 120 && (item[l - 1] == 'n' || item[l - 1] == 'i')) {
                char plural[128];
                snprintf(plural, sizeof(plural), "%ss", item);
                if (add_alias(g, ent, plural, kind, why, whylen) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int parse_type(const char *s, enum entity_type *t)
{
    if (strcmp(s, "person") == 0)
        *t = ENTITY_PERSON;
    else if (strcmp(s, "org") == 0 || strcmp(s, "organization") == 0)
        *t = ENTITY_ORGANIZATION;
    else if (strcmp(s, "place") == 0)
        *t = ENTITY_PLACE;
    else
        return -1;
    return 0;
}

static int valid_qid(const char *s)
{
    if (!*s)
        return 1;
    if (s[0] != 'Q' || !s[1])
        return 0;
    for (s++; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int valid_role(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* Parses one non-comment line (modified in place). */
static int add_line(struct gazetteer *g, char *line, char *why, size_t whylen)
{
    char *f[MAX_FIELDS] = {0};
    size_t nf = 0;
    char *p = line;

    for (;;) {
        char *bar = strchr(p, '|');
        if (nf == MAX_FIELDS) {
            snprintf(why, whylen, "more than %d fields", MAX_FIELDS);
            return -1;
        }
        if (bar)
            *bar = '\0';
        f[nf++] = trim(p);
        if (!bar)
            break;
        p = bar + 1;
    }
    for (size_t i = nf; i < MAX_FIELDS; i++)
        f[i] = "";
    if (nf < 4) {
        snprintf(why, whylen, "expected at least 4 fields "
                 "(type | role | qid | name), got %zu", nf);
        return -1;
    }

    enum entity_type type;
    if (parse_type(f[0], &type) < 0) {
        snprintf(why, whylen, "unknown type \"%s\" (person, org or place)", f[0]);
        return -1;
    }
    if (!valid_role(f[1])) {
        snprintf(why, whylen, "bad role \"%s\" (lower case, digits, _)", f[1]);
        return -1;
    }
    if (!valid_qid(f[2])) {
        snprintf(why, whylen, "bad Wikidata id \"%s\" (Q and digits, or empty)", f[2]);
        return -1;
    }
    if (!*f[3]) {
        snprintf(why, whylen, "empty name");
        return -1;
    }

    if (grow((void **)&g->ents, &g->cap_ents, g->nents + 1, sizeof(*g->ents)) < 0)
        goto oom;
    uint32_t ent = (uint32_t)g->nents;
    struct gaz_entity *e = &g->ents[ent];
    memset(e, 0, sizeof(*e));
    e->type = type;
    g->nents++;
    /* In the order emit() copies them: name, id, role. */
    char *const in[5] = {f[3], f[2], f[1], f[6], f[7]};
    char *out[5];
    uint32_t len[5];
    if (pool_strings(g, in, 5, out, len) < 0)
        goto oom;
    e->name = out[0];
    e->id = out[1];
    e->role = out[2];
    e->country = out[3];
    e->as_of = out[4];
    e->name_len = len[0];
    e->id_len = len[1];
    e->role_len = len[2];

    int had_surname = 0;
    if (add_alias(g, ent, f[3], GAZ_ALIAS_NAME, why, whylen) < 0 ||
        add_list(g, ent, f[4], GAZ_ALIAS_NAME, &had_surname, why, whylen) < 0 ||
        add_list(g, ent, f[5], GAZ_ALIAS_DEMONYM, &had_surname, why, whylen) < 0)
        return -1;

    /* A person's last name links later surname-only mentions, unless the
     * file names the surname explicitly (Xi Jinping, Kim Jong Un). */
    if (type == ENTITY_PERSON && !had_surname) {
        const char *last = strrchr(e->name, ' ');
        if (last && strlen(last + 1) > 1 &&
            add_alias(g, ent, last + 1, GAZ_ALIAS_SURNAME, why, whylen) < 0)
            return -1;
    }
    return 0;
oom:
    snprintf(why, whylen, "out of memory");
    return -1;
}

/* 1 if s[0..len) is ASCII without NUL bytes (so valid UTF-8): 8 bytes at
 * a time, several times faster than the full validator on the usual file. */
static int ascii_without_nul(const char *s, size_t len)
{
    const uint64_t lo = 0x0101010101010101ULL, hi = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & hi) || ((w - lo) & ~w & hi))   /* a high bit, or a zero byte */
            return 0;
    }
    for (; i < len; i++)
        if (!s[i] || (s[i] & 0x80))
            return 0;
    return 1;
}

int gazetteer_add_text(struct gazetteer *g, const char *text, size_t len,
                       const char *name, char *err, size_t errlen)
{
    char why[256];
    char *buf = malloc(len + 1);
    int lineno = 0, rc = 0;

    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (!ascii_without_nul(buf, len) && !text_utf8_valid(buf, len, NULL)) {
        snprintf(err, errlen, "%s: not valid UTF-8", name);
        free(buf);
        return -1;
    }
    for (char *line = buf; line; ) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *s = trim(line);
        if (*s && *s != '#' && add_line(g, s, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
            rc = -1;
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    return rc;
}

static int add_file(struct gazetteer *g, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *buf = fileio_read(path, &len, err, errlen);
    if (!buf)
        return -1;
    int rc = gazetteer_add_text(g, buf, len, path, err, errlen);
    if (rc == 0)
        g->nfiles++;
    free(buf);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int gazetteer_add_path(struct gazetteer *g, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(g, path, err, errlen);

    DIR *d = opendir(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;

    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || de->d_name[0] == '.' || strcmp(de->d_name + l - 4, ".gaz") != 0)
            continue;
        if (grow((void **)&names, &cap, n + 1, sizeof(*names)) < 0 ||
            !(names[n] = malloc(strlen(path) + l + 2))) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        sprintf(names[n++], "%s/%s", path, de->d_name);
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: no .gaz files in folder", path);
        goto out;
    }
    qsort(names, n, sizeof(*names), cmp_str);
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_file(g, names[i], err, errlen);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* Sets a key's bits in the start filter. */
static void filter_add(uint64_t *words, size_t mask, uint64_t key)
{
    uint64_t m = gazetteer_filter_mix(key);
    words[GAZ_FILTER_WORD(m, mask)] |= (1ULL << GAZ_FILTER_BIT1(m)) |
                                       (1ULL << GAZ_FILTER_BIT2(m)) |
                                       (1ULL << GAZ_FILTER_BIT3(m));
}

/*
 * Builds the start filter (see gazetteer.h). ~16 bits of array per key
 * puts ~4 keys in a word, 12 of its 64 bits set, so a word that starts
 * no alias passes ~0.5-1% of the time; 8 KB at least (a small gazetteer
 * then passes even fewer), 200 KB for 100k names: it stays in L2.
 */
static uint64_t *make_filter(const struct build *b, size_t *mask)
{
    size_t n = b ? b->nfirst + b->nlower : 0;
    size_t words = 1024;
    while (words * 64 < n * 16)
        words *= 2;
    uint64_t *f = calloc(words, sizeof(uint64_t));
    if (!f)
        return NULL;
    *mask = words - 1;
    for (size_t i = 0; b && i < b->nfirst; i++)
        filter_add(f, *mask, b->first[i]);
    for (size_t i = 0; b && i < b->nlower; i++)
        filter_add(f, *mask, b->lower_first[i]);
    return f;
}

int gazetteer_finish(struct gazetteer *g, char *err, size_t errlen)
{
    struct build *b = g->build;

    free(g->start_filter);
    g->start_filter = make_filter(b, &g->start_filter_mask);
    if (!g->start_filter) {
        snprintf(err, errlen, "gazetteer: out of memory");
        return -1;
    }
    if (b) {
        text_tokens_free(&b->toks);
        free(b->lower_first);
        free(b->first);
        free(b);
        g->build = NULL;
    }
    return 0;
}

struct gazetteer *gazetteer_load(const char *const *paths, size_t npaths,
                                 char *err, size_t errlen)
{
    struct gazetteer *g = gazetteer_new();

    if (!g) {
        snprintf(err, errlen, "gazetteer: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < npaths; i++) {
        if (gazetteer_add_path(g, paths[i], err, errlen) < 0) {
            gazetteer_free(g);
            return NULL;
        }
    }
    if (g->nents == 0) {
        snprintf(err, errlen, "gazetteer: no entries loaded");
        gazetteer_free(g);
        return NULL;
    }
    if (gazetteer_finish(g, err, errlen) < 0) {
        gazetteer_free(g);
        return NULL;
    }
    return g;
}
