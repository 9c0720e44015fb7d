/*
 * test_entities.c - the entities processor: each matching rule (longest
 * match, acronym and name case, possessives, diacritics and hyphens,
 * demonyms, person cues, surname linking, headline, dateline, salience),
 * configuration, reload (a bad file keeps the old data, err names
 * file:line), and quality on the synthetic fixture articles
 * (tests/fixtures/entities/articles.txt): precision >= 0.97, recall >=
 * 0.95, correct Wikidata id >= 0.98, nothing tagged from boilerplate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/conf.h"
#include "core/gazetteer.h"
#include "core/record.h"
#include "processors/processor.h"
#include "tests/unit/inst.h"

#define ARTICLES "tests/fixtures/entities/articles.txt"
#define CORPUS   "tests/fixtures/corpus/stories.jsonl"

/* Quality bars (README, docs/entities.md). */
#define MIN_PRECISION 0.97
#define MIN_RECALL    0.95
#define MIN_ID_OK     0.98

extern const struct processor_ops entities_processor;

/* ------------------------------------------------------------ helpers */

static struct inst ent_open(const char *conf_text)
{
    return inst_open_ok(&entities_processor, conf_text);
}

static struct record *make(const char *headline, const char *body)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    if (headline)
        assert_int_equal(record_set(&rec->headline, headline, (size_t)-1), 0);
    if (body) {
        char *b = strdup(body);
        assert_non_null(b);
        record_take_body(rec, b, strlen(b));
    }
    return rec;
}

static struct record *tag(struct inst *in, const char *headline, const char *body)
{
    struct record *rec = make(headline, body);
    assert_int_equal(in->ops->process(in->state, rec), VERDICT_KEEP);
    return rec;
}

static const struct entity *find(const struct record *rec, const char *name)
{
    for (size_t i = 0; i < rec->nentities; i++)
        if (strcmp(rec->entities[i].name, name) == 0)
            return &rec->entities[i];
    return NULL;
}

static const struct entity *must_find(const struct record *rec, const char *name)
{
    const struct entity *e = find(rec, name);
    if (!e) {
        fprintf(stderr, "missing \"%s\"; have:", name);
        for (size_t i = 0; i < rec->nentities; i++)
            fprintf(stderr, " [%s]", rec->entities[i].name);
        fprintf(stderr, "\n");
        fail();
    }
    return e;
}

/* The text a span covers. */
static void span_text(const struct record *rec, const struct span *sp, char *out, size_t n)
{
    snprintf(out, n, "%.*s", (int)sp->len, rec->body + sp->off);
}

/* ------------------------------------------------------- matching rules */

static void test_longest_match(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Envoys from the North Atlantic Treaty Organization met in Papua New Guinea "
        "and later flew to Guinea-Bissau and the Democratic Republic of the Congo.");
    const struct entity *e = must_find(rec, "NATO");
    assert_string_equal(e->id, "Q7184");
    char buf[128];
    span_text(rec, &e->spans[0], buf, sizeof(buf));
    assert_string_equal(buf, "North Atlantic Treaty Organization");
    must_find(rec, "Papua New Guinea");
    must_find(rec, "Guinea-Bissau");
    must_find(rec, "Democratic Republic of the Congo");
    assert_null(find(rec, "Guinea"));
    assert_null(find(rec, "Republic of the Congo"));
    assert_int_equal(rec->nentities, 4);
    record_free(rec);
    inst_close(&in);
}

static void test_case_rules(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    /* Acronyms must be in capitals, names capitalized. */
    struct record *rec = tag(&in, NULL,
        "The nato of us all ate turkey in china bowls, who knows why. "
        "Then NATO and the US asked WHO experts to visit Turkey and China.");
    const struct entity *e = must_find(rec, "NATO");
    assert_int_equal(e->mentions, 1);
    assert_int_equal(must_find(rec, "United States")->mentions, 1);
    assert_int_equal(must_find(rec, "World Health Organization")->mentions, 1);
    assert_int_equal(must_find(rec, "Turkey")->mentions, 1);
    assert_int_equal(must_find(rec, "China")->mentions, 1);
    assert_int_equal(rec->nentities, 5);
    record_free(rec);
    inst_close(&in);
}

