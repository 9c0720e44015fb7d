/*
 * passthrough.c - the Kafka baseline for `wirestream run`: consume the input
 * topic, produce every message unchanged (key and value) to one output
 * topic, commit, stop after --count messages are delivered.
 *
 * It builds its clients exactly as wirestream does: the same configuration
 * file and -o/-X/-b options (cli_common), the same defaults (consumer.c:
 * manual commits, earliest, cooperative-sticky; producer.c: idempotence,
 * acks=all, linger.ms 5, the same queue size) applied through kconf_new(),
 * so [librdkafka] sections apply identically. What it leaves out is the
 * work wirestream does per message: decode, the chain, encode, headers,
 * per-topic routing, offset tracking, the event loop. The loop is the
 * plainest one librdkafka allows: poll the consumer, produce with a copy,
 * serve delivery reports, commit asynchronously every commit_interval.
 * It stops taking messages while kafka.max_in_flight are unacknowledged.
 * When neither queue has anything it sleeps in poll(2) on a pipe both
 * queues write to when they become non-empty (as wirestream's loop does):
 * a spinning loop would take a core from the broker and the other
 * clients on a small machine, and the latency measured through it
 * (bench/latency.c rate) would no longer be a lower bound.
 *
 * Committed offsets are the highest delivered per input partition: enough
 * for a benchmark (one output partition keeps deliveries in order), not
 * a general at-least-once scheme.
 *
 *   build/bench/passthrough [-c CONF] [-b BROKERS] [-X prop=v] [-o s.k=v]
 *       --input TOPIC --output TOPIC --count N [--group ID] [--timeout S]
 *
 * Prints "RESULT passthrough <messages> <bytes> <seconds>": seconds from the
 * first message consumed to the last delivery acknowledged; then
 * "RESULT cpu <main> <all>": CPU seconds of the main thread and of the
 * whole process (librdkafka's threads included), start-up to flush.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

#include "core/commands.h"
#include "core/kconf.h"

#define MAX_PARTS 256

struct pt {
    uint64_t produced, delivered, failed, bytes;
    int64_t next_offset[MAX_PARTS];  /* highest delivered + 1, per input partition */
    int dirty;
    double t_first, t_last;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The input offset rides in the message opaque: (partition << 48) | offset. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct pt *pt = opaque;
    uint64_t o = (uint64_t)(uintptr_t)m->_private;
    int32_t part = (int32_t)(o >> 48);
    int64_t off = (int64_t)(o & 0xffffffffffffULL);
    if (m->err) {
        pt->failed++;
        fprintf(stderr, "passthrough: delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    pt->delivered++;
    pt->bytes += m->len;
    pt->t_last = now_s();
    if (part >= 0 && part < MAX_PARTS && off + 1 > pt->next_offset[part]) {
        pt->next_offset[part] = off + 1;
        pt->dirty = 1;
    }
}

static void commit(rd_kafka_t *c, struct pt *pt, const char *topic, int async)
{
    if (!pt->dirty)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (int i = 0; i < MAX_PARTS; i++)
        if (pt->next_offset[i] > 0)
            rd_kafka_topic_partition_list_add(l, topic, i)->offset = pt->next_offset[i];
    rd_kafka_commit(c, l, async);
    rd_kafka_topic_partition_list_destroy(l);
    pt->dirty = 0;
}

static double cpu_seconds(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct pt pt;
    char err[512];
    const char *in = NULL, *out = NULL, *group = "wirestream-passthrough";
    uint64_t count = 0;
    double timeout = 600;

    memset(&pt, 0, sizeof(pt));
    if (cli_common(argc, argv, &cli) < 0)
        return 2;
    for (int i = 1; i + 1 < cli.nrest; i += 2) {
        const char *a = cli.rest[i], *v = cli.rest[i + 1];
        if (!strcmp(a, "--input"))
            in = v;
        else if (!strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--count"))
            count = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--group"))
            group = v;
        else if (!strcmp(a, "--timeout"))
            timeout = strtod(v, NULL);
        else {
            fprintf(stderr, "passthrough: unknown option %s\n", a);
            return 2;
        }
    }
    const struct settings *s = cli.settings;
    if (!in || !out || !count || !strcmp(s->kafka.brokers, "embedded")) {
        fprintf(stderr, "usage: passthrough -b BROKERS --input TOPIC --output TOPIC "
                        "--count N [--group ID] [--timeout S]\n");
        return 2;
    }

    /* The same defaults as consumer/consumer.c and producer/producer.c. */
    char qmax[32];
    int64_t q = s->kafka.max_in_flight * 8;
    snprintf(qmax, sizeof(qmax), "%lld", (long long)(q < 100000 ? 100000 : q));
    const char *const cdefaults[] = {
        "group.id", group,
        "enable.auto.commit", "false",
        "auto.offset.reset", "earliest",
        "partition.assignment.strategy", "cooperative-sticky",
        "enable.partition.eof", "false",
        NULL,
    };
    const char *const pdefaults[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "linger.ms", "5",
        "queue.buffering.max.messages", qmax,
        NULL,
    };
    rd_kafka_conf_t *cc = kconf_new(s, s->kafka.brokers, "consumer", cdefaults, err, sizeof(err));
    rd_kafka_conf_t *pc = kconf_new(s, s->kafka.brokers, "producer", pdefaults, err, sizeof(err));
    if (!cc || !pc) {
        fprintf(stderr, "passthrough: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_conf_set_opaque(pc, &pt);
    rd_kafka_t *crk = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
    rd_kafka_t *prk = crk ? rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err)) : NULL;
    if (!crk || !prk) {
        fprintf(stderr, "passthrough: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(crk);
    /* Both queues wake the loop through one pipe (empty -> non-empty). */
    int wake[2];
    if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        perror("passthrough: pipe");
        return 1;
    }
    rd_kafka_queue_t *cq = rd_kafka_queue_get_consumer(crk), *pq = rd_kafka_queue_get_main(prk);
    rd_kafka_queue_io_event_enable(cq, wake[1], "c", 1);
    rd_kafka_queue_io_event_enable(pq, wake[1], "p", 1);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(crk, sub);
    rd_kafka_topic_partition_list_destroy(sub);

    double start = now_s(), last_commit = start;
    uint64_t max_in_flight = (uint64_t)s->kafka.max_in_flight;
    int rc = 0;
    while (pt.delivered + pt.failed < count) {
        if (now_s() - start > timeout) {
            fprintf(stderr, "passthrough: timed out after %.0f s (%llu of %llu delivered)\n",
                    timeout, (unsigned long long)pt.delivered, (unsigned long long)count);
            rc = 1;
            break;
        }
        char buf[64];
        while (read(wake[0], buf, sizeof(buf)) > 0)
            ;
        int budget = 1000, progress = 0;
        while (budget-- > 0 && pt.produced < count && pt.produced - pt.delivered < max_in_flight) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(crk, 0);
            if (!m)
                break;
            progress++;
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    fprintf(stderr, "passthrough: consume: %s\n", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            if (!pt.produced)
                pt.t_first = now_s();
            uintptr_t o = ((uintptr_t)m->partition << 48) | (uintptr_t)m->offset;
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(prk, RD_KAFKA_V_TOPIC(out),
                                          RD_KAFKA_V_KEY(m->key, m->key_len),
                                          RD_KAFKA_V_VALUE(m->payload, m->len),
                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                          // NOLINTNEXTLINE(performance-no-int-to-ptr): a position, never dereferenced
                                          RD_KAFKA_V_OPAQUE((void *)o), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(prk, 10);
            if (e) {
                fprintf(stderr, "passthrough: produce: %s\n", rd_kafka_err2str(e));
                rc = 1;
            }
            pt.produced++;
            rd_kafka_message_destroy(m);
        }
        progress += rd_kafka_poll(prk, 0);
        if (now_s() - last_commit >= (double)s->kafka.commit_interval / 1000.0) {
            commit(crk, &pt, in, 1);
            last_commit = now_s();
        }
        /* Nothing to do: sleep until a queue becomes non-empty (100 ms at
         * most: commits, and a message left behind by the budget or by
         * max_in_flight is picked up then or at the next wake-up). */
        if (!progress) {
            struct pollfd pfd = {wake[0], POLLIN, 0};
            poll(&pfd, 1, 100);
        }
    }
    rd_kafka_queue_io_event_enable(cq, -1, NULL, 0);
    rd_kafka_queue_io_event_enable(pq, -1, NULL, 0);
    rd_kafka_queue_destroy(cq);
    rd_kafka_queue_destroy(pq);
    close(wake[0]);
    close(wake[1]);
    rd_kafka_flush(prk, 30000);
    commit(crk, &pt, in, 0);
    double secs = pt.t_last - pt.t_first;
    printf("RESULT passthrough %llu %llu %.6f\n", (unsigned long long)pt.delivered,
           (unsigned long long)pt.bytes, secs);
    printf("RESULT cpu %.3f %.3f\n", cpu_seconds(RUSAGE_THREAD), cpu_seconds(RUSAGE_SELF));
    printf("passthrough: %llu messages (%.1f MB) in %.2f s: %.0f messages/s, %.1f MB/s\n",
           (unsigned long long)pt.delivered, (double)pt.bytes / 1e6, secs,
           secs > 0 ? (double)pt.delivered / secs : 0.0,
           secs > 0 ? (double)pt.bytes / 1e6 / secs : 0.0);
    rd_kafka_consumer_close(crk);
    rd_kafka_destroy(crk);
    rd_kafka_destroy(prk);
    cli_free(&cli);
    return rc || pt.failed ? 1 : 0;
}
