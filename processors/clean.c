/*
 * clean.c - the first processor: makes a scraped article fit to analyse.
 *
 * Removes site boilerplate line by line (patterns in a file, reloadable),
 * folds whitespace while keeping paragraphs, parses the wire dateline
 * ("KYIV, June 2 (Reuters) -", any plausible agency name) and trailing
 * credits of the configured agencies ("(AFP)", "— AP"), fills
 * a missing headline with the first sentence and a missing id with a hash
 * of the cleaned words. The output body keeps the original characters:
 * quote and dash folding happens only in the token stream.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"

struct clean_conf {
    char *boilerplate;          /* pattern file */
    struct conf_list agencies;  /* credits recognised at the end of a story
                                   (datelines take other names too) */
    int64_t headline_max;
    int parse_dateline;
};

static const struct conf_key clean_keys[] = {
    {"boilerplate", CONF_PATH, "boilerplate.conf", offsetof(struct clean_conf, boilerplate),
     "file of boilerplate patterns: 'drop REGEX' removes a matching line, "
     "'cut REGEX' removes it and everything after"},
    {"agencies", CONF_LIST,
     "Reuters, AP, AFP, Associated Press, Agence France-Presse, dpa, ANSA, EFE, Xinhua, "
     "TASS, Ukrinform, Anadolu, Kyodo, Yonhap, PTI, Bloomberg, UPI",
     offsetof(struct clean_conf, agencies),
     "agency names recognised in trailing credits; datelines take these and any short "
     "run of capitalised words"},
    {"headline_max", CONF_INT, "200", offsetof(struct clean_conf, headline_max),
     "longest headline taken from the first sentence, in bytes"},
    {"parse_dateline", CONF_BOOL, "true", offsetof(struct clean_conf, parse_dateline),
     "recognise 'PLACE, Month D (Agency) -' at the start of the body"},
    {NULL, 0, NULL, 0, NULL},
};

struct rule {
    regex_t re;
    int cut;                    /* 1: remove the rest of the article too */
    /* Pre-filter, from rx_analyze(): when the pattern is anchored at both
     * ends, a line longer than maxlen characters, or whose first byte is
     * not in `first` (or second byte not in `second`), cannot match and
     * regexec() (which case-folds the whole line for every pattern) is
     * skipped. */
    int anchored;
    size_t maxlen;
    uint8_t first[32];
    int use_second;             /* second: bytes that can follow an ASCII first */
    uint8_t second[32];
};

struct rules {
    struct rule *v;
    size_t n;
};

struct clean {
    const struct clean_conf *conf;
    struct rules *rules;
    uint64_t lines_dropped, cuts, datelines, credits, headlines_made, ids_made;
};

/*
 * A conservative reading of a POSIX extended regular expression (as
 * compiled with REG_ICASE), enough to pre-filter lines without changing
 * what matches: the longest match in characters, whether the empty string
 * matches, the bytes a non-empty match can start with and those its second
 * character can start with. Anything not
 * understood (back-references, odd quantifiers) gives up: maxlen is then
 * unbounded and every byte may start a match. Counting a multi-byte
 * literal as several characters and letting every non-ASCII byte start a
 * match keeps it safe in a UTF-8 locale too.
 */
#define RX_INF SIZE_MAX

struct rxi {
    size_t max;
    int nullable;
    int len1;                       /* may match exactly one character */
    int anchor_start, anchor_end;   /* branch begins with ^ / ends with $ */
    uint8_t first[32];
    uint8_t second[32];             /* second character of longer matches */
};

static void rx_set(uint8_t *set, unsigned c)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static void rx_set_all(uint8_t *set, unsigned from)
{
    for (unsigned c = from; c < 256; c++)
        rx_set(set, c);
}

static void rx_union(uint8_t *dst, const uint8_t *src)
{
    for (size_t i = 0; i < 32; i++)
        dst[i] |= src[i];
}

static size_t rx_add(size_t a, size_t b)
{
    return a == RX_INF || b == RX_INF || a + b < a ? RX_INF : a + b;
}

static size_t rx_mul(size_t a, size_t n)
{
    if (a == 0 || n == 0)
        return 0;
    return a == RX_INF || a > RX_INF / n ? RX_INF : a * n;
}

static const char *rx_alt(const char *p, struct rxi *out, int depth);

