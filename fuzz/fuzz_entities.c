/*
 * fuzz_entities.c - libFuzzer target: the entity automaton: plain text through clean, entities and
 * topics with the shipped gazetteer and taxonomy.
 * The work is in fuzz_targets.c, shared with tests/unit/test_regressions.c.
 */
#define FUZZ_TARGET "entities"
#include "fuzz_main.h"
