/*
 * test_clean.c - the clean processor with the shipped boilerplate patterns
 * (config/boilerplate.conf): boilerplate drop and cut, whitespace folding,
 * datelines and no false datelines, trailing credits, headlines made from
 * the first sentence, and generated ids that survive re-scraping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/conf.h"
#include "core/record.h"
#include "processors/processor.h"

struct fixture {
    const struct processor_ops *ops;
    struct conf_file *cf;
    void *conf;
    void *state;
};

/* The tests run from the repository root (tests/run.sh) or from a build
 * folder below it. */
static const char *config_path(void)
{
    static const char *const cands[] = {"config/wirestream.conf", "../config/wirestream.conf",
                                        "../../config/wirestream.conf"};
    for (size_t i = 0; i < 3; i++)
        if (access(cands[i], R_OK) == 0)
            return cands[i];
    fail_msg("config/wirestream.conf not found from the current folder");
    return NULL;
}

/* Builds a clean processor from `section` (the body of [processor.clean]). */
static struct fixture *make(const char *section)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char text[2048], err[512] = "";
    assert_non_null(fx);
    fx->ops = processor_find("clean");
    assert_non_null(fx->ops);
    snprintf(text, sizeof(text), "[processor.clean]\n%s\n", section);
    fx->cf = conf_parse(text, config_path(), err, sizeof(err));
    assert_non_null(fx->cf);
    fx->conf = calloc(1, fx->ops->conf_size);
    assert_non_null(fx->conf);
    if (conf_bind(fx->ops->keys, conf_section(fx->cf, "processor.clean"), fx->cf, fx->conf,
                  err, sizeof(err)) < 0)
        fail_msg("bind: %s", err);
    struct processor_env env = {.cf = fx->cf, .store = NULL};
    if (fx->ops->init(&fx->state, fx->conf, &env, err, sizeof(err)) < 0)
        fail_msg("init: %s", err);
    return fx;
}

static void destroy(struct fixture *fx)
{
    fx->ops->destroy(fx->state);
    conf_unbind(fx->ops->keys, fx->conf);
    free(fx->conf);
    conf_file_free(fx->cf);
    free(fx);
}

static struct record *rec_with(const char *body)
{
    struct record *rec = record_new();
    assert_non_null(rec);
    char *b = strdup(body);
    assert_non_null(b);
    record_take_body(rec, b, strlen(b));
    return rec;
}

static struct record *run(struct fixture *fx, const char *body)
{
    struct record *rec = rec_with(body);
    enum verdict v = fx->ops->process(fx->state, rec);
    if (v != VERDICT_KEEP)
        fail_msg("clean rejected \"%.60s\": %s", body, rec->reject_code ? rec->reject_code : "?");
    return rec;
}

static int setup(void **state)
{
    *state = make("");
    return 0;
}

static int teardown(void **state)
{
    destroy(*state);
    return 0;
}

static void test_boilerplate_dropped_and_cut(void **state)
{
    struct fixture *fx = *state;
    struct record *rec = run(fx,
        "Ministers met in Vilnius on Tuesday.\n"
        "\n"
        "Advertisement\n"
        "\n"
        "For the latest headlines, follow our Google News channel online or via the app.\n"
        "\n"
        "  SCROLL TO CONTINUE READING  \n"
        "The talks ran late into the night.\n"
        "\n"
        "Read more:\n"
        "\n"
        "Drone strike hits fuel depot\n"
        "\n"
        "Ceasefire talks stall again\n");
    assert_string_equal(rec->body,
                        "Ministers met in Vilnius on Tuesday.\n\nThe talks ran late into the night.");
    assert_int_equal(rec->body_len, strlen(rec->body));
    record_free(rec);

    /* A pattern is anchored: a sentence that mentions advertisement stays. */
    rec = run(fx, "Advertisement revenue fell.\n\nAdvertisement");
    assert_string_equal(rec->body, "Advertisement revenue fell.");
    record_free(rec);

    /* Nothing left: rejected as an empty body. */
    struct record *r2 = rec_with("Advertisement\n\nRead more:\nLinks here");
    assert_int_equal(fx->ops->process(fx->state, r2), VERDICT_REJECT);
    assert_string_equal(r2->reject_code, "empty_body");
    record_free(r2);
}

