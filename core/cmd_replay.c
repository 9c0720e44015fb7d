/*
 * cmd_replay.c - `wirestream replay --from T1 [--to T2] [--speed N|max]
 * [--output-prefix P] [--warmup D]`: a time range of the input topics
 * through the processor chain again, into prefixed output topics.
 *
 * The pipeline runs in its replay mode (pipeline.h): partitions are
 * assigned from the range plan (range.h) under a throwaway group id,
 * nothing is committed and the dedupe state lives in memory only, so
 * neither the live group's offsets nor the live state topic are touched.
 * Messages are merged across partitions by (timestamp, topic, partition,
 * offset) - the processing order, hence every dedupe decision, is the
 * same on every run - and released when due for the requested speed.
 *
 * Each partition is read from its own librdkafka queue (not forwarded to
 * the consumer queue), one head at a time: a message that is not due yet
 * simply stays at the head, and librdkafka stops fetching a partition
 * whose queue holds its prefetch limit. Nothing is paused and resumed
 * (a resumed partition waits a fetch round trip, up to fetch.wait.max.ms,
 * which stalled the merge), and memory is bounded per partition by
 * queued.min.messages / queued.max.messages.kbytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "commands.h"
#include "decode.h"
#include "log.h"
#include "pipeline.h"
#include "range.h"

#define MOD               "replay"
#define PLAN_TIMEOUT_MS   15000
#define SAFETY_MS         100   /* re-check the queues even without a wake-up */
#define PRESSURE_RETRY_MS 5     /* re-check after in-flight outputs drained a bit */
#define STALL_MS          60000 /* no input at all while waiting for it: give up */
#define RUN_SLICE_MS      1000  /* the loop returns this often to check for a stall */
#define PROGRESS_PARTS    8     /* partitions listed one by one on the progress line */

/* One planned partition: its librdkafka queue and the messages taken
 * from it but not processed yet, in offset order (a ring; usually just
 * the head). */
struct pbuf {
    struct range_part *rp;
    rd_kafka_queue_t *kq; /* NULL: nothing to read (empty range) */
    rd_kafka_message_t **q;
    size_t head, len, cap;
    int paused; /* done: fetched no further */
};

struct replay {
    struct pipeline *p;
    const struct settings *s;
    struct range_plan plan;
    struct pbuf *bufs;          /* one per plan part */
    int64_t from_ms, to_ms;     /* the emitted range [from, to) */
    int64_t warm_from;          /* warm-up start (== from_ms: none) */
    double speed;               /* 0: as fast as possible */
    int64_t base_ts, base_mono; /* pacing: first emitted timestamp and when */
    int paced;
    int64_t last_ts; /* timestamp of the last emitted message */
    struct event *ev_pump, *ev_progress, *ev_wake, *ev_safety;
    int wake[2];        /* the partition queues write here */
    int64_t t0;         /* mono ms at assignment */
    int finished;       /* every partition done, every buffer empty */
    int waiting_input;  /* the merge waits for a partition's next message */
    int64_t wait_since; /* mono ms the current wait for input started */
    uint64_t read;      /* messages taken inside the plan's offsets */
    uint64_t in_range, warmed, skipped;
    uint64_t input_waits, pressure_waits; /* why the merge stopped (debug) */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: wirestream replay [-c FILE] [-b BROKERS] [-o section.key=value]\n"
                "                         --from TIME [--to TIME] [--speed N|max]\n"
                "                         [--output-prefix PREFIX] [--warmup DURATION]\n"
                "                         [--progress DURATION]\n"
                "\n"
                "Reads [kafka] input_topics from the first message at --from up to --to (or\n"
                "the end at start time), runs the processor chain and writes to the [output]\n"
                "topics under PREFIX (default 'replay.'). Never commits offsets, never\n"
                "writes the state topic; exits 0 once every output is acknowledged.\n"
                "\n"
                "  --speed N      1 reproduces the original gaps between message timestamps,\n"
                "                 N scales them; max (default) goes as fast as it can\n"
                "  --warmup D     first run the chain over [from-D, from) without emitting, so\n"
                "                 the dedupe window knows the stories that came before\n"
                "  --progress D   progress line interval on stderr (default 5s; 0: off)\n"
                "\nTIME: ISO 8601 (2023-06-02, 2023-06-02T10:00:00Z), Unix ms, now, now-24h.\n");
}

