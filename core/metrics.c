/*
 * metrics.c - see metrics.h.
 *
 * Labelled counters are small arrays searched by a 64-bit hash of the
 * label: a family holds tens of series (topics, reasons), so a linear scan
 * beats a hash table in both code and speed. The recent-entities window is
 * the one place with thousands of keys; it has an open-addressing index.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

enum family_id {
    F_IN = 0,
    F_OUT,
    F_REJECT,
    F_DEDUPE,
    F_CLASSIFIED,
    F_ENTITY_TAGS,
    NFAMILIES
};

struct family_desc {
    const char *name;   /* Prometheus name */
    const char *label;  /* its one label */
    const char *json;   /* key in the JSON rendering */
    const char *help;
};

static const struct family_desc families[NFAMILIES] = {
    {"wirestream_records_in_total", "topic", "records_in",
     "Input messages consumed, by input topic."},
    {"wirestream_records_out_total", "topic", "records_out",
     "Output messages acknowledged by the broker, by output topic."},
    {"wirestream_rejects_total", "reason", "rejects",
     "Input rejected (sent to the dead-letter topic), by reason code."},
    {"wirestream_dedupe_total", "status", "dedupe",
     "Records by deduplication status (unique, duplicate, near_duplicate)."},
    {"wirestream_classified_total", "topic", "classified",
     "Records classified into each topic."},
    {"wirestream_entity_tags_total", "type", "entity_tags",
     "Entity tags attached to records, by entity type."},
};

/* Upper bounds in ms; +Inf is implicit. */
static const double latency_bounds[METRICS_LATENCY_BUCKETS] = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
};

struct series {
    char *label;
    uint64_t hash;
    uint64_t value;
};

struct family {
    struct series *s;
    size_t n, cap;
    uint64_t total;
};

struct lag_entry {
    char *topic;
    int32_t partition;
    int64_t lag;
};

struct wkey {
    char *name;
    uint64_t hash;
    enum entity_type type;
    uint32_t counts[METRICS_WINDOW_BUCKETS];
};

struct metrics {
    int64_t start_ms;
    struct family fam[NFAMILIES];
    uint64_t delivery_failures;

    uint64_t lat_buckets[METRICS_LATENCY_BUCKETS + 1]; /* last: +Inf */
    uint64_t lat_count;
    double lat_sum_ms;

    struct lag_entry *lag;
    size_t nlag, caplag;
    int64_t queue_depth;
    int64_t in_flight;
    int brokers_up;      /* -1 until a consumer statistics document arrived */

    /* Recent entities: keys[] plus an index of positions+1 (0 = empty). */
    struct wkey *keys;
    size_t nkeys, capkeys;
    uint32_t *index;
    size_t index_cap;    /* power of two, >= 2 * capkeys */
    int64_t bucket;      /* absolute bucket number of the newest slot */

    /* metrics_format_line(): the previous call's totals. */
    int64_t line_ms;
    uint64_t line_in, line_out;
};

/* FNV-1a: cheap and good enough to tell labels apart before strcmp. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct metrics *metrics_new(int64_t start_ms)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->start_ms = start_ms;
    m->line_ms = start_ms;
    m->bucket = INT64_MIN;
    m->brokers_up = -1;
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (int f = 0; f < NFAMILIES; f++) {
        for (size_t i = 0; i < m->fam[f].n; i++)
            free(m->fam[f].s[i].label);
        free(m->fam[f].s);
    }
    for (size_t i = 0; i < m->nlag; i++)
        free(m->lag[i].topic);
    free(m->lag);
    for (size_t i = 0; i < m->nkeys; i++)
        free(m->keys[i].name);
    free(m->keys);
    free(m->index);
    free(m);
}

static struct series *family_find(const struct family *fam, const char *label, uint64_t h)
{
    for (size_t i = 0; i < fam->n; i++)
        if (fam->s[i].hash == h && strcmp(fam->s[i].label, label) == 0)
            return &fam->s[i];
    return NULL;
}

/* The series for label, created on first use; "_other" once the family is
 * full; NULL only on allocation failure. */
