/*
 * test_allocfail.c - allocation failure injection (STYLE.md point 12):
 * decode, the processor chain (clean, dedupe, entities, topics) and the
 * encoder run once per allocation with exactly that allocation failing.
 * They must neither crash nor leak, and must never publish a record with
 * less in it than a run without failures: the outcome is the complete
 * record, a rejection with reason out_of_memory, or nothing from the
 * encoder.
 *
 * No wrapper in the product code: this binary defines malloc, calloc,
 * realloc and free itself (glibc supports replacing them; its own internal
 * calls, Jansson's and regcomp's go through them too) and forwards to
 * glibc's __libc_* functions. A countdown makes the Nth call fail; a count
 * of live blocks shows leaks without valgrind. Under ASan or valgrind,
 * which replace the allocator themselves, the test skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/chain.h"
#include "core/conf.h"
#include "core/decode.h"
#include "core/encode.h"
#include "core/log.h"
#include "core/record.h"
#include "core/settings.h"
#include "tests/unit/inst.h"

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_REPLACED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_REPLACED 0
#else
#define ALLOC_REPLACED 1
#endif
#else
#define ALLOC_REPLACED 1
#endif

/* ------------------------------------------------------- the allocator */

#if ALLOC_REPLACED
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

/* Bounds of this executable's code (the linker defines them): only calls
 * made from wirestream's own code are failed. Jansson's and glibc's
 * internal allocations always succeed: their failure handling is theirs
 * to test (json_loadb crashes when some of its allocations fail). */
extern const char __executable_start[], etext[];

/* The allocator is process-wide by nature, so its counters are globals:
 * test-only state, touched by this file alone. Single-threaded use. */
static long alloc_countdown = -1; /* fail when it reaches 0; -1 = never */
static long alloc_calls;          /* eligible calls since the last reset */
static long alloc_live;           /* blocks allocated and not freed */
static int alloc_failed;          /* the armed failure happened */

static int alloc_should_fail(const void *caller)
{
    const char *c = caller;
    if (c < __executable_start || c >= etext)
        return 0;
    alloc_calls++;
    if (alloc_countdown < 0)
        return 0;
    if (alloc_countdown-- == 0) {
        alloc_failed = 1;
        return 1;
    }
    return 0;
}

static void *do_malloc(size_t n, const void *caller)
{
    if (alloc_should_fail(caller))
        return NULL;
    void *p = __libc_malloc(n);
    if (p)
        alloc_live++;
    return p;
}

void *malloc(size_t n)
{
    return do_malloc(n, __builtin_return_address(0));
}

