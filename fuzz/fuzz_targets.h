/*
 * fuzz_targets.h - the entry points shared by the libFuzzer targets
 * (fuzz/fuzz_*.c) and the regression replay (tests/unit/test_regressions.c).
 *
 * Each target feeds one input to one parser and then checks the invariants
 * its callers rely on (a rejected input has a known reason code, a kept
 * record has a valid UTF-8 body and encodes to JSON, spans lie inside the
 * body, a loader error names its file...). A violated invariant is reported
 * as -1 with a message; a memory error is left to the sanitizers. Because
 * the replay calls exactly these functions, every input saved under
 * fuzz/regressions/<target>/ is a unit test of the normal suite.
 */
#ifndef WS_FUZZ_TARGETS_H
#define WS_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_env;

/* Opens the target called `name` ("decode", "clean", "entities",
 * "gazetteer", "taxonomy", "conf"): loads the configuration and data files
 * it needs from `root` (the source tree, "." when NULL). NULL with err
 * filled when the name is unknown or the data does not load. The caller
 * owns the result: fuzz_env_free(). */
struct fuzz_env *fuzz_env_open(const char *name, const char *root, char *err, size_t errlen);
void fuzz_env_free(struct fuzz_env *env); /* accepts NULL */

/* Runs one input. 0, or -1 with err describing the broken invariant.
 * The input is only read. */
int fuzz_env_run(struct fuzz_env *env, const uint8_t *data, size_t size, char *err, size_t errlen);

/* NULL-terminated list of target names (also the fuzz/regressions/
 * sub-folders). */
extern const char *const fuzz_target_names[];

#endif