static void test_possessive_and_boundaries(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Ukraine's army and NATO\xe2\x80\x99s planners met. Ukrainekraft is a "
        "brand, not a country, and NATOs is a typo.");
    const struct entity *u = must_find(rec, "Ukraine");
    const struct entity *n = must_find(rec, "NATO");
    char buf[64];
    assert_int_equal(u->nspans, 1);
    span_text(rec, &u->spans[0], buf, sizeof(buf));
    assert_string_equal(buf, "Ukraine");
    span_text(rec, &n->spans[0], buf, sizeof(buf));
    assert_string_equal(buf, "NATO");
    assert_int_equal(n->mentions, 1);
    record_free(rec);
    inst_close(&in);
}

static void test_diacritics_and_hyphens(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Erdo\xc4\x9f" "an spoke in Chi\xc8\x99in\xc4\x83u. Erdogan later flew to "
        "C\xc3\xb4te d'Ivoire, then to Guinea Bissau and Rostov-on-Don.");
    const struct entity *e = must_find(rec, "Recep Tayyip Erdogan");
    assert_int_equal(e->mentions, 2);
    assert_string_equal(e->id, "Q39259");
    must_find(rec, "Chisinau");
    must_find(rec, "Ivory Coast");
    must_find(rec, "Guinea-Bissau");
    must_find(rec, "Rostov-on-Don");
    record_free(rec);
    inst_close(&in);
}

static void test_demonyms(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Ukrainian forces pushed back. Three Russians and two Iraqis were held.");
    assert_int_equal(must_find(rec, "Ukraine")->mentions, 1);
    assert_int_equal(must_find(rec, "Russia")->mentions, 1);   /* plural */
    must_find(rec, "Iraq");
    record_free(rec);
    inst_close(&in);

    in = ent_open("[processor.entities]\ndemonyms = false\n");
    rec = tag(&in, NULL, "Ukrainian forces pushed back near Ukraine's border.");
    assert_int_equal(must_find(rec, "Ukraine")->mentions, 1);
    record_free(rec);
    inst_close(&in);
}

static void test_person_cues(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Foreign Minister Anna Petrovska said talks would resume. Officials said "
        "little else. Ministry spokesman Tomas Lindqvist declined to comment. "
        "Marta Kowalczyk-Brandt told reporters the plan was ready. The Ministry said "
        "nothing. Petrovska later added that Lindqvist would travel with her, and "
        "Kowalczyk-Brandt agreed.");
    const struct entity *e = must_find(rec, "Anna Petrovska");
    assert_int_equal(e->type, ENTITY_PERSON);
    assert_null(e->id);
    assert_int_equal(e->mentions, 2);             /* surname linked */
    assert_int_equal(must_find(rec, "Tomas Lindqvist")->mentions, 2);
    assert_int_equal(must_find(rec, "Marta Kowalczyk-Brandt")->mentions, 2);
    assert_null(find(rec, "Officials"));
    assert_null(find(rec, "The Ministry"));
    assert_null(find(rec, "Ministry"));
    assert_int_equal(rec->nentities, 3);
    record_free(rec);
    inst_close(&in);

    in = ent_open("[processor.entities]\nperson_cues = false\n");
    rec = tag(&in, NULL, "Foreign Minister Anna Petrovska said talks would resume.");
    assert_int_equal(rec->nentities, 0);
    record_free(rec);
    inst_close(&in);
}

/* Titles and role words next to names: never part of them, and a title
 * that begins a company or league name does not make a person. */
