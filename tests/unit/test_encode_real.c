/*
 * test_encode_real.c - the encoder prints reals without printf in the
 * common range (g17_fixed() in core/encode.c, included here to reach the
 * static function): the same text as snprintf("%.17g") for two million
 * seeded doubles (random mantissas around the range, short decimals, exact
 * ties at the 17th digit, neighbours of powers of ten, zeros), and 0 (use
 * snprintf) outside the range.
 */
#include "../../core/encode.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static uint64_t rs = 77;

static uint64_t r64(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void test_same_as_printf(void **unused)
{
    long fast = 0;
    for (long i = 0; i < 2000000; i++) {
        uint64_t x = r64();
        double v = 0;
        switch (i % 6) {
        case 0: {       /* any mantissa, exponent from 2^-20 to 2^54, either sign */
            uint64_t e = 1023 - 20 + (x >> 58) % 75;
            uint64_t bits = (e << 52) | (r64() & ((1ULL << 52) - 1)) | ((x & 1) << 63);
            memcpy(&v, &bits, 8);
            break;
        }
        case 1:
            v = (double)(x % 1000000) / (double)(1 + r64() % 100000);
            break;
        case 2:         /* k / 2^j: exact ties at the 17th significant digit */
            v = (double)(x % 100000000000000000ULL) / 32.0 / (double)(1ULL << (r64() % 50));
            break;
        case 3:
            v = (double)(x % 100000) / 1e5;
            break;
        case 4: {       /* powers of ten from 1e-5 and their neighbours */
            double p = 1e-5;
            for (uint64_t k = x % 21; k > 0; k--)
                p *= 10;
            v = (x & 2) ? nextafter(p, 0) : (x & 4) ? nextafter(p, 1e300) : p;
            break;
        }
        default:
            v = (x & 8) ? ((x & 16) ? -0.0 : 0.0) : (double)(x >> 11) * 0x1p-53;
        }
        char want[64], got[64];
        snprintf(want, sizeof(want), "%.17g", v);
        size_t n = g17_fixed(v, got);
        if (!n)
            continue;
        fast++;
        if (n != strlen(want) || strcmp(want, got) != 0)
            fail_msg("%a: printf %s, g17_fixed %s", v, want, got);
    }
    assert_true(fast > 1500000);
}

static void test_outside_the_range(void **unused)
{
    char b[64];
    const double outside[] = {1e-5, 9.9e-5, 1e15, 1e300, -2e16, 5e-324, INFINITY, NAN};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
        assert_int_equal(g17_fixed(outside[i], b), 0);
    assert_int_equal(g17_fixed(0.5, b), 3);
    assert_string_equal(b, "0.5");
    assert_int_equal(g17_fixed(-0.0, b), 2);
    assert_string_equal(b, "-0");
    g17_fixed(0.1, b);
    assert_string_equal(b, "0.10000000000000001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_printf),
        cmocka_unit_test(test_outside_the_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
