/*
 * cmd_demo.c - `wirestream demo`: the whole Kafka pipeline on a laptop.
 *
 * Starts the embedded broker, produces the bundled sample stories (one
 * message per line of config/demo/stories.jsonl, byte for byte, all to
 * partition 0 so that their order - and so dedupe's view - is fixed), runs
 * the pipeline until every story is processed and committed, reads every
 * output topic back and prints what became of each story. No Kafka
 * installation is needed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "conf.h"
#include "commands.h"
#include "embedded.h"
#include "kconf.h"
#include "log.h"
#include "pipeline.h"
#include "record.h"
#include "statestore_kafka.h"

#define MOD "demo"
#define MAX_STORIES 1000

struct story {
    char *input;          /* the message as sent */
    size_t len;
    char *headline;       /* from the output, else from the input */
    char *id;
    char *status;         /* dedupe status */
    char *dup_of;
    double similarity;
    char entities[400];
    char topics[200];
    char outputs[300];
    char *reason;         /* dead letter */
    char *reason_msg;
};

struct demo {
    struct story *st;
    size_t n;
    const char *input_topic;
    uint64_t per_topic[8];
    const char *topic_names[8];
    size_t ntopics;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: wirestream demo [-c FILE] [-o section.key=value] [--stories FILE]\n"
            "                       [--timeout SECONDS] [-v]\n"
            "\n"
            "Starts the embedded Kafka broker, sends the sample stories (one message per\n"
            "line; default config/demo/stories.jsonl) to the input topic, runs the\n"
            "pipeline until all are processed, then reads the output topics back and\n"
            "prints what became of each story.\n");
}

static char *find_stories(const struct settings *s, const char *given)
{
    char exe[PATH_MAX];
    char *cands[4] = {0};
    size_t n = 0;

    if (given)
        return strdup(given);
    cands[n++] = conf_resolve_path(s->cf, "demo/stories.jsonl");
    cands[n++] = strdup("config/demo/stories.jsonl");
    ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (l > 0) {
        exe[l] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char buf[PATH_MAX + 32];
            snprintf(buf, sizeof(buf), "%s/config/demo/stories.jsonl", exe);
            cands[n++] = strdup(buf);
        }
    }
    char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!found && cands[i] && access(cands[i], R_OK) == 0)
            found = cands[i];
        else
            free(cands[i]);
    }
    return found;
}

static int load_stories(struct demo *d, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t r;

    if (!fp) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    d->st = calloc(MAX_STORIES, sizeof(*d->st));
    while (d->st && (r = getline(&line, &cap, fp)) >= 0 && d->n < MAX_STORIES) {
        size_t len = (size_t)r;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        struct story *st = &d->st[d->n++];
        st->input = ws_strndup(line, len);
        st->len = len;
        json_t *o = json_loadb(line, len, 0, NULL);
        const char *h = o ? json_string_value(json_object_get(o, "headline")) : NULL;
        if (h)
            st->headline = strdup(h);
        json_decref(o);
    }
    free(line);
    fclose(fp);
    if (!d->st || d->n == 0) {
        snprintf(err, errlen, "%s: no stories", path);
        return -1;
    }
    return 0;
}

static int produce_stories(const struct settings *s, const char *brokers, struct demo *d,
                           char *err, size_t errlen)
{
    char errstr[512];
    const char *const defaults[] = {"enable.idempotence", "true", "acks", "all", NULL};
    rd_kafka_conf_t *conf = kconf_new(s, brokers, "producer", defaults, err, errlen);
    if (!conf)
        return -1;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "demo producer: %s", errstr);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        rd_kafka_resp_err_t rerr = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(d->input_topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_VALUE(d->st[i].input, d->st[i].len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (rerr) {
            snprintf(err, errlen, "demo producer: %s", rd_kafka_err2str(rerr));
            rc = -1;
        }
    }
    if (rc == 0 && rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "demo producer: stories not acknowledged within 30 s");
        rc = -1;
    }
    rd_kafka_destroy(rk);
    return rc;
}

static const char *header(const rd_kafka_message_t *m, const char *name, char *buf, size_t sz)
{
    rd_kafka_headers_t *h = NULL;
    const void *val = NULL;
    size_t len = 0;
    if (rd_kafka_message_headers(m, &h) || !h ||
        rd_kafka_header_get_last(h, name, &val, &len) || !val)
        return NULL;
    snprintf(buf, sz, "%.*s", (int)len, (const char *)val);
    return buf;
}

static void append(char *dst, size_t sz, const char *s)
{
    size_t n = strlen(dst);
    if (n + strlen(s) + 3 < sz)
        snprintf(dst + n, sz - n, "%s%s", n ? ", " : "", s);
}

struct reader {
    struct demo *d;
    const char *topic;
    size_t topic_index;   /* in d->topic_names, or (size_t)-1 */
};