static struct series *family_get(struct family *fam, const char *label)
{
    if (!label)
        label = "";
    uint64_t h = hash_str(label);
    struct series *s = family_find(fam, label, h);
    if (s)
        return s;
    if (fam->n >= METRICS_MAX_SERIES) {
        label = "_other";
        h = hash_str(label);
        if ((s = family_find(fam, label, h)))
            return s;
        /* the one series allowed past the limit */
    }
    if (fam->n == fam->cap) {
        size_t cap = fam->cap ? fam->cap * 2 : 8;
        struct series *ns = realloc(fam->s, cap * sizeof(*ns));
        if (!ns)
            return NULL;
        fam->s = ns;
        fam->cap = cap;
    }
    char *copy = strdup(label);
    if (!copy)
        return NULL;
    s = &fam->s[fam->n++];
    s->label = copy;
    s->hash = h;
    s->value = 0;
    return s;
}

static void family_add(struct metrics *m, enum family_id f, const char *label, uint64_t n)
{
    if (!m)
        return;
    struct series *s = family_get(&m->fam[f], label);
    if (s)
        s->value += n;
    /* the total counts even when the series could not be allocated */
    m->fam[f].total += n;
}

void metrics_inc_in(struct metrics *m, const char *topic)
{
    family_add(m, F_IN, topic, 1);
}

void metrics_inc_out(struct metrics *m, const char *topic)
{
    family_add(m, F_OUT, topic, 1);
}

void metrics_inc_reject(struct metrics *m, const char *reason)
{
    family_add(m, F_REJECT, reason, 1);
}

void metrics_inc_dedupe(struct metrics *m, enum dedupe_status s)
{
    family_add(m, F_DEDUPE, record_dedupe_status_name(s), 1);
}

void metrics_inc_classified(struct metrics *m, const char *topic)
{
    family_add(m, F_CLASSIFIED, topic, 1);
}

void metrics_inc_delivery_failure(struct metrics *m)
{
    if (m)
        m->delivery_failures++;
}

/* ---- the recent-entities window ---------------------------------------- */

static int window_reindex(struct metrics *m, size_t want_keys)
{
    size_t cap = 64;
    while (cap < want_keys * 2)
        cap *= 2;
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return -1;
    for (size_t i = 0; i < m->nkeys; i++) {
        size_t j = (size_t)m->keys[i].hash & (cap - 1);
        while (idx[j])
            j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)(i + 1);
    }
    free(m->index);
    m->index = idx;
    m->index_cap = cap;
    return 0;
}

/* Moves the window so that now_ms falls in its newest bucket: clears the
 * buckets that fell out and drops keys with nothing left. */
static void window_advance(struct metrics *m, int64_t now_ms)
{
    int64_t b = now_ms / METRICS_WINDOW_BUCKET_MS;
    if (m->bucket == INT64_MIN) {
        m->bucket = b;
        return;
    }
    if (b <= m->bucket)
        return;
    int64_t steps = b - m->bucket;
    if (steps > METRICS_WINDOW_BUCKETS)
        steps = METRICS_WINDOW_BUCKETS;
    for (int64_t s = 1; s <= steps; s++) {
        size_t slot = (size_t)((m->bucket + s) % METRICS_WINDOW_BUCKETS);
        for (size_t i = 0; i < m->nkeys; i++)
            m->keys[i].counts[slot] = 0;
    }
    m->bucket = b;
    size_t kept = 0;
    for (size_t i = 0; i < m->nkeys; i++) {
        uint64_t sum = 0;
        for (int k = 0; k < METRICS_WINDOW_BUCKETS; k++)
            sum += m->keys[i].counts[k];
        if (sum)
            m->keys[kept++] = m->keys[i];
        else
            free(m->keys[i].name);
    }
    if (kept != m->nkeys) {
        m->nkeys = kept;
        if (window_reindex(m, m->capkeys) < 0) {
            /* keep the window consistent: forget it rather than mis-index */
            for (size_t i = 0; i < m->nkeys; i++)
                free(m->keys[i].name);
            m->nkeys = 0;
            memset(m->index, 0, m->index_cap * sizeof(*m->index));
        }
    }
}

