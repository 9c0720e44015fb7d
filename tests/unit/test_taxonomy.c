/*
 * test_taxonomy.c - the taxonomy file loader: what a valid file builds
 * (topics, contexts, shared phrases, suffix groups, defaults) and that every
 * kind of bad edit is refused with the right file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/taxonomy.h"

static struct taxonomy *parse(const char *text, char *err, size_t errlen)
{
    return taxonomy_parse(text, strlen(text), "t.conf", err, errlen);
}

static void test_valid_file(void **unused)
{
    const char *text =
        "# comment\n"
        "[scoring]\n"
        "head_weight = 3   # trailing comment\n"
        "threshold = 0.4\n"
        "[topic war]\n"
        "label = Armed conflict\n"
        "iptc = 16000000, 20000062\n"
        "context = sports 0.8\n"
        "terms 2 = war, air strike(s)\n"
        "terms -1.5 = price war\n"
        "entity 2 = Q7184, role:armed_group, name:Wagner Group\n"
        "[topic diplomacy]\n"
        "iptc = 20000639\n"
        "threshold = 0.7\n"
        "scale = 4\n"
        "terms 1 = war\n"
        "terms 3 = talks\n"
        "[context sports]\n"
        "terms 2 = football\n";
    char err[256] = "";
    struct taxonomy *tax = parse(text, err, sizeof(err));
    if (!tax)
        fail_msg("%s", err);
    assert_int_equal(tax->ntopics, 2);
    assert_int_equal(tax->ncontexts, 1);
    assert_true(tax->params.head_weight == 3.0);
    assert_true(tax->params.lead_weight == 1.5);  /* default kept */

    const struct taxonomy_topic *war = &tax->topics[taxonomy_topic_index(tax, "war")];
    assert_string_equal(war->label, "Armed conflict");
    assert_int_equal(war->niptc, 2);
    assert_true(war->threshold == 0.4);           /* [scoring] default, set after */
    assert_true(war->scale == 5.0);
    assert_true(war->damp[0] == 0.8);
    assert_int_equal(war->ncues, 3);
    assert_int_equal(war->cues[0].kind, TAXONOMY_CUE_QID);
    assert_int_equal(war->cues[1].kind, TAXONOMY_CUE_ROLE);
    assert_string_equal(war->cues[1].value, "armed_group");
    assert_int_equal(war->cues[2].kind, TAXONOMY_CUE_NAME);
    assert_string_equal(war->cues[2].value, "Wagner Group");

    const struct taxonomy_topic *dip = &tax->topics[taxonomy_topic_index(tax, "diplomacy")];
    assert_true(dip->threshold == 0.7);
    assert_true(dip->scale == 4.0);
    assert_true(dip->damp[0] == 0.0);

    /* war, air strike, air strikes, price war, talks, football: "war" is
     * one phrase with two weights. */
    assert_int_equal(tax->nphrases, 6);
    assert_int_equal(tax->longest, 2);
    int found = 0;
    for (size_t i = 0; i < tax->nphrases; i++) {
        if (strcmp(tax->phrases[i].text, "war") == 0) {
            found = 1;
            assert_int_equal(tax->phrases[i].nweights, 2);
        }
        if (strcmp(tax->phrases[i].text, "price war") == 0)
            assert_true(tax->phrases[i].weights[0].weight == -1.5);
    }
    assert_true(found);
    assert_int_equal(taxonomy_topic_index(tax, "nope"), -1);
    taxonomy_free(tax);
}

struct bad {
    const char *text;
    int line;
    const char *what;
};

