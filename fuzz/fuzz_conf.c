/*
 * fuzz_conf.c - libFuzzer target: configuration parsing: the INI-like file, -o overrides, every
 * section's table, and the duration/size/bool value parsers.
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "conf"
#include "fuzz_main.h"
