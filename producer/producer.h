/*
 * producer.h - the idempotent output producer.
 *
 * enable.idempotence and acks=all by default: a message is reported
 * delivered only once every in-sync replica has it, retries never
 * duplicate or reorder it within its partition. Delivery reports are
 * served on the pipeline's loop: the producer's main queue writes a byte
 * to a non-blocking pipe (producer_fd()) when it becomes non-empty, and
 * producer_poll() serves it.
 *
 * A delivery that fails with a retriable error (timed out while a broker
 * was down, ...) is produced again from the report, with the same key,
 * headers and opaque, so the caller only ever hears of a message once:
 * delivered, or failed for good (fatal error, message too large, ...).
 *
 * Threading: every function runs on the pipeline's thread; the delivery
 * callback runs inside producer_poll()/producer_flush().
 */
#ifndef WS_PRODUCER_H
#define WS_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "../core/settings.h"

struct producer;

/* The final outcome of one message. err == 0: delivered to
 * topic/partition; otherwise failed for good. */
typedef void (*producer_dr_fn)(void *arg, void *opaque, rd_kafka_resp_err_t err,
                               const char *topic, int32_t partition, size_t len);

/* Returns NULL with err filled (configuration errors name file:line). */
struct producer *producer_new(const struct settings *s, const char *brokers,
                              producer_dr_fn dr, void *arg, char *err, size_t errlen);
/* Destroys without flushing (call producer_flush() first). Accepts NULL. */
void producer_free(struct producer *p);

/* producer_send() flags */
#define PRODUCER_TAKE 0x1   /* payload is malloc'd: taken over on success */

/*
 * Queues one message. key is copied; payload is copied unless
 * PRODUCER_TAKE; hdrs (may be NULL) is taken over on success and left to
 * the caller on failure (so is a taken payload). When the local queue is
 * full it serves delivery reports until there is room, for at most
 * timeout_ms (back-pressure makes that rare). 0, or -1 with err filled.
 */
int producer_send(struct producer *p, const char *topic, const void *key, size_t klen,
                  void *payload, size_t len, rd_kafka_headers_t *hdrs, void *opaque,
                  unsigned flags, int timeout_ms, char *err, size_t errlen);

int producer_fd(const struct producer *p);
/* Serves the delivery reports waiting. Returns how many were served. */
int producer_poll(struct producer *p);
/* Waits until everything queued is delivered or failed. 0, or -1 when
 * messages remain after timeout_ms. */
int producer_flush(struct producer *p, int timeout_ms);
/* Messages queued or in flight inside librdkafka. */
int producer_outq(const struct producer *p);
/* 1 and err filled when the producer hit a fatal (unrecoverable) error. */
int producer_fatal(const struct producer *p, char *err, size_t errlen);
uint64_t producer_retries(const struct producer *p);
rd_kafka_t *producer_handle(struct producer *p);

#endif
