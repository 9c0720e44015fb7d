/*
 * processor.h - the interface every enrichment step implements.
 *
 * A processor is one file under processors/ that exports exactly one
 * symbol, its `struct processor_ops`, listed once in registry.c. The chain
 * (core/chain.c) binds the processor's `[processor.NAME]` configuration
 * section through `keys` into a zeroed struct of `conf_size` bytes, calls
 * init(), then process() for each record in input order.
 *
 * Threading: the callbacks of one instance run on one thread at a time;
 * none may block on the network. The processors ahead of the first
 * `ordered` one may have several instances, one per worker thread of
 * `run` and `process` ([pipeline] threads), each seeing some of the
 * records; the ordered one and all after it have a single instance that
 * sees every record in input order, on the main thread (the event loop in
 * `run`).
 */
#ifndef WS_PROCESSOR_H
#define WS_PROCESSOR_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../core/conf.h"
#include "../core/record.h"

enum verdict {
    VERDICT_KEEP = 0,  /* continue down the chain */
    VERDICT_DROP,      /* deliberately kept out of the enriched topics (an
                          exact duplicate by default); a record that is not
                          unique still goes to the duplicates topic unless
                          [output] duplicates = drop */
    VERDICT_REJECT,    /* bad input: record_reject() set the reason; it goes
                          to the dead-letter topic / stderr */
};

/*
 * Durable key/value state for processors that must survive restarts
 * (dedupe). In `run` it is a compacted Kafka topic, in `process` a file.
 * put() with val == NULL writes a tombstone. The store copies key and value.
 * Returns 0, -1 on failure.
 */
struct state_store {
    void *opaque;
    int (*put)(void *opaque, const void *key, size_t klen,
               const void *val, size_t vlen);
};

struct processor_env {
    const struct conf_file *cf;      /* for resolving data file paths */
    struct state_store *store;       /* NULL when state is not persisted */
};

struct processor_ops {
    const char *name;
    const char *summary;              /* one line for `wirestream help` */
    const struct conf_key *keys;      /* NULL-name terminated */
    size_t conf_size;
    /* 1: keeps state across records (dedupe), so a single instance must
     * see every record, in input order. 0: copies may run side by side. */
    int ordered;

    /* Creates the state from a bound configuration. `conf` is owned by the
     * chain and stays valid until destroy(). 0, or -1 with err filled. */
    int (*init)(void **state, const void *conf,
                const struct processor_env *env, char *err, size_t errlen);

    /* Processes one record in place. */
    enum verdict (*process)(void *state, struct record *rec);

    /* Periodic housekeeping (expiry); now_ms is wall-clock. May be NULL. */
    void (*tick)(void *state, int64_t now_ms);

    /* Re-reads data files (SIGHUP). Builds the new data completely before
     * swapping it in; on failure the old data stays and err says why.
     * May be NULL (nothing to reload). */
    int (*reload)(void *state, char *err, size_t errlen);

    /* Feeds one entry of persisted state back, before any record
     * (val == NULL: a tombstone). May be NULL. */
    int (*restore)(void *state, const void *key, size_t klen,
                   const void *val, size_t vlen);

    /* Adds counters to `out` (a JSON object owned by the caller). May be
     * NULL. */
    void (*stats)(void *state, json_t *out);

    void (*destroy)(void *state);     /* accepts NULL */
};

/* registry.c: every built-in processor, NULL-terminated. */
extern const struct processor_ops *const processor_registry[];
const struct processor_ops *processor_find(const char *name);

#endif
