/*
 * settings.c - the tables of every non-processor section.
 *
 * These rows are the single source of the configuration reference:
 * `wirestream help config` prints them, and so does the README's table
 * (`wirestream help config --markdown`).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "../processors/processor.h"

#define K(sect, field) offsetof(struct sect, field)
#define MAX_THREADS 64

static const struct conf_key input_keys[] = {
    {"format", CONF_STRING, "auto", K(input_settings, format),
     "auto (a message starting with '{' is JSON, anything else plain text), json or text"},
    {"max_body_size", CONF_SIZE, "1MiB", K(input_settings, max_body_size),
     "articles with a longer body are rejected (body_too_large)"},
    {"max_message_size", CONF_SIZE, "4MiB", K(input_settings, max_message_size),
     "messages or lines longer than this are rejected (message_too_large)"},
    {NULL, 0, NULL, 0, NULL},
};

static const struct conf_key pipeline_keys[] = {
    {"processors", CONF_LIST, "clean, dedupe, entities, topics", K(pipeline_settings, processors),
     "the processor chain, in order"},
    {"output_format", CONF_STRING, "record", K(pipeline_settings, output_format),
     "record (wirestream schema) or ninjs (IPTC ninjs 2.x with a wirestream extension)"},
    {"state_file", CONF_PATH, NULL, K(pipeline_settings, state_file),
     "process mode: file that keeps the dedupe state between runs (unset: none)"},
    {"threads", CONF_INT, "1", K(pipeline_settings, threads),
     "run and process: threads that decode input and run the processors ahead of dedupe "
     "(clean), beside the main thread, which runs the rest in input order; 0: all on the "
     "main thread (0-64)"},
    {NULL, 0, NULL, 0, NULL},
};

static const struct conf_key kafka_keys[] = {
    {"brokers", CONF_STRING, "embedded", K(kafka_settings, brokers),
     "bootstrap servers (host:port,...), or 'embedded' for the in-process mock broker"},
    {"input_topics", CONF_LIST, "news.raw", K(kafka_settings, input_topics),
     "topics consumed"},
    {"group_id", CONF_STRING, "wirestream", K(kafka_settings, group_id), "consumer group"},
    {"client_id", CONF_STRING, "wirestream", K(kafka_settings, client_id), "client.id of both clients"},
    {"batch_size", CONF_INT, "500", K(kafka_settings, batch_size),
     "messages handled per loop wake-up before yielding to other events"},
    {"commit_interval", CONF_DURATION, "1s", K(kafka_settings, commit_interval),
     "how often delivered offsets are committed"},
    {"poll_interval", CONF_DURATION, "100ms", K(kafka_settings, poll_interval),
     "safety-net timer that polls the queues even without a wake-up"},
    {"max_in_flight", CONF_INT, "20000", K(kafka_settings, max_in_flight),
     "output messages awaiting acknowledgement before consumption pauses; it resumes at half "
     "(back-pressure)"},
    {"embedded_partitions", CONF_INT, "3", K(kafka_settings, embedded_partitions),
     "partitions per topic on the embedded broker"},
    {"embedded_port", CONF_INT, "0", K(kafka_settings, embedded_port),
     "port of the embedded broker: 0 (librdkafka 2.0 binds a free port; the address is "
     "printed at start)"},
    {"stall_timeout", CONF_DURATION, "60s", K(kafka_settings, stall_timeout),
     "no progress for this long while input is waiting marks the pipeline not ready"},
    {NULL, 0, NULL, 0, NULL},
};

static const struct conf_key output_keys[] = {
    {"enriched_topic", CONF_STRING, "news.enriched", K(output_settings, enriched_topic),
     "every enriched record"},
    {"topic_prefix", CONF_STRING, "news.topic.", K(output_settings, topic_prefix),
     "records routed to a classified topic also go to PREFIX<topic name>"},
    {"duplicates_topic", CONF_STRING, "news.duplicates", K(output_settings, duplicates_topic),
     "duplicates and near duplicates"},
    {"duplicates", CONF_STRING, "publish", K(output_settings, duplicates),
     "publish (to duplicates_topic) or drop"},
    {"deadletter_topic", CONF_STRING, "news.deadletter", K(output_settings, deadletter_topic),
     "rejected input, original bytes, reason in headers"},
    {"state_topic", CONF_STRING, "wirestream.dedupe.state", K(output_settings, state_topic),
     "compacted changelog of the dedupe state"},
    {"state_partitions", CONF_INT, "1", K(output_settings, state_partitions),
     "partitions of the state topic when wirestream creates it"},
    {"max_message_size", CONF_SIZE, "0", K(output_settings, max_message_size),
     "largest message produced (0: librdkafka's message.max.bytes); a larger enriched record "
     "goes to the dead-letter topic (output_too_large). Keep it at most the output topics' "
     "max.message.bytes"},
    {NULL, 0, NULL, 0, NULL},
};

static const struct conf_key http_keys[] = {
    {"enabled", CONF_BOOL, "true", K(http_settings, enabled), "serve /healthz, /readyz, /metrics, /stats and the dashboard"},
    {"listen", CONF_STRING, "127.0.0.1", K(http_settings, listen),
     "bind address (loopback unless you mean otherwise)"},
    {"port", CONF_INT, "8080", K(http_settings, port), "TCP port (0: any free port)"},
    {"max_sse_clients", CONF_INT, "64", K(http_settings, max_sse_clients),
     "live dashboard connections served at once"},
    {"sse_client_buffer", CONF_SIZE, "256KiB", K(http_settings, sse_client_buffer),
     "bytes queued for one slow client before it is dropped"},
    {"web_root", CONF_PATH, NULL, K(http_settings, web_root),
     "folder of the dashboard files (unset: web/ beside the binary)"},
    {NULL, 0, NULL, 0, NULL},
};

static const struct conf_key log_keys[] = {
    {"level", CONF_STRING, "info", K(log_settings, level), "error, warn, info or debug"},
    {"format", CONF_STRING, "text", K(log_settings, format), "text or json (one object per line)"},
    {"stats_interval", CONF_DURATION, "10s", K(log_settings, stats_interval),
     "one-line statistics on stderr in run mode (0: off)"},
    {NULL, 0, NULL, 0, NULL},
};

struct section_table {
    const char *name;
    const struct conf_key *keys;
    size_t offset;
};

static const struct section_table sections[] = {
    {"input", input_keys, offsetof(struct settings, input)},
    {"pipeline", pipeline_keys, offsetof(struct settings, pipeline)},
    {"kafka", kafka_keys, offsetof(struct settings, kafka)},
    {"output", output_keys, offsetof(struct settings, output)},
    {"http", http_keys, offsetof(struct settings, http)},
    {"log", log_keys, offsetof(struct settings, log)},
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Sections passed to librdkafka verbatim. */
static const char *const passthrough[] = {"librdkafka", "librdkafka.consumer",
                                          "librdkafka.producer"};

