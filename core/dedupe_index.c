/*
 * dedupe_index.c - ring of remembered fingerprints with LSH band chains
 * and an id chain; see dedupe_index.h for the layout and its invariants.
 */
#include <stdlib.h>
#include <string.h>

#include "dedupe_index.h"

#define NCHAIN   (MINHASH_BANDS + 1)
#define ID_CHAIN MINHASH_BANDS
#define ID_PROBE_LIMIT 64

/* The per-entry budget (docs/dedupe.md) counts on this. */
_Static_assert(sizeof(struct dedupe_entry) == 128, "dedupe_entry grew");

struct dedupe_index {
    size_t cap;
    struct dedupe_entry *ent;   /* cap slots; seq s lives in slot s % cap */
    uint32_t *next;             /* cap * NCHAIN links, per slot contiguous */
    uint32_t *heads;            /* NCHAIN * hsize links, 0 = empty */
    size_t hsize;
    char *arena;                /* ids, a byte ring in entry order */
    size_t asize;
    size_t ahead;
    uint64_t next_seq;          /* the next entry's seq; seqs start at 1 */
    size_t next_slot;           /* next_seq % cap, kept as entries go in */
    size_t count;               /* live entries: seqs [next_seq-count, next_seq) */
    uint64_t evictions;
    dedupe_evict_fn on_evict;
    void *opaque;
};

static size_t heads_for(size_t cap)
{
    /* About four entries per bucket: walks are capped by probe_limit and
     * the check residue skips most strangers, so a short head table costs
     * little and leaves the bytes to the sketch. */
    size_t h = 16;
    while (h < cap / 4)
        h <<= 1;
    return h;
}

size_t dedupe_index_bytes_for(size_t cap, size_t arena_bytes)
{
    return cap * (sizeof(struct dedupe_entry) + NCHAIN * sizeof(uint32_t)) +
           NCHAIN * heads_for(cap) * sizeof(uint32_t) + arena_bytes;
}

struct dedupe_index *dedupe_index_new(size_t cap, size_t arena_bytes,
                                      dedupe_evict_fn on_evict, void *opaque)
{
    if (cap < 1 || cap > UINT32_MAX / 2 || arena_bytes < 1024 || arena_bytes > UINT32_MAX)
        return NULL;
    struct dedupe_index *idx = calloc(1, sizeof(*idx));
    if (!idx)
        return NULL;
    idx->cap = cap;
    idx->hsize = heads_for(cap);
    idx->asize = arena_bytes;
    idx->next_seq = 1;
    idx->next_slot = 1 % cap;
    idx->on_evict = on_evict;
    idx->opaque = opaque;
    /* calloc: large blocks come from mmap, so untouched parts cost nothing
     * until the ring fills. */
    idx->ent = calloc(cap, sizeof(*idx->ent));
    idx->next = calloc(cap * NCHAIN, sizeof(uint32_t));
    idx->heads = calloc(NCHAIN * idx->hsize, sizeof(uint32_t));
    idx->arena = malloc(arena_bytes);
    if (!idx->ent || !idx->next || !idx->heads || !idx->arena) {
        dedupe_index_free(idx);
        return NULL;
    }
    return idx;
}

void dedupe_index_free(struct dedupe_index *idx)
{
    if (!idx)
        return;
    free(idx->ent);
    free(idx->next);
    free(idx->heads);
    free(idx->arena);
    free(idx);
}

size_t dedupe_index_bytes(const struct dedupe_index *idx)
{
    return dedupe_index_bytes_for(idx->cap, idx->asize);
}

size_t dedupe_index_count(const struct dedupe_index *idx) { return idx->count; }
size_t dedupe_index_capacity(const struct dedupe_index *idx) { return idx->cap; }
uint64_t dedupe_index_evictions(const struct dedupe_index *idx) { return idx->evictions; }

uint64_t dedupe_index_id_hash(const char *id, size_t len)
{
    return text_hash64(id, len);
}

/* The live seq whose low 32 bits are link, or 0. */
static uint64_t resolve(const struct dedupe_index *idx, uint32_t link)
{
    uint32_t d = (uint32_t)idx->next_seq - link;
    if (d == 0 || d > idx->count)
        return 0;
    return idx->next_seq - d;
}

