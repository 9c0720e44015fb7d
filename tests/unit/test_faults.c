/*
 * test_faults.c - the run pipeline against librdkafka's mock cluster with
 * faults injected: a broker down for seconds, Produce and OffsetCommit
 * request errors, a slow broker, back-pressure, a restart, a permanent
 * delivery failure. Each test produces N articles with an independent
 * producer, drives the pipeline through core/pipeline.h, reads the output
 * topics back and checks that every input is accounted for (re-deliveries
 * are counted and reported, never a loss) and that no committed offset
 * passes an input whose outputs were not delivered.
 *
 * Every wait has a deadline; nothing sleeps blindly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "core/embedded.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/settings.h"
#include "core/statestore_kafka.h"

#define NPART 3
#define MAXN 2000
#define API_PRODUCE 0
#define API_OFFSET_COMMIT 8

struct fx {
    char name[64];
    struct embedded *emb;
    rd_kafka_mock_cluster_t *mc;
    const char *brokers;
    struct settings *s;
    int n;
    int32_t part[MAXN];        /* where input i landed */
    int64_t off[MAXN];
    int seen[MAXN];            /* outputs found per input */
    int64_t max_in_flight_seen;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct settings *load_settings(const char *name, const char *extra)
{
    char text[4096], err[1024];
    snprintf(text, sizeof(text),
             "[kafka]\n"
             "input_topics = %s.in\n"
             "group_id = %s.group\n"
             "commit_interval = 200ms\n"
             "poll_interval = 50ms\n"
             "[output]\n"
             "enriched_topic = %s.enriched\n"
             "topic_prefix = %s.topic.\n"
             "duplicates_topic = %s.dup\n"
             "deadletter_topic = %s.dead\n"
             "state_topic = %s.state\n"
             "[pipeline]\n"
             "processors = clean, dedupe\n"
             "[log]\n"
             "stats_interval = 0\n"
             "[librdkafka.consumer]\n"
             "%s"
             "session.timeout.ms = 10000\n"
             "heartbeat.interval.ms = 1000\n"
             "%s",
             name, name, name, name, name, name, name,
             getenv("WS_TEST_DEBUG") ? "debug = cgrp\n" : "", extra ? extra : "");
    /* Relative data paths resolve against config/ (tests run from the
     * repository root). */
    struct conf_file *cf = conf_parse(text, "config/test_faults.conf", err, sizeof(err));
    if (!cf) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    struct settings *s = settings_load(cf, err, sizeof(err));
    if (!s)
        fprintf(stderr, "%s\n", err);
    return s;
}

/* Distinct bodies: words drawn from a small vocabulary by a per-story
 * generator, so dedupe sees every article as unique. */
static void make_article(int i, const char *name, char *buf, size_t sz)
{
    static const char *const words[] = {
        "council", "river", "harvest", "engineers", "tariff", "railway", "museum", "storm",
        "election", "vaccine", "festival", "harbour", "budget", "bridge", "satellite",
        "teachers", "drought", "orchestra", "copper", "pilgrims", "turbines", "glacier",
        "parliament", "lantern", "fishermen", "courts", "volcano", "bakers", "marathon",
        "archive", "ferry", "vineyard", "quarry", "telescope", "monsoon", "textile",
    };
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
    size_t n = (size_t)snprintf(buf, sz, "{\"id\":\"%s-%d\",\"headline\":\"Report %d on local "
                                "affairs\",\"body\":\"Story %d.", name, i, i, i);
    for (int w = 0; w < 40 && n < sz - 64; w++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n += (size_t)snprintf(buf + n, sz - n, " %s", words[x % (sizeof(words) / sizeof(*words))]);
    }
    snprintf(buf + n, sz - n, " %d.\"}", i);
}

static void input_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct fx *f = opaque;
    intptr_t i = (intptr_t)m->_private;
    if (!m->err && i >= 0 && i < MAXN) {
        f->part[i] = m->partition;
        f->off[i] = m->offset;
    }
}

/* Produces n articles (plus `bad` malformed ones at the end) with an
 * independent producer and waits for their acknowledgement. */