static void test_titles_and_glued_names(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, NULL,
        "Chief Executive Dana Whitcombe told investors the plant would open. "
        "Executive Vice President Omar Castellanos said costs were falling. "
        "The order went to General Electric and General Dynamics, and to Major "
        "League Baseball sponsors. Premier League clubs objected. Gen. Ortiz said "
        "the army agreed. Queen Saskia spoke later. President Abdi Sheikh Warsame "
        "said the deal stood, and Warsame added that Whitcombe Industries, a "
        "separate firm, was not involved. Whitcombe said so too. Electronic Arts "
        "said sales rose.");
    assert_int_equal(must_find(rec, "Dana Whitcombe")->mentions, 2);   /* not "Whitcombe Industries" */
    must_find(rec, "Omar Castellanos");
    must_find(rec, "Ortiz");
    must_find(rec, "Saskia");
    assert_int_equal(must_find(rec, "Abdi Sheikh Warsame")->mentions, 2);
    const char *never[] = {"Executive Dana Whitcombe", "Executive", "Electric", "Dynamics",
                           "League Baseball", "League", "Warsame", "Abdi",
                           "Electronic Arts"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (find(rec, never[i]))
            fail_msg("tagged \"%s\"", never[i]);
    assert_int_equal(rec->nentities, 5);
    record_free(rec);

    /* Appositions: a title, a comma and a name closed by a comma or full
     * stop; a name between commas before a reporting verb. */
    rec = tag(&in, NULL,
        "The agency's chief negotiator, Dana Ilves, left early. Its deputy, "
        "Marek Tamm. The union's treasurer, Aino Kask, said the fund was empty. "
        "In Tallinn, Toompea Castle, where the talks were held, stayed closed.");
    must_find(rec, "Dana Ilves");
    must_find(rec, "Marek Tamm");
    must_find(rec, "Aino Kask");
    assert_null(find(rec, "Toompea Castle"));
    record_free(rec);

    /* A listed person's surname glued to another capitalized word is part
     * of a longer name; a title before it is not. */
    rec = tag(&in, NULL,
        "Defense Secretary Lloyd Austin spoke on Monday. Austin Energy said power was "
        "back. Secretary Austin said the review would go on.");
    const struct entity *e = must_find(rec, "Lloyd Austin");
    assert_int_equal(e->mentions, 2);
    assert_int_equal(e->nspans, 2);
    record_free(rec);
    inst_close(&in);
}

static void test_gazetteer_surnames(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    /* Stoltenberg is a listed one-word alias; Khan only links when Karim
     * Khan is named in full. */
    struct record *rec = tag(&in, NULL,
        "Jens Stoltenberg arrived. Stoltenberg said the ICC prosecutor, Karim Khan, "
        "would speak. Khan said nothing.");
    assert_int_equal(must_find(rec, "Jens Stoltenberg")->mentions, 2);
    assert_int_equal(must_find(rec, "Karim Khan")->mentions, 2);
    record_free(rec);

    rec = tag(&in, NULL, "Ahmed Khan said the shop was closed. Khan said so twice.");
    assert_null(find(rec, "Karim Khan"));
    must_find(rec, "Ahmed Khan");
    record_free(rec);

    /* Context-only aliases: "Security Council" is the UN's only when the UN
     * Security Council is named in full in the same article. */
    rec = tag(&in, NULL, "Russia's Security Council met on Friday.");
    assert_null(find(rec, "United Nations Security Council"));
    record_free(rec);
    rec = tag(&in, NULL, "The UN Security Council met. The Security Council voted.");
    assert_int_equal(must_find(rec, "United Nations Security Council")->mentions, 2);
    record_free(rec);
    inst_close(&in);
}

