/*
 * test_statestore.c - the file state store of `process` mode: save/open
 * round trip, "last written" order after rewrites, tombstones, compaction
 * under churn, and corrupt or foreign files rejected.
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

#include "core/statestore_file.h"

struct dump {
    char text[4096];
    size_t n;
};

/* Appends "key=val;" for each entry. */
static int collect(void *opaque, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct dump *d = opaque;
    size_t len = strlen(d->text);
    snprintf(d->text + len, sizeof(d->text) - len, "%.*s=%.*s;", (int)klen, (const char *)key,
             (int)vlen, (const char *)val);
    d->n++;
    return 0;
}

static const char *dump(struct file_store *fs, struct dump *d)
{
    memset(d, 0, sizeof(*d));
    assert_int_equal(file_store_foreach(fs, collect, d), 0);
    return d->text;
}

static void put(struct file_store *fs, const char *k, const char *v)
{
    struct state_store *st = file_store_iface(fs);
    assert_int_equal(st->put(st->opaque, k, strlen(k), v, v ? strlen(v) : 0), 0);
}

/* Fixture: *state is a fresh path with no file behind it yet (a missing
 * file is an empty store); the file is removed after the test. */
static int setup_path(void **state)
{
    char *p = strdup("/tmp/ws-test-state-XXXXXX");
    int fd = p ? mkstemp(p) : -1;
    if (fd < 0) {
        free(p);
        return -1;
    }
    close(fd);
    unlink(p);
    *state = p;
    return 0;
}

static int teardown_path(void **state)
{
    unlink(*state);
    free(*state);
    return 0;
}

static struct file_store *open_ok(const char *path)
{
    char err[512] = "";
    struct file_store *fs = file_store_open(path, err, sizeof(err));
    if (!fs)
        fail_msg("open %s: %s", path, err);
    return fs;
}

static void save_ok(struct file_store *fs)
{
    char err[512] = "";
    if (file_store_save(fs, err, sizeof(err)) != 0)
        fail_msg("save: %s", err);
}

/* Saves, closes and opens the store again from its file. */
static struct file_store *reopen(struct file_store *fs, const char *path)
{
    save_ok(fs);
    file_store_free(fs);
    return open_ok(path);
}

static void test_round_trip(void **state)
{
    const char *path = *state;
    struct dump d;
    struct file_store *fs = open_ok(path);
    assert_int_equal(file_store_count(fs), 0);
    put(fs, "a", "1");
    put(fs, "b", "22");
    put(fs, "c", "");                 /* empty values are values */
    assert_int_equal(file_store_count(fs), 3);
    fs = reopen(fs, path);
    assert_int_equal(file_store_count(fs), 3);
    assert_string_equal(dump(fs, &d), "a=1;b=22;c=;");

    /* Binary keys and values survive, NUL bytes included. */
    struct state_store *st = file_store_iface(fs);
    const char key[] = {'k', 0, 'x'}, val[] = {0, 1, 2, (char)0xff};
    assert_int_equal(st->put(st->opaque, key, 3, val, 4), 0);
    fs = reopen(fs, path);
    assert_int_equal(file_store_count(fs), 4);
    file_store_free(fs);

    /* No temporary file is left behind. */
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* Opens the store at path and writes a=1, b=2, c=3. */
static struct file_store *open_abc(const char *path)
{
    struct file_store *fs = open_ok(path);
    put(fs, "a", "1");
    put(fs, "b", "2");
    put(fs, "c", "3");
    return fs;
}

static void test_rewrite_order(void **state)
{
    const char *path = *state;
    struct dump d;
    struct file_store *fs = open_abc(path);
    put(fs, "a", "4");                /* moves to the end: last written */
    put(fs, "b", "5");
    assert_int_equal(file_store_count(fs), 3);
    assert_string_equal(dump(fs, &d), "c=3;a=4;b=5;");
    fs = reopen(fs, path);
    assert_string_equal(dump(fs, &d), "c=3;a=4;b=5;");
    file_store_free(fs);
}

static void test_tombstones(void **state)
{
    const char *path = *state;
    struct dump d;
    struct file_store *fs = open_abc(path);
    put(fs, "b", NULL);
    put(fs, "zz", NULL);              /* deleting what is not there is fine */
    assert_int_equal(file_store_count(fs), 2);
    assert_string_equal(dump(fs, &d), "a=1;c=3;");
    put(fs, "b", "again");            /* a deleted key can come back */
    put(fs, "b", NULL);
    put(fs, "b", "final");
    assert_string_equal(dump(fs, &d), "a=1;c=3;b=final;");
    fs = reopen(fs, path);
    assert_int_equal(file_store_count(fs), 3);
    assert_string_equal(dump(fs, &d), "a=1;c=3;b=final;");
    file_store_free(fs);
}

static void test_churn_compacts(void **state)
{
    /* Many rewrites and deletes of a small key set, as dedupe does: the
     * live view stays exact and the file holds only live entries. */
    const char *path = *state;
    struct file_store *fs = open_ok(path);
    char k[32], v[32];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(k, sizeof(k), "key-%d", i);
            snprintf(v, sizeof(v), "%d-%d", round, i);
            put(fs, k, (i + round) % 7 == 0 ? NULL : v);
        }
    }
    size_t live = file_store_count(fs);
    size_t want = 0;
    for (int i = 0; i < 200; i++)
        want += (i + 49) % 7 != 0;
    assert_int_equal(live, want);
    struct dump d;
    dump(fs, &d);
    assert_int_equal(d.n, live);
    assert_non_null(strstr(d.text, "key-1=49-1;"));
    save_ok(fs);
    file_store_free(fs);

    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    assert_true(size < 16 + (long)live * 40);   /* no dead entries written */
    fs = open_ok(path);
    assert_int_equal(file_store_count(fs), live);
    file_store_free(fs);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

