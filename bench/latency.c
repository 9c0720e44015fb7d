/*
 * latency.c - the Kafka side of the benchmarks: create topics, load a
 * corpus into a topic, count what a pipeline produced, and measure
 * end-to-end latency at a fixed offered rate.
 *
 *   latency create -b BROKERS [-p PARTS] [-c key=value]... TOPIC...
 *       (-c message.timestamp.type=LogAppendTime makes the broker stamp arrival)
 *   latency load   -b BROKERS -t TOPIC [-n N] FILE
 *       produce N lines of FILE (all by default) as fast as the broker takes them
 *   latency drain  -b BROKERS -n N [--idle S] [-X prop=value]... TOPIC...
 *       read the topics from the start until N messages (or S seconds with
 *       nothing new); prints "RESULT drain <messages> <bytes> <seconds>
 *       <mid_messages> <mid_seconds>": the span of the message timestamps,
 *       over all messages and over the middle 80% (10th to 90th percentile
 *       of the timestamps: start-up and the last stragglers left out). With
 *       LogAppendTime topics that is when the broker stored them.
 *   latency rate   -b BROKERS -t TOPIC -r RATE -s SECONDS [--warmup S] [--drain S] [--dump FILE]
 *                  [-X prop=value]... FILE TOPIC...
 *       offer RATE articles/s to TOPIC for SECONDS (ids rewritten to
 *       "lat-<run>-<seq>" so every article is distinct), read the output
 *       TOPICs at the same time and time each article from its send to its
 *       arrival (CLOCK_REALTIME, one machine); prints percentiles and
 *       "RESULT latency <rate> <n> <p50_ms> <p99_ms> <p999_ms> <max_ms> <arrived>
 *       <sent>"; it waits --drain seconds (30) after the last send for
 *       stragglers. FILE should have at least RATE * (SECONDS + warm-up)
 *       lines: it is reused from the start otherwise, and repeats are exact
 *       duplicates that wirestream drops. Before the clock starts, probe
 *       articles (ids "probe-...", from the end of FILE: keep a few dozen
 *       spare lines) are sent until one comes out, so the pipeline's
 *       start-up is not measured. --dump FILE writes one line per arrival,
 *       "<seq> <sent_us> <latency_us>", to see when the slow ones happened.
 *
 * The input message timestamp is the send time (librdkafka CreateTime);
 * latency is measured in microseconds from that same instant, taken just
 * before produce(). Producer and reader use latency settings (linger.ms=0,
 * fetch.wait.max.ms=5, socket.nagle.disable=true) so that they add as
 * little as they can; -X prop=value (repeatable) sets a librdkafka
 * property on both of them, after those (drain and rate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "latency: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    exit(1);
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Extra librdkafka properties from -X, "prop=value", applied last. */
struct xprops {
    char **kv;
    int n;
};

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers, const char *const *props,
                          const struct xprops *x)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("%s", err);
    for (size_t i = 0; props && props[i]; i += 2)
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
            die("%s", err);
    for (int i = 0; x && i < x->n; i++) {
        char kv[512];
        snprintf(kv, sizeof(kv), "%s", x->kv[i]);
        char *eq = strchr(kv, '=');
        if (!eq)
            die("-X %s: expected prop=value", x->kv[i]);
        *eq = '\0';
        if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof(err)) != RD_KAFKA_CONF_OK)
            die("%s", err);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        die("%s", err);
    return rk;
}

/* ---- create ------------------------------------------------------------------- */

