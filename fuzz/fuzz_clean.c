/*
 * fuzz_clean.c - libFuzzer target: the clean processor (boilerplate, whitespace, dateline, credits,
 * headline and id) on decoded input.
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "clean"
#include "fuzz_main.h"