static void produce_inputs(struct fx *f, int n, int bad)
{
    char errstr[512], topic[128], buf[2048];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->brokers, errstr,
                                       sizeof(errstr)), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_dr_msg_cb(conf, input_dr);
    rd_kafka_conf_set_opaque(conf, f);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    snprintf(topic, sizeof(topic), "%s.in", f->name);
    for (int i = 0; i < n + bad; i++) {
        f->part[i] = -1;
        if (i < n)
            make_article(i, f->name, buf, sizeof(buf));
        else
            snprintf(buf, sizeof(buf), "{\"id\": \"bad-%d\", \"body\": ", i);
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                           RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE(buf, strlen(buf)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
                                           RD_KAFKA_V_END), 0);
    }
    assert_int_equal(rd_kafka_flush(rk, 30000), 0);
    rd_kafka_destroy(rk);
    for (int i = 0; i < n + bad; i++)
        assert_true(f->part[i] >= 0);
    f->n = n + bad;
}

static int setup(void **state)
{
    static int seq;
    char err[512];
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->name, sizeof(f->name), "faults%d-%ld", ++seq, (long)time(NULL) % 100000);
    f->emb = embedded_new(0, err, sizeof(err));
    assert_non_null(f->emb);
    f->mc = embedded_cluster(f->emb);
    f->brokers = embedded_bootstraps(f->emb);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    settings_free(f->s);
    embedded_free(f->emb);
    free(f);
    return 0;
}

static void use_settings(struct fx *f, const char *extra)
{
    char err[512];
    f->s = load_settings(f->name, extra);
    assert_non_null(f->s);
    assert_int_equal(embedded_create_pipeline_topics(f->emb, f->s, err, sizeof(err)), 0);
}

static struct pipeline *start(struct fx *f)
{
    char err[1024];
    struct pipeline_opts o = {.brokers = f->brokers, .embedded = f->emb, .quiet = 1,
                              .shutdown_timeout = 30000};
    struct pipeline *p = pipeline_new(f->s, &o, err, sizeof(err));
    if (!p)
        fail_msg("pipeline_new: %s", err);
    if (pipeline_start(p, err, sizeof(err)) < 0)
        fail_msg("pipeline_start: %s", err);
    return p;
}

struct until {
    struct fx *f;
    uint64_t done;
};

static int reached(void *arg, const struct pipeline *p)
{
    struct until *u = arg;
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    if ((int64_t)c.in_flight > u->f->max_in_flight_seen)
        u->f->max_in_flight_seen = (int64_t)c.in_flight;
    /* Delivered and committed: a pipeline that lost its group membership
     * has recovered only once it commits again. */
    return c.done >= u->done && c.in_flight == 0 && c.uncommitted == 0;
}

static int progressed(void *arg, const struct pipeline *p)
{
    struct until *u = arg;
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    return c.done >= u->done;
}

static int committed_to_end(struct fx *f);
static void run_for_quietly(struct pipeline *p, int64_t ms);

/* Runs until `done` inputs are complete and, seen from outside, the
 * group's committed offsets reach the end of every input partition (a
 * pipeline whose membership was lost meanwhile must rejoin, re-read and
 * commit by itself), within timeout_ms. */
static void run_until_done(struct fx *f, struct pipeline *p, uint64_t done, int64_t timeout_ms)
{
    struct until u = {f, done};
    int64_t t0 = mono_ms(), deadline = t0 + timeout_ms;
    int r = 0;
    struct pipeline_counters c;
    while (mono_ms() < deadline) {
        r = pipeline_run_until(p, reached, &u, 500);
        if (r < 0)
            break;
        if (r == 1 && committed_to_end(f))
            return;
        if (r == 1)
            run_for_quietly(p, 200);   /* let the commit timer work */
    }
    pipeline_counters(p, &c);
    fail_msg("%s: %llu of %llu inputs done, committed to the end: %d, after %lld ms (r=%d, "
             "in_flight=%llu)", f->name, (unsigned long long)c.done, (unsigned long long)done,
             committed_to_end(f), (long long)(mono_ms() - t0), r,
             (unsigned long long)c.in_flight);
}

/* Runs the loop for ms, whatever happens (faults are active). */
static void run_for(struct pipeline *p, int64_t ms)
{
    int r = pipeline_run_until(p, NULL, NULL, ms);
    assert_int_equal(r, 0);
}

static void run_for_quietly(struct pipeline *p, int64_t ms)
{
    pipeline_run_until(p, NULL, NULL, ms);
}

