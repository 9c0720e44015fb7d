/*
 * fuzz_decode.c - libFuzzer target: input decoding: JSON (ninjs-style) and plain text, each input tried as auto,
 * json and text, then encoded in both output formats.
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "decode"
#include "fuzz_main.h"
