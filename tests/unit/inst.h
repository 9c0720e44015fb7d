/*
 * inst.h - unit-test helper: one processor instance bound from
 * configuration text, as the chain would build it (no state store).
 *
 * Linked into every unit test binary (Makefile, TEST_HELPERS).
 */
#ifndef WS_TEST_INST_H
#define WS_TEST_INST_H

#include <stddef.h>

#include "processors/processor.h"

struct inst {
    const struct processor_ops *ops;
    struct conf_file *cf;
    void *conf;          /* the bound [processor.NAME] section */
    void *state;
};

/* Parses conf_text as if it were config/wirestream.conf (relative data
 * paths resolve against config/ as in production), binds the processor's
 * section and runs its init. 0, or -1 with err; either way inst_close()
 * releases what was made. */
int inst_open(struct inst *in, const struct processor_ops *ops, const char *conf_text,
              char *err, size_t errlen);

/* inst_open() that fails the running test with "NAME init: err".
 * conf_text NULL is the empty configuration. */
struct inst inst_open_ok(const struct processor_ops *ops, const char *conf_text);

void inst_close(struct inst *in);

struct settings;

/* config/wirestream.conf with [pipeline] processors = `processors` and a
 * small dedupe index (its default reserves 256 MiB per chain). Fails the
 * running test when it does not load; settings_free() releases it. */
struct settings *inst_settings(const char *processors);

#endif
