/*
 * test_text.c - the shared tokenizer and UTF-8 validation: word splitting,
 * possessives, hyphen and dot joins, sentence and paragraph starts, break
 * flags, case flags, diacritic and quote folding, and hostile byte input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/text.h"

static struct tokens tok(const char *s)
{
    struct tokens t = {0};
    assert_int_equal(text_tokenize(s, strlen(s), &t), 0);
    return t;
}

/* Normalized form of token i as a NUL-terminated string (the buffer is
 * NUL-separated, so this is a plain pointer). */
static const char *norm(const struct tokens *t, size_t i)
{
    assert_true(i < t->n);
    return text_token_norm(t, i);
}

/* Surface text of token i, copied into a static-free caller buffer. */
static void surface(const char *src, const struct tokens *t, size_t i, char *out, size_t cap)
{
    assert_true(t->toks[i].len < cap);
    memcpy(out, src + t->toks[i].off, t->toks[i].len);
    out[t->toks[i].len] = '\0';
}

static void test_words_and_offsets(void **unused)
{
    const char *s = "Russian forces shelled Kharkiv overnight.";
    struct tokens t = tok(s);
    const char *want[] = {"russian", "forces", "shelled", "kharkiv", "overnight"};
    char buf[64];

    assert_int_equal(t.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(norm(&t, i), want[i]);
        assert_int_equal(t.toks[i].norm_len, strlen(want[i]));
        assert_int_equal(t.toks[i].hash, text_hash64(want[i], strlen(want[i])));
    }
    surface(s, &t, 3, buf, sizeof(buf));
    assert_string_equal(buf, "Kharkiv");
    assert_int_equal(t.toks[3].off, 23);
    assert_int_equal(t.sentences, 1);
    assert_int_equal(t.paragraphs, 1);
    text_tokens_free(&t);
}

static void test_empty_and_punctuation_only(void **unused)
{
    struct tokens t = tok("");
    assert_int_equal(t.n, 0);
    assert_int_equal(t.paragraphs, 0);
    text_tokens_free(&t);
    t = tok(" -- , ... !? “ ” ");
    assert_int_equal(t.n, 0);
    text_tokens_free(&t);
    /* A zeroed struct may be freed, twice. */
    text_tokens_free(&t);
}

static void test_possessive_dropped(void **unused)
{
    const char *variants[] = {"Ukraine's army", "Ukraine’s army", "UKRAINE'S army",
                              "Ukraine\xCA\xBCs army"};
    for (size_t v = 0; v < 4; v++) {
        struct tokens t = tok(variants[v]);
        assert_int_equal(t.n, 2);
        assert_string_equal(norm(&t, 0), "ukraine");
        assert_true(t.toks[0].flags & TOK_POSS);
        assert_int_equal(t.toks[0].len, 7);       /* the 's is not in the span */
        assert_int_equal(t.toks[0].hash, text_hash64("ukraine", 7));
        assert_string_equal(norm(&t, 1), "army");
        assert_false(t.toks[1].flags & TOK_POSS);
        text_tokens_free(&t);
    }
    /* Possessive at the very end of the text. */
    struct tokens t = tok("a win for Kyiv's");
    assert_int_equal(t.n, 4);
    assert_true(t.toks[3].flags & TOK_POSS);
    text_tokens_free(&t);
}

static void test_apostrophe_not_possessive(void **unused)
{
    /* A plural possessive keeps its s; "'self" is not a possessive; a
     * contraction splits. */
    struct tokens t = tok("the allies' plan");
    assert_int_equal(t.n, 3);
    assert_string_equal(norm(&t, 1), "allies");
    assert_false(t.toks[1].flags & TOK_POSS);
    text_tokens_free(&t);

    t = tok("O'Sullivan said");
    assert_int_equal(t.n, 3);
    assert_string_equal(norm(&t, 0), "o");
    assert_string_equal(norm(&t, 1), "sullivan");
    assert_false(t.toks[0].flags & TOK_POSS);
    assert_false(t.toks[1].flags & TOK_BREAK);   /* an apostrophe does not break */
    text_tokens_free(&t);

    t = tok("Kyiv'sky");       /* 's followed by a letter is not a possessive */
    assert_int_equal(t.n, 2);
    assert_false(t.toks[0].flags & TOK_POSS);
    assert_string_equal(norm(&t, 1), "sky");
    text_tokens_free(&t);
}