static void on_output(void *arg, const rd_kafka_message_t *m)
{
    struct fx *f = arg;
    rd_kafka_headers_t *h = NULL;
    const void *pv = NULL, *ov = NULL;
    size_t pl = 0, ol = 0;
    char buf[32];
    if (rd_kafka_message_headers(m, &h) || !h ||
        rd_kafka_header_get_last(h, PIPELINE_H_SRC_PART, &pv, &pl) ||
        rd_kafka_header_get_last(h, PIPELINE_H_SRC_OFFSET, &ov, &ol))
        return;
    snprintf(buf, sizeof(buf), "%.*s", (int)pl, (const char *)pv);
    int32_t part = (int32_t)atoi(buf);
    snprintf(buf, sizeof(buf), "%.*s", (int)ol, (const char *)ov);
    int64_t off = strtoll(buf, NULL, 10);
    for (int i = 0; i < f->n; i++)
        if (f->part[i] == part && f->off[i] == off) {
            f->seen[i]++;
            return;
        }
}

/* Reads the enriched and dead-letter topics; returns the number of
 * re-delivered copies and fails on any input with no output at all. */
static int check_all_accounted(struct fx *f)
{
    char err[512], topic[128];
    memset(f->seen, 0, sizeof(f->seen));
    const char *suffix[] = {"enriched", "dead", "dup"};
    for (int k = 0; k < 3; k++) {
        snprintf(topic, sizeof(topic), "%s.%s", f->name, suffix[k]);
        long n = statestore_kafka_read(f->s, f->brokers, topic, on_output, f, 30000, err,
                                       sizeof(err));
        if (n < 0)
            fail_msg("reading %s: %s", topic, err);
    }
    int missing = 0, extra = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->seen[i] == 0)
            missing++;
        else
            extra += f->seen[i] - 1;
    }
    printf("[ %-8s ] %s: %d inputs, %d accounted for, %d missing, %d re-delivered copies\n",
           "COUNTS", f->name, f->n, f->n - missing, missing, extra);
    assert_int_equal(missing, 0);
    return extra;
}

/* Committed offsets of the group on the input topic, per partition. */
static void committed(struct fx *f, int64_t out[NPART])
{
    char errstr[512], topic[128], group[128];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(topic, sizeof(topic), "%s.in", f->name);
    snprintf(group, sizeof(group), "%s.group", f->name);
    rd_kafka_conf_set(conf, "bootstrap.servers", f->brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int i = 0; i < NPART; i++)
        rd_kafka_topic_partition_list_add(l, topic, i);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), 0);
    for (int i = 0; i < NPART; i++)
        out[l->elems[i].partition] = l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

/* Every input partition committed to its end: 1 / 0, with the first
 * difference in *what. */
static int committed_ends(struct fx *f, char *what, size_t wlen)
{
    int64_t c[NPART], end[NPART] = {0};
    committed(f, c);
    for (int i = 0; i < f->n; i++)
        if (f->off[i] + 1 > end[f->part[i]])
            end[f->part[i]] = f->off[i] + 1;
    for (int k = 0; k < NPART; k++)
        if (end[k] > 0 && c[k] != end[k]) {
            snprintf(what, wlen, "%s [%d]: committed %lld, end %lld", f->name, k,
                     (long long)c[k], (long long)end[k]);
            return 0;
        }
    return 1;
}

static int committed_to_end(struct fx *f)
{
    char what[256];
    return committed_ends(f, what, sizeof(what));
}

static void check_committed_to_end(struct fx *f)
{
    char what[256];
    if (!committed_ends(f, what, sizeof(what)))
        fail_msg("%s", what);
}

/* No committed offset passes an input without an output. */
static void check_commit_invariant(struct fx *f)
{
    int64_t c[NPART];
    committed(f, c);
    for (int i = 0; i < f->n; i++) {
        int64_t ck = c[f->part[i]];
        if (ck >= 0 && f->off[i] < ck && f->seen[i] == 0)
            fail_msg("%s [%d]: offset %lld committed (at %lld) but never delivered", f->name,
                     f->part[i], (long long)f->off[i], (long long)ck);
    }
}

/* ---- tests ------------------------------------------------------------- */

static void test_baseline(void **state)
{
    struct fx *f = *state;
    use_settings(f, NULL);
    produce_inputs(f, 300, 5);
    struct pipeline *p = start(f);
    run_until_done(f, p, (uint64_t)f->n, 60000);
    assert_int_equal(pipeline_stop(p), 0);
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    assert_int_equal(c.enriched, 300);
    assert_int_equal(c.deadletter, 5);
    assert_int_equal(c.failed, 0);
    assert_true(c.state_writes >= 300);     /* the dedupe changelog */
    pipeline_free(p);
    assert_int_equal(check_all_accounted(f), 0);
    check_committed_to_end(f);
}

