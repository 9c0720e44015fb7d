/*
 * fileio.h - reading a whole file or stream into memory.
 *
 * Configuration, taxonomy, gazetteer and text articles are all read whole;
 * one reader keeps the error messages alike ("path: reason").
 */
#ifndef WS_FILEIO_H
#define WS_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Reads fp to its end. Returns a malloc'd buffer, NUL-terminated (the NUL
 * is not counted in *len), or NULL on a read error or allocation failure
 * (errno tells which). The caller frees it; fp stays open. */
char *fileio_slurp(FILE *fp, size_t *len);

/* Opens path and reads it whole. NULL with err "path: reason". */
char *fileio_read(const char *path, size_t *len, char *err, size_t errlen);

#endif
