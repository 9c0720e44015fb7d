/*
 * statestore_kafka.h - the processors' state as a compacted Kafka topic.
 *
 * Writes are ordinary produced messages (key = "<processor>/<key>", value
 * = the entry, NULL value = tombstone) sent by the pipeline, so that each
 * write counts as an output of the input that caused it and its offset is
 * committed only once the write is acknowledged. This file holds the two
 * start-up steps: making sure the topic exists (compacted) and reading it
 * back from the beginning to its end as it was at start.
 *
 * Both block (they run before the loop starts).
 */
#ifndef WS_STATESTORE_KAFKA_H
#define WS_STATESTORE_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "settings.h"

/* Creates topic with cleanup.policy=compact through the Admin API on rk's
 * cluster unless it exists. 0 / -1 with err. */
int statestore_kafka_ensure(rd_kafka_t *rk, const char *topic, int partitions,
                            int timeout_ms, char *err, size_t errlen);

/* Called for each entry, in log order per partition (val NULL: tombstone). */
typedef int (*statestore_kafka_fn)(void *arg, const void *key, size_t klen,
                                   const void *val, size_t vlen);

/* Reads topic from the beginning to the high watermark found at start,
 * through a consumer of its own (no group). Returns the number of entries
 * read, -1 with err on failure or after timeout_ms. */
long statestore_kafka_restore(const struct settings *s, const char *brokers, const char *topic,
                              statestore_kafka_fn fn, void *arg, int timeout_ms,
                              char *err, size_t errlen);

/* The general form: every message of topic, from the beginning to the
 * high watermark found at start, in order per partition. Used by `demo`
 * to read the output topics back. Same return values. */
typedef void (*statestore_kafka_msg_fn)(void *arg, const rd_kafka_message_t *m);
long statestore_kafka_read(const struct settings *s, const char *brokers, const char *topic,
                           statestore_kafka_msg_fn fn, void *arg, int timeout_ms,
                           char *err, size_t errlen);

#endif
