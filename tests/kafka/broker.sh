#!/usr/bin/env bash
# Real single-node Apache Kafka 4.x broker (KRaft, broker+controller in one JVM)
# for wirestream's integration tests. The jars come from Maven Central and are
# cached outside the checkout; nothing here needs a Kafka installation.
#
#   broker.sh fetch              download the jars once (no-op when cached)
#   broker.sh start DIR [--owner-pid PID]
#                                format + start a broker with its data in DIR, wait
#                                until it answers; writes DIR/bootstrap,
#                                DIR/sasl_bootstrap, DIR/pid, DIR/env, DIR/timings.
#                                With --owner-pid the broker is stopped when PID dies
#                                (so a killed test run leaves no JVM behind).
#   broker.sh stop DIR           stop it cleanly (TERM, then KILL after a deadline)
#   broker.sh run DIR -- CMD...  start, run CMD with DIR/env exported, always stop
#
# Environment: WS_CACHE (cache root, default ~/.cache/wirestream),
# WS_KAFKA_VERSION (default below), WS_KAFKA_START_TIMEOUT (s, default 90),
# WS_KAFKA_LOG_LEVEL (broker root log level, default WARN), JAVA_HOME,
# WS_KAFKA_PROFILE: "test" (default: the client JIT only and a small serial
# heap, for a fast start) or "bench" (the full JIT and a 2 GiB heap with ZGC,
# as a broker tuned for latency runs: the client-only JIT doubles the
# broker's median latency, and G1's young pauses, 10-25 ms every 0.6 s at
# 1k articles/s on 2 cores, were the whole p99 tail; see docs/benchmarks.md),
# WS_KAFKA_GC: the bench profile's collector options instead of -XX:+UseZGC
# (e.g. "-XX:+UseG1GC -XX:MaxGCPauseMillis=20" to compare),
# WS_KAFKA_JAVA_OPTS: more JVM options, after the profile's (GC logging:
# "-Xlog:gc:file=/tmp/gc.log:utctime").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${WS_KAFKA_VERSION:-4.1.1}"
CACHE_ROOT="${WS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wirestream}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"
START_TIMEOUT="${WS_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30
SASL_USER=wsuser
SASL_PASSWORD=wspass
SASL_MECHANISM=SCRAM-SHA-256

log() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

find_java() {
    local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
    command -v "$java" >/dev/null 2>&1 || die "no java found (Kafka $KAFKA_VERSION needs Java 17+; run scripts/install-deps.sh --test)"
    local major
    major="$("$java" -XshowSettings:properties -version 2>&1 |
             sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
    [ -n "$major" ] && [ "$major" -ge 17 ] ||
        die "$java is Java ${major:-?}; Kafka $KAFKA_VERSION needs Java 17+ (set JAVA_HOME)"
    JAVA="$java"
}

# Download kafka_2.13 and its runtime dependencies into $LIBS, once. A lock keeps
# parallel runs from fetching twice; the libs folder appears atomically (rename),
# so a half-finished download is never mistaken for a complete one.
cmd_fetch() {
    [ -f "$LIBS/.complete" ] && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found (run scripts/install-deps.sh --test)"
    mkdir -p "$KAFKA_HOME"
    exec 9>"$KAFKA_HOME/.lock"
    flock 9
    if [ -f "$LIBS/.complete" ]; then exec 9>&-; return 0; fi
    local t0 tmp
    t0="$(now)"
    tmp="$KAFKA_HOME/libs.tmp.$$"
    rm -rf "$tmp"
    log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_HOME (first run only)"
    if ! mvn -q -B -f "$HERE/pom.xml" \
            -Dmaven.repo.local="$CACHE_ROOT/m2" \
            -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$tmp" >"$KAFKA_HOME/fetch.log" 2>&1; then
        tail -n 30 "$KAFKA_HOME/fetch.log" >&2
        rm -rf "$tmp"
        die "maven could not fetch Kafka $KAFKA_VERSION (full log: $KAFKA_HOME/fetch.log)"
    fi
    [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
    touch "$tmp/.complete"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    local secs; secs="$(elapsed "$t0")"
    log "fetched Kafka $KAFKA_VERSION ($(du -sh "$LIBS" | cut -f1)) in ${secs}s"
    printf '%s fetch %ss\n' "$(date -u +%FT%TZ)" "$secs" >>"$KAFKA_HOME/timings.log"
    exec 9>&-
}

# Three distinct free loopback ports. Another process could take one before the
# broker binds it; cmd_start retries with new ports when that happens.
free_ports() {
    python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding. A
# leading '-' would be read as an option by the storage tool, so avoid it.
cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
        case "$id" in -*) ;; *) printf '%s\n' "$id"; return ;; esac
    done
}

