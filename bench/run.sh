#!/usr/bin/env bash
# wirestream benchmarks, in one command (`make bench` builds bench/*.c, then
# runs this). Benchmarks are not tests: nothing here fails on a time.
#
#   offline   JSON floor (Jansson decode, decode+encode, wirestream's own I/O),
#             `jq -c .`, `wirestream process` with the full chain and with
#             each processor alone, over the same generated corpus
#   chain     the processors alone on pre-decoded 3 KB articles (bench_chain)
#   micro     the processor engineers' own benchmarks, when built
#   memory    peak RSS of `process` with ~1M stories in the dedupe window,
#             RSS sampled over the run
#   kafka     a real Kafka broker (tests/kafka/broker.sh): `wirestream run` vs
#             a librdkafka passthrough, sustained articles/s; latency
#             p50/p99/p99.9 at fixed offered rates
#
# Environment:
#   BENCH_QUICK=1        small corpus, short runs (a smoke test, ~2 min)
#   BENCH_ARTICLES=N     corpus size (default 100000; quick 5000)
#   BENCH_MEMORY=N       articles for the memory run (default 1000000; quick 20000)
#   BENCH_KAFKA=0        skip the broker benchmarks
#   BENCH_RATES="1000 5000"   offered rates for latency; BENCH_LATENCY_SECONDS (20)
#   BENCH_RESULTS=FILE   where the table goes (default bench/results/latest.md;
#                        quick runs: bench/results/quick.md)
#   BENCH_WORK=DIR       scratch folder (default: a fresh one under /tmp, removed)
#   BUILD=DIR            build folder (default build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build}"
BB="$BUILD/bench"
WS="$ROOT/$BUILD/wirestream"
QUICK="${BENCH_QUICK:-0}"
if [ "$QUICK" = 1 ]; then
    N="${BENCH_ARTICLES:-5000}"; NMEM="${BENCH_MEMORY:-20000}"; LATS="${BENCH_LATENCY_SECONDS:-5}"
    RESULTS="${BENCH_RESULTS:-bench/results/quick.md}"
else
    N="${BENCH_ARTICLES:-100000}"; NMEM="${BENCH_MEMORY:-1000000}"; LATS="${BENCH_LATENCY_SECONDS:-20}"
    RESULTS="${BENCH_RESULTS:-bench/results/latest.md}"
fi
N3K=$(( N < 30000 ? N : 30000 ))
RATES="${BENCH_RATES:-1000 5000}"
KAFKA="${BENCH_KAFKA:-1}"
SEED=1

OWN_WORK=0
if [ -z "${BENCH_WORK:-}" ]; then
    BENCH_WORK="$(mktemp -d /tmp/wirestream-bench.XXXXXX)"
    OWN_WORK=1
fi
WORK="$BENCH_WORK"
mkdir -p "$WORK" "$(dirname "$RESULTS")"
REPORT="$WORK/report.md"
: >"$REPORT"
PIDS=()
BROKER_DIR=""

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    [ -n "$BROKER_DIR" ] && tests/kafka/broker.sh stop "$BROKER_DIR" >/dev/null 2>&1 || true
    [ "$OWN_WORK" = 1 ] && rm -rf "$WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N; }
# seconds since $1
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
fmt_rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
fmt_mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
# field $2 of the RESULT line named $1 in file $3
result() { awk -v n="$1" -v f="$2" '$1 == "RESULT" && $2 == n { print $(f + 2); exit }' "$3"; }

for b in gen_corpus bench_floor bench_chain passthrough latency; do
    [ -x "$BB/$b" ] || { echo "run.sh: $BB/$b missing: run 'make bench'" >&2; exit 2; }
