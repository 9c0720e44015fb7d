/*
 * encode.h - the enriched output record (schema in docs/schema/).
 *
 * SCHEMA_VERSION changes its major number on any incompatible change;
 * additions bump the minor. Dashboards should check the major.
 */
#ifndef WS_ENCODE_H
#define WS_ENCODE_H

#include <jansson.h>

#include "record.h"

#define SCHEMA_VERSION "1.0"
#define IPTC_MEDIATOPIC_URI "http://cv.iptc.org/newscodes/mediatopic/"
#define WIKIDATA_URI "http://www.wikidata.org/entity/"

enum output_format { OUTPUT_RECORD = 0, OUTPUT_NINJS };

/* New JSON object (caller owns the reference) or NULL on allocation
 * failure. `processed_at` (Unix ms, 0 = omit) is the one field that
 * differs between two runs over the same input. */
json_t *encode_record(const struct record *rec, enum output_format fmt,
                      int64_t processed_at);

/* Compact one-line JSON, malloc'd, caller frees; *len gets its length. */
char *encode_record_line(const struct record *rec, enum output_format fmt,
                         int64_t processed_at, size_t *len);

int encode_parse_format(const char *s, enum output_format *fmt);

#endif