static void test_headline_salience_role(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = tag(&in, "NATO chief warns Russia",
        "Officials in Paris and Berlin were briefed. NATO said Russia was "
        "massing troops. Russia denied it. Russia's envoy left.");
    assert_true(rec->nentities >= 4);
    assert_string_equal(rec->entities[0].name, "Russia");   /* 3 mentions + headline */
    assert_string_equal(rec->entities[1].name, "NATO");
    assert_int_equal(rec->entities[0].in_headline, 1);
    assert_int_equal(rec->entities[0].mentions, 3);   /* body mentions only */
    assert_int_equal(rec->entities[0].nspans, 3);
    assert_string_equal(rec->entities[0].role, "country");
    assert_string_equal(rec->entities[1].role, "alliance");
    assert_int_equal(must_find(rec, "Paris")->in_headline, 0);
    for (size_t i = 1; i < rec->nentities; i++)
        assert_true(rec->entities[i - 1].salience >= rec->entities[i].salience);
    assert_true(rec->entities[0].salience <= 1.0);
    record_free(rec);

    /* Only in the headline: still reported. */
    rec = tag(&in, "Kremlin rejects talks", "Officials said no talks were planned.");
    const struct entity *k = must_find(rec, "Kremlin");
    assert_int_equal(k->in_headline, 1);
    assert_int_equal(k->nspans, 0);
    record_free(rec);
    inst_close(&in);

    in = ent_open("[processor.entities]\nmax_entities = 2\n");
    rec = tag(&in, NULL, "Paris, Berlin, Rome and Madrid agreed; Paris led.");
    assert_int_equal(rec->nentities, 2);
    assert_string_equal(rec->entities[0].name, "Paris");
    record_free(rec);
    inst_close(&in);
}

static void test_dateline(void **unused)
{
    (void)unused;
    struct inst in = ent_open(NULL);
    struct record *rec = make(NULL, "KYIV, June 3 - Air raid sirens sounded across Kyiv.");
    record_set(&rec->dateline, "KYIV", 4);
    rec->dateline_span.off = 0;
    rec->dateline_span.len = 4;
    in.ops->process(in.state, rec);
    const struct entity *e = must_find(rec, "Kyiv");
    assert_int_equal(e->dateline, 1);
    assert_int_equal(e->mentions, 2);
    assert_string_equal(e->id, "Q1899");
    record_free(rec);

    rec = make(NULL, "SMALLVILLE, June 3 - The fair opened.");
    record_set(&rec->dateline, "SMALLVILLE", 10);
    rec->dateline_span.len = 10;
    in.ops->process(in.state, rec);
    e = must_find(rec, "Smallville");
    assert_int_equal(e->dateline, 1);
    assert_int_equal(e->type, ENTITY_PLACE);
    assert_null(e->id);
    record_free(rec);
    inst_close(&in);

    in = ent_open("[processor.entities]\nunknown_datelines = no\n");
    rec = make(NULL, "SMALLVILLE, June 3 - The fair opened.");
    record_set(&rec->dateline, "SMALLVILLE", 10);
    rec->dateline_span.len = 10;
    in.ops->process(in.state, rec);
    assert_int_equal(rec->nentities, 0);
    record_free(rec);
    inst_close(&in);
}

/* --------------------------------------------------- config and reload */

