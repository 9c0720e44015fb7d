/*
 * statestore_kafka.c - compacted-topic state: creation and restore (see
 * statestore_kafka.h). Writes go through the pipeline's producer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kconf.h"
#include "log.h"
#include "statestore_kafka.h"

#define MOD "state"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int statestore_kafka_ensure(rd_kafka_t *rk, const char *topic, int partitions,
                            int timeout_ms, char *err, size_t errlen)
{
    char errstr[512];
    int rc = -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions > 0 ? partitions : 1,
                                                    -1, errstr, sizeof(errstr));
    if (!nt) {
        snprintf(err, errlen, "state topic %s: %s", topic, errstr);
        return -1;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (!ev) {
        snprintf(err, errlen, "state topic %s: no answer from the cluster in %d ms", topic,
                 timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "state topic %s: %s", topic, rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t terr = n ? rd_kafka_topic_result_error(res[0]) : 0;
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_info(MOD, "created compacted topic %s (%d partitions)", topic, partitions);
        rc = 0;
    } else if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        rc = 0;
    } else {
        snprintf(err, errlen, "state topic %s: %s", topic,
                 rd_kafka_topic_result_error_string(res[0]));
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

long statestore_kafka_read(const struct settings *s, const char *brokers, const char *topic,
                           statestore_kafka_msg_fn fn, void *arg, int timeout_ms,
                           char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    int64_t *high = NULL;
    long count = -1, got = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    const char *const defaults[] = {
        "enable.auto.commit", "false",
        "enable.partition.eof", "true",
        "auto.offset.reset", "earliest",
        NULL,
    };

    rd_kafka_conf_t *conf = kconf_new(s, brokers, "consumer", defaults, err, errlen);
    if (!conf)
        return -1;
    /* A plain assign()-only reader: it never joins nor commits to a group,
     * but librdkafka 2.0 wants a group.id for assign(); a private one. */
    char group[96];
    snprintf(group, sizeof(group), "wirestream-reader-%ld-%lld", (long)getpid(),
             (long long)mono_ms());
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.instance.id", "", errstr, sizeof(errstr));
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "reading topic: %s", errstr);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t rerr;
    /* A topic created a moment ago may not be in every broker's metadata
     * yet: ask again until it is, within the deadline. */
    for (;;) {
        rerr = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        int missing = !rerr && md->topic_cnt == 1 &&
                      (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                       md->topics[0].err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                       md->topics[0].partition_cnt == 0);
        if (!missing || mono_ms() > deadline)
            break;
        rd_kafka_metadata_destroy(md);
        md = NULL;
        rd_kafka_poll(rk, 100);
    }
    if (rerr || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "reading topic: metadata of %s: %s", topic,
                 rd_kafka_err2str(rerr ? rerr : md->topic_cnt ? md->topics[0].err
                                                             : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    high = calloc((size_t)(np ? np : 1), sizeof(*high));
    parts = rd_kafka_topic_partition_list_new(np);
    int remaining = 0;
    for (int i = 0; i < np; i++) {
        int32_t pid = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        rerr = rd_kafka_query_watermark_offsets(rk, topic, pid, &lo, &hi, timeout_ms);
        if (rerr) {
            snprintf(err, errlen, "reading topic: watermarks of %s [%d]: %s", topic, (int)pid,
                     rd_kafka_err2str(rerr));
            goto out;
        }
        if (pid >= 0 && pid < np)
            high[pid] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, pid)->offset = RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        }
    }
    if (remaining == 0) {
        count = 0;
        goto out;
    }
    if ((rerr = rd_kafka_assign(rk, parts))) {
        snprintf(err, errlen, "reading topic: assign: %s", rd_kafka_err2str(rerr));
        goto out;
    }
    /* Done per partition when the last offset present at start is read
     * (or EOF: compaction may have removed offsets below it). */
    while (remaining > 0) {
        if (mono_ms() > deadline) {
            snprintf(err, errlen, "reading topic: %s not read to its end within %d ms "
                     "(%ld entries read)", topic, timeout_ms, got);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        int32_t pid = m->partition;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn(MOD, "restore: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int finished = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!m->err) {
            fn(arg, m);
            got++;
            finished = pid >= 0 && pid < np && m->offset + 1 >= high[pid];
        }
        if (finished && pid >= 0 && pid < np && high[pid] >= 0) {
            high[pid] = -1;        /* counted once */
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    count = got;
out:
    free(high);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return count;
}

struct restore_ctx {
    statestore_kafka_fn fn;
    void *arg;
};

static void restore_msg(void *arg, const rd_kafka_message_t *m)
{
    struct restore_ctx *rc = arg;
    rc->fn(rc->arg, m->key, m->key_len, m->payload, m->payload ? m->len : 0);
}

long statestore_kafka_restore(const struct settings *s, const char *brokers, const char *topic,
                              statestore_kafka_fn fn, void *arg, int timeout_ms,
                              char *err, size_t errlen)
{
    struct restore_ctx rc = {fn, arg};
    return statestore_kafka_read(s, brokers, topic, restore_msg, &rc, timeout_ms, err, errlen);
}