/* ---- per-partition buffers ----------------------------------------------- */

static int pbuf_push(struct pbuf *b, rd_kafka_message_t *m)
{
    if (b->len == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        rd_kafka_message_t **nq = malloc(ncap * sizeof(*nq));
        if (!nq)
            return -1;
        for (size_t i = 0; i < b->len; i++)
            nq[i] = b->q[(b->head + i) % b->cap];
        free(b->q);
        b->q = nq;
        b->cap = ncap;
        b->head = 0;
    }
    b->q[(b->head + b->len) % b->cap] = m;
    b->len++;
    return 0;
}

static rd_kafka_message_t *pbuf_pop(struct pbuf *b)
{
    rd_kafka_message_t *m = b->q[b->head];
    b->head = (b->head + 1) % b->cap;
    b->len--;
    return m;
}

/* Messages and queues go back before the consumer closes. */
static void release_input(struct replay *r)
{
    for (size_t i = 0; r->bufs && i < r->plan.n; i++) {
        struct pbuf *b = &r->bufs[i];
        while (b->len)
            rd_kafka_message_destroy(pbuf_pop(b));
        free(b->q);
        b->q = NULL;
        b->cap = 0;
        if (b->kq) {
            rd_kafka_queue_io_event_enable(b->kq, -1, NULL, 0);
            rd_kafka_queue_destroy(b->kq);
            b->kq = NULL;
        }
    }
}

/* A finished partition is fetched no further (a live topic keeps growing
 * past the range's end). */
static void stop_fetching(struct replay *r, struct pbuf *b)
{
    if (b->paused)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, b->rp->topic, b->rp->partition);
    rd_kafka_resp_err_t e = rd_kafka_pause_partitions(pipeline_consumer(r->p), l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        log_warn(MOD, "pause %s [%d]: %s", b->rp->topic, (int)b->rp->partition,
                 rd_kafka_err2str(e));
    b->paused = 1;
}

/* ---- the merge ------------------------------------------------------------ */

static void fill(struct replay *r, struct pbuf *b);

static int64_t msg_ts(const rd_kafka_message_t *m)
{
    return rd_kafka_message_timestamp(m, NULL);
}

/* Orders two partition heads by (timestamp, topic, partition, offset). */
static int head_before(const struct pbuf *a, const struct pbuf *b)
{
    const rd_kafka_message_t *ma = a->q[a->head], *mb = b->q[b->head];
    int64_t ta = msg_ts(ma), tb = msg_ts(mb);
    if (ta != tb)
        return ta < tb;
    int c = strcmp(a->rp->topic, b->rp->topic);
    if (c)
        return c < 0;
    if (a->rp->partition != b->rp->partition)
        return a->rp->partition < b->rp->partition;
    return ma->offset < mb->offset;
}

/*
 * The partition whose head goes next, or NULL: *wait is then 1 when a
 * partition that is not done has nothing buffered (its next message may
 * come first, so the merge must wait for it), 0 when everything is done.
 */
static struct pbuf *next_head(struct replay *r, int *wait)
{
    struct pbuf *best = NULL;
    *wait = 0;
    r->waiting_input = 0;
    for (size_t i = 0; i < r->plan.n; i++) {
        struct pbuf *b = &r->bufs[i];
        if (b->len == 0)
            fill(r, b);
        if (b->len == 0) {
            if (!b->rp->done) {
                if (!r->wait_since)
                    r->wait_since = mono_ms();
                *wait = r->waiting_input = 1;
                return NULL;
            }
            continue;
        }
        if (!best || head_before(b, best))
            best = b;
    }
    if (r->wait_since && mono_ms() - r->wait_since >= 50)
        log_debug(MOD, "the merge waited %" PRId64 " ms for input", mono_ms() - r->wait_since);
    r->wait_since = 0;
    return best;
}