static int one_of(const char *v, const char *a, const char *b)
{
    return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

struct settings *settings_load(struct conf_file *cf, char *err, size_t errlen)
{
    struct settings *s = calloc(1, sizeof(*s));
    size_t bound = 0;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        conf_file_free(cf);
        return NULL;
    }
    s->cf = cf;
    for (; bound < NSECTIONS; bound++) {
        const struct section_table *t = &sections[bound];
        if (conf_bind(t->keys, conf_section(cf, t->name), cf, (char *)s + t->offset,
                      err, errlen) < 0)
            goto fail;
    }
    const char *path = cf->path;
    if (!one_of(s->input.format, "auto", "json") && strcmp(s->input.format, "text") != 0) {
        snprintf(err, errlen, "%s: [input] format: expected auto, json or text", path);
        goto fail;
    }
    if (!one_of(s->pipeline.output_format, "record", "ninjs")) {
        snprintf(err, errlen, "%s: [pipeline] output_format: expected record or ninjs", path);
        goto fail;
    }
    if (!one_of(s->output.duplicates, "publish", "drop")) {
        snprintf(err, errlen, "%s: [output] duplicates: expected publish or drop", path);
        goto fail;
    }
    if (!one_of(s->log.format, "text", "json")) {
        snprintf(err, errlen, "%s: [log] format: expected text or json", path);
        goto fail;
    }
    if (s->kafka.input_topics.n == 0) {
        snprintf(err, errlen, "%s: [kafka] input_topics: at least one topic is needed", path);
        goto fail;
    }
    if (s->pipeline.threads < 0 || s->pipeline.threads > MAX_THREADS) {
        snprintf(err, errlen, "%s: [pipeline] threads must be between 0 and %d", path,
                 MAX_THREADS);
        goto fail;
    }
    if (s->kafka.batch_size < 1 || s->kafka.max_in_flight < 1 ||
        s->kafka.embedded_partitions < 1) {
        snprintf(err, errlen, "%s: [kafka] batch_size, max_in_flight and "
                 "embedded_partitions must be at least 1", path);
        goto fail;
    }
    if (s->http.port < 0 || s->http.port > 65535 || s->kafka.embedded_port < 0 ||
        s->kafka.embedded_port > 65535) {
        snprintf(err, errlen, "%s: a port must be between 0 and 65535", path);
        goto fail;
    }
    if (s->output.max_message_size != 0 && s->output.max_message_size < 4096) {
        snprintf(err, errlen, "%s: [output] max_message_size must be 0 or at least 4096", path);
        goto fail;
    }
    if (s->input.max_body_size < 1 || s->input.max_message_size < 1) {
        snprintf(err, errlen, "%s: [input] sizes must be positive", path);
        goto fail;
    }
    return s;
fail:
    s->cf = NULL;
    for (size_t i = 0; i < bound; i++)
        conf_unbind(sections[i].keys, (char *)s + sections[i].offset);
    free(s);
    conf_file_free(cf);
    return NULL;
}

