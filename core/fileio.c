/*
 * fileio.c - see fileio.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

char *fileio_slurp(FILE *fp, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (n < cap - 1) {
            if (ferror(fp)) {
                int saved = errno ? errno : EIO;
                free(buf);
                errno = saved;
                return NULL;
            }
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            break;
        buf = nb;
        cap *= 2;
    }
    free(buf);
    errno = ENOMEM;
    return NULL;
}

char *fileio_read(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    errno = 0;
    char *buf = fileio_slurp(fp, len);
    if (!buf)
        snprintf(err, errlen, "%s: %s", path,
                 errno == ENOMEM ? "out of memory" : "read error");
    fclose(fp);
    return buf;
}