static void on_output(void *arg, const rd_kafka_message_t *m)
{
    struct reader *r = arg;
    struct demo *d = r->d;
    char buf[512];

    if (!header(m, PIPELINE_H_SRC_OFFSET, buf, sizeof(buf)))
        return;
    long long off = strtoll(buf, NULL, 10);
    if (off < 0 || (size_t)off >= d->n)
        return;
    struct story *st = &d->st[off];
    /* One output topic listed once even if a restart sent it twice. */
    if (!strstr(st->outputs, r->topic))
        append(st->outputs, sizeof(st->outputs), r->topic);
    if (r->topic_index != (size_t)-1)
        d->per_topic[r->topic_index]++;
    if (header(m, PIPELINE_H_REASON, buf, sizeof(buf))) {
        free(st->reason);
        st->reason = strdup(buf);
        if (header(m, PIPELINE_H_MESSAGE, buf, sizeof(buf))) {
            free(st->reason_msg);
            st->reason_msg = strdup(buf);
        }
        return;
    }
    if (st->status)
        return;               /* already described from another topic */
    json_t *o = json_loadb(m->payload, m->len, 0, NULL);
    if (!o)
        return;
    const char *h = json_string_value(json_object_get(o, "headline"));
    const char *id = json_string_value(json_object_get(o, "id"));
    if (h) {
        free(st->headline);
        st->headline = strdup(h);
    }
    if (id)
        st->id = strdup(id);
    json_t *dd = json_object_get(o, "dedupe");
    const char *status = json_string_value(json_object_get(dd, "status"));
    st->status = strdup(status ? status : "?");
    const char *of = json_string_value(json_object_get(dd, "duplicate_of"));
    if (of)
        st->dup_of = strdup(of);
    st->similarity = json_number_value(json_object_get(dd, "similarity"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "entities"), i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *type = json_string_value(json_object_get(v, "type"));
        if (name) {
            snprintf(buf, sizeof(buf), "%s (%s)", name, type ? type : "?");
            append(st->entities, sizeof(st->entities), buf);
        }
    }
    json_array_foreach(json_object_get(o, "topics"), i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name) {
            snprintf(buf, sizeof(buf), "%s %.2f", name,
                     json_number_value(json_object_get(v, "score")));
            append(st->topics, sizeof(st->topics), buf);
        }
    }
    json_decref(o);
}

static int all_done(void *arg, const struct pipeline *p)
{
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    return c.done >= *(size_t *)arg && c.in_flight == 0;
}

static void print_summary(const struct demo *d, const struct pipeline_counters *c,
                          const char *brokers)
{
    printf("\nwirestream demo: %zu stories through the embedded broker at %s\n\n", d->n,
           brokers);
    for (size_t i = 0; i < d->n; i++) {
        const struct story *st = &d->st[i];
        const char *h = st->headline ? st->headline : "(no headline)";
        int hl = (int)strlen(h);
        if (hl > 100) {               /* a text article's headline is its lead */
            hl = 100;
            while (hl > 60 && h[hl] != ' ')
                hl--;
        }
        printf("%2zu. %.*s%s\n", i + 1, hl, h, h[hl] ? " ..." : "");
        if (st->reason) {
            printf("    REJECTED: %s: %s\n", st->reason, st->reason_msg ? st->reason_msg : "");
        } else if (!st->status) {
            printf("    dropped by the processor chain: nothing is published, its offset "
                   "is committed\n");
        } else {
            if (st->id)
                printf("    id:         %s\n", st->id);
            if (st->dup_of)
                printf("    dedupe:     %s of %s (similarity %.2f)\n", st->status, st->dup_of,
                       st->similarity);
            else
                printf("    dedupe:     %s\n", st->status);
            printf("    entities:   %s\n", st->entities[0] ? st->entities : "-");
            printf("    topics:     %s\n", st->topics[0] ? st->topics : "-");
        }
        printf("    -> %s\n\n", st->outputs[0] ? st->outputs : "(no output topic)");
    }
    printf("totals: %" PRIu64 " consumed, %" PRIu64 " enriched, %" PRIu64 " duplicates, %" PRIu64
           " dropped, %" PRIu64 " dead letters; %" PRIu64 " messages produced and acknowledged"
           "; offsets committed\n", c->consumed, c->enriched, c->duplicates, c->dropped,
           c->deadletter, c->delivered);
    printf("per topic:");
    for (size_t i = 0; i < d->ntopics; i++)
        printf(" %s=%" PRIu64, d->topic_names[i], d->per_topic[i]);
    printf("\n");
}

/* --timeout: a bare number is seconds, as the usage says; "90s", "2m" and
 * the other configuration durations work too. */
