/*
 * text.c - UTF-8, folding and the one tokenizer everything shares.
 *
 * Folding is deliberately small and table-driven: ASCII, Latin-1, Latin
 * Extended-A (enough for the diacritics of European names: Zelenskyy /
 * Zelenskiy / Zelenskij, Erdoğan / Erdogan), basic Greek and Cyrillic
 * lower-casing, and typographic quotes and dashes. Anything else keeps its
 * bytes, which is still correct for matching, only not folded.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "text.h"

uint64_t text_hash64_continue(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t text_hash64(const void *buf, size_t len)
{
    return text_hash64_continue(0xcbf29ce484222325ULL, buf, len);
}

int text_utf8_valid(const char *buf, size_t len, size_t *bad_at)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    while (i < len) {
        /* ASCII without NUL, 8 bytes at a time */
        while (len - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) ||
                (x & 0x8080808080808080ULL))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;

        if (c == 0)
            goto bad;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 2; cp = c & 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3; cp = c & 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4; cp = c & 0x07; min = 0x10000;
        } else {
            goto bad;
        }
        if (i + n > len)
            goto bad;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += n;
    }
    return 1;
bad:
    if (bad_at)
        *bad_at = i;
    return 0;
}

uint32_t text_utf8_decode(const char *str, size_t len, size_t *n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    size_t need;
    uint32_t cp, min;

    if (c < 0x80) {
        *n = 1;
        return c;
    }
    if ((c & 0xe0) == 0xc0) {
        need = 2; cp = c & 0x1f; min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        need = 3; cp = c & 0x0f; min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        need = 4; cp = c & 0x07; min = 0x10000;
    } else {
        *n = 1;
        return 0xfffd;
    }
    if (need > len) {
        *n = 1;
        return 0xfffd;
    }
    for (size_t k = 1; k < need; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            *n = 1;
            return 0xfffd;
        }
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid too:
     * an overlong "/" must not decode to '/'. */
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *n = 1;
        return 0xfffd;
    }
    *n = need;
    return cp;
}

/* U+00C0..U+00FF and U+0100..U+017F folded to ASCII; '?' marks the
 * few that fold to two letters or are not letters at all. */
static const char latin1_fold[64 + 1] =
    "aaaaaa?ceeeeiiiidnooooo?ouuuuy??aaaaaa?ceeeeiiiidnooooo?ouuuuy?y";
static const char latin_ext_a_fold[128 + 1] =
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii" "ii??jjkkklllllll"
    "lllnnnnnnnnnoooo" "oo??rrrrrrssssss" "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";

static int is_upper_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z';
    if (cp >= 0xc0 && cp <= 0xde)
        return cp != 0xd7;
    if (cp >= 0x100 && cp <= 0x17f) {
        if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17f)
            return 0;
        if (cp == 0x178)
            return 1;
        if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
            return cp & 1;
        return !(cp & 1);
    }
    if (cp >= 0x391 && cp <= 0x3a9)
        return 1;
    if (cp >= 0x400 && cp <= 0x42f)
        return 1;
    return 0;
}

int text_is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               (cp >= '0' && cp <= '9');
    if (cp < 0xc0)
        return 0;                       /* Latin-1 punctuation and symbols */
    if (cp == 0xd7 || cp == 0xf7)
        return 0;                       /* multiplication, division signs */
    if (cp >= 0x2b0 && cp <= 0x2ff)
        return 0;                       /* modifier letters: apostrophes */
    if (cp >= 0x2000 && cp <= 0x2bff)
        return 0;                       /* punctuation, currency, symbols */
    if (cp >= 0x3000 && cp <= 0x303f)
        return 0;                       /* CJK punctuation */
    if (cp >= 0xfe30 && cp <= 0xfe6f)
        return 0;
    if (cp >= 0xff00 && cp <= 0xff0f)
        return 0;
    if (cp >= 0xfff0 && cp <= 0xffff)
        return 0;                       /* specials, U+FFFD */
    if (cp >= 0x1f000 && cp <= 0x1faff)
        return 0;                       /* emoji and pictographs */
    if (cp >= 0xe000 && cp <= 0xf8ff)
        return 0;                       /* private use */
    return 1;
}