static void window_add(struct metrics *m, const char *name, enum entity_type type,
                       int64_t now_ms)
{
    window_advance(m, now_ms);
    uint64_t h = hash_str(name) ^ (uint64_t)type;
    if (m->index) {
        size_t j = (size_t)h & (m->index_cap - 1);
        while (m->index[j]) {
            struct wkey *k = &m->keys[m->index[j] - 1];
            if (k->hash == h && k->type == type && strcmp(k->name, name) == 0) {
                k->counts[m->bucket % METRICS_WINDOW_BUCKETS]++;
                return;
            }
            j = (j + 1) & (m->index_cap - 1);
        }
    }
    if (m->nkeys >= METRICS_MAX_WINDOW_KEYS)
        return;
    if (m->nkeys == m->capkeys) {
        size_t cap = m->capkeys ? m->capkeys * 2 : 64;
        struct wkey *nk = realloc(m->keys, cap * sizeof(*nk));
        if (!nk)
            return;
        m->keys = nk;
        m->capkeys = cap;
    }
    /* keep the index at most half full, so probing always ends */
    if ((!m->index || m->index_cap < 2 * m->capkeys) && window_reindex(m, m->capkeys) < 0)
        return;
    char *copy = strdup(name);
    if (!copy)
        return;
    struct wkey *k = &m->keys[m->nkeys];
    memset(k, 0, sizeof(*k));
    k->name = copy;
    k->hash = h;
    k->type = type;
    k->counts[m->bucket % METRICS_WINDOW_BUCKETS] = 1;
    size_t j = (size_t)h & (m->index_cap - 1);
    while (m->index[j])
        j = (j + 1) & (m->index_cap - 1);
    m->index[j] = (uint32_t)(++m->nkeys);
}

void metrics_inc_entity(struct metrics *m, const char *name, enum entity_type type,
                        int64_t now_ms)
{
    if (!m)
        return;
    family_add(m, F_ENTITY_TAGS, record_entity_type_name(type), 1);
    if (name && *name)
        window_add(m, name, type, now_ms);
}

void metrics_observe_record(struct metrics *m, const struct record *rec, int64_t now_ms)
{
    if (!m || !rec)
        return;
    metrics_inc_dedupe(m, rec->dedupe.status);
    for (size_t i = 0; i < rec->ntopics; i++)
        metrics_inc_classified(m, rec->topics[i].name);
    for (size_t i = 0; i < rec->nentities; i++)
        metrics_inc_entity(m, rec->entities[i].name, rec->entities[i].type, now_ms);
}

void metrics_observe_latency_ms(struct metrics *m, double ms)
{
    if (!m)
        return;
    if (!(ms > 0))          /* negative (clock skew) or NaN */
        ms = 0;
    size_t b = 0;
    while (b < METRICS_LATENCY_BUCKETS && ms > latency_bounds[b])
        b++;
    m->lat_buckets[b]++;
    m->lat_count++;
    m->lat_sum_ms += ms;
}

/* ---- gauges -------------------------------------------------------------- */

void metrics_set_lag(struct metrics *m, const char *topic, int32_t partition, int64_t lag)
{
    if (!m || !topic)
        return;
    for (size_t i = 0; i < m->nlag; i++) {
        if (m->lag[i].partition == partition && strcmp(m->lag[i].topic, topic) == 0) {
            m->lag[i].lag = lag;
            return;
        }
    }
    if (m->nlag >= (size_t)16 * METRICS_MAX_SERIES)
        return;
    if (m->nlag == m->caplag) {
        size_t cap = m->caplag ? m->caplag * 2 : 16;
        struct lag_entry *nl = realloc(m->lag, cap * sizeof(*nl));
        if (!nl)
            return;
        m->lag = nl;
        m->caplag = cap;
    }
    char *copy = strdup(topic);
    if (!copy)
        return;
    m->lag[m->nlag++] = (struct lag_entry){copy, partition, lag};
}

void metrics_clear_lag(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nlag; i++)
        free(m->lag[i].topic);
    m->nlag = 0;
}

void metrics_set_queue_depth(struct metrics *m, int64_t messages)
{
    if (m)
        m->queue_depth = messages;
}

void metrics_set_in_flight(struct metrics *m, int64_t records)
{
    if (m)
        m->in_flight = records;
}

