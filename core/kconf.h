/*
 * kconf.h - librdkafka configuration for wirestream's clients.
 *
 * One place builds every rd_kafka_conf_t: our defaults for the role first,
 * then [librdkafka], then [librdkafka.consumer] or [librdkafka.producer]
 * verbatim (so the user always wins), and librdkafka's log routed to
 * log.h. A property librdkafka refuses is reported as file:line.
 */
#ifndef WS_KCONF_H
#define WS_KCONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "settings.h"

/*
 * defaults: NULL-terminated pairs {"prop", "value", ..., NULL}; role:
 * "consumer" or "producer" (selects the extra section). Returns a conf the
 * caller owns (rd_kafka_new() takes it), or NULL with err filled.
 */
rd_kafka_conf_t *kconf_new(const struct settings *s, const char *brokers, const char *role,
                           const char *const *defaults, char *err, size_t errlen);

/* Sets one property; on failure err names the property. 0 / -1. */
int kconf_set(rd_kafka_conf_t *conf, const char *prop, const char *val, char *err,
              size_t errlen);

#endif
