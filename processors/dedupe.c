/*
 * dedupe.c - marks exact and near duplicates and groups a story's versions.
 *
 * Exact: the same token stream (the cleaned body with whitespace, quotes and
 * punctuation folded by the tokenizer) or the same id as an article still
 * remembered. Near: a rewrite, truncation or excerpt of one, found through
 * MinHash LSH bands (core/minhash.h, core/dedupe_index.h) and verified
 * against each candidate's bottom-k sketch with the article's whole shingle
 * set: resemblance, or containment when it is significantly above noise. Every record gets a cluster: the
 * id of its story's first article. Time is event time only (article date,
 * else message timestamp, else the newest seen), so a replay decides
 * exactly as live traffic did. State goes to env->store as it changes and
 * comes back through restore(); the encoding is described at encode_entry().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "../core/dedupe_index.h"
#include "../core/log.h"
#include "../core/minhash.h"

#define MOD "dedupe"
#define DAY_MS (24LL * 3600 * 1000)
#define MAX_CANDIDATES 256
#define PREFETCH_AHEAD 4   /* candidates ahead whose sketch is prefetched */
/* Decoded sketches kept, direct-mapped by sequence number (2.2 MB). The
 * entries in the buckets of band keys that boilerplate shingles make common
 * are candidates for article after article, and decoding is most of a
 * comparison's cost. On the 100k-article bench corpus 94.5% of comparisons
 * meet a cached sketch (80.6% with 4,096 slots, 99.1% with 65,536). */
#define SKETCH_CACHE 16384

struct decoded_sketch {
    uint64_t seq;                 /* 0: empty (sequence numbers start at 1) */
    unsigned n;
    uint16_t v[MINHASH_SKETCH];
};
#define ENTRY_COUNTED 0x2   /* a count record was written: tombstone it too */
#define ENTRY_UNLINKED 0x4  /* restored before its story's root: link on first use */
/* Both estimates are shares of sampled shingles (32 remembered ones, or
 * fewer for containment when a short article meets a long one), and
 * unrelated stories written from the same phrases really do share 10-15 %
 * of their shingles (containment up to 0.3). A match must therefore also
 * be significant: the Wilson lower bound of the share, at these many
 * standard deviations, must reach the configured floor. The resemblance
 * sample always holds at least 32 shingles, so it needs less margin than
 * containment, whose sample can be a handful. */
#define JACCARD_Z 2.0
#define CONTAIN_Z 3.0
/* A set grown past this many keys by a huge body is released after use. */
#define SET_KEEP 65536

struct dedupe_conf {
    int64_t window;
    int64_t max_entries;
    int64_t memory_budget;
    int64_t id_bytes;
    double threshold;
    double containment;
    double jaccard_floor;
    double containment_floor;
    int64_t min_shingles;
    int64_t shingle_size;
    int64_t probe_limit;
    int skip_strangers;
    int drop_exact;
    int publish_near;
    int tombstones;
};

#define K(field) offsetof(struct dedupe_conf, field)

