/*
 * offsets.c - in-flight offset tracking (see offsets.h).
 *
 * Each partition keeps its items in a FIFO in offset order. An item that
 * completes out of order stays in the queue, marked done, until every
 * item before it is done too; only then does the partition's position
 * advance past it. A consumer has few partitions, so partitions live in
 * a plain list.
 */
#include <stdlib.h>
#include <string.h>

#include "offsets.h"

struct opart;

struct offset_item {
    struct opart *part;
    struct offset_item *next;
    int64_t offset;
    uint32_t holds;
    int64_t time_ms;          /* offsets_set_time(); 0: unset */
};

struct opart {
    struct opart *next;
    char *topic;
    int32_t partition;
    int live;                   /* 0 once forgotten (revoked) */
    struct offset_item *head, *tail;
    size_t nitems;
    int64_t position;           /* last done + 1, or -1 */
    int64_t committed;          /* last committed position, or -1 */
};

struct offsets {
    struct opart *parts;        /* live partitions */
    struct opart *dead;         /* forgotten, waiting for their last items */
    size_t pending;
};

struct offsets *offsets_new(void)
{
    return calloc(1, sizeof(struct offsets));
}

static void part_free(struct opart *p)
{
    struct offset_item *it = p->head;
    while (it) {
        struct offset_item *next = it->next;
        free(it);
        it = next;
    }
    free(p->topic);
    free(p);
}

void offsets_free(struct offsets *o)
{
    if (!o)
        return;
    struct opart *lists[2] = {o->parts, o->dead};
    for (int i = 0; i < 2; i++) {
        struct opart *p = lists[i];
        while (p) {
            struct opart *next = p->next;
            part_free(p);
            p = next;
        }
    }
    free(o);
}

static struct opart *part_find(const struct offsets *o, const char *topic,
                               int32_t partition)
{
    for (struct opart *p = o->parts; p; p = p->next)
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    return NULL;
}

struct offset_item *offsets_track(struct offsets *o, const char *topic,
                                  int32_t partition, int64_t offset)
{
    struct opart *p = part_find(o, topic, partition);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p || !(p->topic = strdup(topic))) {
            free(p);
            return NULL;
        }
        p->partition = partition;
        p->live = 1;
        p->position = -1;
        p->committed = -1;
        p->next = o->parts;
        o->parts = p;
    }
    struct offset_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->part = p;
    it->offset = offset;
    it->holds = 1;
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->nitems++;
    o->pending++;
    return it;
}

void offsets_hold(struct offset_item *it)
{
    it->holds++;
}

static void unlink_dead(struct offsets *o, struct opart *p)
{
    for (struct opart **pp = &o->dead; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            part_free(p);
            return;
        }
}

int offsets_release(struct offsets *o, struct offset_item *it)
{
    if (!it || it->holds == 0)
        return 0;
    if (--it->holds > 0)
        return 0;
    o->pending--;
    struct opart *p = it->part;
    /* Advance over the completed prefix only. */
    while (p->head && p->head->holds == 0) {
        struct offset_item *done = p->head;
        p->head = done->next;
        if (!p->head)
            p->tail = NULL;
        p->position = done->offset + 1;
        p->nitems--;
        free(done);
    }
    if (!p->live && p->nitems == 0)
        unlink_dead(o, p);
    return 1;
}

void offsets_forget(struct offsets *o, const char *topic, int32_t partition)
{
    for (struct opart **pp = &o->parts; *pp; pp = &(*pp)->next) {
        struct opart *p = *pp;
        if (p->partition != partition || strcmp(p->topic, topic) != 0)
            continue;
        *pp = p->next;
        if (p->nitems == 0) {
            part_free(p);
        } else {
            p->live = 0;
            p->next = o->dead;
            o->dead = p;
        }
        return;
    }
}

size_t offsets_pending(const struct offsets *o)
{
    return o->pending;
}

size_t offsets_committable(const struct offsets *o, int all, offsets_fn fn,
                           void *arg)
{
    size_t n = 0;
    for (struct opart *p = o->parts; p; p = p->next) {
        if (p->position < 0 || (!all && p->position == p->committed))
            continue;
        fn(arg, p->topic, p->partition, p->position);
        n++;
    }
    return n;
}

size_t offsets_uncommitted(const struct offsets *o)
{
    size_t n = 0;
    for (const struct opart *p = o->parts; p; p = p->next)
        n += p->position >= 0 && p->position != p->committed;
    return n;
}

void offsets_mark_committed(struct offsets *o, const char *topic,
                            int32_t partition, int64_t next)
{
    struct opart *p = part_find(o, topic, partition);
    if (p && next > p->committed)
        p->committed = next;
}

int64_t offsets_position(const struct offsets *o, const char *topic,
                         int32_t partition)
{
    struct opart *p = part_find(o, topic, partition);
    return p ? p->position : -1;
}

void offsets_set_time(struct offset_item *it, int64_t ms)
{
    it->time_ms = ms;
}

int64_t offsets_time(const struct offset_item *it)
{
    return it->time_ms;
}