/* One atom; NULL when not understood. */
static const char *rx_atom(const char *p, struct rxi *a, int depth)
{
    unsigned char c = (unsigned char)*p;
    memset(a, 0, sizeof(*a));
    a->max = 1;
    switch (c) {
    case '(':
        p = rx_alt(p + 1, a, depth + 1);
        if (!p || *p != ')')
            return NULL;
        a->anchor_start = a->anchor_end = 0;
        return p + 1;
    case '.':
        rx_set_all(a->first, 1);
        a->len1 = 1;
        return p + 1;
    case '[':
        p++;
        if (*p == '^')
            p++;
        if (*p == ']')
            p++;
        while (*p != ']') {
            if (!*p)
                return NULL;
            if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                char close = p[1];
                p += 2;
                while (*p && !(p[0] == close && p[1] == ']'))
                    p++;
                if (!*p)
                    return NULL;
                p += 2;
            } else {
                p++;
            }
        }
        rx_set_all(a->first, 1);
        a->len1 = 1;
        return p + 1;
    case '^':
    case '$':
        a->max = 0;
        a->nullable = 1;
        a->anchor_start = c == '^';
        a->anchor_end = c == '$';
        return p + 1;
    case '\\':
        c = (unsigned char)p[1];
        if (!c || (c >= '1' && c <= '9'))
            return NULL;                        /* back-reference */
        if (strchr("bB<>`'", c)) {              /* zero-width GNU operators */
            a->max = 0;
            a->nullable = 1;
        } else if (strchr("wWsS", c)) {
            rx_set_all(a->first, 1);
            a->len1 = 1;
        } else if (isalnum(c)) {
            return NULL;                        /* some other GNU escape */
        } else {
            rx_set(a->first, c);
            if (MB_CUR_MAX > 1)
                rx_set_all(a->first, 0x80);
            a->len1 = 1;
        }
        return p + 2;
    case '\0':
    case '*':
    case '+':
    case '?':
    case '{':
    case '|':
    case ')':
        return NULL;
    default:
        /* ASCII letters may match a case variant; in a UTF-8 locale a
         * few non-ASCII letters fold to ASCII ones (dotless i, long s).
         * wirestream never calls setlocale(), so it runs in the C locale,
         * where regexec() compares bytes and only ASCII letters fold: a
         * line opening with a curly quote then skips every rule that
         * starts with a letter. */
        rx_set(a->first, (unsigned char)tolower(c));
        rx_set(a->first, (unsigned char)toupper(c));
        if (MB_CUR_MAX > 1)
            rx_set_all(a->first, 0x80);
        a->len1 = 1;
        return p + 1;
    }
}

/* An atom and its quantifiers. */
static const char *rx_piece(const char *p, struct rxi *a, int depth)
{
    if (!(p = rx_atom(p, a, depth)))
        return NULL;
    for (;;) {
        if (*p == '*' || *p == '+') {
            a->max = a->max ? RX_INF : 0;
            a->nullable |= *p == '*';
            if (a->len1)            /* a repetition's first char comes second */
                rx_union(a->second, a->first);
            p++;
        } else if (*p == '?') {
            a->nullable = 1;
            p++;
        } else if (*p == '{') {
            char *end;
            if (!isdigit((unsigned char)p[1]))
                return NULL;
            unsigned long m = strtoul(p + 1, &end, 10), n = m;
            int bounded = 1;
            if (*end == ',') {
                if (isdigit((unsigned char)end[1]))
                    n = strtoul(end + 1, &end, 10);
                else {
                    bounded = 0;
                    end++;
                }
            }
            if (*end != '}' || (bounded && n < m))
                return NULL;
            if (bounded && n == 0) {
                memset(a, 0, sizeof(*a));      /* only the empty string */
                a->nullable = 1;
            } else {
                a->max = bounded ? rx_mul(a->max, n) : (a->max ? RX_INF : 0);
                a->nullable |= m == 0;
                if (a->len1 && (!bounded || n >= 2))
                    rx_union(a->second, a->first);
            }
            p = end + 1;
        } else {
            break;
        }
        a->anchor_start = a->anchor_end = 0;
    }
    return p;
}

