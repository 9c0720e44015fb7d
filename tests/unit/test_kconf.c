/*
 * test_kconf.c - librdkafka configuration precedence: our role defaults,
 * then [librdkafka] and [librdkafka.<role>] from the file, then anything
 * from the command line (-X, -o), which always wins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/kconf.h"
#include "core/settings.h"

static void get(rd_kafka_conf_t *c, const char *prop, char *out, size_t len)
{
    size_t n = len;
    assert_int_equal(rd_kafka_conf_get(c, prop, out, &n), RD_KAFKA_CONF_OK);
}

static void test_precedence(void **unused)
{
    char err[512] = "", v[64];
    struct conf_file *cf = conf_parse("[librdkafka]\nlinger.ms = 7\nacks = 1\n"
                                      "[librdkafka.producer]\nlinger.ms = 5\n",
                                      "/tmp/ws-kconf-test.conf", err, sizeof(err));
    assert_non_null(cf);
    /* -X linger.ms=0 lands in [librdkafka] with line 0 and must beat the
     * file's [librdkafka.producer] value. */
    assert_int_equal(conf_override(cf, "librdkafka", "linger.ms", "0", err, sizeof(err)), 0);
    struct settings *s = settings_load(cf, err, sizeof(err));
    assert_non_null(s);

    static const char *const defaults[] = {"acks", "all", "batch.num.messages", "1000", NULL};
    rd_kafka_conf_t *c = kconf_new(s, "127.0.0.1:1", "producer", defaults, err, sizeof(err));
    assert_non_null(c);
    get(c, "linger.ms", v, sizeof(v));
    assert_string_equal(v, "0");           /* command line beats both sections */
    get(c, "acks", v, sizeof(v));
    assert_string_equal(v, "1");           /* the file beats our default */
    get(c, "batch.num.messages", v, sizeof(v));
    assert_string_equal(v, "1000");        /* our default when nobody says */
    rd_kafka_conf_destroy(c);

    /* The consumer does not see the producer's section. */
    c = kconf_new(s, "127.0.0.1:1", "consumer", NULL, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_conf_destroy(c);
    settings_free(s);
}

static void test_bad_property_names_file_and_line(void **unused)
{
    char err[512] = "";
    struct conf_file *cf = conf_parse("[librdkafka.producer]\n\nno.such.property = 1\n",
                                      "/tmp/ws-kconf-test.conf", err, sizeof(err));
    assert_non_null(cf);
    struct settings *s = settings_load(cf, err, sizeof(err));
    assert_non_null(s);
    rd_kafka_conf_t *c = kconf_new(s, "127.0.0.1:1", "producer", NULL, err, sizeof(err));
    assert_null(c);
    if (!strstr(err, "/tmp/ws-kconf-test.conf:3") || !strstr(err, "no.such.property"))
        fail_msg("error lacks file:line or key: %s", err);
    settings_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_bad_property_names_file_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
