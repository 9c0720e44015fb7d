/*
 * chain.c - builds the processor chain and runs records through it.
 *
 * Each stage keeps its own counters and the time it spent, so `/stats`
 * and `make bench` can say which processor costs what.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"

struct stage {
    const struct processor_ops *ops;
    void *conf;                 /* bound from [processor.NAME], owned */
    void *state;
    struct state_store store;   /* prefixes keys with "NAME/" */
    struct chain *chain;
    uint64_t records, dropped, rejected, ns;
};

struct chain {
    struct stage *stages;
    size_t n;
    struct state_store *store;  /* the real store, borrowed */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int prefixed_put(void *opaque, const void *key, size_t klen, const void *val,
                        size_t vlen)
{
    struct stage *st = opaque;
    char stackbuf[256];
    size_t nlen = strlen(st->ops->name);
    size_t total = nlen + 1 + klen;
    char *buf = total <= sizeof(stackbuf) ? stackbuf : malloc(total);
    if (!buf)
        return -1;
    memcpy(buf, st->ops->name, nlen);
    buf[nlen] = '/';
    memcpy(buf + nlen + 1, key, klen);
    int rc = st->chain->store->put(st->chain->store->opaque, buf, total, val, vlen);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* The first `count` processors of [pipeline] processors. */
static struct chain *chain_build(const struct settings *s, struct state_store *store,
                                 size_t count, char *err, size_t errlen)
{
    const struct conf_list *names = &s->pipeline.processors;
    struct chain *ch = calloc(1, sizeof(*ch));

    if (!ch || !(ch->stages = calloc(names->n ? names->n : 1, sizeof(*ch->stages)))) {
        snprintf(err, errlen, "out of memory");
        free(ch);
        return NULL;
    }
    ch->store = store;
    for (size_t i = 0; i < names->n && i < count; i++) {
        const struct processor_ops *ops = processor_find(names->items[i]);
        struct stage *st = &ch->stages[ch->n];
        char sect[96], perr[512];

        if (!ops) {
            snprintf(err, errlen, "%s: [pipeline] processors: unknown processor '%s'",
                     s->cf->path, names->items[i]);
            goto fail;
        }
        for (size_t k = 0; k < ch->n; k++) {
            if (ch->stages[k].ops == ops) {
                snprintf(err, errlen, "%s: [pipeline] processors: '%s' listed twice",
                         s->cf->path, ops->name);
                goto fail;
            }
        }
        st->ops = ops;
        st->chain = ch;
        st->conf = calloc(1, ops->conf_size ? ops->conf_size : 1);
        if (!st->conf) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(sect, sizeof(sect), "processor.%s", ops->name);
        if (ops->keys &&
            conf_bind(ops->keys, conf_section(s->cf, sect), s->cf, st->conf, err, errlen) < 0) {
            free(st->conf);
            goto fail;
        }
        st->store.opaque = st;
        st->store.put = prefixed_put;
        struct processor_env env = {.cf = s->cf, .store = store ? &st->store : NULL};
        if (ops->init(&st->state, st->conf, &env, perr, sizeof(perr)) < 0) {
            snprintf(err, errlen, "processor %s: %s", ops->name, perr);
            if (ops->keys)
                conf_unbind(ops->keys, st->conf);
            free(st->conf);
            goto fail;
        }
        ch->n++;
    }
    return ch;
fail:
    chain_free(ch);
    return NULL;
}

struct chain *chain_new(const struct settings *s, struct state_store *store, char *err,
                        size_t errlen)
{
    return chain_build(s, store, s->pipeline.processors.n, err, errlen);
}

size_t chain_front_len(const struct settings *s)
{
    size_t n = 0;
    for (; n < s->pipeline.processors.n; n++) {
        const struct processor_ops *ops = processor_find(s->pipeline.processors.items[n]);
        if (!ops || ops->ordered)
            break;
    }
    return n;
}

struct chain *chain_new_front(const struct settings *s, char *err, size_t errlen)
{
    return chain_build(s, NULL, chain_front_len(s), err, errlen);
}

void chain_free(struct chain *ch)
{
    if (!ch)
        return;
    /* Reverse order of creation. */
    for (size_t i = ch->n; i-- > 0;) {
        struct stage *st = &ch->stages[i];
        st->ops->destroy(st->state);
        if (st->ops->keys)
            conf_unbind(st->ops->keys, st->conf);
        free(st->conf);
    }
    free(ch->stages);
    free(ch);
}

enum verdict chain_process(struct chain *ch, struct record *rec)
{
    return chain_process_from(ch, rec, 0);
}

enum verdict chain_process_from(struct chain *ch, struct record *rec, size_t from)
{
    for (size_t i = from; i < ch->n; i++) {
        struct stage *st = &ch->stages[i];
        uint64_t t0 = now_ns();
        enum verdict v = st->ops->process(st->state, rec);
        st->ns += now_ns() - t0;
        st->records++;
        if (v == VERDICT_DROP) {
            st->dropped++;
            return v;
        }
        if (v == VERDICT_REJECT) {
            st->rejected++;
            if (!rec->reject_code)
                record_reject(rec, "rejected", "rejected by processor %s", st->ops->name);
            return v;
        }
    }
    return VERDICT_KEEP;
}

void chain_tick(struct chain *ch, int64_t now_ms)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->stages[i].ops->tick)
            ch->stages[i].ops->tick(ch->stages[i].state, now_ms);
}