int metrics_rdkafka_stats(struct metrics *m, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        return -1;
    }
    if (!m) {
        json_decref(doc);
        return 0;
    }
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (type && strcmp(type, "producer") == 0) {
        json_t *cnt = json_object_get(doc, "msg_cnt");
        if (json_is_integer(cnt))
            m->queue_depth = json_integer_value(cnt);
    } else if (type && strcmp(type, "consumer") == 0) {
        /* brokers.*.state: count the real brokers (not librdkafka's
         * internal or logical ones) whose connection is up */
        const char *bname;
        json_t *b;
        m->brokers_up = 0;
        json_object_foreach(json_object_get(doc, "brokers"), bname, b) {
            const char *src = json_string_value(json_object_get(b, "source"));
            const char *state = json_string_value(json_object_get(b, "state"));
            if (src && (strcmp(src, "internal") == 0 || strcmp(src, "logical") == 0))
                continue;
            if (state && strcmp(state, "UP") == 0)
                m->brokers_up++;
        }
        metrics_clear_lag(m);
        const char *tname;
        json_t *topic;
        json_object_foreach(json_object_get(doc, "topics"), tname, topic) {
            const char *pname;
            json_t *part;
            json_object_foreach(json_object_get(topic, "partitions"), pname, part) {
                char *end;
                long p = strtol(pname, &end, 10);
                const char *fs = json_string_value(json_object_get(part, "fetch_state"));
                if (*end || p < 0 || p > INT32_MAX ||
                    (fs && (strcmp(fs, "none") == 0 || strncmp(fs, "stop", 4) == 0)))
                    continue;   /* not ours (any more) */
                json_int_t lag = json_integer_value(json_object_get(part, "consumer_lag"));
                if (!json_is_integer(json_object_get(part, "consumer_lag")) || lag < 0) {
                    /* no commit known yet: measure from what we consumed */
                    json_t *st = json_object_get(part, "consumer_lag_stored");
                    lag = json_is_integer(st) ? json_integer_value(st) : -1;
                }
                json_t *hi = json_object_get(part, "hi_offset"), *lo = json_object_get(part, "lo_offset");
                if (lag < 0 && json_is_integer(hi) && json_is_integer(lo) &&
                    json_integer_value(hi) >= 0 && json_integer_value(hi) == json_integer_value(lo))
                    lag = 0;    /* an empty partition: nothing waits */
                if (lag >= 0)
                    metrics_set_lag(m, tname, (int32_t)p, lag);
            }
        }
    }
    json_decref(doc);
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

uint64_t metrics_in_total(const struct metrics *m)
{
    return m ? m->fam[F_IN].total : 0;
}

uint64_t metrics_out_total(const struct metrics *m)
{
    return m ? m->fam[F_OUT].total : 0;
}

uint64_t metrics_counter(const struct metrics *m, const char *family, const char *label)
{
    if (!m || !family)
        return 0;
    if (strcmp(family, "wirestream_delivery_failures_total") == 0)
        return m->delivery_failures;
    for (int f = 0; f < NFAMILIES; f++) {
        if (strcmp(families[f].name, family) != 0)
            continue;
        if (!label)
            return m->fam[f].total;
        const struct series *s = family_find(&m->fam[f], label, hash_str(label));
        return s ? s->value : 0;
    }
    return 0;
}

int metrics_brokers_up(const struct metrics *m)
{
    return m ? m->brokers_up : -1;
}

int64_t metrics_lag_total(const struct metrics *m)
{
    int64_t sum = 0;
    if (m)
        for (size_t i = 0; i < m->nlag; i++)
            sum += m->lag[i].lag;
    return sum;
}

uint64_t metrics_latency_count(const struct metrics *m)
{
    return m ? m->lat_count : 0;
}

double metrics_latency_quantile(const struct metrics *m, double q)
{
    if (!m || m->lat_count == 0)
        return -1;
    double rank = q * (double)m->lat_count;
    uint64_t cum = 0;
    for (size_t b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
        uint64_t c = m->lat_buckets[b];
        if (c && (double)(cum + c) >= rank) {
            if (b == METRICS_LATENCY_BUCKETS)   /* +Inf: the best we know */
                return latency_bounds[METRICS_LATENCY_BUCKETS - 1];
            double lo = b ? latency_bounds[b - 1] : 0, hi = latency_bounds[b];
            double frac = (rank - (double)cum) / (double)c;
            if (frac < 0)
                frac = 0;
            return lo + (hi - lo) * frac;
        }
        cum += c;
    }
    return latency_bounds[METRICS_LATENCY_BUCKETS - 1];
}

