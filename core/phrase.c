/*
 * phrase.c - token-level trie in one open-addressing table.
 *
 * An edge is (parent node, token hash) -> child. Keeping every edge in one
 * flat table of 16-byte slots, at most half full, means a step costs one
 * hash and usually one cache line, however many phrases are loaded. The
 * edge also answers the two questions asked after each step, so a walk
 * touches nothing else: whether a phrase ends there, and whether anything
 * continues (a leaf, the end of most names, stops the walk without probing
 * the table for the next token). A leaf keeps its phrase's value in place
 * of a child id; only nodes with children get an id and a values[] slot.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "phrase.h"

#define NO_VALUE UINT32_MAX

/* Flags in the high bits of edge.parent. */
#define E_INNER  0x80000000u  /* the child has children: child is its node id */
#define E_VALUE  0x40000000u  /* a phrase ends at the child */
#define E_PARENT 0x3fffffffu  /* parent node id + 1; 0 marks an empty slot */

struct edge {
    uint64_t tok;     /* token hash */
    uint32_t parent;  /* E_PARENT bits | flags */
    uint32_t child;   /* node id when E_INNER, else the value (if E_VALUE) */
};

struct phrase_set {
    /* Most tokens of a text start no phrase: one bit test answers them
     * before the table is probed. */
    uint64_t first[PHRASE_FIRST_WORDS];
    struct edge *edges;
    size_t mask;        /* capacity - 1 */
    size_t nedges;
    uint32_t *values;   /* per inner node, NO_VALUE when no phrase ends there */
    size_t nnodes;      /* inner nodes, the root included */
    size_t cap_nodes;
    size_t nphrases;
};

static inline size_t slot_of(uint64_t tok, uint32_t parent, size_t mask)
{
    uint64_t h = tok ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (size_t)h & mask;
}

struct phrase_set *phrase_set_new(void)
{
    struct phrase_set *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->mask = 255;
    ps->edges = calloc(ps->mask + 1, sizeof(*ps->edges));
    ps->cap_nodes = 256;
    ps->values = malloc(ps->cap_nodes * sizeof(*ps->values));
    if (!ps->edges || !ps->values) {
        phrase_set_free(ps);
        return NULL;
    }
    ps->values[0] = NO_VALUE;   /* the root */
    ps->nnodes = 1;
    return ps;
}

void phrase_set_free(struct phrase_set *ps)
{
    if (!ps)
        return;
    free(ps->edges);
    free(ps->values);
    free(ps);
}

static int rehash(struct phrase_set *ps)
{
    size_t ncap = (ps->mask + 1) * 2;
    struct edge *ne = calloc(ncap, sizeof(*ne));
    if (!ne)
        return -1;
    for (size_t i = 0; i <= ps->mask; i++) {
        struct edge *e = &ps->edges[i];
        if (!(e->parent & E_PARENT))
            continue;
        size_t s = slot_of(e->tok, e->parent & E_PARENT, ncap - 1);
        while (ne[s].parent)
            s = (s + 1) & (ncap - 1);
        ne[s] = *e;
    }
    free(ps->edges);
    ps->edges = ne;
    ps->mask = ncap - 1;
    return 0;
}

/* The edge (node, tok), or NULL. */
static inline const struct edge *find_edge(const struct phrase_set *ps, uint32_t node,
                                           uint64_t tok)
{
    uint32_t parent = node + 1;
    size_t s = slot_of(tok, parent, ps->mask);
    for (;;) {
        const struct edge *e = &ps->edges[s];
        uint32_t p = e->parent & E_PARENT;
        if (p == parent && e->tok == tok)
            return e;
        if (!p)
            return NULL;
        s = (s + 1) & ps->mask;
    }
}

/* Adds the edge (node, tok) to a leaf; the table has room (no rehash). */
static struct edge *add_edge(struct phrase_set *ps, uint32_t node, uint64_t tok)
{
    size_t s = slot_of(tok, node + 1, ps->mask);
    while (ps->edges[s].parent)
        s = (s + 1) & ps->mask;
    ps->edges[s].tok = tok;
    ps->edges[s].parent = node + 1;
    ps->edges[s].child = 0;
    ps->nedges++;
    return &ps->edges[s];
}