int settings_check_unused(const struct settings *s, char *err, size_t errlen)
{
    const struct conf_file *cf = s->cf;

    for (size_t i = 0; i < cf->n; i++) {
        const struct conf_section *sec = &cf->sections[i];
        int known = 0, pass = 0;
        for (size_t k = 0; k < NSECTIONS; k++)
            known |= strcmp(sec->name, sections[k].name) == 0;
        for (size_t k = 0; k < sizeof(passthrough) / sizeof(passthrough[0]); k++)
            pass |= strcmp(sec->name, passthrough[k]) == 0;
        if (pass)
            continue;       /* librdkafka validates these */
        if (strncmp(sec->name, "processor.", 10) == 0) {
            if (!processor_find(sec->name + 10)) {
                snprintf(err, errlen, "%s:%d: unknown processor section [%s]", cf->path,
                         sec->line, sec->name);
                return -1;
            }
            known = 1;
        }
        if (!known) {
            if (sec->line)
                snprintf(err, errlen, "%s:%d: unknown section [%s]", cf->path, sec->line,
                         sec->name);
            else
                snprintf(err, errlen, "command line: unknown section '%s'", sec->name);
            return -1;
        }
        for (size_t k = 0; k < sec->n; k++) {
            if (!sec->entries[k].used && strncmp(sec->name, "processor.", 10) != 0) {
                snprintf(err, errlen, "%s:%d: [%s] unknown key '%s'", cf->path,
                         sec->entries[k].line, sec->name, sec->entries[k].key);
                return -1;
            }
        }
    }
    return 0;
}

void settings_free(struct settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NSECTIONS; i++)
        conf_unbind(sections[i].keys, (char *)s + sections[i].offset);
    conf_file_free(s->cf);
    free(s);
}

void settings_describe(FILE *fp, int markdown)
{
    for (size_t i = 0; i < NSECTIONS; i++)
        conf_describe(fp, sections[i].name, sections[i].keys, markdown);
    for (size_t i = 0; processor_registry[i]; i++) {
        char name[64];
        snprintf(name, sizeof(name), "processor.%s", processor_registry[i]->name);
        conf_describe(fp, name, processor_registry[i]->keys, markdown);
    }
}