static const struct conf_key dedupe_keys[] = {
    {"window", CONF_DURATION, "72h", K(window),
     "how long a story is remembered, in event time (article date, else message timestamp)"},
    {"max_entries", CONF_INT, "1000000", K(max_entries),
     "most articles remembered; the oldest are evicted first"},
    {"memory_budget", CONF_SIZE, "256MiB", K(memory_budget),
     "memory for the index, ids included; lowers max_entries when smaller (0: no limit)"},
    {"id_bytes", CONF_INT, "40", K(id_bytes),
     "average id + cluster id bytes reserved per entry (longer ids evict sooner)"},
    {"threshold", CONF_DOUBLE, "0.25", K(threshold),
     "estimated word-shingle Jaccard at or above which two bodies are near duplicates"},
    {"containment", CONF_DOUBLE, "0.5", K(containment),
     "estimated share of the shorter body's shingles found in the longer one at or above "
     "which it is a near duplicate (truncated copies, excerpts)"},
    {"jaccard_floor", CONF_DOUBLE, "0.18", K(jaccard_floor),
     "a resemblance match also needs its lower confidence bound (2 sigma) at or above this: "
     "the share of shingles unrelated stories can have in common"},
    {"containment_floor", CONF_DOUBLE, "0.35", K(containment_floor),
     "a containment match also needs its lower confidence bound (3 sigma) at or above this, "
     "unless every shingle of the shorter body was compared"},
    {"min_shingles", CONF_INT, "12", K(min_shingles),
     "bodies with fewer distinct shingles are only checked for exact duplicates"},
    {"shingle_size", CONF_INT, "3", K(shingle_size), "words per shingle (1-8)"},
    {"probe_limit", CONF_INT, "8", K(probe_limit),
     "entries examined per LSH band and lookup: bounds the lookup cost"},
    {"skip_strangers", CONF_BOOL, "true", K(skip_strangers),
     "do not compare a candidate met only through one band key that more than probe_limit "
     "stories share, when at most 3 of its 16 band residues agree and its body is within "
     "a factor of 2 of the article's length (a common phrase, not a version)"},
    {"drop_exact", CONF_BOOL, "true", K(drop_exact),
     "exact duplicates are dropped (not published); false publishes them marked"},
    {"publish_near", CONF_BOOL, "true", K(publish_near),
     "near duplicates are published with their link (and routed to news.duplicates); "
     "false drops them"},
    {"tombstones", CONF_BOOL, "true", K(tombstones),
     "write a tombstone to the state store when an entry is evicted"},
    {NULL, 0, NULL, 0, NULL},
};

struct dedupe {
    const struct dedupe_conf *conf;
    struct state_store *store;
    struct minhash_ctx *mh;
    struct dedupe_index *idx;
    struct minhash_set set;       /* the current article's shingles */
    struct decoded_sketch *sketches;   /* SKETCH_CACHE slots */
    int64_t watermark;            /* newest event time seen */
    int in_restore;               /* no writes while the state is replayed */
    char *key;                    /* "e:" / "n:" + id */
    unsigned char *val;
    uint64_t n_unique, n_exact, n_near, n_restored, n_restore_skipped, n_store_errors;
    uint64_t n_errors;              /* records rejected: out of memory */
    uint64_t n_restore_old;       /* entries of an older format, skipped */
    uint64_t n_compared;          /* sketch comparisons */
    uint64_t n_strangers;         /* candidates not compared (skip_strangers) */
};

/* ---- persistence ----------------------------------------------------- */

#define ENTRY_MAGIC "WSD\x02"
#define ENTRY_MAGIC_V1 "WSD\x01"
#define COUNT_MAGIC "WSC\x01"
#define ENTRY_FIXED 178
#define MAX_ID 65535