static const char *rx_branch(const char *p, struct rxi *b, int depth)
{
    int first_piece = 1;
    memset(b, 0, sizeof(*b));
    b->nullable = 1;
    while (*p && *p != '|' && *p != ')') {
        struct rxi a;
        if (!(p = rx_piece(p, &a, depth)))
            return NULL;
        /* '^' and '$' only where they are plainly anchors */
        if ((a.anchor_start && !first_piece) ||
            (a.anchor_end && *p && *p != '|' && *p != ')'))
            return NULL;
        b->max = rx_add(b->max, a.max);
        if (b->len1)
            rx_union(b->second, a.first);
        if (b->nullable)
            rx_union(b->second, a.second);
        b->len1 = (b->len1 && a.nullable) || (b->nullable && a.len1);
        if (b->nullable)
            rx_union(b->first, a.first);
        b->nullable &= a.nullable;
        if (first_piece)
            b->anchor_start = a.anchor_start;
        b->anchor_end = a.anchor_end;
        first_piece = 0;
    }
    return p;
}

static const char *rx_alt(const char *p, struct rxi *out, int depth)
{
    if (depth > 32)
        return NULL;
    if (!(p = rx_branch(p, out, depth)))
        return NULL;
    while (*p == '|') {
        struct rxi b;
        if (!(p = rx_branch(p + 1, &b, depth)))
            return NULL;
        out->max = out->max > b.max ? out->max : b.max;
        out->nullable |= b.nullable;
        out->len1 |= b.len1;
        rx_union(out->first, b.first);
        rx_union(out->second, b.second);
        out->anchor_start &= b.anchor_start;
        out->anchor_end &= b.anchor_end;
    }
    return p;
}

static void rx_analyze(const char *pattern, struct rule *rule)
{
    struct rxi r;
    const char *end = rx_alt(pattern, &r, 0);
    if (end && *end == '\0' && r.anchor_start && r.anchor_end) {
        rule->anchored = 1;
        rule->maxlen = r.max;
        memcpy(rule->first, r.first, sizeof(rule->first));
        /* Bytes are characters only for an ASCII pattern (and, in a
         * UTF-8 locale, a line whose first character is ASCII). */
        rule->use_second = 1;
        for (const char *c = pattern; *c; c++)
            if ((unsigned char)*c >= 0x80)
                rule->use_second = 0;
        memcpy(rule->second, r.second, sizeof(rule->second));
    } else {
        rule->anchored = 0;
    }
}

static void rules_free(struct rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        regfree(&r->v[i].re);
    free(r->v);
    free(r);
}

static struct rules *rules_load(const char *path, char *err, size_t errlen)
{
    struct rules *r = calloc(1, sizeof(*r));
    FILE *fp = fopen(path, "r");
    char line[2048];
    int lineno = 0;

    if (!r) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        char *s = line;
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            s[--len] = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        int cut;
        if (strncmp(s, "drop", 4) == 0 && isspace((unsigned char)s[4]))
            cut = 0;
        else if (strncmp(s, "cut", 3) == 0 && isspace((unsigned char)s[3]))
            cut = 1;
        else {
            snprintf(err, errlen, "%s:%d: expected 'drop REGEX' or 'cut REGEX'", path, lineno);
            goto fail;
        }
        s += cut ? 3 : 4;
        while (isspace((unsigned char)*s))
            s++;
        struct rule *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
        if (!nv) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        r->v = nv;
        int rc = regcomp(&r->v[r->n].re, s, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &r->v[r->n].re, why, sizeof(why));
            snprintf(err, errlen, "%s:%d: bad pattern: %s", path, lineno, why);
            goto fail;
        }
        r->v[r->n].cut = cut;
        rx_analyze(s, &r->v[r->n]);
        r->n++;
    }
    fclose(fp);
    return r;
fail:
    if (fp)
        fclose(fp);
    rules_free(r);
    return NULL;
}

static int clean_init(void **state, const void *conf, const struct processor_env *env,
                      char *err, size_t errlen)
{
    const struct clean_conf *c = conf;
    struct clean *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cl->conf = c;
    if (c->boilerplate && *c->boilerplate &&
        !(cl->rules = rules_load(c->boilerplate, err, errlen))) {
        free(cl);
        return -1;
    }
    if (!cl->rules && !(cl->rules = calloc(1, sizeof(*cl->rules)))) {
        snprintf(err, errlen, "out of memory");
        free(cl);
        return -1;
    }
    *state = cl;
    return 0;
}

