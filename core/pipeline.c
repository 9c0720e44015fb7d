/*
 * pipeline.c - the run loop (see pipeline.h).
 *
 * One libevent loop serves two librdkafka queues through wake-up pipes:
 * the consumer's (messages, rebalances, commit results) and the
 * producer's (delivery reports). Each consumed message is tracked in
 * offsets.c with one hold per message it causes; the delivery report of
 * each output releases a hold; the commit timer commits, per partition,
 * the position after the longest fully delivered prefix. When too much is
 * in flight the assigned partitions are paused until half of it drained.
 *
 * With [pipeline] threads > 0, decoding and the processors ahead of the
 * first ordered one (clean) run on worker threads (workers.c); their
 * results come back through a third wake-up pipe in consumption order, and
 * the loop runs the rest of the chain and publishes, as before.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "../consumer/consumer.h"
#include "../producer/producer.h"
#include "chain.h"
#include "decode.h"
#include "embedded.h"
#include "encode.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "offsets.h"
#include "pipeline.h"
#include "statestore_kafka.h"
#include "workers.h"

#define MOD "pipeline"
#define STATE_TIMEOUT_MS 60000
#define SEND_WAIT_MS 1000
#define STOP_COMMIT_MS 15000

struct pipeline {
    const struct settings *s;
    struct pipeline_opts o;
    char *brokers;
    struct decode_opts dopts;
    enum output_format ofmt;
    int publish_duplicates;
    int stateful;                 /* the chain persists state */
    size_t max_output;            /* largest message we produce, see dead_letter() */

    struct event_base *base;
    struct event *ev_consumer, *ev_producer, *ev_poll, *ev_commit, *ev_stats;
    struct event *ev_writes;      /* one-shot: sends the state writes batched so far */
    struct event *ev_sigterm, *ev_sigint, *ev_sighup;
    struct event *ev_results;     /* the workers' wake-up pipe */

    struct consumer *consumer;
    struct producer *producer;
    struct chain *chain;
    struct workers *workers;      /* NULL: everything on the loop thread */
    size_t front;                 /* processors the workers run (chain_front_len) */
    size_t work_cap;              /* inputs handed to the workers at most */
    struct offsets *offsets;
    struct state_store store;
    struct job *cur_job;          /* input being processed (state writes join it) */
    struct job *fifo, *fifo_tail; /* jobs whose state writes are not sent yet, in order */
    struct job *live;             /* every job not yet complete (for cleanup) */

    int64_t commit_hold_until;    /* mono ms: no periodic commit before (rebalance) */
    int consuming;                /* 0 once stopping */
    int stop_requested;
    int fatal;
    char fatal_msg[512];

    struct pipeline_counters c;
    uint64_t last_stats_consumed;
    int64_t last_stats_ms;

    struct metrics *metrics;      /* /metrics, /stats, the stats line */
    struct http_server *http;     /* NULL when [http] enabled = false */
    int restored;                 /* state restore finished */
    int brokers_down;             /* librdkafka statistics: no broker up */
    int64_t last_progress_ms;     /* mono: last message consumed or delivered */
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_fatal(struct pipeline *p, const char *msg)
{
    if (!p->fatal) {
        p->fatal = 1;
        snprintf(p->fatal_msg, sizeof(p->fatal_msg), "%s", msg);
        log_error(MOD, "fatal: %s; stopping without committing what was not delivered", msg);
    }
    p->consuming = 0;
    if (p->base)
        event_base_loopbreak(p->base);
}

/* ---- back-pressure ----------------------------------------------------- */

/* The load is the larger of the output messages awaiting acknowledgement
 * and the inputs not yet complete: one output stuck at the head of a
 * partition (its topic has no leader, say) keeps every later input of
 * that partition pending, with its queued state writes, even while the
 * other outputs flow; that too must stop consumption. */
static void check_pressure(struct pipeline *p)
{
    uint64_t max = (uint64_t)p->s->kafka.max_in_flight;
    if (!p->consumer || p->o.input)   /* replay keeps its own back-pressure */
        return;
    uint64_t pending = offsets_pending(p->offsets);
    uint64_t load = p->c.in_flight > pending ? p->c.in_flight : pending;
    if (!consumer_paused(p->consumer) && load >= max) {
        if (consumer_pause(p->consumer, 1) == 0) {
            p->c.pauses++;
            log_info(MOD, "%" PRIu64 " messages in flight, %" PRIu64 " inputs pending: "
                     "consumption paused", p->c.in_flight, pending);
        }
    } else if (consumer_paused(p->consumer) && load <= max / 2) {
        if (consumer_pause(p->consumer, 0) == 0) {
            log_info(MOD, "%" PRIu64 " in flight: consumption resumed", p->c.in_flight);
            /* Messages may already wait in the queue (it only signals an
             * empty -> non-empty change): drain now, not at the next poll. */
            if (p->consuming && p->ev_consumer)
                event_active(p->ev_consumer, EV_READ, 0);
        }
    }
}

/* ---- jobs: one input and everything it causes ------------------------- */

/*
 * A job follows one consumed message until everything it caused is
 * acknowledged: its outputs (enriched, per-topic, duplicates, dead letter)
 * first, then its state changelog writes. State writes are held back until
 * the job's outputs are delivered and are sent in processing order: the
 * changelog must never remember an article whose outputs may be lost. (A
 * crash after the state write but before the outputs would otherwise make
 * the restarted dedupe drop the re-read message as a duplicate of itself.)
 * Only when its writes are acknowledged too is the job complete and its
 * offset released for commit. Writes made outside processing (expiry
 * tombstones) form jobs without an input, queued in the same order.
 */
struct kv {
    struct kv *next;
    void *key;
    size_t klen;
    void *val;                    /* NULL: tombstone */
    size_t vlen;
};

struct job {
    struct job *next;             /* in p->fifo until its writes are sent */
    struct job *lnext, *lprev;    /* in p->live until complete */
    struct offset_item *it;       /* NULL: writes from outside processing */
    uint32_t outputs;             /* outputs sent, not yet acknowledged */
    uint32_t writes_left;         /* state writes sent, not yet acknowledged */
    struct kv *writes, **wtail;
    int processed;                /* no more outputs will be added */
    int ready;                    /* processed and every output acknowledged */
    int writes_sent;
};

