/*
 * fuzz_state.c - libFuzzer target: the dedupe state file (statestore_file.h
 * format) loaded and every entry restored into a fresh dedupe processor.
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "state"
#include "fuzz_main.h"
