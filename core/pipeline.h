/*
 * pipeline.h - `run` mode: consume, enrich, produce, commit, on one
 * libevent loop.
 *
 * All running state lives in one struct pipeline: the consumer, the
 * producer, the processor chain, the in-flight offsets and the loop. The
 * delivery guarantee is at-least-once: an input offset is committed only
 * after every message it caused (outputs, dead letter, state changelog
 * writes) has been acknowledged by the broker.
 *
 * Lifecycle: pipeline_new() -> pipeline_start() (state topic, restore,
 * subscribe) -> pipeline_run() / pipeline_run_until() -> pipeline_stop()
 * (the shutdown sequence) -> pipeline_free(). Everything runs on the
 * caller's thread; tests drive it against a mock cluster they create.
 */
#ifndef WS_PIPELINE_H
#define WS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "settings.h"

struct embedded;
struct event_base;
struct pipeline;

/* Replay's input hook: owns m (a message or a partition EOF event). */
typedef void (*pipeline_input_fn)(void *arg, struct pipeline *p, rd_kafka_message_t *m);

/* Header names on output messages. */
#define PIPELINE_H_SCHEMA       "ws.schema"           /* SCHEMA_VERSION */
#define PIPELINE_H_CONTENT_TYPE "content-type"
#define PIPELINE_H_SRC_TOPIC    "ws.source.topic"
#define PIPELINE_H_SRC_PART     "ws.source.partition" /* decimal */
#define PIPELINE_H_SRC_OFFSET   "ws.source.offset"    /* decimal */
#define PIPELINE_H_SRC_TS       "ws.source.timestamp" /* decimal Unix ms, -1 unknown */
#define PIPELINE_H_REASON       "ws.reason"           /* dead letters: reason code */
#define PIPELINE_H_MESSAGE      "ws.reason.message"   /* dead letters: human message */
#define PIPELINE_H_ORIG_BYTES   "ws.original.bytes"   /* dead letters sent without their
                                                         value: its size (see dead_letter) */

struct pipeline_opts {
    const char *brokers;          /* bootstrap servers (not "embedded") */
    const char *group_id;         /* NULL: [kafka] group_id */
    struct embedded *embedded;    /* not owned; NULL on a real broker */
    int quiet;                    /* no periodic statistics line */
    int handle_signals;           /* SIGTERM/SIGINT stop, SIGHUP reloads */
    int64_t shutdown_timeout;     /* ms to deliver what is in flight at shutdown
                                     and before revoked partitions move; 0: 30 s */
    /* Replay (core/cmd_replay.c) when input is set: state lives in memory
     * only (no state topic read or written), pipeline_start() does not
     * subscribe (the caller assigns through pipeline_consumer()), nothing
     * is ever committed, and every consumed message goes to input()
     * instead of the chain; input() feeds the chain with
     * pipeline_process() in the order and at the time it chooses, and
     * keeps its own back-pressure (the pipeline never pauses). */
    pipeline_input_fn input;
    void *input_arg;
};

struct pipeline_counters {
    uint64_t consumed;            /* input messages taken from the consumer */
    uint64_t done;                /* ... whose every output was acknowledged */
    uint64_t enriched;            /* records published to the enriched topic */
    uint64_t routed;              /* messages to per-topic streams */
    uint64_t duplicates;          /* records published to the duplicates topic */
    uint64_t dropped;             /* VERDICT_DROP or duplicates = drop */
    uint64_t deadletter;          /* decode errors and REJECT verdicts */
    uint64_t state_writes;        /* changelog messages */
    uint64_t produced, delivered, failed;
    uint64_t commits;             /* successful offset commits */
    uint64_t pauses;              /* back-pressure pauses */
    uint64_t restored;            /* state entries read back at start */
    uint64_t retries;             /* deliveries sent again after a retriable error */
    uint64_t reloads, reload_failures;
    uint64_t in_flight;           /* produced, not yet acknowledged */
    uint64_t uncommitted;         /* partitions with delivered, uncommitted input */
    uint64_t commit_failures;     /* revoke commits that failed (re-delivery follows) */
    int paused;
};

struct pipeline;

/* Builds the clients and the chain; connects nothing yet. NULL with err
 * filled (configuration errors name file:line). s must outlive it. */
struct pipeline *pipeline_new(const struct settings *s, const struct pipeline_opts *o,
                              char *err, size_t errlen);

/* Creates the state topic when needed, restores the chain's state from
 * it, subscribes to the input topics. 0 / -1 with err. */
int pipeline_start(struct pipeline *p, char *err, size_t errlen);

/*
 * Runs the loop until cond(arg, p) returns non-zero (checked after every
 * loop iteration; NULL: never), pipeline_request_stop() (or a signal), a
 * fatal error, or timeout_ms (< 0: none). Returns 1 when cond was met,
 * 0 on a stop request or timeout, -1 on a fatal error.
 */
typedef int (*pipeline_cond_fn)(void *arg, const struct pipeline *p);
int pipeline_run_until(struct pipeline *p, pipeline_cond_fn cond, void *arg,
                       int64_t timeout_ms);
/* pipeline_run_until(p, NULL, NULL, -1). */
int pipeline_run(struct pipeline *p);
void pipeline_request_stop(struct pipeline *p);

/*
 * The shutdown sequence: stop consuming, deliver what is in flight (up to
 * the shutdown timeout), commit every delivered offset, leave the group.
 * 0 when everything consumed was delivered and committed; -1 when
 * something was not (its offset was not committed: a restart
 * reprocesses it) or a fatal error happened.
 */
int pipeline_stop(struct pipeline *p);
void pipeline_free(struct pipeline *p);     /* accepts NULL */

void pipeline_counters(const struct pipeline *p, struct pipeline_counters *out);
/* Adds {"pipeline": {...counters}, "processors": {...}} to out. */
void pipeline_stats(struct pipeline *p, json_t *out);
/*
 * Starts the HTTP endpoint ([http]: /healthz, /readyz, /metrics, /stats,
 * the dashboard) on the pipeline's loop; call between pipeline_new() and
 * pipeline_start(). Returns the bound port, or -1 with err filled.
 */
int pipeline_serve_http(struct pipeline *p, char *err, size_t errlen);
/* The loop, for other modules that serve events on it (HTTP). */
struct event_base *pipeline_base(struct pipeline *p);
/* Replay: runs m through the chain as if just consumed (emit = 1), or
 * through the chain only, publishing and counting nothing (emit = 0: the
 * dedupe warm-up). m stays the caller's. On the loop's thread. */
void pipeline_process(struct pipeline *p, const rd_kafka_message_t *m, int emit);
rd_kafka_t *pipeline_consumer(struct pipeline *p);
/* 1 after a fatal error; its message in err. */
int pipeline_failed(const struct pipeline *p, char *err, size_t errlen);

#endif
