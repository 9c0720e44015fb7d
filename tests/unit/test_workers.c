/*
 * test_workers.c - the worker threads that decode input and run the front
 * of the chain (core/workers.c) in `run` with [pipeline] threads > 0.
 *
 * The pool must give every item back in submission order whatever order
 * the threads finish in, each with the same record a single-threaded
 * chain makes of it (compared as encoded output), decode failures with
 * their reason; its copies' counters must add up to the items run; and
 * abandoning it must hand back every item, run or not.
 */
#include <poll.h>
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
#include "core/workers.h"
#include "tests/unit/inst.h"

#define N_ITEMS 600
#define FIXED_NOW 1767225600000LL      /* processed_at, the same for both sides */

/* Input i: articles of very different lengths (so threads finish out of
 * order), every 37th one not JSON at all, every 53rd without a body. */
static char *make_input(size_t i, size_t *len)
{
    static const char *const sentences[] = {
        "Troops crossed the border before dawn, the defence ministry said.",
        "Foreign ministers met in Geneva to discuss a ceasefire and prisoner exchanges.",
        "NATO allies agreed to raise spending at the summit in Vilnius.",
        "The harbour authority reopened two berths after the storm.",
        "Diplomats from Kenya and Ethiopia signed a border accord on Tuesday.",
    };
    if (i % 37 == 5) {
        char *s = strdup("{\"id\": \"broken");
        *len = strlen(s);
        return s;
    }
    size_t reps = 1 + (i * 7919) % 60;
    size_t cap = 256 + reps * 96;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int n = snprintf(buf, cap, "{\"id\":\"w-%zu\",\"headline\":\"Report %zu\",\"body_text\":\"",
                     i, i);
    size_t at = (size_t)n;
    if (i % 53 != 7) {
        n = snprintf(buf + at, cap - at, "KABUL, March %zu (Test Wire) - ", 1 + i % 28);
        at += (size_t)n;
        for (size_t r = 0; r < reps; r++) {
            n = snprintf(buf + at, cap - at, "%s ", sentences[(i + r) % 5]);
            at += (size_t)n;
        }
    }
    n = snprintf(buf + at, cap - at, "\"}");
    at += (size_t)n;
    *len = at;
    return buf;
}

/* What one thread alone makes of an input: the encoded record, or
 * "error:<code>" / "rejected:<code>". */
static char *reference(struct chain *ch, const struct decode_opts *o, const char *in, size_t len)
{
    struct decode_error derr;
    struct record *rec = decode_article(in, len, o, &derr);
    char *out;
    if (!rec) {
        out = malloc(64);
        snprintf(out, 64, "error:%s", derr.code);
        return out;
    }
    record_set_provenance(rec, "in", 0, 0, 0);      /* as the workers set it */
    if (chain_process(ch, rec) == VERDICT_REJECT) {
        out = malloc(96);
        snprintf(out, 96, "rejected:%s", rec->reject_code);
    } else {
        size_t olen;
        out = encode_record_line(rec, OUTPUT_RECORD, FIXED_NOW, &olen);
    }
    record_free(rec);
    return out;
}

static char *result_of(struct work *w)
{
    char *out;
    if (!w->rec) {
        out = malloc(64);
        snprintf(out, 64, "error:%s", w->derr.code);
        return out;
    }
    if (w->verdict == VERDICT_REJECT) {
        out = malloc(96);
        snprintf(out, 96, "rejected:%s", w->rec->reject_code);
        return out;
    }
    size_t olen;
    return encode_record_line(w->rec, OUTPUT_RECORD, FIXED_NOW, &olen);
}

static void count_clean(struct chain *ch, void *arg)
{
    json_t *o = json_object();
    chain_stats(ch, o);
    *(json_int_t *)arg += json_integer_value(
        json_object_get(json_object_get(json_object_get(o, "processors"), "clean"), "records"));
    json_decref(o);
}

/* The decode options `run` derives from the settings. */
static struct decode_opts opts_of(const struct settings *s)
{
    struct decode_opts o = {.format = INPUT_AUTO,
                            .max_body_size = (size_t)s->input.max_body_size,
                            .max_message_size = (size_t)s->input.max_message_size};
    return o;
}

