/*
 * test_conf.c - configuration files: parsing, sections, ${ENV} expansion,
 * typed binding with errors that name file:line:key, value parsers, and
 * command-line overrides (-o section.key=value, processor.NAME.key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/conf.h"

struct demo {
    char *name;
    char *file;
    int64_t count;
    int flag;
    double ratio;
    int64_t window;
    int64_t limit;
    struct conf_list tags;
};

static const struct conf_key demo_keys[] = {
    {"name", CONF_STRING, "wire", offsetof(struct demo, name), "a name"},
    {"file", CONF_PATH, NULL, offsetof(struct demo, file), "a data file"},
    {"count", CONF_INT, "7", offsetof(struct demo, count), "a count"},
    {"flag", CONF_BOOL, "false", offsetof(struct demo, flag), "a switch"},
    {"ratio", CONF_DOUBLE, "0.5", offsetof(struct demo, ratio), "a ratio"},
    {"window", CONF_DURATION, "72h", offsetof(struct demo, window), "a duration"},
    {"limit", CONF_SIZE, "1MiB", offsetof(struct demo, limit), "a size"},
    {"tags", CONF_LIST, "a, b", offsetof(struct demo, tags), "a list"},
    {NULL, 0, NULL, 0, NULL},
};

static struct conf_file *parse_ok(const char *text)
{
    char err[512] = "";
    struct conf_file *cf = conf_parse(text, "/etc/ws/test.conf", err, sizeof(err));
    if (!cf)
        fail_msg("unexpected parse error: %s", err);
    return cf;
}

/* Parses text that must fail; checks the error holds `want`. */
static void parse_fails(const char *text, const char *want)
{
    char err[512] = "";
    struct conf_file *cf = conf_parse(text, "/etc/ws/test.conf", err, sizeof(err));
    if (cf) {
        conf_file_free(cf);
        fail_msg("parse of %s succeeded, expected an error with \"%s\"", text, want);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_text_after_quotes_is_an_error(void **unused)
{
    parse_fails("[a]\nk = \"v\" trailing\n", "test.conf:2: text after the closing quote");
}

static void test_parse_sections(void **unused)
{
    struct conf_file *cf = parse_ok(
        "# leading comment\n"
        "; semicolon comment\n"
        "\n"
        "[input]\n"
        "  format = json  \n"
        "max_body_size=2MiB\r\n"
        "[ pipeline ]\n"
        "processors = clean, dedupe\n"
        "tag = #hashtag\n"
        "note = value # trailing comment\n"
        "quoted = \"  spaced  \"\n"
        "secret = \"pa #ss\" # a comment after the quotes\n"
        "url = http://example.org/a#frag\n"
        "[processor.dedupe]\n"
        "window = 5m\n"
        "[input]\n"
        "format = text\n");
    assert_int_equal(cf->n, 3);
    assert_string_equal(cf->path, "/etc/ws/test.conf");
    assert_string_equal(cf->dir, "/etc/ws");

    struct conf_section *in = conf_section(cf, "input");
    assert_non_null(in);
    assert_int_equal(in->line, 4);
    assert_string_equal(conf_get(in, "format"), "text");   /* later lines win */
    assert_string_equal(conf_get(in, "max_body_size"), "2MiB");   /* CR trimmed */
    assert_int_equal(in->n, 2);

    struct conf_section *p = conf_section(cf, "pipeline");
    assert_non_null(p);
    assert_string_equal(conf_get(p, "processors"), "clean, dedupe");
    assert_string_equal(conf_get(p, "tag"), "#hashtag");
    assert_string_equal(conf_get(p, "note"), "value");
    assert_string_equal(conf_get(p, "quoted"), "  spaced  ");
    assert_string_equal(conf_get(p, "secret"), "pa #ss");   /* quotes protect " #" */
    assert_string_equal(conf_get(p, "url"), "http://example.org/a#frag");
    assert_null(conf_get(p, "missing"));

    assert_non_null(conf_section(cf, "processor.dedupe"));
    assert_null(conf_section(cf, "kafka"));
    assert_null(conf_get(NULL, "x"));
    conf_file_free(cf);
    conf_file_free(NULL);
}

static void test_parse_errors_name_line(void **unused)
{
    parse_fails("[input]\nformat = json\n[broken\n", "/etc/ws/test.conf:3: malformed section");
    parse_fails("[input] trailing\n", "test.conf:1: malformed section");
    parse_fails("\n[   ]\n", "test.conf:2: empty section");
    parse_fails("[input]\nformat json\n", "test.conf:2: expected 'key = value'");
    parse_fails("[input]\n = json\n", "test.conf:2: missing key");
    parse_fails("# c\nformat = json\n", "test.conf:2: key 'format' outside any [section]");
}

static void test_env_expansion(void **unused)
{
    setenv("WS_TEST_BROKERS", "k1:9092,k2:9092", 1);
    setenv("WS_TEST_EMPTY", "", 1);
    unsetenv("WS_TEST_UNSET");
    struct conf_file *cf = parse_ok(
        "[kafka]\n"
        "brokers = ${WS_TEST_BROKERS}\n"
        "mixed = pre-${WS_TEST_BROKERS}-post\n"
        "def = ${WS_TEST_UNSET:-fallback}\n"
        "emptydef = ${WS_TEST_EMPTY:-used}\n"
        "empty = x${WS_TEST_EMPTY}y\n"
        "dollar = cost $5 and $HOME\n"
        "twice = ${WS_TEST_EMPTY:-}${WS_TEST_BROKERS}\n");
    struct conf_section *k = conf_section(cf, "kafka");
    assert_string_equal(conf_get(k, "brokers"), "k1:9092,k2:9092");
    assert_string_equal(conf_get(k, "mixed"), "pre-k1:9092,k2:9092-post");
    assert_string_equal(conf_get(k, "def"), "fallback");
    assert_string_equal(conf_get(k, "emptydef"), "used");
    assert_string_equal(conf_get(k, "empty"), "xy");
    assert_string_equal(conf_get(k, "dollar"), "cost $5 and $HOME");
    assert_string_equal(conf_get(k, "twice"), "k1:9092,k2:9092");
    conf_file_free(cf);

    /* A value taken from the environment is not expanded again. */
    setenv("WS_TEST_NESTED", "${WS_TEST_UNSET}", 1);
    cf = parse_ok("[s]\nv = ${WS_TEST_NESTED}\n");
    assert_string_equal(conf_get(conf_section(cf, "s"), "v"), "${WS_TEST_UNSET}");
    conf_file_free(cf);

    /* A missing secret is an error naming the file, line, key and variable. */
    parse_fails("[librdkafka]\n\nsasl.password = ${WS_TEST_UNSET}\n",
                "/etc/ws/test.conf:3: [librdkafka] sasl.password: environment variable "
                "WS_TEST_UNSET is not set");
    parse_fails("[s]\nv = ${WS_TEST_BROKERS\n", "test.conf:2: [s] v: unterminated ${");
}

static void test_bind_defaults_and_values(void **unused)
{
    struct demo d;
    char err[512] = "";

    memset(&d, 0, sizeof(d));
    assert_int_equal(conf_bind(demo_keys, NULL, NULL, &d, err, sizeof(err)), 0);
    assert_string_equal(d.name, "wire");
    assert_null(d.file);
    assert_int_equal(d.count, 7);
    assert_int_equal(d.flag, 0);
    assert_true(d.ratio == 0.5);
    assert_int_equal(d.window, 72LL * 3600 * 1000);
    assert_int_equal(d.limit, 1048576);
    assert_int_equal(d.tags.n, 2);
    assert_string_equal(d.tags.items[1], "b");
    conf_unbind(demo_keys, &d);

    struct conf_file *cf = parse_ok("[demo]\n"
                                    "name = Reuters wire\n"
                                    "file = data/gaz.txt\n"
                                    "count = -42\n"
                                    "flag = YES\n"
                                    "ratio = 1e-3\n"
                                    "window = 250ms\n"
                                    "limit = 64KiB\n"
                                    "tags = war , , diplomacy,alliances,\n");
    struct conf_section *sec = conf_section(cf, "demo");
    memset(&d, 0, sizeof(d));
    assert_int_equal(conf_bind(demo_keys, sec, cf, &d, err, sizeof(err)), 0);
    assert_string_equal(d.name, "Reuters wire");
    assert_string_equal(d.file, "/etc/ws/data/gaz.txt");    /* relative to the file */
    assert_int_equal(d.count, -42);
    assert_int_equal(d.flag, 1);
    assert_true(d.ratio > 0.00099 && d.ratio < 0.00101);
    assert_int_equal(d.window, 250);
    assert_int_equal(d.limit, 65536);
    assert_int_equal(d.tags.n, 3);
    assert_string_equal(d.tags.items[0], "war");
    assert_string_equal(d.tags.items[2], "alliances");
    assert_true(conf_list_contains(&d.tags, "diplomacy"));
    assert_false(conf_list_contains(&d.tags, "dip"));
    for (size_t i = 0; i < sec->n; i++)
        assert_true(sec->entries[i].used);
    conf_unbind(demo_keys, &d);
    assert_null(d.name);
    assert_int_equal(d.tags.n, 0);

    /* Absolute paths are kept as they are. */
    conf_override(cf, "demo", "file", "/srv/gaz.txt", err, sizeof(err));
    memset(&d, 0, sizeof(d));
    assert_int_equal(conf_bind(demo_keys, sec, cf, &d, err, sizeof(err)), 0);
    assert_string_equal(d.file, "/srv/gaz.txt");
    conf_unbind(demo_keys, &d);
    conf_file_free(cf);
}

/* Binds `text` (one [demo] section) and checks the error. */
static void bind_fails(const char *text, const char *want)
{
    struct conf_file *cf = parse_ok(text);
    struct demo d;
    char err[512] = "";
    memset(&d, 0, sizeof(d));
    int rc = conf_bind(demo_keys, conf_section(cf, "demo"), cf, &d, err, sizeof(err));
    conf_file_free(cf);
    if (rc == 0) {
        conf_unbind(demo_keys, &d);
        fail_msg("binding %s succeeded, expected \"%s\"", text, want);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    /* On failure everything is released (ASan would see a leak otherwise). */
    assert_null(d.name);
    assert_null(d.tags.items);
}

static void test_bind_errors_name_file_line_key(void **unused)
{
    bind_fails("[demo]\nname = x\n\ncolour = red\n",
               "/etc/ws/test.conf:4: [demo] unknown key 'colour'");
    bind_fails("[demo]\ncount = 12abc\n", "/etc/ws/test.conf:2: [demo] count: expected an integer");
    bind_fails("[demo]\ncount = 99999999999999999999\n", "test.conf:2: [demo] count");
    bind_fails("[demo]\ncount =\n", "test.conf:2: [demo] count");
    bind_fails("[demo]\nflag = maybe\n", "test.conf:2: [demo] flag: expected true or false");
    bind_fails("[demo]\nratio = nan\n", "test.conf:2: [demo] ratio: expected a number");
    bind_fails("[demo]\nratio = 0.5x\n", "test.conf:2: [demo] ratio");
    bind_fails("[demo]\nwindow = 5 fortnights\n", "test.conf:2: [demo] window: expected a duration");
    bind_fails("[demo]\nwindow = -5s\n", "test.conf:2: [demo] window");
    bind_fails("[demo]\nlimit = 12 parsecs\n", "test.conf:2: [demo] limit: expected a size");
}

static void test_duration_size_bool(void **unused)
{
    struct {
        const char *s;
        int64_t ms;
    } dur[] = {
        {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"5min", 300000},
        {"72h", 259200000}, {"2d", 172800000}, {"1.5s", 1500}, {"500", 500},
        {"0", 0}, {"10 s", 10000}, {"3S", 3000},
    };
    for (size_t i = 0; i < sizeof(dur) / sizeof(dur[0]); i++) {
        int64_t v = -1;
        if (conf_parse_duration(dur[i].s, &v) != 0)
            fail_msg("duration \"%s\" rejected", dur[i].s);
        assert_int_equal(v, dur[i].ms);
    }
    const char *bad_dur[] = {"", "s", "-1s", "5y", "inf", "nan", "1e30d", "5 m s"};
    for (size_t i = 0; i < sizeof(bad_dur) / sizeof(bad_dur[0]); i++) {
        int64_t v;
        if (conf_parse_duration(bad_dur[i], &v) == 0)
            fail_msg("duration \"%s\" accepted as %lld", bad_dur[i], (long long)v);
    }

    struct {
        const char *s;
        int64_t b;
    } sz[] = {
        {"512", 512}, {"64KB", 64000}, {"64kb", 64000}, {"64KiB", 65536}, {"1MiB", 1048576},
        {"2GB", 2000000000LL}, {"1GiB", 1073741824LL}, {"1k", 1024}, {"4M", 4194304},
        {"100B", 100},
    };
    for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
        int64_t v = -1;
        if (conf_parse_size(sz[i].s, &v) != 0)
            fail_msg("size \"%s\" rejected", sz[i].s);
        assert_int_equal(v, sz[i].b);
    }
    const char *bad_sz[] = {"", "KB", "-1", "10x", "1 TB"};
    for (size_t i = 0; i < sizeof(bad_sz) / sizeof(bad_sz[0]); i++) {
        int64_t v;
        if (conf_parse_size(bad_sz[i], &v) == 0)
            fail_msg("size \"%s\" accepted as %lld", bad_sz[i], (long long)v);
    }

    const char *yes[] = {"true", "TRUE", "yes", "on", "1"};
    const char *no[] = {"false", "No", "off", "0"};
    const char *bad[] = {"", "2", "y", "truee", "enabled"};
    int b;
    for (size_t i = 0; i < 5; i++) {
        b = 0;
        assert_int_equal(conf_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        b = 1;
        assert_int_equal(conf_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(conf_parse_bool(bad[i], &b), -1);
}

static void test_overrides(void **unused)
{
    char err[512] = "";
    struct conf_file *cf = parse_ok("[input]\nmax_body_size = 1MiB\n[processor.dedupe]\nwindow = 72h\n");

    assert_int_equal(conf_override_arg(cf, "input.max_body_size=2MiB", err, sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "input"), "max_body_size"), "2MiB");

    /* processor.NAME.key: the section keeps its own dot. */
    assert_int_equal(conf_override_arg(cf, "processor.dedupe.window=5m", err, sizeof(err)), 0);
    struct conf_section *dd = conf_section(cf, "processor.dedupe");
    assert_string_equal(conf_get(dd, "window"), "5m");
    assert_int_equal(dd->n, 1);
    assert_null(conf_section(cf, "processor"));

    /* A new section; a value holding '=' and dots; librdkafka-style keys. */
    assert_int_equal(conf_override_arg(cf, "processor.clean.agencies=AP, AFP", err, sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "processor.clean"), "agencies"), "AP, AFP");
    assert_int_equal(conf_override_arg(cf, "librdkafka.linger.ms=a=b.c", err, sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "librdkafka"), "linger.ms"), "a=b.c");
    /* The per-client librdkafka sections have a dot in their name too. */
    assert_int_equal(conf_override_arg(cf, "librdkafka.producer.linger.ms=0", err, sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "librdkafka.producer"), "linger.ms"), "0");
    assert_int_equal(conf_override_arg(cf, "librdkafka.consumer.fetch.wait.max.ms=5", err,
                                       sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "librdkafka.consumer"), "fetch.wait.max.ms"), "5");
    assert_int_equal(conf_override_arg(cf, "kafka.brokers=", err, sizeof(err)), 0);
    assert_string_equal(conf_get(conf_section(cf, "kafka"), "brokers"), "");

    const char *bad[] = {"noequals", "nodot=1", ".key=v", "sec.=v", "a=b.c"};
    for (size_t i = 0; i < 5; i++) {
        err[0] = '\0';
        assert_int_equal(conf_override_arg(cf, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "expected section.key=value"));
    }

    /* An override of an unknown key fails at bind time, saying where it
     * came from; an override's bad value too. */
    struct demo d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(conf_override_arg(cf, "demo.bogus=1", err, sizeof(err)), 0);
    assert_int_equal(conf_bind(demo_keys, conf_section(cf, "demo"), cf, &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "command line: unknown key 'demo.bogus'"));

    /* An override replacing a file line is reported as the command line. */
    struct conf_file *cf2 = parse_ok("[demo]\ncount = 3\n");
    assert_int_equal(conf_override_arg(cf2, "demo.count=many", err, sizeof(err)), 0);
    assert_int_equal(conf_bind(demo_keys, conf_section(cf2, "demo"), cf2, &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "command line: demo.count: expected an integer"));
    assert_int_equal(conf_override_arg(cf2, "demo.count=11", err, sizeof(err)), 0);
    assert_int_equal(conf_bind(demo_keys, conf_section(cf2, "demo"), cf2, &d, err, sizeof(err)), 0);
    assert_int_equal(d.count, 11);
    conf_unbind(demo_keys, &d);
    conf_file_free(cf2);
    conf_file_free(cf);
}

