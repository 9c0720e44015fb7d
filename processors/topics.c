/*
 * topics.c - topic classification (war, alliances, diplomacy... whatever
 * the taxonomy file defines; core/taxonomy.h, docs/topics.md).
 *
 * One pass over the record's shared token streams with the taxonomy's
 * phrase trie, plus a look at rec->entities, gives each topic weighted
 * evidence; contexts (sports, markets...) damp it; a saturating function
 * turns it into a score in [0,1]. Topics at or above their threshold are
 * added with their IPTC codes and the evidence that weighed most.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "processor.h"
#include "../core/taxonomy.h"

struct topics_conf {
    char *taxonomy;
    int64_t max_evidence;
    double threshold;
    int use_entities;
};

static const struct conf_key topics_keys[] = {
    {"taxonomy", CONF_PATH, "taxonomy.conf", offsetof(struct topics_conf, taxonomy),
     "taxonomy file (topics, phrases, cues, thresholds); re-read on SIGHUP"},
    {"max_evidence", CONF_INT, "5", offsetof(struct topics_conf, max_evidence),
     "most evidence items (terms, entities) listed per topic, 0-64"},
    {"threshold", CONF_DOUBLE, "0", offsetof(struct topics_conf, threshold),
     "if in (0,1], replaces every topic's threshold from the taxonomy; 0 = use the file"},
    {"use_entities", CONF_BOOL, "true", offsetof(struct topics_conf, use_entities),
     "count the taxonomy's entity cues against rec->entities"},
    {NULL, 0, NULL, 0, NULL},
};

/* One piece of evidence for one topic while a record is scored. */
struct item {
    const char *text;
    double weight;
};

/* An entity cue that fired: topic, contribution, entity name. */
struct entity_hit {
    size_t topic;
    double weight;
    const char *name;
};

#define REPEAT_MAX 16

struct topics {
    const struct topics_conf *conf;
    struct taxonomy *tax;

    /* Per-record scratch, sized for tax (see alloc_scratch). */
    double *mass;        /* per phrase: sum of place x repeat factors */
    uint16_t *count;     /* per phrase: occurrences so far */
    uint32_t *touched;   /* phrases seen in this record */
    size_t ntouched;
    double *evidence;    /* per topic */
    double *core;        /* per topic: evidence without support terms */
    double *ctx;         /* per context */
    struct entity_hit *ehits;
    size_t nehits, ehits_cap;
    struct item *items;  /* evidence candidates of one topic */
    size_t items_cap;
    double repeat[REPEAT_MAX];

    /* Counters. */
    uint64_t records;
    uint64_t tagged;
    uint64_t errors;
    uint64_t reloads;
    uint64_t reload_failures;
    uint64_t *assigned;  /* per topic of tax */
};

struct scratch {
    double *mass;
    uint16_t *count;
    uint32_t *touched;
    double *evidence;
    double *core;
    double *ctx;
    uint64_t *assigned;
};

static void scratch_free(struct scratch *s)
{
    free(s->mass);
    free(s->count);
    free(s->touched);
    free(s->evidence);
    free(s->core);
    free(s->ctx);
    free(s->assigned);
}

static int scratch_alloc(const struct taxonomy *tax, struct scratch *s)
{
    size_t np = tax->nphrases ? tax->nphrases : 1;
    memset(s, 0, sizeof(*s));
    s->mass = calloc(np, sizeof(*s->mass));
    s->count = calloc(np, sizeof(*s->count));
    s->touched = calloc(np, sizeof(*s->touched));
    s->evidence = calloc(tax->ntopics, sizeof(*s->evidence));
    s->core = calloc(tax->ntopics, sizeof(*s->core));
    s->ctx = calloc(tax->ncontexts + 1, sizeof(*s->ctx));
    s->assigned = calloc(tax->ntopics, sizeof(*s->assigned));
    if (!s->mass || !s->count || !s->touched || !s->evidence || !s->core || !s->ctx ||
        !s->assigned) {
        scratch_free(s);
        return -1;
    }
    return 0;
}

/* Installs a new taxonomy with its scratch; keeps per-topic counters of
 * topics that survive by name. Takes ownership of tax and s. */
static void install(struct topics *st, struct taxonomy *tax, struct scratch *s)
{
    if (st->tax) {
        for (size_t i = 0; i < tax->ntopics; i++) {
            int old = taxonomy_topic_index(st->tax, tax->topics[i].name);
            if (old >= 0)
                s->assigned[i] = st->assigned[old];
        }
    }
    struct scratch old = {st->mass,     st->count, st->touched, st->evidence,
                          st->core,     st->ctx,   st->assigned};
    scratch_free(&old);
    taxonomy_free(st->tax);

    st->tax = tax;
    st->mass = s->mass;
    st->count = s->count;
    st->touched = s->touched;
    st->evidence = s->evidence;
    st->core = s->core;
    st->ctx = s->ctx;
    st->assigned = s->assigned;
    st->ntouched = 0;
    st->repeat[0] = 1.0;
    for (size_t k = 1; k < REPEAT_MAX; k++)
        st->repeat[k] = st->repeat[k - 1] * tax->params.repeat_decay;
}