static int clean_reload(void *state, char *err, size_t errlen)
{
    struct clean *cl = state;
    if (!cl->conf->boilerplate || !*cl->conf->boilerplate)
        return 0;
    struct rules *r = rules_load(cl->conf->boilerplate, err, errlen);
    if (!r)
        return -1;
    rules_free(cl->rules);
    cl->rules = r;
    return 0;
}

static void clean_destroy(void *state)
{
    struct clean *cl = state;
    if (!cl)
        return;
    rules_free(cl->rules);
    free(cl);
}

/* Growable output buffer. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Room for n more bytes and a NUL; -1 (and oom set) when there is none. */
static int buf_reserve(struct buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return -1;
        }
        b->p = np;
        b->cap = ncap;
    }
    return 0;
}

/* Horizontal white space, including the no-break and thin spaces scraped
 * pages are full of. Returns its byte length at s, 0 if none. */
static size_t hspace_len(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f')
        return 1;
    if (avail >= 2 && c == 0xc2 && (unsigned char)s[1] == 0xa0)
        return 2;
    if (avail >= 3 && c == 0xe2 && (unsigned char)s[1] == 0x80 &&
        (((unsigned char)s[2] >= 0x80 && (unsigned char)s[2] <= 0x8b) ||
         (unsigned char)s[2] == 0xaf))
        return 3;
    return 0;
}

/* Bytes fold_line() must look at: ASCII horizontal white space and the
 * lead bytes of the no-break (C2 A0) and U+2000.. (E2 80 xx) spaces.
 * Everything else is copied in runs. */
static const unsigned char fold_special[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\v'] = 1, ['\f'] = 1, [0xc2] = 1, [0xe2] = 1,
};

/* Copies one line with its white space folded to single spaces and trimmed. */
static size_t fold_line(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    int pending = 0;
    while (i < n) {
        size_t h = fold_special[(unsigned char)s[i]] ? hspace_len(s + i, n - i) : 0;
        if (h) {
            pending = o > 0;
            i += h;
            continue;
        }
        if (pending) {
            out[o++] = ' ';
            pending = 0;
        }
        /* This byte (not a space even if special) and the run after it:
         * ordinary bytes, and single spaces between ordinary bytes, which
         * fold to themselves. */
        size_t j = i + 1;
        while (j < n) {
            /* 8 bytes at a time: no control or non-ASCII byte, no two
             * spaces together, the last one not a space (s[j - 1] is an
             * ordinary byte here, so a space in front is single too). */
            while (n - j >= 8) {
                uint64_t x, t, sp;
                const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL,
                               lows = 0x7f7f7f7f7f7f7f7fULL;
                memcpy(&x, s + j, 8);
                if ((((x - ones * 0x20) & ~x) | x) & highs)
                    break;
                t = x ^ (ones * ' ');
                sp = ~(((t & lows) + lows) | t | lows);   /* 0x80 where a space is */
                if ((sp & (sp >> 8)) || (sp >> 63))
                    break;
                j += 8;
            }
            if (j >= n)
                break;
            if (!fold_special[(unsigned char)s[j]])
                j++;
            else if (s[j] == ' ' && j + 1 < n && !fold_special[(unsigned char)s[j + 1]])
                j += 2;
            else
                break;
        }
        memcpy(out + o, s + i, j - i); // NOLINT(clang-analyzer-core.NonNullParamChecker): out is set, see clean_process
        o += j - i;
        i = j;
    }
    out[o] = '\0';
    return o;
}

/* Number of UTF-8 continuation bytes (10xxxxxx) in s[0..n), 8 at a time. */
static size_t continuation_bytes(const char *s, size_t n)
{
    size_t c = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t t = (w & ~(w << 1) & 0x8080808080808080ULL) >> 7;    /* 0/1 per byte */
        c += (size_t)((t * 0x0101010101010101ULL) >> 56);
    }
    for (; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) == 0x80;
    return c;
}

static int matches_rule(const struct rules *r, const char *line, size_t len, int *cut)
{
    /* Characters regexec() will see, at least: it stops at a NUL, and in
     * a UTF-8 locale a character has one byte that is not 10xxxxxx. */
    size_t eff = strnlen(line, len); // NOLINT(clang-analyzer-core.NonNullParamChecker): line is set, see clean_process
    size_t chars = eff - continuation_bytes(line, eff);
    unsigned c0 = (unsigned char)line[0], c1 = eff >= 2 ? (unsigned char)line[1] : 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct rule *ru = &r->v[i];
        if (ru->anchored && chars &&
            (chars > ru->maxlen || !(ru->first[c0 >> 3] & (1u << (c0 & 7))) ||
             (ru->use_second && eff >= 2 && c0 < 0x80 &&
              !(ru->second[c1 >> 3] & (1u << (c1 & 7))))))
            continue;
        if (regexec(&ru->re, line, 0, NULL, 0) == 0) {
            *cut = ru->cut;
            return 1;
        }
    }
    return 0;
}

