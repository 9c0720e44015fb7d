/*
 * producer.c - the idempotent output producer (see producer.h).
 *
 * Retriable delivery failures are re-queued from the delivery report into
 * a small local list and sent again on the next producer_poll(): producing
 * from inside the callback could meet a full queue with no way to wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producer.h"
#include "../core/kconf.h"
#include "../core/log.h"

#define MOD "producer"

struct retry {
    struct retry *next;
    char *topic;
    void *key;
    size_t klen;
    void *payload;
    size_t len;
    rd_kafka_headers_t *hdrs;
    void *opaque;
};

struct producer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    int pipefd[2];
    producer_dr_fn dr;
    void *arg;
    struct retry *retries, *retries_tail;
    size_t nretry;
    uint64_t retried;
};

/* Errors a later attempt can get past on its own. */
static int retriable(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        return 1;
    default:
        return 0;
    }
}

static void free_retry(struct retry *r)
{
    free(r->topic);
    free(r->key);
    free(r->payload);
    if (r->hdrs)
        rd_kafka_headers_destroy(r->hdrs);
    free(r);
}

static int queue_retry(struct producer *p, const rd_kafka_message_t *m)
{
    struct retry *r = calloc(1, sizeof(*r));
    rd_kafka_headers_t *hdrs = NULL;

    if (!r)
        return -1;
    r->opaque = m->_private;
    r->topic = strdup(rd_kafka_topic_name(m->rkt));
    r->klen = m->key_len;
    r->key = m->key_len ? malloc(m->key_len) : NULL;
    r->len = m->len;
    r->payload = malloc(m->len ? m->len : 1);
    if (!r->topic || (m->key_len && !r->key) || !r->payload) {
        free_retry(r);
        return -1;
    }
    if (m->key_len)
        memcpy(r->key, m->key, m->key_len);
    if (m->len)
        memcpy(r->payload, m->payload, m->len);
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs)
        r->hdrs = rd_kafka_headers_copy(hdrs);
    if (p->retries_tail)
        p->retries_tail->next = r;
    else
        p->retries = r;
    p->retries_tail = r;
    p->nretry++;
    return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct producer *p = opaque;
    char fatal[256];

    if (m->err && retriable(m->err) &&
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        queue_retry(p, m) == 0) {
        p->retried++;
        if (p->retried == 1 || p->retried % 1000 == 0)
            log_warn(MOD, "delivery to %s failed (%s), sending again (%llu retries so far)",
                     rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err),
                     (unsigned long long)p->retried);
        return;
    }
    p->dr(p->arg, m->_private, m->err, rd_kafka_topic_name(m->rkt), m->partition, m->len);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        log_error(MOD, "fatal: %s", reason);
    else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT)
        log_warn(MOD, "%s (retrying)", reason);
    else
        log_warn(MOD, "%s: %s", rd_kafka_err2name(err), reason);
}

struct producer *producer_new(const struct settings *s, const char *brokers,
                              producer_dr_fn dr, void *arg, char *err, size_t errlen)
{
    char qmax[32], errstr[512];
    struct producer *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf;

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->pipefd[0] = p->pipefd[1] = -1;
    p->dr = dr;
    p->arg = arg;
    /* Room for every output of max_in_flight records (a record causes at
     * most a handful) so that back-pressure, not QUEUE_FULL, bounds us. */
    int64_t q = s->kafka.max_in_flight * 8;
    snprintf(qmax, sizeof(qmax), "%lld", (long long)(q < 100000 ? 100000 : q));
    const char *const defaults[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "linger.ms", "5",
        /* Back quickly after a broker outage (librdkafka: up to 10 s). */
        "reconnect.backoff.max.ms", "2000",
        "queue.buffering.max.messages", qmax,
        NULL,
    };
    if (!(conf = kconf_new(s, brokers, "producer", defaults, err, errlen)))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "producer: pipe: %s", strerror(errno));
        goto fail;
    }
    p->mainq = rd_kafka_queue_get_main(p->rk);
    rd_kafka_queue_io_event_enable(p->mainq, p->pipefd[1], "p", 1);
    return p;