void *calloc(size_t n, size_t size)
{
    if (alloc_should_fail(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        alloc_live++;
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return do_malloc(n, __builtin_return_address(0));
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (alloc_should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p)
        alloc_live--;
    __libc_free(p);
}

/* glibc's strdup calls malloc from inside libc; these make the product's
 * own strdup calls count as its own. */
char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = do_malloc(n, __builtin_return_address(0));
    if (p)
        memcpy(p, s, n);
    return p;
}

char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *p = do_malloc(n + 1, __builtin_return_address(0));
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
#endif

/* ------------------------------------------------------------- fixture */

#define STORY                                                                                      \
    "{\"id\": \"a1\", \"date\": \"2026-03-02T06:10:00Z\", \"source\": \"Wire\", "                  \
    "\"headline\": \"Zelenskyy urges NATO allies to speed up air defence deliveries\", "           \
    "\"body\": \"KYIV, March 2 (Reuters) - Ukrainian President Volodymyr Zelenskyy on "            \
    "Monday urged NATO allies to speed up deliveries of air defence systems after "                \
    "Russian missile strikes hit Kharkiv and Odesa overnight.\\n\\nNATO Secretary "                \
    "General Mark Rutte said the alliance would meet in Brussels. Zelenskyy's office "             \
    "said talks with Poland and the European Union continued.\\n\\nAdvertisement\\n"               \
    "(Reporting by A. Writer; Editing by B. Editor)\", \"extra\": {\"k\": [1, 2]}}"

#define TEXT_STORY                                                                                 \
    "date 2026-03-02 WARSAW, March 2 (AFP) - Poland's foreign minister met his "                   \
    "Ukrainian counterpart in Warsaw on Monday to discuss grain transit and sanctions "            \
    "against Russia, officials said. \xe2\x80\x94 AP"

/* The reason every step gives when an allocation fails (decode.c and the
 * processors). */
#define OOM_REASON "out_of_memory"

struct env {
    struct settings *s;
    struct chain *ch;
    struct decode_opts dopts;
};

static struct chain *make_chain(const struct settings *s)
{
    char err[512];
    struct chain *ch = chain_new(s, NULL, err, sizeof(err));
    if (!ch)
        fail_msg("%s", err);
    return ch;
}

static int env_open(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    log_setup(LOG_ERROR, 0);   /* one "out of memory" warning per run otherwise */
    /* dedupe keeps state across records; the others start each record
     * afresh, so a live-block count before and after one record is exact.
     * test_cold_chain covers dedupe with a new chain per run. */
    e->s = inst_settings("clean, entities, topics");
    e->ch = make_chain(e->s);
    e->dopts.format = INPUT_AUTO;
    e->dopts.max_body_size = (size_t)e->s->input.max_body_size;
    e->dopts.max_message_size = (size_t)e->s->input.max_message_size;
    *state = e;
    return 0;
}

static int env_close(void **state)
{
    struct env *e = *state;
    chain_free(e->ch);
    settings_free(e->s);
    free(e);
    return 0;
}

#if ALLOC_REPLACED
/* What became of one input. */
enum outcome_kind {
    DECODE_GAVE_UP,    /* the decoder rejected it (code) */
    REJECTED,          /* a processor rejected it (code): dead letter */
    DROPPED,           /* VERDICT_DROP: kept out of the enriched topics */
    ENCODE_GAVE_UP,    /* the encoder returned nothing: never partial */
    PUBLISHED,         /* line */
};

struct outcome {
    enum outcome_kind kind;
    char code[48];
    char *line;        /* PUBLISHED only; the caller frees it */
};

static const char *const outcome_names[] = {"decode gave up", "rejected", "dropped",
                                            "encode gave up", "published"};

/* One record through decode, the chain and the encoder. */
static void run_record(struct chain *ch, const struct decode_opts *dopts, const char *in,
                       struct outcome *out)
{
    struct decode_error derr = {0};
    size_t len;
    memset(out, 0, sizeof(*out));
    struct record *rec = decode_article(in, strlen(in), dopts, &derr);
    if (!rec) {
        if (!derr.code)
            fail_msg("decode_article failed without a reason code (allocation %ld)", alloc_calls);
        out->kind = DECODE_GAVE_UP;
        snprintf(out->code, sizeof(out->code), "%s", derr.code);
        return;
    }
    enum verdict v = chain_process(ch, rec);
    if (v == VERDICT_REJECT) {
        out->kind = REJECTED;
        snprintf(out->code, sizeof(out->code), "%s", rec->reject_code ? rec->reject_code : "(none)");
    } else if (v == VERDICT_DROP) {
        out->kind = DROPPED;
    } else if ((out->line = encode_record_line(rec, OUTPUT_RECORD, 0, &len))) {
        out->kind = PUBLISHED;
    } else {
        out->kind = ENCODE_GAVE_UP;
    }
    record_free(rec);
}

/* The encoded line or NULL (any other outcome). */
static char *one(struct env *e, const char *in)
{
    struct outcome o;
    run_record(e->ch, &e->dopts, in, &o);
    return o.line;
}

/* Size of a top-level array of an encoded record, -1 when absent. Jansson
 * allocates from its own code, which the allocator never fails. */
static long array_len(const char *line, const char *key)
{
    json_t *o = json_loads(line, 0, NULL);
    json_t *a = o ? json_object_get(o, key) : NULL;
    long n = json_is_array(a) ? (long)json_array_size(a) : -1;
    json_decref(o);
    return n;
}

/* Top-level keys whose values differ, for the failure message. */
static void differing_keys(const char *got, const char *want, char *out, size_t outlen)
{
    json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);
    const char *key;
    json_t *val;
    size_t used = 0;
    out[0] = '\0';
    if (g && w) {
        json_object_foreach(w, key, val) {
            if (!json_equal(val, json_object_get(g, key)) && used < outlen) {
                int k = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", key);
                used += k > 0 ? (size_t)k : 0;
            }
        }
    }
    json_decref(g);
    json_decref(w);
}

struct tally {
    long total, same, rejected, decode_oom, encode_gave_up;
};

/*
 * The rule for a failed allocation: the complete record (it was
 * recoverable), or a rejection with reason out_of_memory (decoder or
 * processor), or no output at all from the encoder. Never a record
 * published or dropped with less than the reference run had: fewer
 * entities or topics, no dateline, agency, headline, id or dedupe result.
 */
