/*
 * test_phrase.c - the token trie: all matches at a position (shortest
 * first, so the last is the longest), no match across a TOK_BREAK,
 * possessives inside phrases, folding shared with the tokenizer, and 100k phrases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/phrase.h"

static void add(struct phrase_set *ps, const char *p, uint32_t v)
{
    char err[256] = "";
    int rc = phrase_set_add(ps, p, v, err, sizeof(err));
    if (rc != 0)
        fail_msg("adding \"%s\": rc %d %s", p, rc, err);
}

/* Longest match at every token of text: writes "value@pos+len" entries. */
static void scan(const struct phrase_set *ps, const char *text, char *out, size_t cap)
{
    struct tokens t = {0};
    struct phrase_match m[8];
    assert_int_equal(text_tokenize(text, strlen(text), &t), 0);
    out[0] = '\0';
    for (size_t i = 0; i < t.n;) {
        size_t k = phrase_set_match_at(ps, &t, i, m, 8);
        if (!k) {
            i++;
            continue;
        }
        for (size_t j = 1; j < k; j++)
            assert_true(m[j].ntok > m[j - 1].ntok);   /* shortest first */
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%u@%zu+%zu", len ? " " : "", m[k - 1].value, i,
                 m[k - 1].ntok);
        i += m[k - 1].ntok;
    }
    text_tokens_free(&t);
}

static void test_longest_match(void **unused)
{
    struct phrase_set *ps = phrase_set_new();
    char out[256];
    assert_non_null(ps);
    add(ps, "NATO", 1);
    add(ps, "NATO summit", 2);
    add(ps, "NATO summit in Vilnius", 3);
    add(ps, "Vilnius", 4);
    add(ps, "summit", 5);
    assert_int_equal(phrase_set_count(ps), 5);

    struct tokens t = {0};
    const char *text = "The NATO summit in Vilnius opened";
    assert_int_equal(text_tokenize(text, strlen(text), &t), 0);
    struct phrase_match m[8];
    size_t k = phrase_set_match_at(ps, &t, 1, m, 8);
    assert_int_equal(k, 3);
    assert_int_equal(m[0].ntok, 1);
    assert_int_equal(m[0].value, 1);
    assert_int_equal(m[1].ntok, 2);
    assert_int_equal(m[1].value, 2);
    assert_int_equal(m[2].ntok, 4);
    assert_int_equal(m[2].value, 3);
    /* max bounds what is written */
    assert_int_equal(phrase_set_match_at(ps, &t, 1, m, 2), 2);
    assert_int_equal(m[1].ntok, 2);
    /* no phrase starts at "The", nothing past the end */
    assert_int_equal(phrase_set_match_at(ps, &t, 0, m, 8), 0);
    assert_int_equal(phrase_set_match_at(ps, &t, t.n, m, 8), 0);
    text_tokens_free(&t);

    scan(ps, text, out, sizeof(out));
    assert_string_equal(out, "3@1+4");
    /* The prefix without its end is not a match of the longer phrase. */
    scan(ps, "a NATO summit in Riga", out, sizeof(out));
    assert_string_equal(out, "2@1+2");
    phrase_set_free(ps);
    phrase_set_free(NULL);
}