static void test_errors_name_the_line(void **unused)
{
    static const struct bad cases[] = {
        {"[topic War]\n", 1, "must be"},
        {"[topic a b]\n", 1, "must be"},
        {"\n[topic]\n", 2, "must be"},
        {"[tropic war]\n", 1, "unknown section"},
        {"[topic war\n", 1, "malformed"},
        {"terms 1 = war\n", 1, "outside a section"},
        {"[topic war]\nterms 1 = war\n[topic war]\n", 3, "already defined at line 1"},
        {"[topic war]\nnonsense\n", 2, "expected key = value"},
        {"[topic war]\ncolour = red\n", 2, "unknown key"},
        {"[topic war]\niptc = 1600000\n", 2, "not 8 digits"},
        {"[topic war]\niptc = 16000000, 16000000\n", 2, "twice"},
        {"[topic war]\nthreshold = 1.5\n", 2, "threshold"},
        {"[topic war]\nthreshold = 0\n", 2, "threshold"},
        {"[topic war]\nscale = -1\n", 2, "scale"},
        {"[topic war]\nterms x = war\n", 2, "must be a number"},
        {"[topic war]\nterms 0 = war\n", 2, "non-zero"},
        {"[topic war]\nterms 1 = war, , \n", 0, NULL},   /* empty items are fine */
        {"[topic war]\nterms 1 = ,\n", 2, "empty list"},
        {"[topic war]\nterms 1 = war\nterms 2 = War\n", 3, "already listed for war (line 2"},
        {"[topic war]\nterms 1 = strike(s), strikes\n", 2, "already listed"},
        {"[topic war]\nterms 1 = front, line\nterms 1 = front. line\n", 3, "punctuation"},
        {"[topic war]\nterms 1 = Ukraine's army\n", 2, "possessive"},
        {"[topic war]\nterms 1 = strike(s\n", 2, "suffix group"},
        {"[topic war]\nterms 1 = ---\n", 2, "no words"},
        {"[topic war]\nentity 1 = Wagner\n", 2, "neither a QID"},
        {"[topic war]\nentity 1 = role:\n", 2, "empty entity cue"},
        {"[topic war]\nentity 1 = Q1, Q1\n", 2, "twice"},
        {"[topic war]\ncontext = sports\n", 2, "NAME DAMP"},
        {"[topic war]\ncontext = sports 2\n", 2, "damp"},
        {"[topic war]\nterms 1 = war\ncontext = sports 0.5\n", 3, "unknown context sports"},
        {"[context sports]\nterms -1 = goal\n", 2, "positive"},
        {"[context sports]\niptc = 16000000\n", 2, "only terms"},
        {"[scoring]\nhead_weight = lots\n", 2, "head_weight"},
        {"[scoring]\nlead_tokens = 2.5\n", 2, "integer"},
        {"[scoring]\nrepeat_decay = 2\n", 2, "repeat_decay"},
        {"[scoring]\nspeed = 1\n", 2, "unknown key"},
        {"[scoring x]\n", 1, "takes no name"},
        {"[topic war]\nlabel =\n", 2, "missing value"},
        {"[topic war]\n= 3\n", 2, "missing key"},
        {"# nothing\n", 0, "no [topic NAME]"},
        {"[topic war]\nterms -1 = price war\n", 1, "no positive terms"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        struct taxonomy *tax = parse(cases[i].text, err, sizeof(err));
        if (!cases[i].what) {
            if (!tax)
                fail_msg("case %zu: unexpected error %s", i, err);
            taxonomy_free(tax);
            continue;
        }
        if (tax)
            fail_msg("case %zu (%s): accepted", i, cases[i].text);
        char want[64];
        if (cases[i].line)
            snprintf(want, sizeof(want), "t.conf:%d: ", cases[i].line);
        else
            snprintf(want, sizeof(want), "t.conf: ");
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].what))
            fail_msg("case %zu: want \"%s...%s\", got \"%s\"", i, want, cases[i].what, err);
    }
}

static void test_names(void **unused)
{
    assert_true(taxonomy_name_valid("war"));
    assert_true(taxonomy_name_valid("elections.eu-2024_x"));
    assert_false(taxonomy_name_valid(""));
    assert_false(taxonomy_name_valid("War"));
    assert_false(taxonomy_name_valid("a/b"));
    assert_false(taxonomy_name_valid("é"));
    char longname[TAXONOMY_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(taxonomy_name_valid(longname));
    longname[TAXONOMY_NAME_MAX] = '\0';
    assert_true(taxonomy_name_valid(longname));
}

static void test_load_errors(void **unused)
{
    char err[256];
    assert_null(taxonomy_load("/nonexistent/t.conf", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/t.conf: "));

    const char bad[] = "[topic war]\nterms 1 = war\nterms 1 = \xff\n";
    FILE *fp = fopen("/tmp/ws_test_taxonomy_utf8.conf", "wb");
    assert_non_null(fp);
    fwrite(bad, 1, sizeof(bad) - 1, fp);
    fclose(fp);
    assert_null(taxonomy_load("/tmp/ws_test_taxonomy_utf8.conf", err, sizeof(err)));
    assert_non_null(strstr(err, ":3: not valid UTF-8"));
    remove("/tmp/ws_test_taxonomy_utf8.conf");

    assert_null(taxonomy_parse("[topic war]\n\0", 13, "t.conf", err, sizeof(err)));
    assert_non_null(strstr(err, "NUL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