static int is_agency(const struct clean_conf *c, const char *s, size_t n)
{
    for (size_t i = 0; i < c->agencies.n; i++)
        if (strlen(c->agencies.items[i]) == n && strncasecmp(c->agencies.items[i], s, n) == 0)
            return 1;
    return 0;
}

/* A trailing credit line: "(AFP)", "— AP", "-- Reuters". */
static int credit_line(const struct clean_conf *c, const char *s, size_t n, const char **ag,
                       size_t *agn)
{
    while (n && (strchr("-( ", *s) || (unsigned char)*s == 0xe2)) {
        if ((unsigned char)*s == 0xe2 && n >= 3) {      /* – or — */
            s += 3;
            n -= 3;
        } else {
            s++;
            n--;
        }
    }
    while (n && (s[n - 1] == ')' || s[n - 1] == ' ' || s[n - 1] == '.'))
        n--;
    if (n && is_agency(c, s, n)) {
        *ag = s;
        *agn = n;
        return 1;
    }
    return 0;
}

static size_t dash_len(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '-' && s[1] == '-')
        return 2;
    if (n >= 1 && s[0] == '-')
        return 1;
    if (n >= 3 && (unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
        ((unsigned char)s[2] == 0x93 || (unsigned char)s[2] == 0x94))
        return 3;
    return 0;
}

/*
 * Dateline at the start of the first paragraph:
 *   PLACE[, Region|Month D][ (Agency)] - text
 * PLACE is one to four capitalized words; in mixed case ("Kyiv, June 2")
 * we insist on an agency or a date so that ordinary sentences that begin
 * with a name and a dash are left alone. Agency is a configured one or,
 * after a place in capitals or a date, any plausible_agency().
 */
/* Byte length of the non-ASCII letter at s, 0 if it is anything else (a
 * dash or a typographic quote is not part of a place name). */
static size_t nonascii_letter(const char *s, size_t avail)
{
    size_t m;
    if ((unsigned char)s[0] < 0x80)
        return 0;
    return text_is_word_cp(text_utf8_decode(s, avail, &m)) ? m : 0;
}

/* "June 2", "Sept. 19", "2 June": a digit and a month name, in a few words
 * ("Biden, who visited Kyiv in 2023 -" is not a date). */
static int looks_like_date(const char *s, size_t n)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int digit = 0, month = 0, words = 0;
    for (size_t k = 0; k < n; k++) {
        digit |= isdigit((unsigned char)s[k]) != 0;
        if (s[k] != ' ' && (k == 0 || s[k - 1] == ' ')) {
            words++;
            for (size_t m = 0; m < 12 && k + 3 <= n; m++)
                month |= strncmp(s + k, months[m], 3) == 0;
        }
    }
    return digit && month && words <= 4;
}

/*
 * An agency the configuration does not list, in a dateline's parentheses:
 * wire copy comes from many small agencies and outlets ("BOSTON, May 30
 * (Wirestream) -"), so any short run of capitalised words is taken. The
 * shape is strict because a dateline-like sentence can open with any
 * parenthetical ("WASHINGTON, May 3 (the day after the vote) -"): at most
 * AGENCY_MAX bytes and AGENCY_WORDS words separated by single spaces; each
 * word of letters, digits, '&', '.' and '-' only; the first word starts
 * with a capital letter and later ones with a capital or a digit, or are
 * "&" or a lower-case joining word ("Press Trust of India"), never last; at
 * least two letters in all; no date, weekday or editorial word ("(Monday)",
 * "(June 2)", "(UPDATE 1)"). The configured list is still what trailing
 * credits need, where a false match would cut the story's last paragraph.
 */
#define AGENCY_MAX 40
#define AGENCY_WORDS 5

/* 1 if the byte (or Latin-1 letter) at s starts a capitalised word. */
static int capital_at(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    if (c >= 'A' && c <= 'Z')
        return 1;
    size_t m;
    uint32_t cp = c >= 0x80 ? text_utf8_decode(s, avail, &m) : 0;
    return cp >= 0xc0 && cp <= 0xde && cp != 0xd7;      /* À..Þ but × */
}

