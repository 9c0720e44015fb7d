/*
 * statestore_file.c - see statestore_file.h.
 *
 * Entries live in one array in insertion order (so a save and a restore
 * replay them in the order processors wrote them: dedupe's eviction order
 * depends on it) with an open-addressing index over it. A deleted entry is
 * marked dead and skipped; the array is compacted on save.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statestore_file.h"
#include "text.h"

struct fs_entry {
    char *key;
    char *val;
    uint32_t klen, vlen;
    int dead;
};

struct file_store {
    char *path;
    struct fs_entry *v;
    size_t n, cap, live;
    size_t *index;        /* slot -> entry index + 1, 0 = empty */
    size_t mask;
    struct state_store iface;
};

static size_t slot_for(const struct file_store *fs, const void *key, size_t klen)
{
    return (size_t)text_hash64(key, klen) & fs->mask;
}

static size_t *find_slot(struct file_store *fs, const void *key, size_t klen)
{
    size_t s = slot_for(fs, key, klen);
    for (;;) {
        size_t e = fs->index[s];
        if (!e)
            return &fs->index[s];
        struct fs_entry *ent = &fs->v[e - 1];
        /* A non-zero index slot always names an entry of v. */
        if (ent->klen == klen && memcmp(ent->key, key, klen) == 0) // NOLINT(clang-analyzer-core.NullDereference,clang-analyzer-core.UndefinedBinaryOperatorResult)
            return &fs->index[s];
        s = (s + 1) & fs->mask;
    }
}

static int reindex(struct file_store *fs, size_t cap)
{
    size_t *ni = calloc(cap, sizeof(*ni));
    if (!ni)
        return -1;
    free(fs->index);
    fs->index = ni;
    fs->mask = cap - 1;
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->v[i].dead)
            continue;
        size_t *slot = find_slot(fs, fs->v[i].key, fs->v[i].klen);
        *slot = i + 1;
    }
    return 0;
}

/* Drops dead entries, keeping order. */
static int compact(struct file_store *fs)
{
    size_t o = 0;
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->v[i].dead) {
            free(fs->v[i].key);
            continue;
        }
        fs->v[o++] = fs->v[i];
    }
    fs->n = o;
    return reindex(fs, fs->mask + 1);
}

static int fs_put(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct file_store *fs = opaque;
    size_t *slot = find_slot(fs, key, klen);

    /* A rewrite kills the old entry and appends a new one: the order is
     * "last written". Dead entries keep their key so that probing still
     * passes over them; they are dropped when they outnumber the live. */
    if (*slot) {
        struct fs_entry *old = &fs->v[*slot - 1];
        if (!old->dead) {
            free(old->val);
            old->val = NULL;
            old->dead = 1;
            fs->live--;
        }
    }
    if (!val)
        goto maybe_compact;
    if (fs->n == fs->cap) {
        size_t ncap = fs->cap ? fs->cap * 2 : 1024;
        struct fs_entry *nv = realloc(fs->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        fs->v = nv;
        fs->cap = ncap;
    }
    if ((fs->n + 1) * 2 > fs->mask + 1) {
        if (reindex(fs, (fs->mask + 1) * 2) < 0)
            return -1;
        slot = find_slot(fs, key, klen);
    }
    struct fs_entry *e = &fs->v[fs->n];
    e->key = malloc(klen ? klen : 1);
    e->val = malloc(vlen ? vlen : 1);
    if (!e->key || !e->val) {
        free(e->key);
        free(e->val);
        return -1;
    }
    memcpy(e->key, key, klen);
    memcpy(e->val, val, vlen);
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->dead = 0;
    if (*slot) {    /* the dead twin leaves the index: its key can go */
        free(fs->v[*slot - 1].key);
        fs->v[*slot - 1].key = NULL;
    }
    *slot = ++fs->n;
    fs->live++;
maybe_compact:
    if (fs->n - fs->live > fs->live + 1024)
        return compact(fs);
    return 0;
}

static int read_u32(FILE *fp, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, fp) != 4)
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

struct file_store *file_store_open(const char *path, char *err, size_t errlen)
{
    struct file_store *fs = calloc(1, sizeof(*fs));
    FILE *fp = NULL;
    char *key = NULL, *val = NULL;

