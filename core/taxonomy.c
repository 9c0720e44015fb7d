/*
 * taxonomy.c - loads the topic taxonomy (see taxonomy.h, docs/topics.md).
 *
 * A small line parser: `[section]` headers, `key = value` lines, `#`
 * comments. Everything is checked while loading (names, codes, numbers,
 * phrases that could never match, duplicates, unknown contexts) so a bad
 * edit fails the reload with a file:line message instead of silently
 * changing what gets routed where.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"   /* ws_strndup */
#include "fileio.h"
#include "taxonomy.h"
#include "text.h"

#define MAX_PHRASE_TOKENS 32
#define MAX_EXPANSIONS    16

enum section { SEC_NONE, SEC_SCORING, SEC_CONTEXT, SEC_TOPIC };

/* A topic's `context = NAME DAMP` reference, resolved once every context
 * is known (contexts may be defined after the topics that use them). */
struct ctx_ref {
    size_t topic;
    char *name;
    double damp;
    int line;
};

struct parser {
    struct taxonomy *tax;
    const char *path;
    int line;
    char *err;
    size_t errlen;
    enum section sec;
    size_t cur;                 /* current topic or context */
    struct ctx_ref *refs;
    size_t nrefs;
};

static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->line > 0)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->line, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *trim(end) != '\0' || errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