static int word_in(const char *w, size_t n, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && strncasecmp(list[i], w, n) == 0)
            return 1;
    return 0;
}

static int plausible_agency(const char *s, size_t n)
{
    static const char *const joining[] = {"of", "and", "de", "del", "der", "des", "da",
                                          "do", "di", "du", "la", "le", "y", NULL};
    static const char *const not_agency[] = {
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December", "Jan", "Feb", "Mar", "Apr",
        "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Monday", "Tuesday",
        "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Today", "Update",
        "Updated", "Updates", "Corrected", "Correction", "Corrects", "Refile", "Refiled",
        "Repeat", "Repeats", "Recasts", "Urgent", "Flash", "Bulletin", "Breaking",
        "Exclusive", "Analysis", "Opinion", "Live", "Photo", "Photos", "Video", "Graphic",
        "File", "Factbox", "Explainer", "Reporting", "Editing", "Writing", NULL,
    };
    size_t words = 0, letters = 0, i = 0;
    int last_joining = 0;

    if (n == 0 || n > AGENCY_MAX)
        return 0;
    while (i < n) {
        size_t w = i;
        if (++words > AGENCY_WORDS)
            return 0;
        while (i < n && s[i] != ' ') {
            unsigned char c = (unsigned char)s[i];
            size_t m = nonascii_letter(s + i, n - i);
            if (m) {
                letters++;
                i += m;
            } else if (isalpha(c)) {
                letters++;
                i++;
            } else if (isdigit(c) || c == '&' || c == '.' || c == '-') {
                i++;
            } else {
                return 0;
            }
        }
        size_t wn = i - w;
        if (wn == 0)
            return 0;                                   /* two spaces, or an edge */
        last_joining = 0;
        if (capital_at(s + w, n - w)) {
            if (word_in(s + w, wn, not_agency))
                return 0;
        } else if (words > 1 && (isdigit((unsigned char)s[w]) || (wn == 1 && s[w] == '&'))) {
            /* "Channel 4", "Dow Jones & Co" */
        } else if (words > 1 && word_in(s + w, wn, joining)) {
            last_joining = 1;
        } else {
            /* A lower-case word, or a first word without a capital:
             * "(the day after...)", "(2023)". */
            return 0;
        }
        if (i < n) {
            i++;                                        /* the single space */
            if (i == n)
                return 0;
        }
    }
    return !last_joining && letters >= 2;
}

/* 1 if the parenthesis spells out the place, an acronym ("NATO (North
 * Atlantic Treaty Organization) - the alliance..."): its capitalised
 * words' initials are the place's letters. */
static int spells_out(const char *place, size_t pn, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i == 0 || s[i - 1] == ' ') && isupper((unsigned char)s[i])) {
            while (k < pn && !isalpha((unsigned char)place[k]))
                k++;
            if (k >= pn || toupper((unsigned char)place[k]) != s[i])
                return 0;
            k++;
        }
    }
    while (k < pn && !isalpha((unsigned char)place[k]))
        k++;
    return k == pn;
}

/* Sets rec->dateline (and rec->agency when the input had none) from a
 * dateline at the start of the body. 0 (also when there is none), -1 on
 * allocation failure. */