static void check_outcome(struct outcome *got, const char *want, long n, struct tally *t)
{
    switch (got->kind) {
    case PUBLISHED:
        if (strcmp(got->line, want) != 0) {
            char keys[256];
            differing_keys(got->line, want, keys, sizeof(keys));
            fail_msg("allocation %ld of %ld failing published a different record "
                     "(entities %ld, want %ld; topics %ld, want %ld; differs in: %s):\n%s",
                     n + 1, t->total, array_len(got->line, "entities"),
                     array_len(want, "entities"), array_len(got->line, "topics"),
                     array_len(want, "topics"), keys, got->line);
        }
        t->same++;
        break;
    case REJECTED:
    case DECODE_GAVE_UP:
        if (strcmp(got->code, OOM_REASON) != 0)
            fail_msg("allocation %ld of %ld failing: %s with reason '%s', want '" OOM_REASON "'",
                     n + 1, t->total, outcome_names[got->kind], got->code);
        if (got->kind == REJECTED)
            t->rejected++;
        else
            t->decode_oom++;
        break;
    case ENCODE_GAVE_UP:
        t->encode_gave_up++;
        break;
    case DROPPED:
        fail_msg("allocation %ld of %ld failing: the record was dropped", n + 1, t->total);
    }
    free(got->line);
    got->line = NULL;
}

static void print_tally(const char *what, const struct tally *t)
{
    print_message("%s: %ld allocations, each failed once: %ld complete, %ld rejected "
                  "(" OOM_REASON "), %ld decoder " OOM_REASON ", %ld encoder gave up\n",
                  what, t->total, t->same, t->rejected, t->decode_oom, t->encode_gave_up);
    assert_int_equal(t->same + t->rejected + t->decode_oom + t->encode_gave_up, t->total);
}

/* Fails allocation 1, 2, ... K in turn (K: the calls one record makes) on
 * a chain that has processed records before. */
static void fail_each_allocation(struct env *e, const char *in)
{
    /* Warm-up: lazily built scratch buffers reach their size, libc and
     * Jansson finish their one-time set-up. */
    for (int i = 0; i < 2; i++)
        free(one(e, in));
    char *want = one(e, in);
    assert_non_null(want);

    struct tally t = {0};
    alloc_calls = 0;
    long base = alloc_live;
    free(one(e, in));
    t.total = alloc_calls;
    assert_int_equal(alloc_live, base);
    assert_true(t.total > 10);

    for (long n = 0; n < t.total; n++) {
        struct outcome got;
        base = alloc_live;
        alloc_calls = 0;
        alloc_failed = 0;
        alloc_countdown = n;
        run_record(e->ch, &e->dopts, in, &got);
        alloc_countdown = -1;
        assert_true(alloc_failed);
        long live = alloc_live;
        check_outcome(&got, want, n, &t);
        if (live != base + (got.kind == PUBLISHED))
            fail_msg("allocation %ld of %ld failing leaks %ld block(s)", n + 1, t.total,
                     live - base - (got.kind == PUBLISHED));
    }
    /* Still healthy afterwards: the same output as before. */
    char *again = one(e, in);
    assert_non_null(again);
    assert_string_equal(again, want);
    free(again);
    free(want);
    print_tally("warm chain", &t);
}

/* A copy of s with the first `from` replaced by `to` (caller frees). */
static char *replace_once(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    size_t head = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
    char *out = malloc(strlen(s) - fl + tl + 1);
    assert_non_null(out);
    memcpy(out, s, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, strlen(at + fl) + 1);
    return out;
}

/*
 * The same on a new chain for every run, dedupe included: the processors'
 * scratch buffers are allocated during the record (the first record of a
 * process meets those allocations), and dedupe's decision, which depends
 * on what it remembers, is the same in every run. With `prime`, that
 * record goes through first (no failure), so `in` is a near duplicate of
 * it: a record marked unique because dedupe could not check it shows.
 * `prime` should be shorter, so that fingerprinting `in` allocates.
 */