static void test_config_errors(void **unused)
{
    (void)unused;
    struct inst in;
    char err[512] = "";
    assert_int_equal(inst_open(&in, &entities_processor,
                               "[processor.entities]\nmax_entities = 0\n", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "max_entities"));
    inst_close(&in);
    err[0] = '\0';
    assert_int_equal(inst_open(&in, &entities_processor,
                               "[processor.entities]\ngazetteer = no-such-dir\n", err,
                               sizeof(err)), -1);
    assert_non_null(strstr(err, "no-such-dir"));
    inst_close(&in);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_reload(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/ws-gaz-XXXXXX";
    char path[128], conf[256], err[512] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/test.gaz", dir);
    write_file(path, "# test\nplace | city | Q1 | Atlantis | Poseidonia\n");
    snprintf(conf, sizeof(conf), "[processor.entities]\ngazetteer = %s\n", dir);

    struct inst in = ent_open(conf);
    struct record *rec = tag(&in, NULL, "Poseidonia sank. Lemuria did not.");
    assert_string_equal(must_find(rec, "Atlantis")->id, "Q1");
    assert_null(find(rec, "Lemuria"));
    record_free(rec);

    /* A new entry is picked up without a restart. */
    write_file(path, "place | city | Q1 | Atlantis | Poseidonia\n"
                     "place | continent | | Lemuria\n");
    assert_int_equal(in.ops->reload(in.state, err, sizeof(err)), 0);
    rec = tag(&in, NULL, "Poseidonia sank. Lemuria did not.");
    must_find(rec, "Lemuria");
    record_free(rec);

    /* A bad file keeps the old data; err names file and line. */
    write_file(path, "place | city | Q1 | Atlantis\nplanet | x | | Mu\n");
    assert_int_equal(in.ops->reload(in.state, err, sizeof(err)), -1);
    char want[160];
    snprintf(want, sizeof(want), "%s:2:", path);
    assert_non_null(strstr(err, want));
    rec = tag(&in, NULL, "Lemuria did not sink.");
    must_find(rec, "Lemuria");
    record_free(rec);
    inst_close(&in);
    unlink(path);
    rmdir(dir);
}

static void test_gazetteer_format_errors(void **unused)
{
    (void)unused;
    static const struct { const char *text, *want; } cases[] = {
        {"place | city | Q1 | A\nplanet | x | | B\n", "t:2: unknown type"},
        {"place | city | 12 | A\n", "t:1: bad Wikidata id"},
        {"place | City | | A\n", "t:1: bad role"},
        {"place | city | Q5\n", "t:1: expected at least 4 fields"},
        {"place | city | | \n", "t:1: empty name"},
        {"place | city | | A | B | C | D | E | F\n", "t:1: more than 8 fields"},
        {"place | city | | A | ; ... ;\n", "t:1: \"...\" has no words"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct gazetteer *g = gazetteer_new();
        assert_non_null(g);
        assert_int_equal(gazetteer_add_text(g, cases[i].text, strlen(cases[i].text), "t",
                                            err, sizeof(err)), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
        gazetteer_free(g);
    }
}

static void test_full_gazetteer_loads(void **unused)
{
    (void)unused;
    const char *paths[] = {"config/gazetteer"};
    char err[256] = "";
    struct gazetteer *g = gazetteer_load(paths, 1, err, sizeof(err));
    if (!g)
        fail_msg("%s", err);
    assert_true(g->nfiles >= 5);
    /* 193 UN members + 2 observers + a few more. */
    size_t countries = 0;
    for (size_t i = 0; i < g->nents; i++)
        if (strcmp(g->ents[i].role, "country") == 0)
            countries++;
    assert_true(countries >= 195);
    gazetteer_free(g);
}

/* -------------------------------------------------------------- fixtures */

struct expect {
    char name[96];
    char id[16];
    int type;        /* enum entity_type, -1 unknown */
    int dateline, headline;
    int mentions;    /* expected body mentions (spans), -1 unchecked */
};

struct article {
    char id[16];
    char headline[256];
    char body[4096];
    struct expect e[24];
    size_t ne;
    char forbid[8][64];
    size_t nforbid;
};

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static size_t load_articles(struct article *arts, size_t max)
{
    FILE *fp = fopen(ARTICLES, "r");
    char line[4096];
    size_t n = 0;
    int in_body = 0;
    struct article *a = NULL;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "### ", 4) == 0) {
            assert_true(n < max);
            a = &arts[n++];
            memset(a, 0, sizeof(*a));
            snprintf(a->id, sizeof(a->id), "%s", trim(line + 4));
            in_body = 0;
            continue;
        }
        if (!a || (line[0] == '#' && !in_body))
            continue;
        if (in_body) {
            size_t have = strlen(a->body), add = strlen(line);
            assert_true(have + add < sizeof(a->body));
            memcpy(a->body + have, line, add + 1);
        } else if (strncmp(line, "H:", 2) == 0) {
            snprintf(a->headline, sizeof(a->headline), "%s", trim(line + 2));
        } else if (strncmp(line, "N:", 2) == 0) {
            snprintf(a->forbid[a->nforbid++], 64, "%s", trim(line + 2));
        } else if (strncmp(line, "B:", 2) == 0) {
            in_body = 1;
        } else if (strncmp(line, "E:", 2) == 0) {
            struct expect *x = &a->e[a->ne++];
            char *f[4] = {0};
            char *save = NULL, *p = line + 2;
            for (int k = 0; k < 4; k++, p = NULL)
                f[k] = strtok_r(p, "|", &save);
            assert_non_null(f[1]);
            snprintf(x->name, sizeof(x->name), "%s", trim(f[0]));
            char *t = trim(f[1]);
            x->type = strcmp(t, "person") == 0 ? ENTITY_PERSON
                      : strcmp(t, "org") == 0  ? ENTITY_ORGANIZATION
                                               : ENTITY_PLACE;
            snprintf(x->id, sizeof(x->id), "%s", f[2] ? trim(f[2]) : "");
            char *fl = f[3] ? trim(f[3]) : "";
            x->dateline = strchr(fl, 'd') != NULL;
            x->headline = strchr(fl, 'h') != NULL;
            x->mentions = -1;
        } else if (strncmp(line, "M:", 2) == 0) {
            /* "M: name | n": the entity (listed above) has n body mentions. */
            char *bar = strchr(line, '|');
            assert_non_null(bar);
            *bar = '\0';
            char *nm = trim(line + 2);
            size_t k = 0;
            while (k < a->ne && strcmp(a->e[k].name, nm) != 0)
                k++;
            assert_true(k < a->ne);
            a->e[k].mentions = atoi(bar + 1);
        }
    }
    fclose(fp);
    return n;
}

