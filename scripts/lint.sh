#!/usr/bin/env bash
# scripts/lint.sh - static analysis: cppcheck, then clang-tidy with the
# checks of .clang-tidy, over the product's C sources (core, processors,
# consumer, producer) and the fuzz targets. Exit 1 on any finding.
#
#   scripts/lint.sh [FILE.c...]       (default: every source)
#
# False positives are suppressed narrowly: in the code with a
# `// NOLINT(check): why` or `// cppcheck-suppress id` comment on the line,
# or below with the file named. docs/hardening.md lists the check set.
set -u
cd "$(dirname "$0")/.."

for tool in cppcheck clang-tidy; do
    if ! command -v "$tool" >/dev/null; then
        echo "lint: $tool not found (apt-get install cppcheck clang-tidy)" >&2
        exit 2
    fi
done
if [ $# -gt 0 ]; then
    files=("$@")
else
    files=(core/*.c processors/*.c consumer/*.c producer/*.c fuzz/*.c)
fi
pkgs="rdkafka jansson libevent"
# Word-split inside the xargs shell: the quotes of WS_VERSION stay literal.
export LINT_CFLAGS="-std=gnu11 -I. $(pkg-config --cflags $pkgs) -DWS_VERSION=\"lint\""
jobs=$(nproc 2>/dev/null || echo 4)
rc=0

# cppcheck: warnings, performance and portability (style is left to
# clang-tidy and review). invalidPointerCast in conf.c: conf_bind() stores
# each typed value through a char * at the table's offsetof(); the field
# has exactly that type, which cppcheck cannot know.
echo "lint: cppcheck (${#files[@]} files)"
if ! cppcheck -q --std=c11 --enable=warning,performance,portability --inline-suppr \
        --error-exitcode=1 -I. -D__GNUC__ -j "$jobs" \
        --suppress=missingIncludeSystem \
        --suppress=invalidPointerCast:core/conf.c \
        "${files[@]}"; then
    rc=1
fi

echo "lint: clang-tidy (${#files[@]} files, $jobs jobs)"
out=$(mktemp)
printf '%s\n' "${files[@]}" |
    xargs -P "$jobs" -I{} sh -c 'clang-tidy -quiet "$1" -- $LINT_CFLAGS 2>/dev/null' _ {} >"$out"
if grep -qE '(warning|error):' "$out"; then
    grep -E -A3 '(warning|error):' "$out"
    echo "lint: clang-tidy: $(grep -cE '(warning|error):' "$out") finding(s)"
    rc=1
fi
rm -f "$out"
[ "$rc" -eq 0 ] && echo "lint: clean"
exit "$rc"
