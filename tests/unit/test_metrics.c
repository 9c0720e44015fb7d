/*
 * test_metrics.c - counters, the latency histogram, librdkafka lag, the
 * recent-entities window and the three renderings (Prometheus, JSON, the
 * stats line) after a known input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/metrics.h"
#include "core/record.h"

#define T0 1764300000000LL   /* a fixed "now" */

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Every test starts from an empty registry created at T0 (*state). */
static int setup(void **state)
{
    *state = metrics_new(T0);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    metrics_free(*state);
    return 0;
}

/* Fails the test naming the Prometheus line that is missing. */
static void expect_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_labelled_counters(void **state)
{
    struct metrics *m = *state;
    for (int i = 0; i < 3; i++)
        metrics_inc_in(m, "news.raw");
    metrics_inc_in(m, "news.other");
    metrics_inc_out(m, "news.enriched");
    metrics_inc_out(m, "news.enriched");
    metrics_inc_reject(m, "body_too_large");
    metrics_inc_reject(m, "decode_error");
    metrics_inc_reject(m, "decode_error");
    metrics_inc_dedupe(m, DEDUPE_NEAR_DUPLICATE);

    assert_int_equal(metrics_in_total(m), 4);
    assert_int_equal(metrics_out_total(m), 2);
    assert_int_equal(metrics_counter(m, "wirestream_records_in_total", "news.raw"), 3);
    assert_int_equal(metrics_counter(m, "wirestream_records_in_total", "nope"), 0);
    assert_int_equal(metrics_counter(m, "wirestream_rejects_total", NULL), 3);
    assert_int_equal(metrics_counter(m, "wirestream_rejects_total", "decode_error"), 2);
    assert_int_equal(metrics_counter(m, "wirestream_dedupe_total", "near_duplicate"), 1);

    /* NULL metrics are a no-op, not a crash */
    metrics_inc_in(NULL, "x");
    metrics_observe_latency_ms(NULL, 3);

    size_t len;
    char *text = metrics_render_prometheus(m, T0 + 1500, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    expect_line(text, "wirestream_records_in_total{topic=\"news.raw\"} 3");
    expect_line(text, "wirestream_records_in_total{topic=\"news.other\"} 1");
    expect_line(text, "wirestream_records_out_total{topic=\"news.enriched\"} 2");
    expect_line(text, "wirestream_rejects_total{reason=\"decode_error\"} 2");
    expect_line(text, "wirestream_dedupe_total{status=\"near_duplicate\"} 1");
    expect_line(text, "# TYPE wirestream_records_in_total counter");
    expect_line(text, "wirestream_uptime_seconds 1.500");
    free(text);
}

static void test_label_escaping_and_cardinality_cap(void **state)
{
    struct metrics *m = *state;
    metrics_inc_reject(m, "a\"b\\c\nd");
    char label[32];
    for (int i = 0; i < METRICS_MAX_SERIES + 50; i++) {
        snprintf(label, sizeof(label), "t%d", i);
        metrics_inc_classified(m, label);
    }
    /* t0..t255 fill the family; the other 50 land in "_other" */
    assert_int_equal(metrics_counter(m, "wirestream_classified_total", NULL),
                     METRICS_MAX_SERIES + 50);
    assert_int_equal(metrics_counter(m, "wirestream_classified_total", "_other"), 50);
    assert_int_equal(metrics_counter(m, "wirestream_classified_total", "t0"), 1);
    char *text = metrics_render_prometheus(m, T0, NULL);
    expect_line(text, "wirestream_rejects_total{reason=\"a\\\"b\\\\c\\nd\"} 1");
    expect_line(text, "wirestream_classified_total{topic=\"_other\"} 50");
    free(text);
}

static void test_latency_histogram(void **state)
{
    struct metrics *m = *state;
    assert_true(metrics_latency_quantile(m, 0.5) < 0);
    /* 90 fast (3 ms, bucket 2.5..5), 10 slow (700 ms, bucket 500..1000) */
    for (int i = 0; i < 90; i++)
        metrics_observe_latency_ms(m, 3);
    for (int i = 0; i < 10; i++)
        metrics_observe_latency_ms(m, 700);
    metrics_observe_latency_ms(m, -5);     /* clock skew counts as 0 */
    assert_int_equal(metrics_latency_count(m), 101);
    double p50 = metrics_latency_quantile(m, 0.5);
    assert_true(p50 > 2.5 && p50 <= 5);
    double p99 = metrics_latency_quantile(m, 0.99);
    assert_true(p99 > 500 && p99 <= 1000);

    char *text = metrics_render_prometheus(m, T0, NULL);
    static const char *const want[] = {
        "_bucket{le=\"0.001\"} 1", "_bucket{le=\"0.005\"} 91", "_bucket{le=\"0.5\"} 91",
        "_bucket{le=\"1\"} 101",   "_bucket{le=\"+Inf\"} 101", "_count 101",
        "_sum 7.270000",                                    /* 90*3 + 10*700 ms */
    };
    char line[128];
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(line, sizeof(line), "wirestream_processing_latency_seconds%s", want[i]);
        expect_line(text, line);
    }
    free(text);
}