/* The ring slot of a live seq (next_seq - count <= seq < next_seq), that is
 * seq % cap, counted back from the next slot: a lookup walks 16 chains of
 * up to probe_limit entries with two or three of these per step, and a
 * 64-bit division for each was most of the walk's time. */
static inline size_t slot_index(const struct dedupe_index *idx, uint64_t seq)
{
    size_t back = (size_t)(idx->next_seq - seq);          /* 1 .. count <= cap */
    size_t s = idx->next_slot - back;
    return idx->next_slot >= back ? s : s + idx->cap;
}

static struct dedupe_entry *slot_of(const struct dedupe_index *idx, uint64_t seq)
{
    return &idx->ent[slot_index(idx, seq)];
}

struct dedupe_entry *dedupe_index_get(const struct dedupe_index *idx, uint64_t seq)
{
    if (seq >= idx->next_seq || seq < idx->next_seq - idx->count)
        return NULL;
    return slot_of(idx, seq);
}

uint64_t dedupe_index_seq_of(const struct dedupe_index *idx, const struct dedupe_entry *e)
{
    /* Counted back from the next slot, like slot_index(). */
    size_t slot = (size_t)(e - idx->ent);
    size_t back = idx->next_slot > slot ? idx->next_slot - slot
                                        : idx->next_slot + idx->cap - slot;
    return idx->next_seq - back;
}

struct dedupe_entry *dedupe_index_root(const struct dedupe_index *idx,
                                       const struct dedupe_entry *e)
{
    uint64_t seq = resolve(idx, e->root);
    return seq ? slot_of(idx, seq) : NULL;
}

void dedupe_index_set_root(struct dedupe_index *idx, struct dedupe_entry *e,
                           const struct dedupe_entry *root)
{
    e->root = (uint32_t)dedupe_index_seq_of(idx, root);
}

const char *dedupe_entry_id(const struct dedupe_index *idx, const struct dedupe_entry *e)
{
    return idx->arena + e->aoff;
}

const char *dedupe_entry_cluster(const struct dedupe_index *idx,
                                 const struct dedupe_entry *e, size_t *len)
{
    if (e->cl_len) {
        *len = e->cl_len;
        return idx->arena + e->aoff + e->id_len;
    }
    *len = e->id_len;
    return idx->arena + e->aoff;
}

static size_t band_bucket(const struct dedupe_index *idx, unsigned band, uint32_t v)
{
    return (size_t)(minhash_mix64(((uint64_t)band << 32) | v) & (idx->hsize - 1));
}

static void evict_oldest(struct dedupe_index *idx)
{
    struct dedupe_entry *e = slot_of(idx, idx->next_seq - idx->count);
    if (idx->on_evict)
        idx->on_evict(idx->opaque, idx, e);
    idx->count--;
    idx->evictions++;
}

/* Finds len contiguous bytes in the string ring, evicting the oldest
 * entries until they fit. Live strings are [tail, ahead) or, wrapped,
 * [tail, end) + [0, ahead); the strict comparisons keep ahead != tail while
 * strings are live, so the two cases never look alike. */
static size_t arena_alloc(struct dedupe_index *idx, size_t len)
{
    for (;;) {
        if (idx->count == 0) {
            idx->ahead = 0;
            return 0;
        }
        size_t tail = slot_of(idx, idx->next_seq - idx->count)->aoff;
        if (idx->ahead >= tail) {
            if (idx->asize - idx->ahead >= len)
                return idx->ahead;
            if (len < tail)
                return 0;                 /* wrap; the end stays unused */
        } else if (tail - idx->ahead > len) {
            return idx->ahead;
        }
        evict_oldest(idx);
    }
}

