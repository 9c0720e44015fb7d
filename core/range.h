/*
 * range.h - planning a time range over Kafka partitions.
 *
 * Turns [from_ms, to_ms) into an offset range per partition: the start is
 * the first offset whose timestamp is >= from_ms (rd_kafka_offsets_for_times),
 * the end is the first offset at or after to_ms, or the high watermark at
 * planning time when to_ms is open ("the end at start time"). Replay and
 * export read exactly [start, end) and stop by themselves. Messages inside
 * the offsets whose timestamp falls outside the range (producer clocks are
 * not monotonic) are skipped by range_contains_ts().
 *
 * Blocking (metadata and offset requests): call before the event loop runs.
 */
#ifndef WS_RANGE_H
#define WS_RANGE_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#define RANGE_OPEN INT64_MAX

struct range_part {
    char *topic;
    int32_t partition;
    int64_t start, end;       /* [start, end) offsets; start == end: empty */
    int64_t next;             /* next offset expected (progress) */
    int done;
};

struct range_plan {
    struct range_part *parts;
    size_t n;
    int64_t from_ms, to_ms;
};

/* Plans the range for every partition of the topics. rk is any client
 * (consumer or producer) connected to the cluster. 0 / -1 with err. */
int range_plan(rd_kafka_t *rk, char *const *topics, size_t ntopics, int64_t from_ms,
               int64_t to_ms, int timeout_ms, struct range_plan *plan,
               char *err, size_t errlen);

/* The partition list to pass to rd_kafka_assign(), starting offsets set;
 * empty partitions are left out. Caller destroys it. */
rd_kafka_topic_partition_list_t *range_assignment(const struct range_plan *plan);

struct range_part *range_find(struct range_plan *plan, const char *topic, int32_t partition);

/* Records that offset was read; marks the partition done when it reaches
 * its end. Returns 1 when the message is inside the offset range. */
int range_advance(struct range_part *rp, int64_t offset);

int range_contains_ts(const struct range_plan *plan, int64_t ts_ms);
int range_all_done(const struct range_plan *plan);

/* Messages in the plan and already read (progress reports). */
int64_t range_total(const struct range_plan *plan);
int64_t range_read(const struct range_plan *plan);

void range_plan_free(struct range_plan *plan);

#endif