static void test_rdkafka_stats(void **state)
{
    struct metrics *m = *state;
    assert_int_equal(metrics_brokers_up(m), -1);
    const char *consumer =
        "{\"name\":\"c#consumer-1\",\"type\":\"consumer\",\"brokers\":{"
        "\"GroupCoordinator\":{\"state\":\"UP\",\"source\":\"logical\"},"
        "\":0/internal\":{\"state\":\"UP\",\"source\":\"internal\"},"
        "\"127.0.0.1:9092/1\":{\"state\":\"UP\",\"source\":\"learned\"},"
        "\"127.0.0.1:9093/2\":{\"state\":\"DOWN\",\"source\":\"learned\"}},"
        "\"topics\":{"
        "\"news.raw\":{\"topic\":\"news.raw\",\"partitions\":{"
        "\"0\":{\"partition\":0,\"consumer_lag\":12},"
        "\"1\":{\"partition\":1,\"consumer_lag\":0},"
        "\"2\":{\"partition\":2,\"consumer_lag\":-1},"
        "\"3\":{\"partition\":3,\"consumer_lag\":-1,\"consumer_lag_stored\":7},"
        "\"4\":{\"partition\":4,\"consumer_lag\":-1,\"hi_offset\":0,\"lo_offset\":0},"
        "\"5\":{\"partition\":5,\"consumer_lag\":9,\"fetch_state\":\"none\"},"
        "\"-1\":{\"partition\":-1,\"consumer_lag\":-1}}}}}";
    assert_int_equal(metrics_rdkafka_stats(m, consumer, strlen(consumer)), 0);
    assert_int_equal(metrics_lag_total(m), 19);
    assert_int_equal(metrics_brokers_up(m), 1);
    char *text = metrics_render_prometheus(m, T0, NULL);
    expect_line(text, "wirestream_consumer_lag{topic=\"news.raw\",partition=\"0\"} 12");
    expect_line(text, "wirestream_consumer_lag{topic=\"news.raw\",partition=\"1\"} 0");
    assert_null(strstr(text, "partition=\"2\""));
    expect_line(text, "wirestream_consumer_lag{topic=\"news.raw\",partition=\"3\"} 7");
    expect_line(text, "wirestream_consumer_lag{topic=\"news.raw\",partition=\"4\"} 0");
    assert_null(strstr(text, "partition=\"5\""));
    assert_null(strstr(text, "partition=\"-1\""));
    free(text);

    /* a later document replaces the table: revoked partitions disappear */
    const char *later = "{\"type\":\"consumer\",\"topics\":{\"news.raw\":{\"partitions\":{"
                        "\"1\":{\"consumer_lag\":4}}}}}";
    assert_int_equal(metrics_rdkafka_stats(m, later, strlen(later)), 0);
    assert_int_equal(metrics_lag_total(m), 4);
    assert_int_equal(metrics_brokers_up(m), 0);   /* no broker listed: none up */

    const char *producer = "{\"type\":\"producer\",\"msg_cnt\":37,\"topics\":{}}";
    assert_int_equal(metrics_rdkafka_stats(m, producer, strlen(producer)), 0);
    assert_int_equal(metrics_lag_total(m), 4);   /* producer stats leave lag alone */
    text = metrics_render_prometheus(m, T0, NULL);
    expect_line(text, "wirestream_producer_queue_depth 37");
    free(text);

    assert_int_equal(metrics_rdkafka_stats(m, "{not json", 9), -1);
}

/* The first row of metrics_top_entities() is name, seen count times. */
static void expect_top(const json_t *top, const char *name, json_int_t count)
{
    const json_t *row = json_array_get(top, 0);
    assert_string_equal(json_string_value(json_object_get(row, "name")), name);
    assert_int_equal(json_integer_value(json_object_get(row, "count")), count);
}

static struct record *story(const char *id, enum dedupe_status st, const char *topic,
                            const char *const *ents, size_t nents)
{
    struct record *rec = record_new();
    record_set(&rec->id, id, (size_t)-1);
    rec->dedupe.status = st;
    if (topic) {
        struct topic_hit *t = record_add_topic(rec);
        record_set(&t->name, topic, (size_t)-1);
        t->score = 0.8;
    }
    for (size_t i = 0; i < nents; i++) {
        struct entity *e = record_add_entity(rec);
        record_set(&e->name, ents[i], (size_t)-1);
        e->type = i == 0 ? ENTITY_PLACE : ENTITY_PERSON;
    }
    return rec;
}

