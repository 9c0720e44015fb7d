/*
 * test_offsets.c - in-flight offset tracking: a commit never passes the
 * lowest offset still in flight, whatever order acknowledgements come in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/offsets.h"

struct seen {
    int n;
    char topic[32];
    int32_t partition[8];
    int64_t next[8];
};

static void collect(void *arg, const char *topic, int32_t partition, int64_t next)
{
    struct seen *s = arg;
    if (s->n < 8) {
        strncpy(s->topic, topic, sizeof(s->topic) - 1);
        s->partition[s->n] = partition;
        s->next[s->n] = next;
    }
    s->n++;
}

static void test_in_order(void **unused)
{
    struct offsets *o = offsets_new();
    struct offset_item *a = offsets_track(o, "in", 0, 10);
    struct offset_item *b = offsets_track(o, "in", 0, 11);
    assert_int_equal(offsets_pending(o), 2);
    assert_int_equal(offsets_position(o, "in", 0), -1);
    assert_int_equal(offsets_release(o, a), 1);
    assert_int_equal(offsets_position(o, "in", 0), 11);
    assert_int_equal(offsets_release(o, b), 1);
    assert_int_equal(offsets_position(o, "in", 0), 12);
    assert_int_equal(offsets_pending(o), 0);
    offsets_free(o);
}

static void test_out_of_order_never_passes_lowest(void **unused)
{
    struct offsets *o = offsets_new();
    struct offset_item *it[5];
    for (int i = 0; i < 5; i++) {
        it[i] = offsets_track(o, "in", 3, 100 + i);
        offsets_hold(it[i]);          /* one output each */
        offsets_release(o, it[i]);    /* processing done, output pending */
    }
    /* Acks for 101..104 arrive first: nothing is committable. */
    for (int i = 4; i >= 1; i--)
        offsets_release(o, it[i]);
    assert_int_equal(offsets_position(o, "in", 3), -1);
    assert_int_equal(offsets_pending(o), 1);
    struct seen s = {0};
    assert_int_equal(offsets_committable(o, 0, collect, &s), 0);
    offsets_release(o, it[0]);
    assert_int_equal(offsets_position(o, "in", 3), 105);
    assert_int_equal(offsets_committable(o, 0, collect, &s), 1);
    assert_int_equal(s.next[0], 105);
    assert_int_equal(s.partition[0], 3);
    offsets_free(o);
}

static void test_multiple_outputs(void **unused)
{
    struct offsets *o = offsets_new();
    struct offset_item *a = offsets_track(o, "in", 0, 7);
    offsets_hold(a);
    offsets_hold(a);
    offsets_hold(a);
    assert_int_equal(offsets_release(o, a), 0);        /* processing */
    assert_int_equal(offsets_release(o, a), 0);
    assert_int_equal(offsets_release(o, a), 0);
    assert_int_equal(offsets_position(o, "in", 0), -1);
    assert_int_equal(offsets_release(o, a), 1);        /* last output acked */
    assert_int_equal(offsets_position(o, "in", 0), 8);
    offsets_free(o);
}

static void test_partitions_independent(void **unused)
{
    struct offsets *o = offsets_new();
    struct offset_item *p0 = offsets_track(o, "in", 0, 5);
    struct offset_item *p1 = offsets_track(o, "in", 1, 50);
    struct offset_item *q0 = offsets_track(o, "other", 0, 1);
    offsets_release(o, p1);
    assert_int_equal(offsets_position(o, "in", 1), 51);
    assert_int_equal(offsets_position(o, "in", 0), -1);
    assert_int_equal(offsets_position(o, "other", 0), -1);
    struct seen s = {0};
    assert_int_equal(offsets_committable(o, 0, collect, &s), 1);
    assert_string_equal(s.topic, "in");
    assert_int_equal(s.next[0], 51);
    offsets_mark_committed(o, "in", 1, 51);
    s.n = 0;
    assert_int_equal(offsets_committable(o, 0, collect, &s), 0);
    assert_int_equal(offsets_committable(o, 1, collect, &s), 1);
    offsets_release(o, p0);
    offsets_release(o, q0);
    s.n = 0;
    assert_int_equal(offsets_committable(o, 0, collect, &s), 2);
    offsets_free(o);
}

static void test_forget_keeps_items_valid(void **unused)
{
    struct offsets *o = offsets_new();
    struct offset_item *a = offsets_track(o, "in", 2, 9);
    offsets_hold(a);
    offsets_release(o, a);
    offsets_forget(o, "in", 2);
    struct seen s = {0};
    assert_int_equal(offsets_committable(o, 1, collect, &s), 0);
    assert_int_equal(offsets_position(o, "in", 2), -1);
    assert_int_equal(offsets_pending(o), 1);
    /* Reassigned: a fresh partition entry, independent of the old one. */
    struct offset_item *b = offsets_track(o, "in", 2, 9);
    offsets_release(o, b);
    assert_int_equal(offsets_position(o, "in", 2), 10);
    offsets_release(o, a);       /* late ack of the revoked one: freed */
    assert_int_equal(offsets_pending(o), 0);
    assert_int_equal(offsets_position(o, "in", 2), 10);
    offsets_free(o);
}

static void test_free_with_pending(void **unused)
{
    struct offsets *o = offsets_new();
    for (int i = 0; i < 100; i++)
        offsets_hold(offsets_track(o, "in", i % 4, i));
    offsets_forget(o, "in", 1);
    assert_int_equal(offsets_pending(o), 100);
    offsets_free(o);             /* no leak under ASan */
    offsets_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order_never_passes_lowest),
        cmocka_unit_test(test_multiple_outputs),
        cmocka_unit_test(test_partitions_independent),
        cmocka_unit_test(test_forget_keeps_items_valid),
        cmocka_unit_test(test_free_with_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