static void test_front_len(void **state)
{
    (void)state;
    struct { const char *chain; size_t front; } cases[] = {
        {"clean, dedupe, entities, topics", 1},
        {"clean, entities, topics", 3},
        {"dedupe, clean", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct settings *s = inst_settings(cases[i].chain);
        assert_int_equal(chain_front_len(s), cases[i].front);
        settings_free(s);
    }
}

/* Submitted in bursts and taken as the wake-up pipe says, like the loop. */
static void test_order_and_results(void **state)
{
    (void)state;
    char err[512];
    struct settings *s = inst_settings("clean, entities, topics");
    struct decode_opts o = opts_of(s);
    struct chain *ref = chain_new(s, NULL, err, sizeof(err));
    assert_non_null(ref);
    struct workers *w = workers_new(4, s, &o, err, sizeof(err));
    if (!w)
        fail_msg("%s", err);

    static struct work items[N_ITEMS];
    static char *inputs[N_ITEMS];
    memset(items, 0, sizeof(items));
    size_t submitted = 0, taken = 0, errors = 0;
    while (taken < N_ITEMS) {
        for (size_t k = 0; k < 25 && submitted < N_ITEMS; k++, submitted++) {
            size_t len;
            inputs[submitted] = make_input(submitted, &len);
            items[submitted].payload = inputs[submitted];
            items[submitted].len = len;
            items[submitted].topic = "in";
            workers_submit(w, &items[submitted]);
        }
        struct pollfd pfd = {workers_fd(w), POLLIN, 0};
        assert_true(poll(&pfd, 1, 10000) >= 0);
        workers_ack(w);
        struct work *it;
        while ((it = workers_take(w))) {
            size_t i = (size_t)(it - items);
            assert_int_equal(i, taken);            /* submission order */
            char *got = result_of(it);
            char *want = reference(ref, &o, inputs[i], items[i].len);
            assert_non_null(got);
            assert_non_null(want);
            assert_string_equal(got, want);
            errors += strncmp(got, "error:", 6) == 0;
            free(got);
            free(want);
            record_free(it->rec);
            free(inputs[i]);
            taken++;
        }
        assert_true(workers_pending(w) == submitted - taken);
    }
    size_t bad = 0;            /* not JSON, or no body: refused by decode */
    for (size_t i = 0; i < N_ITEMS; i++)
        bad += i % 37 == 5 || i % 53 == 7;
    assert_int_equal(errors, bad);
    /* The copies of clean ran every decoded input between them. */
    json_int_t cleaned = 0;
    workers_each_chain(w, count_clean, &cleaned);
    assert_int_equal(cleaned, N_ITEMS - errors);

    workers_free(w);
    chain_free(ref);
    settings_free(s);
}

static void test_wait_idle_then_abandon(void **state)
{
    (void)state;
    char err[512];
    struct settings *s = inst_settings("clean, dedupe");
    struct decode_opts o = opts_of(s);
    struct workers *w = workers_new(3, s, &o, err, sizeof(err));
    if (!w)
        fail_msg("%s", err);
    static struct work items[200];
    static char *inputs[200];
    memset(items, 0, sizeof(items));
    for (size_t i = 0; i < 200; i++) {
        inputs[i] = make_input(i, &items[i].len);
        items[i].payload = inputs[i];
        items[i].topic = "in";
        workers_submit(w, &items[i]);
    }
    /* After waiting, everything is done and comes back in order. */
    workers_wait_idle(w);
    for (size_t i = 0; i < 100; i++) {
        struct work *it = workers_take(w);
        assert_non_null(it);
        assert_int_equal((size_t)(it - items), i);
        record_free(it->rec);
    }
    /* Abandoning hands back the rest, in order, run or not. */
    for (size_t i = 0; i < 50; i++)
        workers_submit(w, &items[i]);              /* reused: taken back above */
    size_t n = 0;
    for (struct work *it = workers_abandon(w); it; it = it->next_order, n++) {
        size_t want = n < 100 ? 100 + n : n - 100;
        assert_int_equal((size_t)(it - items), want);
        record_free(it->rec);
        it->rec = NULL;
    }
    assert_int_equal(n, 150);
    assert_int_equal(workers_pending(w), 0);
    assert_null(workers_take(w));
    workers_free(w);
    for (size_t i = 0; i < 200; i++)
        free(inputs[i]);
    settings_free(s);
}

int main(void)
{
    log_setup(LOG_ERROR, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_front_len),
        cmocka_unit_test(test_order_and_results),
        cmocka_unit_test(test_wait_idle_then_abandon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