static size_t put_utf8(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t text_fold_cp(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
        return 1;
    }
    if (cp >= 0xc0 && cp <= 0xff) {
        switch (cp) {
        case 0xc6: case 0xe6: out[0] = 'a'; out[1] = 'e'; return 2;
        case 0xde: case 0xfe: out[0] = 't'; out[1] = 'h'; return 2;
        case 0xdf: out[0] = 's'; out[1] = 's'; return 2;
        case 0xd7: case 0xf7: return put_utf8(cp, out);
        default: out[0] = latin1_fold[cp - 0xc0]; return 1;
        }
    }
    if (cp >= 0x100 && cp <= 0x17f) {
        switch (cp) {
        case 0x132: case 0x133: out[0] = 'i'; out[1] = 'j'; return 2;
        case 0x152: case 0x153: out[0] = 'o'; out[1] = 'e'; return 2;
        default: out[0] = latin_ext_a_fold[cp - 0x100]; return 1;
        }
    }
    if (cp >= 0x300 && cp <= 0x36f)
        return 0;                       /* combining marks vanish */
    switch (cp) {
    case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x2032: case 0x2bc:
        out[0] = '\''; return 1;
    case 0x201c: case 0x201d: case 0x201e: case 0x201f: case 0x2033:
        out[0] = '"'; return 1;
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
    case 0x2015: case 0x2212:
        out[0] = '-'; return 1;
    case 0xa0:
        out[0] = ' '; return 1;
    }
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
        return put_utf8(cp + 0x20, out);
    if (cp >= 0x410 && cp <= 0x42f)
        return put_utf8(cp + 0x20, out);
    if (cp >= 0x400 && cp <= 0x40f)
        return put_utf8(cp + 0x50, out);
    return put_utf8(cp, out);
}

/* ASCII letters and digits for the tokenizer's inner loop: the folded byte
 * (low 8 bits) and its kind (AC_* << 8), one load per byte; 0 for every
 * other byte. */
enum { AC_NONE = 0, AC_DIGIT = 1, AC_LOWER = 2, AC_UPPER = 4 };    /* bits */
#define D(c) (uint16_t)((c) | AC_DIGIT << 8)
#define L(c) (uint16_t)((c) | AC_LOWER << 8)
#define U(c) (uint16_t)(((c) + 32) | AC_UPPER << 8)
static const uint16_t ascii_fold[256] = {
    ['0'] = D('0'), ['1'] = D('1'), ['2'] = D('2'), ['3'] = D('3'), ['4'] = D('4'),
    ['5'] = D('5'), ['6'] = D('6'), ['7'] = D('7'), ['8'] = D('8'), ['9'] = D('9'),
    ['a'] = L('a'), ['b'] = L('b'), ['c'] = L('c'), ['d'] = L('d'), ['e'] = L('e'),
    ['f'] = L('f'), ['g'] = L('g'), ['h'] = L('h'), ['i'] = L('i'), ['j'] = L('j'),
    ['k'] = L('k'), ['l'] = L('l'), ['m'] = L('m'), ['n'] = L('n'), ['o'] = L('o'),
    ['p'] = L('p'), ['q'] = L('q'), ['r'] = L('r'), ['s'] = L('s'), ['t'] = L('t'),
    ['u'] = L('u'), ['v'] = L('v'), ['w'] = L('w'), ['x'] = L('x'), ['y'] = L('y'),
    ['z'] = L('z'), ['A'] = U('A'), ['B'] = U('B'), ['C'] = U('C'), ['D'] = U('D'),
    ['E'] = U('E'), ['F'] = U('F'), ['G'] = U('G'), ['H'] = U('H'), ['I'] = U('I'),
    ['J'] = U('J'), ['K'] = U('K'), ['L'] = U('L'), ['M'] = U('M'), ['N'] = U('N'),
    ['O'] = U('O'), ['P'] = U('P'), ['Q'] = U('Q'), ['R'] = U('R'), ['S'] = U('S'),
    ['T'] = U('T'), ['U'] = U('U'), ['V'] = U('V'), ['W'] = U('W'), ['X'] = U('X'),
    ['Y'] = U('Y'), ['Z'] = U('Z'),
};
#undef D
#undef L
#undef U

static inline unsigned ascii_kind(unsigned char b)
{
    return ascii_fold[b] >> 8;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static int is_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x2bc || cp == 0x2032;
}

static int is_hyphen(uint32_t cp)
{
    return cp == '-' || (cp >= 0x2010 && cp <= 0x2013);
}

