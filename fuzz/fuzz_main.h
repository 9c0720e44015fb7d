/*
 * fuzz_main.h - the libFuzzer entry point, shared by every fuzz_*.c: each
 * defines FUZZ_TARGET (a name from fuzz_target_names) and includes this.
 *
 * The environment (configuration, gazetteer, taxonomy) is loaded once, on
 * the first input, from $WIRESTREAM_ROOT or the current folder. libFuzzer
 * gives no context pointer, so it lives in a static: fuzzers only.
 * A broken invariant aborts, which libFuzzer reports as a crash and saves.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_env *env;
    char err[1024];

    if (!env) {
        const char *root = getenv("WIRESTREAM_ROOT");
        if (!(env = fuzz_env_open(FUZZ_TARGET, root ? root : ".", err, sizeof(err)))) {
            fprintf(stderr, "fuzz_%s: %s\n", FUZZ_TARGET, err);
            abort();
        }
    }
    if (fuzz_env_run(env, data, size, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_%s: invariant broken: %s\n", FUZZ_TARGET, err);
        abort();
    }
    return 0;
}
