/*
 * range.c - see range.h.
 */
#include <stdlib.h>
#include <string.h>

#include "range.h"

static int add_part(struct range_plan *plan, const char *topic, int32_t partition)
{
    struct range_part *np = realloc(plan->parts, (plan->n + 1) * sizeof(*np));
    if (!np)
        return -1;
    plan->parts = np;
    struct range_part *rp = &plan->parts[plan->n];
    memset(rp, 0, sizeof(*rp));
    if (!(rp->topic = strdup(topic)))
        return -1;
    rp->partition = partition;
    plan->n++;
    return 0;
}

/* offsets_for_times for one timestamp over every planned partition;
 * writes the resulting offsets (or `fallback` past the last message). */
static int offsets_at(rd_kafka_t *rk, struct range_plan *plan, int64_t ts, int64_t *out,
                      const int64_t *fallback, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)plan->n);
    for (size_t i = 0; i < plan->n; i++)
        rd_kafka_topic_partition_list_add(l, plan->parts[i].topic, plan->parts[i].partition)
            ->offset = ts;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (e) {
        snprintf(err, errlen, "offsets for time %lld: %s", (long long)ts, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].err) {
            snprintf(err, errlen, "offsets for time on %s [%d]: %s", l->elems[i].topic,
                     l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        /* -1: no message at or after ts, i.e. the end of the partition */
        out[i] = l->elems[i].offset < 0 ? fallback[i] : l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return 0;
}

int range_plan(rd_kafka_t *rk, char *const *topics, size_t ntopics, int64_t from_ms,
               int64_t to_ms, int timeout_ms, struct range_plan *plan, char *err,
               size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    int64_t *high = NULL, *tmp = NULL;

    memset(plan, 0, sizeof(*plan));
    plan->from_ms = from_ms;
    plan->to_ms = to_ms;
    for (size_t t = 0; t < ntopics; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (e) {
            snprintf(err, errlen, "metadata for %s: %s", topics[t], rd_kafka_err2str(e));
            goto fail;
        }
        if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
            snprintf(err, errlen, "topic %s: %s", topics[t],
                     md->topic_cnt == 1 && md->topics[0].err
                         ? rd_kafka_err2str(md->topics[0].err) : "no partitions");
            goto fail;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            if (add_part(plan, topics[t], md->topics[0].partitions[p].id) < 0) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        rd_kafka_metadata_destroy(md);
        md = NULL;
    }
    high = calloc(plan->n ? plan->n : 1, sizeof(*high));
    tmp = calloc(plan->n ? plan->n : 1, sizeof(*tmp));
    if (!high || !tmp) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < plan->n; i++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk, plan->parts[i].topic, plan->parts[i].partition, &lo, &hi, timeout_ms);
        if (e) {
            snprintf(err, errlen, "watermarks of %s [%d]: %s", plan->parts[i].topic,
                     plan->parts[i].partition, rd_kafka_err2str(e));
            goto fail;
        }
        high[i] = hi;
    }
    if (offsets_at(rk, plan, from_ms, tmp, high, timeout_ms, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < plan->n; i++)
        plan->parts[i].start = tmp[i];
    if (to_ms != RANGE_OPEN) {
        if (offsets_at(rk, plan, to_ms, tmp, high, timeout_ms, err, errlen) < 0)
            goto fail;
    } else {
        memcpy(tmp, high, plan->n * sizeof(*tmp));
    }
    for (size_t i = 0; i < plan->n; i++) {
        struct range_part *rp = &plan->parts[i];
        rp->end = tmp[i] < high[i] ? tmp[i] : high[i];
        if (rp->end < rp->start)
            rp->end = rp->start;
        rp->next = rp->start;
        rp->done = rp->start >= rp->end;
    }
    free(high);
    free(tmp);
    return 0;
fail:
    if (md)
        rd_kafka_metadata_destroy(md);
    free(high);
    free(tmp);
    range_plan_free(plan);
    return -1;
}

rd_kafka_topic_partition_list_t *range_assignment(const struct range_plan *plan)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)plan->n);
    for (size_t i = 0; i < plan->n; i++) {
        const struct range_part *rp = &plan->parts[i];
        if (!rp->done)
            rd_kafka_topic_partition_list_add(l, rp->topic, rp->partition)->offset = rp->start;
    }
    return l;
}

struct range_part *range_find(struct range_plan *plan, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->parts[i].partition == partition && strcmp(plan->parts[i].topic, topic) == 0)
            return &plan->parts[i];
    return NULL;
}

int range_advance(struct range_part *rp, int64_t offset)
{
    int inside = offset >= rp->start && offset < rp->end;
    if (offset + 1 > rp->next)
        rp->next = offset + 1;
    if (rp->next >= rp->end)
        rp->done = 1;
    return inside;
}

int range_contains_ts(const struct range_plan *plan, int64_t ts)
{
    return ts >= plan->from_ms && (plan->to_ms == RANGE_OPEN || ts < plan->to_ms);
}

int range_all_done(const struct range_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        if (!plan->parts[i].done)
            return 0;
    return 1;
}

int64_t range_total(const struct range_plan *plan)
{
    int64_t t = 0;
    for (size_t i = 0; i < plan->n; i++)
        t += plan->parts[i].end - plan->parts[i].start;
    return t;
}

int64_t range_read(const struct range_plan *plan)
{
    int64_t r = 0;
    for (size_t i = 0; i < plan->n; i++) {
        const struct range_part *rp = &plan->parts[i];
        int64_t n = (rp->next < rp->end ? rp->next : rp->end) - rp->start;
        r += n > 0 ? n : 0;
    }
    return r;
}

void range_plan_free(struct range_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        free(plan->parts[i].topic);
    free(plan->parts);
    plan->parts = NULL;
    plan->n = 0;
}