static void arm_pump(struct replay *r, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(r->ev_pump, &tv);
}

/*
 * Processes the heads that are due, in merge order. Returns when the merge
 * must wait for a partition, when the next message is not due yet (a
 * timer fires when it is), when too much output is in flight (a short
 * timer re-checks), when everything is done, or after [kafka] batch_size
 * messages (it comes back right after the other pending events: delivery
 * reports, signals, progress). Never blocks.
 */
static void pump(struct replay *r)
{
    struct pipeline_counters c;
    uint64_t max = (uint64_t)r->s->kafka.max_in_flight;
    int64_t budget = r->s->kafka.batch_size;
    int wait;

    while (!pipeline_failed(r->p, NULL, 0)) {
        if (budget-- <= 0) {
            arm_pump(r, 0);
            return;
        }
        struct pbuf *b = next_head(r, &wait);
        if (!b) {
            r->input_waits += wait;
            if (!wait && !r->finished) {
                r->finished = 1;
                log_debug(MOD, "every partition read to the end of the range");
            }
            return;
        }
        rd_kafka_message_t *m = b->q[b->head];
        int64_t ts = msg_ts(m);
        int emit = ts >= r->from_ms && (r->to_ms == RANGE_OPEN || ts < r->to_ms);
        if (emit) {
            pipeline_counters(r->p, &c);
            if (c.in_flight >= max) {
                r->pressure_waits++;
                arm_pump(r, PRESSURE_RETRY_MS);
                return;
            }
            if (r->speed > 0) {
                int64_t now = mono_ms();
                if (!r->paced) {
                    r->paced = 1;
                    r->base_ts = ts;
                    r->base_mono = now;
                }
                /* Due times from one base: no drift accumulates. */
                int64_t due = r->base_mono + (int64_t)llround((double)(ts - r->base_ts) / r->speed);
                if (due > now) {
                    arm_pump(r, due - now);
                    return;
                }
            }
            pipeline_process(r->p, m, 1);
            r->in_range++;
            r->last_ts = ts;
        } else if (ts >= r->warm_from && ts < r->from_ms) {
            pipeline_process(r->p, m, 0); /* warm-up: the chain learns, nothing out */
            r->warmed++;
        } else {
            r->skipped++; /* inside the offsets, outside the time range */
        }
        rd_kafka_message_destroy(pbuf_pop(b));
    }
}

static void ev_pump_cb(evutil_socket_t fd, short what, void *arg)
{
    pump(arg);
}

/* ---- input ----------------------------------------------------------------- */

/* Files one message or partition EOF of b's partition (owned). */
static void take(struct replay *r, struct pbuf *b, rd_kafka_message_t *m)
{
    struct range_part *rp = b->rp;
    int keep = 0;

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* The end of the log: the offsets left before the planned end were
         * compacted away or are transaction markers. */
        if (!rp->done && m->offset < rp->end)
            log_debug(MOD, "%s [%d]: end of log at %" PRId64 ", range end %" PRId64, rp->topic,
                      (int)rp->partition, m->offset, rp->end);
        rp->done = 1;
    } else if (m->err) {
        log_warn(MOD, "%s [%d]: %s", rp->topic, (int)rp->partition, rd_kafka_message_errstr(m));
    } else if (!rp->done) { /* else past the end */
        keep = range_advance(rp, m->offset);
    }
    if (keep && pbuf_push(b, m) < 0) {
        log_error(MOD, "out of memory buffering input");
        pipeline_request_stop(r->p);
        keep = 0;
    }
    if (keep)
        r->read++;
    else
        rd_kafka_message_destroy(m);
    if (rp->done)
        stop_fetching(r, b);
}

/* Takes the next message of an empty partition from its queue, if one is
 * there (never waits: its arrival writes to the wake-up pipe). */
static void fill(struct replay *r, struct pbuf *b)
{
    while (b->kq && b->len == 0 && !b->rp->done) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(b->kq, 0);
        if (!m)
            return;
        take(r, b, m);
    }
}