static void test_hyphen_joins(void **unused)
{
    struct tokens t = tok("fighters of al-Shabaab attacked");
    assert_int_equal(t.n, 5);
    assert_string_equal(norm(&t, 2), "al");
    assert_string_equal(norm(&t, 3), "shabaab");
    assert_true(t.toks[3].flags & TOK_HYPHEN);
    assert_false(t.toks[3].flags & TOK_BREAK);
    assert_true(t.toks[3].flags & TOK_CAP);
    assert_false(t.toks[2].flags & TOK_HYPHEN);
    text_tokens_free(&t);

    /* En dash and the Unicode hyphen join too; an em dash, a spaced hyphen
     * or a double hyphen break. */
    const char *joined[] = {"Kyiv\xE2\x80\x93Moscow", "Kyiv\xE2\x80\x90Moscow"};
    for (size_t i = 0; i < 2; i++) {
        t = tok(joined[i]);
        assert_int_equal(t.n, 2);
        assert_true(t.toks[1].flags & TOK_HYPHEN);
        assert_false(t.toks[1].flags & TOK_BREAK);
        text_tokens_free(&t);
    }
    const char *broken[] = {"Kyiv\xE2\x80\x94Moscow", "Kyiv - Moscow", "Kyiv--Moscow"};
    for (size_t i = 0; i < 3; i++) {
        t = tok(broken[i]);
        assert_int_equal(t.n, 2);
        assert_false(t.toks[1].flags & TOK_HYPHEN);
        assert_true(t.toks[1].flags & TOK_BREAK);
        text_tokens_free(&t);
    }
}

static void test_dotted_abbreviation(void **unused)
{
    struct tokens t = tok("U.S. forces");
    assert_int_equal(t.n, 3);
    assert_string_equal(norm(&t, 0), "u");
    assert_string_equal(norm(&t, 1), "s");
    assert_false(t.toks[1].flags & (TOK_BREAK | TOK_SENT_START | TOK_HYPHEN));
    text_tokens_free(&t);

    /* A decimal number does not end a sentence either. */
    t = tok("inflation rose 3.5 percent");
    assert_int_equal(t.n, 5);
    assert_false(t.toks[3].flags & (TOK_BREAK | TOK_SENT_START));
    assert_true(t.toks[3].flags & TOK_DIGIT);
    assert_int_equal(t.sentences, 1);
    text_tokens_free(&t);

    /* "U.S. officials": a lower-case word after a full stop continues the
     * sentence; names still do not span the stop. */
    t = tok("talks with U.S. officials resumed");
    assert_int_equal(t.n, 6);
    assert_true(t.toks[4].flags & TOK_BREAK);
    assert_false(t.toks[4].flags & TOK_SENT_START);
    assert_int_equal(t.sentences, 1);
    text_tokens_free(&t);

    /* An ellipsis inside a sentence breaks names but dots > 1 is no join. */
    t = tok("Kyiv...Moscow");
    assert_true(t.toks[1].flags & TOK_BREAK);
    text_tokens_free(&t);
}

static void test_sentences_and_paragraphs(void **unused)
{
    const char *s = "Talks failed. Shelling resumed! Will it stop? Nobody knows\n"
                    "Second line\n\nNew paragraph";
    struct tokens t = tok(s);
    /* talks failed shelling resumed will it stop nobody knows second line new paragraph */
    assert_int_equal(t.n, 13);
    const uint16_t S = TOK_SENT_START, P = TOK_PARA_START;
    uint16_t want[13] = {S | P, 0, S, 0, S, 0, 0, S, 0, S | P, 0, S | P, 0};
    for (size_t i = 0; i < t.n; i++) {
        assert_int_equal(t.toks[i].flags & (S | P), want[i]);
        if (want[i])
            assert_true(t.toks[i].flags & TOK_BREAK);
    }
    assert_int_equal(t.sentences, 6);
    assert_int_equal(t.paragraphs, 3);
    text_tokens_free(&t);

    /* A sentence that ends inside quotation marks. */
    t = tok("“We will win.” Officials agreed");
    assert_int_equal(t.n, 5);
    assert_true(t.toks[0].flags & TOK_QUOTE);
    assert_true(t.toks[3].flags & TOK_SENT_START);
    text_tokens_free(&t);
}