static void kv_free_all(struct kv *w)
{
    while (w) {
        struct kv *next = w->next;
        free(w->key);
        free(w->val);
        free(w);
        w = next;
    }
}

static struct job *job_new(struct pipeline *p, struct offset_item *it)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->it = it;
    j->wtail = &j->writes;
    if (p->fifo_tail)
        p->fifo_tail->next = j;
    else
        p->fifo = j;
    p->fifo_tail = j;
    j->lnext = p->live;
    if (p->live)
        p->live->lprev = j;
    p->live = j;
    return j;
}

static void job_complete(struct pipeline *p, struct job *j)
{
    if (j->it && offsets_release(p->offsets, j->it))
        p->c.done++;
    if (j->lprev)
        j->lprev->lnext = j->lnext;
    else
        p->live = j->lnext;
    if (j->lnext)
        j->lnext->lprev = j->lprev;
    kv_free_all(j->writes);
    free(j);
}

/* After processing and after each acknowledgement. Never produces (it
 * runs inside delivery reports); send_ready_writes() does. */
static void job_check(struct pipeline *p, struct job *j)
{
    if (!j->writes_sent) {
        if (j->processed && j->outputs == 0 && !j->ready) {
            j->ready = 1;
            /* Every output of the input is acknowledged: that is its
             * end-to-end latency (its state writes only gate the commit). */
            int64_t ts = j->it ? offsets_time(j->it) : 0;
            if (ts > 0)
                metrics_observe_latency_ms(p->metrics, (double)(wall_ms() - ts));
        }
        return;
    }
    if (j->outputs == 0 && j->writes_left == 0)
        job_complete(p, j);
}

/*
 * State writes go out in batches: a ready job with writes at the head of
 * the FIFO waits up to STATE_BATCH_MS (ev_writes) so that the writes of
 * the jobs behind it join it. Sent one by one as each job becomes ready,
 * every write would be a ProduceRequest of its own with linger.ms = 0 (the
 * latency settings), one more request per article for the broker and for
 * librdkafka's in-flight window, which the outputs share. The writes only
 * gate the offset commit (every commit_interval), so the wait costs
 * nothing visible; the order and the rule "writes after outputs" are
 * unchanged.
 */
#define STATE_BATCH_MS 10

/* Sends the state writes of the ready jobs at the head of the FIFO: all
 * of them when `now`; otherwise only jobs without writes complete at
 * once and the batch timer is armed for the rest. */
static void send_ready_writes(struct pipeline *p, int now)
{
    char err[512];
    while (p->fifo && p->fifo->ready && !p->fatal) {
        struct job *j = p->fifo;
        if (j->writes && !now) {
            if (p->ev_writes && !evtimer_pending(p->ev_writes, NULL)) {
                struct timeval tv = {0, (suseconds_t)STATE_BATCH_MS * 1000};
                evtimer_add(p->ev_writes, &tv);
            }
            return;
        }
        p->fifo = j->next;
        if (!p->fifo)
            p->fifo_tail = NULL;
        j->writes_sent = 1;
        for (struct kv *w = j->writes; w && !p->fatal; w = w->next) {
            j->writes_left++;
            if (producer_send(p->producer, p->s->output.state_topic, w->key, w->klen, w->val,
                              w->val ? w->vlen : 0, NULL, j, 0, SEND_WAIT_MS, err,
                              sizeof(err)) < 0) {
                set_fatal(p, err);    /* the job never completes: not committed */
                break;
            }
            p->c.state_writes++;
            p->c.produced++;
            p->c.in_flight++;
        }
        kv_free_all(j->writes);
        j->writes = NULL;
        j->wtail = &j->writes;
        if (!p->fatal)
            job_check(p, j);
    }
}

/* Delivers everything in flight, state writes included, within
 * timeout_ms. 0 when nothing is left, -1 otherwise. */
static int drain(struct pipeline *p, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        producer_poll(p->producer);
        send_ready_writes(p, 1);
        if (producer_outq(p->producer) == 0 && !(p->fifo && p->fifo->ready))
            return p->fifo ? -1 : 0;
        if (p->fatal || mono_ms() >= deadline)
            return -1;
        producer_flush(p->producer, 50);
    }
}

/* ---- delivery ---------------------------------------------------------- */

static void on_delivery(void *arg, void *opaque, rd_kafka_resp_err_t err, const char *topic,
                        int32_t partition, size_t len)
{
    struct pipeline *p = arg;
    struct job *j = opaque;

    if (p->c.in_flight)
        p->c.in_flight--;
    if (err) {
        char msg[512];
        p->c.failed++;
        metrics_inc_delivery_failure(p->metrics);
        snprintf(msg, sizeof(msg), "delivery to %s failed for good: %s", topic,
                 rd_kafka_err2str(err));
        /* The job never completes: this input's offset is never committed. */
        set_fatal(p, msg);
        return;
    }
    p->c.delivered++;
    p->last_progress_ms = mono_ms();
    if (p->o.embedded)
        embedded_account(p->o.embedded, topic, partition, len);
    if (strcmp(topic, p->s->output.state_topic) == 0) {
        j->writes_left--;
    } else {
        metrics_inc_out(p->metrics, topic);
        j->outputs--;
    }
    job_check(p, j);
}

static rd_kafka_headers_t *source_headers(const rd_kafka_message_t *m, int with_content_type)
{
    char num[32];
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);

    rd_kafka_header_add(h, PIPELINE_H_SCHEMA, -1, SCHEMA_VERSION, -1);
    if (with_content_type)
        rd_kafka_header_add(h, PIPELINE_H_CONTENT_TYPE, -1, "application/json", -1);
    rd_kafka_header_add(h, PIPELINE_H_SRC_TOPIC, -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof(num), "%d", (int)m->partition);
    rd_kafka_header_add(h, PIPELINE_H_SRC_PART, -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    rd_kafka_header_add(h, PIPELINE_H_SRC_OFFSET, -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, ts);
    rd_kafka_header_add(h, PIPELINE_H_SRC_TS, -1, num, -1);
    return h;
}

/* Sends one output of job j. payload is taken over when PRODUCER_TAKE
 * (freed on failure too); hdrs always. */