static void fail_each_allocation_cold(const struct decode_opts *dopts, const char *prime,
                                      const char *in, const char *want_status)
{
    struct settings *s = inst_settings("clean, dedupe, entities, topics");
    struct outcome got;
    struct tally t = {0};
    char status[64];
    struct chain *ch;

    /* Warm-up of libc and Jansson, then the reference. */
    for (int i = 0; i < 2; i++) {
        ch = make_chain(s);
        if (prime) {
            run_record(ch, dopts, prime, &got);
            free(got.line);
        }
        run_record(ch, dopts, in, &got);
        if (i == 0)
            free(got.line);
        chain_free(ch);
    }
    char *want = got.line;
    assert_int_equal(got.kind, PUBLISHED);
    snprintf(status, sizeof(status), "\"status\":\"%s\"", want_status);
    if (!strstr(want, status))
        fail_msg("reference run: want %s in %s", status, want);

    long base = alloc_live;
    ch = make_chain(s);
    if (prime) {
        run_record(ch, dopts, prime, &got);
        free(got.line);
    }
    alloc_calls = 0;
    run_record(ch, dopts, in, &got);
    t.total = alloc_calls;
    assert_int_equal(got.kind, PUBLISHED);
    assert_string_equal(got.line, want);
    free(got.line);
    chain_free(ch);
    assert_int_equal(alloc_live, base);

    for (long n = 0; n < t.total; n++) {
        base = alloc_live;
        ch = make_chain(s);
        if (prime) {
            run_record(ch, dopts, prime, &got);
            free(got.line);
        }
        alloc_calls = 0;
        alloc_failed = 0;
        alloc_countdown = n;
        run_record(ch, dopts, in, &got);
        alloc_countdown = -1;
        assert_true(alloc_failed);
        chain_free(ch);
        long live = alloc_live;
        check_outcome(&got, want, n, &t);
        if (live != base + (got.kind == PUBLISHED))
            fail_msg("new chain: allocation %ld of %ld failing leaks %ld block(s)", n + 1,
                     t.total, live - base - (got.kind == PUBLISHED));
    }
    free(want);
    settings_free(s);
    print_tally(prime ? "new chain, near duplicate" : "new chain, first record", &t);
}
#endif

static int replaced_allocator_active(void)
{
#if ALLOC_REPLACED
    /* valgrind preloads its own malloc, which wins over this file's. */
    const char *pre = getenv("LD_PRELOAD");
    return !(pre && strstr(pre, "vgpreload"));
#else
    return 0;
#endif
}

static void test_json_story(void **state)
{
    if (!replaced_allocator_active())
        skip();
#if ALLOC_REPLACED
    struct env *e = *state;
    e->dopts.format = INPUT_AUTO;
    fail_each_allocation(e, STORY);
#endif
}

static void test_text_story(void **state)
{
    if (!replaced_allocator_active())
        skip();
#if ALLOC_REPLACED
    struct env *e = *state;
    e->dopts.format = INPUT_TEXT;
    fail_each_allocation(e, TEXT_STORY);
#endif
}

static void test_cold_chain(void **state)
{
    if (!replaced_allocator_active())
        skip();
#if ALLOC_REPLACED
    struct env *e = *state;
    struct decode_opts dopts = e->dopts;
    /* Earlier, shorter versions of the stories (another id, a sentence or
     * a phrase less): dedupe's buffers must grow for the longer one. */
    char *prime_json = replace_once(STORY, "\"a1\"", "\"a0\"");
    char *p = replace_once(prime_json, "NATO Secretary General Mark Rutte said the alliance "
                                       "would meet in Brussels. ", "");
    free(prime_json);
    prime_json = p;
    char *prime_text = replace_once(TEXT_STORY, " and sanctions against Russia", "");

    dopts.format = INPUT_AUTO;
    fail_each_allocation_cold(&dopts, NULL, STORY, "unique");
    fail_each_allocation_cold(&dopts, prime_json, STORY, "near_duplicate");
    dopts.format = INPUT_TEXT;
    fail_each_allocation_cold(&dopts, NULL, TEXT_STORY, "unique");
    fail_each_allocation_cold(&dopts, prime_text, TEXT_STORY, "near_duplicate");
    free(prime_json);
    free(prime_text);
#endif
}

static void test_bad_input(void **state)
{
    if (!replaced_allocator_active())
        skip();
#if ALLOC_REPLACED
    struct env *e = *state;
    e->dopts.format = INPUT_AUTO;
    /* Rejections allocate too (Jansson's partial tree, the error). */
    static const char *const bad[] = {
        "{\"id\": \"x\", \"body\": \"ok\", \"date\": \"2026-02-30\"}",
        "{\"id\": 5, \"body\": \"x\", \"more\": [1, {\"a\": \"b\"}]}",
        "[1, 2, {\"body\": \"x\"}]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        free(one(e, bad[i]));
        alloc_calls = 0;
        free(one(e, bad[i]));
        long total = alloc_calls;
        for (long n = 0; n < total; n++) {
            long base = alloc_live;
            alloc_countdown = n;
            char *got = one(e, bad[i]);
            alloc_countdown = -1;
            if (got)
                fail_msg("input %zu accepted when allocation %ld failed: %s", i, n + 1, got);
            if (alloc_live != base)
                fail_msg("input %zu: allocation %ld failing leaks", i, n + 1);
        }
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_story),
        cmocka_unit_test(test_text_story),
        cmocka_unit_test(test_cold_chain),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, env_open, env_close);
}