static int is_quote(uint32_t cp)
{
    return cp == '"' || cp == 0x201c || cp == 0x201d || cp == 0x201e ||
           cp == 0xab || cp == 0xbb;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xa0 ||
           cp == '\v' || cp == '\f' || (cp >= 0x2000 && cp <= 0x200b) ||
           cp == 0x202f || cp == 0x3000;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

void text_tokens_free(struct tokens *t)
{
    free(t->toks);
    free(t->norm);
    memset(t, 0, sizeof(*t));
}

/*
 * Gap flags: what separates a token from the previous one decides whether
 * a multi-word name may span it. Whitespace and apostrophes do not break;
 * a lone hyphen or a lone dot between word characters joins ("al-Shabaab",
 * "U.S."); any other punctuation breaks; a sentence ends at . ! ? followed
 * by whitespace or a quote, a paragraph at a newline.
 *
 * A gap is one word of bits (cleared per token for free): facts, and
 * hyphens and dots counted as "one" / "more than one".
 */
enum {
    G_SPACE = 0x01, G_NEWLINE = 0x02, G_END = 0x04, G_QUOTE = 0x08, G_OTHER = 0x10,
    G_HYPHEN1 = 0x100, G_HYPHENS = 0x200,   /* at least one, more than one */
    G_DOT1 = 0x400, G_DOTS = 0x800,
    G_ADD_HYPHEN = 0x1000, G_ADD_DOT = 0x2000,   /* table only: count one */
};

/* What an ASCII byte outside words adds to the gap. */
static const uint16_t gap_ascii[128] = {
    [0 ... 8] = G_OTHER,
    ['\t'] = G_SPACE, ['\n'] = G_SPACE | G_NEWLINE, ['\v'] = G_SPACE, ['\f'] = G_SPACE,
    ['\r'] = G_SPACE,
    [14 ... 31] = G_OTHER,
    [' '] = G_SPACE,
    ['!'] = G_END | G_OTHER,
    ['"'] = G_QUOTE | G_OTHER,
    ['#' ... '&'] = G_OTHER,
    ['\''] = 0,
    ['(' ... ','] = G_OTHER,
    ['-'] = G_ADD_HYPHEN,
    ['.'] = G_ADD_DOT | G_END,
    ['/' ... '>'] = G_OTHER,      /* digits included: never looked up */
    ['?'] = G_END | G_OTHER,
    ['@' ... 127] = G_OTHER,      /* letters included: never looked up */
};

static inline unsigned gap_add(unsigned g, unsigned t)
{
    g |= t & 0xff;
    if (t & G_ADD_HYPHEN)
        g |= G_HYPHEN1 | ((g & G_HYPHEN1) << 1);
    if (t & G_ADD_DOT)
        g |= G_DOT1 | ((g & G_DOT1) << 1);
    return g;
}

/* The same for any code point outside words. */
static unsigned gap_of_cp(uint32_t cp)
{
    if (cp < 0x80)
        return gap_ascii[cp];
    if (is_space(cp))
        return G_SPACE;
    if (is_hyphen(cp))
        return G_ADD_HYPHEN;
    if (is_apostrophe(cp))
        return 0;                       /* neither joins nor breaks */
    return is_quote(cp) ? G_QUOTE | G_OTHER : G_OTHER;
}

/* What the scan learned about a word, for its flags. */
struct word_facts {
    int letters, digits, nonupper, nonascii;
    int cap_first;          /* first letter upper case (1) or not (0); -1: no letter */
};

/* Sets a finished token's flags from its facts and the gap before it, and
 * counts the sentence or paragraph it starts. */
static inline __attribute__((always_inline)) void
set_flags(struct tokens *out, struct token *tok, const struct word_facts *w, unsigned gap,
          int first, unsigned char first_byte)
{
    unsigned f = 0;
    if (w->cap_first == 1)
        f |= TOK_CAP;
    if (w->letters >= 2 && !w->nonupper)
        f |= TOK_UPPER;
    if (w->digits)
        f |= TOK_DIGIT;
    if (w->nonascii)
        f |= TOK_NONASCII;

    if (gap == G_SPACE && !first) {
        /* Nothing but whitespace on one line since the last word: most
         * words of running text. No other flag applies. */
    } else if (first) {
        f |= TOK_SENT_START | TOK_PARA_START | TOK_BREAK;
        out->sentences++;
    } else {
        int joined = !(gap & (G_SPACE | G_OTHER)) &&
                     ((gap & (G_HYPHEN1 | G_HYPHENS | G_DOT1)) == G_HYPHEN1 ||
                      (gap & (G_DOT1 | G_DOTS | G_HYPHEN1)) == G_DOT1);
        if (gap & G_NEWLINE) {
            f |= TOK_PARA_START | TOK_SENT_START | TOK_BREAK;
            out->paragraphs++;
            out->sentences++;
        } else if ((gap & G_END) && !joined) {
            /* "U.S. officials", "approx. five": a lower-case word after a
             * full stop continues the sentence, though no name spans it. */
            int lower_next = w->letters && w->cap_first == 0 &&
                             !(first_byte >= '0' && first_byte <= '9');
            f |= lower_next ? TOK_BREAK : TOK_SENT_START | TOK_BREAK;
            out->sentences += !lower_next;
        } else if ((gap & G_OTHER) || ((gap & G_HYPHEN1) && !joined) || (gap & G_DOTS)) {
            f |= TOK_BREAK;
        }
        if (joined && (gap & G_HYPHEN1))
            f |= TOK_HYPHEN;
    }
    if (gap & G_QUOTE)
        f |= TOK_QUOTE;
    tok->flags |= (uint16_t)f;
}

/* Facts of a run of ASCII letters and digits text[rs..end) at the start of a
 * word (`seen`: the ascii_fold kinds met, already shifted down), added to w.
 * Digits are counted only when the run has any. */
static inline __attribute__((always_inline)) void
ascii_run_facts(const char *text, size_t rs, size_t end, unsigned seen, struct word_facts *w)
{
    size_t rd = 0, lead = rs;
    if (seen & AC_DIGIT) {
        for (size_t k = rs; k < end; k++)
            rd += ascii_kind((unsigned char)text[k]) == AC_DIGIT;
        while (lead < end && ascii_kind((unsigned char)text[lead]) == AC_DIGIT)
            lead++;
    }
    w->digits += (int)rd;
    w->letters += (int)(end - rs - rd);
    w->nonupper |= (seen & AC_LOWER) != 0;
    if (w->cap_first < 0 && lead < end)
        w->cap_first = ascii_kind((unsigned char)text[lead]) == AC_UPPER;
}

/* Folds and hashes (FNV-1a, as text_hash64()) a run of ASCII letters and
 * digits that starts at p (info: ascii_fold[*p], not 0), writing the folded
 * bytes at *q and continuing the hash *h. Returns the end of the run; *seen
 * gets the ascii_fold kinds met. The byte-by-byte path: for runs inside a
 * word with other letters, near the end of the text, of 16 bytes or more,
 * and everywhere without SSE2 (fold_ascii_word16() takes the rest). */
static inline __attribute__((always_inline)) const unsigned char *
fold_ascii_run(const unsigned char *p, const unsigned char *stop, unsigned info, char **q,
               uint64_t *h, unsigned *seen)
{
    char *o = *q;
    uint64_t hh = *h;
    unsigned sn = 0;
    do {
        unsigned char lb = (unsigned char)info;
        sn |= info;
        *o++ = (char)lb;
        hh = (hh ^ lb) * FNV_PRIME;
        if (++p == stop)
            break;
        info = ascii_fold[*p];
    } while (info);
    *q = o;
    *h = hh;
    *seen = sn;
    return p;
}

#ifdef __SSE2__
/* 0xff in each byte of b that lies in [lo, hi]. */
static inline __m128i bytes_in(__m128i b, char lo, char hi)
{
    __m128i t = _mm_sub_epi8(b, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_subs_epu8(t, _mm_set1_epi8((char)(hi - lo))), _mm_setzero_si128());
}

/* FNV-1a over the first n (<= 8) bytes of w (little-endian), continuing h.
 * All eight steps are taken and the one after byte n is picked: a loop of
 * n steps would end with a mispredicted branch for nearly every word. */
static inline __attribute__((always_inline)) uint64_t fnv_prefix8(uint64_t h, uint64_t w,
                                                                 unsigned n)
{
    uint64_t after[9];
    after[0] = h;
#pragma GCC unroll 8
    for (unsigned k = 0; k < 8; k++) {
        h = (h ^ ((w >> (8 * k)) & 0xff)) * FNV_PRIME;
        after[k + 1] = h;
    }
    return after[n];
}

/* Nearly every word of English copy, without a loop over its bytes: a run
 * of ASCII letters and digits shorter than 16 bytes at p, with 16 bytes
 * readable there, is classified, measured and folded 16 bytes at a time
 * and hashed (FNV-1a, as text_hash64()) with no branch on its length but
 * one for runs longer than 8 bytes. Writes 16 bytes at q: the caller's
 * buffer always has them, because the normalized text never runs ahead of
 * the source (q - norm <= p - text) and the source has 16 bytes left.
 * Returns the run's length, or 0 (nothing written) when it is 16 bytes or
 * longer. */
static inline __attribute__((always_inline)) unsigned
fold_ascii_word16(const unsigned char *p, char *q, uint64_t *h, unsigned *seen)
{
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m128i up = bytes_in(b, 'A', 'Z');
    unsigned upper = (unsigned)_mm_movemask_epi8(up);
    unsigned lower = (unsigned)_mm_movemask_epi8(bytes_in(b, 'a', 'z'));
    unsigned digit = (unsigned)_mm_movemask_epi8(bytes_in(b, '0', '9'));
    unsigned n = (unsigned)__builtin_ctz(~(upper | lower | digit));
    if (n >= 16)
        return 0;
    __m128i folded = _mm_or_si128(b, _mm_and_si128(up, _mm_set1_epi8(0x20)));
    _mm_storeu_si128((__m128i *)q, folded);
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(folded);
    uint64_t hh;
    if (n <= 8) {
        hh = fnv_prefix8(FNV_OFFSET, lo, n);
    } else {            /* one word in six or so */
        hh = fnv_prefix8(FNV_OFFSET, lo, 8);
        hh = fnv_prefix8(hh, (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(folded, folded)),
                         n - 8);
    }
    *h = hh;
    /* The kinds ascii_run_facts() reads: digits and lower case. */
    unsigned in = (1u << n) - 1;
    *seen = ((digit & in) ? AC_DIGIT << 8 : 0) | ((lower & in) ? AC_LOWER << 8 : 0);
    return n;
}
#endif

int text_tokenize(const char *text, size_t len, struct tokens *out)
{
    unsigned gap = 0;
    size_t i = 0;
    int first = 1;

    out->n = 0;
    out->norm_len = 0;
    out->paragraphs = len ? 1 : 0;
    out->sentences = 0;

    /* Sized once. The normalized forms always fit in len + 1 bytes: a
     * folded form is never longer than its source (text_fold_cp), and each
     * token's NUL fits in the byte that separates it from the next one
     * (words are maximal runs), so nothing below grows `norm`. The token
     * array is sized for typical copy (a word every 6 bytes or so) rather
     * than doubled up from nothing; denser text still grows it. */
    if (grow((void **)&out->toks, &out->cap, len / 5 + 16, sizeof(struct token)) < 0 ||
        grow((void **)&out->norm, &out->norm_cap, len + 2, 1) < 0)
        goto oom;

    while (i < len) {
        unsigned char c0 = (unsigned char)text[i];
        if (c0 < 0x80) {
            unsigned info = ascii_fold[c0];
            if (!info) {
                gap = c0 == ' ' ? gap | G_SPACE : gap_add(gap, gap_ascii[c0]);
                i++;
                continue;
            }
            /* Nearly every word of English copy: ASCII letters and digits,
             * then an ASCII byte other than an apostrophe, or the end. It is
             * folded, hashed and classified in one go and stored here; any
             * other word (an apostrophe or a non-ASCII letter follows, or a
             * form too long) is taken again from its start by the general
             * loop below, over what this one wrote past norm_len. */
            const unsigned char *stop = (const unsigned char *)text + len;
            const unsigned char *p = (const unsigned char *)text + i;
            char *q0 = out->norm + out->norm_len, *q = q0;
            uint64_t h = FNV_OFFSET;
            unsigned seen, n = 0;
#ifdef __SSE2__
            if (stop - p >= 16)
                n = fold_ascii_word16(p, q0, &h, &seen);
#endif
            if (n) {
                p += n;
                q += n;
            } else {
                p = fold_ascii_run(p, stop, info, &q, &h, &seen);
            }
            size_t nl = (size_t)(q - q0);
            if ((p == stop || (*p < 0x80 && *p != '\'')) && nl <= 0xffff) {
                size_t end = (size_t)(p - (const unsigned char *)text);
                if (out->n == out->cap &&
                    grow((void **)&out->toks, &out->cap, out->n + 1, sizeof(struct token)) < 0)
                    goto oom;
                struct token *tok = &out->toks[out->n];
                tok->off = (uint32_t)i;
                tok->len = (uint32_t)(end - i);
                tok->norm_off = (uint32_t)out->norm_len;
                tok->norm_len = (uint16_t)nl;
                tok->flags = 0;
                tok->hash = h;
                *q = '\0';
                out->norm_len += nl + 1;
                struct word_facts w = {0, 0, 0, 0, -1};
                ascii_run_facts(text, i, end, seen >> 8, &w);
                set_flags(out, tok, &w, gap, first, c0);
                first = 0;
                gap = 0;
                out->n++;
                i = end;
                continue;
            }
        } else {
            size_t n = 1;
            uint32_t cp = text_utf8_decode(text + i, len - i, &n);
            if (!text_is_word_cp(cp)) {
                gap = gap_add(gap, gap_of_cp(cp));
                i += n;
                continue;
            }
        }

        /* A word starts at i. */
        size_t start = i;
        size_t end = i;
        struct word_facts w = {0, 0, 0, 0, -1};

        if (out->n == out->cap &&
            grow((void **)&out->toks, &out->cap, out->n + 1, sizeof(struct token)) < 0)
            goto oom;
        struct token *tok = &out->toks[out->n];
        tok->norm_off = (uint32_t)out->norm_len;
        tok->flags = 0;

        /* The folded form goes through locals (stores through char * would
         * make the compiler reload out->norm_len every byte), hashed
         * (FNV-1a, as text_hash64()) as it is written. */
        char *norm = out->norm;
        size_t nlen = out->norm_len;
        uint64_t h = FNV_OFFSET;
        while (end < len) {
            unsigned char b = (unsigned char)text[end];
            unsigned info = ascii_fold[b];
            if (info) {
                /* A run of ASCII letters and digits; counts are taken after. */
                const unsigned char *stop = (const unsigned char *)text + len;
                char *q = norm + nlen;
                unsigned seen;
                const unsigned char *p = fold_ascii_run((const unsigned char *)text + end, stop,
                                                        info, &q, &h, &seen);
                size_t rs = end;
                end = (size_t)(p - (const unsigned char *)text);
                nlen = (size_t)(q - norm);
                b = p < stop ? *p : 0;
                ascii_run_facts(text, rs, end, seen >> 8, &w);
                if (end >= len)
                    break;
                /* Any other ASCII byte but an apostrophe ends the word. */
                if (b < 0x80 && b != '\'')
                    break;
                continue;
            }
            size_t m = 1;
            uint32_t c = b;
            if (b >= 0x80)
                c = text_utf8_decode(text + end, len - end, &m);
            if (!(c < 0x80 ? ascii_fold[c] != 0 : text_is_word_cp(c))) {
                /* A possessive 's ends the word and is dropped. */
                if (is_apostrophe(c) && end + m < len &&
                    (text[end + m] == 's' || text[end + m] == 'S')) {
                    size_t after = end + m + 1;
                    size_t k;
                    if (after >= len ||
                        !text_is_word_cp(text_utf8_decode(text + after, len - after, &k))) {
                        tok->flags |= TOK_POSS;
                        tok->off = (uint32_t)start;
                        tok->len = (uint32_t)(end - start);
                        end = after;
                        out->norm_len = nlen;
                        goto word_done;
                    }
                }
                break;
            }
            char f[4];
            size_t fl = text_fold_cp(c, f);
            memcpy(norm + nlen, f, fl);
            for (size_t q = 0; q < fl; q++)
                h = (h ^ (unsigned char)f[q]) * FNV_PRIME;
            nlen += fl;
            if (c >= '0' && c <= '9') {
                w.digits++;
            } else if (!(c >= 0x300 && c <= 0x36f)) {
                w.letters++;
                w.nonupper |= !is_upper_cp(c);
                if (w.cap_first < 0)
                    w.cap_first = is_upper_cp(c);
            }
            if (c >= 0x80)
                w.nonascii = 1;
            end += m;
        }
        out->norm_len = nlen;
        tok->off = (uint32_t)start;
        tok->len = (uint32_t)(end - start);
word_done:
        {
            size_t nl = out->norm_len - tok->norm_off;
            if (nl > 0xffff) {           /* pathological "word": truncate its form */
                out->norm_len = tok->norm_off + 0xffff;
                nl = 0xffff;
                h = text_hash64(out->norm + tok->norm_off, nl);
            }
            tok->norm_len = (uint16_t)nl;
            out->norm[out->norm_len++] = '\0';
            tok->hash = h;
        }
        set_flags(out, tok, &w, gap, first, (unsigned char)text[start]);
        first = 0;
        gap = 0;
        out->n++;
        i = end;
    }
    return 0;
oom:
    text_tokens_free(out);
    return -1;
}
