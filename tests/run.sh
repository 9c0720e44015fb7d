#!/usr/bin/env bash
# tests/run.sh - runs the whole suite and ends with one summary line,
# "N passed, N failed", that CI reads.
#
#   tests/run.sh --build build [--san-build build-san] [--kafka]
#                [--fuzz SECONDS] [--valgrind] [--unit-only]
#
# Unit tests: every build/tests/test_* cmocka binary (its "[  PASSED  ]"
# and "[  FAILED  ]" lines are counted). Integration tests: pytest over
# tests/integration; tests marked `kafka` (the real broker) only with
# --kafka. With --san-build the unit tests and the offline integration
# tests run again against the ASan+UBSan build. With --fuzz each libFuzzer
# target runs for SECONDS from the seed corpus (scripts/fuzz-smoke.sh); each
# target counts as one test.
set -u
cd "$(dirname "$0")/.."

build=build san= kafka=0 valgrind=0 unit_only=0 fuzz=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --san-build) san=$2; shift ;;
    --kafka) kafka=1 ;;
    --fuzz) fuzz=$2; shift ;;
    --valgrind) valgrind=1 ;;
    --unit-only) unit_only=1 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

passed=0 failed=0 skipped=0
failures=()
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/wirestream-tests.XXXXXX")
py=${PYTHON:-python3}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_unit() {          # $1 = build dir, $2 = label
    local dir=$1 label=$2 bin name out rc p f
    for bin in "$dir"/tests/test_*; do
        [ -x "$bin" ] || continue
        name=$(basename "$bin")
        out="$log_dir/$label-$name.log"
        if [ "$valgrind" = 1 ]; then
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                "$bin" >"$out" 2>&1
        else
            "$bin" >"$out" 2>&1
        fi
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
        p=${p:-0} f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1                       # crashed, sanitizer or valgrind report
        fi
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$f" -gt 0 ]; then
            failures+=("$label/$name (log: $out)")
            echo "FAIL $label/$name"; tail -n 30 "$out" | sed 's/^/    /'
        else
            echo "ok   $label/$name ($p)"
        fi
    done
}

run_pytest() {        # $1 = binary, $2 = label, $3 = marker expression
    local bin=$1 label=$2 marker=$3 xml="$log_dir/$2-pytest.xml" out="$log_dir/$2-pytest.log"
    [ -d tests/integration ] || return 0
    WIRESTREAM_BIN="$bin" "$py" -m pytest tests/integration -q -m "$marker" \
        -p no:cacheprovider --junitxml="$xml" >"$out" 2>&1
    local rc=$?
    if [ ! -s "$xml" ]; then
        failed=$((failed + 1)); failures+=("$label/pytest did not run (log: $out)")
        echo "FAIL $label/pytest did not run"; tail -n 40 "$out" | sed 's/^/    /'
        return
    fi
    read -r t f e s < <("$py" - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(x.get("tests", 0)) for x in suites)
f = sum(int(x.get("failures", 0)) for x in suites)
e = sum(int(x.get("errors", 0)) for x in suites)
s = sum(int(x.get("skipped", 0)) for x in suites)
print(t, f, e, s)
PY
)
    passed=$((passed + t - f - e - s)); failed=$((failed + f + e)); skipped=$((skipped + s))
    if [ $((f + e)) -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; }; then
        [ $((f + e)) -eq 0 ] && failed=$((failed + 1))
        failures+=("$label/pytest (log: $out)")
        echo "FAIL $label/pytest: $((t - f - e - s)) passed, $((f + e)) failed"
        grep -E '^(FAILED|ERROR)|Error|assert' "$out" | head -n 40 | sed 's/^/    /'
    else
        echo "ok   $label/pytest ($((t - f - e - s)) passed, $s skipped)"
    fi
}

run_unit "$build" unit
if [ "$unit_only" = 0 ]; then
    if [ "$kafka" = 1 ]; then marker="not slow"; else marker="not kafka and not slow"; fi
    run_pytest "$PWD/$build/wirestream" integration "$marker"
fi
if [ -n "$san" ]; then
    run_unit "$san" san-unit
    [ "$unit_only" = 0 ] && run_pytest "$PWD/$san/wirestream" san-integration "not kafka and not slow"
fi

if [ "$fuzz" != 0 ]; then
    out="$log_dir/fuzz-smoke.log"
    scripts/fuzz-smoke.sh "$fuzz" >"$out" 2>&1
    rc=$?
    sed 's/^/  /' "$out" | grep -E '^  (ok|FAIL) ' || true
    ok=$(grep -c '^ok ' "$out") bad=$(grep -c '^FAIL ' "$out")
    passed=$((passed + ok)); failed=$((failed + bad))
    if [ "$rc" -ne 0 ]; then
        [ "$bad" -eq 0 ] && failed=$((failed + 1))
        failures+=("fuzz-smoke (log: $out)")
        [ "$bad" -eq 0 ] && tail -n 20 "$out" | sed 's/^/    /'
    fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
    echo
else
    rm -rf "$log_dir"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
