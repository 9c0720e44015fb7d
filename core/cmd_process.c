/*
 * cmd_process.c - `wirestream process`: the chain offline, JSON Lines in,
 * enriched JSON Lines out, in input order.
 *
 * Rejected input is reported on stderr as one JSON object per line
 * ({"line", "reason", "message"}, plus "file" with --format text) and the
 * exit status is EXIT_REJECTED when anything was rejected. Backfills,
 * tests, benchmarks and evaluation all go through here.
 *
 * JSON Lines go through `[pipeline] threads` worker threads as in `run`
 * (core/workers.c): they decode and run the front of the chain (clean),
 * this thread runs the rest in input order and writes, so the output is
 * the same as with threads = 0. Plain-text files, one article each, stay
 * on this thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "decode.h"
#include "encode.h"
#include "fileio.h"
#include "log.h"
#include "statestore_file.h"
#include "workers.h"

struct process_ctx {
    struct chain *chain;
    struct workers *workers;      /* NULL: everything on this thread */
    size_t front;                 /* processors the workers run */
    size_t work_cap;              /* lines in the pool at most */
    struct decode_opts dopts;
    enum output_format ofmt;
    FILE *out;
    int timestamps;
    uint64_t read, written, rejected, duplicates, near_duplicates, blank;
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void report_reject(const char *file, uint64_t line, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "reason", code,
                          "message", msg);
    if (file)
        json_object_set_new(o, "file", json_string(file));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(stderr, "%s\n", s ? s : "{\"reason\":\"internal_error\"}");
    free(s);
    json_decref(o);
}

/* The rest of an article's way once it is decoded (rec NULL: derr says
 * why not) and the first `from` processors gave verdict v: the others,
 * then the output. Takes rec. Returns 0, -1 on an output error (the run
 * stops: stdout is gone). */
static int finish_one(struct process_ctx *ctx, struct record *rec, enum verdict v, size_t from,
                      const struct decode_error *derr, const char *file, uint64_t line)
{
    ctx->read++;
    if (!rec) {
        ctx->rejected++;
        report_reject(file, line, derr->code, derr->msg);
        return 0;
    }
    if (v == VERDICT_KEEP)
        v = chain_process_from(ctx->chain, rec, from);
    if (v == VERDICT_REJECT) {
        ctx->rejected++;
        report_reject(file, line, rec->reject_code, rec->reject_msg ? rec->reject_msg : "");
        record_free(rec);
        return 0;
    }
    if (!rec->id)
        record_make_id(rec);
    if (rec->dedupe.status == DEDUPE_DUPLICATE)
        ctx->duplicates++;
    else if (rec->dedupe.status == DEDUPE_NEAR_DUPLICATE)
        ctx->near_duplicates++;

    /* Dropped records (exact duplicates by default) are still printed,
     * marked as such: offline, the caller decides what to keep. */
    size_t olen;
    char *s = encode_record_line(rec, ctx->ofmt, ctx->timestamps ? wall_ms() : 0, &olen);
    record_free(rec);
    if (!s) {
        ctx->rejected++;
        report_reject(file, line, "internal_error", "out of memory while encoding");
        return 0;
    }
    int ok = fwrite(s, 1, olen, ctx->out) == olen && fputc('\n', ctx->out) != EOF;
    free(s);
    if (!ok) {
        log_error("process", "writing output: %s", strerror(errno));
        return -1;
    }
    ctx->written++;
    return 0;
}

