#!/usr/bin/env bash
# bench/soak.sh - bounded soak runs that show memory stays flat.
#
#   bench/soak.sh [process|run|all]      (make soak)
#
# process: SOAK_ARTICLES (1,000,000) generated articles streamed through
#          `wirestream process` with the full chain; the generator spreads
#          them over days (--per-day 20000) so the 72 h dedupe window fills,
#          then expires as much as it takes in.
# run:     SOAK_KAFKA_ARTICLES (200,000) through `wirestream run` on a real
#          Kafka broker (tests/kafka/broker.sh), loaded first, drained to
#          the end.
# The dedupe index is a ring sized by [processor.dedupe] max_entries
# (1,000,000 by default, about 254 MB): memory grows by design until the
# ring is full, then stays flat. The soak caps it (SOAK_DEDUPE_ENTRIES,
# 100,000) so that the plateau shows within the run.
# RSS is sampled every SOAK_INTERVAL seconds (5). The report (written to
# bench/results/soak.md and printed) gives the samples at each tenth of the
# run and the growth over the second half, which is what "flat" means here:
# after the window is full, memory must not keep growing. Nothing fails on
# a number; this is a benchmark, not a test.
set -u
cd "$(dirname "$0")/.."

what=${1:-all}
N=${SOAK_ARTICLES:-1000000}
NK=${SOAK_KAFKA_ARTICLES:-200000}
INTERVAL=${SOAK_INTERVAL:-5}
ENTRIES=${SOAK_DEDUPE_ENTRIES:-100000}
BB=build/bench
WS=${WIRESTREAM_BIN:-$PWD/build/wirestream}
REPORT=bench/results/soak.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirestream-soak.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/broker/pid" ] && tests/kafka/broker.sh stop "$WORK/broker" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

make --no-print-directory -s all "$BB/gen_corpus" >/dev/null || exit 1

sample() {  # sample PID FILE: "seconds rss_kib" every INTERVAL until PID exits
    local pid=$1 out=$2 t0=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        awk -v t=$((SECONDS - t0)) '/^VmRSS/ { printf "%d\t%d\n", t, $2 }' \
            "/proc/$pid/status" 2>/dev/null >>"$out" || true
        sleep "$INTERVAL"
    done
}

summary() {  # summary FILE LABEL
    awk -F'\t' -v label="$2" '{ t[NR] = $1; r[NR] = $2; if ($2 > peak) peak = $2 }
        END {
            if (NR < 4) { printf "%s: too few samples (%d)\n", label, NR; exit }
            printf "%s: %d samples over %d s, peak %.0f MiB\n", label, NR, t[NR], peak / 1024
            printf "RSS (MiB) at each tenth of the run:"
            for (i = 1; i <= 10; i++) { k = int(i * NR / 10); if (k < 1) k = 1; printf " %.0f", r[k] / 1024 }
            half = int(NR / 2); if (half < 1) half = 1
            printf "\ngrowth over the second half: %+.1f MiB (%.0f -> %.0f)\n",
                (r[NR] - r[half]) / 1024, r[half] / 1024, r[NR] / 1024
        }' "$1"
}

{
    echo "# wirestream soak"
    echo
    echo "Run $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
} >"$WORK/report"

if [ "$what" = process ] || [ "$what" = all ]; then
    echo "soak: $N articles through wirestream process (full chain)" >&2
    t0=$SECONDS
    "$BB/gen_corpus" -n "$N" -s 11 --per-day 20000 --ids soak 2>/dev/null |
        "$WS" process -q --no-timestamps -o processor.dedupe.max_entries="$ENTRIES" \
        >/dev/null 2>"$WORK/process.err" &
    pid=$!
    sample "$pid" "$WORK/process.tsv"
    wait "$pid"
    rc=$?
    {
        echo "## process"
        echo
        echo '```'
        echo "gen_corpus -n $N -s 11 --per-day 20000 | wirestream process -o processor.dedupe.max_entries=$ENTRIES   (exit $rc, $((SECONDS - t0)) s)"
        summary "$WORK/process.tsv" "process"
        echo '```'
        echo
    } >>"$WORK/report"
fi

if [ "$what" = run ] || [ "$what" = all ]; then
    echo "soak: $NK articles through wirestream run on a real broker" >&2
    "$BB/gen_corpus" -n "$NK" -s 12 --per-day 20000 --ids ksoak -o "$WORK/k.jsonl" 2>/dev/null
    if tests/kafka/broker.sh start "$WORK/broker" >"$WORK/broker.log" 2>&1; then
        b=$(cat "$WORK/broker/bootstrap")
        # The archive's timestamps are its articles' dates, months old: with
        # the broker's default retention.ms (7 days) they would be deleted
        # as soon as a segment rolls. Archive topics keep everything.
        python3 - "$b" <<'PY' || exit 1
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic("soak.raw", 1, 1, config={"retention.ms": "-1"})]).values():
    f.result(timeout=60)
PY
        "$WS" ingest -q -b "$b" --topic soak.raw "$WORK/k.jsonl" 2>"$WORK/ingest.err"
        t0=$SECONDS
        "$WS" run -b "$b" -o kafka.input_topics=soak.raw -o kafka.group_id=soak \
            -o processor.dedupe.max_entries="$ENTRIES" \
            -o output.enriched_topic=soak.enriched -o output.topic_prefix=soak.topic. \
            -o output.duplicates_topic=soak.duplicates -o output.deadletter_topic=soak.dead \
            -o output.state_topic=soak.state -o http.enabled=false -o log.stats_interval=2s \
            >"$WORK/run.out" 2>"$WORK/run.err" &
        pid=$!
        sample "$pid" "$WORK/run.tsv" &
        spid=$!
        # Drained when the stats line says every input was consumed; then
        # SIGTERM delivers what is in flight and commits.
        deadline=$((SECONDS + 900))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            grep -qE "stats: in $NK " "$WORK/run.err" && break
            sleep 2
        done
        kill -TERM "$pid" 2>/dev/null
        wait "$pid"
        rc=$?
        wait "$spid" 2>/dev/null
        {
            echo "## run (real Kafka broker)"
            echo
            echo '```'
            echo "$NK articles ingested, then wirestream run until drained (exit $rc after SIGTERM, $((SECONDS - t0)) s)"
            summary "$WORK/run.tsv" "run"
            echo '```'
            echo
        } >>"$WORK/report"
    else
        echo "soak: the broker did not start: $(tail -n 3 "$WORK/broker.log")" >>"$WORK/report"
    fi
fi

mkdir -p bench/results
cp "$WORK/report" "$REPORT"
cat "$REPORT"