/* Builds the taxonomy from the configured file and swaps it in; on any
 * failure the current one (if any) stays. */
static int load(struct topics *st, char *err, size_t errlen)
{
    if (!st->conf->taxonomy || !*st->conf->taxonomy) {
        snprintf(err, errlen, "topics: no taxonomy file configured");
        return -1;
    }
    struct taxonomy *tax = taxonomy_load(st->conf->taxonomy, err, errlen);
    if (!tax)
        return -1;
    struct scratch s;
    if (scratch_alloc(tax, &s) < 0) {
        taxonomy_free(tax);
        snprintf(err, errlen, "topics: out of memory");
        return -1;
    }
    install(st, tax, &s);
    return 0;
}

static void topics_destroy(void *state)
{
    struct topics *st = state;
    if (!st)
        return;
    struct scratch s = {st->mass, st->count, st->touched, st->evidence,
                        st->core, st->ctx,   st->assigned};
    scratch_free(&s);
    taxonomy_free(st->tax);
    free(st->ehits);
    free(st->items);
    free(st);
}

static int topics_init(void **state, const void *conf, const struct processor_env *env,
                       char *err, size_t errlen)
{
    const struct topics_conf *c = conf;
    (void)env;
    if (c->max_evidence < 0 || c->max_evidence > 64) {
        snprintf(err, errlen, "topics: max_evidence must be in 0..64");
        return -1;
    }
    if (c->threshold < 0 || c->threshold > 1) {
        snprintf(err, errlen, "topics: threshold must be 0 (off) or in (0,1]");
        return -1;
    }
    struct topics *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "topics: out of memory");
        return -1;
    }
    st->conf = c;
    if (load(st, err, errlen) < 0) {
        topics_destroy(st);
        return -1;
    }
    *state = st;
    return 0;
}

static int topics_reload(void *state, char *err, size_t errlen)
{
    struct topics *st = state;
    if (load(st, err, errlen) < 0) {
        st->reload_failures++;
        return -1;
    }
    st->reloads++;
    return 0;
}

/* ------------------------------------------------------------ scoring */

/* Walks a token stream; at each position the longest phrase wins and its
 * tokens are consumed ("price war" hides "war"). */
static void scan(struct topics *st, const struct tokens *t, double place, double lead_place,
                 size_t lead_end)
{
    const struct taxonomy *tax = st->tax;
    struct phrase_match m[32];
    size_t max = tax->longest < 32 ? tax->longest : 32;
    const uint64_t *first = phrase_set_first(tax->set);

    for (size_t i = 0; i < t->n;) {
        if (!phrase_may_start(first, t->toks[i].hash)) {   /* most tokens: no call */
            i++;
            continue;
        }
        size_t nm = phrase_set_match_at(tax->set, t, i, m, max ? max : 1);
        if (nm == 0) {
            i++;
            continue;
        }
        uint32_t ph = m[nm - 1].value;
        uint16_t k = st->count[ph];
        if (k == 0)
            st->touched[st->ntouched++] = ph;
        if (k < UINT16_MAX)
            st->count[ph] = k + 1;
        st->mass[ph] += (i < lead_end ? lead_place : place) *
                        (k < REPEAT_MAX ? st->repeat[k] : 0.0);
        i += m[nm - 1].ntok;
    }
}

/* End of the lead: the first paragraph, at most lead_tokens tokens. */
static size_t lead_end(const struct tokens *t, size_t lead_tokens)
{
    size_t end = t->n < lead_tokens ? t->n : lead_tokens;
    for (size_t i = 1; i < end; i++)
        if (t->toks[i].flags & TOK_PARA_START)
            return i;
    return end;
}

static int cue_matches(const struct taxonomy_entity_cue *cue, const struct entity *e)
{
    switch (cue->kind) {
    case TAXONOMY_CUE_QID:
        return e->id && strcmp(e->id, cue->value) == 0;
    case TAXONOMY_CUE_NAME:
        return e->name && strcasecmp(e->name, cue->value) == 0;
    case TAXONOMY_CUE_ROLE:
        return e->role && strcmp(e->role, cue->value) == 0;
    }
    return 0;
}