done
[ -x "$WS" ] || { echo "run.sh: $WS missing: run 'make'" >&2; exit 2; }
# Run private copies: a rebuild of the shared build folder during the run
# must not swap (or break) a binary half-way.
mkdir -p "$WORK/bin"
cp "$WS" "$WORK/bin/wirestream"
cp "$BB"/* "$WORK/bin/" 2>/dev/null || true
rm -f "$WORK/bin/"*.d
WS="$WORK/bin/wirestream"
BB="$WORK/bin"
if ! command -v jq >/dev/null 2>&1; then
    log "installing jq (the newsroom baseline)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq jq >/dev/null 2>&1 || true
    else sudo -n apt-get install -y -qq jq >/dev/null 2>&1 || true; fi
fi

# ---------------------------------------------------------------- machine
T_START="$(now)"
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
MEM="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
CC_VER="$(${CC:-cc} --version | head -1)"
LIBS="librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo ?), Jansson $(pkg-config --modversion jansson 2>/dev/null || echo ?), libevent $(pkg-config --modversion libevent 2>/dev/null || echo ?)"
JQ_VER="$(jq --version 2>/dev/null || echo 'not installed')"
{
    echo "# wirestream benchmarks"
    echo
    echo "Run $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), \`make bench\`$([ "$QUICK" = 1 ] && echo ' with BENCH_QUICK=1')."
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| CPU | $CPU, $(nproc) cores |"
    echo "| memory | $MEM |"
    echo "| kernel | $(uname -sr) |"
    echo "| compiler | $CC_VER, -O2 |"
    echo "| libraries | $LIBS, $JQ_VER |"
    echo "| load average at start | $(cut -d' ' -f1-3 /proc/loadavg) |"
    echo
} >>"$REPORT"

# ---------------------------------------------------------------- corpus
log "corpus: $N articles (seed $SEED), $N3K of 3 KB"
CORPUS="$WORK/corpus.jsonl"
C3K="$WORK/corpus3k.jsonl"
"$BB/gen_corpus" -n "$N" -s "$SEED" -o "$CORPUS" 2>"$WORK/gen.txt"
"$BB/gen_corpus" -n "$N3K" -s "$((SEED + 1))" --min 2900 --max 3100 -o "$C3K" 2>"$WORK/gen3k.txt"
BYTES=$(stat -c %s "$CORPUS")
{
    echo "Corpus: \`gen_corpus -n $N -s $SEED\`: $(sed 's/^gen_corpus: //' "$WORK/gen.txt")."
    echo
} >>"$REPORT"

# ---------------------------------------------------------------- offline
log "offline: JSON floor"
"$BB/bench_floor" "$CORPUS" | tee "$WORK/floor.txt" >&2
ROWS="$WORK/offline.tsv"
: >"$ROWS"
for m in decode roundtrip io; do
    printf '%s\t%s\t%s\n' "$m" "$(result "$m" 1 "$WORK/floor.txt")" "$(result "$m" 3 "$WORK/floor.txt")" >>"$ROWS"
done
FLOOR_S="$(result roundtrip 3 "$WORK/floor.txt")"

if command -v jq >/dev/null 2>&1; then
    log "offline: jq -c ."
    t0="$(now)"; jq -c . "$CORPUS" >/dev/null; s="$(since "$t0")"
    printf 'jq\t%s\t%s\n' "$N" "$s" >>"$ROWS"
fi

run_process() {  # run_process NAME PROCESSORS THREADS [OUTPUT]
    local out="${4:-/dev/null}" t0 s
    log "offline: wirestream process, processors = $2, threads = $3"
    t0="$(now)"
    "$WS" process -q --no-timestamps -o "pipeline.processors=$2" -o "pipeline.threads=$3" \
        "$CORPUS" >"$out"
    s="$(since "$t0")"
    printf '%s\t%s\t%s\n' "$1" "$N" "$s" >>"$ROWS"
}
# One core against one core: the rows compared with the floor and jq run
# with no worker thread; the default (one worker thread) is its own row.
run_process full "clean, dedupe, entities, topics" 0 "$WORK/enriched.jsonl"
EXPECT_ENRICHED=$(grep -c -v '"status":"duplicate"' "$WORK/enriched.jsonl" || true)
DUPS=$(( N - EXPECT_ENRICHED ))
rm -f "$WORK/enriched.jsonl"
run_process full2 "clean, dedupe, entities, topics" 1
for p in clean dedupe entities topics; do run_process "$p" "$p" 0; done

label() {
    case "$1" in
        decode) echo "Jansson decode only (json_loadb)" ;;
        roundtrip) echo "Jansson decode + encode (the floor)" ;;
        io) echo "wirestream decode + encode, no processors" ;;
        jq) echo "\`jq -c .\`" ;;
        full) echo "**\`wirestream process\`, full chain**" ;;
        full2) echo "\`wirestream process\`, full chain, \`threads = 1\` (the default: a worker thread decodes and cleans; two cores)" ;;
        *) echo "\`wirestream process\`, $1 only" ;;
    esac
}
{
    echo "## Offline: \`wirestream process\` against the JSON floor"
    echo
    echo "One core, $N articles, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }') of JSON Lines in (MB/s counts input bytes): \`process\` runs with \`[pipeline] threads = 0\` except in the row that says otherwise. \`process\` times include start-up (loading the gazetteer and taxonomy) and writing the output."
    echo
    echo "| run | seconds | MB/s | articles/s | vs floor |"
    echo "|---|---:|---:|---:|---:|"
    while IFS=$'\t' read -r name n s; do
        printf '| %s | %.2f | %s | %s | %s |\n' "$(label "$name")" "$s" "$(fmt_mbs "$BYTES" "$s")" \
            "$(fmt_rate "$n" "$s")" "$(pct "$FLOOR_S" "$s")"
    done <"$ROWS"
    echo
    FULL_S="$(awk -F'\t' '$1 == "full" { print $3 }' "$ROWS")"
    JQ_S="$(awk -F'\t' '$1 == "jq" { print $3 }' "$ROWS")"
    echo "Targets: full chain at least 60% of the floor: **$(pct "$FLOOR_S" "$FULL_S")**;"
    echo "no slower than \`jq -c .\`: full chain at **$(pct "${JQ_S:-0}" "$FULL_S")** of jq's speed."
    echo
} >>"$REPORT"

# ---------------------------------------------------------------- chain alone
log "processors alone on 3 KB articles (bench_chain)"
"$BB/bench_chain" "$C3K" >"$WORK/chain.txt" 2>&1 || true
cat "$WORK/chain.txt" >&2
{
    echo "## Processors alone (no JSON, no Kafka), 3 KB articles"
    echo
    echo "\`bench_chain\`: $N3K articles of 3 KB decoded beforehand, then the configured chain on one core. Per-processor times are the chain's own counters; the first processor that needs tokens (clean, at its end) pays for tokenizing, which is also shown on its own."
    echo
    echo "| processor | articles/s | µs/article |"
    echo "|---|---:|---:|"
    awk '$1 == "RESULT" { n = $3; s = $5; name = $2;
         if (name == "chain") name = "**all four (target: 25,000/s)**";
         if (name == "tokenize") name = "(tokenize, included above)";
         printf "| %s | %.0f | %.1f |\n", name, (s > 0 ? n / s : 0), (n > 0 ? s * 1e6 / n : 0) }' "$WORK/chain.txt"
    echo
} >>"$REPORT"

# ---------------------------------------------------------------- micro
MICRO=()
for b in bench_dedupe bench_entities bench_topics; do
    [ -x "$BB/$b" ] && MICRO+=("$b")
done
if [ ${#MICRO[@]} -gt 0 ]; then
    echo "## Processor micro-benchmarks" >>"$REPORT"
    echo >>"$REPORT"
    for b in "${MICRO[@]}"; do
        log "micro: $b"
        args=()
        if [ "$QUICK" = 1 ]; then
            case "$b" in bench_dedupe) args=(100000) ;; bench_entities) args=(2) ;; esac
        fi
        timeout 600 "$BB/$b" ${args[@]+"${args[@]}"} >"$WORK/$b.txt" 2>&1 || echo "(exit status $?)" >>"$WORK/$b.txt"
        cat "$WORK/$b.txt" >&2
        { echo "\`$b${args[*]:+ ${args[*]}}\`:"; echo; echo '```'; cat "$WORK/$b.txt"; echo '```'; echo; } >>"$REPORT"
    done
fi

# ---------------------------------------------------------------- memory
# RSS of a process, sampled every second into $2 until it exits.
sample_rss() {  # sample_rss PID FILE
    local pid="$1" t0; t0="$(now)"
    while kill -0 "$pid" 2>/dev/null; do
        awk -v t="$(since "$t0")" '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 }
             END { if (r) printf "%s\t%d\t%d\n", t, r, h }' "/proc/$pid/status" 2>/dev/null >>"$2" || true
        sleep 1
    done
}
rss_summary() {  # rss_summary FILE: peak and RSS at quarters of the run, in MiB
    awk -F'\t' '{ t[NR] = $1; r[NR] = $2; if ($3 > h) h = $3 }
        END { if (!NR) { print "no samples"; exit }
              printf "peak %.0f MiB; RSS at 25/50/75/100%% of the run: %.0f / %.0f / %.0f / %.0f MiB (%d samples over %.0f s)",
                h / 1024, r[int(NR / 4) + 1] / 1024, r[int(NR / 2) + 1] / 1024,
                r[int(3 * NR / 4) + 1] / 1024, r[NR] / 1024, NR, t[NR] }' "$1"
}

log "memory: $NMEM articles through clean + dedupe, all inside the 72 h window"
: >"$WORK/rss_mem.tsv"
t0="$(now)"
"$BB/gen_corpus" -n "$NMEM" -s 3 --min 400 --max 1000 --per-day "$NMEM" --ids mem 2>/dev/null |
    "$WS" process -q --no-timestamps -o "pipeline.processors=clean, dedupe" >/dev/null &
MEMPID=$!
PIDS+=("$MEMPID")
sample_rss "$MEMPID" "$WORK/rss_mem.tsv"
wait "$MEMPID" || true
MEM_S="$(since "$t0")"
if [ ! -s "$WORK/rss_mem.tsv" ]; then
    echo "run.sh: the memory run produced no samples" >&2
fi
{
    echo "## Memory"
    echo
    echo "\`gen_corpus -n $NMEM --min 400 --max 1000 --per-day $NMEM | wirestream process -o pipeline.processors=clean,dedupe\`: $NMEM distinct stories within one day, so every one stays inside the 72 h dedupe window (up to \`max_entries\` = 1,000,000 and \`memory_budget\` = 256 MiB); $(fmt_rate "$NMEM" "$MEM_S") articles/s."
    echo
    echo "RSS of \`wirestream process\`: $(rss_summary "$WORK/rss_mem.tsv")."
    echo
} >>"$REPORT"

# ---------------------------------------------------------------- kafka
kafka_skip() {
    { echo "## Kafka end to end"; echo; echo "Skipped: $1"; echo; } >>"$REPORT"
}
if [ "$KAFKA" = 0 ]; then
    kafka_skip "BENCH_KAFKA=0."
elif ! command -v java >/dev/null 2>&1; then
    kafka_skip "no Java (run scripts/install-deps.sh --test)."
else
    log "kafka: starting a broker"
    BROKER_DIR="$WORK/broker"
    # The broker as one tuned for latency runs (full JIT, ZGC), not the
    # quick-start test profile: see tests/kafka/broker.sh. Its collector
    # log goes to the work folder (BENCH_WORK=DIR keeps it), with the
    # latency runs' arrival times, for checking the tail.
    if ! WS_KAFKA_PROFILE=bench WS_KAFKA_JAVA_OPTS="-Xlog:gc:file=$WORK/broker-gc.log:utctime" \
            tests/kafka/broker.sh start "$BROKER_DIR" --owner-pid $$ \
            >/dev/null 2>"$WORK/broker.txt"; then
        cat "$WORK/broker.txt" >&2
        kafka_skip "the broker did not start ($(tail -1 "$WORK/broker.txt"))."
        BROKER_DIR=""
    fi
fi
if [ -n "$BROKER_DIR" ]; then
    BROKERS="$(cat "$BROKER_DIR/bootstrap")"
    LAT="$BB/latency"
    APPEND=(-c message.timestamp.type=LogAppendTime)
    # Topics made up front: outputs stamped by the broker on arrival, and the
    # compacted state topic.
    "$LAT" create -b "$BROKERS" -p 1 bench.in
    "$LAT" create -b "$BROKERS" -p 1 "${APPEND[@]}" bench.pt bench.enriched bench.duplicates
    "$LAT" create -b "$BROKERS" -p 1 -c cleanup.policy=compact bench.state
    log "kafka: loading $N articles"
    "$LAT" load -b "$BROKERS" -t bench.in "$CORPUS" >&2

    # CPU seconds of a process so far (all its threads), or of its main
    # thread alone; the broker's over each phase (its reader included).
    CLK_TCK="$(getconf CLK_TCK)"
    BPID="$(cat "$BROKER_DIR/pid")"
    cpu_of() {  # cpu_of PID [main]
        local f="/proc/$1/stat"
        [ "${2:-}" = main ] && f="/proc/$1/task/$1/stat"
        # Fields after the command name, which may hold spaces: utime, stime are 12, 13.
        awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' "$f" 2>/dev/null || echo 0
    }
    CPU_ROWS="$WORK/cpu.tsv"
    : >"$CPU_ROWS"
    cpu_row() {  # cpu_row NAME MAIN_S ALL_S BROKER_S: CPU seconds for the N input articles
        printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$CPU_ROWS"
    }

    wirestream_run() {  # wirestream_run TAG INPUT [extra args]: starts it, sets RUNPID
        local tag="$1" in="$2"; shift 2
        "$WS" run -q -b "$BROKERS" -o "kafka.input_topics=$in" -o "kafka.group_id=bench-$tag" \
            -o "output.enriched_topic=bench.$tag.enriched" -o "output.duplicates_topic=bench.$tag.duplicates" \
            -o "output.topic_prefix=bench.$tag.topic." -o "output.deadletter_topic=bench.$tag.deadletter" \
            -o "output.state_topic=bench.$tag.state" -o http.enabled=false "$@" \
            >"$WORK/run-$tag.log" 2>&1 &
        RUNPID=$!
        PIDS+=("$RUNPID")
    }
    stop_run() {  # stop_run PID: SIGTERM, wait for the drain-and-commit sequence
        kill -TERM "$1" 2>/dev/null || true
        local i
        for i in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        wait "$1" 2>/dev/null || true
    }

    # A fresh broker compiles its produce, compression and log paths on the
    # first heavy load, which cost the first run measured 2-3x the broker
    # CPU of the next ones: warm it up with wirestream's own output pattern
    # (several topics, the compacted state topic) over the whole corpus
    # first (a quarter was not enough). Not measured.
    NWARM=$EXPECT_ENRICHED
    log "kafka: warming the broker up (wirestream run over $NWARM articles, not measured)"
    "$LAT" create -b "$BROKERS" -p 1 "${APPEND[@]}" bench.warm.enriched bench.warm.duplicates
    "$LAT" create -b "$BROKERS" -p 1 -c cleanup.policy=compact bench.warm.state
    wirestream_run warm bench.in
    "$LAT" drain -b "$BROKERS" -n "$NWARM" --idle 20 bench.warm.enriched >/dev/null 2>&1 || true
    stop_run "$RUNPID"

    log "kafka: librdkafka passthrough"
    B0="$(cpu_of "$BPID")"
    "$BB/passthrough" -q -b "$BROKERS" --input bench.in --output bench.pt --count "$N" >"$WORK/pt.txt"
    "$LAT" drain -b "$BROKERS" -n "$N" --idle 10 bench.pt >"$WORK/pt_drain.txt"
    cpu_row "librdkafka consume → produce passthrough" "$(result cpu 1 "$WORK/pt.txt")" \
        "$(result cpu 2 "$WORK/pt.txt")" "$(awk -v a="$B0" -v b="$(cpu_of "$BPID")" 'BEGIN { print b - a }')"
    cat "$WORK/pt.txt" "$WORK/pt_drain.txt" >&2

    run_cpu_row() {  # run_cpu_row NAME: the running wirestream's CPU since it started
        cpu_row "$1" "$(cpu_of "$RUNPID" main)" "$(cpu_of "$RUNPID")" \
            "$(awk -v a="$B0" -v b="$(cpu_of "$BPID")" 'BEGIN { print b - a }')"
    }

    log "kafka: wirestream run, full chain (expecting $EXPECT_ENRICHED enriched, $DUPS exact duplicates dropped)"
    for t in e2e; do
        "$LAT" create -b "$BROKERS" -p 1 "${APPEND[@]}" "bench.$t.enriched" "bench.$t.duplicates"
        "$LAT" create -b "$BROKERS" -p 1 -c cleanup.policy=compact "bench.$t.state"
    done
    : >"$WORK/rss_run.tsv"
    B0="$(cpu_of "$BPID")"
    wirestream_run e2e bench.in
    sample_rss "$RUNPID" "$WORK/rss_run.tsv" &
    SAMPLER=$!
    # Every published article is on the enriched topic exactly once (near
    # duplicates are also copied to bench.e2e.duplicates: not counted).
    "$LAT" drain -b "$BROKERS" -n "$EXPECT_ENRICHED" --idle 20 bench.e2e.enriched \
        >"$WORK/run_drain.txt" || true
    run_cpu_row "\`wirestream run\`, full chain"
    stop_run "$RUNPID"
    wait "$SAMPLER" 2>/dev/null || true
    cat "$WORK/run_drain.txt" >&2

    # The same without processors: decode, encode and publish only, which
    # separates what the Kafka path costs from what enrichment costs.
    log "kafka: wirestream run, no processors (expecting $N)"
    "$LAT" create -b "$BROKERS" -p 1 "${APPEND[@]}" bench.raw.enriched
    "$LAT" create -b "$BROKERS" -p 1 -c cleanup.policy=compact bench.raw.state
    B0="$(cpu_of "$BPID")"
    wirestream_run raw bench.in -o pipeline.processors=
    "$LAT" drain -b "$BROKERS" -n "$N" --idle 20 bench.raw.enriched >"$WORK/raw_drain.txt" || true
    run_cpu_row "\`wirestream run\`, no processors"
    stop_run "$RUNPID"
    cat "$WORK/raw_drain.txt" >&2

    PT_N="$(result drain 4 "$WORK/pt_drain.txt")"; PT_S="$(result drain 5 "$WORK/pt_drain.txt")"
    WS_N="$(result drain 4 "$WORK/run_drain.txt")"; WS_S="$(result drain 5 "$WORK/run_drain.txt")"
    WS_ALL="$(result drain 1 "$WORK/run_drain.txt")"
    RAW_N="$(result drain 4 "$WORK/raw_drain.txt")"; RAW_S="$(result drain 5 "$WORK/raw_drain.txt")"
    PT_R="$(fmt_rate "$PT_N" "$PT_S")"; WS_R="$(fmt_rate "$WS_N" "$WS_S")"
    RAW_R="$(fmt_rate "$RAW_N" "$RAW_S")"
    {
        echo "## Kafka end to end (Apache Kafka $(ls "${WS_CACHE:-$HOME/.cache/wirestream}" 2>/dev/null | sed -n 's/^kafka-//p' | head -1), one broker on loopback)"
        echo
        echo "$N articles preloaded into a 1-partition input topic. Sustained rate: messages over the middle 80% of the output's broker append times (LogAppendTime), so group join and start-up are left out. The passthrough uses wirestream's configuration file and client defaults (idempotent producer, acks=all, linger.ms=5, lz4) and produces each message unchanged; \`wirestream run\` decodes, runs clean, dedupe, entities, topics, encodes, publishes to the enriched topic and one stream per topic, and drops exact duplicates ($DUPS here), so its rate counts input articles whose enriched record arrived (on the enriched topic, where each published article is once). The broker runs with the bench profile of tests/kafka/broker.sh (full JIT, ZGC, 2 GiB heap) and is warmed up first by a \`wirestream run\` over the whole corpus (not measured). \`wirestream run\` uses its defaults, among them \`[pipeline] threads = 1\` (one worker thread decodes and cleans beside the event loop)."
        echo
        echo "| pipeline | articles/s | ratio |"
        echo "|---|---:|---:|"
        echo "| librdkafka consume → produce passthrough | $PT_R | 100% |"
        echo "| \`wirestream run\`, no processors (decode, encode, publish) | $RAW_R | $(pct "$RAW_R" "$PT_R") |"
        echo "| **\`wirestream run\`, full chain** | $WS_R | **$(pct "$WS_R" "$PT_R")** (target 50%) |"
        echo
        echo "Enriched records seen: $WS_ALL of $EXPECT_ENRICHED expected. RSS of \`wirestream run\`: $(rss_summary "$WORK/rss_run.tsv")."
        echo
        echo "Where the CPU goes, in µs per input article: the client's main thread (for \`wirestream run\`: the event loop, with dedupe, entities, topics, encoding and handing messages to librdkafka), its other threads (wirestream's worker thread, which decodes and cleans; librdkafka's, which compress and talk to the broker), and the broker over the same phase (the reader that counts the output included). Client and broker share the machine's $(nproc) cores, so $(nproc) × 10⁶ / total is the most articles per second this machine could sustain with every core busy."
        echo
        echo "| pipeline | main thread | other threads | broker | total | ceiling, articles/s |"
        echo "|---|---:|---:|---:|---:|---:|"
        awk -F'\t' -v n="$N" -v cores="$(nproc)" '{
            m = $2 * 1e6 / n; a = $3 * 1e6 / n; b = $4 * 1e6 / n; t = a + b
            printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", $1, m, a - m, b, t, (t > 0 ? cores * 1e6 / t : 0) }' "$CPU_ROWS"
        echo
    } >>"$REPORT"

    # Latency: a config with latency-oriented client settings. Paths are made
    # absolute so that the copy works outside config/.
    LCONF="$WORK/latency.conf"
    sed -e "s|^boilerplate = boilerplate.conf|boilerplate = $ROOT/config/boilerplate.conf|" \
        -e 's|^linger.ms = .*|linger.ms = 0|' config/wirestream.conf >"$LCONF"
    cat >>"$LCONF" <<EOF

[processor.entities]
gazetteer = $ROOT/config/gazetteer

[processor.topics]
taxonomy = $ROOT/config/taxonomy.conf

[librdkafka]
socket.nagle.disable = true

[librdkafka.consumer]
fetch.wait.max.ms = 5
fetch.min.bytes = 1
EOF
    {
        echo "### Latency at fixed offered rates"
        echo
        echo "From the input message's timestamp (taken just before produce) to the enriched record's arrival at a reader, on one clock. Articles from a corpus without duplicates (\`gen_corpus --dup-rate 0\`: every article is published), offered at a fixed rate for ${LATS} s after a 2 s warm-up (not counted); before that, probe articles are sent until one comes out, so start-up is not measured. wirestream runs with the latency settings of docs/benchmarks.md ([librdkafka.producer] linger.ms = 0, [librdkafka] socket.nagle.disable = true, [librdkafka.consumer] fetch.wait.max.ms = 5); the load generator uses linger.ms=0, the reader fetch.wait.max.ms=5, both without Nagle. The passthrough rows are the floor: a bare librdkafka consume → produce loop (\`bench/passthrough.c\`) with the same configuration file, measured the same way."
        echo
        echo "| offered articles/s | arrived | measured | p50 ms | p99 ms | p99.9 ms | max ms |"
        echo "|---:|---:|---:|---:|---:|---:|---:|"
    } >>"$REPORT"
    for r in $RATES; do
        t="lat$r"
        LCORPUS="$WORK/latency$r.jsonl"
        "$BB/gen_corpus" -n "$(awk -v r="$r" -v s="$LATS" 'BEGIN { printf "%d", r * (s + 2) + 500 }')" \
            -s 5 --dup-rate 0 --ids "lat$r" -o "$LCORPUS" 2>/dev/null
        log "kafka: latency at $r articles/s"
        # Every output topic exists before the clock starts, as in production:
        # a topic stream auto-created mid-run stalls the broker for a moment.
        "$LAT" create -b "$BROKERS" -p 1 "bench.$t.in" "bench.$t.enriched" "bench.$t.duplicates" \
            $(sed -n "s/^\[topic \(.*\)\]$/bench.$t.topic.\1/p" config/taxonomy.conf)
        "$LAT" create -b "$BROKERS" -p 1 -c cleanup.policy=compact "bench.$t.state"
        wirestream_run "$t" "bench.$t.in" -c "$LCONF"
        "$LAT" rate -b "$BROKERS" -t "bench.$t.in" -r "$r" -s "$LATS" --warmup 2 --drain 15 --dump "$WORK/$t-arrivals.txt" "$LCORPUS" \
            "bench.$t.enriched" "bench.$t.duplicates" >"$WORK/$t.txt" 2>&1 || true
        stop_run "$RUNPID"
        cat "$WORK/$t.txt" >&2
        # The floor: the passthrough under the same settings and load.
        "$LAT" create -b "$BROKERS" -p 1 "bench.$t.ptin" "bench.$t.ptout"
        "$BB/passthrough" -q -b "$BROKERS" -c "$LCONF" --input "bench.$t.ptin" --output "bench.$t.ptout" \
            --count 1000000000 --group "bench-$t-pt" --timeout 600 >"$WORK/$t-pt.log" 2>&1 &
        PTPID=$!
        PIDS+=("$PTPID")
        "$LAT" rate -b "$BROKERS" -t "bench.$t.ptin" -r "$r" -s "$LATS" --warmup 2 --drain 15 "$LCORPUS" \
            "bench.$t.ptout" >"$WORK/$t-ptlat.txt" 2>&1 || true
        kill -TERM "$PTPID" 2>/dev/null || true
        wait "$PTPID" 2>/dev/null || true
        cat "$WORK/$t-ptlat.txt" >&2
        rm -f "$LCORPUS"
        awk '$1 == "RESULT" && $2 == "latency" { printf "| %s | %s of %s | %s | %.2f | %.2f | %.2f | %.2f |\n", $3, $9, $10, $4, $5, $6, $7, $8 }' \
            "$WORK/$t.txt" >>"$REPORT"
        awk '$1 == "RESULT" && $2 == "latency" { printf "| %s (passthrough) | %s of %s | %s | %.2f | %.2f | %.2f | %.2f |\n", $3, $9, $10, $4, $5, $6, $7, $8 }' \
            "$WORK/$t-ptlat.txt" >>"$REPORT"
        grep -h "never arrived" "$WORK/$t.txt" |
            sed 's/^latency: \(.*\)/> At '"$r"'\/s: \1 within 15 s of the end: the offered rate is above what the pipeline sustains, so the backlog (and latency) grows for as long as the load lasts./' >>"$WORK/lat_notes.txt" || true
    done
    echo >>"$REPORT"
    [ -s "$WORK/lat_notes.txt" ] && { cat "$WORK/lat_notes.txt"; echo; } >>"$REPORT"
fi

echo "Total benchmark time: $(since "$T_START") s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every row)." >>"$REPORT"
cp "$REPORT" "$RESULTS"
echo
cat "$RESULTS"
echo
echo "run.sh: results written to $RESULTS"