int chain_reload(struct chain *ch, char *err, size_t errlen)
{
    int rc = 0;
    size_t used = 0;

    if (errlen)
        err[0] = '\0';
    for (size_t i = 0; i < ch->n; i++) {
        struct stage *st = &ch->stages[i];
        char perr[512];
        if (!st->ops->reload)
            continue;
        if (st->ops->reload(st->state, perr, sizeof(perr)) < 0) {
            rc = -1;
            if (used < errlen) {
                int w = snprintf(err + used, errlen - used, "%s%s: %s", used ? "; " : "",
                                 st->ops->name, perr);
                used += w > 0 ? (size_t)w : 0;
            }
        }
    }
    return rc;
}

int chain_restore(struct chain *ch, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    const char *slash = memchr(key, '/', klen);
    if (!slash)
        return -1;
    size_t nlen = (size_t)(slash - (const char *)key);
    for (size_t i = 0; i < ch->n; i++) {
        struct stage *st = &ch->stages[i];
        if (strlen(st->ops->name) == nlen && memcmp(st->ops->name, key, nlen) == 0) {
            if (!st->ops->restore)
                return -1;
            return st->ops->restore(st->state, slash + 1, klen - nlen - 1, val, vlen);
        }
    }
    return -1;      /* state of a processor no longer in the chain */
}

/* Adds the integer counters of src to those of the same name in dst;
 * anything else dst lacks is copied. */
static void add_counters(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (!d)
            json_object_set(dst, k, v);
        else if (json_is_integer(d) && json_is_integer(v))
            json_integer_set(d, json_integer_value(d) + json_integer_value(v));
    }
}

void chain_stats(struct chain *ch, json_t *out)
{
    json_t *procs = json_object_get(out, "processors");
    if (!procs) {
        procs = json_object();
        json_object_set_new(out, "processors", procs);
    }
    for (size_t i = 0; i < ch->n; i++) {
        struct stage *st = &ch->stages[i];
        json_t *o = json_pack("{s:I,s:I,s:I,s:I}", "records", (json_int_t)st->records,
                              "dropped", (json_int_t)st->dropped, "rejected",
                              (json_int_t)st->rejected, "ns_total", (json_int_t)st->ns);
        if (!o)
            continue;
        if (st->ops->stats)
            st->ops->stats(st->state, o);
        json_t *have = json_object_get(procs, st->ops->name);
        if (have) {
            add_counters(have, o);
            json_decref(o);
        } else {
            json_object_set_new(procs, st->ops->name, o);
        }
    }
}

size_t chain_count(const struct chain *ch)
{
    return ch->n;
}

const char *chain_name(const struct chain *ch, size_t i)
{
    return i < ch->n ? ch->stages[i].ops->name : NULL;
}