java_opts() {  # java_opts DIR: the JVM options, in the JOPTS array
    case "${WS_KAFKA_PROFILE:-test}" in
        test)  JOPTS=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1) ;;
        # shellcheck disable=SC2206
        bench) JOPTS=(-Xms2g -Xmx2g ${WS_KAFKA_GC:--XX:+UseZGC}) ;;
        *) echo "broker.sh: WS_KAFKA_PROFILE must be test or bench" >&2; exit 2 ;;
    esac
    # Extra JVM options last, so they override the profile's (word-split).
    # shellcheck disable=SC2206
    [ -n "${WS_KAFKA_JAVA_OPTS:-}" ] && JOPTS+=($WS_KAFKA_JAVA_OPTS)
    JOPTS+=(-Djava.awt.headless=true -Dlog4j2.configurationFile="$HERE/log4j2.properties"
           -Dws.kafka.log.level="${WS_KAFKA_LOG_LEVEL:-WARN}"
           -Dkafka.logs.dir="$1/logs" -cp "$LIBS/*")
}

# Ready means: the broker answers a metadata request on both listeners and lists
# itself (the SASL one through PLAIN: see server.properties.in about SCRAM).
# A cheap TCP connect first, so kcat is not left retrying a closed port.
probe() {
    local addr="$1" sasl="${2:-}"
    (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null || return 1
    command -v kcat >/dev/null 2>&1 || return 0
    local extra=() out
    [ -n "$sasl" ] && extra=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN
                             -X sasl.username="$SASL_USER" -X sasl.password="$SASL_PASSWORD")
    out="$(kcat -L -b "$addr" -m 5 "${extra[@]}" 2>/dev/null)" || return 1
    [[ "$out" == *"broker 1 at"* ]]
}