static int send_output(struct pipeline *p, struct job *j, const char *topic, const char *key,
                       size_t klen, char *payload, size_t len, unsigned flags,
                       rd_kafka_headers_t *hdrs)
{
    char err[512];
    j->outputs++;
    if (producer_send(p->producer, topic, key, klen, payload, len, hdrs, j, flags, SEND_WAIT_MS,
                      err, sizeof(err)) < 0) {
        if (flags & PRODUCER_TAKE)
            free(payload);
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        /* The count stays up: the job never completes, never commits. */
        set_fatal(p, err);
        return -1;
    }
    p->c.produced++;
    p->c.in_flight++;
    return 0;
}

/* The state store's put(): queues a changelog write on the job being
 * processed (sent once its outputs are delivered, see above), or on a
 * job of its own outside processing. Copies key and value. */
static int store_put(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct pipeline *p = opaque;
    struct job *j = p->cur_job;

    if (!j) {
        /* Consecutive writes from outside processing share one job. */
        j = p->fifo_tail;
        if (!j || j->it || j->writes_sent) {
            if (!(j = job_new(p, NULL)))
                goto oom;
            j->processed = 1;
            j->ready = 1;
        }
    }
    struct kv *w = calloc(1, sizeof(*w));
    if (!w || !(w->key = malloc(klen ? klen : 1)) ||
        (val && !(w->val = malloc(vlen ? vlen : 1)))) {
        if (w)
            free(w->key);
        free(w);
        goto oom;
    }
    memcpy(w->key, key, klen);
    w->klen = klen;
    if (val)
        memcpy(w->val, val, vlen);
    w->vlen = vlen;
    *j->wtail = w;
    j->wtail = &w->next;
    return 0;
oom:
    set_fatal(p, "out of memory queueing a state write");
    return -1;
}

/* ---- processing -------------------------------------------------------- */

/* Bytes kept free for headers and framing under [output] max_message_size. */
#define OUTPUT_HEADROOM 2048

static void dead_letter(struct pipeline *p, struct job *j, const rd_kafka_message_t *m,
                        const char *code, const char *msg)
{
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *h;

    /* The original headers first, unchanged, then ours. */
    if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig) {
        h = rd_kafka_headers_copy(orig);
        rd_kafka_headers_t *ours = source_headers(m, 0);
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(ours, i, &name, &val, &sz) == 0; i++)
            rd_kafka_header_add(h, name, -1, val, (ssize_t)sz);
        rd_kafka_headers_destroy(ours);
    } else {
        h = source_headers(m, 0);
    }
    rd_kafka_header_add(h, PIPELINE_H_REASON, -1, code ? code : "rejected", -1);
    metrics_inc_reject(p->metrics, code ? code : "rejected");
    rd_kafka_header_add(h, PIPELINE_H_MESSAGE, -1, msg ? msg : "", -1);
    log_debug(MOD, "%s [%d] @%" PRId64 ": dead letter: %s: %s", rd_kafka_topic_name(m->rkt),
              (int)m->partition, m->offset, code, msg ? msg : "");
    /* Original bytes and key untouched (both copied). An input too large
     * to be produced again (the input topic allows more than the outputs)
     * would stop the pipeline for good on every restart: it goes without
     * its value, which stays findable through the ws.source.* headers. */
    const void *value = m->payload;
    size_t vlen = m->len;
    if (m->len + m->key_len + OUTPUT_HEADROOM > p->max_output) {
        char size[32];
        snprintf(size, sizeof(size), "%zu", m->len);
        rd_kafka_header_add(h, PIPELINE_H_ORIG_BYTES, -1, size, -1);
        log_warn(MOD, "%s [%d] @%" PRId64 ": dead letter without its %zu-byte value "
                 "([output] max_message_size)", rd_kafka_topic_name(m->rkt), (int)m->partition,
                 m->offset, m->len);
        value = NULL;
        vlen = 0;
    }
    if (send_output(p, j, p->s->output.deadletter_topic, m->key, m->key_len, (void *)value, vlen,
                    0, h) == 0)
        p->c.deadletter++;
}

/*
 * Routing. A record the chain kept goes to the enriched topic and to one
 * stream per classified topic; near duplicates are published there too,
 * with their link. Anything that is not unique also goes to the
 * duplicates topic (unless [output] duplicates = drop), so editors see every
 * outlet that carried a story. `kept` is 0 for a record the chain dropped
 * (an exact duplicate by default): it reaches the duplicates topic only.
 */
static void publish(struct pipeline *p, struct job *j, const rd_kafka_message_t *m,
                    struct record *rec, int kept)
{
    size_t len;
    const char *key = rec->dedupe.cluster ? rec->dedupe.cluster : rec->id;
    int to_duplicates = rec->dedupe.status != DEDUPE_UNIQUE && p->publish_duplicates;

    if (!kept && !to_duplicates) {
        p->c.dropped++;
        return;
    }
    char *line = encode_record_line(rec, p->ofmt, wall_ms(), &len);
    if (!line) {
        set_fatal(p, "out of memory while encoding");
        return;
    }
    /* A record the broker would refuse would stop the pipeline on every
     * restart: it is bad input (a giant headline, say), so dead-letter it. */
    if (len + strlen(key) + OUTPUT_HEADROOM > p->max_output) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the enriched record is %zu bytes; the largest message "
                 "produced is %zu ([output] max_message_size)", len, p->max_output);
        free(line);
        dead_letter(p, j, m, "output_too_large", msg);
        return;
    }
    /* The destinations first; every send but the last copies the buffer,
     * the last takes it over. */
    struct dest {
        char *topic;
        uint64_t *counter;
    };
    size_t ndest = 0;
    struct dest *dest = calloc((kept ? rec->ntopics + 1 : 0) + 1, sizeof(*dest));
    if (!dest) {
        free(line);
        set_fatal(p, "out of memory while routing");
        return;
    }
    for (size_t i = 0; kept && i < rec->ntopics; i++) {
        size_t n = strlen(p->s->output.topic_prefix) + strlen(rec->topics[i].name) + 1;
        dest[ndest].counter = &p->c.routed;
        if ((dest[ndest].topic = malloc(n)))
            snprintf(dest[ndest].topic, n, "%s%s", p->s->output.topic_prefix,
                     rec->topics[i].name);
        ndest++;
    }
    if (kept)
        dest[ndest++] = (struct dest){strdup(p->s->output.enriched_topic), &p->c.enriched};
    if (to_duplicates)
        dest[ndest++] = (struct dest){strdup(p->s->output.duplicates_topic), &p->c.duplicates};

    int taken = 0;
    for (size_t i = 0; i < ndest && !p->fatal; i++) {
        int last = i + 1 == ndest;
        if (!dest[i].topic) {
            set_fatal(p, "out of memory while routing");
            break;
        }
        taken = last;       /* a taking send owns the buffer, even when it fails */
        if (send_output(p, j, dest[i].topic, key, strlen(key), line, len,
                        last ? PRODUCER_TAKE : 0, source_headers(m, 1)) != 0)
            break;
        (*dest[i].counter)++;
    }
    if (!taken)
        free(line);
    for (size_t i = 0; i < ndest; i++)
        free(dest[i].topic);
    free(dest);
    if (!kept)
        p->c.dropped++;
}

