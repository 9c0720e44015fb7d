/*
 * metrics.h - the pipeline's counters, gauges and latency histogram.
 *
 * One struct metrics per pipeline (no global state): the pipeline updates
 * it at the points where records enter, leave or are rejected; the HTTP
 * server renders it as Prometheus text (/metrics) or JSON (/stats); the
 * stats timer prints it as one line. Labelled series (per topic, per
 * reason...) are created on first use; each family holds at most
 * METRICS_MAX_SERIES label values, later ones are counted under "_other"
 * so that memory stays bounded whatever the input says.
 *
 * Threading: not thread-safe; every call runs on the pipeline's loop
 * (librdkafka's stats callback is served there too, from the poll calls).
 */
#ifndef WS_METRICS_H
#define WS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "record.h"

#define METRICS_MAX_SERIES 256          /* label values per family */
#define METRICS_MAX_WINDOW_KEYS 10000   /* distinct entities in the window */
#define METRICS_WINDOW_BUCKETS 5        /* the "recent" window: 5 ... */
#define METRICS_WINDOW_BUCKET_MS 60000  /* ... one-minute buckets */
#define METRICS_LATENCY_BUCKETS 14      /* finite histogram buckets */

struct metrics;

/* A zeroed set of metrics; start_ms is the process start (uptime, rates).
 * NULL on allocation failure. */
struct metrics *metrics_new(int64_t start_ms);
void metrics_free(struct metrics *m);          /* accepts NULL */

/* Counters. Every function accepts m == NULL (does nothing) so that callers
 * with metrics turned off need no branches. A NULL label counts as "". */
void metrics_inc_in(struct metrics *m, const char *topic);     /* input messages */
void metrics_inc_out(struct metrics *m, const char *topic);    /* delivered outputs */
void metrics_inc_reject(struct metrics *m, const char *reason);
void metrics_inc_dedupe(struct metrics *m, enum dedupe_status s); /* unique/dup/near */
void metrics_inc_classified(struct metrics *m, const char *topic);
void metrics_inc_entity(struct metrics *m, const char *name, enum entity_type type,
                        int64_t now_ms);
void metrics_inc_delivery_failure(struct metrics *m);

/* The per-record part in one call, for a record that left the chain with
 * VERDICT_KEEP: dedupe status, each classified topic, each entity tag. */
void metrics_observe_record(struct metrics *m, const struct record *rec, int64_t now_ms);

/* Processing latency in milliseconds (input message timestamp to delivery
 * of its last output). Negative values (clock skew) count as 0. */
void metrics_observe_latency_ms(struct metrics *m, double ms);

/* Gauges. */
void metrics_set_lag(struct metrics *m, const char *topic, int32_t partition, int64_t lag);
void metrics_clear_lag(struct metrics *m);
void metrics_set_queue_depth(struct metrics *m, int64_t messages);
void metrics_set_in_flight(struct metrics *m, int64_t records);

/*
 * Reads one librdkafka statistics document (the stats_cb JSON). A
 * "consumer" document replaces the lag table with its
 * topics.*.partitions.*.consumer_lag values (consumer_lag_stored while no
 * commit is known, 0 for an empty partition; partitions whose lag stays
 * unknown, that are not fetched (fetch_state none/stopped) and the
 * internal partition -1 are left out) and
 * counts the brokers whose state is UP (metrics_brokers_up()); a
 * "producer" document sets the queue depth from msg_cnt. 0, or -1 when the
 * document is not valid JSON.
 */
int metrics_rdkafka_stats(struct metrics *m, const char *json, size_t len);

/* Read access (tests, readiness). Unknown labels read 0. */
uint64_t metrics_in_total(const struct metrics *m);
uint64_t metrics_out_total(const struct metrics *m);
uint64_t metrics_counter(const struct metrics *m, const char *family, const char *label);
int64_t metrics_lag_total(const struct metrics *m);
/* Brokers the consumer is connected to, per its last statistics document
 * (internal and logical brokers not counted); -1 before the first. */
int metrics_brokers_up(const struct metrics *m);
uint64_t metrics_latency_count(const struct metrics *m);
/* Estimated quantile (0..1) of the latency histogram in ms, -1 if empty. */
double metrics_latency_quantile(const struct metrics *m, double q);

/*
 * Prometheus text exposition format 0.0.4. Returns a malloc'd,
 * NUL-terminated buffer (caller frees) and its length in *len, or NULL on
 * allocation failure. Families:
 *   wirestream_records_in_total{topic}           counter
 *   wirestream_records_out_total{topic}          counter
 *   wirestream_rejects_total{reason}             counter
 *   wirestream_dedupe_total{status}              counter (unique, duplicate, near_duplicate)
 *   wirestream_classified_total{topic}           counter
 *   wirestream_entity_tags_total{type}           counter
 *   wirestream_delivery_failures_total           counter
 *   wirestream_processing_latency_seconds        histogram
 *   wirestream_consumer_lag{topic,partition}     gauge
 *   wirestream_producer_queue_depth              gauge
 *   wirestream_in_flight                         gauge
 *   wirestream_uptime_seconds                    gauge
 */
char *metrics_render_prometheus(const struct metrics *m, int64_t now_ms, size_t *len);

/* The same numbers as a new JSON object (plus the top entities of the
 * recent window, at most top_n). NULL on allocation failure. */
json_t *metrics_to_json(const struct metrics *m, int64_t now_ms, size_t top_n);

/* The top entities of the last METRICS_WINDOW_BUCKETS minutes, as a JSON
 * array of {"name","type","count"}, highest count first. */
json_t *metrics_top_entities(const struct metrics *m, int64_t now_ms, size_t top_n);

/*
 * One line of statistics for stderr, e.g.
 *   "in 1200 (40.0/s) out 3550 (118.3/s) rejects 2 dup 14 near 3 lag 0
 *    queue 12 inflight 4 latency p50 3ms p99 41ms"
 * Rates are over the time since the previous call (since start on the
 * first); the call remembers this call's totals, hence not const.
 * Returns buf.
 */
char *metrics_format_line(struct metrics *m, int64_t now_ms, char *buf, size_t len);

#endif