    if (!fs || !(fs->path = strdup(path)) || reindex(fs, 1024) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fs->iface.opaque = fs;
    fs->iface.put = fs_put;
    if (!(fp = fopen(path, "rb"))) {
        if (errno == ENOENT)
            return fs;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    char magic[4];
    uint32_t version, lo, hi;
    if (fread(magic, 1, 4, fp) != 4 || memcmp(magic, "WSST", 4) != 0 ||
        read_u32(fp, &version) < 0 || read_u32(fp, &lo) < 0 || read_u32(fp, &hi) < 0) {
        snprintf(err, errlen, "%s: not a wirestream state file", path);
        goto fail;
    }
    if (version != 1) {
        snprintf(err, errlen, "%s: state file version %u is not supported", path, version);
        goto fail;
    }
    uint64_t count = (uint64_t)hi << 32 | lo;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t klen, vlen;
        if (read_u32(fp, &klen) < 0 || read_u32(fp, &vlen) < 0 || klen > (1u << 20) ||
            vlen > (1u << 26)) {
            snprintf(err, errlen, "%s: truncated or corrupt at entry %llu", path,
                     (unsigned long long)i);
            goto fail;
        }
        key = malloc(klen ? klen : 1);
        val = malloc(vlen ? vlen : 1);
        if (!key || !val || fread(key, 1, klen, fp) != klen || fread(val, 1, vlen, fp) != vlen) {
            snprintf(err, errlen, "%s: truncated or corrupt at entry %llu", path,
                     (unsigned long long)i);
            goto fail;
        }
        if (fs_put(fs, key, klen, val, vlen) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        free(key);
        free(val);
        key = val = NULL;
    }
    /* Bytes past the last entry mean the count is wrong: the file is corrupt. */
    if (fgetc(fp) != EOF) {
        snprintf(err, errlen, "%s: corrupt: trailing bytes after %llu entries", path,
                 (unsigned long long)count);
        goto fail;
    }
    fclose(fp);
    return fs;
fail:
    free(key);
    free(val);
    if (fp)
        fclose(fp);
    file_store_free(fs);
    return NULL;
}

struct state_store *file_store_iface(struct file_store *fs)
{
    return &fs->iface;
}

size_t file_store_count(const struct file_store *fs)
{
    return fs->live;
}

int file_store_foreach(struct file_store *fs,
                       int (*fn)(void *, const void *, size_t, const void *, size_t),
                       void *opaque)
{
    for (size_t i = 0; i < fs->n; i++) {
        struct fs_entry *e = &fs->v[i];
        if (!e->dead && fn(opaque, e->key, e->klen, e->val, e->vlen) < 0)
            return -1;
    }
    return 0;
}

int file_store_save(struct file_store *fs, char *err, size_t errlen)
{
    size_t plen = strlen(fs->path) + 8;
    char *tmp = malloc(plen);
    FILE *fp = NULL;
    unsigned char hdr[16];

    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, plen, "%s.tmp", fs->path);
    if (!(fp = fopen(tmp, "wb")))
        goto ioerr;
    memcpy(hdr, "WSST", 4);
    put_u32(hdr + 4, 1);
    put_u32(hdr + 8, (uint32_t)fs->live);
    put_u32(hdr + 12, (uint32_t)((uint64_t)fs->live >> 32));
    if (fwrite(hdr, 1, 16, fp) != 16)
        goto ioerr;
    for (size_t i = 0; i < fs->n; i++) {
        struct fs_entry *e = &fs->v[i];
        unsigned char lens[8];
        if (e->dead)
            continue;
        put_u32(lens, e->klen);
        put_u32(lens + 4, e->vlen);
        if (fwrite(lens, 1, 8, fp) != 8 || fwrite(e->key, 1, e->klen, fp) != e->klen ||
            fwrite(e->val, 1, e->vlen, fp) != e->vlen)
            goto ioerr;
    }
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        goto ioerr;
    if (fclose(fp) != 0) {
        fp = NULL;
        goto ioerr;
    }
    fp = NULL;
    if (rename(tmp, fs->path) != 0)
        goto ioerr;
    free(tmp);
    return 0;
ioerr:
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    if (fp)
        fclose(fp);
    unlink(tmp);
    free(tmp);
    return -1;
}

void file_store_free(struct file_store *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].key);
        free(fs->v[i].val);
    }
    free(fs->v);
    free(fs->index);
    free(fs->path);
    free(fs);
}