uint64_t dedupe_index_insert(struct dedupe_index *idx, const struct minhash *mh,
                             int64_t event_ms, const char *id, size_t idlen,
                             const char *cluster, size_t cllen,
                             uint64_t root, uint32_t size)
{
    if (idlen > UINT16_MAX || cllen > UINT16_MAX || idlen + cllen > idx->asize / 2)
        return 0;
    if (idx->count == idx->cap)
        evict_oldest(idx);
    size_t off = arena_alloc(idx, idlen + cllen);
    if (idlen)
        memcpy(idx->arena + off, id, idlen);
    if (cllen)
        memcpy(idx->arena + off + idlen, cluster, cllen);
    idx->ahead = off + idlen + cllen;

    uint64_t seq = idx->next_seq;
    size_t slot = idx->next_slot;
    struct dedupe_entry *e = &idx->ent[slot];
    memset(e, 0, sizeof(*e));
    e->event_ms = event_ms;
    e->body_hash = mh->body_hash;
    e->aoff = (uint32_t)off;
    e->id_len = (uint16_t)idlen;
    e->cl_len = (uint16_t)cllen;
    e->nshingles = mh->nshingles > UINT16_MAX ? UINT16_MAX : (uint16_t)mh->nshingles;
    e->shift = mh->shift;
    memcpy(e->check, mh->check, sizeof(e->check));
    memcpy(e->sketch, mh->sketch, sizeof(e->sketch));
    if (cllen && root) {
        e->root = (uint32_t)root;
        e->size = size;
    } else {
        e->root = (uint32_t)seq;
        e->size = size ? size : 1;
    }

    uint32_t *nx = &idx->next[slot * NCHAIN];
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        uint32_t *h = &idx->heads[j * idx->hsize + band_bucket(idx, j, mh->bands[j])];
        nx[j] = *h;
        *h = (uint32_t)seq;
    }
    nx[ID_CHAIN] = 0;
    if (idlen) {
        uint64_t ih = dedupe_index_id_hash(id, idlen);
        e->id_hash = (uint32_t)(ih >> 32) | 1;
        uint32_t *h = &idx->heads[ID_CHAIN * idx->hsize + (ih & (idx->hsize - 1))];
        nx[ID_CHAIN] = *h;
        *h = (uint32_t)seq;
    }
    idx->next_seq++;
    idx->next_slot = slot + 1 == idx->cap ? 0 : slot + 1;
    idx->count++;
    return seq;
}

/* Where seq is among out[0..n) (index + 1), or 0. The same entry turns up
 * in several bands (a near duplicate shares many), so a 256-bit filter on
 * the sequence number answers most "not yet" without scanning the list. */
static size_t find_seen(const struct dedupe_candidate *out, size_t n, uint64_t seq,
                        uint64_t filter[4])
{
    unsigned b = (unsigned)(seq & 255);
    if (!((filter[b >> 6] >> (b & 63)) & 1)) {
        filter[b >> 6] |= 1ULL << (b & 63);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i].seq == seq)
            return i + 1;
    return 0;
}

/* Adds seq, met in band j, to out[0..*n) or counts the band for it. */
static inline void meet(struct dedupe_candidate *out, size_t *n, uint64_t seq, unsigned j,
                        uint64_t filter[4])
{
    size_t at = find_seen(out, *n, seq, filter);
    if (at) {
        out[at - 1].bands++;
        return;
    }
    out[*n] = (struct dedupe_candidate){seq, 1, (uint8_t)j, 0};
    (*n)++;
}

/* Whether an entry met in band j's bucket is a candidate: the band key's
 * residue must agree (a cheap filter for entries that only share the
 * bucket) and the entry must be live. */
static inline int is_candidate(const struct dedupe_entry *e, unsigned j, unsigned want)
{
    return minhash_nibble(e->check, j) == want && !(e->flags & DEDUPE_ENTRY_DEAD);
}

/* One band's walk: band-major, the old order (used when the list may fill
 * up, so that which entries make it stays what it was). */
static size_t walk_band(const struct dedupe_index *idx, const struct minhash *mh, unsigned j,
                        uint32_t link, unsigned probe_limit, struct dedupe_candidate *out,
                        size_t n, size_t max, uint64_t filter[4])
{
    unsigned want = minhash_nibble(mh->check, j);
    uint64_t prev = UINT64_MAX;
    for (unsigned steps = 0; steps < probe_limit && n < max; steps++) {
        uint64_t seq = resolve(idx, link);
        if (!seq || seq >= prev)      /* evicted, or a stale link */
            break;
        prev = seq;
        if (is_candidate(slot_of(idx, seq), j, want))
            meet(out, &n, seq, j, filter);
        link = idx->next[slot_index(idx, seq) * NCHAIN + j];
    }
    return n;
}