static void test_break_at_punctuation(void **unused)
{
    struct tokens t = tok("Kyiv, Ukraine; Berlin: Germany (Paris) \"Rome\" Warsaw Poland");
    assert_int_equal(t.n, 8);
    for (size_t i = 1; i < 7; i++)
        assert_true(t.toks[i].flags & TOK_BREAK);
    assert_false(t.toks[7].flags & TOK_BREAK);    /* space only */
    assert_false(t.toks[7].flags & TOK_SENT_START);
    assert_true(t.toks[5].flags & TOK_QUOTE);     /* "Rome" */
    assert_false(t.toks[1].flags & TOK_SENT_START);
    text_tokens_free(&t);
}

static void test_case_flags(void **unused)
{
    struct tokens t = tok("NATO Nato nato A F-16 G7 ÉMILE Émile éMILE");
    assert_int_equal(t.n, 10);
    assert_int_equal(t.toks[0].flags & (TOK_CAP | TOK_UPPER), TOK_CAP | TOK_UPPER);
    assert_int_equal(t.toks[1].flags & (TOK_CAP | TOK_UPPER), TOK_CAP);
    assert_int_equal(t.toks[2].flags & (TOK_CAP | TOK_UPPER), 0);
    assert_int_equal(t.toks[3].flags & (TOK_CAP | TOK_UPPER), TOK_CAP);  /* one letter */
    assert_string_equal(norm(&t, 4), "f");
    assert_string_equal(norm(&t, 5), "16");
    assert_true(t.toks[5].flags & TOK_DIGIT);
    assert_true(t.toks[5].flags & TOK_HYPHEN);
    assert_string_equal(norm(&t, 6), "g7");
    assert_int_equal(t.toks[6].flags & (TOK_CAP | TOK_UPPER | TOK_DIGIT), TOK_CAP | TOK_DIGIT);
    assert_string_equal(norm(&t, 7), "emile");
    assert_int_equal(t.toks[7].flags & (TOK_CAP | TOK_UPPER), TOK_CAP | TOK_UPPER);
    assert_true(t.toks[7].flags & TOK_NONASCII);  /* about the surface form... */
    assert_int_equal(t.toks[8].flags & (TOK_CAP | TOK_UPPER), TOK_CAP);
    assert_int_equal(t.toks[9].flags & (TOK_CAP | TOK_UPPER), 0);
    text_tokens_free(&t);
}

static void test_diacritic_folding(void **unused)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"Zelenskyy", "zelenskyy"},
        {"Zelenskiy", "zelenskiy"},
        {"Zełenski", "zelenski"},
        {"ZEŁENSKI", "zelenski"},
        {"Erdoğan", "erdogan"},
        {"Erdog\xCC\x86" "an", "erdogan"},           /* g + combining breve */
        {"Müller", "muller"},
        {"Straße", "strasse"},
        {"Łukaszenka", "lukaszenka"},
        {"Şahin", "sahin"},
        {"İstanbul", "istanbul"},
        {"Ærø", "aero"},
        {"Škoda", "skoda"},
        {"Dvořák", "dvorak"},
        {"Київ", "київ"},
        {"ΑΘΗΝΑ", "αθηνα"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tokens t = tok(cases[i].in);
        assert_int_equal(t.n, 1);
        assert_string_equal(norm(&t, 0), cases[i].want);
        assert_int_equal(t.toks[0].hash, text_hash64(cases[i].want, strlen(cases[i].want)));
        assert_true(t.toks[0].flags & TOK_CAP);
        text_tokens_free(&t);
    }
    /* Folded and plain spellings hash alike: what the gazetteer relies on. */
    struct tokens a = tok("Recep Tayyip Erdoğan"), b = tok("recep tayyip ERDOGAN");
    assert_int_equal(a.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(a.toks[i].hash, b.toks[i].hash);
    assert_true(a.toks[2].flags & TOK_NONASCII);
    assert_false(a.toks[2].flags & TOK_UPPER);
    text_tokens_free(&a);
    text_tokens_free(&b);
}

