/*
 * fuzz_targets.c - one function per fuzzed parser, plus the invariant
 * checks run after each input (see fuzz_targets.h).
 *
 * Built twice: with clang into every libFuzzer binary (Makefile `fuzz`,
 * scripts/fuzz-smoke.sh), and #included by tests/unit/test_regressions.c,
 * so that the saved crash inputs replay through the very same code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <math.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"

#include "core/chain.h"
#include "core/conf.h"
#include "core/decode.h"
#include "core/encode.h"
#include "core/gazetteer.h"
#include "core/record.h"
#include "core/settings.h"
#include "core/statestore_file.h"
#include "core/taxonomy.h"
#include "core/text.h"
#include "processors/processor.h"

const char *const fuzz_target_names[] = {
    "decode", "clean", "entities", "gazetteer", "taxonomy", "conf", "state", NULL,
};

struct fuzz_env {
    int (*run)(struct fuzz_env *env, const uint8_t *data, size_t size, char *err, size_t errlen);
    struct settings *settings; /* decode and chain targets */
    struct chain *chain;       /* clean, entities */
    struct decode_opts dopts;
    enum input_format format; /* forced format of the chain targets */
};

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A copy with a terminating NUL, for the parsers that take C strings. */
static char *cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

static const char *const reason_codes[] = {
    DECODE_EMPTY_MESSAGE, DECODE_MESSAGE_TOO_LARGE, DECODE_INVALID_UTF8, DECODE_NUL_BYTE,
    DECODE_INVALID_JSON,  DECODE_NOT_OBJECT,        DECODE_WRONG_TYPE,   DECODE_MISSING_BODY,
    DECODE_EMPTY_BODY,    DECODE_BODY_TOO_LARGE,    DECODE_INVALID_DATE, NULL,
};

static int known_reason(const char *code)
{
    for (size_t i = 0; code && reason_codes[i]; i++)
        if (strcmp(code, reason_codes[i]) == 0)
            return 1;
    return 0;
}

static int check_str(const char *s, const char *what, char *err, size_t errlen)
{
    size_t at;
    if (s && !text_utf8_valid(s, strlen(s), &at))
        return bad(err, errlen, "%s is not valid UTF-8 at byte %zu", what, at);
    return 0;
}

/* What every consumer of a kept record relies on. */
static int check_record(const struct record *rec, char *err, size_t errlen)
{
    size_t at;

    if (!rec->body)
        return bad(err, errlen, "kept record has no body");
    if (strlen(rec->body) != rec->body_len)
        return bad(err, errlen, "body_len %zu but strlen %zu", rec->body_len, strlen(rec->body));
    if (!text_utf8_valid(rec->body, rec->body_len, &at))
        return bad(err, errlen, "body is not valid UTF-8 at byte %zu", at);
    if (check_str(rec->headline, "headline", err, errlen) < 0 ||
        check_str(rec->id, "id", err, errlen) < 0 ||
        check_str(rec->dateline, "dateline", err, errlen) < 0)
        return -1;
    if ((size_t)rec->dateline_span.off + rec->dateline_span.len > rec->body_len)
        return bad(err, errlen, "dateline span %u+%u outside body of %zu", rec->dateline_span.off,
                   rec->dateline_span.len, rec->body_len);
    for (size_t i = 0; i < rec->nentities; i++) {
        const struct entity *e = &rec->entities[i];
        if (!e->name || !*e->name)
            return bad(err, errlen, "entity %zu has no name", i);
        for (size_t k = 0; k < e->nspans; k++) {
            const struct span *sp = &e->spans[k];
            if (sp->len == 0 || (size_t)sp->off + sp->len > rec->body_len)
                return bad(err, errlen, "entity %s span %u+%u outside body of %zu", e->name,
                           sp->off, sp->len, rec->body_len);
            if (k > 0 && sp->off < e->spans[k - 1].off + e->spans[k - 1].len)
                return bad(err, errlen, "entity %s spans out of order", e->name);
        }
    }
    for (size_t i = 0; i < rec->ntopics; i++) {
        double s = rec->topics[i].score;
        if (!(s >= 0.0 && s <= 1.0))
            return bad(err, errlen, "topic %s score %g outside [0,1]", rec->topics[i].name, s);
    }
    for (int f = OUTPUT_RECORD; f <= OUTPUT_NINJS; f++) {
        size_t len = 0;
        char *line = encode_record_line(rec, (enum output_format)f, 0, &len);
        if (!line)
            return bad(err, errlen, "encode_record_line failed (format %d)", f);
        json_error_t jerr;
        json_t *back = json_loadb(line, len, 0, &jerr);
        int nl = memchr(line, '\n', len) != NULL;
        free(line);
        if (!back)
            return bad(err, errlen, "encoded record is not JSON: %s", jerr.text);
        json_decref(back);
        if (nl)
            return bad(err, errlen, "encoded record spans more than one line");
    }
    return 0;
}

