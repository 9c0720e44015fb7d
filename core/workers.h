/*
 * workers.h - threads that decode input and run the front of the chain.
 *
 * The processors ahead of the first one that keeps state across records
 * (clean with the default chain; see processor_ops.ordered) can run on
 * copies side by side. A pool of threads does that part, with decoding,
 * for the main thread (the event loop of `run`, the reader of `process`),
 * and hands the results back in submission order, so the ordered rest of
 * the chain (dedupe, then entities and topics) and every output still see
 * the input order. The main thread is woken through workers_fd() when the
 * oldest item is done.
 *
 * Each thread owns a copy of the front processors, built up front from
 * the same settings; workers_each_chain() reaches them under that
 * thread's lock (statistics, SIGHUP reloads, ticks).
 */
#ifndef WS_WORKERS_H
#define WS_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "decode.h"
#include "settings.h"

struct workers;

/* Items a caller keeps in the pool per thread at most (workers_pending()):
 * enough to keep the threads busy, few enough to bound memory. */
#define WORKERS_QUEUE_PER_THREAD 128

/* One input. The submitter fills the first block and keeps the payload
 * alive until workers_take() hands the item back with the results. */
struct work {
    const void *payload;
    size_t len;
    const char *topic;            /* provenance for the record (NULL: none) */
    int64_t offset;
    int64_t timestamp_ms;
    int32_t partition;

    enum verdict verdict;         /* of the front processors */
    struct record *rec;           /* NULL: not decoded, derr says why */
    struct decode_error derr;

    struct work *next_queued;     /* the pool's */
    struct work *next_order;
    int done;
};

/* Starts n threads, each with its own copy of the chain's front
 * (chain_front_len(s) processors). dopts is borrowed. NULL with err
 * filled on failure. */
struct workers *workers_new(size_t n, const struct settings *s, const struct decode_opts *dopts,
                            char *err, size_t errlen);

/* Stops and joins the threads. Items not taken are the caller's: take
 * them first (workers_wait_idle(), then workers_take()), or collect them
 * with workers_abandon(). Accepts NULL. */
void workers_free(struct workers *w);

/* Queues one item (never blocks, never fails: the caller bounds the
 * queue with workers_pending()). */
void workers_submit(struct workers *w, struct work *item);

/* The oldest item if it is done, else NULL. */
struct work *workers_take(struct workers *w);

/* Items submitted and not taken back yet. */
size_t workers_pending(struct workers *w);

/* Readable when the oldest item may be done; workers_ack() empties it
 * before the caller takes what is done. */
int workers_fd(const struct workers *w);
void workers_ack(struct workers *w);

/* Waits until every submitted item is done (they are then taken in
 * order with workers_take()). */
void workers_wait_idle(struct workers *w);

/* Stops the threads and returns every item not taken, done or not, in
 * submission order (linked through next_order); the pool is empty after.
 * For shutdown after a fatal error. */
struct work *workers_abandon(struct workers *w);

/* Calls fn on each thread's chain while that thread is held off it. */
void workers_each_chain(struct workers *w, void (*fn)(struct chain *ch, void *arg), void *arg);

#endif
