/*
 * cmd_export.c - `wirestream export --topic T --from T1 [--to T2]`:
 * a topic's time range as JSON Lines.
 *
 * Reads every partition from the first offset at T1 to the first at T2
 * (or the end at start time) without joining a consumer group or
 * committing anything, and stops by itself. Values that are one-line JSON
 * documents (enriched records) are written as they are; anything else,
 * or everything with --envelope, is wrapped with its Kafka coordinates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "commands.h"
#include "decode.h"
#include "kconf.h"
#include "log.h"
#include "range.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: wirestream export [-c FILE] [-b BROKERS] --topic TOPIC [--from TIME]\n"
            "                         [--to TIME] [--output FILE] [--envelope]\n"
            "\nTIME: ISO 8601 (2023-06-02, 2023-06-02T10:00:00Z), Unix ms, now, now-24h.\n"
            "--from defaults to the beginning, --to to the end at start time.\n");
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int is_json_line(const rd_kafka_message_t *m)
{
    const char *v = m->payload;
    if (!v || m->len == 0 || v[0] != '{' || memchr(v, '\n', m->len))
        return 0;
    json_t *j = json_loadb(v, m->len, 0, NULL);
    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

static int write_message(FILE *out, const rd_kafka_message_t *m, int envelope)
{
    if (!envelope && is_json_line(m))
        return fwrite(m->payload, 1, m->len, out) == m->len && fputc('\n', out) != EOF ? 0 : -1;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    json_t *o = json_pack("{s:s,s:i,s:I,s:I}", "topic", rd_kafka_topic_name(m->rkt),
                          "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                          "timestamp", (json_int_t)ts);
    json_object_set_new(o, "key", m->key ? json_stringn_nocheck(m->key, m->key_len)
                                         : json_null());
    json_t *val = m->payload ? json_stringn(m->payload, m->len) : json_null();
    if (!val)        /* not UTF-8: keep the bytes recoverable */
        val = json_pack("{s:s}", "error", "value is not valid UTF-8");
    json_object_set_new(o, "value", val);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    int rc = s && fputs(s, out) != EOF && fputc('\n', out) != EOF ? 0 : -1;
    free(s);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    struct cli cli;
    struct range_plan plan = {0};
    const char *topic = NULL, *from = NULL, *to = NULL, *output = NULL;
    int envelope = 0, rc = EXIT_USAGE;
    rd_kafka_t *rk = NULL;
    FILE *out = stdout;
    char err[512];

    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    const struct settings *s = cli.settings;
    const struct cli_opt opts[] = {
        {"--topic", "-t", CLI_STRING, &topic},
        {"--from", NULL, CLI_STRING, &from},
        {"--to", NULL, CLI_STRING, &to},
        {"--output", NULL, CLI_STRING, &output},
        {"--envelope", NULL, CLI_FLAG, &envelope},
        {0},
    };
    const struct cli_cmd cmd = {"export", usage, 0, opts};
    int parsed = cli_parse_opts(&cli, &cmd, NULL, NULL);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    if (!topic) {
        usage(stderr);
        goto out;
    }
    int64_t now = now_ms(), from_ms = 0, to_ms = RANGE_OPEN;
    if (from && decode_time_arg(from, now, &from_ms) < 0) {
        fprintf(stderr, "wirestream export: --from: cannot read time '%s'\n", from);
        goto out;
    }
    if (to && decode_time_arg(to, now, &to_ms) < 0) {
        fprintf(stderr, "wirestream export: --to: cannot read time '%s'\n", to);
        goto out;
    }
    if (strcmp(s->kafka.brokers, "embedded") == 0) {
        fprintf(stderr, "wirestream export: needs a broker: -b HOST:PORT\n");
        goto out;
    }
    /* A group id is required by the consumer API; nothing is committed. */
    char group[64];
    snprintf(group, sizeof(group), "wirestream-export-%d", (int)getpid());
    static const char *const defaults[] = {"enable.auto.commit", "false",
                                           "enable.auto.offset.store", "false",
                                           "enable.partition.eof", "true", NULL};
    rd_kafka_conf_t *conf = kconf_new(s, s->kafka.brokers, "consumer", defaults, err,
                                      sizeof(err));
    if (!conf || kconf_set(conf, "group.id", group, err, sizeof(err)) < 0) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        fprintf(stderr, "wirestream export: %s\n", err);
        goto out;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "wirestream export: %s\n", err);
        goto out;
    }
    rc = EXIT_RUNTIME;
    char *topics[1] = {(char *)topic};
    if (range_plan(rk, topics, 1, from_ms, to_ms, 10000, &plan, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream export: %s\n", err);
        goto out;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "wirestream export: %s: %s\n", output, strerror(errno));
        goto out;
    }
    rd_kafka_topic_partition_list_t *assign = range_assignment(&plan);
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, assign);
    rd_kafka_topic_partition_list_destroy(assign);
    if (aerr) {
        fprintf(stderr, "wirestream export: assign: %s\n", rd_kafka_err2str(aerr));
        goto out;
    }
    uint64_t written = 0;
    int io = 0;
    int64_t idle_since = now_ms();
    while (!range_all_done(&plan) && !io) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            /* The plan's offsets exist; a long silence means the broker is gone. */
            if (now_ms() - idle_since > 30000) {
                log_error("export", "no progress for 30 s; %lld of %lld messages read",
                          (long long)range_read(&plan), (long long)range_total(&plan));
                io = -1;
            }
            continue;
        }
        idle_since = now_ms();
        struct range_part *rp = m->rkt ? range_find(&plan, rd_kafka_topic_name(m->rkt),
                                                    m->partition) : NULL;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (rp)
                rp->done = 1;
        } else if (m->err) {
            log_warn("export", "%s", rd_kafka_message_errstr(m));
            if (rd_kafka_fatal_error(rk, NULL, 0))
                io = -1;
        } else if (rp && !rp->done && range_advance(rp, m->offset)) {
            int64_t ts = rd_kafka_message_timestamp(m, NULL);
            if (range_contains_ts(&plan, ts)) {
                if (write_message(out, m, envelope) < 0) {
                    log_error("export", "write: %s", strerror(errno));
                    io = -1;
                }
                written++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (fflush(out) != 0)
        io = -1;
    log_info("export", "%llu messages written from %s", (unsigned long long)written, topic);
    rc = io ? EXIT_RUNTIME : 0;
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (out && out != stdout)
        fclose(out);
    range_plan_free(&plan);
    cli_free(&cli);
    return rc;
}