static void test_no_match_across_break(void **unused)
{
    struct phrase_set *ps = phrase_set_new();
    char out[256];
    add(ps, "NATO summit", 1);
    add(ps, "NATO", 2);
    add(ps, "Joe Biden", 3);
    add(ps, "Biden", 4);
    add(ps, "People's Liberation Army", 5);

    const struct {
        const char *text, *want;
    } cases[] = {
        {"NATO, summit", "2@0+1"},
        {"NATO. Summit", "2@0+1"},
        {"NATO\nsummit", "2@0+1"},
        {"NATO (summit)", "2@0+1"},
        {"NATO \xE2\x80\x94 summit", "2@0+1"},
        /* A possessive does not end a walk (phrase.h): "People's Liberation
         * Army" is one phrase and "Ukraine's" still matches "Ukraine". */
        {"NATO's summit", "1@0+2"},
        {"NATO’s summit", "1@0+2"},
        {"NATO's, summit", "2@0+1"},
        {"NATO summit", "1@0+2"},
        {"nato  SUMMIT", "1@0+2"},           /* case and spacing do not matter */
        {"Joe, Biden", "4@1+1"},
        {"said Joe Biden's aide", "3@1+2"},  /* the possessive token itself matches */
        {"the People’s Liberation Army", "5@1+3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scan(ps, cases[i].text, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, out, cases[i].want);
    }
    phrase_set_free(ps);
}

static void test_folding_and_hyphens(void **unused)
{
    struct phrase_set *ps = phrase_set_new();
    char out[256];
    add(ps, "Recep Tayyip Erdoğan", 1);
    add(ps, "al-Shabaab", 2);
    add(ps, "Zełenski", 3);
    scan(ps, "President RECEP TAYYIP ERDOGAN said", out, sizeof(out));
    assert_string_equal(out, "1@1+3");
    scan(ps, "al-Shabaab and al Shabaab and al—Shabaab", out, sizeof(out));
    assert_string_equal(out, "2@0+2 2@3+2");
    scan(ps, "zelenski and Zelenski", out, sizeof(out));
    assert_string_equal(out, "3@0+1 3@2+1");
    phrase_set_free(ps);
}

static void test_add_rules(void **unused)
{
    struct phrase_set *ps = phrase_set_new();
    char err[256] = "";
    char out[256];

    assert_int_equal(phrase_set_add(ps, "Kyiv", 7, err, sizeof(err)), 0);
    assert_int_equal(phrase_set_add(ps, "KYIV", 8, err, sizeof(err)), 1);   /* same tokens */
    assert_int_equal(phrase_set_count(ps), 1);
    scan(ps, "in Kyiv", out, sizeof(out));
    assert_string_equal(out, "7@1+1");                                      /* first value kept */

    err[0] = '\0';
    assert_int_equal(phrase_set_add(ps, " ,.- ", 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no words"));
    assert_int_equal(phrase_set_add(ps, "", 1, err, sizeof(err)), -1);
    uint64_t h = text_hash64("x", 1);
    assert_int_equal(phrase_set_add_hashes(ps, &h, 1, UINT32_MAX), -1);    /* reserved */
    assert_int_equal(phrase_set_add_hashes(ps, &h, 0, 1), -1);

    /* A phrase longer than the 16-token stack buffer. */
    const char *longp = "one two three four five six seven eight nine ten eleven twelve "
                        "thirteen fourteen fifteen sixteen seventeen eighteen";
    assert_int_equal(phrase_set_add(ps, longp, 9, err, sizeof(err)), 0);
    char text[512];
    snprintf(text, sizeof(text), "zero %s nineteen", longp);
    scan(ps, text, out, sizeof(out));
    assert_string_equal(out, "9@1+18");
    assert_true(phrase_set_memory(ps) > 0);
    phrase_set_free(ps);
}

static void test_100k_phrases(void **unused)
{
    struct phrase_set *ps = phrase_set_new();
    char p[64], err[64];
    const size_t n = 100000;

    /* Shared prefixes and shared words, so the trie has real fan-out. */
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "w%zu unit %zu", i % 5000, i);
        assert_int_equal(phrase_set_add(ps, p, (uint32_t)i, err, sizeof(err)), 0);
    }
    assert_int_equal(phrase_set_count(ps), n);
    /* Memory stays bounded: well under 1 KiB per phrase. */
    assert_true(phrase_set_memory(ps) < n * 128);

    struct tokens t = {0};
    struct phrase_match m[4];
    for (size_t i = 0; i < n; i += 997) {
        snprintf(p, sizeof(p), "x w%zu unit %zu y", i % 5000, i);
        assert_int_equal(text_tokenize(p, strlen(p), &t), 0);
        assert_int_equal(phrase_set_match_at(ps, &t, 1, m, 4), 1);
        assert_int_equal(m[0].value, i);
        assert_int_equal(m[0].ntok, 3);
    }
    /* Right words, wrong combination: no match. */
    snprintf(p, sizeof(p), "w1 unit 2");
    assert_int_equal(text_tokenize(p, strlen(p), &t), 0);
    assert_int_equal(phrase_set_match_at(ps, &t, 0, m, 4), 0);
    text_tokens_free(&t);
    phrase_set_free(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_no_match_across_break),
        cmocka_unit_test(test_folding_and_hyphens),
        cmocka_unit_test(test_add_rules),
        cmocka_unit_test(test_100k_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