static int entity_hits(struct topics *st, const struct record *rec)
{
    const struct taxonomy *tax = st->tax;
    st->nehits = 0;
    for (size_t i = 0; i < rec->nentities; i++) {
        const struct entity *e = &rec->entities[i];
        double place = e->in_headline ? tax->params.head_weight : 1.0;
        /* Body mentions, plus the headline as one more (as before
         * entities' mentions stopped counting it). */
        uint32_t n = e->mentions + (e->in_headline ? 1 : 0);
        if (n == 0)
            n = 1;
        double rep = 0;
        for (uint32_t k = 0; k < n && k < REPEAT_MAX; k++)
            rep += st->repeat[k];
        for (size_t t = 0; t < tax->ntopics; t++) {
            const struct taxonomy_topic *tp = &tax->topics[t];
            for (size_t c = 0; c < tp->ncues; c++) {
                if (!cue_matches(&tp->cues[c], e))
                    continue;
                if (st->nehits == st->ehits_cap) {
                    size_t cap = st->ehits_cap ? st->ehits_cap * 2 : 16;
                    void *q = realloc(st->ehits, cap * sizeof(*st->ehits));
                    if (!q)
                        return -1;
                    st->ehits = q;
                    st->ehits_cap = cap;
                }
                double w = tp->cues[c].weight * place * rep;
                st->ehits[st->nehits++] = (struct entity_hit){t, w, e->name};
                st->evidence[t] += w;
                st->core[t] += w;
                break;   /* first matching cue only: the QID, name and
                          * role of one entity do not add up */
            }
        }
    }
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    return (x->weight < y->weight) - (x->weight > y->weight);
}

/* Fills hit->evidence with the strongest positive evidence for topic t. */
static int add_evidence(struct topics *st, size_t t, struct topic_hit *hit)
{
    const struct taxonomy *tax = st->tax;
    size_t n = 0, need = st->ntouched + st->nehits;
    if (need > st->items_cap) {
        void *q = realloc(st->items, need * sizeof(*st->items));
        if (!q)
            return -1;
        st->items = q;
        st->items_cap = need;
    }
    for (size_t i = 0; i < st->ntouched; i++) {
        const struct taxonomy_phrase *ph = &tax->phrases[st->touched[i]];
        for (size_t j = 0; j < ph->nweights; j++) {
            const struct taxonomy_weight *w = &ph->weights[j];
            if (!w->is_context && w->index == t && w->weight > 0)
                st->items[n++] = (struct item){ph->text, st->mass[st->touched[i]] * w->weight};
        }
    }
    for (size_t i = 0; i < st->nehits; i++)
        if (st->ehits[i].topic == t && st->ehits[i].weight > 0 && st->ehits[i].name)
            st->items[n++] = (struct item){st->ehits[i].name, st->ehits[i].weight};
    qsort(st->items, n, sizeof(*st->items), item_cmp);

    size_t max = (size_t)st->conf->max_evidence;
    if (max == 0 || n == 0)
        return 0;
    hit->evidence = calloc(max < n ? max : n, sizeof(*hit->evidence));
    if (!hit->evidence)
        return -1;
    for (size_t i = 0; i < n && hit->nevidence < max; i++) {
        int dup = 0;   /* "NATO" the entity and "nato" the term */
        for (size_t j = 0; j < hit->nevidence && !dup; j++)
            dup = strcasecmp(hit->evidence[j], st->items[i].text) == 0;
        if (dup)
            continue;
        if (!(hit->evidence[hit->nevidence] = strdup(st->items[i].text)))
            return -1;
        hit->nevidence++;
    }
    return 0;
}

static int add_hit(struct topics *st, struct record *rec, size_t t, double score)
{
    const struct taxonomy_topic *tp = &st->tax->topics[t];
    struct topic_hit *hit = record_add_topic(rec);
    if (!hit || !(hit->name = strdup(tp->name)))
        return -1;
    hit->score = score;
    if (tp->niptc) {
        if (!(hit->iptc = calloc(tp->niptc, sizeof(*hit->iptc))))
            return -1;
        for (size_t i = 0; i < tp->niptc; i++) {
            if (!(hit->iptc[i] = strdup(tp->iptc[i])))
                return -1;
            hit->niptc++;
        }
    }
    return add_evidence(st, t, hit);
}

/* A record missing some of its topics (or their evidence) must not be
 * published as if complete: it goes to the dead-letter topic. */
static enum verdict out_of_memory(struct topics *st, struct record *rec)
{
    st->errors++;
    record_reject(rec, "out_of_memory", "out of memory while classifying topics");
    return VERDICT_REJECT;
}

static enum verdict topics_process(void *state, struct record *rec)
{
    struct topics *st = state;
    const struct taxonomy *tax = st->tax;
    const struct taxonomy_params *pr = &tax->params;

    st->records++;
    if (record_analyze(rec) < 0)
        return out_of_memory(st, rec);