/* Takes one consumed message on: tracked for the commit, counted. NULL
 * (and fatal) when out of memory. */
static struct job *begin_message(struct pipeline *p, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_timestamp_type_t tstype;
    struct offset_item *it = offsets_track(p->offsets, topic, m->partition, m->offset);
    struct job *j = it ? job_new(p, it) : NULL;
    if (!j) {
        set_fatal(p, "out of memory");
        return NULL;
    }
    p->c.consumed++;
    p->last_progress_ms = mono_ms();
    metrics_inc_in(p->metrics, topic);
    offsets_set_time(it, rd_kafka_message_timestamp(m, &tstype));
    if (p->o.embedded)
        embedded_account(p->o.embedded, topic, m->partition, m->len);
    return j;
}

/* The rest of a message's way once it is decoded (rec NULL: derr says why
 * not) and the first `from` processors gave verdict v: the others, then
 * the outputs. Takes rec. */
static void finish_message(struct pipeline *p, struct job *j, const rd_kafka_message_t *m,
                           struct record *rec, enum verdict v, size_t from,
                           const struct decode_error *derr)
{
    if (!rec) {
        dead_letter(p, j, m, derr->code, derr->msg);
    } else {
        if (v == VERDICT_KEEP) {
            p->cur_job = j;
            v = chain_process_from(p->chain, rec, from);
            p->cur_job = NULL;
        }
        if (v == VERDICT_REJECT) {
            dead_letter(p, j, m, rec->reject_code, rec->reject_msg);
        } else {
            /* A dropped record (an exact duplicate by default) still counts
             * on the dashboard and may go to the duplicates topic; its
             * offset is done once that is delivered. */
            if (!rec->id)
                record_make_id(rec);
            metrics_observe_record(p->metrics, rec, wall_ms());
            http_server_publish(p->http, rec);
            publish(p, j, m, rec, v == VERDICT_KEEP);
        }
        record_free(rec);
    }
    j->processed = 1;
    job_check(p, j);
    send_ready_writes(p, 0);
}

/* The message's record with where it was read, or NULL with derr filled.
 * (The worker threads do the same from a struct work.) */
static struct record *decode_message(struct pipeline *p, const rd_kafka_message_t *m,
                                     struct decode_error *derr)
{
    struct record *rec = decode_article(m->payload, m->payload ? m->len : 0, &p->dopts, derr);
    if (rec)
        record_set_provenance(rec, rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                              rd_kafka_message_timestamp(m, NULL));
    return rec;
}

/* One message, start to end, on the loop thread. */
static void process_message(struct pipeline *p, const rd_kafka_message_t *m)
{
    struct job *j = begin_message(p, m);
    if (!j)
        return;
    struct decode_error derr;
    struct record *rec = decode_message(p, m, &derr);
    finish_message(p, j, m, rec, VERDICT_KEEP, 0, &derr);
}

/* ---- worker threads ----------------------------------------------------- */

/* An input on its way through the worker threads. */
struct inflight {
    struct work w;                /* first: the workers hand back &w */
    rd_kafka_message_t *m;        /* owned */
    struct job *j;
};

/* Hands one message (taken over) to the workers. */
static void submit_message(struct pipeline *p, rd_kafka_message_t *m)
{
    struct job *j = begin_message(p, m);
    struct inflight *f = j ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        if (j)
            set_fatal(p, "out of memory");
        rd_kafka_message_destroy(m);
        return;
    }
    f->m = m;
    f->j = j;
    f->w.payload = m->payload;
    f->w.len = m->len;
    f->w.topic = rd_kafka_topic_name(m->rkt);
    f->w.partition = m->partition;
    f->w.offset = m->offset;
    f->w.timestamp_ms = rd_kafka_message_timestamp(m, NULL);
    workers_submit(p->workers, &f->w);
}

static void inflight_free(struct inflight *f)
{
    record_free(f->w.rec);
    rd_kafka_message_destroy(f->m);
    free(f);
}

/* Finishes what the workers are done with, oldest first, so outputs keep
 * the input order. After a fatal error nothing more is published. */
static void take_results(struct pipeline *p)
{
    struct work *w;
    while (p->workers && !p->fatal && (w = workers_take(p->workers))) {
        struct inflight *f = (struct inflight *)w;
        finish_message(p, f->j, f->m, w->rec, w->verdict, p->front, &w->derr);
        w->rec = NULL;                /* finish_message took it */
        inflight_free(f);
    }
}

/* Everything handed to the workers, finished (rebalance, shutdown). */
static void flush_workers(struct pipeline *p)
{
    if (!p->workers || p->fatal)
        return;
    workers_wait_idle(p->workers);
    take_results(p);
}

/* Replay: every message and partition EOF event goes to the input hook
 * (consumer_poll() would swallow the EOFs that end a range). */
