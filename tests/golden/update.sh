#!/usr/bin/env bash
# tests/golden/update.sh - regenerates the golden files from the fixture
# corpus with the default configuration. Review the diff before committing:
#   tests/golden/update.sh && git diff tests/golden/
# WIRESTREAM_BIN picks the binary (default ./wirestream).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${WIRESTREAM_BIN:-./wirestream}
corpus=tests/fixtures/corpus

"$bin" process -q --no-timestamps -c config/wirestream.conf "$corpus/stories.jsonl" \
    | python3 tests/golden/project.py > tests/golden/stories.jsonl
"$bin" process -q --no-timestamps -c config/wirestream.conf --format text \
    $(ls "$corpus"/text/*.txt | LC_ALL=C sort) \
    | python3 tests/golden/project.py > tests/golden/text.jsonl
wc -l tests/golden/stories.jsonl tests/golden/text.jsonl
