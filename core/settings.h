/*
 * settings.h - the configuration of everything that is not a processor.
 *
 * One struct per section, each bound from its table (settings.c), all of
 * them held by struct settings. Loaded once at start-up; passed down as
 * `const struct settings *`. Processor sections ([processor.NAME]) are
 * bound by the chain; librdkafka properties ([librdkafka],
 * [librdkafka.consumer], [librdkafka.producer]) are passed through
 * verbatim and validated by librdkafka itself.
 */
#ifndef WS_SETTINGS_H
#define WS_SETTINGS_H

#include <stdint.h>

#include "conf.h"

struct input_settings {
    char *format;                /* auto | json | text */
    int64_t max_body_size;
    int64_t max_message_size;
};

struct pipeline_settings {
    struct conf_list processors; /* chain order */
    char *output_format;         /* record | ninjs */
    char *state_file;            /* process mode: dedupe state file, or unset */
    int64_t threads;             /* run, process: worker threads for the chain's front */
};

struct kafka_settings {
    char *brokers;               /* "embedded" or host:port,... */
    struct conf_list input_topics;
    char *group_id;
    char *client_id;
    int64_t batch_size;          /* messages per loop wake-up */
    int64_t commit_interval;     /* ms */
    int64_t poll_interval;       /* ms, the safety-net timer */
    int64_t max_in_flight;       /* records awaiting delivery before consumption pauses */
    int64_t embedded_partitions;
    int64_t embedded_port;       /* 0 = any free port */
    int64_t stall_timeout;       /* ms without progress while lagging: not ready */
};

struct output_settings {
    char *enriched_topic;
    char *topic_prefix;          /* per-topic streams: prefix + topic name */
    char *duplicates_topic;
    char *duplicates;            /* publish | drop */
    char *deadletter_topic;
    char *state_topic;
    int64_t state_partitions;
    int64_t max_message_size;    /* largest message produced; 0: message.max.bytes */
};

struct http_settings {
    int enabled;
    char *listen;
    int64_t port;
    int64_t max_sse_clients;
    int64_t sse_client_buffer;   /* bytes queued per client before it is dropped */
    char *web_root;              /* dashboard files; NULL: web/ beside the binary */
};

struct log_settings {
    char *level;
    char *format;                /* text | json */
    int64_t stats_interval;      /* ms; 0 = off */
};

struct settings {
    struct conf_file *cf;        /* owned; processors bind their sections from it */
    struct input_settings input;
    struct pipeline_settings pipeline;
    struct kafka_settings kafka;
    struct output_settings output;
    struct http_settings http;
    struct log_settings log;
};

/* Binds every non-processor section of cf, taking ownership of cf (also on
 * failure: it is freed then). Returns NULL with err naming file:line:key. */
struct settings *settings_load(struct conf_file *cf, char *err, size_t errlen);

/* Fails on sections that no module knows and on keys nobody used. Call
 * after the chain has bound the processor sections. */
int settings_check_unused(const struct settings *s, char *err, size_t errlen);

void settings_free(struct settings *s);    /* accepts NULL */

/* Prints every table (plain text or Markdown for the README). */
void settings_describe(FILE *fp, int markdown);

#endif