    for (size_t i = 0; i < st->ntouched; i++) {
        st->mass[st->touched[i]] = 0;
        st->count[st->touched[i]] = 0;
    }
    st->ntouched = 0;
    memset(st->evidence, 0, tax->ntopics * sizeof(*st->evidence));
    memset(st->core, 0, tax->ntopics * sizeof(*st->core));
    memset(st->ctx, 0, tax->ncontexts * sizeof(*st->ctx));

    scan(st, &rec->head_toks, pr->head_weight, pr->head_weight, 0);
    scan(st, &rec->body_toks, 1.0, pr->lead_weight, lead_end(&rec->body_toks, pr->lead_tokens));

    for (size_t i = 0; i < st->ntouched; i++) {
        const struct taxonomy_phrase *ph = &tax->phrases[st->touched[i]];
        double m = st->mass[st->touched[i]];
        for (size_t j = 0; j < ph->nweights; j++) {
            const struct taxonomy_weight *w = &ph->weights[j];
            if (w->is_context) {
                st->ctx[w->index] += m * w->weight;
            } else {
                st->evidence[w->index] += m * w->weight;
                if (!w->support)
                    st->core[w->index] += m * w->weight;
            }
        }
    }
    st->nehits = 0;
    if (st->conf->use_entities && entity_hits(st, rec) < 0)
        return out_of_memory(st, rec);

    /* Long stories mention everything once: damp evidence beyond length_ref
     * tokens so a 3,000-word feature does not outscore its own lead. */
    double n = (double)rec->body_toks.n;
    double len = n > pr->length_ref ? pow(pr->length_ref / n, pr->length_alpha) : 1.0;
    for (size_t c = 0; c < tax->ncontexts; c++)
        st->ctx[c] = 1.0 - exp(-st->ctx[c] * len / pr->context_scale);

    int tagged = 0;
    for (size_t t = 0; t < tax->ntopics; t++) {
        const struct taxonomy_topic *tp = &tax->topics[t];
        double e = st->evidence[t] * len;
        if (e <= 0)
            continue;
        double damp = 1.0;
        for (size_t c = 0; c < tax->ncontexts; c++)
            damp *= 1.0 - tp->damp[c] * st->ctx[c];
        e *= damp;
        /* Generic vocabulary alone never assigns a topic: "troops",
         * "army" and "missiles" fill parades, budgets and flood relief.
         * The core evidence (net of negative cues) must reach require. */
        if (tp->require > 0 && st->core[t] * len * damp < tp->require)
            continue;
        double score = 1.0 - exp(-e / tp->scale);
        double thr = st->conf->threshold > 0 ? st->conf->threshold : tp->threshold;
        if (score < thr)
            continue;
        if (add_hit(st, rec, t, score) < 0)
            return out_of_memory(st, rec);
        st->assigned[t]++;
        tagged = 1;
    }
    st->tagged += (uint64_t)tagged;

    /* Strongest topic first. */
    for (size_t i = 1; i < rec->ntopics; i++)
        for (size_t j = i; j > 0 && rec->topics[j].score > rec->topics[j - 1].score; j--) {
            struct topic_hit tmp = rec->topics[j];
            rec->topics[j] = rec->topics[j - 1];
            rec->topics[j - 1] = tmp;
        }
    return VERDICT_KEEP;
}

static void topics_stats(void *state, json_t *out)
{
    const struct topics *st = state;
    json_t *per = json_object();
    for (size_t i = 0; per && i < st->tax->ntopics; i++)
        json_object_set_new(per, st->tax->topics[i].name, json_integer((json_int_t)st->assigned[i]));
    json_object_set_new(out, "records", json_integer((json_int_t)st->records));
    json_object_set_new(out, "tagged", json_integer((json_int_t)st->tagged));
    json_object_set_new(out, "errors", json_integer((json_int_t)st->errors));
    json_object_set_new(out, "reloads", json_integer((json_int_t)st->reloads));
    json_object_set_new(out, "reload_failures", json_integer((json_int_t)st->reload_failures));
    json_object_set_new(out, "topics", json_integer((json_int_t)st->tax->ntopics));
    json_object_set_new(out, "phrases", json_integer((json_int_t)st->tax->nphrases));
    if (per)
        json_object_set_new(out, "assigned", per);
}

const struct processor_ops topics_processor = {
    .name = "topics",
    .summary = "assigns taxonomy topics (IPTC codes, score, evidence) for routing to news.topic.NAME",
    .keys = topics_keys,
    .conf_size = sizeof(struct topics_conf),
    .init = topics_init,
    .process = topics_process,
    .tick = NULL,
    .reload = topics_reload,
    .restore = NULL,
    .stats = topics_stats,
    .destroy = topics_destroy,
};