static void test_fold_cp(void **unused)
{
    char out[4];
    assert_int_equal(text_fold_cp(0x2019, out), 1);      /* ’ */
    assert_int_equal(out[0], '\'');
    assert_int_equal(text_fold_cp(0x201C, out), 1);      /* “ */
    assert_int_equal(out[0], '"');
    assert_int_equal(text_fold_cp(0x2014, out), 1);      /* — */
    assert_int_equal(out[0], '-');
    assert_int_equal(text_fold_cp(0x0301, out), 0);      /* combining acute */
    assert_int_equal(text_fold_cp('Q', out), 1);
    assert_int_equal(out[0], 'q');
    assert_int_equal(text_fold_cp(0x4E2D, out), 3);      /* 中 kept */
    assert_memory_equal(out, "\xE4\xB8\xAD", 3);
    assert_false(text_is_word_cp(0x2019));
    assert_false(text_is_word_cp(0xFFFD));
    assert_false(text_is_word_cp(0x1F600));              /* emoji */
    assert_true(text_is_word_cp(0x4E2D));
    assert_true(text_is_word_cp(0x0416));                /* Ж */
}

static void test_typographic_quotes(void **unused)
{
    struct tokens a = tok("“a just and lasting peace,” Blinken’s aide said"),
                  b = tok("\"a just and lasting peace,\" Blinken's aide said");
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, 8);
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.toks[i].hash, b.toks[i].hash);
        assert_int_equal(a.toks[i].flags, b.toks[i].flags);
    }
    assert_true(a.toks[0].flags & TOK_QUOTE);
    assert_true(a.toks[5].flags & TOK_POSS);
    assert_true(a.toks[5].flags & TOK_BREAK);     /* the comma and the quote */
    text_tokens_free(&a);
    text_tokens_free(&b);
}

static void test_fnv_vectors(void **unused)
{
    /* FNV-1a 64 reference values: ids and the dedupe state depend on them. */
    assert_int_equal(text_hash64("", 0), 0xcbf29ce484222325ULL);
    assert_int_equal(text_hash64("a", 1), 0xaf63dc4c8601ec8cULL);
    assert_int_equal(text_hash64("foobar", 6), 0x85944171f73967e8ULL);
    uint64_t h = text_hash64("foo", 3);
    assert_int_equal(text_hash64_continue(h, "bar", 3), text_hash64("foobar", 6));
}

static void test_utf8_valid(void **unused)
{
    size_t at = 99;
    const char ok[] = "plain ASCII, Zełenski, Київ, 中文, \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    assert_int_equal(text_utf8_valid(ok, sizeof(ok) - 1, &at), 1);
    assert_int_equal(text_utf8_valid("", 0, &at), 1);

    struct {
        const char *s;
        size_t len, bad_at;
    } bad[] = {
        {"ab\xC0\xAF", 4, 2},              /* overlong '/' */
        {"\xC1\xBF", 2, 0},                /* overlong, C1 lead */
        {"\xE0\x80\xAF", 3, 0},            /* overlong 3-byte */
        {"\xF0\x80\x80\xAF", 4, 0},        /* overlong 4-byte */
        {"x\xED\xA0\x80", 4, 1},           /* U+D800 high surrogate */
        {"\xED\xBF\xBF", 3, 0},            /* U+DFFF low surrogate */
        {"\xF4\x90\x80\x80", 4, 0},        /* U+110000 */
        {"\xF5\x80\x80\x80", 4, 0},        /* lead byte F5 */
        {"\xF8\x88\x80\x80\x80", 5, 0},    /* 5-byte form */
        {"\xFF", 1, 0},
        {"abc\x80", 4, 3},                 /* lone continuation */
        {"abc\xE2\x80", 5, 3},             /* truncated at the end */
        {"\xE2\x80" "A", 3, 0},            /* truncated before ASCII */
        {"\xF0\x9F\x98", 3, 0},            /* truncated 4-byte */
        {"a\0b", 3, 1},                    /* NUL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at = 99;
        assert_int_equal(text_utf8_valid(bad[i].s, bad[i].len, &at), 0);
        assert_int_equal(at, bad[i].bad_at);
        assert_int_equal(text_utf8_valid(bad[i].s, bad[i].len, NULL), 0);
    }
}

static void test_utf8_decode(void **unused)
{
    size_t n;
    assert_int_equal(text_utf8_decode("\xC5\x82", 2, &n), 0x142);
    assert_int_equal(n, 2);
    assert_int_equal(text_utf8_decode("\xF0\x9F\x98\x80", 4, &n), 0x1F600);
    assert_int_equal(n, 4);
    /* Invalid forms decode as U+FFFD one byte at a time, as documented:
     * an overlong "/" must never decode to '/'. */
    const char *bad[] = {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                         "\xE2\x80", "\x80"};
    size_t lens[] = {2, 3, 3, 4, 2, 1};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(text_utf8_decode(bad[i], lens[i], &n), 0xFFFD);
        assert_int_equal(n, 1);
    }
}

