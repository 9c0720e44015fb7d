/*
 * cmd_ingest.c - `wirestream ingest FILE.jsonl`: load an archive into Kafka.
 *
 * Each line is produced, byte for byte, to the input topic with the
 * message timestamp taken from the article's date (so `replay --from`
 * finds it by event time) and the article id as key. Lines that do not
 * decode are reported on stderr and not produced; the exit status says so.
 * Every message is acknowledged before the command exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "commands.h"
#include "decode.h"
#include "kconf.h"
#include "log.h"

struct ingest {
    uint64_t produced, delivered, failed;
    char first_error[256];
    int auth_failed;
    char auth_error[512];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct ingest *in = opaque;
    if (m->err) {
        if (!in->failed++)
            snprintf(in->first_error, sizeof(in->first_error), "%s", rd_kafka_err2str(m->err));
    } else {
        in->delivered++;
    }
}

/* librdkafka retries a refused login until message.timeout.ms (5 min by
 * default); a one-shot command should stop at the first one and say so. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct ingest *in = opaque;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION && !in->auth_failed) {
        in->auth_failed = 1;
        snprintf(in->auth_error, sizeof(in->auth_error), "%s", reason);
    }
    log_warn("ingest", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: wirestream ingest [-c FILE] [-b BROKERS] [--topic TOPIC] FILE.jsonl...\n"
                "\nProduces each line to the input topic (default: the first of [kafka]\n"
                "input_topics), timestamped with the article's date, keyed by its id.\n");
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Produces one line; waits (serving delivery reports) while the local
 * queue is full instead of dropping. 0, or -1 on a fatal error. */
static int produce_line(rd_kafka_t *rk, const char *topic, const char *line, size_t len,
                        const struct record *rec, struct ingest *in)
{
    int64_t ts = rec->date_ms != RECORD_DATE_UNKNOWN ? rec->date_ms : now_ms();
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)line, len),
            RD_KAFKA_V_KEY(rec->id, rec->id ? strlen(rec->id) : 0),
            RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!err) {
            in->produced++;
            return 0;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_error("ingest", "produce to %s: %s", topic, rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(rk, 100);
        if (in->auth_failed)
            return -1;
    }
}

int cmd_ingest(int argc, char **argv)
{
    struct cli cli;
    struct ingest in = {0};
    const char *topic = NULL;
    rd_kafka_t *rk = NULL;
    char err[512];
    int rc = EXIT_USAGE, io = 0;
    size_t nfiles = 0;
    uint64_t rejected = 0;

    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    const struct settings *s = cli.settings;
    const char **files = calloc((size_t)cli.nrest, sizeof(*files));
    if (!files)
        goto out;
    const struct cli_opt opts[] = {
        {"--topic", "-t", CLI_STRING, &topic},
        {0},
    };
    const struct cli_cmd cmd = {"ingest", usage, CLI_POSITIONAL, opts};
    int parsed = cli_parse_opts(&cli, &cmd, files, &nfiles);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    if (!nfiles) {
        usage(stderr);
        goto out;
    }
    if (strcmp(s->kafka.brokers, "embedded") == 0) {
        fprintf(stderr, "wirestream ingest: needs a broker: -b HOST:PORT (the embedded broker "
                        "lives inside `wirestream run`; use the address it prints)\n");
        goto out;
    }
    if (!topic)
        topic = s->kafka.input_topics.items[0];

    static const char *const defaults[] = {"enable.idempotence", "true", "acks", "all",
                                           "linger.ms", "20", NULL};
    rd_kafka_conf_t *conf = kconf_new(s, s->kafka.brokers, "producer", defaults, err,
                                      sizeof(err));
    if (!conf) {
        fprintf(stderr, "wirestream ingest: %s\n", err);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, &in);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "wirestream ingest: %s\n", err);
        goto out;
    }
    rc = EXIT_RUNTIME;

    struct decode_opts dopts = {
        .format = INPUT_AUTO,
        .max_body_size = (size_t)s->input.max_body_size,
        .max_message_size = (size_t)s->input.max_message_size,
    };
    for (size_t f = 0; f < nfiles && !io; f++) {
        FILE *fp = strcmp(files[f], "-") == 0 ? stdin : fopen(files[f], "rb");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        uint64_t lineno = 0;
        if (!fp) {
            log_error("ingest", "%s: %s", files[f], strerror(errno));
            io = -1;
            break;
        }
        while (!io && (n = getline(&line, &cap, fp)) >= 0) {
            size_t len = (size_t)n;
            lineno++;
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            if (len == 0)
                continue;
            struct decode_error derr;
            struct record *rec = decode_article(line, len, &dopts, &derr);
            if (!rec) {
                rejected++;
                json_t *o = json_pack("{s:s,s:I,s:s,s:s}", "file", files[f], "line",
                                      (json_int_t)lineno, "reason", derr.code, "message",
                                      derr.msg);
                char *js = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                fprintf(stderr, "%s\n", js ? js : derr.code);
                free(js);
                json_decref(o);
                continue;
            }
            io = produce_line(rk, topic, line, len, rec, &in);
            record_free(rec);
            rd_kafka_poll(rk, 0);
            if (in.auth_failed)
                io = -1;
        }
        free(line);
        if (fp != stdin)
            fclose(fp);
    }
    /* Flush in slices so that a refused login ends the wait. */
    rd_kafka_resp_err_t ferr = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int64_t until = now_ms() + 60000; !in.auth_failed;) {
        if ((ferr = rd_kafka_flush(rk, 200)) != RD_KAFKA_RESP_ERR__TIMED_OUT || now_ms() > until)
            break;
    }
    if (in.auth_failed) {
        fprintf(stderr, "wirestream ingest: authentication failed: %s\n", in.auth_error);
        ferr = RD_KAFKA_RESP_ERR__AUTHENTICATION;
    }
    if (ferr)
        log_error("ingest", "flush: %s (%llu of %llu acknowledged)", rd_kafka_err2str(ferr),
                  (unsigned long long)in.delivered, (unsigned long long)in.produced);
    if (in.failed)
        log_error("ingest", "%llu messages failed: %s", (unsigned long long)in.failed,
                  in.first_error);
    log_info("ingest", "%llu produced to %s, %llu acknowledged, %llu rejected",
             (unsigned long long)in.produced, topic, (unsigned long long)in.delivered,
             (unsigned long long)rejected);
    if (io == 0 && !ferr && !in.failed && in.delivered == in.produced)
        rc = rejected ? EXIT_REJECTED : 0;
out:
    if (rk)
        rd_kafka_destroy(rk);
    free(files);
    cli_free(&cli);
    return rc;
}
