/*
 * test_allocfail.c - allocation failure injection (STYLE.md point 12):
 * decode, the processor chain (clean, entities, topics) and the encoder
 * run once per allocation with exactly that allocation failing, and must
 * neither crash nor leak.
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
#include "core/record.h"
#include "core/settings.h"

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

struct env {
    struct settings *s;
    struct chain *ch;
    struct decode_opts dopts;
};

static int env_open(void **state)
{
    char err[512];
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct conf_file *cf = conf_load("config/wirestream.conf", err, sizeof(err));
    if (!cf)
        fail_msg("%s", err);
    /* dedupe keeps state across records; the others start each record
     * afresh, so a live-block count before and after one record is exact. */
    assert_int_equal(
        conf_override(cf, "pipeline", "processors", "clean, entities, topics", err, sizeof(err)),
        0);
    if (!(e->s = settings_load(cf, err, sizeof(err))))
        fail_msg("%s", err);
    if (!(e->ch = chain_new(e->s, NULL, err, sizeof(err))))
        fail_msg("%s", err);
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
/* One record through decode, the chain and the encoder. Returns the
 * encoded line (caller frees) or NULL when any step gave up. */
static char *one(struct env *e, const char *in)
{
    struct decode_error derr = {0};
    size_t len;
    char *line = NULL;
    struct record *rec = decode_article(in, strlen(in), &e->dopts, &derr);
    if (!rec) {
        if (!derr.code)
            fail_msg("decode_article failed without a reason code (allocation %ld)", alloc_calls);
        return NULL;
    }
    if (chain_process(e->ch, rec) == VERDICT_KEEP)
        line = encode_record_line(rec, OUTPUT_RECORD, 0, &len);
    record_free(rec);
    return line;
}

/* Fails allocation 1, 2, ... K in turn (K: the calls one record makes). */
static void fail_each_allocation(struct env *e, const char *in)
{
    /* Warm-up: lazily built scratch buffers reach their size, libc and
     * Jansson finish their one-time set-up. */
    for (int i = 0; i < 2; i++)
        free(one(e, in));
    char *want = one(e, in);
    assert_non_null(want);

    alloc_calls = 0;
    long base = alloc_live;
    free(one(e, in));
    long total = alloc_calls;
    assert_int_equal(alloc_live, base);
    assert_true(total > 10);

    long gave_up = 0, same = 0;
    for (long n = 0; n < total; n++) {
        base = alloc_live;
        alloc_calls = 0;
        alloc_failed = 0;
        alloc_countdown = n;
        char *got = one(e, in);
        alloc_countdown = -1;
        assert_true(alloc_failed);
        if (got) {
            same += strcmp(got, want) == 0;
            if (getenv("ALLOCFAIL_SHOW") && strcmp(got, want) != 0)
                fprintf(stderr, "--- allocation %ld:\n%s\n", n + 1, got);
            free(got);
        } else {
            gave_up++;
        }
        if (alloc_live != base)
            fail_msg("allocation %ld of %ld failing leaks %ld block(s)", n + 1, total,
                     alloc_live - base);
    }
    /* Still healthy afterwards: the same output as before. */
    char *again = one(e, in);
    assert_non_null(again);
    assert_string_equal(again, want);
    free(again);
    free(want);
    print_message("%ld allocations, each failed once: %ld gave up, %ld same output, "
                  "%ld degraded output\n",
                  total, gave_up, same, total - gave_up - same);
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
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, env_open, env_close);
}
