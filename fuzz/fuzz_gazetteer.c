/*
 * fuzz_gazetteer.c - libFuzzer target: the gazetteer loader (.gaz format, config/gazetteer/README.md).
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "gazetteer"
#include "fuzz_main.h"