int taxonomy_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TAXONOMY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int taxonomy_topic_index(const struct taxonomy *tax, const char *name)
{
    for (size_t i = 0; i < tax->ntopics; i++)
        if (strcmp(tax->topics[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int context_index(const struct taxonomy *tax, const char *name)
{
    for (size_t i = 0; i < tax->ncontexts; i++)
        if (strcmp(tax->contexts[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* realloc for arrays grown one element at a time. */
static int grow(void **arr, size_t n, size_t elem)
{
    if (n && (n & (n - 1)))
        return 0;
    void *q = realloc(*arr, (n ? n * 2 : 4) * elem);
    if (!q)
        return -1;
    *arr = q;
    return 0;
}

/* ------------------------------------------------------------ phrases */

static const char *target_name(const struct taxonomy *tax, const struct taxonomy_weight *w)
{
    return w->is_context ? tax->contexts[w->index].name : tax->topics[w->index].name;
}

/* Adds one phrase (no suffix groups left) for a target. */
static int add_phrase_one(struct parser *p, const char *text, uint32_t index,
                          int is_context, double weight, int support)
{
    struct taxonomy *tax = p->tax;
    struct tokens toks = {0};
    uint64_t hashes[MAX_PHRASE_TOKENS];
    int rc = -1;

    if (text_tokenize(text, strlen(text), &toks) < 0) {
        fail(p, "out of memory");
        goto out;
    }
    if (toks.n == 0) {
        fail(p, "phrase \"%s\" has no words", text);
        goto out;
    }
    if (toks.n > MAX_PHRASE_TOKENS) {
        fail(p, "phrase \"%s\" is longer than %d words", text, MAX_PHRASE_TOKENS);
        goto out;
    }
    for (size_t i = 0; i < toks.n; i++) {
        /* The matcher stops at punctuation and after a possessive, so such
         * a phrase could never match: say so rather than ignore it. */
        if (i > 0 && (toks.toks[i].flags & TOK_BREAK)) {
            fail(p, "phrase \"%s\" contains punctuation and can never match", text);
            goto out;
        }
        if (i + 1 < toks.n && (toks.toks[i].flags & TOK_POSS)) {
            fail(p, "phrase \"%s\" has a possessive inside and can never match", text);
            goto out;
        }
        hashes[i] = toks.toks[i].hash;
    }

    /* Same token sequence already known? Matching the phrase against its
     * own tokens finds it. */
    struct phrase_match m[MAX_PHRASE_TOKENS];
    size_t nm = phrase_set_match_at(tax->set, &toks, 0, m, MAX_PHRASE_TOKENS);
    uint32_t idx = UINT32_MAX;
    for (size_t i = 0; i < nm; i++)
        if (m[i].ntok == toks.n)
            idx = m[i].value;

    if (idx == UINT32_MAX) {
        if (grow((void **)&tax->phrases, tax->nphrases, sizeof(*tax->phrases)) < 0) {
            fail(p, "out of memory");
            goto out;
        }
        struct taxonomy_phrase *ph = &tax->phrases[tax->nphrases];
        memset(ph, 0, sizeof(*ph));
        ph->text = strdup(text);
        ph->ntok = toks.n;
        if (!ph->text ||
            phrase_set_add_hashes(tax->set, hashes, toks.n, (uint32_t)tax->nphrases) < 0) {
            free(ph->text);
            fail(p, "out of memory");
            goto out;
        }
        idx = (uint32_t)tax->nphrases++;
        if (toks.n > tax->longest)
            tax->longest = toks.n;
    }

    struct taxonomy_phrase *ph = &tax->phrases[idx];
    for (size_t i = 0; i < ph->nweights; i++) {
        const struct taxonomy_weight *w = &ph->weights[i];
        if (w->index == index && (int)w->is_context == is_context) {
            fail(p, "\"%s\" is already listed for %s (line %d, as \"%s\")", text,
                 target_name(tax, w), w->line, ph->text);
            goto out;
        }
    }
    if (grow((void **)&ph->weights, ph->nweights, sizeof(*ph->weights)) < 0) {
        fail(p, "out of memory");
        goto out;
    }
    ph->weights[ph->nweights++] = (struct taxonomy_weight){
        .index = index, .is_context = (uint32_t)is_context, .support = (uint32_t)support,
        .weight = weight, .line = p->line,
    };
    rc = 0;
out:
    text_tokens_free(&toks);
    return rc;
}

/* Expands optional suffix groups ("strike(s)" -> "strike", "strikes"),
 * then adds each form. */
static int add_phrase(struct parser *p, const char *text, uint32_t index,
                      int is_context, double weight, int support, int *budget)
{
    const char *open = strchr(text, '(');
    if (!open) {
        if (--*budget < 0)
            return fail(p, "\"%s\": too many suffix groups", text);
        return add_phrase_one(p, text, index, is_context, weight, support);
    }
    const char *close = strchr(open, ')');
    if (!close || close == open + 1 || memchr(open + 1, ' ', (size_t)(close - open - 1)))
        return fail(p, "bad suffix group in \"%s\" (write word(suffix))", text);

    size_t pre = (size_t)(open - text), suf = (size_t)(close - open - 1);
    size_t rest = strlen(close + 1);
    char *buf = malloc(pre + suf + rest + 1);
    if (!buf)
        return fail(p, "out of memory");
    memcpy(buf, text, pre);
    memcpy(buf + pre, close + 1, rest + 1);
    int rc = add_phrase(p, buf, index, is_context, weight, support, budget);
    if (rc == 0) {
        memcpy(buf + pre, open + 1, suf);
        memcpy(buf + pre + suf, close + 1, rest + 1);
        rc = add_phrase(p, buf, index, is_context, weight, support, budget);
    }
    free(buf);
    return rc;
}

/* Calls fn on each trimmed, non-empty comma-separated item of list. */
static int each_item(struct parser *p, char *list,
                     int (*fn)(struct parser *, char *, void *), void *arg)
{
    int any = 0;
    for (char *save = NULL, *it = strtok_r(list, ",", &save); it;
         it = strtok_r(NULL, ",", &save)) {
        it = trim(it);
        if (!*it)
            continue;
        any = 1;
        if (fn(p, it, arg) < 0)
            return -1;
    }
    if (!any)
        return fail(p, "empty list");
    return 0;
}

struct terms_arg {
    double weight;
    int support;
};

static int term_item(struct parser *p, char *item, void *arg)
{
    const struct terms_arg *ta = arg;
    int budget = MAX_EXPANSIONS;
    return add_phrase(p, item, (uint32_t)p->cur, p->sec == SEC_CONTEXT, ta->weight,
                      ta->support, &budget);
}

static int entity_item(struct parser *p, char *item, void *arg)
{
    const struct terms_arg *ta = arg;
    struct taxonomy_topic *t = &p->tax->topics[p->cur];
    struct taxonomy_entity_cue cue = {.weight = ta->weight};
    const char *v = item;

    if (strncmp(item, "role:", 5) == 0) {
        cue.kind = TAXONOMY_CUE_ROLE;
        v = trim(item + 5);
    } else if (strncmp(item, "name:", 5) == 0) {
        cue.kind = TAXONOMY_CUE_NAME;
        v = trim(item + 5);
    } else if (item[0] == 'Q' && item[1] && strspn(item + 1, "0123456789") == strlen(item + 1)) {
        cue.kind = TAXONOMY_CUE_QID;
    } else {
        return fail(p, "entity cue \"%s\" is neither a QID (Q7184), role:ROLE nor name:NAME",
                    item);
    }
    if (!*v)
        return fail(p, "empty entity cue \"%s\"", item);
    for (size_t i = 0; i < t->ncues; i++)
        if (t->cues[i].kind == cue.kind && strcmp(t->cues[i].value, v) == 0)
            return fail(p, "entity cue \"%s\" listed twice", item);
    if (grow((void **)&t->cues, t->ncues, sizeof(*t->cues)) < 0 || !(cue.value = strdup(v)))
        return fail(p, "out of memory");
    t->cues[t->ncues++] = cue;
    return 0;
}

static int iptc_item(struct parser *p, char *item, void *arg)
{
    struct taxonomy_topic *t = arg;
    if (strlen(item) != 8 || strspn(item, "0123456789") != 8)
        return fail(p, "IPTC code \"%s\" is not 8 digits", item);
    for (size_t i = 0; i < t->niptc; i++)
        if (strcmp(t->iptc[i], item) == 0)
            return fail(p, "IPTC code %s listed twice", item);
    char *c = strdup(item);
    if (!c || grow((void **)&t->iptc, t->niptc, sizeof(*t->iptc)) < 0) {
        free(c);
        return fail(p, "out of memory");
    }
    t->iptc[t->niptc++] = c;
    return 0;
}

static int context_item(struct parser *p, char *item, void *arg)
{
    (void)arg;
    char *sp = item + strcspn(item, " \t");
    if (!*sp)
        return fail(p, "context \"%s\": write NAME DAMP (e.g. sports 0.9)", item);
    *sp++ = '\0';
    double damp;
    if (parse_number(trim(sp), &damp) < 0 || damp < 0 || damp > 1)
        return fail(p, "context %s: damp must be a number in [0,1]", item);
    for (size_t i = 0; i < p->nrefs; i++)
        if (p->refs[i].topic == p->cur && strcmp(p->refs[i].name, item) == 0)
            return fail(p, "context %s listed twice", item);
    char *name = strdup(item);
    if (!name || grow((void **)&p->refs, p->nrefs, sizeof(*p->refs)) < 0) {
        free(name);
        return fail(p, "out of memory");
    }
    p->refs[p->nrefs++] = (struct ctx_ref){p->cur, name, damp, p->line};
    return 0;
}

/* ------------------------------------------------------------ sections */

static int open_section(struct parser *p, char *hdr)
{
    char *kind = hdr, *name = hdr + strcspn(hdr, " \t");
    if (*name)
        *name++ = '\0';
    name = trim(name);
    struct taxonomy *tax = p->tax;

    if (strcmp(kind, "scoring") == 0) {
        if (*name)
            return fail(p, "[scoring] takes no name");
        p->sec = SEC_SCORING;
        return 0;
    }
    int is_topic = strcmp(kind, "topic") == 0;
    if (!is_topic && strcmp(kind, "context") != 0)
        return fail(p, "unknown section [%s] (expected scoring, context NAME or topic NAME)",
                    kind);
    if (!taxonomy_name_valid(name))
        return fail(p, "%s name \"%s\" must be 1-%d characters of a-z 0-9 . _ -", kind, name,
                    TAXONOMY_NAME_MAX);
    if (is_topic) {
        int dup = taxonomy_topic_index(tax, name);
        if (dup >= 0)
            return fail(p, "topic %s already defined at line %d", name,
                        tax->topics[dup].line); // NOLINT(clang-analyzer-core.NullDereference): dup >= 0 means topics is set
        if (grow((void **)&tax->topics, tax->ntopics, sizeof(*tax->topics)) < 0)
            return fail(p, "out of memory");
        struct taxonomy_topic *t = &tax->topics[tax->ntopics];
        memset(t, 0, sizeof(*t));
        t->threshold = NAN;   /* defaults from [scoring], applied at the end */
        t->scale = NAN;
        t->line = p->line;
        if (!(t->name = strdup(name)))
            return fail(p, "out of memory");
        p->cur = tax->ntopics++;
        p->sec = SEC_TOPIC;
    } else {
        int dup = context_index(tax, name);
        if (dup >= 0)
            return fail(p, "context %s already defined at line %d", name,
                        tax->contexts[dup].line); // NOLINT(clang-analyzer-core.NullDereference): dup >= 0 means contexts is set
        if (grow((void **)&tax->contexts, tax->ncontexts, sizeof(*tax->contexts)) < 0)
            return fail(p, "out of memory");
        struct taxonomy_context *c = &tax->contexts[tax->ncontexts];
        c->line = p->line;
        if (!(c->name = strdup(name)))
            return fail(p, "out of memory");
        p->cur = tax->ncontexts++;
        p->sec = SEC_CONTEXT;
    }
    return 0;
}

struct param_def {
    const char *name;
    size_t offset;
    double min, max;
    int integer;
};

#define P(f) offsetof(struct taxonomy_params, f)
static const struct param_def param_defs[] = {
    {"head_weight", P(head_weight), 0, 100, 0},
    {"lead_weight", P(lead_weight), 0, 100, 0},
    {"lead_tokens", P(lead_tokens), 0, 100000, 1},
    {"repeat_decay", P(repeat_decay), 0, 1, 0},
    {"length_ref", P(length_ref), 1, 1e9, 0},
    {"length_alpha", P(length_alpha), 0, 4, 0},
    {"scale", P(scale), 1e-6, 1e9, 0},
    {"context_scale", P(context_scale), 1e-6, 1e9, 0},
    {"threshold", P(threshold), 1e-6, 1, 0},
    {NULL, 0, 0, 0, 0},
};
#undef P

static int scoring_key(struct parser *p, const char *key, const char *val)
{
    for (const struct param_def *d = param_defs; d->name; d++) {
        if (strcmp(d->name, key) != 0)
            continue;
        double v;
        if (parse_number(val, &v) < 0 || v < d->min || v > d->max ||
            (d->integer && v != floor(v)))
            return fail(p, "%s must be %s in [%g, %g]", key,
                        d->integer ? "an integer" : "a number", d->min, d->max);
        char *field = (char *)&p->tax->params + d->offset;
        if (d->integer)
            *(size_t *)(void *)field = (size_t)v;
        else
            *(double *)(void *)field = v;
        return 0;
    }
    return fail(p, "unknown key \"%s\" in [scoring]", key);
}

/* "terms 2.5" -> weight. */
static int weighted_key(struct parser *p, const char *key, const char *word, double *w)
{
    size_t n = strlen(word);
    if (strncmp(key, word, n) != 0 || !isspace((unsigned char)key[n]))
        return 0;
    if (parse_number(key + n, w) < 0)
        return fail(p, "\"%s\": the weight after %s must be a number", key, word);
    if (*w == 0 || fabs(*w) > 1000)
        return fail(p, "\"%s\": weight must be non-zero and at most 1000 in size", key);
    return 1;
}

static int section_key(struct parser *p, char *key, char *val)
{
    struct taxonomy *tax = p->tax;
    double w;
    int r;

    if (p->sec == SEC_NONE)
        return fail(p, "\"%s\" outside a section", key);
    if (p->sec == SEC_SCORING)
        return scoring_key(p, key, val);

    if ((r = weighted_key(p, key, "terms", &w)) != 0) {
        if (r < 0)
            return -1;
        if (p->sec == SEC_CONTEXT && w < 0)
            return fail(p, "context weights must be positive");
        struct terms_arg ta = {w, 0};
        return each_item(p, val, term_item, &ta);
    }
    if (p->sec == SEC_CONTEXT)
        return fail(p, "unknown key \"%s\" in [context %s] (only terms W)", key,
                    tax->contexts[p->cur].name);

    struct taxonomy_topic *t = &tax->topics[p->cur];
    /* Supporting vocabulary: words that go with the topic but also with
     * much else ("troops", "army"). They raise the score of a story that
     * has core evidence and cannot make one alone (see require). */
    if ((r = weighted_key(p, key, "support", &w)) != 0) {
        if (r < 0)
            return -1;
        if (w < 0)
            return fail(p, "support weights must be positive (use terms W < 0 for a negative cue)");
        struct terms_arg ta = {w, 1};
        return each_item(p, val, term_item, &ta);
    }
    if ((r = weighted_key(p, key, "entity", &w)) != 0) {
        if (r < 0)
            return -1;
        struct terms_arg ta = {w, 0};
        return each_item(p, val, entity_item, &ta);
    }
    if (strcmp(key, "label") == 0) {
        free(t->label);
        return (t->label = strdup(val)) ? 0 : fail(p, "out of memory");
    }
    if (strcmp(key, "iptc") == 0)
        return each_item(p, val, iptc_item, t);
    if (strcmp(key, "context") == 0)
        return each_item(p, val, context_item, NULL);
    if (strcmp(key, "threshold") == 0) {
        if (parse_number(val, &t->threshold) < 0 || !(t->threshold > 0 && t->threshold <= 1))
            return fail(p, "threshold must be a number in (0,1]");
        return 0;
    }
    if (strcmp(key, "scale") == 0) {
        if (parse_number(val, &t->scale) < 0 || !(t->scale > 0))
            return fail(p, "scale must be a positive number");
        return 0;
    }
    if (strcmp(key, "require") == 0) {
        if (parse_number(val, &t->require) < 0 || t->require < 0 || t->require > 1e6)
            return fail(p, "require must be a number in [0, 1e6]");
        return 0;
    }
    return fail(p, "unknown key \"%s\" in [topic %s]", key, t->name);
}

static int parse_line(struct parser *p, char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    line = trim(line);
    if (!*line)
        return 0;
    if (*line == '[') {
        char *end = strchr(line, ']');
        if (!end || *trim(end + 1))
            return fail(p, "malformed section header");
        *end = '\0';
        return open_section(p, trim(line + 1));
    }
    char *eq = strchr(line, '=');
    if (!eq)
        return fail(p, "expected key = value");
    *eq = '\0';
    char *key = trim(line), *val = trim(eq + 1);
    if (!*key)
        return fail(p, "missing key before '='");
    if (!*val)
        return fail(p, "missing value for %s", key);
    return section_key(p, key, val);
}

/* Checks that need the whole file: defaults, context references, topics
 * that could never fire. */
static int finish(struct parser *p)
{
    struct taxonomy *tax = p->tax;
    if (tax->ntopics == 0)
        return fail(p, "no [topic NAME] section");

    for (size_t i = 0; i < tax->ntopics; i++) {
        struct taxonomy_topic *t = &tax->topics[i];
        if (isnan(t->threshold))
            t->threshold = tax->params.threshold;
        if (isnan(t->scale))
            t->scale = tax->params.scale;
        if (tax->ncontexts && !(t->damp = calloc(tax->ncontexts, sizeof(*t->damp))))
            return fail(p, "out of memory");
    }
    for (size_t i = 0; i < p->nrefs; i++) {
        int c = context_index(tax, p->refs[i].name);
        if (c < 0) {
            p->line = p->refs[i].line;
            return fail(p, "unknown context %s", p->refs[i].name);
        }
        tax->topics[p->refs[i].topic].damp[c] = p->refs[i].damp;
    }

    /* A topic needs some positive evidence to be reachable; with a
     * `require`, some positive core (non-support) evidence. */
    char *reach = calloc(tax->ntopics, 1);
    if (!reach)
        return fail(p, "out of memory");
    for (size_t i = 0; i < tax->nphrases; i++)
        for (size_t j = 0; j < tax->phrases[i].nweights; j++) {
            const struct taxonomy_weight *w = &tax->phrases[i].weights[j];
            if (!w->is_context && w->weight > 0 &&
                !(w->support && tax->topics[w->index].require > 0))
                reach[w->index] = 1;
        }
    for (size_t i = 0; i < tax->ntopics; i++)
        for (size_t j = 0; j < tax->topics[i].ncues; j++)
            if (tax->topics[i].cues[j].weight > 0)
                reach[i] = 1;
    for (size_t i = 0; i < tax->ntopics; i++) {
        if (!reach[i]) {
            p->line = tax->topics[i].line;
            free(reach);
            return fail(p, "topic %s has no positive terms or entity cues%s", tax->topics[i].name,
                        tax->topics[i].require > 0 ? " outside support (require needs them)" : "");
        }
    }
    free(reach);
    return 0;
}

struct taxonomy *taxonomy_parse(const char *text, size_t len, const char *path,
                                char *err, size_t errlen)
{
    struct taxonomy *tax = calloc(1, sizeof(*tax));
    struct parser p = {.tax = tax, .path = path, .err = err, .errlen = errlen};
    char *copy = NULL;

    if (!tax || !(tax->set = phrase_set_new()) || !(tax->path = strdup(path)) ||
        !(copy = ws_strndup(text, len))) {
        fail(&p, "out of memory");
        goto fail;
    }
    if (memchr(text, '\0', len)) {
        fail(&p, "contains a NUL byte");
        goto fail;
    }
    tax->params = (struct taxonomy_params){
        .head_weight = 2.0, .lead_weight = 1.5, .lead_tokens = 60, .repeat_decay = 0.5,
        .length_ref = 250, .length_alpha = 0.5, .scale = 5.0, .context_scale = 4.0,
        .threshold = 0.5,
    };

    char *line = copy;
    while (line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        p.line++;
        if (parse_line(&p, line) < 0)
            goto fail;
        line = nl ? nl + 1 : NULL;
    }
    p.line = 0;
    if (finish(&p) < 0)
        goto fail;
    for (size_t i = 0; i < p.nrefs; i++)
        free(p.refs[i].name);
    free(p.refs);
    free(copy);
    return tax;
fail:
    for (size_t i = 0; i < p.nrefs; i++)
        free(p.refs[i].name);
    free(p.refs);
    free(copy);
    taxonomy_free(tax);
    return NULL;
}

struct taxonomy *taxonomy_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *buf = fileio_read(path, &len, err, errlen);
    if (!buf)
        return NULL;
    size_t bad_at;
    if (!text_utf8_valid(buf, len, &bad_at)) {
        /* Report the line of the first bad byte. */
        int line = 1;
        for (size_t i = 0; i < bad_at; i++)
            line += buf[i] == '\n';
        free(buf);
        snprintf(err, errlen, "%s:%d: not valid UTF-8 (or a NUL byte)", path, line);
        return NULL;
    }
    struct taxonomy *tax = taxonomy_parse(buf, len, path, err, errlen);
    free(buf);
    return tax;
}

void taxonomy_free(struct taxonomy *tax)
{
    if (!tax)
        return;
    for (size_t i = 0; i < tax->ntopics; i++) {
        struct taxonomy_topic *t = &tax->topics[i];
        free(t->name);
        free(t->label);
        for (size_t j = 0; j < t->niptc; j++)
            free(t->iptc[j]);
        free(t->iptc);
        free(t->damp);
        for (size_t j = 0; j < t->ncues; j++)
            free(t->cues[j].value);
        free(t->cues);
    }
    free(tax->topics);
    for (size_t i = 0; i < tax->ncontexts; i++)
        free(tax->contexts[i].name);
    free(tax->contexts);
    for (size_t i = 0; i < tax->nphrases; i++) {
        free(tax->phrases[i].text);
        free(tax->phrases[i].weights);
    }
    free(tax->phrases);
    phrase_set_free(tax->set);
    free(tax->path);
    free(tax);
}