/* The pipeline's input hook (pipeline.h): the consumer queue only carries
 * what a partition queue did not take (nothing, normally). */
static void on_input(void *arg, struct pipeline *p, rd_kafka_message_t *m)
{
    struct replay *r = arg;
    struct range_part *rp =
        m->rkt ? range_find(&r->plan, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
    if (!rp) {
        rd_kafka_message_destroy(m);
        return;
    }
    take(r, &r->bufs[rp - r->plan.parts], m);
    pump(r);
}

static void ev_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pump(arg);
}

/* Reads each planned partition through its own queue, waking the loop
 * through one pipe. Before the assignment, so nothing reaches the
 * consumer queue. 0 / -1 with err. */
static int open_queues(struct replay *r, rd_kafka_t *rk, char *err, size_t errlen)
{
    if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        r->wake[0] = r->wake[1] = -1;
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < r->plan.n; i++) {
        struct pbuf *b = &r->bufs[i];
        if (b->rp->done)
            continue;
        if (!(b->kq = rd_kafka_queue_get_partition(rk, b->rp->topic, b->rp->partition))) {
            snprintf(err, errlen, "no queue for %s [%d]", b->rp->topic, (int)b->rp->partition);
            return -1;
        }
        rd_kafka_queue_forward(b->kq, NULL);
        rd_kafka_queue_io_event_enable(b->kq, r->wake[1], "r", 1);
    }
    return 0;
}

/* Prefetch bounds per partition queue, unless the configuration sets them. */
static int default_prop(struct settings *s, const char *key, const char *val, char *err,
                        size_t errlen)
{
    if (conf_get(conf_section(s->cf, "librdkafka"), key) ||
        conf_get(conf_section(s->cf, "librdkafka.consumer"), key))
        return 0;
    return conf_override(s->cf, "librdkafka.consumer", key, val, err, errlen);
}

/* ---- progress and summary --------------------------------------------------- */

static void format_rate(char *buf, size_t len, double rate)
{
    snprintf(buf, len, rate >= 100 ? "%.0f" : "%.1f", rate);
}

static void ev_progress_cb(evutil_socket_t fd, short what, void *arg)
{
    struct replay *r = arg;
    char parts[512], rate_s[32], eta_s[48];
    size_t n = 0;
    int64_t total = range_total(&r->plan);
    uint64_t done = r->in_range + r->warmed + r->skipped;
    double secs = (double)(mono_ms() - r->t0) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;

    double lo = 100.0, hi = 0.0;
    parts[0] = '\0';
    for (size_t i = 0; i < r->plan.n; i++) {
        const struct range_part *rp = &r->plan.parts[i];
        int64_t span = rp->end - rp->start, got = rp->next - rp->start;
        double share = span > 0 ? 100.0 * (double)(got < span ? got : span) / (double)span : 100.0;
        lo = share < lo ? share : lo;
        hi = share > hi ? share : hi;
        if (r->plan.n <= PROGRESS_PARTS)
            n += (size_t)snprintf(parts + n, sizeof(parts) - n, "%s%s[%d] %.0f%%", i ? " " : "",
                                  rp->topic, (int)rp->partition, share);
    }
    if (r->plan.n > PROGRESS_PARTS) /* one line stays readable */
        snprintf(parts, sizeof(parts), "%zu partitions %.0f%%-%.0f%%", r->plan.n, lo, hi);
    format_rate(rate_s, sizeof(rate_s), rate);
    double eta = -1;
    if (r->speed > 0 && r->paced && r->to_ms != RANGE_OPEN)
        eta = (double)(r->to_ms - r->last_ts) / r->speed / 1000.0;
    else if (rate > 0)
        eta = (double)(total - (int64_t)done) / rate;
    if (eta >= 0)
        snprintf(eta_s, sizeof(eta_s), "%.1f s", eta);
    else
        snprintf(eta_s, sizeof(eta_s), "unknown");
    log_info(MOD,
             "%" PRIu64 "/%" PRId64 " messages (%" PRIu64 " in range), %s, %s msg/s, "
             "ETA %s",
             done, total, r->in_range, parts, rate_s, eta_s);
}