size_t dedupe_index_candidates(const struct dedupe_index *idx, const struct minhash *mh,
                               unsigned probe_limit, struct dedupe_candidate *out, size_t max)
{
    size_t n = 0;
    uint64_t filter[4] = {0};
    uint32_t *heads[MINHASH_BANDS];
    /* The buckets are 16 cache misses with a large index: ask for them
     * all before waiting for the first. */
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        heads[j] = &idx->heads[j * idx->hsize + band_bucket(idx, j, mh->bands[j])];
        __builtin_prefetch(heads[j]);
    }
    if ((size_t)probe_limit * MINHASH_BANDS > max) {
        for (unsigned j = 0; j < MINHASH_BANDS && n < max; j++)
            n = walk_band(idx, mh, j, *heads[j], probe_limit, out, n, max, filter);
        return n;
    }
    /* The list cannot fill up: the 16 walks go in step, one entry of each
     * per round, so that their cache misses (an entry, then its link, in a
     * large index) overlap instead of following each other. The same
     * entries come out as band by band, in another order. */
    uint64_t seq[MINHASH_BANDS], prev[MINHASH_BANDS];
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        seq[j] = resolve(idx, *heads[j]);
        prev[j] = UINT64_MAX;
        if (seq[j]) {
            __builtin_prefetch(slot_of(idx, seq[j]));
            __builtin_prefetch(&idx->next[slot_index(idx, seq[j]) * NCHAIN + j]);
        }
    }
    unsigned steps = 0;
    for (; steps < probe_limit; steps++) {
        int live = 0;
        for (unsigned j = 0; j < MINHASH_BANDS; j++) {
            uint64_t s = seq[j];
            if (!s || s >= prev[j])       /* evicted, or a stale link */
                continue;
            live = 1;
            prev[j] = s;
            if (is_candidate(slot_of(idx, s), j, minhash_nibble(mh->check, j)))
                meet(out, &n, s, j, filter);
            uint64_t next = resolve(idx, idx->next[slot_index(idx, s) * NCHAIN + j]);
            seq[j] = next;
            if (next && steps + 1 < probe_limit) {
                __builtin_prefetch(slot_of(idx, next));
                __builtin_prefetch(&idx->next[slot_index(idx, next) * NCHAIN + j]);
            }
        }
        if (!live)
            break;
    }
    /* A band's chain is crowded when a live entry still follows the last
     * one walked. */
    uint32_t crowded = 0;
    if (steps == probe_limit)
        for (unsigned j = 0; j < MINHASH_BANDS; j++)
            if (seq[j] && seq[j] < prev[j])
                crowded |= 1u << j;
    for (size_t i = 0; i < n; i++)
        out[i].crowded = out[i].bands == 1 && ((crowded >> out[i].band) & 1);
    return n;
}

uint64_t dedupe_index_find_id(const struct dedupe_index *idx, const char *id, size_t len)
{
    if (!len)
        return 0;
    uint64_t ih = dedupe_index_id_hash(id, len);
    uint32_t check = (uint32_t)(ih >> 32) | 1;
    uint32_t link = idx->heads[ID_CHAIN * idx->hsize + (ih & (idx->hsize - 1))];
    uint64_t prev = UINT64_MAX;
    for (unsigned steps = 0; steps < ID_PROBE_LIMIT; steps++) {
        uint64_t seq = resolve(idx, link);
        if (!seq || seq >= prev)
            break;
        prev = seq;
        const struct dedupe_entry *e = slot_of(idx, seq);
        if (e->id_hash == check && e->id_len == len && !(e->flags & DEDUPE_ENTRY_DEAD) &&
            memcmp(idx->arena + e->aoff, id, len) == 0)
            return seq;
        link = idx->next[slot_index(idx, seq) * NCHAIN + ID_CHAIN];
    }
    return 0;
}

void dedupe_index_expire(struct dedupe_index *idx, int64_t cutoff_ms)
{
    while (idx->count && slot_of(idx, idx->next_seq - idx->count)->event_ms < cutoff_ms)
        evict_oldest(idx);
}