static void open_fails(const char *path, const char *want)
{
    char err[512] = "";
    struct file_store *fs = file_store_open(path, err, sizeof(err));
    if (fs) {
        file_store_free(fs);
        fail_msg("corrupt file accepted, expected \"%s\"", want);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_corrupt_rejected(void **state)
{
    const char *path = *state;
    struct file_store *fs = open_ok(path);
    put(fs, "alpha", "one");
    put(fs, "beta", "two");
    save_ok(fs);
    file_store_free(fs);

    FILE *fp = fopen(path, "rb");
    unsigned char good[256];
    size_t len = fread(good, 1, sizeof(good), fp);
    fclose(fp);
    assert_int_equal(len, 16 + 8 + 5 + 3 + 8 + 4 + 3);

    unsigned char bad[256];
    memcpy(bad, good, len);
    bad[0] = 'X';                                   /* wrong magic */
    write_file(path, bad, len);
    open_fails(path, "not a wirestream state file");

    memcpy(bad, good, len);
    bad[4] = 2;                                     /* future version */
    write_file(path, bad, len);
    open_fails(path, "version 2");

    write_file(path, good, 10);                     /* header cut short */
    open_fails(path, "not a wirestream state file");

    write_file(path, good, len - 1);                /* last value cut short */
    open_fails(path, "truncated or corrupt at entry 1");

    memcpy(bad, good, len);
    bad[8] = 3;                                     /* count says 3 */
    write_file(path, bad, len);
    open_fails(path, "truncated or corrupt at entry 2");

    memcpy(bad, good, len);
    bad[16 + 3] = 0x7f;                             /* absurd key length */
    write_file(path, bad, len);
    open_fails(path, "corrupt at entry 0");

    memcpy(bad, good, len);
    bad[8] = 1;                                     /* count says 1: bytes left over */
    write_file(path, bad, len);
    open_fails(path, "trailing");

    write_file(path, "", 0);                        /* an empty file is not a store */
    open_fails(path, "not a wirestream state file");

    write_file(path, good, len);                    /* and the original is fine */
    fs = open_ok(path);
    assert_int_equal(file_store_count(fs), 2);
    file_store_free(fs);

    /* A folder where the file should be: an error, not a crash. */
    open_fails("/", "/");
}

static void test_save_failure_keeps_state(void **unused)
{
    char err[512] = "";
    struct file_store *fs = open_ok("/nonexistent-dir/ws/state");
    put(fs, "a", "1");
    assert_int_equal(file_store_save(fs, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/ws/state.tmp"));
    assert_int_equal(file_store_count(fs), 1);
    file_store_free(fs);
    file_store_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup_path, teardown_path),
        cmocka_unit_test_setup_teardown(test_rewrite_order, setup_path, teardown_path),
        cmocka_unit_test_setup_teardown(test_tombstones, setup_path, teardown_path),
        cmocka_unit_test_setup_teardown(test_churn_compacts, setup_path, teardown_path),
        cmocka_unit_test_setup_teardown(test_corrupt_rejected, setup_path, teardown_path),
        cmocka_unit_test(test_save_failure_keeps_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