/* Gives e's child a node id (it is about to get children). */
static int make_inner(struct phrase_set *ps, struct edge *e)
{
    if (ps->nnodes == ps->cap_nodes) {
        uint32_t *nv = realloc(ps->values, ps->cap_nodes * 2 * sizeof(*nv));
        if (!nv)
            return -1;
        ps->values = nv;
        ps->cap_nodes *= 2;
    }
    if (ps->nnodes >= E_PARENT - 1)
        return -1;
    uint32_t id = (uint32_t)ps->nnodes++;
    ps->values[id] = (e->parent & E_VALUE) ? e->child : NO_VALUE;
    e->child = id;
    e->parent |= E_INNER;
    return 0;
}

int phrase_set_add_hashes(struct phrase_set *ps, const uint64_t *hashes, size_t n,
                          uint32_t value)
{
    uint32_t node = 0;

    if (n == 0 || value == NO_VALUE)
        return -1;
    /* Room for every edge this phrase may add, so that no rehash moves an
     * edge while we hold a pointer to it. */
    while ((ps->nedges + n) * 2 > ps->mask + 1)
        if (rehash(ps) < 0)
            return -1;
    unsigned b = phrase_first_bit(hashes[0]);
    ps->first[b >> 6] |= 1ULL << (b & 63);
    for (size_t i = 0; i < n; i++) {
        struct edge *e = (struct edge *)find_edge(ps, node, hashes[i]);
        if (!e)
            e = add_edge(ps, node, hashes[i]);
        if (i + 1 < n) {
            if (!(e->parent & E_INNER) && make_inner(ps, e) < 0)
                return -1;
            node = e->child;
            continue;
        }
        if (e->parent & E_VALUE)
            return 1;
        e->parent |= E_VALUE;
        if (e->parent & E_INNER)
            ps->values[e->child] = value;
        else
            e->child = value;
    }
    ps->nphrases++;
    return 0;
}

int phrase_set_add(struct phrase_set *ps, const char *phrase, uint32_t value,
                   char *err, size_t errlen)
{
    struct tokens t = {0};
    uint64_t stack[16];
    uint64_t *h = stack;
    int rc = -1;

    if (text_tokenize(phrase, strlen(phrase), &t) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t.n == 0) {
        snprintf(err, errlen, "phrase \"%s\" has no words", phrase);
        goto out;
    }
    if (t.n > 16 && !(h = malloc(t.n * sizeof(*h)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t.n; i++)
        h[i] = t.toks[i].hash;
    rc = phrase_set_add_hashes(ps, h, t.n, value);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
out:
    if (h != stack)
        free(h);
    text_tokens_free(&t);
    return rc;
}

void phrase_set_prefetch(const struct phrase_set *ps, uint64_t first_hash)
{
    if (phrase_may_start(ps->first, first_hash))
        __builtin_prefetch(&ps->edges[slot_of(first_hash, 1, ps->mask)]);
}

void phrase_set_prefetch2(const struct phrase_set *ps, uint64_t h0, uint64_t h1)
{
    if (!phrase_may_start(ps->first, h0))
        return;
    const struct edge *e = find_edge(ps, 0, h0);
    if (e && (e->parent & E_INNER))
        __builtin_prefetch(&ps->edges[slot_of(h1, e->child + 1, ps->mask)]);
}

const uint64_t *phrase_set_first(const struct phrase_set *ps)
{
    return ps->first;
}

size_t phrase_set_count(const struct phrase_set *ps)
{
    return ps->nphrases;
}

size_t phrase_set_memory(const struct phrase_set *ps)
{
    return sizeof(*ps) + (ps->mask + 1) * sizeof(struct edge) +
           ps->cap_nodes * sizeof(uint32_t);
}

size_t phrase_set_match_at(const struct phrase_set *ps, const struct tokens *t,
                           size_t i, struct phrase_match *out, size_t max)
{
    uint32_t node = 0;
    size_t found = 0;

    if (i >= t->n || !phrase_may_start(ps->first, t->toks[i].hash))
        return 0;
    for (size_t j = i; j < t->n; j++) {
        const struct token *tok = &t->toks[j];
        if (j > i && (tok->flags & TOK_BREAK))
            break;
        const struct edge *e = find_edge(ps, node, tok->hash);
        if (!e)
            break;
        uint32_t p = e->parent;
        if ((p & E_VALUE) && found < max) {
            out[found].ntok = j - i + 1;
            out[found].value = (p & E_INNER) ? ps->values[e->child] : e->child;
            found++;
        }
        if (!(p & E_INNER))
            break;   /* a leaf: no longer phrase starts with these tokens */
        node = e->child;
    }
    return found;
}
