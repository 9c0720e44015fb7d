/*
 * offsets.h - which input offsets are safe to commit.
 *
 * Every consumed message becomes one tracked item that stays "pending"
 * while anything it caused (output records, state writes) waits for the
 * broker's acknowledgement. Per partition, the committable position is the
 * offset after the last item of the longest completed prefix: a commit
 * never passes the lowest offset still in flight, whatever order the
 * acknowledgements arrive in.
 *
 * Threading: one thread (the pipeline's libevent loop) only.
 */
#ifndef WS_OFFSETS_H
#define WS_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct offsets;
struct offset_item;   /* valid from offsets_track() until its last release */

struct offsets *offsets_new(void);
/* Frees every partition and item, pending or not. Accepts NULL. */
void offsets_free(struct offsets *o);

/*
 * Starts tracking one consumed message with one hold (the processing
 * itself); the caller adds a hold per output with offsets_hold() and ends
 * each with offsets_release(). Offsets of one partition must be tracked in
 * increasing order (as the consumer delivers them). Returns NULL on
 * allocation failure.
 */
struct offset_item *offsets_track(struct offsets *o, const char *topic,
                                  int32_t partition, int64_t offset);
void offsets_hold(struct offset_item *it);
/* A timestamp carried by the item (the input message's, for the latency
 * histogram); 0 until set. Read it before the last release. */
void offsets_set_time(struct offset_item *it, int64_t ms);
int64_t offsets_time(const struct offset_item *it);
/* Drops one hold; at zero the item is done and may be freed (the pointer
 * must not be used after the caller's last release). Returns 1 when this
 * release completed the item, else 0. */
int offsets_release(struct offsets *o, struct offset_item *it);

/* Forgets a partition (revoked): nothing of it is committable any more;
 * items still pending stay valid until their last release. */
void offsets_forget(struct offsets *o, const char *topic, int32_t partition);

/* Items tracked and not yet done, over every partition. */
size_t offsets_pending(const struct offsets *o);

/*
 * Calls fn for every live partition whose committable position moved since
 * the last offsets_mark_committed() (or for every live partition with a
 * position when `all` is set). `next` is the offset to commit (last done
 * + 1). Returns the number of partitions reported.
 */
typedef void (*offsets_fn)(void *arg, const char *topic, int32_t partition,
                           int64_t next);
size_t offsets_committable(const struct offsets *o, int all, offsets_fn fn,
                           void *arg);
/* Records that `next` was committed for that partition. */
void offsets_mark_committed(struct offsets *o, const char *topic,
                            int32_t partition, int64_t next);

/* Live partitions whose position moved past their last confirmed commit. */
size_t offsets_uncommitted(const struct offsets *o);

/* Position (last done + 1) or -1 when nothing of it is done yet. */
int64_t offsets_position(const struct offsets *o, const char *topic,
                         int32_t partition);

#endif