static void print_summary(const struct replay *r, const struct pipeline_counters *c,
                          int64_t elapsed, const char *how)
{
    char rate_s[32];
    double secs = (double)elapsed / 1000.0;
    format_rate(rate_s, sizeof(rate_s), secs > 0 ? (double)r->in_range / secs : 0);
    fprintf(stderr,
            "replay %s: read=%" PRIu64 " in_range=%" PRIu64 " warmup=%" PRIu64 " skipped=%" PRIu64
            " enriched=%" PRIu64 " routed=%" PRIu64 " duplicates=%" PRIu64 " dropped=%" PRIu64
            " deadletter=%" PRIu64 " elapsed_ms=%" PRId64 " rate=%s/s\n",
            how, r->read, r->in_range, r->warmed, r->skipped, c->enriched, c->routed, c->duplicates,
            c->dropped, c->deadletter, elapsed, rate_s);
}

static int until_done(void *arg, const struct pipeline *p)
{
    struct replay *r = arg;
    struct pipeline_counters c;
    if (!r->finished)
        return 0;
    pipeline_counters(p, &c);
    return c.in_flight == 0;
}

/* ---- configuration ----------------------------------------------------------- */

/* Puts prefix in front of one output topic name. */
static int prefix_topic(char **slot, const char *prefix)
{
    size_t len = strlen(prefix) + strlen(*slot) + 1;
    char *t = malloc(len);
    if (!t)
        return -1;
    snprintf(t, len, "%s%s", prefix, *slot);
    free(*slot);
    *slot = t;
    return 0;
}

/*
 * Every output under the prefix (the state topic too, although replay
 * never writes it: a mistake cannot reach the live one), and the consumer
 * forced to a throwaway group that commits nothing and reports partition
 * ends. These override the user's librdkafka sections on purpose.
 */
static int configure(struct settings *s, const char *prefix, const char *group, char *err,
                     size_t errlen)
{
    struct output_settings *o = &s->output;
    if (prefix_topic(&o->enriched_topic, prefix) < 0 ||
        prefix_topic(&o->topic_prefix, prefix) < 0 ||
        prefix_topic(&o->duplicates_topic, prefix) < 0 ||
        prefix_topic(&o->deadletter_topic, prefix) < 0 ||
        prefix_topic(&o->state_topic, prefix) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    static const char *const forced[] = {"enable.auto.commit",
                                         "false",
                                         "enable.auto.offset.store",
                                         "false",
                                         "enable.partition.eof",
                                         "true",
                                         NULL};
    for (size_t i = 0; forced[i]; i += 2)
        if (conf_override(s->cf, "librdkafka.consumer", forced[i], forced[i + 1], err, errlen) < 0)
            return -1;
    if (default_prop(s, "queued.min.messages", "2000", err, errlen) < 0 ||
        default_prop(s, "queued.max.messages.kbytes", "16384", err, errlen) < 0)
        return -1;
    return conf_override(s->cf, "librdkafka.consumer", "group.id", group, err, errlen);
}

static int parse_speed(const char *v, double *speed)
{
    if (strcmp(v, "max") == 0) {
        *speed = 0;
        return 0;
    }
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d > 0) || !isfinite(d))
        return -1;
    *speed = d;
    return 0;
}

