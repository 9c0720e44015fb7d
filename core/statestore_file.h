/*
 * statestore_file.h - processor state kept in a file between `process` runs.
 *
 * The store holds the latest value of every key in memory and writes the
 * whole map atomically (temporary file, fsync, rename) on save, so a crash
 * mid-save leaves the previous state intact. Single-threaded.
 *
 * File format, all integers little-endian:
 *   "WSST" u32 version(1) u64 count, then count x (u32 klen, u32 vlen, key, val)
 */
#ifndef WS_STATESTORE_FILE_H
#define WS_STATESTORE_FILE_H

#include "../processors/processor.h"

struct file_store;

/* Opens (or prepares to create) the file. NULL with err on a corrupt or
 * unreadable file; a missing file is an empty store. */
struct file_store *file_store_open(const char *path, char *err, size_t errlen);

/* The state_store interface that processors write through. */
struct state_store *file_store_iface(struct file_store *fs);

/* Calls fn for every entry, in insertion order. */
int file_store_foreach(struct file_store *fs,
                       int (*fn)(void *opaque, const void *key, size_t klen,
                                 const void *val, size_t vlen),
                       void *opaque);

size_t file_store_count(const struct file_store *fs);

int file_store_save(struct file_store *fs, char *err, size_t errlen);
void file_store_free(struct file_store *fs);     /* accepts NULL */

#endif
