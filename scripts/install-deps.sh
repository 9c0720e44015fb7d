#!/usr/bin/env bash
# Install what wirestream needs and is missing, from Debian (apt-get) and PyPI.
#
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   also everything the tests use: cmocka, kcat,
#                                    valgrind, Maven + Java 17 (for the real Kafka
#                                    broker, whose jars it pre-fetches into the
#                                    cache: see docs/testing.md), Chromium for the
#                                    dashboard tests, tests/requirements.txt for
#                                    the python3 on PATH.
#
# Idempotent and quiet: prints one line per thing it installs, nothing when all
# is there (then it takes well under 2 s). Runs apt-get as root, or via sudo.
set -euo pipefail

cd "$(dirname "$0")/.."

BUILD_PKGS=(gcc make pkg-config librdkafka-dev libjansson-dev libevent-dev)
TEST_PKGS=(libcmocka-dev kcat maven valgrind chromium chromium-driver clang libclang-rt-14-dev cppcheck clang-tidy clang-format)
PY="${PYTHON:-python3}"

test_deps=0
case "${1:-}" in
    "") ;;
    --test) test_deps=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
need_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    command -v sudo >/dev/null 2>&1 ||
        die "need root to install packages ($*): run as root or install sudo"
    SUDO=(sudo)
}

# Debian packages in "$@" that are not installed (one dpkg-query for all; a
# package dpkg has never heard of is simply absent from its output).
missing_pkgs() {
    local have
    have="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
            awk '$2 == "installed" { print $1 }')" || true
    local p
    for p in "$@"; do
        grep -qx -- "$p" <<<"$have" || printf '%s\n' "$p"
    done
}

apt_updated=0
apt_install() {
    [ $# -gt 0 ] || return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
    need_root "$@"
    local log; log="$(mktemp)"
    if [ "$apt_updated" -eq 0 ]; then
        "${SUDO[@]}" apt-get update -q >"$log" 2>&1 || { cat "$log" >&2; die "apt-get update failed"; }
        apt_updated=1
    fi
    if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "$@" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        rm -f "$log"
        die "apt-get install $* failed"
    fi
    rm -f "$log"
    local p
    for p in "$@"; do say "installed $p (apt)"; done
}

java_major() {  # prints the major version of the java tests/kafka/broker.sh uses, or 0
    local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
    command -v "$java" >/dev/null 2>&1 || { echo 0; return; }
    "$java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' |
        awk '{ print ($1 == 1) ? $2 : $1 }'
}

pkgs=("${BUILD_PKGS[@]}")
[ "$test_deps" -eq 1 ] && pkgs+=("${TEST_PKGS[@]}")
mapfile -t todo < <(missing_pkgs "${pkgs[@]}")
if [ "$test_deps" -eq 1 ]; then
    # Kafka 4.x brokers need Java 17+ ($JAVA_HOME/bin/java, else java on PATH).
    # Debian's default-jre-headless is 17 on bookworm.
    jm="$(java_major)"
    if [ "${jm:-0}" -lt 17 ] && [ -n "$(missing_pkgs default-jre-headless)" ]; then
        todo+=(default-jre-headless)
    fi
    command -v "$PY" >/dev/null 2>&1 || todo+=(python3)
fi
apt_install "${todo[@]}"

[ "$test_deps" -eq 1 ] || exit 0

jm="$(java_major)"
if [ "${jm:-0}" -lt 17 ]; then
    die "java on PATH is older than 17 after installing default-jre-headless; put a Java 17+ first on PATH or point JAVA_HOME at one"
fi

# Python packages, for the interpreter the tests run with ($PYTHON or python3).
# Checked with importlib.metadata (fast) before pip is ever started.
mapfile -t pymissing < <("$PY" - tests/requirements.txt <<'EOF'
import re, sys
from importlib import metadata

def vtuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:4])

for line in open(sys.argv[1]):
    req = line.split("#", 1)[0].strip()
    if not req:
        continue
    m = re.match(r"([A-Za-z0-9_.\-]+)\s*(==|>=)?\s*([\w.]+)?", req)
    name, op, want = m.groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req)
        continue
    if op == "==" and vtuple(have) != vtuple(want):
        print(req)
    elif op == ">=" and vtuple(have) < vtuple(want):
        print(req)
EOF
)
if [ "${#pymissing[@]}" -gt 0 ]; then
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
    pip_args=(-q --disable-pip-version-check)
    # Debian's own python3 refuses pip installs (PEP 668) unless told; the
    # test requirements are pinned and harmless to the system packages.
    stdlib="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
    [ -f "$stdlib/EXTERNALLY-MANAGED" ] && pip_args+=(--break-system-packages)
    [ "$(id -u)" -ne 0 ] && [ -z "${VIRTUAL_ENV:-}" ] && pip_args+=(--user)
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install "${pip_args[@]}" "${pymissing[@]}" ||
        die "pip install ${pymissing[*]} failed"
    for r in "${pymissing[@]}"; do say "installed $r (pip, $PY)"; done
fi

# The Kafka broker jars (Maven Central), cached outside the checkout; a no-op
# when present. broker.sh prints a line only when it downloads.
tests/kafka/broker.sh fetch