int cmd_replay(int argc, char **argv)
{
    struct cli cli;
    struct replay r;
    const char *from = NULL, *to = NULL, *speed_arg = "max", *prefix = "replay.";
    const char *warmup = NULL, *progress = "5s";
    char err[1024];
    int rc = EXIT_USAGE;

    memset(&r, 0, sizeof(r));
    r.wake[0] = r.wake[1] = -1;
    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    const struct cli_opt opts[] = {
        {"--from", NULL, CLI_STRING, &from},
        {"--to", NULL, CLI_STRING, &to},
        {"--speed", NULL, CLI_STRING, &speed_arg},
        {"--output-prefix", NULL, CLI_STRING, &prefix},
        {"--warmup", NULL, CLI_STRING, &warmup},
        {"--progress", NULL, CLI_STRING, &progress},
        {0},
    };
    const struct cli_cmd cmd = {"replay", usage, 0, opts};
    int parsed = cli_parse_opts(&cli, &cmd, NULL, NULL);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    struct settings *s = cli.settings;
    int64_t now = wall_ms(), warm_ms = 0, progress_ms = 0;
    r.s = s;
    r.to_ms = RANGE_OPEN;
    if (!from) {
        fprintf(stderr, "wirestream replay: --from is required\n");
        usage(stderr);
        goto out;
    }
    if (decode_time_arg(from, now, &r.from_ms) < 0) {
        fprintf(stderr, "wirestream replay: --from: cannot read time '%s'\n", from);
        goto out;
    }
    if (to && decode_time_arg(to, now, &r.to_ms) < 0) {
        fprintf(stderr, "wirestream replay: --to: cannot read time '%s'\n", to);
        goto out;
    }
    if (r.to_ms <= r.from_ms) {
        fprintf(stderr, "wirestream replay: --to must be after --from\n");
        goto out;
    }
    if (parse_speed(speed_arg, &r.speed) < 0) {
        fprintf(stderr, "wirestream replay: --speed: expected a positive number or max\n");
        goto out;
    }
    if (warmup && (conf_parse_duration(warmup, &warm_ms) < 0 || warm_ms < 0)) {
        fprintf(stderr, "wirestream replay: --warmup: expected a duration (30m, 48h)\n");
        goto out;
    }
    if (conf_parse_duration(progress, &progress_ms) < 0 || progress_ms < 0) {
        fprintf(stderr, "wirestream replay: --progress: expected a duration (5s)\n");
        goto out;
    }
    if (!*prefix) {
        fprintf(stderr, "wirestream replay: --output-prefix must not be empty (the live "
                        "topics would receive the replay)\n");
        goto out;
    }
    if (strcmp(s->kafka.brokers, "embedded") == 0) {
        fprintf(stderr, "wirestream replay: needs a broker: -b HOST:PORT\n");
        goto out;
    }
    r.warm_from = r.from_ms - warm_ms;
    char group[96];
    snprintf(group, sizeof(group), "wirestream-replay-%d-%" PRId64, (int)getpid(), now);
    if (configure(s, prefix, group, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream replay: %s\n", err);
        goto out;
    }
    struct pipeline_opts o = {
        .brokers = s->kafka.brokers,
        .group_id = group,
        .quiet = 1, /* our progress line replaces the stats line */
        .handle_signals = 1,
        .input = on_input,
        .input_arg = &r,
    };
    if (!(r.p = pipeline_new(s, &o, err, sizeof(err)))) {
        fprintf(stderr, "wirestream replay: %s\n", err);
        goto out;
    }
    if (settings_check_unused(s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream: %s\n", err);
        goto out;
    }
    rc = EXIT_RUNTIME;
    rd_kafka_t *rk = pipeline_consumer(r.p);
    if (range_plan(rk, s->kafka.input_topics.items, s->kafka.input_topics.n, r.warm_from, r.to_ms,
                   PLAN_TIMEOUT_MS, &r.plan, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream replay: %s\n", err);
        goto out;
    }
    if (!(r.bufs = calloc(r.plan.n ? r.plan.n : 1, sizeof(*r.bufs)))) {
        fprintf(stderr, "wirestream replay: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < r.plan.n; i++)
        r.bufs[i].rp = &r.plan.parts[i];
    struct event_base *base = pipeline_base(r.p);
    r.ev_pump = event_new(base, -1, 0, ev_pump_cb, &r);
    r.ev_progress = event_new(base, -1, EV_PERSIST, ev_progress_cb, &r);
    r.ev_safety = event_new(base, -1, EV_PERSIST, ev_pump_cb, &r);
    if (open_queues(&r, rk, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream replay: %s\n", err);
        goto out;
    }
    r.ev_wake = event_new(base, r.wake[0], EV_READ | EV_PERSIST, ev_wake_cb, &r);
    if (!r.ev_pump || !r.ev_progress || !r.ev_safety || !r.ev_wake) {
        fprintf(stderr, "wirestream replay: libevent: cannot create events\n");
        goto out;
    }
    if (pipeline_start(r.p, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream replay: %s\n", err);
        goto out;
    }
    rd_kafka_topic_partition_list_t *assign = range_assignment(&r.plan);
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, assign);
    rd_kafka_topic_partition_list_destroy(assign);
    if (aerr) {
        fprintf(stderr, "wirestream replay: assign: %s\n", rd_kafka_err2str(aerr));
        goto out;
    }
    log_info(MOD,
             "%" PRId64 " messages in %zu partition(s) of %s%s, speed %s, outputs "
             "under '%s' (enriched: %s), group %s (never committed)",
             range_total(&r.plan), r.plan.n, s->kafka.input_topics.items[0],
             s->kafka.input_topics.n > 1 ? " ..." : "", speed_arg, prefix, s->output.enriched_topic,
             group);
    r.t0 = mono_ms();
    struct timeval safety = {0, (suseconds_t)SAFETY_MS * 1000};
    event_add(r.ev_wake, NULL);
    event_add(r.ev_safety, &safety);
    if (!cli.quiet && progress_ms > 0) {
        struct timeval tv = {(time_t)(progress_ms / 1000),
                             (suseconds_t)((progress_ms % 1000) * 1000)};
        event_add(r.ev_progress, &tv);
    }
    pump(&r); /* an empty range finishes right away */
    int ran;
    uint64_t seen = 0;
    int64_t progress_at = mono_ms();
    for (;;) {
        int64_t t = mono_ms();
        ran = pipeline_run_until(r.p, until_done, &r, RUN_SLICE_MS);
        if (ran != 0)
            break; /* done, or a fatal error */
        if (mono_ms() - t < RUN_SLICE_MS)
            break; /* a stop request (SIGTERM, SIGINT) */
        if (r.read != seen || !r.waiting_input) {
            seen = r.read;
            progress_at = mono_ms();
        } else if (mono_ms() - progress_at >= STALL_MS) {
            /* Everything in the plan exists: silence means the broker is gone. */
            log_error(MOD,
                      "no input for %d s with %" PRId64 " of %" PRId64 " messages "
                      "read; giving up",
                      STALL_MS / 1000, range_read(&r.plan), range_total(&r.plan));
            break;
        }
    }
    event_del(r.ev_progress);
    event_del(r.ev_pump);
    event_del(r.ev_safety);
    event_del(r.ev_wake);
    release_input(&r); /* before the consumer closes */
    int stopped = pipeline_stop(r.p);
    struct pipeline_counters c;
    pipeline_counters(r.p, &c);
    int ok = ran == 1 && stopped == 0;
    if (pipeline_failed(r.p, err, sizeof(err)))
        fprintf(stderr, "wirestream replay: %s\n", err);
    print_summary(&r, &c, mono_ms() - r.t0, ok ? "done" : "incomplete");
    log_debug(MOD,
              "the merge stopped for input %" PRIu64 " times, for in-flight outputs %" PRIu64
              " times",
              r.input_waits, r.pressure_waits);
    rc = ok ? 0 : EXIT_RUNTIME;
out:;
    /* The events live on the pipeline's loop; messages must be released
     * before their client is destroyed. (The `;` after the label: C11
     * allows no declaration there; clang refuses it, gcc lets it pass.) */
    struct event *evs[] = {r.ev_pump, r.ev_progress, r.ev_safety, r.ev_wake};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    release_input(&r);
    free(r.bufs);
    pipeline_free(r.p);
    for (int i = 0; i < 2; i++)
        if (r.wake[i] >= 0)
            close(r.wake[i]);
    range_plan_free(&r.plan);
    cli_free(&cli);
    return rc;
}