static int check_rejected(const struct decode_error *derr, char *err, size_t errlen)
{
    if (!known_reason(derr->code) && !(derr->code && strcmp(derr->code, "out_of_memory") == 0))
        return bad(err, errlen, "rejected with unknown reason code %s",
                   derr->code ? derr->code : "(null)");
    if (!derr->msg[0])
        return bad(err, errlen, "rejected (%s) without a message", derr->code);
    return check_str(derr->msg, "reason message", err, errlen);
}

/* ------------------------------------------------------------ targets */

/* Decoding as the three input formats, then encoding: what `process`,
 * `run` and `ingest` do with every message before the chain. */
static int run_decode(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                      size_t errlen)
{
    static const enum input_format formats[] = {INPUT_AUTO, INPUT_JSON, INPUT_TEXT};
    for (size_t i = 0; i < 3; i++) {
        struct decode_opts o = env->dopts;
        struct decode_error derr = {0};
        o.format = formats[i];
        struct record *rec = decode_article((const char *)data, size, &o, &derr);
        int rc = rec ? check_record(rec, err, errlen) : check_rejected(&derr, err, errlen);
        record_free(rec);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Decode, then the configured chain (clean; or clean, entities, topics). */
static int run_chain(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                     size_t errlen)
{
    struct decode_opts o = env->dopts;
    struct decode_error derr = {0};
    o.format = env->format;
    struct record *rec = decode_article((const char *)data, size, &o, &derr);
    if (!rec)
        return check_rejected(&derr, err, errlen);
    int rc = 0;
    enum verdict v = chain_process(env->chain, rec);
    if (v == VERDICT_KEEP)
        rc = check_record(rec, err, errlen);
    else if (v == VERDICT_REJECT && (!rec->reject_code || !rec->reject_msg))
        rc = bad(err, errlen, "rejected by the chain without a reason");
    else if (v == VERDICT_REJECT)
        rc = check_str(rec->reject_msg, "reject message", err, errlen);
    record_free(rec);
    return rc;
}

static int run_gazetteer(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                         size_t errlen)
{
    char lerr[512] = "";
    struct gazetteer *g = gazetteer_new();
    int rc = 0;
    (void)env;
    if (!g)
        return bad(err, errlen, "out of memory");
    if (gazetteer_add_text(g, (const char *)data, size, "fuzz.gaz", lerr, sizeof(lerr)) < 0 ||
        gazetteer_finish(g, lerr, sizeof(lerr)) < 0) {
        if (!lerr[0])
            rc = bad(err, errlen, "gazetteer failed without an error message");
    } else {
        for (size_t i = 0; i < g->naliases && rc == 0; i++)
            if (g->aliases[i].entity >= g->nents ||
                g->aliases[i].case_off + g->aliases[i].ntok > g->ncase)
                rc = bad(err, errlen, "alias %zu points outside the tables", i);
        for (size_t i = 0; i < g->nents && rc == 0; i++)
            rc = check_str(g->ents[i].name, "entity name", err, errlen);
    }
    gazetteer_free(g);
    return rc;
}

static int run_taxonomy(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                        size_t errlen)
{
    char lerr[512] = "";
    (void)env;
    struct taxonomy *tax =
        taxonomy_parse((const char *)data, size, "fuzz.taxonomy", lerr, sizeof(lerr));
    if (!tax)
        return lerr[0] ? 0 : bad(err, errlen, "taxonomy failed without an error message");
    int rc = 0;
    for (size_t i = 0; i < tax->ntopics && rc == 0; i++)
        if (!taxonomy_name_valid(tax->topics[i].name))
            rc = bad(err, errlen, "topic name '%s' accepted", tax->topics[i].name);
    for (size_t i = 0; i < tax->nphrases && rc == 0; i++) {
        const struct taxonomy_phrase *p = &tax->phrases[i];
        if (p->ntok == 0 || p->ntok > tax->longest)
            rc = bad(err, errlen, "phrase '%s' has %zu tokens", p->text, p->ntok);
        for (size_t k = 0; k < p->nweights && rc == 0; k++) {
            const struct taxonomy_weight *w = &p->weights[k];
            if (w->index >= (w->is_context ? tax->ncontexts : tax->ntopics) || !isfinite(w->weight))
                rc = bad(err, errlen, "phrase '%s' weight %zu is invalid", p->text, k);
        }
    }
    taxonomy_free(tax);
    return rc;
}

/* Parsing, then binding every section the product knows, the way start-up
 * does; and the value parsers on the raw input. Data files named in the
 * input are never opened (chain_new is not called): a fuzzer must not
 * read /dev/zero because an input said so. */
static int run_conf(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                    size_t errlen)
{
    char lerr[512] = "";
    char *text = cstr(data, size);
    int rc = 0;
    (void)env;
    if (!text)
        return bad(err, errlen, "out of memory");

    int64_t v;
    int b;
    (void)conf_parse_duration(text, &v);
    (void)conf_parse_size(text, &v);
    (void)conf_parse_bool(text, &b);

    struct conf_file *cf = conf_parse(text, "fuzz.conf", lerr, sizeof(lerr));
    if (!cf) {
        if (!lerr[0])
            rc = bad(err, errlen, "conf_parse failed without an error message");
        goto out;
    }
    /* Overrides exercise the same code as -o. */
    (void)conf_override_arg(cf, text, lerr, sizeof(lerr));
    for (const struct processor_ops *const *p = processor_registry; *p; p++) {
        char sect[96];
        void *conf = calloc(1, (*p)->conf_size ? (*p)->conf_size : 1);
        if (!conf) {
            rc = bad(err, errlen, "out of memory");
            break;
        }
        snprintf(sect, sizeof(sect), "processor.%s", (*p)->name);
        lerr[0] = '\0';
        if ((*p)->keys) {
            if (conf_bind((*p)->keys, conf_section(cf, sect), cf, conf, lerr, sizeof(lerr)) == 0)
                conf_unbind((*p)->keys, conf);
            else if (!lerr[0])
                rc = bad(err, errlen, "conf_bind failed without an error message");
        }
        free(conf);
    }
    lerr[0] = '\0';
    struct settings *s = settings_load(cf, lerr, sizeof(lerr)); /* takes cf */
    if (!s) {
        if (!lerr[0] && rc == 0)
            rc = bad(err, errlen, "settings_load failed without an error message");
        goto out;
    }
    (void)settings_check_unused(s, lerr, sizeof(lerr));
    settings_free(s);
out:
    free(text);
    return rc;
}

/* A state file (statestore_file.h format) as `process --state` reads it,
 * each entry restored into a fresh dedupe, then two articles checked
 * against what was restored. The store reads a path, so the input goes
 * through a memory file. The chain is new for every input: restored
 * entries must not leak from one input into the next. */
static const char *const state_articles[] = {
    "{\"id\": \"nato-vilnius-a-orig\", \"body\": \"VILNIUS, July 11 (Wire) - NATO leaders "
    "meeting in Vilnius agreed on Tuesday to a new plan for the defence of the alliance's "
    "eastern flank, diplomats said, after talks that ran late into the night.\"}",
    "{\"id\": \"fuzz-new\", \"body\": \"KYIV (Wire) - Talks on grain transit resumed on "
    "Monday between Ukrainian and Polish officials, the ministry said.\"}",
};

static int restore_one(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)chain_restore(opaque, key, klen, val, vlen); /* unknown entries are skipped */
    return 0;
}

static int run_state(struct fuzz_env *env, const uint8_t *data, size_t size, char *err,
                     size_t errlen)
{
    char path[64], lerr[512] = "";
    int rc = 0, fd = memfd_create("fuzz-state", 0);
    struct file_store *fs = NULL;
    struct chain *ch = NULL;

    if (fd < 0)
        return bad(err, errlen, "memfd_create failed");
    if (write(fd, data, size) != (ssize_t)size) {
        rc = bad(err, errlen, "write to the memory file failed");
        goto out;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (!(fs = file_store_open(path, lerr, sizeof(lerr)))) {
        if (!lerr[0])
            rc = bad(err, errlen, "file_store_open failed without an error message");
        goto out;
    }
    if (!(ch = chain_new(env->settings, NULL, lerr, sizeof(lerr)))) {
        rc = bad(err, errlen, "chain_new: %s", lerr);
        goto out;
    }
    (void)file_store_foreach(fs, restore_one, ch);
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        struct decode_error derr = {0};
        const char *a = state_articles[i];
        struct record *rec = decode_article(a, strlen(a), &env->dopts, &derr);
        if (!rec) {
            rc = bad(err, errlen, "fixed article %zu does not decode: %s", i, derr.msg);
            break;
        }
        enum verdict v = chain_process(ch, rec);
        if (v == VERDICT_KEEP)
            rc = check_record(rec, err, errlen);
        if (rc == 0 && rec->dedupe.similarity < 0.0)
            rc = bad(err, errlen, "negative similarity");
        record_free(rec);
    }
out:
    chain_free(ch);
    file_store_free(fs);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------ set-up */

static int load_settings(struct fuzz_env *env, const char *root, const char *processors, char *err,
                         size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/wirestream.conf", root);
    struct conf_file *cf = conf_load(path, err, errlen);
    if (!cf)
        return -1;
    /* A small dedupe index: the state target builds one per input. */
    if (conf_override(cf, "pipeline", "processors", processors, err, errlen) < 0 ||
        conf_override(cf, "processor.dedupe", "max_entries", "1000", err, errlen) < 0 ||
        conf_override(cf, "processor.dedupe", "memory_budget", "8MiB", err, errlen) < 0) {
        conf_file_free(cf);
        return -1;
    }
    if (!(env->settings = settings_load(cf, err, errlen)))
        return -1;
    env->dopts.format = INPUT_AUTO;
    env->dopts.max_body_size = (size_t)env->settings->input.max_body_size;
    env->dopts.max_message_size = (size_t)env->settings->input.max_message_size;
    if (processors[0] && env->run != run_state &&
        !(env->chain = chain_new(env->settings, NULL, err, errlen)))
        return -1;
    return 0;
}

struct fuzz_env *fuzz_env_open(const char *name, const char *root, char *err, size_t errlen)
{
    struct fuzz_env *env = calloc(1, sizeof(*env));
    const char *processors = NULL;

    if (!env) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!root)
        root = ".";
    if (strcmp(name, "decode") == 0) {
        env->run = run_decode;
        processors = "";
    } else if (strcmp(name, "clean") == 0) {
        env->run = run_chain;
        env->format = INPUT_AUTO;
        processors = "clean";
    } else if (strcmp(name, "entities") == 0) {
        /* Plain text straight into the automaton: every byte of the input
         * reaches the tokenizer and the gazetteer scan. */
        env->run = run_chain;
        env->format = INPUT_TEXT;
        processors = "clean, entities, topics";
    } else if (strcmp(name, "gazetteer") == 0) {
        env->run = run_gazetteer;
    } else if (strcmp(name, "taxonomy") == 0) {
        env->run = run_taxonomy;
    } else if (strcmp(name, "conf") == 0) {
        env->run = run_conf;
    } else if (strcmp(name, "state") == 0) {
        /* chain_new per input, from these settings (see run_state). */
        env->run = run_state;
        processors = "dedupe";
    } else {
        snprintf(err, errlen, "unknown fuzz target '%s'", name);
        free(env);
        return NULL;
    }
    if (processors && load_settings(env, root, processors, err, errlen) < 0) {
        fuzz_env_free(env);
        return NULL;
    }
    return env;
}

void fuzz_env_free(struct fuzz_env *env)
{
    if (!env)
        return;
    chain_free(env->chain);
    settings_free(env->settings);
    free(env);
}

int fuzz_env_run(struct fuzz_env *env, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    return env->run(env, data, size, err, errlen);
}
