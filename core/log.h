/*
 * log.h - one line per event on stderr, naming its module.
 *
 * Text ("2026-11-28T06:14:31.123Z WARN  consumer: ...") or JSON lines
 * ({"ts":..,"level":..,"module":..,"msg":..}). librdkafka's own log
 * callback is routed here too. Configured once at start-up, before any
 * other thread exists; log_msg() itself is thread-safe (one write(2)).
 */
#ifndef WS_LOG_H
#define WS_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_setup(enum log_level level, int json);
int log_enabled(enum log_level level);
int log_parse_level(const char *s, enum log_level *level);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) do { log_msg(LOG_ERROR, mod, __VA_ARGS__); } while (0)
#define log_warn(mod, ...)  do { log_msg(LOG_WARN, mod, __VA_ARGS__); } while (0)
#define log_info(mod, ...)  do { if (log_enabled(LOG_INFO)) log_msg(LOG_INFO, mod, __VA_ARGS__); } while (0)
#define log_debug(mod, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, mod, __VA_ARGS__); } while (0)

#endif
