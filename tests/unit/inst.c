/*
 * inst.c - see inst.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/conf.h"
#include "core/settings.h"
#include "tests/unit/inst.h"

struct settings *inst_settings(const char *processors)
{
    char err[512];
    struct conf_file *cf = conf_load("config/wirestream.conf", err, sizeof(err));
    if (!cf)
        fail_msg("%s", err);
    if (conf_override(cf, "pipeline", "processors", processors, err, sizeof(err)) < 0 ||
        conf_override(cf, "processor.dedupe", "max_entries", "1000", err, sizeof(err)) < 0 ||
        conf_override(cf, "processor.dedupe", "memory_budget", "0", err, sizeof(err)) < 0)
        fail_msg("%s", err);
    struct settings *s = settings_load(cf, err, sizeof(err));
    if (!s)
        fail_msg("%s", err);
    return s;
}

int inst_open(struct inst *in, const struct processor_ops *ops, const char *conf_text,
              char *err, size_t errlen)
{
    char section[64];
    memset(in, 0, sizeof(*in));
    in->ops = ops;
    in->cf = conf_parse(conf_text, "config/wirestream.conf", err, errlen);
    if (!in->cf)
        return -1;
    snprintf(section, sizeof(section), "processor.%s", ops->name);
    in->conf = calloc(1, ops->conf_size ? ops->conf_size : 1);
    if (conf_bind(ops->keys, conf_section(in->cf, section), in->cf, in->conf, err, errlen) < 0) {
        free(in->conf);         /* conf_bind() released its contents */
        in->conf = NULL;
        return -1;
    }
    struct processor_env env = {.cf = in->cf, .store = NULL};
    return ops->init(&in->state, in->conf, &env, err, errlen);
}

struct inst inst_open_ok(const struct processor_ops *ops, const char *conf_text)
{
    struct inst in;
    char err[512] = "";
    if (inst_open(&in, ops, conf_text ? conf_text : "", err, sizeof(err)) < 0)
        fail_msg("%s init: %s", ops->name, err);
    return in;
}

void inst_close(struct inst *in)
{
    if (in->ops && in->state)
        in->ops->destroy(in->state);
    if (in->conf && in->ops)
        conf_unbind(in->ops->keys, in->conf);
    free(in->conf);
    conf_file_free(in->cf);
    memset(in, 0, sizeof(*in));
}