static int cmd_create(const char *brokers, int parts, char **cfg, int ncfg, char **topics,
                      int ntopics)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers, NULL, NULL);
    rd_kafka_NewTopic_t **nt = calloc((size_t)ntopics, sizeof(*nt));
    char err[256];
    for (int i = 0; i < ntopics; i++)
    {
        nt[i] = rd_kafka_NewTopic_new(topics[i], parts, 1, err, sizeof(err));
        for (int k = 0; k < ncfg; k++) {
            char kv[256];
            snprintf(kv, sizeof(kv), "%s", cfg[k]);
            char *eq = strchr(kv, '=');
            if (!eq)
                die("-c %s: expected key=value", cfg[k]);
            *eq = '\0';
            rd_kafka_NewTopic_set_config(nt[i], kv, eq + 1);
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)ntopics, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = 0;
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "latency: create: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = 1;
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                fprintf(stderr, "latency: create %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)ntopics);
    free(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- corpus lines ------------------------------------------------------------- */

struct corpus {
    char *data;
    size_t *off, *len;
    size_t n;
};

static void corpus_load(const char *path, size_t max, struct corpus *c)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        die("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0, used = 0, dcap = 1 << 20, ncap = 1024;
    ssize_t n;
    c->data = malloc(dcap);
    c->off = malloc(ncap * sizeof(size_t));
    c->len = malloc(ncap * sizeof(size_t));
    c->n = 0;
    while ((max == 0 || c->n < max) && (n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        if (n == 0)
            continue;
        while (used + (size_t)n > dcap)
            c->data = realloc(c->data, dcap *= 2);
        if (c->n == ncap) {
            c->off = realloc(c->off, (ncap *= 2) * sizeof(size_t));
            c->len = realloc(c->len, ncap * sizeof(size_t));
        }
        memcpy(c->data + used, line, (size_t)n);
        c->off[c->n] = used;
        c->len[c->n++] = (size_t)n;
        used += (size_t)n;
    }
    free(line);
    fclose(fp);
    if (!c->n)
        die("no lines in %s", path);
}

/* ---- load --------------------------------------------------------------------- */

static void load_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    uint64_t *failed = opaque;
    if (m->err)
        (*failed)++;
}

static int cmd_load(const char *brokers, const char *topic, size_t max, const char *path)
{
    struct corpus c;
    uint64_t failed = 0;
    corpus_load(path, max, &c);
    static const char *const props[] = {"linger.ms", "20", "batch.size", "1000000",
                                        "queue.buffering.max.messages", "1000000",
                                        "compression.type", "lz4", "acks", "all", NULL};
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    for (size_t i = 0; props[i]; i += 2)
        rd_kafka_conf_set(conf, props[i], props[i + 1], err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, load_dr);
    rd_kafka_conf_set_opaque(conf, &failed);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        die("%s", err);
    double t0 = mono_s();
    for (size_t i = 0; i < c.n; i++) {
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_VALUE(c.data + c.off[i], c.len[i]),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    printf("latency: loaded %zu articles into %s in %.1f s (%llu failed)\n", c.n, topic,
           mono_s() - t0, (unsigned long long)failed);
    rd_kafka_destroy(rk);
    return failed ? 1 : 0;
}

/* ---- readers ------------------------------------------------------------------ */

/* A plain consumer assigned every partition of the topics from the start. */
static rd_kafka_t *reader(const char *brokers, char **topics, int ntopics, int from_start,
                          const struct xprops *x)
{
    char group[64];
    snprintf(group, sizeof(group), "latency-reader-%d", (int)getpid());
    const char *const props[] = {"group.id", group, "enable.auto.commit", "false",
                                 "fetch.wait.max.ms", "5", "fetch.min.bytes", "1",
                                 "socket.nagle.disable", "true",
                                 "enable.partition.eof", "false", NULL};
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers, props, x);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < ntopics; i++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[i], NULL);
        double deadline = mono_s() + 30;
        while (mono_s() < deadline) {
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0)
                break;
            if (md)
                rd_kafka_metadata_destroy(md);
            md = NULL;
            usleep(200000);
        }
        if (!md)
            die("topic %s does not exist", topics[i]);
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(l, topics[i], p)->offset =
                from_start ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_drain(const char *brokers, uint64_t want, double idle, char **topics, int ntopics,
                     const struct xprops *x)
{
    rd_kafka_t *rk = reader(brokers, topics, ntopics, 1, x);
    uint64_t n = 0, bytes = 0;
    int64_t ts_first = INT64_MAX, ts_last = INT64_MIN;
    int64_t *ts_all = calloc(want, sizeof(int64_t));
    double last_seen = mono_s();
    while (n < want && mono_s() - last_seen < idle) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            int64_t ts = rd_kafka_message_timestamp(m, NULL);
            ts_first = ts < ts_first ? ts : ts_first;
            ts_last = ts > ts_last ? ts : ts_last;
            ts_all[n++] = ts;
            bytes += m->len;
            last_seen = mono_s();
        }
        rd_kafka_message_destroy(m);
    }
    double secs = n > 1 ? (double)(ts_last - ts_first) / 1000.0 : 0.0;
    qsort(ts_all, n, sizeof(int64_t), cmp_i64);
    size_t lo = (size_t)(n / 10), hi = n ? (size_t)((n - 1) * 9 / 10) : 0;
    uint64_t mid_n = hi > lo ? hi - lo : 0;
    double mid_s = hi > lo ? (double)(ts_all[hi] - ts_all[lo]) / 1000.0 : 0.0;
    printf("RESULT drain %llu %llu %.3f %llu %.3f\n", (unsigned long long)n,
           (unsigned long long)bytes, secs, (unsigned long long)mid_n, mid_s);
    printf("latency: drained %llu messages (%.1f MB) stamped over %.3f s: %.0f messages/s; "
           "middle 80%%: %.0f messages/s\n",
           (unsigned long long)n, (double)bytes / 1e6, secs, secs > 0 ? (double)n / secs : 0.0,
           mid_s > 0 ? (double)mid_n / mid_s : 0.0);
    free(ts_all);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n < want;
}