/* ---- Prometheus text ------------------------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* Label values: backslash, double quote and line feed are escaped. */
static void sb_label(struct sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sb_printf(b, "\\\\");
        else if (*v == '"')
            sb_printf(b, "\\\"");
        else if (*v == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *v);
    }
}

static void sb_head(struct sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *metrics_render_prometheus(const struct metrics *m, int64_t now_ms, size_t *len)
{
    struct sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return NULL;
    b.p[0] = '\0';

    for (int f = 0; f < NFAMILIES; f++) {
        const struct family_desc *d = &families[f];
        sb_head(&b, d->name, "counter", d->help);
        for (size_t i = 0; i < m->fam[f].n; i++) {
            sb_printf(&b, "%s{%s=\"", d->name, d->label);
            sb_label(&b, m->fam[f].s[i].label);
            sb_printf(&b, "\"} %" PRIu64 "\n", m->fam[f].s[i].value);
        }
    }
    sb_head(&b, "wirestream_delivery_failures_total", "counter",
            "Output messages that failed for good.");
    sb_printf(&b, "wirestream_delivery_failures_total %" PRIu64 "\n", m->delivery_failures);

    const char *h = "wirestream_processing_latency_seconds";
    sb_head(&b, h, "histogram",
            "Input message timestamp to delivery of its last output.");
    uint64_t cum = 0;
    for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        cum += m->lat_buckets[i];
        sb_printf(&b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", h, latency_bounds[i] / 1000.0, cum);
    }
    cum += m->lat_buckets[METRICS_LATENCY_BUCKETS];
    sb_printf(&b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", h, cum);
    sb_printf(&b, "%s_sum %.6f\n%s_count %" PRIu64 "\n", h, m->lat_sum_ms / 1000.0, h,
              m->lat_count);

    sb_head(&b, "wirestream_consumer_lag", "gauge",
            "Messages behind the partition's high watermark (librdkafka statistics).");
    for (size_t i = 0; i < m->nlag; i++) {
        sb_printf(&b, "wirestream_consumer_lag{topic=\"");
        sb_label(&b, m->lag[i].topic);
        sb_printf(&b, "\",partition=\"%" PRId32 "\"} %" PRId64 "\n", m->lag[i].partition,
                  m->lag[i].lag);
    }
    sb_head(&b, "wirestream_producer_queue_depth", "gauge",
            "Messages queued or in flight inside the producer.");
    sb_printf(&b, "wirestream_producer_queue_depth %" PRId64 "\n", m->queue_depth);
    sb_head(&b, "wirestream_in_flight", "gauge",
            "Input records whose outputs are not all acknowledged yet.");
    sb_printf(&b, "wirestream_in_flight %" PRId64 "\n", m->in_flight);
    sb_head(&b, "wirestream_uptime_seconds", "gauge", "Seconds since start.");
    sb_printf(&b, "wirestream_uptime_seconds %.3f\n", (double)(now_ms - m->start_ms) / 1000.0);

    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

/* ---- JSON ------------------------------------------------------------------ */

struct top_item {
    const struct wkey *k;
    uint64_t count;
};

static int top_cmp(const void *a, const void *b)
{
    const struct top_item *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->k->name, y->k->name);
}

json_t *metrics_top_entities(const struct metrics *m, int64_t now_ms, size_t top_n)
{
    json_t *arr = json_array();
    if (!arr || !m || m->nkeys == 0)
        return arr;
    int64_t b = now_ms / METRICS_WINDOW_BUCKET_MS;
    struct top_item *items = malloc(m->nkeys * sizeof(*items));
    if (!items)
        return arr;
    size_t n = 0;
    for (size_t i = 0; i < m->nkeys; i++) {
        uint64_t sum = 0;
        /* only the buckets still inside the window at now_ms */
        for (int64_t s = 0; s < METRICS_WINDOW_BUCKETS; s++) {
            int64_t ab = m->bucket - s;
            if (b - ab < METRICS_WINDOW_BUCKETS)
                sum += m->keys[i].counts[ab % METRICS_WINDOW_BUCKETS];
        }
        if (sum)
            items[n++] = (struct top_item){&m->keys[i], sum};
    }
    qsort(items, n, sizeof(*items), top_cmp);
    for (size_t i = 0; i < n && i < top_n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "name", items[i].k->name,
                                             "type", record_entity_type_name(items[i].k->type),
                                             "count", (json_int_t)items[i].count));
    free(items);
    return arr;
}

static json_t *family_json(const struct family *fam)
{
    json_t *by = json_object();
    for (size_t i = 0; i < fam->n; i++)
        json_object_set_new(by, fam->s[i].label, json_integer((json_int_t)fam->s[i].value));
    return json_pack("{s:I, s:o}", "total", (json_int_t)fam->total, "by", by);
}

json_t *metrics_to_json(const struct metrics *m, int64_t now_ms, size_t top_n)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "uptime_s", json_real((double)(now_ms - m->start_ms) / 1000.0));
    for (int f = 0; f < NFAMILIES; f++)
        json_object_set_new(o, families[f].json, family_json(&m->fam[f]));
    json_object_set_new(o, "delivery_failures", json_integer((json_int_t)m->delivery_failures));

    json_t *lat = json_pack("{s:I, s:f}", "count", (json_int_t)m->lat_count, "sum_ms",
                            m->lat_sum_ms);
    static const double qs[] = {0.5, 0.9, 0.99};
    static const char *const qn[] = {"p50", "p90", "p99"};
    for (int i = 0; i < 3; i++) {
        double v = metrics_latency_quantile(m, qs[i]);
        json_object_set_new(lat, qn[i], v < 0 ? json_null() : json_real(v));
    }
    json_object_set_new(o, "latency_ms", lat);

    json_t *parts = json_array();
    for (size_t i = 0; i < m->nlag; i++)
        json_array_append_new(parts, json_pack("{s:s, s:i, s:I}", "topic", m->lag[i].topic,
                                               "partition", (int)m->lag[i].partition, "lag",
                                               (json_int_t)m->lag[i].lag));
    json_object_set_new(o, "consumer_lag", json_pack("{s:I, s:o}", "total",
                                                     (json_int_t)metrics_lag_total(m),
                                                     "partitions", parts));
    json_object_set_new(o, "producer_queue_depth", json_integer(m->queue_depth));
    json_object_set_new(o, "in_flight", json_integer(m->in_flight));
    json_object_set_new(o, "top_entities", metrics_top_entities(m, now_ms, top_n));
    return o;
}