static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * Entry value, version 2, little-endian (key "e:" + id):
 *   0  "WSD" 0x02          magic and version
 *   4  u8 shingle size, u8 bands, u8 most sketch values, u8 sketch bytes
 *                          (an entry fingerprinted otherwise is skipped)
 *   8  i64 event time, ms since the epoch
 *  16  u64 body hash
 *  24  u32 cluster size (a snapshot)
 *  28  u16 distinct shingles, u16 cluster id length (0: the entry's own id)
 *  32  u32 band minima [16] (the check residues are derived from them)
 *  96  u8 sketch shift, u8 0
 *  98  coded sketch [80] (core/minhash.h: minhash_sketch_decode)
 * 178  cluster id bytes
 * Count value (key "n:" + id): "WSC" 0x01, u32 cluster size.
 * Version 1 (b-bit signatures) cannot be converted: such entries are
 * skipped on restore, and their stories forgotten.
 */
static size_t encode_entry(const struct dedupe *st, const struct minhash *mh,
                           const struct dedupe_entry *e, const char *cl, size_t cllen)
{
    unsigned char *p = st->val;
    memset(p, 0, ENTRY_FIXED);
    memcpy(p, ENTRY_MAGIC, 4);
    p[4] = (unsigned char)st->conf->shingle_size;
    p[5] = MINHASH_BANDS;
    p[6] = MINHASH_SKETCH;
    p[7] = MINHASH_SKETCH_BYTES;
    put_u64(p + 8, (uint64_t)e->event_ms);
    put_u64(p + 16, e->body_hash);
    put_u32(p + 24, e->size);
    put_u16(p + 28, e->nshingles);
    put_u16(p + 30, (uint16_t)cllen);
    for (unsigned j = 0; j < MINHASH_BANDS; j++)
        put_u32(p + 32 + 4 * (size_t)j, mh->bands[j]);
    p[96] = e->shift;
    memcpy(p + 98, e->sketch, MINHASH_SKETCH_BYTES);
    memcpy(p + ENTRY_FIXED, cl, cllen);
    return ENTRY_FIXED + cllen;
}

static size_t make_key(struct dedupe *st, char kind, const char *id, size_t len)
{
    st->key[0] = kind;
    st->key[1] = ':';
    memcpy(st->key + 2, id, len);
    return len + 2;
}

static void store_put(struct dedupe *st, size_t klen, const void *val, size_t vlen)
{
    if (st->store->put(st->store->opaque, st->key, klen, val, vlen) < 0) {
        if (st->n_store_errors++ == 0)
            log_warn(MOD, "state store write failed (further failures only counted)");
    }
}

static void persist_entry(struct dedupe *st, const struct minhash *mh, uint64_t seq)
{
    struct dedupe_entry *e = dedupe_index_get(st->idx, seq);
    if (!st->store || !e || !e->id_len)
        return;
    size_t cllen = e->cl_len;
    const char *cl = e->cl_len ? dedupe_entry_cluster(st->idx, e, &cllen) : "";
    size_t vlen = encode_entry(st, mh, e, cl, e->cl_len);
    store_put(st, make_key(st, 'e', dedupe_entry_id(st->idx, e), e->id_len), st->val, vlen);
}

static void persist_count(struct dedupe *st, struct dedupe_entry *e)
{
    if (!st->store || !e->id_len)
        return;
    unsigned char v[8];
    memcpy(v, COUNT_MAGIC, 4);
    put_u32(v + 4, e->size);
    e->flags |= ENTRY_COUNTED;
    store_put(st, make_key(st, 'n', dedupe_entry_id(st->idx, e), e->id_len), v, sizeof(v));
}

static void on_evict(void *opaque, const struct dedupe_index *idx, const struct dedupe_entry *e)
{
    struct dedupe *st = opaque;
    if (!st->store || st->in_restore || !st->conf->tombstones || !e->id_len ||
        (e->flags & DEDUPE_ENTRY_DEAD))
        return;
    const char *id = dedupe_entry_id(idx, e);
    store_put(st, make_key(st, 'e', id, e->id_len), NULL, 0);
    if (e->flags & ENTRY_COUNTED)
        store_put(st, make_key(st, 'n', id, e->id_len), NULL, 0);
}

/* ---- lifecycle --------------------------------------------------------- */

static int dedupe_init(void **state, const void *conf, const struct processor_env *env,
                       char *err, size_t errlen)
{
    const struct dedupe_conf *c = conf;
    if (c->window <= 0 || c->max_entries < 16 || c->max_entries > (1LL << 30) ||
        c->id_bytes < 8 || c->id_bytes > 4096 || c->memory_budget < 0) {
        snprintf(err, errlen, "dedupe: window must be > 0, max_entries in 16..2^30, "
                              "id_bytes in 8..4096, memory_budget >= 0");
        return -1;
    }
    if (!(c->threshold > 0 && c->threshold <= 1) || !(c->containment > 0 && c->containment <= 1) ||
        !(c->jaccard_floor >= 0 && c->jaccard_floor <= 1) ||
        !(c->containment_floor >= 0 && c->containment_floor <= 1)) {
        snprintf(err, errlen, "dedupe: threshold and containment must be in (0, 1], "
                              "jaccard_floor and containment_floor in [0, 1]");
        return -1;
    }
    if (c->shingle_size < 1 || c->shingle_size > MINHASH_MAX_SHINGLE || c->min_shingles < 1 ||
        c->probe_limit < 1 || c->probe_limit > 1024) {
        snprintf(err, errlen, "dedupe: shingle_size must be in 1..%d, min_shingles >= 1, "
                              "probe_limit in 1..1024", MINHASH_MAX_SHINGLE);
        return -1;
    }

    size_t cap = (size_t)c->max_entries;
    if (c->memory_budget > 0) {
        size_t budget = (size_t)c->memory_budget;
        while (cap >= 16 && dedupe_index_bytes_for(cap, cap * (size_t)c->id_bytes) > budget)
            cap = cap * 15 / 16;
        if (cap < 16) {
            snprintf(err, errlen, "dedupe: memory_budget %lld bytes is too small",
                     (long long)c->memory_budget);
            return -1;
        }
    }
    size_t arena = cap * (size_t)c->id_bytes;
    if (arena < 1024)
        arena = 1024;
    if (arena > UINT32_MAX)
        arena = UINT32_MAX;

    struct dedupe *st = calloc(1, sizeof(*st));
    if (!st)
        goto oom;
    st->conf = c;
    st->store = env ? env->store : NULL;
    st->watermark = INT64_MIN;
    st->mh = minhash_ctx_new((unsigned)c->shingle_size);
    st->idx = dedupe_index_new(cap, arena, on_evict, st);
    st->key = malloc(MAX_ID + 2);
    st->val = malloc(ENTRY_FIXED + MAX_ID);
    st->sketches = calloc(SKETCH_CACHE, sizeof(*st->sketches));
    if (!st->mh || !st->idx || !st->key || !st->val || !st->sketches)
        goto oom;
    if (cap < (size_t)c->max_entries)
        log_info(MOD, "memory_budget allows %zu entries (max_entries %lld)", cap,
                 (long long)c->max_entries);
    *state = st;
    return 0;
oom:
    if (st) {
        minhash_ctx_free(st->mh);
        dedupe_index_free(st->idx);
        free(st->sketches);
        free(st->key);
        free(st->val);
        free(st);
    }
    snprintf(err, errlen, "dedupe: cannot allocate the index (%zu entries)", cap);
    return -1;
}

static void dedupe_destroy(void *state)
{
    struct dedupe *st = state;
    if (!st)
        return;
    minhash_set_free(&st->set);
    minhash_ctx_free(st->mh);
    dedupe_index_free(st->idx);
    free(st->sketches);
    free(st->key);
    free(st->val);
    free(st);
}

/* ---- decisions --------------------------------------------------------- */

/* The article's event time: its date, unless unknown or more than a day
 * after the message was written; then the message timestamp; then the
 * newest time seen. Never the wall clock. */
static int64_t event_time(const struct dedupe *st, const struct record *rec)
{
    int64_t t = rec->date_ms;
    if (rec->prov.set && rec->prov.timestamp_ms > 0 &&
        (t == RECORD_DATE_UNKNOWN || t > rec->prov.timestamp_ms + DAY_MS))
        t = rec->prov.timestamp_ms;
    if (t == RECORD_DATE_UNKNOWN)
        t = st->watermark == INT64_MIN ? 0 : st->watermark;
    return t;
}

static int in_window(const struct dedupe *st, const struct dedupe_entry *e, int64_t t)
{
    int64_t d = e->event_ms > t ? e->event_ms - t : t - e->event_ms;
    return d <= st->conf->window;
}

/* The entry that keeps the story's count (its carrier): the story's newest
 * version. Every version links to a newer one of its story, the carrier to
 * itself, so the count outlives the story's first article (entries leave
 * oldest first: a link always points to a live entry). A version restored
 * before its root (ENTRY_UNLINKED) is linked through the cluster id on
 * first use. The walk shortens the path it took. */
static struct dedupe_entry *carrier(struct dedupe *st, struct dedupe_entry *e)
{
    struct dedupe_entry *r = e;
    uint32_t most = e->size;
    for (int steps = 0; steps < 64; steps++) {
        struct dedupe_entry *nx = dedupe_index_root(st->idx, r);
        if (nx && nx != r) {
            r = nx;
        } else if ((r->flags & ENTRY_UNLINKED) && r->cl_len) {
            r->flags &= (uint8_t)~ENTRY_UNLINKED;
            size_t cllen;
            const char *cl = dedupe_entry_cluster(st->idx, r, &cllen);
            nx = dedupe_index_get(st->idx, dedupe_index_find_id(st->idx, cl, cllen));
            if (!nx || nx == r)
                break;
            dedupe_index_set_root(st->idx, r, nx);
            r = nx;
        } else {
            break;
        }
        most = r->size > most ? r->size : most;
    }
    r->size = most;
    if (r != e)
        dedupe_index_set_root(st->idx, e, r);
    return r;
}

static int set_result(struct record *rec, enum dedupe_status status, const char *dup,
                      size_t duplen, const char *cl, size_t cllen, double sim, uint32_t size)
{
    rec->dedupe.status = status;
    rec->dedupe.similarity = sim;
    rec->dedupe.cluster_size = size;
    if (record_set(&rec->dedupe.duplicate_of, dup, duplen) < 0 ||
        record_set(&rec->dedupe.cluster, cllen ? cl : NULL, cllen) < 0)
        return -1;
    return 0;
}

/*
 * Out of memory: the record was not checked, or its result could not be
 * stored. Marking it unique (or a duplicate without its link) would
 * publish a silently partial result, so it is rejected (reason
 * out_of_memory, the dead-letter topic) before it is remembered or counted
 * in its story: a later copy is judged as if this one never came.
 */
static enum verdict out_of_memory(struct dedupe *st, struct record *rec, const char *what)
{
    st->n_errors++;
    log_warn(MOD, "%s: out of memory %s: rejected", rec->id ? rec->id : "?", what);
    record_reject(rec, "out_of_memory", "out of memory while deduplicating (%s)", what);
    return VERDICT_REJECT;
}

static uint32_t size_plus_one(uint32_t size)
{
    return size < UINT32_MAX ? size + 1 : size;
}

/* Marks rec a duplicate of e (same body or same id). */
static enum verdict exact(struct dedupe *st, struct record *rec, struct dedupe_entry *e)
{
    struct dedupe_entry *r = carrier(st, e);
    uint32_t size = size_plus_one(r->size);
    size_t cllen;
    const char *cl = dedupe_entry_cluster(st->idx, e, &cllen);
    if (set_result(rec, DEDUPE_DUPLICATE, dedupe_entry_id(st->idx, e), e->id_len, cl, cllen,
                   1.0, size) < 0)
        return out_of_memory(st, rec, "storing the result");
    r->size = size;
    persist_count(st, r);
    st->n_exact++;
    return st->conf->drop_exact ? VERDICT_DROP : VERDICT_KEEP;
}

static enum verdict unique(struct dedupe *st, struct record *rec, const struct minhash *mh,
                           int64_t t)
{
    size_t idlen = rec->id ? strlen(rec->id) : 0;
    if (set_result(rec, DEDUPE_UNIQUE, NULL, 0, rec->id, idlen, 0, 1) < 0)
        return out_of_memory(st, rec, "storing the result");
    st->n_unique++;
    if (mh && mh->ntokens && idlen <= MAX_ID) {
        uint64_t seq = dedupe_index_insert(st->idx, mh, t, rec->id, idlen, NULL, 0, 0, 1);
        if (seq)
            persist_entry(st, mh, seq);
    }
    return VERDICT_KEEP;
}

/* At most this many of 16 band residues agree for a stranger: the shared
 * band and each other one by chance, one time in 16 (3 or fewer for 94%
 * of strangers). A version of similar length that can match shares
 * several bands. */
#define STRANGER_AGREE_MAX 3

/* A candidate met only through one band key that many stories share (a
 * common phrase such as "the foreign ministry said in a statement"), whose
 * other band residues hardly agree with the article's and whose body is
 * within a factor of two of the article's length. Such a pair can still
 * resemble at the thresholds, but rarely: on the bench corpora they were
 * half to two thirds of all comparisons and one of about 35,000 matches
 * (docs/dedupe.md). Excerpts and expanded versions, whose lengths differ,
 * legitimately share few bands and are always compared. */
static int stranger(const struct dedupe_candidate *cd, const struct dedupe_entry *e,
                    const struct minhash *mh, uint32_t mine)
{
    if (!cd->crowded)
        return 0;
    uint32_t theirs = e->nshingles;
    uint32_t lo = mine < theirs ? mine : theirs, hi = mine < theirs ? theirs : mine;
    return 2 * (uint64_t)lo >= hi &&
           minhash_check_agreement(e->check, mh->check) <= STRANGER_AGREE_MAX;
}

static enum verdict dedupe_process(void *state, struct record *rec)
{
    struct dedupe *st = state;
    const struct dedupe_conf *c = st->conf;

    if (record_analyze(rec) < 0)
        return out_of_memory(st, rec, "tokenizing");
    int64_t t = event_time(st, rec);
    if (t > st->watermark) {
        st->watermark = t;
        dedupe_index_expire(st->idx, t - c->window);
    }

    size_t idlen = rec->id ? strlen(rec->id) : 0;
    if (idlen) {
        struct dedupe_entry *e = dedupe_index_get(st->idx, dedupe_index_find_id(st->idx, rec->id, idlen));
        if (e && in_window(st, e, t))
            return exact(st, rec, e);
    }

    struct minhash mh;
    if (st->set.cap > SET_KEEP)
        minhash_set_free(&st->set);
    if (minhash_compute(st->mh, &rec->body_toks, rec->dateline_span.off, rec->dateline_span.len,
                        &mh, &st->set) < 0)
        return out_of_memory(st, rec, "fingerprinting");
    if (!mh.ntokens)
        return unique(st, rec, NULL, t);

    struct dedupe_candidate cand[MAX_CANDIDATES];
    size_t n = dedupe_index_candidates(st->idx, &mh, (unsigned)c->probe_limit, cand, MAX_CANDIDATES);
    struct dedupe_entry *best = NULL, *same = NULL;
    uint64_t best_seq = 0, same_seq = 0;
    double best_score = 0;
    uint32_t mine = mh.nshingles > UINT16_MAX ? UINT16_MAX : mh.nshingles;
    const struct minhash_goal goal = {c->threshold, c->containment};
    for (size_t i = 0; i < n; i++) {
        /* A candidate's sketch is a cache miss in a large index: ask for
         * the one a few candidates ahead while comparing this one. */
        if (i + PREFETCH_AHEAD < n) {
            const struct dedupe_entry *ahead = dedupe_index_get(st->idx, cand[i + PREFETCH_AHEAD].seq);
            if (ahead) {
                __builtin_prefetch(ahead->sketch);
                __builtin_prefetch(ahead->sketch + MINHASH_SKETCH_BYTES - 1);
            }
            const struct decoded_sketch *d =
                &st->sketches[cand[i + PREFETCH_AHEAD].seq % SKETCH_CACHE];
            __builtin_prefetch(d);
            __builtin_prefetch((const char *)d + sizeof(*d) - 1);
        }
        uint64_t seq = cand[i].seq;
        struct dedupe_entry *e = dedupe_index_get(st->idx, seq);
        if (!e || !in_window(st, e, t))
            continue;
        if (e->body_hash == mh.body_hash) {
            if (!same || seq < same_seq) {          /* the first one seen */
                same = e;
                same_seq = seq;
            }
            continue;
        }
        uint32_t small = mine < e->nshingles ? mine : e->nshingles;
        if (small < (uint32_t)c->min_shingles)
            continue;
        if (c->skip_strangers && stranger(&cand[i], e, &mh, mine)) {
            st->n_strangers++;
            continue;
        }
        struct decoded_sketch *d = &st->sketches[seq % SKETCH_CACHE];
        if (d->seq != seq) {
            d->n = minhash_sketch_decode(e->sketch, d->v);
            d->seq = seq;
        }
        struct minhash_cmp cmp;
        st->n_compared++;
        minhash_compare_values(&st->set, d->v, d->n, e->shift, e->nshingles, &goal, &cmp);
        double score = 0;
        if (cmp.jaccard >= c->threshold &&
            minhash_lower_bound(cmp.matches, cmp.union_samples, JACCARD_Z) >= c->jaccard_floor) {
            score = cmp.jaccard;
        } else if (cmp.contain >= c->containment &&
                   (cmp.exact || minhash_lower_bound(cmp.matches, cmp.samples, CONTAIN_Z) >=
                                     c->containment_floor)) {
            score = cmp.contain;
        }
        if (score > best_score || (score > 0 && score == best_score && seq < best_seq)) {
            best = e;
            best_seq = seq;
            best_score = score;
        }
    }
    if (same)
        return exact(st, rec, same);
    if (!best)
        return unique(st, rec, &mh, t);

    struct dedupe_entry *r = carrier(st, best);
    uint32_t size = size_plus_one(r->size);
    uint64_t carrier_seq = dedupe_index_seq_of(st->idx, r);
    size_t cllen;
    const char *cl = dedupe_entry_cluster(st->idx, best, &cllen);
    if (set_result(rec, DEDUPE_NEAR_DUPLICATE, dedupe_entry_id(st->idx, best), best->id_len,
                   cl, cllen, best_score, size) < 0)
        return out_of_memory(st, rec, "storing the result");
    r->size = size;
    st->n_near++;
    persist_count(st, r);
    /* The new version is remembered too: a third version may resemble it
     * more than the first. It becomes the story's carrier. Its strings come
     * from rec (the insert may evict the entries matched above). */
    if (idlen <= MAX_ID && rec->dedupe.cluster) {
        uint64_t seq = dedupe_index_insert(st->idx, &mh, t, rec->id ? rec->id : "", idlen,
                                           rec->dedupe.cluster, cllen, 0, size);
        struct dedupe_entry *newest = dedupe_index_get(st->idx, seq);
        struct dedupe_entry *old = dedupe_index_get(st->idx, carrier_seq);
        if (newest && old)
            dedupe_index_set_root(st->idx, old, newest);
        if (seq)
            persist_entry(st, &mh, seq);
    }
    return c->publish_near ? VERDICT_KEEP : VERDICT_DROP;
}

/* ---- restore ----------------------------------------------------------- */

static int restore_skip(struct dedupe *st, const char *why)
{
    if (st->n_restore_skipped++ == 0)
        log_warn(MOD, "skipping persisted state: %s (further skips only counted)", why);
    return 0;
}

static int dedupe_restore(void *state, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct dedupe *st = state;
    const char *k = key;
    const unsigned char *v = val;
    if (klen < 3 || klen - 2 > MAX_ID || k[1] != ':' || (k[0] != 'e' && k[0] != 'n'))
        return restore_skip(st, "unknown key");
    const char *id = k + 2;
    size_t idlen = klen - 2;
    struct dedupe_entry *e = dedupe_index_get(st->idx, dedupe_index_find_id(st->idx, id, idlen));

    if (!val) {                                   /* tombstone */
        if (e && k[0] == 'e')
            e->flags |= DEDUPE_ENTRY_DEAD;
        return 0;
    }
    if (k[0] == 'n') {
        if (vlen != 8 || memcmp(v, COUNT_MAGIC, 4) != 0)
            return restore_skip(st, "bad count record");
        uint32_t count = get_u32(v + 4);
        if (e && e->size < count)
            e->size = count;
        if (e && e->cl_len) {
            /* A later version kept the count: restored entries link to
             * the root, so the root must know it. */
            size_t cllen;
            const char *cl = dedupe_entry_cluster(st->idx, e, &cllen);
            struct dedupe_entry *r = dedupe_index_get(st->idx, dedupe_index_find_id(st->idx, cl, cllen));
            if (r && r->size < count)
                r->size = count;
        }
        return 0;
    }
    if (vlen >= 4 && memcmp(v, ENTRY_MAGIC_V1, 4) == 0) {
        if (st->n_restore_old++ == 0)
            log_warn(MOD, "skipping persisted entries of format version 1 (b-bit signatures, "
                          "written before the bottom-k sketch): those stories are forgotten");
        st->n_restore_skipped++;
        return 0;
    }
    if (vlen < ENTRY_FIXED || memcmp(v, ENTRY_MAGIC, 4) != 0)
        return restore_skip(st, "unknown entry format or version");
    if (v[4] != st->conf->shingle_size || v[5] != MINHASH_BANDS || v[6] != MINHASH_SKETCH ||
        v[7] != MINHASH_SKETCH_BYTES || v[96] > 63)
        return restore_skip(st, "fingerprinted with another shingle_size or sketch layout");
    size_t cllen = get_u16(v + 30);
    if (vlen != ENTRY_FIXED + cllen)
        return restore_skip(st, "truncated entry");

    struct minhash mh;
    memset(&mh, 0, sizeof(mh));
    int64_t t = (int64_t)get_u64(v + 8);
    mh.body_hash = get_u64(v + 16);
    uint32_t size = get_u32(v + 24);
    mh.nshingles = get_u16(v + 28);
    mh.ntokens = 1;
    for (unsigned j = 0; j < MINHASH_BANDS; j++) {
        mh.bands[j] = get_u32(v + 32 + 4 * (size_t)j);
        unsigned nib = minhash_check_of(mh.bands[j]);
        mh.check[j >> 1] |= (uint8_t)(nib << ((j & 1) * 4));
    }
    mh.shift = v[96];
    memcpy(mh.sketch, v + 98, MINHASH_SKETCH_BYTES);
    const char *cl = (const char *)v + ENTRY_FIXED;

    if (e) {                                      /* rewritten: keep the larger count */
        if (e->size < size)
            e->size = size;
        return 0;
    }
    uint64_t root = 0;
    if (cllen) {
        root = dedupe_index_find_id(st->idx, cl, cllen);
        struct dedupe_entry *r = dedupe_index_get(st->idx, root);
        if (r && r->size < size)
            r->size = size;
    }
    st->in_restore = 1;
    uint64_t seq = dedupe_index_insert(st->idx, &mh, t, id, idlen, cl, cllen, root, size);
    struct dedupe_entry *ne = cllen && !root ? dedupe_index_get(st->idx, seq) : NULL;
    if (ne)
        ne->flags |= ENTRY_UNLINKED;
    if (t > st->watermark) {
        st->watermark = t;
        dedupe_index_expire(st->idx, t - st->conf->window);
    }
    st->in_restore = 0;
    if (!seq)
        return restore_skip(st, "id too long for the index");
    st->n_restored++;
    return 0;
}

static void dedupe_stats(void *state, json_t *out)
{
    struct dedupe *st = state;
    json_object_set_new(out, "unique", json_integer((json_int_t)st->n_unique));
    json_object_set_new(out, "duplicates", json_integer((json_int_t)st->n_exact));
    json_object_set_new(out, "near_duplicates", json_integer((json_int_t)st->n_near));
    json_object_set_new(out, "entries", json_integer((json_int_t)dedupe_index_count(st->idx)));
    json_object_set_new(out, "capacity", json_integer((json_int_t)dedupe_index_capacity(st->idx)));
    json_object_set_new(out, "evictions", json_integer((json_int_t)dedupe_index_evictions(st->idx)));
    json_object_set_new(out, "index_bytes", json_integer((json_int_t)dedupe_index_bytes(st->idx)));
    json_object_set_new(out, "restored", json_integer((json_int_t)st->n_restored));
    json_object_set_new(out, "restore_skipped", json_integer((json_int_t)st->n_restore_skipped));
    json_object_set_new(out, "store_errors", json_integer((json_int_t)st->n_store_errors));
    json_object_set_new(out, "errors", json_integer((json_int_t)st->n_errors));
    json_object_set_new(out, "comparisons", json_integer((json_int_t)st->n_compared));
    json_object_set_new(out, "strangers_skipped", json_integer((json_int_t)st->n_strangers));
}

const struct processor_ops dedupe_processor = {
    .name = "dedupe",
    .summary = "marks exact and near duplicates (MinHash LSH) and groups a story's versions",
    .keys = dedupe_keys,
    .conf_size = sizeof(struct dedupe_conf),
    .ordered = 1,
    .init = dedupe_init,
    .process = dedupe_process,
    .tick = NULL,
    .reload = NULL,
    .restore = dedupe_restore,
    .stats = dedupe_stats,
    .destroy = dedupe_destroy,
};