static void test_broker_down(void **state)
{
    struct fx *f = *state;
    use_settings(f, NULL);
    produce_inputs(f, 400, 0);
    struct pipeline *p = start(f);
    struct until u = {f, 50};
    assert_int_equal(pipeline_run_until(p, progressed, &u, 60000), 1);
    /* The only broker goes away for 4 s mid-stream. */
    assert_int_equal(rd_kafka_mock_broker_set_down(f->mc, 1), 0);
    run_for(p, 4000);
    assert_int_equal(rd_kafka_mock_broker_set_up(f->mc, 1), 0);
    run_until_done(f, p, (uint64_t)f->n, 90000);
    assert_int_equal(pipeline_stop(p), 0);
    pipeline_free(p);
    check_all_accounted(f);
    check_committed_to_end(f);
}

static void test_request_errors(void **state)
{
    struct fx *f = *state;
    use_settings(f, NULL);
    produce_inputs(f, 300, 0);
    struct pipeline *p = start(f);
    struct until u = {f, 20};
    assert_int_equal(pipeline_run_until(p, progressed, &u, 60000), 1);
    /* Retriable errors on the next Produce and OffsetCommit requests. */
    rd_kafka_mock_push_request_errors(f->mc, API_PRODUCE, 6,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    rd_kafka_mock_push_request_errors(f->mc, API_OFFSET_COMMIT, 4,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    run_until_done(f, p, (uint64_t)f->n, 90000);
    assert_int_equal(pipeline_stop(p), 0);
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    assert_int_equal(c.failed, 0);
    pipeline_free(p);
    check_all_accounted(f);
    check_committed_to_end(f);
}

static void test_slow_broker_backpressure(void **state)
{
    struct fx *f = *state;
    use_settings(f, "[kafka]\nmax_in_flight = 20\n");
    produce_inputs(f, 150, 0);
    /* 200 ms per request: deliveries lag, the in-flight limit is hit. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(f->mc, 1, 200), 0);
    struct pipeline *p = start(f);
    f->max_in_flight_seen = 0;
    run_until_done(f, p, (uint64_t)f->n, 120000);
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    assert_int_equal(rd_kafka_mock_broker_set_rtt(f->mc, 1, 0), 0);
    assert_int_equal(pipeline_stop(p), 0);
    pipeline_free(p);
    printf("[ %-8s ] %s: %llu pauses, at most %lld in flight (limit 20)\n", "COUNTS",
           f->name, (unsigned long long)c.pauses, (long long)f->max_in_flight_seen);
    assert_true(c.pauses > 0);
    /* A record causes a few messages (output + changelog): the limit is
     * checked after each record, so it overshoots by at most that. */
    assert_true(f->max_in_flight_seen <= 20 + 8);
    check_all_accounted(f);
    check_committed_to_end(f);
}

static void test_restart_resumes(void **state)
{
    struct fx *f = *state;
    use_settings(f, "[kafka]\nmax_in_flight = 20\nbatch_size = 10\n");
    produce_inputs(f, 300, 0);
    struct pipeline *p = start(f);
    struct until u = {f, 100};
    assert_int_equal(pipeline_run_until(p, progressed, &u, 60000), 1);
    assert_int_equal(pipeline_stop(p), 0);     /* graceful: drain and commit */
    struct pipeline_counters c1;
    pipeline_counters(p, &c1);
    pipeline_free(p);

    p = start(f);                              /* same group: resumes */
    struct pipeline_counters c2;
    pipeline_counters(p, &c2);
    assert_true(c2.restored > 0);              /* dedupe state read back */
    run_until_done(f, p, (uint64_t)f->n - c1.done, 60000);
    assert_int_equal(pipeline_stop(p), 0);
    pipeline_counters(p, &c2);
    pipeline_free(p);
    printf("[ %-8s ] %s: first run %llu, second run %llu, %llu state entries restored\n",
           "COUNTS", f->name, (unsigned long long)c1.done, (unsigned long long)c2.done,
           (unsigned long long)c2.restored);
    /* A graceful stop commits everything it consumed: no re-delivery. */
    assert_int_equal(c1.done + c2.done, (uint64_t)f->n);
    assert_int_equal(check_all_accounted(f), 0);
    check_committed_to_end(f);
}

static void test_permanent_failure_not_committed(void **state)
{
    struct fx *f = *state;
    /* Small batches, a small in-flight limit and a slightly slow broker
     * keep the stream flowing when the error is injected. */
    use_settings(f, "[kafka]\nmax_in_flight = 20\nbatch_size = 10\n");
    produce_inputs(f, 200, 0);
    assert_int_equal(rd_kafka_mock_broker_set_rtt(f->mc, 1, 20), 0);
    struct pipeline *p = start(f);
    struct until u = {f, 30};
    assert_int_equal(pipeline_run_until(p, progressed, &u, 60000), 1);
    /* A non-retriable error on Produce: those outputs are lost for good,
     * the pipeline must stop and must not commit past their inputs. */
    rd_kafka_mock_push_request_errors(f->mc, API_PRODUCE, 3,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    int r = pipeline_run_until(p, NULL, NULL, 30000);
    char err[512];
    assert_int_equal(r, -1);
    assert_true(pipeline_failed(p, err, sizeof(err)));
    assert_int_equal(pipeline_stop(p), -1);
    pipeline_free(p);
    memset(f->seen, 0, sizeof(f->seen));
    char topic[128], rerr[256];
    const char *suffix[] = {"enriched", "dead", "dup"};
    for (int k = 0; k < 3; k++) {
        snprintf(topic, sizeof(topic), "%s.%s", f->name, suffix[k]);
        assert_true(statestore_kafka_read(f->s, f->brokers, topic, on_output, f, 30000, rerr,
                                          sizeof(rerr)) >= 0);
    }
    check_commit_invariant(f);
    int64_t c[NPART];
    committed(f, c);
    int64_t total = 0;
    for (int k = 0; k < NPART; k++)
        total += c[k] > 0 ? c[k] : 0;
    printf("[ %-8s ] %s: stopped on \"%s\"; %lld of %d inputs committed\n", "COUNTS", f->name,
           err, (long long)total, f->n);
    assert_true(total < f->n);
}

static void test_crash_before_outputs_keeps_state_behind(void **state)
{
    struct fx *f = *state;
    char topic[128];
    use_settings(f, NULL);
    produce_inputs(f, 50, 0);
    /* The enriched topic has no leader: its outputs wait, the state topic
     * works. */
    snprintf(topic, sizeof(topic), "%s.enriched", f->name);
    rd_kafka_mock_topic_set_error(f->mc, topic, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    char err[1024];
    struct pipeline_opts o = {.brokers = f->brokers, .embedded = f->emb, .quiet = 1,
                              .shutdown_timeout = 1000};
    struct pipeline *p = pipeline_new(f->s, &o, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(pipeline_start(p, err, sizeof(err)), 0);
    struct pipeline_counters c;
    int64_t deadline = mono_ms() + 30000;
    do {
        pipeline_run_until(p, NULL, NULL, 200);
        pipeline_counters(p, &c);
    } while (c.consumed < 50 && mono_ms() < deadline);
    assert_int_equal(c.consumed, 50);
    run_for(p, 1500);
    pipeline_counters(p, &c);
    /* Dedupe remembered all 50, but not one changelog write may leave
     * before the outputs of its article are delivered. */
    assert_int_equal(c.state_writes, 0);
    assert_int_equal(c.done, 0);
    /* "Crash": no drain, no commit (the revoke on close gives up after the
     * 1 s shutdown timeout). */
    pipeline_free(p);
    rd_kafka_mock_topic_set_error(f->mc, topic, RD_KAFKA_RESP_ERR_NO_ERROR);

    p = start(f);
    pipeline_counters(p, &c);
    assert_int_equal(c.restored, 0);
    run_until_done(f, p, 50, 60000);
    pipeline_counters(p, &c);
    assert_int_equal(pipeline_stop(p), 0);
    pipeline_free(p);
    printf("[ %-8s ] %s: after the crash %llu re-read, %llu enriched (none dropped as a "
           "duplicate of itself)\n", "COUNTS", f->name, (unsigned long long)c.consumed,
           (unsigned long long)c.enriched);
    assert_int_equal(c.enriched, 50);
    assert_int_equal(check_all_accounted(f), 0);
    check_committed_to_end(f);
}

/* One output stuck at the head (its topic has no leader) while the rest
 * flow: the inputs behind it cannot complete, so consumption must pause on
 * pending inputs, not only on unacknowledged messages. */
static void test_stuck_head_pauses_consumption(void **state)
{
    struct fx *f = *state;
    char topic[128];
    use_settings(f, "[kafka]\nmax_in_flight = 10\nbatch_size = 5\n"
                    "embedded_partitions = 1\n");
    /* One partition: the malformed message first, 100 good ones behind. */
    char errstr[512], in[128];
    snprintf(in, sizeof(in), "%s.in", f->name);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", f->brokers, errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in), RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_VALUE("{broken", 7),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_END), 0);
    for (int i = 0; i < 100; i++) {
        char buf[2048];
        make_article(i, f->name, buf, sizeof(buf));
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(in), RD_KAFKA_V_PARTITION(0),
                                           RD_KAFKA_V_VALUE(buf, strlen(buf)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END), 0);
    }
    assert_int_equal(rd_kafka_flush(rk, 30000), 0);
    rd_kafka_destroy(rk);
    snprintf(topic, sizeof(topic), "%s.dead", f->name);
    rd_kafka_mock_topic_set_error(f->mc, topic, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);

    struct pipeline *p = start(f);
    struct pipeline_counters c;
    int64_t deadline = mono_ms() + 30000;
    do {
        pipeline_run_until(p, NULL, NULL, 200);
        pipeline_counters(p, &c);
    } while (!c.paused && mono_ms() < deadline);
    assert_true(c.paused);
    run_for(p, 1500);
    pipeline_counters(p, &c);
    printf("[ %-8s ] %s: head stuck: %llu consumed, %llu done, %llu in flight, paused %d\n",
           "COUNTS", f->name, (unsigned long long)c.consumed, (unsigned long long)c.done,
           (unsigned long long)c.in_flight, c.paused);
    assert_true(c.paused);
    assert_true(c.in_flight < 10);         /* not what paused it */
    assert_true(c.consumed <= 10 + 5);     /* the limit, plus at most one batch */
    assert_int_equal(c.done, 0);           /* nothing passes the stuck head */

    rd_kafka_mock_topic_set_error(f->mc, topic, RD_KAFKA_RESP_ERR_NO_ERROR);
    run_until_done(f, p, 101, 60000);
    assert_int_equal(pipeline_stop(p), 0);
    pipeline_counters(p, &c);
    pipeline_free(p);
    assert_int_equal(c.deadletter, 1);
    assert_int_equal(c.enriched, 100);
}

/* The mock trims partitions silently past 5 MB: the warning must come
 * before that, once per partition. */
static void test_embedded_limit_warning(void **state)
{
    struct fx *f = *state;
    const size_t msg = 4096;
    size_t warn_at = 0, warnings = 0;
    for (size_t i = 1; i <= EMBEDDED_PARTITION_BYTES / msg; i++) {
        if (embedded_account(f->emb, "limit.test", 0, msg)) {
            warnings++;
            if (!warn_at)
                warn_at = i * msg;
        }
    }
    assert_int_equal(warnings, 1);
    assert_true(warn_at >= (size_t)EMBEDDED_PARTITION_BYTES * EMBEDDED_WARN_PERCENT / 100);
    assert_true(warn_at < (size_t)EMBEDDED_PARTITION_BYTES);
    /* Another partition has its own count; small messages hit the
     * message-count limit first. */
    for (size_t i = 1; i <= EMBEDDED_PARTITION_MESSAGES; i++)
        if (embedded_account(f->emb, "limit.test", 1, 10)) {
            assert_int_equal(i, EMBEDDED_PARTITION_MESSAGES * EMBEDDED_WARN_PERCENT / 100);
            warnings++;
        }
    assert_int_equal(warnings, 2);
}

int main(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) {
        /* Timing-driven broker tests under valgrind only measure valgrind. */
        printf("[  PASSED  ] 0 test(s).\n");
        return 0;
    }
    log_setup(getenv("WS_TEST_VERBOSE") ? LOG_DEBUG : LOG_ERROR, 0);
    if (getenv("WS_TEST_ONLY"))
        cmocka_set_test_filter(getenv("WS_TEST_ONLY"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_embedded_limit_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_broker_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_failure_not_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_outputs_keeps_state_behind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stuck_head_pauses_consumption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
