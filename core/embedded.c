/*
 * embedded.c - the in-process mock Kafka cluster (see embedded.h).
 *
 * The mock cluster needs an rd_kafka_t to live in; a producer handle that
 * never produces serves. Byte counting exists because the mock silently
 * trims partitions past a few MB: a demo that loses its oldest output must
 * at least say so in the log beforehand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log.h"

#define MOD "embedded"

struct epart {
    struct epart *next;
    char *topic;
    int32_t partition;
    uint64_t bytes;
    uint64_t messages;
    int warned;
};

struct embedded {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    char *bootstraps;
    struct epart *parts;
};

struct embedded *embedded_new(int port, char *err, size_t errlen)
{
    char errstr[512];
    struct embedded *e = NULL;
    rd_kafka_conf_t *conf = NULL;

    if (port != 0) {
        snprintf(err, errlen, "[kafka] embedded_port = %d: this librdkafka binds the embedded "
                 "broker to a free port of its choosing; use 0 and read the printed address",
                 port);
        return NULL;
    }
    if (!(e = calloc(1, sizeof(*e)))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    conf = rd_kafka_conf_new();
    /* This handle only hosts the cluster; keep it quiet. */
    if (rd_kafka_conf_set(conf, "client.id", "wirestream-embedded", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        snprintf(err, errlen, "embedded broker: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    if (!(e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "embedded broker: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    if (!(e->mcluster = rd_kafka_mock_cluster_new(e->rk, 1))) {
        snprintf(err, errlen, "embedded broker: could not start the mock cluster");
        goto fail;
    }
    if (!(e->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(e->mcluster)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return e;
fail:
    embedded_free(e);
    return NULL;
}

void embedded_free(struct embedded *e)
{
    if (!e)
        return;
    if (e->mcluster)
        rd_kafka_mock_cluster_destroy(e->mcluster);
    if (e->rk)
        rd_kafka_destroy(e->rk);
    struct epart *p = e->parts;
    while (p) {
        struct epart *next = p->next;
        free(p->topic);
        free(p);
        p = next;
    }
    free(e->bootstraps);
    free(e);
}

const char *embedded_bootstraps(const struct embedded *e)
{
    return e->bootstraps;
}

rd_kafka_mock_cluster_t *embedded_cluster(struct embedded *e)
{
    return e->mcluster;
}

int embedded_create_topic(struct embedded *e, const char *topic, int partitions,
                          char *err, size_t errlen)
{
    rd_kafka_resp_err_t rerr =
        rd_kafka_mock_topic_create(e->mcluster, topic, partitions > 0 ? partitions : 1, 1);
    if (rerr && rerr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(err, errlen, "embedded broker: creating %s: %s", topic, rd_kafka_err2str(rerr));
        return -1;
    }
    return 0;
}

int embedded_account(struct embedded *e, const char *topic, int32_t partition,
                     size_t bytes)
{
    struct epart *p;
    for (p = e->parts; p; p = p->next)
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            break;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))) || !(p->topic = strdup(topic))) {
            free(p);
            return 0;
        }
        p->partition = partition;
        p->next = e->parts;
        e->parts = p;
    }
    p->bytes += bytes;
    p->messages++;
    if (p->warned)
        return 0;
    if (p->bytes * 100 < (uint64_t)EMBEDDED_PARTITION_BYTES * EMBEDDED_WARN_PERCENT &&
        p->messages * 100 < (uint64_t)EMBEDDED_PARTITION_MESSAGES * EMBEDDED_WARN_PERCENT)
        return 0;
    p->warned = 1;
    log_warn(MOD, "%s [%d] holds %llu bytes in %llu messages, %d%% of the embedded broker's "
             "limit (%d bytes or %d messages per partition); past it the oldest messages are "
             "silently dropped: use a real broker (kafka.brokers) for volume",
             topic, (int)partition, (unsigned long long)p->bytes,
             (unsigned long long)p->messages, EMBEDDED_WARN_PERCENT,
             EMBEDDED_PARTITION_BYTES, EMBEDDED_PARTITION_MESSAGES);
    return 1;
}

int embedded_create_pipeline_topics(struct embedded *e, const struct settings *s,
                                    char *err, size_t errlen)
{
    int np = (int)s->kafka.embedded_partitions;
    const struct output_settings *o = &s->output;
    static const char *const topic_names[] = {"war", "alliances", "diplomacy"};

    for (size_t i = 0; i < s->kafka.input_topics.n; i++)
        if (embedded_create_topic(e, s->kafka.input_topics.items[i], np, err, errlen) < 0)
            return -1;
    const char *outs[] = {o->enriched_topic, o->duplicates_topic, o->deadletter_topic};
    for (size_t i = 0; i < 3; i++)
        if (embedded_create_topic(e, outs[i], np, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < 3; i++) {
        char t[512];
        snprintf(t, sizeof(t), "%s%s", o->topic_prefix, topic_names[i]);
        if (embedded_create_topic(e, t, np, err, errlen) < 0)
            return -1;
    }
    return 0;
}