start_once() {  # start_once DIR -> 0 ready, 2 port clash (retry), else die
    local dir="$1" owner="$2"
    local ports plain sasl ctrl cid t0 t1
    read -r plain sasl ctrl <<<"$(free_ports)"
    rm -rf "$dir/data" "$dir/logs"
    mkdir -p "$dir/data" "$dir/logs"
    sed -e "s|@PLAIN_PORT@|$plain|g" -e "s|@SASL_PORT@|$sasl|g" \
        -e "s|@CONTROLLER_PORT@|$ctrl|g" -e "s|@LOG_DIR@|$dir/data|g" \
        -e "s|@SASL_USER@|$SASL_USER|g" -e "s|@SASL_PASSWORD@|$SASL_PASSWORD|g" \
        "$HERE/server.properties.in" >"$dir/server.properties"

    t0="$(now)"
    cid="$(cluster_id)"
    java_opts "$dir"
    if ! "$JAVA" "${JOPTS[@]}" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
            --standalone --add-scram "$SASL_MECHANISM=[name=$SASL_USER,password=$SASL_PASSWORD]" \
            >"$dir/format.log" 2>&1; then
        cat "$dir/format.log" >&2
        die "formatting the KRaft storage failed"
    fi
    local format_s; format_s="$(elapsed "$t0")"

    t1="$(now)"
    "$JAVA" "${JOPTS[@]}" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/pid"

    local deadline=$(( $(date +%s) + START_TIMEOUT ))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            if grep -q -i 'address already in use' "$dir/broker.log"; then
                log "a port was taken before the broker bound it; retrying with new ports"
                return 2
            fi
            tail -n 40 "$dir/broker.log" >&2
            die "broker exited during start-up (log: $dir/broker.log)"
        fi
        if probe "127.0.0.1:$plain" && probe "127.0.0.1:$sasl" sasl; then
            break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 40 "$dir/broker.log" >&2
            kill -KILL "$pid" 2>/dev/null || true
            die "broker did not answer within ${START_TIMEOUT}s (log: $dir/broker.log)"
        fi
        sleep 0.1
    done
    local ready_s total_s
    ready_s="$(elapsed "$t1")"
    total_s="$(elapsed "$t0")"

    echo "127.0.0.1:$plain" >"$dir/bootstrap"
    echo "127.0.0.1:$sasl" >"$dir/sasl_bootstrap"
    cat >"$dir/env" <<EOF
export WS_KAFKA_BOOTSTRAP=127.0.0.1:$plain
export WS_KAFKA_SASL_BOOTSTRAP=127.0.0.1:$sasl
export WS_KAFKA_SASL_MECHANISM=$SASL_MECHANISM
export WS_KAFKA_SASL_USER=$SASL_USER
export WS_KAFKA_SASL_PASSWORD=$SASL_PASSWORD
EOF
    printf 'format %ss\nstart %ss\ntotal %ss\n' "$format_s" "$ready_s" "$total_s" >"$dir/timings"
    printf '%s start format=%ss broker=%ss total=%ss\n' "$(date -u +%FT%TZ)" \
        "$format_s" "$ready_s" "$total_s" >>"$KAFKA_HOME/timings.log"
    log "Kafka $KAFKA_VERSION up at 127.0.0.1:$plain (SASL at 127.0.0.1:$sasl) in ${total_s}s (format ${format_s}s, start ${ready_s}s)"

    if [ -n "$owner" ]; then
        # Watchdog: stop the broker if the owning process dies without stopping it.
        # Runs detached with its own stdio so it never holds the caller's pipes.
        setsid bash -c '
            owner=$1 pid=$2
            while kill -0 "$owner" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null' watchdog "$owner" "$pid" \
            </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    return 0
}

cmd_start() {
    local dir="" owner=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --owner-pid) owner="$2"; shift 2 ;;
            -*) die "unknown option $1" ;;
            *) dir="$1"; shift ;;
        esac
    done
    [ -n "$dir" ] || die "usage: broker.sh start DIR [--owner-pid PID]"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        die "a broker is already running from $dir (pid $(cat "$dir/pid"))"
    fi
    rm -f "$dir/bootstrap" "$dir/sasl_bootstrap" "$dir/env" "$dir/pid"
    find_java
    cmd_fetch
    local try rc
    for try in 1 2 3; do
        rc=0; start_once "$dir" "$owner" || rc=$?
        [ "$rc" -eq 0 ] && { cat "$dir/bootstrap"; return 0; }
    done
    die "could not bind free ports after 3 tries"
}

cmd_stop() {
    local dir="${1:?usage: broker.sh stop DIR}"
    if [ -f "$dir/watchdog.pid" ]; then
        kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
        rm -f "$dir/watchdog.pid"
    fi
    [ -f "$dir/pid" ] || return 0
    local pid t0; pid="$(cat "$dir/pid")"; t0="$(now)"
    # Only signal the pid if it still is our JVM (pids get reused).
    if kill -0 "$pid" 2>/dev/null && grep -qa 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$(( $(date +%s) + STOP_TIMEOUT ))
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                log "broker $pid did not stop within ${STOP_TIMEOUT}s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
        log "broker stopped in $(elapsed "$t0")s"
    fi
    rm -f "$dir/pid"
}

cmd_run() {
    # RUN_DIR is global: the EXIT trap runs after this function's locals are gone.
    RUN_DIR="${1:?usage: broker.sh run DIR -- CMD...}"; shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: broker.sh run DIR -- CMD..."
    trap 'cmd_stop "$RUN_DIR"' EXIT
    trap 'exit 130' INT TERM
    cmd_start "$RUN_DIR" --owner-pid $$ >/dev/null
    # shellcheck disable=SC1091
    . "$RUN_DIR/env"
    local rc=0
    "$@" || rc=$?
    exit "$rc"
}

case "${1:-}" in
    fetch) shift; cmd_fetch ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    run) shift; cmd_run "$@" ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
