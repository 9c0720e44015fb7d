/*
 * text.h - UTF-8 validation, normalization and tokenization.
 *
 * One tokenizer serves the whole product: the record's body and headline,
 * gazetteer aliases, taxonomy phrases and boilerplate all go through
 * text_tokenize(), so a phrase written in a data file matches the text
 * exactly when their token streams are equal. Pure functions, no state;
 * callable from any thread.
 */
#ifndef WS_TEXT_H
#define WS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Token flags: facts about the surface form that normalization erases. */
#define TOK_CAP        0x0001 /* first letter is upper case ("Ukraine") */
#define TOK_UPPER      0x0002 /* every letter upper case, 2+ letters ("NATO") */
#define TOK_DIGIT      0x0004 /* contains a digit */
#define TOK_SENT_START 0x0008 /* first token of a sentence or paragraph */
#define TOK_PARA_START 0x0010 /* first token of a paragraph */
#define TOK_BREAK      0x0020 /* punctuation other than a hyphen or an
                               * apostrophe separates it from the previous
                               * token: multi-word names never span it */
#define TOK_HYPHEN     0x0040 /* joined to the previous token by a hyphen */
#define TOK_POSS       0x0080 /* a possessive 's followed and was dropped */
#define TOK_QUOTE      0x0100 /* a quotation mark precedes it */
#define TOK_NONASCII   0x0200 /* normalized form holds non-ASCII bytes */

/*
 * A word: a maximal run of letters and digits. Apostrophes and hyphens
 * split words ("al-Shabaab" -> al, shabaab), except that a trailing 's or ’s
 * is dropped and recorded as TOK_POSS. `off`/`len` index the source text;
 * `norm_off`/`norm_len` index the normalized buffer (lower case, Latin
 * diacritics and typographic variants folded). `hash` is a 64-bit hash of
 * the normalized form; equal forms have equal hashes.
 */
struct token {
    uint32_t off;
    uint32_t len;
    uint32_t norm_off;
    uint16_t norm_len;
    uint16_t flags;
    uint64_t hash;
};

/*
 * A tokenized text. Owns `toks` and `norm`; the source text is borrowed and
 * must outlive it (in a record, the record owns both).
 */
struct tokens {
    struct token *toks;
    size_t n;
    size_t cap;
    char *norm;       /* normalized forms, back to back, NUL-separated */
    size_t norm_len;
    size_t norm_cap;
    size_t paragraphs;
    size_t sentences;
};

/* Returns 1 if buf[0..len) is valid UTF-8 without NUL bytes (no overlong
 * forms, no surrogates, nothing above U+10FFFF), else 0 and, when bad_at
 * is given, the offset of the first bad byte. */
int text_utf8_valid(const char *buf, size_t len, size_t *bad_at);

/* Decodes one code point at s (len bytes available). Returns the code
 * point and stores its byte length in *n; invalid input yields U+FFFD, n=1. */
uint32_t text_utf8_decode(const char *s, size_t len, size_t *n);

/* Tokenizes text[0..len) into *out (cleared first). Returns 0, or -1 on
 * allocation failure (out is left empty but valid). */
int text_tokenize(const char *text, size_t len, struct tokens *out);

/* Releases what *t owns and leaves it empty. Accepts a zeroed struct. */
void text_tokens_free(struct tokens *t);

/* Normalized form of token i (not NUL-terminated; length tok->norm_len). */
static inline const char *text_token_norm(const struct tokens *t, size_t i)
{
    return t->norm + t->toks[i].norm_off;
}

/* 64-bit FNV-1a: stable across runs and machines (ids, fingerprints and
 * the dedupe state depend on that). */
uint64_t text_hash64(const void *buf, size_t len);
uint64_t text_hash64_continue(uint64_t h, const void *buf, size_t len);

/* Folds one code point for matching: lower case, Latin diacritics removed,
 * typographic quotes and dashes to ASCII. Writes up to 4 bytes of UTF-8 to
 * out and returns the count (0 for code points that fold to nothing). */
size_t text_fold_cp(uint32_t cp, char out[4]);

/* Classifies a code point: 1 letter or digit (part of a word), 0 otherwise. */
int text_is_word_cp(uint32_t cp);

#endif