static void test_observe_record_and_window(void **state)
{
    struct metrics *m = *state;
    const char *a[] = {"Kyiv", "Ada Example"};
    const char *b[] = {"Kyiv"};
    struct record *r1 = story("1", DEDUPE_UNIQUE, "war", a, 2);
    struct record *r2 = story("2", DEDUPE_DUPLICATE, "war", b, 1);
    struct record *r3 = story("3", DEDUPE_UNIQUE, "diplomacy", NULL, 0);
    metrics_observe_record(m, r1, T0);
    metrics_observe_record(m, r2, T0 + 1000);
    metrics_observe_record(m, r3, T0 + 2000);
    assert_int_equal(metrics_counter(m, "wirestream_dedupe_total", "unique"), 2);
    assert_int_equal(metrics_counter(m, "wirestream_dedupe_total", "duplicate"), 1);
    assert_int_equal(metrics_counter(m, "wirestream_classified_total", "war"), 2);
    assert_int_equal(metrics_counter(m, "wirestream_classified_total", "diplomacy"), 1);
    assert_int_equal(metrics_counter(m, "wirestream_entity_tags_total", "place"), 2);
    assert_int_equal(metrics_counter(m, "wirestream_entity_tags_total", "person"), 1);

    json_t *top = metrics_top_entities(m, T0 + 2000, 10);
    assert_int_equal(json_array_size(top), 2);
    expect_top(top, "Kyiv", 2);
    json_decref(top);

    /* six minutes later, with a new mention: the old ones left the window */
    int64_t later = T0 + 6 * METRICS_WINDOW_BUCKET_MS;
    metrics_inc_entity(m, "Ada Example", ENTITY_PERSON, later);
    top = metrics_top_entities(m, later, 10);
    assert_int_equal(json_array_size(top), 1);
    expect_top(top, "Ada Example", 1);
    json_decref(top);

    json_t *o = metrics_to_json(m, later, 5);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "classified"),
                                                        "total")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(o, "dedupe"), "by"), "duplicate")),
                     1);
    json_decref(o);
    record_free(r1);
    record_free(r2);
    record_free(r3);
}

static void test_window_many_keys(void **state)
{
    struct metrics *m = *state;
    char name[32];
    /* more distinct names than the window keeps: bounded, no crash */
    for (int i = 0; i < METRICS_MAX_WINDOW_KEYS + 500; i++) {
        snprintf(name, sizeof(name), "entity %d", i);
        metrics_inc_entity(m, name, ENTITY_ORGANIZATION, T0);
    }
    for (int i = 0; i < 7; i++)
        metrics_inc_entity(m, "entity 17", ENTITY_ORGANIZATION, T0 + 10);
    json_t *top = metrics_top_entities(m, T0 + 10, 3);
    assert_int_equal(json_array_size(top), 3);
    expect_top(top, "entity 17", 8);
    json_decref(top);
    assert_int_equal(metrics_counter(m, "wirestream_entity_tags_total", "organization"),
                     METRICS_MAX_WINDOW_KEYS + 507);
}

static void test_format_line(void **state)
{
    struct metrics *m = *state;
    for (int i = 0; i < 20; i++)
        metrics_inc_in(m, "news.raw");
    for (int i = 0; i < 40; i++)
        metrics_inc_out(m, "news.enriched");
    metrics_inc_dedupe(m, DEDUPE_DUPLICATE);
    metrics_inc_dedupe(m, DEDUPE_NEAR_DUPLICATE);
    metrics_inc_dedupe(m, DEDUPE_NEAR_DUPLICATE);
    metrics_set_lag(m, "news.raw", 0, 5);
    metrics_set_queue_depth(m, 3);
    char buf[256];
    metrics_format_line(m, T0 + 10000, buf, sizeof(buf));
    assert_string_equal(buf, "in 20 (2.0/s) out 40 (4.0/s) rejects 0 dup 1 near 2 lag 5 "
                             "queue 3 inflight 0");
    /* the next line's rate covers only what happened since */
    for (int i = 0; i < 5; i++)
        metrics_inc_in(m, "news.raw");
    metrics_observe_latency_ms(m, 3);
    metrics_format_line(m, T0 + 15000, buf, sizeof(buf));
    assert_non_null(strstr(buf, "in 25 (1.0/s) out 40 (0.0/s)"));
    assert_non_null(strstr(buf, " latency p50 "));
    /* a short buffer is cut, never overrun */
    char tiny[8];
    metrics_format_line(m, T0 + 16000, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_labelled_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_escaping_and_cardinality_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rdkafka_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observe_record_and_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_many_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
