/*
 * embedded.h - the in-process Kafka-protocol broker (brokers = embedded).
 *
 * librdkafka's mock cluster, owned by a dedicated rd_kafka_t, listening on
 * loopback; any Kafka client (kcat, another process) can connect to its
 * bootstrap address. It is a demo and test broker, not a durable one: each
 * partition keeps at most EMBEDDED_PARTITION_BYTES or
 * EMBEDDED_PARTITION_MESSAGES and silently trims the oldest messages past
 * that, so embedded_account() counts what goes into each partition and
 * warns (once per partition) before the limit is reached.
 *
 * Threading: the mock cluster runs its own thread; these functions may be
 * called from the pipeline's thread.
 */
#ifndef WS_EMBEDDED_H
#define WS_EMBEDDED_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "settings.h"

#define EMBEDDED_PARTITION_BYTES (5 * 1024 * 1024)
#define EMBEDDED_PARTITION_MESSAGES 100000
#define EMBEDDED_WARN_PERCENT 80

struct embedded;

/* Starts a one-broker mock cluster. port must be 0 (librdkafka 2.0 binds
 * the mock broker to a free port; the actual one is in the bootstrap
 * address). Returns NULL with err filled. */
struct embedded *embedded_new(int port, char *err, size_t errlen);
void embedded_free(struct embedded *e);   /* accepts NULL */

/* "127.0.0.1:PORT", valid until embedded_free(). */
const char *embedded_bootstraps(const struct embedded *e);
rd_kafka_mock_cluster_t *embedded_cluster(struct embedded *e);

/* Creates a topic (an existing one is left alone). 0 / -1 with err. */
int embedded_create_topic(struct embedded *e, const char *topic, int partitions,
                          char *err, size_t errlen);

/* Creates every topic the pipeline reads or writes ([kafka] input_topics,
 * the [output] topics, the per-topic streams of the default taxonomy's
 * topics) with [kafka] embedded_partitions partitions. 0 / -1 with err. */
int embedded_create_pipeline_topics(struct embedded *e, const struct settings *s,
                                    char *err, size_t errlen);

/* Counts a message written to topic/partition; logs a warning when the
 * partition passes EMBEDDED_WARN_PERCENT of either limit. Returns 1 when
 * this call issued the warning. */
int embedded_account(struct embedded *e, const char *topic, int32_t partition,
                     size_t bytes);

#endif