static void test_tokenize_hostile_bytes(void **unused)
{
    /* The tokenizer is also fed unvalidated data files: it must not crash,
     * must produce well-formed offsets, and must not invent letters. */
    const char s[] = "Kyiv\xC0\xAF" "Lviv \xFF\xFE Odesa\xE2\x80 Kharkiv\xED\xA0\x80";
    struct tokens t = tok(s);
    assert_int_equal(t.n, 4);
    assert_string_equal(norm(&t, 0), "kyiv");
    assert_string_equal(norm(&t, 1), "lviv");
    assert_string_equal(norm(&t, 3), "kharkiv");
    for (size_t i = 0; i < t.n; i++)
        assert_true(t.toks[i].off + t.toks[i].len <= sizeof(s) - 1);
    text_tokens_free(&t);

    /* Every byte value alone. */
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, 0};
        struct tokens u = {0};
        assert_int_equal(text_tokenize(one, 1, &u), 0);
        assert_true(u.n <= 1);
        text_tokens_free(&u);
    }
}

static void test_long_input_reuse(void **unused)
{
    /* 20,000 words; the same struct reused for a second, shorter text. */
    size_t n = 20000;
    char *s = malloc(n * 6 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * 6, "drone ", 6);
    s[n * 6] = '\0';
    struct tokens t = {0};
    assert_int_equal(text_tokenize(s, n * 6, &t), 0);
    assert_int_equal(t.n, n);
    assert_int_equal(t.toks[n - 1].off, (n - 1) * 6);
    assert_int_equal(text_tokenize("one two", 7, &t), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(norm(&t, 1), "two");
    text_tokens_free(&t);
    free(s);
}

/* text_tokenize() sizes the normalized buffer once, at len + 2, on the
 * claim that the forms and their NULs never take more than len + 1 bytes.
 * The densest texts there are: one-character words, folds that keep their
 * byte count (ae, ss, ij, Greek and Cyrillic capitals), combining marks,
 * possessives, a word at the very end and one over the 0xffff limit. Run
 * under ASan and valgrind, a write past the buffer fails here. */
/* Words of ASCII letters and digits (most of any English text) take a
 * 16-bytes-at-a-time path when 16 bytes are left, and a byte loop near the
 * end of the text. Random words of 1-20 bytes (both sides of the 8- and
 * 16-byte steps) in mixed case, separated by spaces, with and without
 * whitespace after them: every token's form, hash and case/digit flags must
 * be what the definition says, whichever path took it. */
static void test_ascii_words_both_paths(void **unused)
{
    (void)unused;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint32_t x = 12345;
    char text[4096], word[32], want[32];
    for (int round = 0; round < 400; round++) {
        size_t len = 0, nwords = 0;
        char words[40][24];
        while (nwords < 40 && len + 24 < 2048) {
            x = x * 1103515245u + 12345u;
            size_t wl = 1 + (x >> 16) % 20;
            for (size_t k = 0; k < wl; k++) {
                x = x * 1103515245u + 12345u;
                /* Mostly lower case, like copy; some capitals and digits. */
                unsigned r = (x >> 16) % 100;
                word[k] = r < 70 ? alphabet[(x >> 8) % 26]
                        : r < 90 ? alphabet[26 + (x >> 8) % 26] : alphabet[52 + (x >> 8) % 10];
            }
            word[wl] = '\0';
            memcpy(words[nwords++], word, wl + 1);
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", len ? " " : "", word);
        }
        for (int tail = 0; tail < 2; tail++) {
            size_t tl = len;
            if (tail) {
                memset(text + len, ' ', 20);
                tl += 20;
            }
            struct tokens t = {0};
            assert_int_equal(text_tokenize(text, tl, &t), 0);
            assert_int_equal(t.n, nwords);
            for (size_t i = 0; i < nwords; i++) {
                const char *w = words[i];
                size_t wl = strlen(w);
                int letters = 0, lower = 0, digits = 0, cap = -1;
                for (size_t k = 0; k < wl; k++) {
                    char c = w[k];
                    want[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
                    if (c >= '0' && c <= '9') {
                        digits++;
                    } else {
                        letters++;
                        lower += c >= 'a' && c <= 'z';
                        if (cap < 0)
                            cap = c >= 'A' && c <= 'Z';
                    }
                }
                want[wl] = '\0';
                const struct token *k = &t.toks[i];
                assert_int_equal(k->len, wl);
                assert_memory_equal(text + k->off, w, wl);
                assert_string_equal(text_token_norm(&t, i), want);
                assert_int_equal(k->hash, text_hash64(want, wl));
                assert_int_equal(!!(k->flags & TOK_CAP), cap == 1);
                assert_int_equal(!!(k->flags & TOK_UPPER), letters >= 2 && !lower);
                assert_int_equal(!!(k->flags & TOK_DIGIT), digits > 0);
            }
            text_tokens_free(&t);
        }
    }
}

static void test_norm_fits_in_len_plus_one(void **unused)
{
    static const char *const units[] = {
        "a ", "7-", "\xc3\x86 ", "\xc3\x9f.", "\xc4\xb2 ", "\xce\xa9 ",
        "\xd0\x81 ", "e\xcc\x81 ", "a's ", "b\xe2\x80\x99s,", "x",
    };
    struct tokens t = {0};
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        for (size_t reps = 1; reps <= 300; reps += 299) {
            size_t ul = strlen(units[u]), len = ul * reps;
            char *s = malloc(len);            /* exactly len: no slack, no NUL */
            assert_non_null(s);
            for (size_t r = 0; r < reps; r++)
                memcpy(s + r * ul, units[u], ul);
            assert_int_equal(text_tokenize(s, len, &t), 0);
            assert_true(t.n >= 1);
            assert_true(t.norm_len <= len + 1);
            free(s);
        }
    }
    /* One word longer than a form may be (truncated to 0xffff bytes). */
    size_t len = 70000;
    char *s = malloc(len);
    assert_non_null(s);
    memset(s, 'Q', len);
    text_tokens_free(&t);
    assert_int_equal(text_tokenize(s, len, &t), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.toks[0].norm_len, 0xffff);
    assert_int_equal(t.norm_len, 0xffff + 1);
    free(s);
    text_tokens_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_and_offsets),
        cmocka_unit_test(test_empty_and_punctuation_only),
        cmocka_unit_test(test_possessive_dropped),
        cmocka_unit_test(test_apostrophe_not_possessive),
        cmocka_unit_test(test_hyphen_joins),
        cmocka_unit_test(test_dotted_abbreviation),
        cmocka_unit_test(test_sentences_and_paragraphs),
        cmocka_unit_test(test_break_at_punctuation),
        cmocka_unit_test(test_case_flags),
        cmocka_unit_test(test_diacritic_folding),
        cmocka_unit_test(test_fold_cp),
        cmocka_unit_test(test_typographic_quotes),
        cmocka_unit_test(test_fnv_vectors),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_tokenize_hostile_bytes),
        cmocka_unit_test(test_long_input_reuse),
        cmocka_unit_test(test_norm_fits_in_len_plus_one),
        cmocka_unit_test(test_ascii_words_both_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
