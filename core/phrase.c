/*
 * phrase.c - token-level trie in one open-addressing table.
 *
 * An edge is (parent node, token hash) -> child node. Keeping every edge in
 * one flat table of 16-byte slots, at most half full, means a step costs
 * one hash and usually one cache line, however many phrases are loaded.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "phrase.h"

#define NO_VALUE UINT32_MAX

struct edge {
    uint64_t tok;     /* token hash */
    uint32_t parent;  /* node id + 1; 0 marks an empty slot */
    uint32_t child;
};

struct phrase_set {
    struct edge *edges;
    size_t mask;        /* capacity - 1 */
    size_t nedges;
    uint32_t *values;   /* per node, NO_VALUE when no phrase ends there */
    size_t nnodes;
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
        if (!e->parent)
            continue;
        size_t s = slot_of(e->tok, e->parent, ncap - 1);
        while (ne[s].parent)
            s = (s + 1) & (ncap - 1);
        ne[s] = *e;
    }
    free(ps->edges);
    ps->edges = ne;
    ps->mask = ncap - 1;
    return 0;
}

static inline uint32_t find_child(const struct phrase_set *ps, uint32_t node, uint64_t tok)
{
    uint32_t parent = node + 1;
    size_t s = slot_of(tok, parent, ps->mask);
    for (;;) {
        const struct edge *e = &ps->edges[s];
        if (!e->parent)
            return 0;
        if (e->parent == parent && e->tok == tok)
            return e->child;
        s = (s + 1) & ps->mask;
    }
}

static int add_child(struct phrase_set *ps, uint32_t node, uint64_t tok, uint32_t *child)
{
    if ((ps->nedges + 1) * 2 > ps->mask + 1 && rehash(ps) < 0)
        return -1;
    if (ps->nnodes == ps->cap_nodes) {
        uint32_t *nv = realloc(ps->values, ps->cap_nodes * 2 * sizeof(*nv));
        if (!nv)
            return -1;
        ps->values = nv;
        ps->cap_nodes *= 2;
    }
    uint32_t id = (uint32_t)ps->nnodes++;
    ps->values[id] = NO_VALUE;
    size_t s = slot_of(tok, node + 1, ps->mask);
    while (ps->edges[s].parent)
        s = (s + 1) & ps->mask;
    ps->edges[s].tok = tok;
    ps->edges[s].parent = node + 1;
    ps->edges[s].child = id;
    ps->nedges++;
    *child = id;
    return 0;
}

int phrase_set_add_hashes(struct phrase_set *ps, const uint64_t *hashes, size_t n,
                          uint32_t value)
{
    uint32_t node = 0;

    if (n == 0 || value == NO_VALUE)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t child = find_child(ps, node, hashes[i]);
        if (!child && add_child(ps, node, hashes[i], &child) < 0)
            return -1;
        node = child;
    }
    if (ps->values[node] != NO_VALUE)
        return 1;
    ps->values[node] = value;
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

    for (size_t j = i; j < t->n; j++) {
        const struct token *tok = &t->toks[j];
        if (j > i && (tok->flags & TOK_BREAK))
            break;
        node = find_child(ps, node, tok->hash);
        if (!node)
            break;
        if (ps->values[node] != NO_VALUE && found < max) {
            out[found].ntok = j - i + 1;
            out[found].value = ps->values[node];
            found++;
        }
    }
    return found;
}
