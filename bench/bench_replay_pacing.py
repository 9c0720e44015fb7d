#!/usr/bin/env python3
"""Pacing accuracy of `wirestream replay --speed N` on a real Kafka broker.

For each case, synthetic articles with known event timestamps (exponential
gaps, seeded) are produced to a fresh 3-partition topic; `wirestream replay`
replays the whole range at the case's speed; then every output record is
read back with its own message timestamp (librdkafka stamps CreateTime when
the replay produces it) and the `ws.source.timestamp` header (the input's
event time). For each record:

    expected = (source_ts - first_source_ts) / speed
    actual   = output_ts - first_output_ts
    error    = actual - expected          (ms; > 0: late)

reported as the median and 99th percentile of |error|, the worst error, the
total replay time against the planned span, the share of records released
out of (timestamp, partition, offset) order (must be 0), and the replay
process's CPU time (pacing waits on timers, it does not spin). `--speed max`
gives the throughput. Nothing fails on a time: this is a measurement.

Usage:
    bench/bench_replay_pacing.py [--quick] [--out FILE.md]
        WS_KAFKA_BOOTSTRAP=host:port uses that broker; otherwise one is started
        with tests/kafka/broker.sh and stopped at the end.
        WIRESTREAM_BIN picks the binary (default ./wirestream).
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("WIRESTREAM_BIN", "./wirestream")
if not os.path.isabs(BIN):
    BIN = str(ROOT / BIN)
CONFIG = ROOT / "config" / "wirestream.conf"
BASE_TS = 1704067200000          # 2024-01-01T00:00:00Z
WORDS = ("harbour ferry council budget river bridge school rail grain market "
         "storm village court museum airport festival clinic orchard quarry "
         "library tunnel canal vineyard stadium factory reservoir highway").split()


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def article(rng, i, ts):
    # Random word order: no two bodies are near duplicates.
    body = " ".join(rng.choice(WORDS) + (str(rng.randint(0, 99)) if k % 3 == 0 else "")
                    for k in range(60))
    return {"id": f"pace-{i:06d}", "headline": f"Item {i}", "date": iso(ts),
            "body": body.capitalize() + "."}


def produce(bootstrap, topic, n, mean_gap_ms, seed):
    from confluent_kafka import Producer
    rng = random.Random(seed)
    prod = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                     "enable.idempotence": True})
    ts = BASE_TS
    for i in range(n):
        if i:
            ts += max(1, int(rng.expovariate(1.0 / mean_gap_ms)))
        a = article(rng, i, ts)
        while True:
            try:
                prod.produce(topic, json.dumps(a).encode(), key=a["id"].encode(),
                             timestamp=ts, partition=i % 3)
                break
            except BufferError:
                prod.poll(0.05)
    if prod.flush(60) != 0:
        raise SystemExit("bench: produce did not finish")
    return ts                     # the last event time


def create_topic(bootstrap, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    adm = AdminClient({"bootstrap.servers": bootstrap})
    adm.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = adm.list_topics(timeout=10).topics
        if name in md and len(md[name].partitions) == partitions and \
                all(p.leader >= 0 for p in md[name].partitions.values()):
            return
        time.sleep(0.1)
    raise SystemExit(f"bench: topic {name} has no leaders")


def read_all(bootstrap, topic, expect, timeout=120):
    """(source_ts, source partition, source offset, output_ts) per record."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < expect and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        h = {k: v.decode() for k, v in (m.headers() or [])}
        out.append((int(h["ws.source.timestamp"]), int(h["ws.source.partition"]),
                    int(h["ws.source.offset"]), m.timestamp()[1]))
    c.close()
    return out


