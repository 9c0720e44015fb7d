/*
 * kconf.c - librdkafka configuration (see kconf.h).
 */
#include <stdio.h>
#include <string.h>

#include "kconf.h"
#include "log.h"

/* librdkafka's syslog levels (0 emerg .. 7 debug) onto ours. Called from
 * librdkafka's threads: log_msg() is thread-safe. */
static void kconf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* librdkafka logs transient connection failures at LOG_ERR (3); they
     * are retried, so they are warnings here. */
    enum log_level l = level <= 2 ? LOG_ERROR : level <= 4 ? LOG_WARN
                     : level <= 6 ? LOG_INFO : LOG_DEBUG;
    if (log_enabled(l))
        log_msg(l, "librdkafka", "%s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

int kconf_set(rd_kafka_conf_t *conf, const char *prop, const char *val, char *err,
              size_t errlen)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, prop, val, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "librdkafka property %s: %s", prop, errstr);
        return -1;
    }
    return 0;
}

/* cli: 0 applies the entries from the file, 1 those from the command line
 * (line 0), so that -X and -o always win over any file section. */
static int apply_section(rd_kafka_conf_t *conf, const struct conf_file *cf, const char *name,
                         int cli, char *err, size_t errlen)
{
    struct conf_section *sec = conf_section(cf, name);
    char errstr[512];

    if (!sec)
        return 0;
    for (size_t i = 0; i < sec->n; i++) {
        struct conf_entry *ce = &sec->entries[i];
        if ((ce->line == 0) != cli)
            continue;
        ce->used = 1;
        if (rd_kafka_conf_set(conf, ce->key, ce->value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            if (ce->line)
                snprintf(err, errlen, "%s:%d: [%s] %s: %s", cf->path, ce->line, name, ce->key,
                         errstr);
            else
                snprintf(err, errlen, "command line: [%s] %s: %s", name, ce->key, errstr);
            return -1;
        }
    }
    return 0;
}

rd_kafka_conf_t *kconf_new(const struct settings *s, const char *brokers, const char *role,
                           const char *const *defaults, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char section[64];

    rd_kafka_conf_set_log_cb(conf, kconf_log_cb);
    if (kconf_set(conf, "bootstrap.servers", brokers, err, errlen) < 0 ||
        kconf_set(conf, "client.id", s->kafka.client_id, err, errlen) < 0 ||
        kconf_set(conf, "log_level", log_enabled(LOG_DEBUG) ? "7" : "6", err, errlen) < 0)
        goto fail;
    for (size_t i = 0; defaults && defaults[i] && defaults[i + 1]; i += 2)
        if (kconf_set(conf, defaults[i], defaults[i + 1], err, errlen) < 0)
            goto fail;
    snprintf(section, sizeof(section), "librdkafka.%s", role);
    for (int cli = 0; cli < 2; cli++)
        if (apply_section(conf, s->cf, "librdkafka", cli, err, errlen) < 0 ||
            apply_section(conf, s->cf, section, cli, err, errlen) < 0)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
