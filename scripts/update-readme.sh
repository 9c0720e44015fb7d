#!/usr/bin/env bash
# Regenerates the README's configuration reference from the binary's own
# tables (wirestream help config --markdown), between the markers.
set -eu
cd "$(dirname "$0")/.."
bin=${WIRESTREAM_BIN:-./wirestream}
ref=$(mktemp)
trap 'rm -f "$ref"' EXIT
"$bin" help config --markdown >"$ref"
python3 - "$ref" <<'PY'
import re, sys
ref = open(sys.argv[1]).read()
text = open("README.md").read()
start, end = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
new = re.sub(re.escape(start) + ".*?" + re.escape(end), start + "\n" + ref + end, text, flags=re.S)
open("README.md", "w").write(new)
PY