static int parse_dateline(struct clean *cl, struct record *rec)
{
    const char *b = rec->body;
    size_t n = rec->body_len, i = 0, words = 0;
    int upper = 1;

    while (i < n && i < 48) {
        if (!(isupper((unsigned char)b[i]) || nonascii_letter(b + i, n - i)))
            return 0;
        words++;
        while (i < n) {
            size_t m = nonascii_letter(b + i, n - i);
            if (m) {
                i += m;
                continue;
            }
            if (!(isalpha((unsigned char)b[i]) || b[i] == '.' || b[i] == '\'' ||
                  (b[i] == '-' && i + 1 < n && isalpha((unsigned char)b[i + 1]))))
                break;
            if (islower((unsigned char)b[i]))
                upper = 0;
            i++;
        }
        if (i < n && b[i] == ' ' && i + 1 < n &&
            (isupper((unsigned char)b[i + 1]) || nonascii_letter(b + i + 1, n - i - 1)) &&
            words < 4) {
            i++;
            continue;
        }
        break;
    }
    size_t place_end = i;
    if (place_end < 2 || place_end > 40)
        return 0;
    int has_date = 0, has_agency = 0;
    const char *ag = NULL;
    size_t agn = 0;
    if (i < n && b[i] == ',') {
        size_t j = i + 1;
        while (j < n && j - i < 40 && b[j] != '(' && !dash_len(b + j, n - j) && b[j] != '\n')
            j++;
        has_date = looks_like_date(b + i + 1, j - i - 1);
        if (j - i >= 40 || j >= n || b[j] == '\n')
            return 0;
        i = j;
    }
    while (i < n && b[i] == ' ')
        i++;
    if (i < n && b[i] == '(') {
        size_t look = AGENCY_MAX + 2;
        const char *close = memchr(b + i, ')', n - i < look ? n - i : look);
        if (!close)
            return 0;
        ag = b + i + 1;
        agn = (size_t)(close - ag);
        /* An unlisted name is taken after a place in capitals or a date
         * only ("Smith (Labour) - said" is no dateline), and not when it
         * spells out the place. */
        if (!is_agency(cl->conf, ag, agn) &&
            (!(upper || has_date) || !plausible_agency(ag, agn) ||
             spells_out(b, place_end, ag, agn)))
            return 0;
        has_agency = 1;
        i = (size_t)(close - b) + 1;
    }
    while (i < n && b[i] == ' ')
        i++;
    size_t d = dash_len(b + i, n - i);
    if (!d || i + d >= n || b[i + d] != ' ')
        return 0;
    if (!upper && !has_agency && !has_date)
        return 0;
    if (upper && words == 1 && place_end < 3 && !has_agency)
        return 0;
    /* "NATO - the alliance...": without an agency or a date, only the
     * typographic dash of "WASHINGTON —" makes a bare word a dateline. */
    if (!has_agency && !has_date && d == 1)
        return 0;
    if (record_set(&rec->dateline, b, place_end) < 0 ||
        (has_agency && !rec->agency && record_set(&rec->agency, ag, agn) < 0))
        return -1;
    rec->dateline_span.off = 0;
    rec->dateline_span.len = (uint32_t)place_end;
    cl->datelines++;
    return 0;
}

static int is_abbreviation(const char *w, size_t n)
{
    static const char *const abbr[] = {
        "Mr", "Mrs", "Ms", "Dr", "Gen", "Col", "Lt", "Sgt", "St", "Prof", "Sen", "Rep",
        "Gov", "Capt", "Maj", "Adm", "Jr", "Sr", "No", "vs", "Jan", "Feb", "Aug", "Sept",
        "Oct", "Nov", "Dec", "Corp", "Inc", "Co", "Ltd", "Mt", "Ft", NULL,
    };
    for (size_t i = 0; abbr[i]; i++)
        if (strlen(abbr[i]) == n && memcmp(abbr[i], w, n) == 0)
            return 1;
    return 0;
}

/* First sentence of the body (after any dateline), cut at a word boundary.
 * 0, -1 on allocation failure. */
static int make_headline(struct clean *cl, struct record *rec)
{
    const char *b = rec->body;
    size_t n = rec->body_len, start = 0;
    if (rec->dateline_span.len) {
        start = rec->dateline_span.len;
        while (start < n && b[start] != '-' && (unsigned char)b[start] != 0xe2)
            start++;
        start += dash_len(b + start, n - start);
        while (start < n && b[start] == ' ')
            start++;
        if (start >= n)
            start = 0;
    }
    size_t end = start;
    while (end < n && b[end] != '\n') {
        if ((b[end] == '.' || b[end] == '!' || b[end] == '?') &&
            (end + 1 >= n || b[end + 1] == ' ' || b[end + 1] == '\n')) {
            /* "Mr." or "U.S." or "F." do not end a sentence, and neither
             * does a full stop before a lower-case word; "the EU." does. */
            size_t w = end;
            while (w > start && isalpha((unsigned char)b[w - 1]))
                w--;
            size_t next = end + 1;
            while (next < n && b[next] == ' ')
                next++;
            int continues = end - w == 1 || is_abbreviation(b + w, end - w) ||
                            (next < n && islower((unsigned char)b[next]));
            if (!continues) {
                end++;
                break;
            }
        }
        end++;
    }
    size_t max = (size_t)cl->conf->headline_max;
    if (end - start > max) {
        end = start + max;
        while (end > start && b[end] != ' ')
            end--;
        if (end == start)
            end = start + max;
        /* never split a UTF-8 sequence */
        while (end > start && ((unsigned char)b[end] & 0xc0) == 0x80)
            end--;
    }
    while (end > start && (b[end - 1] == ' ' || b[end - 1] == '.'))
        end--;
    if (end > start) {
        if (record_set(&rec->headline, b + start, end - start) < 0)
            return -1;
        record_text_changed(rec);
        cl->headlines_made++;
    }
    return 0;
}

