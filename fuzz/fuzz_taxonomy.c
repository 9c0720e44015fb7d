/*
 * fuzz_taxonomy.c - libFuzzer target: the taxonomy loader (format in docs/topics.md).
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "taxonomy"
#include "fuzz_main.h"
