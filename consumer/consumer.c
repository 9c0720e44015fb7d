/*
 * consumer.c - the input consumer (see consumer.h).
 *
 * The main queue is forwarded to the consumer queue (rd_kafka_poll_set_
 * consumer), so rebalances, errors and commit results all arrive on the
 * one queue whose wake-ups the pipeline listens to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consumer.h"
#include "../core/kconf.h"
#include "../core/log.h"

#define MOD "consumer"

struct consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int pipefd[2];
    struct consumer_handlers h;
    void *arg;
    int paused;
    int closed;
};

static void log_parts(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char buf[512];
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && n < sizeof(buf) - 64; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s[%d]", i ? " " : "",
                              parts->elems[i].topic, (int)parts->elems[i].partition);
    log_info(MOD, "%s %d partition(s): %s", what, parts->cnt, buf);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct consumer *c = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_parts("assigned", parts);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, parts);
        /* Newly assigned partitions follow the current back-pressure. */
        if (!error && !rerr && c->paused && parts->cnt)
            rd_kafka_pause_partitions(rk, parts);
        if (c->h.assigned)
            c->h.assigned(c->arg, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        if (rd_kafka_assignment_lost(rk))
            log_warn(MOD, "assignment lost (session timed out): outputs already queued will "
                     "still be delivered, their offsets cannot be committed");
        log_parts("revoking", parts);
        /* Finish and commit what is in flight before giving them up. */
        if (c->h.revoking)
            c->h.revoking(c->arg, parts);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, NULL);
    } else {
        log_error(MOD, "rebalance failed: %s", rd_kafka_err2str(err));
        rerr = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        log_error(MOD, "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (rerr) {
        log_error(MOD, "rebalance: %s", rd_kafka_err2str(rerr));
    }
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    struct consumer *c = opaque;
    if (c->h.committed && offsets)
        c->h.committed(c->arg, err, offsets);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn(MOD, "offset commit failed: %s (retried at the next commit)",
                 rd_kafka_err2str(err));
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct consumer *c = opaque;
    c->h.stats(c->arg, json, len);
    return 0;   /* librdkafka frees json */
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error(MOD, "fatal: %s", buf);
        if (c->h.fatal)
            c->h.fatal(c->arg, buf);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        log_warn(MOD, "%s (retrying)", reason);
    } else {
        log_warn(MOD, "%s: %s", rd_kafka_err2name(err), reason);
    }
}

struct consumer *consumer_new(const struct settings *s, const char *brokers,
                              const char *group_id, const struct consumer_handlers *h,
                              void *arg, char *err, size_t errlen)
{
    char errstr[512];
    struct consumer *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->pipefd[0] = c->pipefd[1] = -1;
    if (h)
        c->h = *h;
    c->arg = arg;
    const char *const defaults[] = {
        "group.id", group_id ? group_id : s->kafka.group_id,
        "enable.auto.commit", "false",
        "auto.offset.reset", "earliest",
        "partition.assignment.strategy", "cooperative-sticky",
        "enable.partition.eof", "false",
        /* Back quickly after a broker outage (librdkafka: up to 10 s). */
        "reconnect.backoff.max.ms", "2000",
        "statistics.interval.ms", "5000",   /* consumer lag for /metrics */
        NULL,
    };
    if (!(conf = kconf_new(s, brokers, "consumer", defaults, err, errlen)))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (c->h.stats)             /* h may be NULL */
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_opaque(conf, c);
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    if (pipe2(c->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "consumer: pipe: %s", strerror(errno));
        goto fail;
    }
    c->q = rd_kafka_queue_get_consumer(c->rk);
    rd_kafka_queue_io_event_enable(c->q, c->pipefd[1], "c", 1);
    return c;
fail:
    consumer_free(c);
    return NULL;
}

int consumer_close(struct consumer *c)
{
    if (c->closed)
        return 0;
    c->closed = 1;
    rd_kafka_resp_err_t rerr = rd_kafka_consumer_close(c->rk);
    if (rerr) {
        log_warn(MOD, "close: %s", rd_kafka_err2str(rerr));
        return -1;
    }
    return 0;
}

void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    if (c->q) {
        rd_kafka_queue_io_event_enable(c->q, -1, NULL, 0);
        rd_kafka_queue_destroy(c->q);
    }
    if (c->rk) {
        consumer_close(c);
        rd_kafka_destroy(c->rk);
    }
    for (int i = 0; i < 2; i++)
        if (c->pipefd[i] >= 0)
            close(c->pipefd[i]);
    free(c);
}

int consumer_subscribe(struct consumer *c, const struct conf_list *topics,
                       char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)topics->n);
    for (size_t i = 0; i < topics->n; i++)
        rd_kafka_topic_partition_list_add(l, topics->items[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rerr = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (rerr) {
        snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(rerr));
        return -1;
    }
    return 0;
}

int consumer_fd(const struct consumer *c)
{
    return c->pipefd[0];
}

void consumer_ack_wakeup(struct consumer *c)
{
    char buf[64];
    while (read(c->pipefd[0], buf, sizeof(buf)) > 0)
        ;
}

rd_kafka_message_t *consumer_poll(struct consumer *c)
{
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m || !m->err)
            return m;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__FATAL && c->h.fatal) {
            char buf[512];
            rd_kafka_fatal_error(c->rk, buf, sizeof(buf));
            c->h.fatal(c->arg, buf);
        } else {
            log_warn(MOD, "%s%s%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                     m->rkt ? " " : "", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
}

int consumer_pause(struct consumer *c, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t rerr;

    if (c->paused == pause)
        return 0;
    c->paused = pause;
    if ((rerr = rd_kafka_assignment(c->rk, &parts)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (parts->cnt)
            rerr = pause ? rd_kafka_pause_partitions(c->rk, parts)
                         : rd_kafka_resume_partitions(c->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (rerr) {
        log_warn(MOD, "%s: %s", pause ? "pause" : "resume", rd_kafka_err2str(rerr));
        return -1;
    }
    return 0;
}

int consumer_paused(const struct consumer *c)
{
    return c->paused;
}

rd_kafka_resp_err_t consumer_commit(struct consumer *c,
                                    const rd_kafka_topic_partition_list_t *offsets, int async)
{
    rd_kafka_resp_err_t rerr = rd_kafka_commit(c->rk, offsets, async);
    if (rerr == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    if (rerr)
        log_warn(MOD, "commit: %s", rd_kafka_err2str(rerr));
    return rerr;
}

int consumer_rebalancing_error(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
           err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
           err == RD_KAFKA_RESP_ERR__STATE;
}

void consumer_serve(struct consumer *c, int timeout_ms)
{
    int waited = 0;
    while (waited < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 20);
        waited += 20;
        if (m)
            rd_kafka_message_destroy(m);
    }
}

size_t consumer_assigned_count(const struct consumer *c)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    size_t n = 0;
    if (rd_kafka_assignment(c->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = (size_t)parts->cnt;
        rd_kafka_topic_partition_list_destroy(parts);
    }
    return n;
}

rd_kafka_t *consumer_handle(struct consumer *c)
{
    return c->rk;
}