static void test_fixture_quality(void **unused)
{
    (void)unused;
    static struct article arts[40];
    size_t narts = load_articles(arts, 40);
    assert_true(narts >= 20);

    const struct processor_ops *clean = processor_find("clean");
    struct inst cl = clean ? inst_open_ok(clean, NULL) : (struct inst){0};
    struct inst in = ent_open(NULL);

    size_t tp = 0, fp = 0, fn = 0, ids = 0, ids_ok = 0, bad_flags = 0, boiler = 0;
    for (size_t i = 0; i < narts; i++) {
        struct article *a = &arts[i];
        struct record *rec = make(a->headline, a->body);
        if (clean)
            assert_int_equal(clean->process(cl.state, rec), VERDICT_KEEP);
        assert_int_equal(in.ops->process(in.state, rec), VERDICT_KEEP);

        int *seen = calloc(rec->nentities + 1, sizeof(int));
        assert_non_null(seen);
        for (size_t k = 0; k < a->ne; k++) {
            const struct expect *x = &a->e[k];
            const struct entity *e = NULL;
            for (size_t j = 0; j < rec->nentities; j++)
                if (strcmp(rec->entities[j].name, x->name) == 0) {
                    e = &rec->entities[j];
                    seen[j] = 1;
                }
            if (!e) {
                fn++;
                printf("  %s: missed   %s\n", a->id, x->name);
                continue;
            }
            tp++;
            if (e->type != (enum entity_type)x->type) {
                bad_flags++;
                printf("  %s: type     %s\n", a->id, x->name);
            }
            if (x->id[0]) {
                ids++;
                if (e->id && strcmp(e->id, x->id) == 0)
                    ids_ok++;
                else
                    printf("  %s: id       %s: %s, want %s\n", a->id, x->name,
                           e->id ? e->id : "none", x->id);
            }
            if (x->mentions >= 0 && e->nspans != (size_t)x->mentions) {
                bad_flags++;
                printf("  %s: mentions %s: %zu spans, want %d\n", a->id, x->name,
                       (size_t)e->nspans, x->mentions);
            }
            if ((x->dateline && !e->dateline) || (x->headline && !e->in_headline)) {
                bad_flags++;
                printf("  %s: flags    %s (dateline %d, headline %d)\n", a->id, x->name,
                       e->dateline, e->in_headline);
            }
        }
        for (size_t j = 0; j < rec->nentities; j++) {
            if (seen[j])
                continue;
            fp++;
            printf("  %s: spurious %s\n", a->id, rec->entities[j].name);
            for (size_t k = 0; k < a->nforbid; k++)
                if (strcmp(rec->entities[j].name, a->forbid[k]) == 0)
                    boiler++;
        }
        for (size_t j = 0; j < rec->nentities; j++) {
            /* mentions counts body mentions, each of which has a span. */
            if (rec->entities[j].mentions != rec->entities[j].nspans) {
                bad_flags++;
                printf("  %s: mentions %s: %u, %zu spans\n", a->id, rec->entities[j].name,
                       (unsigned)rec->entities[j].mentions, (size_t)rec->entities[j].nspans);
            }
            for (size_t s = 0; s < rec->entities[j].nspans; s++)
                assert_true(rec->entities[j].spans[s].off + rec->entities[j].spans[s].len <=
                            rec->body_len);
        }
        free(seen);
        record_free(rec);
    }
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    double recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    double id_ok = ids ? (double)ids_ok / (double)ids : 1;
    printf("entities fixtures: %zu articles, %zu expected, precision %.3f, recall %.3f, "
           "id %.3f (%zu/%zu), type/flag errors %zu, boilerplate %zu%s\n",
           narts, tp + fn, precision, recall, id_ok, ids_ok, ids, bad_flags, boiler,
           clean ? "" : " (no clean processor: boilerplate not checked)");
    inst_close(&in);
    if (clean)
        inst_close(&cl);
    assert_true(precision >= MIN_PRECISION);
    assert_true(recall >= MIN_RECALL);
    assert_true(id_ok >= MIN_ID_OK);
    assert_int_equal(bad_flags, 0);
    assert_int_equal(boiler, 0);
}

