/*
 * log.c - see log.h. The level and format are process-wide on purpose:
 * logging is the one concern every module shares, and it is set once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <stdlib.h>
#include <jansson.h>

#include "log.h"

static enum log_level log_level = LOG_INFO;
static int log_json;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_setup(enum log_level level, int json)
{
    log_level = level;
    log_json = json;
}

int log_enabled(enum log_level level)
{
    return level <= log_level;
}

int log_parse_level(const char *s, enum log_level *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0 ||
            (i == LOG_WARN && strcasecmp(s, "warning") == 0)) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    char msg[2048], ts[40], line[2300];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03dZ", (int)(tv.tv_usec / 1000));

    if (log_json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", level_names[level],
                              "module", module, "msg", msg);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        n = snprintf(line, sizeof(line), "%s\n", s ? s : msg);
        free(s);
        json_decref(o);
    } else {
        n = snprintf(line, sizeof(line), "%s %-5s %s: %s\n", ts, level_names[level], module, msg);
    }
    if (n > (int)sizeof(line))
        n = (int)sizeof(line);
    /* One write per line keeps lines whole when several threads log. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