static void drain_to_input(struct pipeline *p)
{
    rd_kafka_t *rk = consumer_handle(p->consumer);
    int64_t budget = p->s->kafka.batch_size;
    consumer_ack_wakeup(p->consumer);
    while (p->consuming && budget-- > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 0);
        if (!m)
            return;
        if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            p->last_progress_ms = mono_ms();
            p->o.input(p->o.input_arg, p, m);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char buf[512];
            rd_kafka_fatal_error(rk, buf, sizeof(buf));
            set_fatal(p, buf);
        } else {
            log_warn(MOD, "%s: %s", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    if (p->consuming)
        event_active(p->ev_consumer, EV_READ, 0);
}

void pipeline_process(struct pipeline *p, const rd_kafka_message_t *m, int emit)
{
    if (emit) {
        process_message(p, m);
        return;
    }
    struct decode_error derr;
    struct record *rec = decode_message(p, m, &derr);
    if (rec) {
        chain_process(p->chain, rec);
        record_free(rec);
    }
}

rd_kafka_t *pipeline_consumer(struct pipeline *p)
{
    return consumer_handle(p->consumer);
}

static void drain_consumer(struct pipeline *p)
{
    int64_t budget = p->s->kafka.batch_size;
    if (p->o.input) {
        drain_to_input(p);
        return;
    }
    consumer_ack_wakeup(p->consumer);
    while (p->consuming && budget-- > 0) {
        /* The workers' queue is full: ev_results_cb() resumes here. */
        if (p->workers && workers_pending(p->workers) >= p->work_cap)
            return;
        rd_kafka_message_t *m = consumer_poll(p->consumer);
        if (!m)
            return;
        if (p->workers) {
            submit_message(p, m);
        } else {
            process_message(p, m);
            rd_kafka_message_destroy(m);
        }
        check_pressure(p);
        if (consumer_paused(p->consumer))
            break;
    }
    /* Budget spent with more waiting: the queue will not wake us again
     * (it only signals on empty -> non-empty), so come back right after
     * the other pending events. */
    if (p->consuming && !consumer_paused(p->consumer))
        event_active(p->ev_consumer, EV_READ, 0);
}

/* ---- commits ----------------------------------------------------------- */

static void add_offset(void *arg, const char *topic, int32_t partition, int64_t next)
{
    rd_kafka_topic_partition_list_add(arg, topic, partition)->offset = next;
}

static void on_committed(void *arg, rd_kafka_resp_err_t err,
                         const rd_kafka_topic_partition_list_t *l)
{
    struct pipeline *p = arg;
    int ok = 0;
    if (err)
        return;
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].err || l->elems[i].offset < 0)
            continue;
        offsets_mark_committed(p->offsets, l->elems[i].topic, l->elems[i].partition,
                               l->elems[i].offset);
        ok = 1;
    }
    if (ok)
        p->c.commits++;
}