/* ---- the stats line --------------------------------------------------------- */

char *metrics_format_line(struct metrics *m, int64_t now_ms, char *buf, size_t len)
{
    if (!len)
        return buf;
    double secs = (double)(now_ms - m->line_ms) / 1000.0;
    uint64_t in = m->fam[F_IN].total, out = m->fam[F_OUT].total;
    double rin = secs > 0 ? (double)(in - m->line_in) / secs : 0;
    double rout = secs > 0 ? (double)(out - m->line_out) / secs : 0;
    const struct family *dd = &m->fam[F_DEDUPE];
    const struct series *dup = family_find(dd, "duplicate", hash_str("duplicate"));
    const struct series *near = family_find(dd, "near_duplicate", hash_str("near_duplicate"));
    int n = snprintf(buf, len,
                     "in %" PRIu64 " (%.1f/s) out %" PRIu64 " (%.1f/s) rejects %" PRIu64
                     " dup %" PRIu64 " near %" PRIu64 " lag %" PRId64 " queue %" PRId64
                     " inflight %" PRId64,
                     in, rin, out, rout, m->fam[F_REJECT].total, dup ? dup->value : 0,
                     near ? near->value : 0, metrics_lag_total(m), m->queue_depth,
                     m->in_flight);
    if (n >= 0 && (size_t)n < len && m->lat_count)
        snprintf(buf + n, len - (size_t)n, " latency p50 %.0fms p99 %.0fms",
                 metrics_latency_quantile(m, 0.5), metrics_latency_quantile(m, 0.99));
    m->line_ms = now_ms;
    m->line_in = in;
    m->line_out = out;
    return buf;
}