static enum verdict clean_process(void *state, struct record *rec)
{
    struct clean *cl = state;
    struct buf out = {0};
    const char *b = rec->body;
    size_t n = rec->body_len;
    int cut = 0;

    /* Pass 1: split on newlines, fold, drop boilerplate, stop at a cut.
     * Each line is folded in place at the end of the output (after room
     * for its separator) and kept by moving the end past it. */
    buf_reserve(&out, n + 64);
    for (size_t i = 0; i < n && !cut && !out.oom;) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - b) : n;
        size_t sep = out.len ? 2 : 0;
        if (buf_reserve(&out, sep + (end - i)) < 0)
            break;
        char *line = out.p + out.len + sep;
        size_t len = fold_line(b + i, end - i, line);
        i = end + 1;
        if (!len)
            continue;
        int is_cut;
        if (matches_rule(cl->rules, line, len, &is_cut)) {
            if (is_cut) {
                cut = 1;
                cl->cuts++;
            } else {
                cl->lines_dropped++;
            }
            continue;
        }
        if (sep)
            memcpy(out.p + out.len, "\n\n", 2);
        out.len += sep + len;
    }
    if (out.oom)
        goto oom;
    out.p[out.len] = '\0';
    if (out.len == 0) {
        free(out.p);
        record_reject(rec, "empty_body", "nothing left of the body after boilerplate removal");
        return VERDICT_REJECT;
    }

    /* A trailing credit line becomes the agency. */
    const char *last = out.p + out.len;
    while (last > out.p && !(last - out.p >= 2 && last[-1] == '\n' && last[-2] == '\n'))
        last--;
    const char *ag;
    size_t agn;
    if (last > out.p && out.p + out.len - last < 40 &&
        credit_line(cl->conf, last, (size_t)(out.p + out.len - last), &ag, &agn)) {
        if (!rec->agency && record_set(&rec->agency, ag, agn) < 0)
            goto oom;
        out.len = (size_t)(last - out.p) - 2;
        out.p[out.len] = '\0';
        cl->credits++;
    }
    record_take_body(rec, out.p, out.len);

    if (cl->conf->parse_dateline && !rec->dateline && parse_dateline(cl, rec) < 0)
        goto oom_after;
    if (!rec->headline && make_headline(cl, rec) < 0)
        goto oom_after;
    if (record_analyze(rec) < 0)
        goto oom_after;
    if (!rec->id || rec->id_generated) {
        if (record_make_id(rec) < 0)
            goto oom_after;
        cl->ids_made++;
    }
    return VERDICT_KEEP;
oom:
    free(out.p);
oom_after:
    /* Never a record with its dateline, agency, headline or id silently
     * missing: it goes to the dead-letter topic instead. */
    record_reject(rec, "out_of_memory", "out of memory while cleaning");
    return VERDICT_REJECT;
}

static void clean_stats(void *state, json_t *out)
{
    struct clean *cl = state;
    json_object_set_new(out, "lines_dropped", json_integer((json_int_t)cl->lines_dropped));
    json_object_set_new(out, "cuts", json_integer((json_int_t)cl->cuts));
    json_object_set_new(out, "datelines", json_integer((json_int_t)cl->datelines));
    json_object_set_new(out, "credits", json_integer((json_int_t)cl->credits));
    json_object_set_new(out, "headlines_made", json_integer((json_int_t)cl->headlines_made));
    json_object_set_new(out, "ids_made", json_integer((json_int_t)cl->ids_made));
}

const struct processor_ops clean_processor = {
    .name = "clean",
    .summary = "boilerplate removal, whitespace folding, dateline and credit parsing",
    .keys = clean_keys,
    .conf_size = sizeof(struct clean_conf),
    .init = clean_init,
    .process = clean_process,
    .reload = clean_reload,
    .stats = clean_stats,
    .destroy = clean_destroy,
};