fail:
    producer_free(p);
    return NULL;
}

void producer_free(struct producer *p)
{
    if (!p)
        return;
    if (p->mainq) {
        rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(p->mainq);
    }
    if (p->rk)
        rd_kafka_destroy(p->rk);
    while (p->retries) {
        struct retry *r = p->retries;
        p->retries = r->next;
        free_retry(r);
    }
    for (int i = 0; i < 2; i++)
        if (p->pipefd[i] >= 0)
            close(p->pipefd[i]);
    free(p);
}

int producer_send(struct producer *p, const char *topic, const void *key, size_t klen,
                  void *payload, size_t len, rd_kafka_headers_t *hdrs, void *opaque,
                  unsigned flags, int timeout_ms, char *err, size_t errlen)
{
    int msgflags = (flags & PRODUCER_TAKE) ? RD_KAFKA_MSG_F_FREE : RD_KAFKA_MSG_F_COPY;
    int waited = 0;

    for (;;) {
        rd_kafka_resp_err_t rerr;
        if (hdrs)
            rerr = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic),
                                     RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(payload, len),
                                     RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_HEADERS(hdrs),
                                     RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        else
            rerr = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic),
                                     RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(payload, len),
                                     RD_KAFKA_V_MSGFLAGS(msgflags),
                                     RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (rerr != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited >= timeout_ms) {
            snprintf(err, errlen, "producing to %s: %s", topic, rd_kafka_err2str(rerr));
            return -1;
        }
        /* Full: serve delivery reports (this is what frees room). */
        rd_kafka_poll(p->rk, 10);
        waited += 10;
    }
}

int producer_fd(const struct producer *p)
{
    return p->pipefd[0];
}

int producer_poll(struct producer *p)
{
    char buf[64];
    char err[256];

    while (read(p->pipefd[0], buf, sizeof(buf)) > 0)
        ;
    int n = rd_kafka_poll(p->rk, 0);
    /* Send again what failed retriably; keep what does not fit yet. */
    while (p->retries) {
        struct retry *r = p->retries;
        if (producer_send(p, r->topic, r->key, r->klen, r->payload, r->len, r->hdrs, r->opaque,
                          PRODUCER_TAKE, 0, err, sizeof(err)) < 0) {
            if (strstr(err, rd_kafka_err2str(RD_KAFKA_RESP_ERR__QUEUE_FULL)))
                break;
            /* Not retriable after all: report it failed. */
            log_error(MOD, "%s", err);
            p->retries = r->next;
            p->nretry--;
            p->dr(p->arg, r->opaque, RD_KAFKA_RESP_ERR__FAIL, r->topic, -1, r->len);
            free_retry(r);
            continue;
        }
        /* librdkafka owns payload and headers now. */
        r->payload = NULL;
        r->hdrs = NULL;
        p->retries = r->next;
        p->nretry--;
        free_retry(r);
    }
    if (!p->retries)
        p->retries_tail = NULL;
    return n;
}

int producer_flush(struct producer *p, int timeout_ms)
{
    int waited = 0;
    for (;;) {
        producer_poll(p);
        if (rd_kafka_outq_len(p->rk) == 0 && p->nretry == 0)
            return 0;
        if (waited >= timeout_ms)
            return -1;
        rd_kafka_flush(p->rk, 50);
        waited += 50;
    }
}

int producer_outq(const struct producer *p)
{
    return rd_kafka_outq_len(p->rk) + (int)p->nretry;
}

int producer_fatal(const struct producer *p, char *err, size_t errlen)
{
    char errstr[256];
    rd_kafka_resp_err_t rerr = rd_kafka_fatal_error(p->rk, errstr, sizeof(errstr));
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    snprintf(err, errlen, "producer fatal error %s: %s", rd_kafka_err2name(rerr), errstr);
    return 1;
}

uint64_t producer_retries(const struct producer *p)
{
    return p->retried;
}

rd_kafka_t *producer_handle(struct producer *p)
{
    return p->rk;
}