static int parse_timeout(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && !*end && !errno) {
        if (!(v > 0 && v <= 7 * 86400.0))
            return -1;
        *ms = (int64_t)(v * 1000.0);
        return *ms > 0 ? 0 : -1;
    }
    return conf_parse_duration(s, ms) == 0 && *ms > 0 ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
    struct cli cli;
    struct demo d;
    struct embedded *emb = NULL;
    struct pipeline *p = NULL;
    const char *given = NULL, *timeout = NULL;
    char *path = NULL;
    char err[1024];
    char topic_bufs[3][256];
    int64_t timeout_ms = 60000;        /* 60 s */
    int rc = EXIT_RUNTIME;

    memset(&d, 0, sizeof(d));
    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    const struct cli_opt opts[] = {
        {"--stories", NULL, CLI_STRING, &given},
        {"--timeout", NULL, CLI_STRING, &timeout},
        {0},
    };
    const struct cli_cmd cmd = {"demo", usage, 0, opts};
    int parsed = cli_parse_opts(&cli, &cmd, NULL, NULL);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    if (timeout && parse_timeout(timeout, &timeout_ms) < 0) {
        fprintf(stderr, "wirestream demo: --timeout: expected a number of seconds "
                        "or a duration (90, 2m), more than 0\n");
        rc = EXIT_USAGE;
        goto out;
    }
    const struct settings *s = cli.settings;
    /* A readable demo: the summary on stdout, only problems on stderr
     * (unless -v asked for everything). */
    if (!log_enabled(LOG_DEBUG))
        log_setup(LOG_WARN, strcmp(s->log.format, "json") == 0);
    if (!(path = find_stories(s, given))) {
        fprintf(stderr, "wirestream demo: no sample stories found (config/demo/stories.jsonl); "
                "give --stories FILE\n");
        rc = EXIT_USAGE;
        goto out;
    }
    d.input_topic = s->kafka.input_topics.items[0];
    if (load_stories(&d, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream demo: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (!(emb = embedded_new(0, err, sizeof(err))) ||
        embedded_create_pipeline_topics(emb, s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream demo: %s\n", err);
        goto out;
    }
    const char *brokers = embedded_bootstraps(emb);
    printf("embedded broker: %s; sending %zu stories from %s to %s\n", brokers, d.n, path,
           d.input_topic);
    fflush(stdout);
    if (produce_stories(s, brokers, &d, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream demo: %s\n", err);
        goto out;
    }
    struct pipeline_opts o = {
        .brokers = brokers,
        .group_id = "wirestream-demo",
        .embedded = emb,
        .quiet = 1,
        .handle_signals = 1,
    };
    if (!(p = pipeline_new(s, &o, err, sizeof(err)))) {
        fprintf(stderr, "wirestream demo: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (settings_check_unused(s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (pipeline_start(p, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream demo: %s\n", err);
        goto out;
    }
    int r = pipeline_run_until(p, all_done, &d.n, timeout_ms);
    int stopped = pipeline_stop(p);
    struct pipeline_counters c;
    pipeline_counters(p, &c);
    if (r != 1) {
        fprintf(stderr, "wirestream demo: %s after %" PRIu64 " of %zu stories\n",
                r < 0 ? "pipeline failed" : "stopped or timed out", c.done, d.n);
        goto out;
    }
    if (stopped < 0)
        fprintf(stderr, "wirestream demo: warning: the final commit did not complete\n");

    /* Read every output topic back, as any consumer would. */
    const struct output_settings *os = &s->output;
    static const char *const names[] = {"war", "alliances", "diplomacy"};
    const char *topics[8] = {os->enriched_topic, os->duplicates_topic, os->deadletter_topic};
    size_t nt = 3;
    for (size_t i = 0; i < 3; i++) {
        snprintf(topic_bufs[i], sizeof(topic_bufs[i]), "%s%s", os->topic_prefix, names[i]);
        topics[nt++] = topic_bufs[i];
    }
    for (size_t i = 0; i < nt; i++) {
        d.topic_names[d.ntopics++] = topics[i];
        struct reader rd = {&d, topics[i], i};
        if (statestore_kafka_read(s, brokers, topics[i], on_output, &rd, 30000, err,
                                  sizeof(err)) < 0) {
            fprintf(stderr, "wirestream demo: %s\n", err);
            goto out;
        }
    }
    print_summary(&d, &c, brokers);
    rc = 0;
out:
    pipeline_free(p);
    embedded_free(emb);
    for (size_t i = 0; d.st && i < d.n; i++) {
        struct story *st = &d.st[i];
        free(st->input);
        free(st->headline);
        free(st->id);
        free(st->status);
        free(st->dup_of);
        free(st->reason);
        free(st->reason_msg);
    }
    free(d.st);
    free(path);
    cli_free(&cli);
    return rc;
}
