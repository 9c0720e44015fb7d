#!/usr/bin/env bash
# scripts/fuzz-smoke.sh - builds the libFuzzer targets into build-fuzz/
# (clang, -fsanitize=fuzzer,address,undefined) and runs each for a bounded
# time from a seed corpus built from the fixtures.
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]     (default 10 s, every target)
#
# Exit status: 0 when no target crashed, 1 when one did (the input is saved
# as build-fuzz/artifacts/TARGET/crash-*; copy it to fuzz/regressions/TARGET/
# and fix the bug: tests/unit/test_regressions.c replays it from then on),
# 2 when the build failed. `make fuzz` runs it with FUZZ_SECONDS (60).
set -u
cd "$(dirname "$0")/.."

seconds=${1:-10}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode clean entities gazetteer taxonomy conf state)

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
    echo "fuzz-smoke: ${FUZZ_CC:-clang} not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
mkdir -p build-fuzz
if ! make --no-print-directory -s fuzz-build >build-fuzz/build.log 2>&1; then
    tail -n 40 build-fuzz/build.log >&2
    echo "fuzz-smoke: build failed (build-fuzz/build.log)" >&2
    exit 2
fi
rm -f build-fuzz/build.log
python3 fuzz/build-corpus.py build-fuzz/seeds || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
    bin=build-fuzz/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "fuzz-smoke: no target $t" >&2
        exit 2
    fi
    work=build-fuzz/corpus/$t art=build-fuzz/artifacts/$t/ log=build-fuzz/fuzz_$t.log
    mkdir -p "$work" "$art"
    # The work corpus (first folder) keeps what earlier runs found; seeds
    # and regressions are read only. -timeout: one input taking 10 s is a
    # hang, reported like a crash. -rss_limit_mb bounds a leak-like blow-up.
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
          -print_final_stats=1 -artifact_prefix="$art")
    [ -f fuzz/dict/"$t".dict ] && args+=(-dict=fuzz/dict/"$t".dict)
    "$bin" "${args[@]}" "$work" build-fuzz/seeds/"$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        echo "FAIL fuzz_$t (exit $rc, log $log)"
        grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -n 20 | sed 's/^/    /'
    else
        echo "ok   fuzz_$t: ${execs:-?} inputs in ${seconds}s, ${cov:-cov: ?}"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: crashed: ${failed[*]}"
    exit 1
fi
exit 0