/* The fixture corpus through clean + entities: for every entity,
 * mentions == number of spans (body mentions; the headline is in_headline),
 * an entity with no span is named in the headline or is the dateline, and
 * spans are in order, inside the body and cover its words. */
static void test_corpus_mentions_are_spans(void **unused)
{
    (void)unused;
    FILE *fp = fopen(CORPUS, "r");
    assert_non_null(fp);
    const struct processor_ops *clean = processor_find("clean");
    struct inst cl = clean ? inst_open_ok(clean, NULL) : (struct inst){0};
    char line[65536];
    struct inst in = ent_open(NULL);
    size_t nstories = 0, nents = 0, headline_only = 0;
    while (fgets(line, sizeof(line), fp)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (!j)
            fail_msg("%s: %s", CORPUS, jerr.text);
        const char *h = json_string_value(json_object_get(j, "headline"));
        const char *b = json_string_value(json_object_get(j, "body"));
        if (!b)
            b = json_string_value(json_object_get(j, "body_text"));
        struct record *rec = make(h, b);
        if (clean)
            assert_int_equal(clean->process(cl.state, rec), VERDICT_KEEP);
        assert_int_equal(in.ops->process(in.state, rec), VERDICT_KEEP);
        for (size_t k = 0; k < rec->nentities; k++) {
            const struct entity *e = &rec->entities[k];
            if (e->mentions != e->nspans)
                fail_msg("story %zu: %s: mentions %u, %zu spans", nstories, e->name,
                         (unsigned)e->mentions, (size_t)e->nspans);
            if (e->nspans == 0) {
                assert_true(e->in_headline || e->dateline);
                headline_only++;
            }
            for (size_t s = 0; s < e->nspans; s++) {
                const struct span *sp = &e->spans[s];
                assert_true(sp->len > 0 && sp->off + sp->len <= rec->body_len);
                if (s > 0)
                    assert_true(sp->off >= e->spans[s - 1].off + e->spans[s - 1].len);
            }
            nents++;
        }
        record_free(rec);
        json_decref(j);
        nstories++;
    }
    fclose(fp);
    printf("corpus: %zu stories, %zu entities, %zu named only in the headline/dateline\n",
           nstories, nents, headline_only);
    assert_true(nstories >= 30 && nents >= 200);
    inst_close(&in);
    if (clean)
        inst_close(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_case_rules),
        cmocka_unit_test(test_possessive_and_boundaries),
        cmocka_unit_test(test_diacritics_and_hyphens),
        cmocka_unit_test(test_demonyms),
        cmocka_unit_test(test_person_cues),
        cmocka_unit_test(test_titles_and_glued_names),
        cmocka_unit_test(test_gazetteer_surnames),
        cmocka_unit_test(test_headline_salience_role),
        cmocka_unit_test(test_dateline),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_gazetteer_format_errors),
        cmocka_unit_test(test_full_gazetteer_loads),
        cmocka_unit_test(test_fixture_quality),
        cmocka_unit_test(test_corpus_mentions_are_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