def run_case(bootstrap, speed, n, mean_gap_ms, seed, verbose=False, extra=()):
    topic = f"pace-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 3)
    last = produce(bootstrap, topic, n, mean_gap_ms, seed)
    prefix = f"pb{uuid.uuid4().hex[:6]}."
    cmd = [BIN, "replay", "-c", str(CONFIG), "-b", bootstrap, "-v" if verbose else "-q",
           "-o", f"kafka.input_topics={topic}",
           "-o", f"output.enriched_topic={topic}.enriched",
           "-o", f"output.duplicates_topic={topic}.duplicates",
           "-o", f"output.deadletter_topic={topic}.deadletter",
           "-o", f"output.topic_prefix={topic}.topic.",
           "-o", f"output.state_topic={topic}.state",
           "--from", str(BASE_TS), "--to", str(last + 1), "--speed", speed,
           "--output-prefix", prefix, *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, timeout=3600)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"bench: replay exited {res.returncode}:\n{res.stderr.decode()[-2000:]}")
    err_lines = [x for x in res.stderr.decode().splitlines() if "librdkafka" not in x]
    summary = next(x for x in reversed(err_lines) if x.startswith("replay "))
    if verbose:
        print("\n".join(err_lines[-6:]), file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    recs = read_all(bootstrap, prefix + f"{topic}.enriched", n)
    if len(recs) != n:
        raise SystemExit(f"bench: {len(recs)} of {n} records came out ({summary})")
    recs.sort()                                         # merge order
    out_order = [r[3] for r in recs]
    disorder = sum(1 for a, b in zip(out_order, out_order[1:]) if b < a)
    span_ms = recs[-1][0] - recs[0][0]
    row = dict(speed=speed, n=n, span_s=span_ms / 1000, wall_s=wall, cpu_s=cpu,
               disorder=disorder, summary=summary)
    if speed != "max":
        sp = float(speed)
        errs = [(r[3] - recs[0][3]) - (r[0] - recs[0][0]) / sp for r in recs]
        abs_errs = sorted(abs(e) for e in errs)
        if verbose:                 # where the error is: worst per tenth of the run
            k = max(1, len(errs) // 10)
            print("  worst error per tenth (ms): " + " ".join(
                f"{max(errs[i:i + k], key=abs):+.0f}" for i in range(0, len(errs), k)),
                file=sys.stderr)
        row.update(planned_s=span_ms / sp / 1000,
                   p50=statistics.median(abs_errs),
                   p99=abs_errs[min(len(abs_errs) - 1, int(0.99 * len(abs_errs)))],
                   worst=max(errs, key=abs), mean=statistics.fmean(errs),
                   end_err=errs[-1])
    else:
        row["rate"] = n / ((recs[-1][3] - recs[0][3]) / 1000 or 1)
    return row


def table(rows):
    lines = ["| speed | records | event span | planned | replay wall | CPU | "
             "median abs error | p99 abs error | worst | last record | out of order |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["speed"] == "max":
            lines.append(f"| max | {r['n']} | {r['span_s']:.0f} s | - | {r['wall_s']:.2f} s | "
                         f"{r['cpu_s']:.2f} s | {r['rate']:.0f} records/s (first to last "
                         f"output) | - | - | - | {r['disorder']} |")
        else:
            lines.append(f"| {r['speed']} | {r['n']} | {r['span_s']:.1f} s | "
                         f"{r['planned_s']:.2f} s | {r['wall_s']:.2f} s | {r['cpu_s']:.2f} s | "
                         f"{r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['worst']:+.0f} ms | "
                         f"{r['end_err']:+.0f} ms | {r['disorder']} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small cases (~30 s)")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--case", action="append", metavar="SPEED:RECORDS:GAP_MS",
                    help="run only these cases (repeatable)")
    ap.add_argument("--replay-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for wirestream replay (repeatable)")
    ap.add_argument("-v", action="store_true", help="pass -v to replay, show its stderr tail")
    args = ap.parse_args()
    if args.case:
        cases = [(c.split(":")[0], int(c.split(":")[1]), int(c.split(":")[2]))
                 for c in args.case]
    elif args.quick:
        cases = [("1", 100, 50), ("10", 300, 200), ("100", 1000, 300), ("max", 3000, 100)]
    else:
        cases = [("1", 400, 50), ("10", 1500, 100), ("100", 5000, 200), ("1000", 10000, 500),
                 ("max", 20000, 100)]
    bootstrap = os.environ.get("WS_KAFKA_BOOTSTRAP")
    broker_dir = None
    if not bootstrap:
        broker_dir = tempfile.mkdtemp(prefix="ws-bench-kafka-")
        subprocess.run([str(ROOT / "tests/kafka/broker.sh"), "start", broker_dir,
                        "--owner-pid", str(os.getpid())], check=True)
        bootstrap = Path(broker_dir, "bootstrap").read_text().strip()
    try:
        rows = []
        for speed, n, gap in cases:
            print(f"bench: speed {speed}, {n} records, mean gap {gap} ms ...", file=sys.stderr)
            rows.append(run_case(bootstrap, speed, n, gap, seed=n, verbose=args.v,
                                 extra=args.replay_arg))
            print("  " + rows[-1]["summary"], file=sys.stderr)
        load = os.getloadavg()
        text = (f"Replay pacing, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                f"{os.cpu_count()} CPUs, load average {load[0]:.2f} "
                f"(bench/bench_replay_pacing.py{' --quick' if args.quick else ''})\n\n"
                + table(rows) + "\n")
        print(text)
        if args.out:
            Path(args.out).write_text(text)
    finally:
        if broker_dir:
            subprocess.run([str(ROOT / "tests/kafka/broker.sh"), "stop", broker_dir])


if __name__ == "__main__":
    main()