/* Decodes, processes and writes one article on this thread. */
static int process_one(struct process_ctx *ctx, const char *buf, size_t len,
                       const char *file, uint64_t line)
{
    struct decode_error derr;
    struct record *rec = decode_article(buf, len, &ctx->dopts, &derr);
    return finish_one(ctx, rec, VERDICT_KEEP, 0, &derr, file, line);
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* A line in the worker pool. The pool hands back the struct work. */
struct queued_line {
    struct work w;                /* first */
    uint64_t lineno;
    char buf[];                   /* the line, kept alive until taken */
};

/* Finishes the lines the workers are done with, in input order. With
 * block, waits until at least one is. An output error goes to *io (0 or
 * -1), and once it is set the lines taken are freed, not written. Returns
 * -1 only when waiting fails. */
static int take_done(struct process_ctx *ctx, int block, int *io)
{
    for (;;) {
        struct work *w = workers_take(ctx->workers);
        if (!w) {
            if (!block)
                return 0;
            struct pollfd pfd = {workers_fd(ctx->workers), POLLIN, 0};
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return -1;
            workers_ack(ctx->workers);
            continue;
        }
        block = 0;
        struct queued_line *q = (struct queued_line *)w;
        if (*io == 0)
            *io = finish_one(ctx, w->rec, w->verdict, ctx->front, &w->derr, NULL, q->lineno);
        else
            record_free(w->rec);      /* stdout is gone: nothing more is written */
        free(q);
    }
}

static int process_lines(struct process_ctx *ctx, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;

    while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (only_space(line, len)) {
            ctx->blank++;          /* JSON Lines allows blank lines */
            continue;
        }
        if (!ctx->workers) {
            rc = process_one(ctx, line, len, NULL, lineno);
            continue;
        }
        struct queued_line *q = malloc(sizeof(*q) + (len ? len : 1));
        if (!q) {
            log_error("process", "out of memory queueing line %llu", (unsigned long long)lineno);
            rc = -1;
            break;
        }
        memset(&q->w, 0, sizeof(q->w));
        memcpy(q->buf, line, len);
        q->w.payload = q->buf;
        q->w.len = len;
        q->lineno = lineno;
        workers_submit(ctx->workers, &q->w);
        if (take_done(ctx, workers_pending(ctx->workers) >= ctx->work_cap, &rc) < 0)
            rc = -1;
    }
    if (ctx->workers) {
        /* Whatever happened, every queued line is taken back. */
        workers_wait_idle(ctx->workers);
        int io = rc;
        if (take_done(ctx, 0, &io) < 0 || io < 0)
            rc = -1;
    }
    if (rc == 0 && ferror(in)) {
        log_error("process", "reading input: %s", strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

static int process_text_file(struct process_ctx *ctx, const char *path)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t len = 0;
    if (!fp) {
        log_error("process", "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = fileio_slurp(fp, &len);
    if (fp != stdin)
        fclose(fp);
    if (!buf) {
        log_error("process", "%s: read failed", path);
        return -1;
    }
    /* Exactly one article per file: a text article is never split. */
    struct decode_opts o = ctx->dopts;
    o.format = INPUT_TEXT;
    struct decode_opts saved = ctx->dopts;
    ctx->dopts = o;
    int rc = process_one(ctx, buf, len, path, 1);
    ctx->dopts = saved;
    free(buf);
    return rc;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: wirestream process [-c FILE] [-o section.key=value] [--input FILE]\n"
            "                          [--output FILE] [--format auto|json|text]\n"
            "                          [--output-format record|ninjs] [--state FILE]\n"
            "                          [--no-timestamps] [-q] [FILE...]\n"
            "\n"
            "Reads JSON Lines (or plain text, one article per file, with --format text)\n"
            "from --input, the FILEs or stdin, and writes one enriched record per line.\n"
            "Rejected input: one JSON line each on stderr; exit status 3.\n");
}

static int restore_cb(void *opaque, const void *k, size_t kl, const void *v, size_t vl)
{
    chain_restore(opaque, k, kl, v, vl);  /* unknown processors' state is ignored */
    return 0;
}

int cmd_process(int argc, char **argv)
{
    struct cli cli;
    struct process_ctx ctx;
    struct file_store *fs = NULL;
    const char *input = NULL, *output = NULL, *format = NULL, *ofmt = NULL, *state = NULL;
    const char **files = NULL;
    size_t nfiles = 0;
    char err[1024];
    int rc = EXIT_RUNTIME, no_timestamps = 0;

    memset(&ctx, 0, sizeof(ctx));
    if (cli_common(argc, argv, &cli) < 0)
        return EXIT_USAGE;
    files = calloc((size_t)cli.nrest, sizeof(*files));
    if (!files)
        goto out;
    const struct cli_opt opts[] = {
        {"--input", "-i", CLI_STRING, &input},
        {"--output", NULL, CLI_STRING, &output},
        {"--format", "-f", CLI_STRING, &format},
        {"--output-format", NULL, CLI_STRING, &ofmt},
        {"--state", NULL, CLI_STRING, &state},
        {"--no-timestamps", NULL, CLI_FLAG, &no_timestamps},
        {0},
    };
    const struct cli_cmd cmd = {"process", usage, CLI_POSITIONAL, opts};
    int parsed = cli_parse_opts(&cli, &cmd, files, &nfiles);
    if (parsed != 0) {
        rc = parsed > 0 ? 0 : EXIT_USAGE;
        goto out;
    }
    ctx.timestamps = !no_timestamps;

    const struct settings *s = cli.settings;
    const char *fmt = format ? format : s->input.format;
    ctx.dopts.format = strcmp(fmt, "json") == 0 ? INPUT_JSON
                       : strcmp(fmt, "text") == 0 ? INPUT_TEXT : INPUT_AUTO;
    if (strcmp(fmt, "json") != 0 && strcmp(fmt, "text") != 0 && strcmp(fmt, "auto") != 0) {
        fprintf(stderr, "wirestream process: --format: expected auto, json or text\n");
        rc = EXIT_USAGE;
        goto out;
    }
    if (encode_parse_format(ofmt ? ofmt : s->pipeline.output_format, &ctx.ofmt) < 0) {
        fprintf(stderr, "wirestream process: --output-format: expected record or ninjs\n");
        rc = EXIT_USAGE;
        goto out;
    }
    ctx.dopts.max_body_size = (size_t)s->input.max_body_size;
    ctx.dopts.max_message_size = (size_t)s->input.max_message_size;

    if (!state)
        state = s->pipeline.state_file;
    if (state && !(fs = file_store_open(state, err, sizeof(err)))) {
        fprintf(stderr, "wirestream process: %s\n", err);
        goto out;
    }
    if (!(ctx.chain = chain_new(s, fs ? file_store_iface(fs) : NULL, err, sizeof(err)))) {
        fprintf(stderr, "wirestream: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (settings_check_unused(s, err, sizeof(err)) < 0) {
        fprintf(stderr, "wirestream: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (s->pipeline.threads > 0 && ctx.dopts.format != INPUT_TEXT) {
        ctx.front = chain_front_len(s);
        ctx.work_cap = WORKERS_QUEUE_PER_THREAD * (size_t)s->pipeline.threads;
        if (!(ctx.workers = workers_new((size_t)s->pipeline.threads, s, &ctx.dopts, err,
                                        sizeof(err)))) {
            fprintf(stderr, "wirestream process: %s\n", err);
            goto out;
        }
    }
    if (fs) {
        file_store_foreach(fs, restore_cb, ctx.chain);
        log_info("process", "restored %zu state entries from %s", file_store_count(fs), state);
    }

    ctx.out = stdout;
    if (output && !(ctx.out = fopen(output, "w"))) {
        fprintf(stderr, "wirestream process: %s: %s\n", output, strerror(errno));
        goto out;
    }
    if (input)
        files[nfiles++] = input;

    int io = 0;
    if (ctx.dopts.format == INPUT_TEXT) {
        if (nfiles == 0)
            io = process_text_file(&ctx, "-");
        for (size_t i = 0; i < nfiles && io == 0; i++)
            io = process_text_file(&ctx, files[i]);
    } else if (nfiles == 0) {
        io = process_lines(&ctx, stdin);
    } else {
        for (size_t i = 0; i < nfiles && io == 0; i++) {
            FILE *in = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "rb");
            if (!in) {
                log_error("process", "%s: %s", files[i], strerror(errno));
                io = -1;
                break;
            }
            io = process_lines(&ctx, in);
            if (in != stdin)
                fclose(in);
        }
    }
    if (fflush(ctx.out) != 0)
        io = -1;
    if (fs && file_store_save(fs, err, sizeof(err)) < 0) {
        log_error("process", "saving state: %s", err);
        io = -1;
    }
    if (!cli.quiet)
        log_info("process", "%llu read, %llu written, %llu rejected, %llu duplicates, "
                 "%llu near duplicates",
                 (unsigned long long)ctx.read, (unsigned long long)ctx.written,
                 (unsigned long long)ctx.rejected, (unsigned long long)ctx.duplicates,
                 (unsigned long long)ctx.near_duplicates);
    rc = io < 0 ? EXIT_RUNTIME : ctx.rejected ? EXIT_REJECTED : 0;
out:
    if (ctx.out && ctx.out != stdout)
        fclose(ctx.out);
    workers_free(ctx.workers);    /* every line was taken back */
    chain_free(ctx.chain);
    file_store_free(fs);
    free(files);
    cli_free(&cli);
    return rc;
}
