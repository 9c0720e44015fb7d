/*
 * test_regressions.c - replays every saved fuzz input through the same
 * entry points as the fuzzers (fuzz/fuzz_targets.c), one test per target.
 *
 * fuzz/regressions/<target>/ holds inputs that once crashed a fuzzer or
 * broke an invariant, plus hand-made hostile inputs for each parser. A
 * memory error shows up under `make test-san` and `make valgrind`; a broken
 * invariant fails the test with the file's name. Run from the source tree
 * (tests/run.sh does).
 */
#define _GNU_SOURCE /* fuzz_targets.c uses memfd_create */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

/* The fuzz targets are included, not linked: the Makefile links only the
 * shared helpers of tests/unit/ into every test, and these targets belong
 * to fuzz/. */
#include "fuzz/fuzz_targets.c"

#define REGRESSIONS "fuzz/regressions"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

/* Replays every file of fuzz/regressions/<target>, in name order. Returns
 * how many. */
static size_t replay(const char *target)
{
    char dir[256], path[768], err[1024];
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;

    snprintf(dir, sizeof(dir), "%s/%s", REGRESSIONS, target);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open (run the tests from the source tree)", dir);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof(*names));
            assert_non_null(names);
        }
        names[n] = strdup(de->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);

    struct fuzz_env *env = fuzz_env_open(target, ".", err, sizeof(err));
    if (!env)
        fail_msg("fuzz_env_open(%s): %s", target, err);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        uint8_t *data = slurp(path, &len);
        if (!data)
            fail_msg("%s: cannot read", path);
        int rc = fuzz_env_run(env, data, len, err, sizeof(err));
        free(data);
        if (rc < 0)
            fail_msg("%s: %s", path, err);
        free(names[i]);
    }
    fuzz_env_free(env);
    free(names);
    return n;
}

static void test_decode(void **state)
{
    (void)state;
    assert_true(replay("decode") > 0);
}

static void test_clean(void **state)
{
    (void)state;
    assert_true(replay("clean") > 0);
}

static void test_entities(void **state)
{
    (void)state;
    assert_true(replay("entities") > 0);
}

static void test_gazetteer(void **state)
{
    (void)state;
    assert_true(replay("gazetteer") > 0);
}

static void test_taxonomy(void **state)
{
    (void)state;
    assert_true(replay("taxonomy") > 0);
}

static void test_conf(void **state)
{
    (void)state;
    assert_true(replay("conf") > 0);
}

static void test_state(void **state)
{
    (void)state;
    assert_true(replay("state") > 0);
}

/* The replay must be able to fail: an input that breaks no invariant
 * passes, and the invariant checks themselves catch a bad record. */
static void test_invariants_catch_bad_records(void **state)
{
    char err[256];
    struct record *rec = record_new();
    (void)state;
    assert_non_null(rec);
    record_take_body(rec, strdup("Kyiv said."), 10);
    assert_int_equal(check_record(rec, err, sizeof(err)), 0);
    struct entity *e = record_add_entity(rec);
    assert_non_null(e);
    e->name = strdup("Kyiv");
    e->spans = calloc(1, sizeof(*e->spans));
    e->spans[0].off = 8;
    e->spans[0].len = 4; /* past the end of the 10-byte body */
    e->nspans = 1;
    assert_int_equal(check_record(rec, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside body"));
    record_free(rec);

    struct decode_error derr = {.code = "made_up"};
    snprintf(derr.msg, sizeof(derr.msg), "x");
    assert_int_equal(check_rejected(&derr, err, sizeof(err)), -1);
}

/* Every target named by the fuzzers has its folder of regressions. */
static void test_every_target_has_a_folder(void **state)
{
    struct stat sb;
    char dir[256];
    (void)state;
    for (size_t i = 0; fuzz_target_names[i]; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", REGRESSIONS, fuzz_target_names[i]);
        assert_int_equal(stat(dir, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_target_has_a_folder),
        cmocka_unit_test(test_invariants_catch_bad_records),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_gazetteer),
        cmocka_unit_test(test_taxonomy),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