static void test_load_file(void **unused)
{
    char err[512] = "";
    char path[] = "/tmp/ws-test-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "[log]\nlevel = debug\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct conf_file *cf = conf_load(path, err, sizeof(err));
    assert_non_null(cf);
    assert_string_equal(conf_get(conf_section(cf, "log"), "level"), "debug");
    assert_string_equal(cf->dir, "/tmp");
    conf_file_free(cf);

    /* A NUL byte in a configuration file is an error, not a truncation. */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite("[log]\nlevel = de\0bug\n", 1, 21, fp);
    fclose(fp);
    assert_null(conf_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "NUL"));
    unlink(path);

    assert_null(conf_load("/nonexistent/ws.conf", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/ws.conf"));
}

static void test_describe(void **unused)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    conf_describe(fp, "demo", demo_keys, 1);
    fclose(fp);
    assert_non_null(strstr(buf, "#### `[demo]`"));
    assert_non_null(strstr(buf, "| `window` | duration | `72h` | a duration |"));
    assert_non_null(strstr(buf, "| `file` | path | (unset) | a data file |"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sections),
        cmocka_unit_test(test_text_after_quotes_is_an_error),
        cmocka_unit_test(test_parse_errors_name_line),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_bind_defaults_and_values),
        cmocka_unit_test(test_bind_errors_name_file_line_key),
        cmocka_unit_test(test_duration_size_bool),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
