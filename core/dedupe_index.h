/*
 * dedupe_index.h - the bounded memory of stories seen, for the dedupe
 * processor.
 *
 * Entries live in a ring in insertion order, so "evict the oldest" is
 * advancing the tail and needs no search. Every entry is linked into
 * MINHASH_BANDS band chains (LSH candidates) and one id chain. A chain is
 * a singly linked list, newest first, whose links are the low 32 bits of
 * entry sequence numbers: evicting an entry unlinks nothing, because a walk
 * stops at the first link that points outside the live part of the ring,
 * and everything after it is older still. Walks are capped (probe_limit),
 * so a lookup costs the same with 1k or 1M entries remembered, even when a
 * common shingle piles thousands of entries into one bucket.
 *
 * Ids (and cluster ids) live in a byte ring next to the entries, evicted in
 * the same order. Memory is allocated once, in dedupe_index_new().
 * Single-threaded: one instance belongs to one processor instance.
 */
#ifndef WS_DEDUPE_INDEX_H
#define WS_DEDUPE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "minhash.h"

#define DEDUPE_ENTRY_DEAD 0x1   /* tombstoned during restore: never matches */

struct dedupe_entry {
    int64_t event_ms;
    uint64_t body_hash;
    uint32_t id_hash;       /* upper half of the id's hash (0: no id) */
    uint32_t aoff;          /* id, then cluster id, in the string ring */
    uint32_t root;          /* link toward the entry that keeps the story's count
                               (itself for that entry; the caller decides which) */
    uint32_t size;          /* cluster size: live on the count keeper, a snapshot on others */
    uint16_t nshingles;     /* distinct shingles, capped at 65535 */
    uint16_t id_len;
    uint16_t cl_len;        /* 0: the cluster is this entry's own id */
    uint8_t flags;
    uint8_t shift;          /* sketch window (struct minhash) */
    uint8_t check[MINHASH_CHECK_BYTES];   /* band key residues: candidate filter */
    uint8_t sketch[MINHASH_SKETCH_BYTES]; /* bottom-k sketch: verification */
};                          /* 128 bytes */

struct dedupe_index;

/* Called for each entry pushed out (capacity, string space or expiry),
 * just before it goes. */
typedef void (*dedupe_evict_fn)(void *opaque, const struct dedupe_index *idx,
                                const struct dedupe_entry *e);

/* cap entries, arena_bytes for ids (at least 1024). NULL on allocation
 * failure. The callback may be NULL. */
struct dedupe_index *dedupe_index_new(size_t cap, size_t arena_bytes,
                                      dedupe_evict_fn on_evict, void *opaque);
void dedupe_index_free(struct dedupe_index *idx);   /* accepts NULL */

/* Bytes held per configured entry for a given capacity and arena
 * allowance, for sizing from a memory budget. */
size_t dedupe_index_bytes_for(size_t cap, size_t arena_bytes);
size_t dedupe_index_bytes(const struct dedupe_index *idx);   /* allocated */
size_t dedupe_index_count(const struct dedupe_index *idx);
size_t dedupe_index_capacity(const struct dedupe_index *idx);
uint64_t dedupe_index_evictions(const struct dedupe_index *idx);

/*
 * Remembers a fingerprint under id (idlen <= 65535) and cluster id (cllen
 * == 0: the entry starts its own story). root is the sequence number the
 * new entry's root link points to, or 0 (or cllen == 0) to link it to
 * itself; size is its cluster size (0 counts as 1). Evicts the
 * oldest entries when the ring or the string space is full. Returns the
 * new entry's sequence number (never 0), 0 if the strings cannot fit.
 */
uint64_t dedupe_index_insert(struct dedupe_index *idx, const struct minhash *mh,
                             int64_t event_ms, const char *id, size_t idlen,
                             const char *cluster, size_t cllen,
                             uint64_t root, uint32_t size);

/* The live entry with sequence number seq, or NULL. The pointer is valid
 * until the next insert/expire. */
struct dedupe_entry *dedupe_index_get(const struct dedupe_index *idx, uint64_t seq);
uint64_t dedupe_index_seq_of(const struct dedupe_index *idx, const struct dedupe_entry *e);

/* The entry e's root link points to if it is still remembered (possibly
 * e itself), else NULL. */
struct dedupe_entry *dedupe_index_root(const struct dedupe_index *idx,
                                       const struct dedupe_entry *e);
void dedupe_index_set_root(struct dedupe_index *idx, struct dedupe_entry *e,
                           const struct dedupe_entry *root);

/* Strings of an entry (not NUL-terminated). */
const char *dedupe_entry_id(const struct dedupe_index *idx, const struct dedupe_entry *e);
const char *dedupe_entry_cluster(const struct dedupe_index *idx,
                                 const struct dedupe_entry *e, size_t *len);

/* A candidate and how it was met. */
struct dedupe_candidate {
    uint64_t seq;
    uint8_t bands;      /* bands whose walk met it (at most MINHASH_BANDS) */
    uint8_t band;       /* the first of them */
    uint8_t crowded;    /* met in one band only, whose chain went on past
                           probe_limit: a band key many stories share */
};

/*
 * Candidates for mh: live entries sharing at least one band, each once, at
 * most probe_limit entries walked per band, newest first. Writes up to max
 * candidates to out and returns the count. The order of the list is not
 * specified (the bands are walked in step when the list cannot fill; when
 * it can, `crowded` is left 0, because a walk cut short by a full list
 * says nothing about its chain).
 */
size_t dedupe_index_candidates(const struct dedupe_index *idx, const struct minhash *mh,
                               unsigned probe_limit, struct dedupe_candidate *out, size_t max);

/* The newest live (not dead) entry with this id, or 0. */
uint64_t dedupe_index_find_id(const struct dedupe_index *idx, const char *id, size_t len);

/* Evicts from the oldest end while event_ms < cutoff_ms. Entries that
 * arrived out of order may stay behind a newer one; callers also check
 * the time of each candidate. */
void dedupe_index_expire(struct dedupe_index *idx, int64_t cutoff_ms);

/* The id hash used by the id chain (text_hash64 of the bytes). */
uint64_t dedupe_index_id_hash(const char *id, size_t len);

#endif
