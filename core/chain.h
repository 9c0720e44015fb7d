/*
 * chain.h - the ordered processor chain built from the configuration.
 *
 * The chain owns each processor's bound configuration and state. A chain
 * runs on one thread at a time; copies of its front may run on others
 * (chain_new_front(), core/workers.c). State persistence is namespaced: each
 * processor's keys are stored as "<processor name>/<key>" so that one
 * store (a compacted topic, a file) serves every stateful processor.
 */
#ifndef WS_CHAIN_H
#define WS_CHAIN_H

#include <jansson.h>

#include "../processors/processor.h"
#include "settings.h"

struct chain;

/* Builds the chain named by [pipeline] processors. store may be NULL. */
struct chain *chain_new(const struct settings *s, struct state_store *store,
                        char *err, size_t errlen);
void chain_free(struct chain *ch);         /* accepts NULL */

/* Runs every processor on rec until one drops or rejects it. */
enum verdict chain_process(struct chain *ch, struct record *rec);

/* The same from the processor at index `from` on: the ones before it ran
 * elsewhere (a copy of the front, on a worker thread). */
enum verdict chain_process_from(struct chain *ch, struct record *rec, size_t from);

/* How many processors lead the chain before the first ordered one (see
 * processor_ops.ordered): those may run as copies on other threads. */
size_t chain_front_len(const struct settings *s);

/* A chain of only those, without state persistence: one per worker thread. */
struct chain *chain_new_front(const struct settings *s, char *err, size_t errlen);

void chain_tick(struct chain *ch, int64_t now_ms);

/* Reloads every processor's data files; a failure leaves that processor's
 * old data in place and is reported in err (the others still reload). */
int chain_reload(struct chain *ch, char *err, size_t errlen);

/* Routes one persisted entry ("name/key") to its processor. */
int chain_restore(struct chain *ch, const void *key, size_t klen,
                  const void *val, size_t vlen);

/* Adds {"processors": {name: {records, ns_total, ...}}} to out; when out
 * has them already (another copy of the front), the counters are summed. */
void chain_stats(struct chain *ch, json_t *out);

size_t chain_count(const struct chain *ch);
const char *chain_name(const struct chain *ch, size_t i);

#endif
