/*
 * consumer.h - the input consumer: a member of a consumer group.
 *
 * librdkafka's high-level consumer with the cooperative-sticky assignor by
 * default (set group.instance.id in [librdkafka.consumer] for static
 * membership), auto commit off: the pipeline commits what offsets.c says
 * is delivered. The consumer queue writes a byte to a non-blocking pipe
 * (consumer_fd()) when it becomes non-empty; each wake-up drains a batch
 * with consumer_poll(), nothing busy-polls.
 *
 * Rebalances are served inside consumer_poll() and consumer_close(): the
 * `revoking` handler runs before partitions are given up and must finish
 * and commit the work in flight for them (the pipeline flushes the
 * producer and commits synchronously there).
 *
 * Threading: the pipeline's thread only.
 */
#ifndef WS_CONSUMER_H
#define WS_CONSUMER_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "../core/settings.h"

struct consumer;

struct consumer_handlers {
    void (*assigned)(void *arg, const rd_kafka_topic_partition_list_t *parts);
    void (*revoking)(void *arg, const rd_kafka_topic_partition_list_t *parts);
    /* A fatal consumer error: the pipeline must stop. */
    void (*fatal)(void *arg, const char *reason);
    /* The result of an asynchronous commit (per-partition errors in
     * offsets->elems[i].err). May be NULL. */
    void (*committed)(void *arg, rd_kafka_resp_err_t err,
                      const rd_kafka_topic_partition_list_t *offsets);
    /* librdkafka's statistics JSON (every statistics.interval.ms, 5 s by
     * default), served inside consumer_poll(). May be NULL. */
    void (*stats)(void *arg, const char *json, size_t len);
};

/* group_id overrides [kafka] group_id when not NULL. NULL with err. */
struct consumer *consumer_new(const struct settings *s, const char *brokers,
                              const char *group_id, const struct consumer_handlers *h,
                              void *arg, char *err, size_t errlen);
/* Leaves the group (serving the final revoke) unless already closed, then
 * destroys. Accepts NULL. */
void consumer_free(struct consumer *c);

int consumer_subscribe(struct consumer *c, const struct conf_list *topics,
                       char *err, size_t errlen);

int consumer_fd(const struct consumer *c);
/* Empties the wake-up pipe; call once per wake-up before polling. */
void consumer_ack_wakeup(struct consumer *c);
/* The next message (caller destroys it with rd_kafka_message_destroy()),
 * or NULL when none is waiting. Serves rebalances and logs errors that are
 * not messages. Never blocks. */
rd_kafka_message_t *consumer_poll(struct consumer *c);

/* Pauses (1) or resumes (0) every assigned partition. 0 / -1. */
int consumer_pause(struct consumer *c, int pause);
int consumer_paused(const struct consumer *c);

/* Commits offsets (synchronously when !async). Returns 0, or the
 * librdkafka error (logged). */
rd_kafka_resp_err_t consumer_commit(struct consumer *c,
                                    const rd_kafka_topic_partition_list_t *offsets, int async);

/* 1 for the errors a commit meets while the group is rebalancing (stale
 * generation, rebalance in progress): serve the rebalance, then retry. */
int consumer_rebalancing_error(rd_kafka_resp_err_t err);

/* Serves rebalances and errors for up to timeout_ms while not consuming:
 * messages that arrive are discarded (never tracked, so never committed:
 * they are read again later). Used during shutdown. */
void consumer_serve(struct consumer *c, int timeout_ms);

/* Leaves the group, serving the last revoke. 0 / -1. */
int consumer_close(struct consumer *c);

size_t consumer_assigned_count(const struct consumer *c);
rd_kafka_t *consumer_handle(struct consumer *c);

#endif