/* Returns 0 or the librdkafka error of the commit. */
static rd_kafka_resp_err_t commit(struct pipeline *p, int sync)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_resp_err_t rc = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (offsets_committable(p->offsets, sync, add_offset, l) > 0) {
        /* An async commit is marked done by on_committed() when the
         * broker confirms it; until then (or after a failure) the same
         * positions are simply sent again by the next commit. */
        if ((rc = consumer_commit(p->consumer, l, !sync)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (sync)
                on_committed(p, RD_KAFKA_RESP_ERR_NO_ERROR, l);
            log_debug(MOD, "committed %d partition(s)%s", l->cnt, sync ? " (sync)" : "");
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* ---- rebalance hooks (run inside consumer_poll / consumer_close) -------- */

/* librdkafka before 2.10 treats an OffsetCommit answered with
 * ILLEGAL_GENERATION during a cooperative rebalance as a lost assignment
 * (librdkafka issue #4059): the partitions are dropped and re-read from
 * the last commit, which costs re-deliveries. Periodic commits therefore
 * pause for a moment after every rebalance event, long enough for the
 * incremental protocol's second round to finish. Commits in the revoke
 * hook and at shutdown are not affected. */
#define REBALANCE_QUIET_MS 3000

static void hold_commits(struct pipeline *p)
{
    p->commit_hold_until = mono_ms() + REBALANCE_QUIET_MS;
}

static void on_assigned(void *arg, const rd_kafka_topic_partition_list_t *parts)
{
    hold_commits(arg);
}

static void on_revoking(void *arg, const rd_kafka_topic_partition_list_t *parts)
{
    struct pipeline *p = arg;
    /* Finish what is in flight, then commit it, before the partitions
     * move: the next owner starts exactly where we stopped. Blocking the
     * loop here is bounded and only happens during a rebalance. */
    flush_workers(p);
    if (drain(p, (int)p->o.shutdown_timeout) < 0)
        log_warn(MOD, "revoke: %d message(s) still undelivered after %" PRId64 " ms; their "
                 "inputs will be processed again by the next owner", producer_outq(p->producer),
                 p->o.shutdown_timeout);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t pos = offsets_position(p->offsets, parts->elems[i].topic,
                                       parts->elems[i].partition);
        if (pos >= 0)
            rd_kafka_topic_partition_list_add(l, parts->elems[i].topic,
                                              parts->elems[i].partition)->offset = pos;
    }
    if (l->cnt) {
        if (consumer_commit(p->consumer, l, 0) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            p->c.commits++;
        } else {
            /* Lost or fenced: the next owner re-reads from the last commit. */
            p->c.commit_failures++;
            log_warn(MOD, "revoke: could not commit %d partition(s); their delivered input "
                     "will be processed again", l->cnt);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    for (int i = 0; i < parts->cnt; i++)
        offsets_forget(p->offsets, parts->elems[i].topic, parts->elems[i].partition);
    hold_commits(p);
}

static void on_consumer_fatal(void *arg, const char *reason)
{
    set_fatal(arg, reason);
}

/* ---- events ------------------------------------------------------------ */

static void ev_consumer_cb(evutil_socket_t fd, short what, void *arg)
{
    drain_consumer(arg);
}

static void serve_producer(struct pipeline *p)
{
    char err[512];
    producer_poll(p->producer);
    send_ready_writes(p, 0);
    p->c.retries = producer_retries(p->producer);
    if (producer_fatal(p->producer, err, sizeof(err)))
        set_fatal(p, err);
    check_pressure(p);
}

static void ev_producer_cb(evutil_socket_t fd, short what, void *arg)
{
    serve_producer(arg);
}

static void ev_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pipeline *p = arg;
    /* Safety net for a missed wake-up. */
    serve_producer(p);
    take_results(p);
    if (p->consuming)
        drain_consumer(p);
}

static void ev_results_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pipeline *p = arg;
    workers_ack(p->workers);
    take_results(p);
    check_pressure(p);
    /* Room in the workers' queue again: consume on where it stopped. */
    if (p->consuming && !consumer_paused(p->consumer))
        event_active(p->ev_consumer, EV_READ, 0);
}

static void tick_chain(struct chain *ch, void *arg)
{
    chain_tick(ch, *(const int64_t *)arg);
}

struct reload_ctx {
    char *err;
    size_t errlen;
    int rc;
};

static void reload_chain(struct chain *ch, void *arg)
{
    struct reload_ctx *r = arg;
    if (r->rc == 0 && chain_reload(ch, r->err, r->errlen) < 0)
        r->rc = -1;
}

static void stats_chain(struct chain *ch, void *arg)
{
    chain_stats(ch, arg);
}

static void ev_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pipeline *p = arg;
    if (mono_ms() >= p->commit_hold_until)
        commit(p, 0);
    int64_t now = wall_ms();
    chain_tick(p->chain, now);
    if (p->workers)
        workers_each_chain(p->workers, tick_chain, &now);
    send_ready_writes(p, 1);      /* expiry tombstones */
}

static void ev_writes_cb(evutil_socket_t fd, short what, void *arg)
{
    send_ready_writes(arg, 1);
}

static void log_stats(struct pipeline *p)
{
    char line[512];
    p->last_stats_ms = mono_ms();
    p->last_stats_consumed = p->c.consumed;
    metrics_set_in_flight(p->metrics, (int64_t)p->c.in_flight);
    metrics_set_queue_depth(p->metrics, producer_outq(p->producer));
    log_info("stats", "%s paused=%d commits=%" PRIu64 " retries=%" PRIu64,
             metrics_format_line(p->metrics, wall_ms(), line, sizeof(line)),
             consumer_paused(p->consumer), p->c.commits, p->c.retries);
}

static void ev_stats_cb(evutil_socket_t fd, short what, void *arg)
{
    log_stats(arg);
}

static void ev_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct pipeline *p = arg;
    if (sig == SIGHUP) {
        char err[1024];
        struct reload_ctx r = {err, sizeof(err), chain_reload(p->chain, err, sizeof(err))};
        /* The workers' copies of the front read the same files: a failure
         * there is reported the same way (each copy keeps its old data). */
        if (p->workers)
            workers_each_chain(p->workers, reload_chain, &r);
        if (r.rc < 0) {
            p->c.reload_failures++;
            log_error(MOD, "reload failed, the old data stays in use: %s", err);
        } else {
            p->c.reloads++;
            log_info(MOD, "reloaded the processors' data files");
        }
        return;
    }
    log_info(MOD, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    pipeline_request_stop(p);
}

/* ---- observability: what core/http.c asks ------------------------------ */

static void on_consumer_stats(void *arg, const char *json, size_t len)
{
    struct pipeline *p = arg;
    if (metrics_rdkafka_stats(p->metrics, json, len) < 0)
        log_warn(MOD, "librdkafka statistics: not valid JSON (%zu bytes)", len);
    log_debug(MOD, "librdkafka statistics: %zu bytes, lag %" PRId64 ", %d broker(s) up", len,
              metrics_lag_total(p->metrics), metrics_brokers_up(p->metrics));
}

static int http_ready(void *opaque, char *reason, size_t len)
{
    struct pipeline *p = opaque;
    int64_t stall = p->s->kafka.stall_timeout, idle = mono_ms() - p->last_progress_ms;
    if (p->fatal)
        snprintf(reason, len, "fatal: %s", p->fatal_msg);
    else if (!p->restored)
        snprintf(reason, len, "state restore still running");
    else if (!p->consuming)
        snprintf(reason, len, "stopping");
    else if (metrics_brokers_up(p->metrics) == 0)
        snprintf(reason, len, "broker unreachable");
    else if (consumer_assigned_count(p->consumer) == 0)
        snprintf(reason, len, "waiting for partition assignment");
    else if (stall > 0 && idle > stall &&
             (metrics_lag_total(p->metrics) > 0 || p->c.in_flight > 0))
        snprintf(reason, len, "stalled: no progress for %" PRId64 " ms with input waiting", idle);
    else
        return 1;
    return 0;
}

static json_t *http_stats(void *opaque)
{
    json_t *o = json_object();
    if (o)
        pipeline_stats(opaque, o);
    return o;
}

static struct metrics *http_metrics(void *opaque)
{
    struct pipeline *p = opaque;
    metrics_set_in_flight(p->metrics, (int64_t)p->c.in_flight);
    metrics_set_queue_depth(p->metrics, producer_outq(p->producer));
    return p->metrics;
}

int pipeline_serve_http(struct pipeline *p, char *err, size_t errlen)
{
    const struct http_provider prov = {p, http_ready, http_stats, http_metrics};
    if (!p->http && !(p->http = http_server_new(p->base, &p->s->http, &prov, err, errlen)))
        return -1;
    return http_server_port(p->http);
}

/* ---- lifecycle --------------------------------------------------------- */

static struct timeval tv_ms(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

/* A drain that stops at its budget re-activates itself (event_active),
 * and libevent runs events activated during a pass in that same pass: a
 * busy consumer would then hold off the delivery reports, the timers
 * (commits, batched state writes, stats) and the HTTP endpoint until its
 * queue ran dry or back-pressure paused it. Checking for new events after
 * every callback gives each of them its turn between two batches. */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    struct event_base *base = NULL;
    if (event_config_set_max_dispatch_interval(cfg, NULL, 1, 0) == 0)
        base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static int chain_is_stateful(const struct settings *s)
{
    for (size_t i = 0; i < s->pipeline.processors.n; i++) {
        const struct processor_ops *ops = processor_find(s->pipeline.processors.items[i]);
        if (ops && ops->restore)
            return 1;
    }
    return 0;
}

struct pipeline *pipeline_new(const struct settings *s, const struct pipeline_opts *o,
                              char *err, size_t errlen)
{
    struct pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->s = s;
    p->o = *o;
    if (!p->o.shutdown_timeout)
        p->o.shutdown_timeout = 30000;
    if (!o->brokers || strcmp(o->brokers, "embedded") == 0) {
        snprintf(err, errlen, "pipeline: no bootstrap servers (start the embedded broker first)");
        goto fail;
    }
    p->brokers = strdup(o->brokers);
    p->o.brokers = p->brokers;
    const char *fmt = s->input.format;
    p->dopts.format = strcmp(fmt, "json") == 0 ? INPUT_JSON
                      : strcmp(fmt, "text") == 0 ? INPUT_TEXT : INPUT_AUTO;
    p->dopts.max_body_size = (size_t)s->input.max_body_size;
    p->dopts.max_message_size = (size_t)s->input.max_message_size;
    if (encode_parse_format(s->pipeline.output_format, &p->ofmt) < 0) {
        snprintf(err, errlen, "[pipeline] output_format: expected record or ninjs");
        goto fail;
    }
    p->publish_duplicates = strcmp(s->output.duplicates, "publish") == 0;
    p->stateful = chain_is_stateful(s) && !o->input;   /* replay: memory only */
    p->store.opaque = p;
    p->store.put = store_put;

    if (!(p->offsets = offsets_new()) || !(p->base = new_base()) ||
        !(p->metrics = metrics_new(wall_ms()))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(p->chain = chain_new(s, p->stateful ? &p->store : NULL, err, errlen)))
        goto fail;
    if (!o->input && s->pipeline.threads > 0) {    /* replay stays on the loop */
        p->front = chain_front_len(s);
        p->work_cap = WORKERS_QUEUE_PER_THREAD * (size_t)s->pipeline.threads;
        if (!(p->workers = workers_new((size_t)s->pipeline.threads, s, &p->dopts, err, errlen)))
            goto fail;
        if (!(p->ev_results = event_new(p->base, workers_fd(p->workers), EV_READ | EV_PERSIST,
                                        ev_results_cb, p))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (!(p->producer = producer_new(s, p->brokers, on_delivery, p, err, errlen)))
        goto fail;
    p->max_output = (size_t)s->output.max_message_size;
    if (!p->max_output) {
        char v[32];
        size_t vlen = sizeof(v);
        rd_kafka_conf_get(rd_kafka_conf(producer_handle(p->producer)), "message.max.bytes", v,
                          &vlen);
        p->max_output = (size_t)strtoull(v, NULL, 10);
    }
    const struct consumer_handlers h = {on_assigned, on_revoking, on_consumer_fatal,
                                        on_committed, on_consumer_stats};
    if (!(p->consumer = consumer_new(s, p->brokers, o->group_id, &h, p, err, errlen)))
        goto fail;

    p->ev_consumer = event_new(p->base, consumer_fd(p->consumer), EV_READ | EV_PERSIST,
                               ev_consumer_cb, p);
    p->ev_producer = event_new(p->base, producer_fd(p->producer), EV_READ | EV_PERSIST,
                               ev_producer_cb, p);
    p->ev_poll = event_new(p->base, -1, EV_PERSIST, ev_poll_cb, p);
    p->ev_commit = event_new(p->base, -1, EV_PERSIST, ev_commit_cb, p);
    p->ev_stats = event_new(p->base, -1, EV_PERSIST, ev_stats_cb, p);
    p->ev_writes = evtimer_new(p->base, ev_writes_cb, p);
    if (!p->ev_consumer || !p->ev_producer || !p->ev_poll || !p->ev_commit || !p->ev_stats ||
        !p->ev_writes) {
        snprintf(err, errlen, "libevent: cannot create events");
        goto fail;
    }
    if (o->handle_signals) {
        /* Caught from now on: a SIGTERM that arrives during the start-up
         * (state restore) is served by the loop's first turn and stops it
         * cleanly instead of killing the process. */
        p->ev_sigterm = evsignal_new(p->base, SIGTERM, ev_signal_cb, p);
        p->ev_sigint = evsignal_new(p->base, SIGINT, ev_signal_cb, p);
        p->ev_sighup = evsignal_new(p->base, SIGHUP, ev_signal_cb, p);
        if (!p->ev_sigterm || !p->ev_sigint || !p->ev_sighup ||
            event_add(p->ev_sigterm, NULL) < 0 || event_add(p->ev_sigint, NULL) < 0 ||
            event_add(p->ev_sighup, NULL) < 0) {
            snprintf(err, errlen, "libevent: cannot install the signal handlers");
            goto fail;
        }
    }
    return p;
fail:
    pipeline_free(p);
    return NULL;
}

static int restore_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct pipeline *p = arg;
    chain_restore(p->chain, key, klen, val, vlen);   /* unknown owners are ignored */
    p->c.restored++;
    return 0;
}

int pipeline_start(struct pipeline *p, char *err, size_t errlen)
{
    const struct settings *s = p->s;

    if (p->stateful) {
        const char *topic = s->output.state_topic;
        if (p->o.embedded) {
            if (embedded_create_topic(p->o.embedded, topic, (int)s->output.state_partitions,
                                      err, errlen) < 0)
                return -1;
        } else if (statestore_kafka_ensure(producer_handle(p->producer), topic,
                                           (int)s->output.state_partitions, STATE_TIMEOUT_MS,
                                           err, errlen) < 0) {
            return -1;
        }
        int64_t t0 = mono_ms();
        long n = statestore_kafka_restore(s, p->brokers, topic, restore_entry, p,
                                          STATE_TIMEOUT_MS, err, errlen);
        if (n < 0)
            return -1;
        log_info(MOD, "restored %ld state entries from %s in %" PRId64 " ms", n, topic,
                 mono_ms() - t0);
    }
    p->restored = 1;
    if (!p->o.input && consumer_subscribe(p->consumer, &s->kafka.input_topics, err, errlen) < 0)
        return -1;
    struct timeval poll = tv_ms(s->kafka.poll_interval > 0 ? s->kafka.poll_interval : 100);
    struct timeval com = tv_ms(s->kafka.commit_interval > 0 ? s->kafka.commit_interval : 1000);
    event_add(p->ev_consumer, NULL);
    event_add(p->ev_producer, NULL);
    if (p->ev_results)
        event_add(p->ev_results, NULL);
    event_add(p->ev_poll, &poll);
    if (!p->o.input)              /* replay never commits */
        event_add(p->ev_commit, &com);
    if (!p->o.quiet && s->log.stats_interval > 0) {
        struct timeval st = tv_ms(s->log.stats_interval);
        event_add(p->ev_stats, &st);
    }
    p->consuming = !p->stop_requested;
    p->last_stats_ms = mono_ms();
    p->last_progress_ms = p->last_stats_ms;
    log_info(MOD, "consuming %s from %s as group %s", s->kafka.input_topics.items[0],
             p->brokers, p->o.group_id ? p->o.group_id : s->kafka.group_id);
    return 0;
}

int pipeline_run_until(struct pipeline *p, pipeline_cond_fn cond, void *arg, int64_t timeout_ms)
{
    int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : INT64_MAX;
    for (;;) {
        if (p->fatal)
            return -1;
        if (cond && cond(arg, p))
            return 1;
        if (p->stop_requested || mono_ms() >= deadline)
            return 0;
        /* The poll timer bounds each iteration to poll_interval. */
        event_base_loop(p->base, EVLOOP_ONCE);
    }
}

int pipeline_run(struct pipeline *p)
{
    return pipeline_run_until(p, NULL, NULL, -1);
}

void pipeline_request_stop(struct pipeline *p)
{
    p->stop_requested = 1;
    p->consuming = 0;
    event_base_loopbreak(p->base);
}

int pipeline_stop(struct pipeline *p)
{
    int rc = 0;
    /* 1. Stop consuming: what the consumer fetched but we did not take is
     *    simply not committed, and is read again next time. */
    p->consuming = 0;
    if (p->ev_consumer)
        event_del(p->ev_consumer);
    if (p->ev_poll)
        event_del(p->ev_poll);
    /* 2. Finish what the workers hold, then deliver what is in flight. */
    flush_workers(p);
    if (p->producer && drain(p, (int)p->o.shutdown_timeout) < 0) {
        if (p->fatal)
            log_error(MOD, "shutdown after a fatal error: %d message(s) not delivered; their "
                      "inputs stay uncommitted", producer_outq(p->producer));
        else
            log_error(MOD, "shutdown: %d message(s) not delivered within %" PRId64 " ms; "
                      "their inputs stay uncommitted", producer_outq(p->producer),
                      p->o.shutdown_timeout);
        rc = -1;
    }
    p->c.retries = p->producer ? producer_retries(p->producer) : 0;
    /* 3. Commit everything delivered, synchronously. A rebalance caught
     *    half-way (another member joining or leaving) makes the commit fail
     *    with a stale generation: serve it - the revoke hook commits what
     *    moves away - and commit what is still ours. */
    int64_t deadline = mono_ms() + STOP_COMMIT_MS;
    uint64_t failures = p->c.commit_failures;
    while (p->consumer && !p->o.input) {
        rd_kafka_resp_err_t cerr = commit(p, 1);
        if (cerr == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (!consumer_rebalancing_error(cerr) || mono_ms() > deadline) {
            log_error(MOD, "shutdown: final commit failed: %s", rd_kafka_err2str(cerr));
            rc = -1;
            break;
        }
        log_info(MOD, "shutdown: a rebalance is under way, serving it before committing");
        consumer_serve(p->consumer, 200);
    }
    /* 4. Leave the group (the final revoke commits again: harmless). */
    if (p->consumer)
        consumer_close(p->consumer);
    if (p->c.commit_failures > failures) {
        log_error(MOD, "shutdown: the group lost our partitions before their last commit; "
                  "their delivered input will be processed again");
        rc = -1;
    }
    if (offsets_pending(p->offsets) > 0) {
        log_warn(MOD, "shutdown: %zu input message(s) not fully delivered, not committed",
                 offsets_pending(p->offsets));
        rc = -1;
    }
    if (p->fatal)
        rc = -1;
    if (!p->o.quiet)
        log_stats(p);
    return rc;
}

void pipeline_free(struct pipeline *p)
{
    if (!p)
        return;
    struct event *evs[] = {p->ev_consumer, p->ev_producer, p->ev_poll, p->ev_commit,
                           p->ev_stats, p->ev_writes, p->ev_sigterm, p->ev_sigint,
                           p->ev_sighup, p->ev_results};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    /* Inputs the workers still hold (after a fatal error) are dropped,
     * uncommitted; their messages go back before the consumer does. */
    if (p->workers) {
        struct work *w = workers_abandon(p->workers);
        while (w) {
            struct work *next = w->next_order;
            inflight_free((struct inflight *)w);
            w = next;
        }
    }
    /* Reverse order of creation. The consumer's close may run the revoke
     * hook, which still uses the producer and the offsets. */
    consumer_free(p->consumer);
    producer_free(p->producer);
    /* Jobs still alive never completed (their offsets stay uncommitted). */
    while (p->live) {
        struct job *j = p->live;
        p->live = j->lnext;
        kv_free_all(j->writes);
        free(j);
    }
    workers_free(p->workers);
    chain_free(p->chain);
    offsets_free(p->offsets);
    http_server_free(p->http);      /* its events live on the base */
    metrics_free(p->metrics);
    if (p->base)
        event_base_free(p->base);
    free(p->brokers);
    free(p);
}

void pipeline_counters(const struct pipeline *p, struct pipeline_counters *out)
{
    *out = p->c;
    out->paused = p->consumer ? consumer_paused(p->consumer) : 0;
    out->uncommitted = offsets_uncommitted(p->offsets);
}

void pipeline_stats(struct pipeline *p, json_t *out)
{
    json_t *o = json_object();
    const struct pipeline_counters *c = &p->c;
#define SETU(name) json_object_set_new(o, #name, json_integer((json_int_t)c->name))
    SETU(consumed);
    SETU(done);
    SETU(enriched);
    SETU(routed);
    SETU(duplicates);
    SETU(dropped);
    SETU(deadletter);
    SETU(state_writes);
    SETU(produced);
    SETU(delivered);
    SETU(failed);
    SETU(commits);
    SETU(pauses);
    SETU(restored);
    SETU(retries);
    SETU(reloads);
    SETU(reload_failures);
    SETU(in_flight);
#undef SETU
    json_object_set_new(o, "paused", json_boolean(consumer_paused(p->consumer)));
    json_object_set_new(o, "pending_inputs",
                        json_integer((json_int_t)offsets_pending(p->offsets)));
    json_object_set_new(out, "pipeline", o);
    chain_stats(p->chain, out);
    if (p->workers)                 /* their copies' counters add up */
        workers_each_chain(p->workers, stats_chain, out);
}

struct event_base *pipeline_base(struct pipeline *p)
{
    return p->base;
}

int pipeline_failed(const struct pipeline *p, char *err, size_t errlen)
{
    if (p->fatal && err)
        snprintf(err, errlen, "%s", p->fatal_msg);
    return p->fatal;
}