static void test_whitespace_folding(void **state)
{
    struct fixture *fx = *state;
    struct record *rec = run(fx, "  Troops \t moved\xC2\xA0\xC2\xA0north   overnight.  \r\n"
                                 "\n\n\n"
                                 "\xE2\x80\x89Shelling\xE2\x80\xAF" "continued. \n");
    assert_string_equal(rec->body, "Troops moved north overnight.\n\nShelling continued.");
    record_free(rec);

    /* Non-breaking and thin spaces inside a name fold to one space, other
     * characters (quotes, dashes) are kept as they are. */
    rec = run(fx, "“We will hold,” the commander said \xE2\x80\x94 calmly.");
    assert_string_equal(rec->body, "“We will hold,” the commander said \xE2\x80\x94 calmly.");
    record_free(rec);
}

static void test_datelines(void **state)
{
    struct fixture *fx = *state;
    struct {
        const char *body, *place, *agency;
    } cases[] = {
        {"KYIV, June 2 (Reuters) - Russian drones struck the capital.", "KYIV", "Reuters"},
        {"BRUSSELS (AP) \xE2\x80\x94 NATO ministers met on Thursday.", "BRUSSELS", "AP"},
        {"WASHINGTON \xE2\x80\x94 The Senate voted on the aid package.", "WASHINGTON", NULL},
        {"NEW YORK, Sept 19 (AFP) -- The General Assembly opened.", "NEW YORK", "AFP"},
        {"Kyiv, June 2 (Reuters) - Air defences were active.", "Kyiv", "Reuters"},
        {"ANKARA, June 2 - Turkey's parliament met.", "ANKARA", NULL},
        {"PORT-AU-PRINCE (Reuters) - Gangs blocked roads.", "PORT-AU-PRINCE", "Reuters"},
        {"VILNIUS, Lithuania, July 11 (Reuters) - Leaders arrived.", "VILNIUS", "Reuters"},
        /* Agencies the configuration does not list: any short run of
         * capitalised words in the dateline's parentheses. */
        {"BOSTON, May 30 (Wirestream) - The city council voted.", "BOSTON", "Wirestream"},
        {"KYIV, June 2 (Staff) - An agency not in the list is still a credit.", "KYIV",
         "Staff"},
        {"LAGOS (Premium Times) \xE2\x80\x94 Fuel queues returned.", "LAGOS", "Premium Times"},
        {"SEOUL, Oct 3 (Yonhap News Agency) \xE2\x80\x93 Talks resumed.", "SEOUL",
         "Yonhap News Agency"},
        {"NEW DELHI, Jan 5 (Press Trust of India) - Ministers met.", "NEW DELHI",
         "Press Trust of India"},
        {"LONDON (Dow Jones & Co.) -- Markets opened lower.", "LONDON", "Dow Jones & Co."},
        {"MANCHESTER, March 3 (Channel 4) - Fans gathered.", "MANCHESTER", "Channel 4"},
        {"S\xC3\x83O PAULO (Ag\xC3\xAAncia Brasil) - Rain fell.", "S\xC3\x83O PAULO",
         "Ag\xC3\xAAncia Brasil"},
        {"Kyiv, June 2 (Kyiv Independent) - Sirens sounded.", "Kyiv", "Kyiv Independent"},
        /* Forty bytes and five words are still an agency. */
        {"DARWIN (Northern Territory Press Agency Newsroom) - Storms hit.", "DARWIN",
         "Northern Territory Press Agency Newsroom"},
        /* No agency part: unchanged. */
        {"GAZA, Nov 20 - Aid trucks crossed.", "GAZA", NULL},
        {"Kyiv, June 2 - Air defences were active.", "Kyiv", NULL},
        {"BEIRUT \xE2\x80\x93 Power cuts spread.", "BEIRUT", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct record *rec = run(fx, cases[i].body);
        if (!rec->dateline)
            fail_msg("no dateline in \"%s\"", cases[i].body);
        assert_string_equal(rec->dateline, cases[i].place);
        assert_int_equal(rec->dateline_span.off, 0);
        assert_int_equal(rec->dateline_span.len, strlen(cases[i].place));
        if (cases[i].agency)
            assert_string_equal(rec->agency, cases[i].agency);
        else
            assert_null(rec->agency);
        record_free(rec);
    }

    /* The input's agency wins over the dateline's. */
    struct record *rec = rec_with("KYIV, June 2 (Reuters) - Sirens sounded.");
    record_set(&rec->agency, "Example Wire", (size_t)-1);
    assert_int_equal(fx->ops->process(fx->state, rec), VERDICT_KEEP);
    assert_string_equal(rec->agency, "Example Wire");
    assert_string_equal(rec->dateline, "KYIV");
    record_free(rec);
}

static void test_no_false_datelines(void **state)
{
    struct fixture *fx = *state;
    const char *bodies[] = {
        "Russia and Ukraine traded blame on Friday - officials said little.",
        "Kyiv - the capital - was quiet overnight.",
        "Ukraine's President said - without giving details - that talks would go on.",
        "Biden, who visited Kyiv in 2023 - and again this spring - spoke on Monday.",
        "Zelenskiy, speaking to 300 soldiers - many of them wounded - thanked the allies.",
        "The U.S. - backed plan was presented in Geneva.",
        "US - China talks resumed on Tuesday.",
        "Officials said on Friday that the talks had stalled.",
        /* Parentheses that do not hold an agency name. */
        "WASHINGTON, May 3 (the day after the vote) - Lawmakers met again.",
        "WASHINGTON, May 3 (AP and the day after the vote) - Lawmakers met again.",
        "KYIV, June 2 (2023) - Figures were revised.",
        "KYIV (June 2) - Sirens sounded.",
        "KYIV, June 2 (Monday) - Sirens sounded.",
        "KYIV, June 2 (UPDATE 1) - Sirens sounded.",
        "KYIV, June 2 (D) - Sirens sounded.",
        "KYIV, June 2 (Reuters, AP) - Sirens sounded.",
        "KYIV, June 2 (Smith of) - Sirens sounded.",
        "KYIV, June 2 (Ukrainian National News Agency Kyiv Bureau) - Six words.",
        "KYIV, June 2 (Internationalnachrichtenagenturdienststelle) - One long word.",
        "DARWIN (Northern Territory Press Agency Newsrooms) - Forty-one bytes.",
        "KYIV, June 2 ( Staff ) - Spaces inside.",
        /* A mixed-case name with an unlisted agency but no date: a sentence. */
        "Pelosi (Democrats) - the speaker said on Friday.",
        /* An acronym spelled out. */
        "NATO (North Atlantic Treaty Organization) - the alliance met on Friday.",
        "UN (United Nations) \xE2\x80\x94 the council voted.",
        "IAEA (International Atomic Energy Agency) - inspectors arrived.",
        "Moscow and Beijing, in a joint statement issued on Tuesday evening after talks - rejected it.",
        "NATO - the alliance founded in 1949 - met on Friday.",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct record *rec = run(fx, bodies[i]);
        if (rec->dateline)
            fail_msg("false dateline \"%s\" in \"%s\"", rec->dateline, bodies[i]);
        assert_int_equal(rec->dateline_span.len, 0);
        assert_null(rec->agency);
        record_free(rec);
    }

    /* parse_dateline = false turns it off. */
    struct fixture *off = make("parse_dateline = false");
    struct record *rec = run(off, "KYIV, June 2 (Reuters) - Sirens sounded.");
    assert_null(rec->dateline);
    assert_null(rec->agency);
    record_free(rec);
    destroy(off);
}

static void test_trailing_credit(void **state)
{
    struct fixture *fx = *state;
    struct {
        const char *body, *want, *agency;
    } cases[] = {
        {"Fighting went on.\n\n\xE2\x80\x94 AP", "Fighting went on.", "AP"},
        {"Fighting went on.\n\n(AFP)", "Fighting went on.", "AFP"},
        {"Fighting went on.\n\n-- Reuters.", "Fighting went on.", "Reuters"},
        {"Fighting went on.\n\n\xE2\x80\x93 Associated Press", "Fighting went on.",
         "Associated Press"},
        {"Fighting went on.\n\n\xE2\x80\x94 Staff writer", "Fighting went on.\n\n\xE2\x80\x94 Staff writer",
         NULL},
        {"\xE2\x80\x94 AP", "\xE2\x80\x94 AP", NULL},   /* a lone paragraph is the story */
        /* Credits still need the configured list (unlike datelines): a
         * false match would cut the story's last paragraph. */
        {"Fighting went on.\n\n\xE2\x80\x94 Wirestream", "Fighting went on.\n\n\xE2\x80\x94 Wirestream",
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct record *rec = run(fx, cases[i].body);
        assert_string_equal(rec->body, cases[i].want);
        assert_int_equal(rec->body_len, strlen(cases[i].want));
        if (cases[i].agency)
            assert_string_equal(rec->agency, cases[i].agency);
        else
            assert_null(rec->agency);
        record_free(rec);
    }
}

static void test_headline_from_first_sentence(void **state)
{
    struct fixture *fx = *state;
    struct {
        const char *body, *headline;
    } cases[] = {
        {"KYIV, June 2 (Reuters) - Russian drones hit Kyiv overnight, officials said. "
         "Two people were hurt.", "Russian drones hit Kyiv overnight, officials said"},
        {"BRUSSELS (AP) \xE2\x80\x94 NATO allies agreed a new plan. Details follow.",
         "NATO allies agreed a new plan"},
        {"U.S. envoy arrives in Kyiv for talks. He met officials.",
         "U.S. envoy arrives in Kyiv for talks"},
        {"Mr. Kuleba flew to Ankara on Friday. Talks began.", "Mr. Kuleba flew to Ankara on Friday"},
        {"Will the truce hold? Nobody knows.", "Will the truce hold?"},
        {"Ministers met in the EU. Then they left.", "Ministers met in the EU"},
        {"President John F. Kennedy spoke in Berlin. Crowds cheered.",
         "President John F. Kennedy spoke in Berlin"},
        {"Prices rose approx. five percent in May. Analysts were surprised.",
         "Prices rose approx. five percent in May"},
        {"One paragraph without a full stop\n\nSecond paragraph.",
         "One paragraph without a full stop"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct record *rec = run(fx, cases[i].body);
        assert_non_null(rec->headline);
        assert_string_equal(rec->headline, cases[i].headline);
        record_free(rec);
    }

    /* An input headline is kept. */
    struct record *rec = rec_with("Drones hit Kyiv. More.");
    record_set(&rec->headline, "Given headline", (size_t)-1);
    assert_int_equal(fx->ops->process(fx->state, rec), VERDICT_KEEP);
    assert_string_equal(rec->headline, "Given headline");
    record_free(rec);

    /* A long first sentence is cut at a word boundary within headline_max,
     * never inside a UTF-8 sequence. */
    char body[1200] = "";
    for (int i = 0; i < 60; i++)
        strcat(body, "Zełenski ");
    strcat(body, "spoke.");
    rec = run(fx, body);
    assert_non_null(rec->headline);
    assert_true(strlen(rec->headline) <= 200);
    assert_true(strlen(rec->headline) > 150);
    assert_true(rec->headline[strlen(rec->headline) - 1] == 'i');
    record_free(rec);

    struct fixture *small = make("headline_max = 7");
    rec = run(small, "Zełenskiżżżżżż said nothing.");
    assert_non_null(rec->headline);
    assert_true(strlen(rec->headline) <= 7);
    assert_int_equal(text_utf8_valid(rec->headline, strlen(rec->headline), NULL), 1);
    record_free(rec);
    destroy(small);
}

static void test_generated_id_stable(void **state)
{
    struct fixture *fx = *state;
    const char *a = "KYIV, June 2 (Reuters) - “We will not give up,” the mayor said.\n\n"
                    "Advertisement\n\nRepairs began at dawn.";
    const char *b = "KYIV,  June 2 (Reuters) -  \"We will not give up,\"   the mayor said.\n"
                    "Repairs began at dawn.\n\nRead more:\nOther story";
    const char *c = "KYIV, June 2 (Reuters) - “We will give up,” the mayor said.\n\n"
                    "Repairs began at dawn.";
    struct record *ra = run(fx, a), *rb = run(fx, b), *rc = run(fx, c);
    assert_non_null(ra->id);
    assert_true(ra->id_generated);
    assert_int_equal(strlen(ra->id), 3 + 16);
    assert_memory_equal(ra->id, "ws-", 3);
    assert_string_equal(ra->id, rb->id);
    assert_string_not_equal(ra->id, rc->id);
    record_free(ra);
    record_free(rb);
    record_free(rc);

    /* An input id is kept. */
    struct record *rec = rec_with("Repairs began at dawn.");
    record_set(&rec->id, "reuters-123", (size_t)-1);
    assert_int_equal(fx->ops->process(fx->state, rec), VERDICT_KEEP);
    assert_string_equal(rec->id, "reuters-123");
    assert_false(rec->id_generated);
    record_free(rec);
}

/* The rules' pre-filter (first and second characters, longest match) may
 * only skip lines that cannot match. Lines opening with non-ASCII text
 * against rules that start with a letter, a non-ASCII literal, a dot, a
 * bracket and an escape: what each rule drops must be exactly what
 * regexec() alone matches. */
static void test_prefilter_never_changes_a_match(void **unused)
{
    char path[] = "/tmp/ws-test-prefilter-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char *const rules[] = {
        "^follow us$", "^\xc2\xa9 .{0,20}$", "^.ollow me$", "^[\xe2\x80\x9c\"]?quote end$",
        "^\\(c\\) notice$", "^(kelvin|\xe2\x84\xaa" "elvin) scale$", "^\xc3\xa9" "dition sp\xc3\xa9" "ciale$",
    };
    static const char *const lines[] = {
        "follow us", "Follow Us", "\xe2\x80\x9c" "follow us", "\xc2\xa9 Wire 2025", "\xc2\xa9Wire",
        "hollow me", "\xc3\xa9ollow me", "\xe2\x80\x9cquote end", "\"quote end", "quote end",
        "(c) notice", "(C) NOTICE", "\xe2\x84\xaa" "elvin scale", "Kelvin scale", "\xc3\xa9" "dition sp\xc3\xa9" "ciale",
        "\xc3\x89" "dition sp\xc3\xa9" "ciale", "\xe2\x80\x9cThere is more", "Edition speciale",
    };
    char file[1024] = "";
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        strcat(file, "drop ");
        strcat(file, rules[r]);
        strcat(file, "\n");
    }
    assert_int_equal(write(fd, file, strlen(file)), (ssize_t)strlen(file));
    close(fd);
    char section[256];
    snprintf(section, sizeof(section), "boilerplate = %s\nparse_dateline = false", path);
    struct fixture *fx = make(section);
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        int want = 0;
        for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
            regex_t re;
            assert_int_equal(regcomp(&re, rules[r], REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
            want |= regexec(&re, lines[l], 0, NULL, 0) == 0;
            regfree(&re);
        }
        char body[256];
        snprintf(body, sizeof(body), "Lead paragraph.\n\n%s\n\nLast paragraph.", lines[l]);
        struct record *rec = run(fx, body);
        int dropped = strstr(rec->body, lines[l]) == NULL;
        if (dropped != want)
            fail_msg("\"%s\": regexec says %s, clean %s", lines[l], want ? "match" : "no match",
                     dropped ? "dropped it" : "kept it");
        record_free(rec);
    }
    destroy(fx);
    unlink(path);
}

static void test_pattern_file_errors_and_reload(void **unused)
{
    char path[] = "/tmp/ws-test-boiler-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char good[] = "# comment\ndrop ^promo$\n";
    assert_int_equal(write(fd, good, sizeof(good) - 1), (ssize_t)(sizeof(good) - 1));
    close(fd);

    char section[512];
    snprintf(section, sizeof(section), "boilerplate = %s", path);
    struct fixture *fx = make(section);
    struct record *rec = run(fx, "Story.\n\npromo\n\nAdvertisement");
    assert_string_equal(rec->body, "Story.\n\nAdvertisement");   /* only its own rules */
    record_free(rec);

    /* Reload picks up a new rule; a bad file keeps the old rules. */
    FILE *fp = fopen(path, "w");
    fputs("drop ^promo$\ncut ^advertisement$\n", fp);
    fclose(fp);
    char err[512] = "";
    assert_int_equal(fx->ops->reload(fx->state, err, sizeof(err)), 0);
    rec = run(fx, "Story.\n\nAdvertisement\n\nLinks");
    assert_string_equal(rec->body, "Story.");
    record_free(rec);

    fp = fopen(path, "w");
    fputs("drop ^ok$\n\ndrop ^(unclosed$\n", fp);
    fclose(fp);
    assert_int_equal(fx->ops->reload(fx->state, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: bad pattern", path);
    assert_non_null(strstr(err, want));
    rec = run(fx, "Story.\n\nAdvertisement\n\nLinks");
    assert_string_equal(rec->body, "Story.");
    record_free(rec);

    fp = fopen(path, "w");
    fputs("remove ^x$\n", fp);
    fclose(fp);
    assert_int_equal(fx->ops->reload(fx->state, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1: expected 'drop REGEX' or 'cut REGEX'", path);
    assert_non_null(strstr(err, want));
    destroy(fx);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boilerplate_dropped_and_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whitespace_folding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datelines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_false_datelines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_credit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headline_from_first_sentence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_id_stable, setup, teardown),
        cmocka_unit_test(test_pattern_file_errors_and_reload),
        cmocka_unit_test(test_prefilter_never_changes_a_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