/* ---- rate --------------------------------------------------------------------- */

/* "lat-<run>-<seq>" from the message's "id" field (the encoder writes
 * schema_version first, so search a little). Returns seq or -1. */
static long parse_seq(const char *p, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *end = p + (len < 512 ? len : 512);
    for (const char *q = p; q + pl < end; q++) {
        q = memchr(q, prefix[0], (size_t)(end - q));
        if (!q || q + pl >= end)
            break;
        if (memcmp(q, prefix, pl) == 0)
            return strtol(q + pl, NULL, 10);
    }
    return -1;
}

static int cmd_rate(const char *brokers, const char *topic, double rate, double seconds,
                    double warmup, double drain, const char *path, char **outs, int nouts,
                    const struct xprops *x, FILE *dump)
{
    struct corpus c;
    corpus_load(path, 0, &c);
    uint64_t total = (uint64_t)(rate * (seconds + warmup));
    uint64_t skip = (uint64_t)(rate * warmup);
    int64_t *sent = calloc(total, sizeof(int64_t));
    int64_t *lat = calloc(total, sizeof(int64_t));
    uint64_t nlat = 0, arrived = 0;
    char prefix[64], idbuf[128];
    snprintf(prefix, sizeof(prefix), "lat-%lld-", (long long)(real_us() / 1000000));

    static const char *const pprops[] = {"linger.ms", "0", "acks", "all",
                                         "enable.idempotence", "true",
                                         "socket.nagle.disable", "true", NULL};
    rd_kafka_t *prk = client(RD_KAFKA_PRODUCER, brokers, pprops, x);
    rd_kafka_t *crk = reader(brokers, outs, nouts, 0, x);
    /* Wait until the pipeline answers (group joined, state restored): one
     * probe article, taken from the end of FILE, every 200 ms until one comes
     * out, for at most 90 s. Otherwise its start-up backlog would be
     * measured as latency. */
    char probe_prefix[80];
    snprintf(probe_prefix, sizeof(probe_prefix), "probe-%s", prefix);
    int ready = 0;
    double p0 = mono_s(), last_probe = 0;
    for (long k = 0; !ready && mono_s() - p0 < 90;) {
        if (mono_s() - last_probe >= 0.2 && (size_t)k < c.n) {
            const char *line = c.data + c.off[c.n - 1 - (size_t)k];
            size_t len = c.len[c.n - 1 - (size_t)k];
            const char *q = len > 8 && !memcmp(line, "{\"id\":\"", 7) ? memchr(line + 7, '"', len - 7) : NULL;
            if (q) {
                int hl = snprintf(idbuf, sizeof(idbuf), "{\"id\":\"%s%ld\"", probe_prefix, k);
                size_t rl = len - (size_t)(q + 1 - line);
                char *pm = malloc((size_t)hl + rl);
                memcpy(pm, idbuf, (size_t)hl);
                memcpy(pm + hl, q + 1, rl);
                rd_kafka_producev(prk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(pm, (size_t)hl + rl),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
            }
            k++;
            last_probe = mono_s();
        }
        rd_kafka_poll(prk, 0);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(crk, 50);
        if (m) {
            if (!m->err && parse_seq(m->payload, m->len, probe_prefix) >= 0)
                ready = 1;
            rd_kafka_message_destroy(m);
        }
    }
    if (!ready)
        fprintf(stderr, "latency: no probe came out within 90 s; measuring anyway\n");
    /* Drain what the probes left behind. */
    for (double d0 = mono_s(); mono_s() - d0 < 1.0;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(crk, 50);
        if (m)
            rd_kafka_message_destroy(m);
    }

    double t0 = mono_s(), interval = 1.0 / rate;
    uint64_t next = 0;
    char *msg = malloc(1 << 20);
    while (arrived < total) {
        double now = mono_s();
        /* Every article whose time has come goes out now (no catching up
         * in bursts beyond that: offered load stays fixed). */
        while (next < total && t0 + (double)next * interval <= now) {
            size_t k = next % c.n;
            const char *line = c.data + c.off[k];
            size_t len = c.len[k];
            /* Replace the leading {"id":"..." with our own id. */
            const char *rest = line;
            if (len > 8 && memcmp(line, "{\"id\":\"", 7) == 0) {
                const char *q = memchr(line + 7, '"', len - 7);
                if (q)
                    rest = q + 1;
            }
            int hl = snprintf(idbuf, sizeof(idbuf), "{\"id\":\"%s%llu\"", prefix,
                              (unsigned long long)next);
            size_t rl = len - (size_t)(rest - line);
            if (rest == line) {   /* no leading id: prepend one */
                rest = line + 1;
                rl = len - 1;
                idbuf[hl++] = ',';
            }
            if ((size_t)hl + rl > (1 << 20)) {
                next++;
                continue;
            }
            memcpy(msg, idbuf, (size_t)hl);
            memcpy(msg + hl, rest, rl);
            sent[next] = real_us();
            rd_kafka_resp_err_t e = rd_kafka_producev(
                prk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(msg, (size_t)hl + rl),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_TIMESTAMP(sent[next] / 1000), RD_KAFKA_V_END);
            if (e)
                fprintf(stderr, "latency: produce: %s\n", rd_kafka_err2str(e));
            next++;
        }
        rd_kafka_poll(prk, 0);
        /* Wait for output (1 ms at most), not at all when a send is due. */
        int wait_ms = next < total && t0 + (double)next * interval <= mono_s() ? 0 : 1;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(crk, wait_ms);
        if (m) {
            int64_t t = real_us();
            if (!m->err) {
                long seq = parse_seq(m->payload, m->len, prefix);
                if (seq >= 0 && (uint64_t)seq < total && sent[seq]) {
                    arrived++;
                    if ((uint64_t)seq >= skip)
                        lat[nlat++] = t - sent[seq];
                    if (dump)
                        fprintf(dump, "%ld %lld %lld\n", seq, (long long)sent[seq],
                                (long long)(t - sent[seq]));
                    sent[seq] = 0;   /* count each article once */
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (next >= total && mono_s() - t0 > seconds + warmup + drain) {
            fprintf(stderr, "latency: %llu of %llu articles never arrived\n",
                    (unsigned long long)(total - arrived), (unsigned long long)total);
            break;
        }
    }
    qsort(lat, nlat, sizeof(int64_t), cmp_i64);
#define PCT(p) (nlat ? (double)lat[(size_t)((double)(nlat - 1) * (p))] / 1000.0 : 0.0)
    printf("RESULT latency %.0f %llu %.3f %.3f %.3f %.3f %llu %llu\n", rate,
           (unsigned long long)nlat, PCT(0.50), PCT(0.99), PCT(0.999),
           nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0, (unsigned long long)arrived,
           (unsigned long long)total);
    printf("latency: %.0f articles/s offered for %.0f s (+%.0f s warm-up): %llu measured, "
           "p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
           rate, seconds, warmup, (unsigned long long)nlat, PCT(0.50), PCT(0.99), PCT(0.999),
           nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0);
    rd_kafka_flush(prk, 10000);
    rd_kafka_destroy(prk);
    rd_kafka_consumer_close(crk);
    rd_kafka_destroy(crk);
    free(msg);
    free(sent);
    free(lat);
    return arrived < total;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    double rate = 1000, seconds = 10, warmup = 2, idle = 20, drain = 30;
    uint64_t n = 0;
    int parts = 1;
    const char *dump_path = NULL;
    char **pos = calloc((size_t)argc, sizeof(char *));
    char **cfg = calloc((size_t)argc, sizeof(char *));
    int npos = 0, ncfg = 0;
    struct xprops x = {calloc((size_t)argc, sizeof(char *)), 0};

    if (argc < 2)
        goto usage;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] == '-' && a[1] && !v)
            goto usage;
        if (!strcmp(a, "-b"))
            brokers = argv[++i];
        else if (!strcmp(a, "-t"))
            topic = argv[++i];
        else if (!strcmp(a, "-n"))
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "-c"))
            cfg[ncfg++] = argv[++i];
        else if (!strcmp(a, "-X"))
            x.kv[x.n++] = argv[++i];
        else if (!strcmp(a, "-p"))
            parts = atoi(argv[++i]);
        else if (!strcmp(a, "-r"))
            rate = strtod(argv[++i], NULL);
        else if (!strcmp(a, "-s"))
            seconds = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--warmup"))
            warmup = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--drain"))
            drain = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--idle"))
            idle = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--dump"))
            dump_path = argv[++i];
        else
            pos[npos++] = argv[i];
    }
    if (!brokers)
        goto usage;
    if (!strcmp(argv[1], "create") && npos > 0)
        return cmd_create(brokers, parts, cfg, ncfg, pos, npos);
    if (!strcmp(argv[1], "load") && topic && npos == 1)
        return cmd_load(brokers, topic, (size_t)n, pos[0]);
    if (!strcmp(argv[1], "drain") && n && npos > 0)
        return cmd_drain(brokers, n, idle, pos, npos, &x);
    if (!strcmp(argv[1], "rate") && topic && npos >= 2 && rate > 0) {
        FILE *dump = dump_path ? fopen(dump_path, "w") : NULL;
        if (dump_path && !dump)
            die("cannot write %s", dump_path);
        int rc = cmd_rate(brokers, topic, rate, seconds, warmup, drain, pos[0], pos + 1,
                          npos - 1, &x, dump);
        if (dump)
            fclose(dump);
        return rc;
    }
usage:
    fprintf(stderr,
            "usage: latency create -b BROKERS [-p PARTS] [-c key=value]... TOPIC...\n"
            "       latency load -b BROKERS -t TOPIC [-n N] FILE\n"
            "       latency drain -b BROKERS -n N [--idle S] [-X prop=value]... TOPIC...\n"
            "       latency rate -b BROKERS -t TOPIC -r RATE -s SECONDS [--warmup S] [--drain S] [--dump FILE]\n"
            "                    [-X prop=value]... FILE TOPIC...\n");
    return 2;
}
