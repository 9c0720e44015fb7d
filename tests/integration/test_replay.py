"""`wirestream replay`, `ingest` and `export` on a real Kafka broker.

The archive (tests/fixtures/replay/archive.jsonl, written by make_archive.py
beside it) holds 43 synthetic stories over 2024-03-04 .. 2024-03-08 and one
broken line. It is ingested once into a 3-partition topic; each test replays
a range of it under its own output prefix and checks what came out: exactly
the range's stories, the same records (dedupe decisions included) on every
run, the live group's committed offsets untouched, the dedupe warm-up, and
export of the replayed topic. Pacing accuracy is measured by
bench/bench_replay_pacing.py, not asserted here.

WIRESTREAM_BIN picks the binary (default ./wirestream).
"""
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kafka_util  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("WIRESTREAM_BIN", "./wirestream")
if not os.path.isabs(BIN):
    BIN = str(ROOT / BIN)
CONFIG = ROOT / "config" / "wirestream.conf"
ARCHIVE = ROOT / "tests" / "fixtures" / "replay" / "archive.jsonl"
T1, T2 = "2024-03-05T00:00:00Z", "2024-03-07T00:00:00Z"
TIMEOUT = 120
EXIT_REJECTED = 3
# Tests using the `broker` fixture are marked `kafka` by conftest.py; the
# others (fixture shape, usage errors) run offline.


def archive():
    """(good articles as dicts, their exact lines) in file order."""
    arts, lines = [], []
    for line in ARCHIVE.read_text().splitlines():
        try:
            arts.append(json.loads(line))
            lines.append(line)
        except json.JSONDecodeError:
            pass
    return arts, lines


def in_range(art, lo=T1, hi=T2):
    return lo <= art["date"] < hi      # same ISO 8601 UTC format: text order is time order


def wirestream(*args, check=None):
    cmd = [BIN, args[0], "-c", str(CONFIG)] + list(args[1:])
    res = kafka_util.run(cmd, timeout=TIMEOUT, check=False)
    err = res.stderr.decode("utf-8", "replace")
    assert 0 <= res.returncode < 128, f"{cmd} died ({res.returncode}):\n{err[-3000:]}"
    assert "AddressSanitizer" not in err and "runtime error:" not in err, err[-3000:]
    if check is not None:
        assert res.returncode == check, f"{cmd} exited {res.returncode}:\n{err[-3000:]}"
    return res


def outputs(topic):
    """The live output topics of a test's configuration (isolated per test)."""
    return dict(enriched=f"{topic}.enriched", prefix=f"{topic}.topic.",
                duplicates=f"{topic}.duplicates", deadletter=f"{topic}.deadletter",
                state=f"{topic}.state")


def replay_args(broker, topic, prefix, frm=T1, to=T2):
    o = outputs(topic)
    args = ["replay", "-b", broker.bootstrap, "--progress", "200ms",
            "-o", f"kafka.input_topics={topic}",
            "-o", f"output.enriched_topic={o['enriched']}",
            "-o", f"output.topic_prefix={o['prefix']}",
            "-o", f"output.duplicates_topic={o['duplicates']}",
            "-o", f"output.deadletter_topic={o['deadletter']}",
            "-o", f"output.state_topic={o['state']}",
            "--from", frm, "--output-prefix", prefix]
    if to:
        args += ["--to", to]
    return args


def replay(broker, topic, prefix, *extra, frm=T1, to=T2, check=0):
    args = replay_args(broker, topic, prefix, frm, to)
    res = wirestream(*args, *extra, check=check)
    err = res.stderr.decode("utf-8", "replace")
    m = re.search(r"^replay (done|incomplete): (.*)$", err, re.M)
    assert m, err[-3000:]
    summary = dict(kv.split("=", 1) for kv in m.group(2).split())
    summary["status"] = m.group(1)
    return summary, err


def topic_names(broker):
    adm = kafka_util.admin(broker.bootstrap)
    try:
        return set(adm.list_topics())
    finally:
        adm.close()


def read(broker, topic):
    # kcat (librdkafka): the outputs are lz4-compressed ([librdkafka.producer]).
    return kafka_util.consume_kcat(broker.bootstrap, topic, timeout=60)


def ids(records):
    return [json.loads(r.value)["id"] for r in records]


def comparable(records):
    """Records without their processing time, in topic order."""
    out = []
    for r in records:
        v = json.loads(r.value)
        assert "processed_at" in v["pipeline"], v["pipeline"]
        del v["pipeline"]["processed_at"]
        out.append((r.partition, r.key, v, sorted(r.headers)))
    return out


@pytest.fixture(scope="module")
def archive_topic(broker):
    """The archive ingested into a fresh 3-partition topic (once per module)."""
    topic = kafka_util.create_topic(broker.bootstrap, name=kafka_util.unique_topic("replay-in"),
                                    partitions=3)
    res = wirestream("ingest", "-b", broker.bootstrap, "--topic", topic, str(ARCHIVE),
                     check=EXIT_REJECTED)
    err = res.stderr.decode("utf-8", "replace")
    arts, _ = archive()
    # The broken line is reported with its line number, the rest produced.
    bad = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert [(b["line"], b["reason"]) for b in bad] == [(22, "invalid_json")], err
    assert f"{len(arts)} produced" in err, err
    assert sum(kafka_util.end_offsets(broker.bootstrap, topic).values()) == len(arts)
    return topic


@pytest.fixture(scope="module")
def first_replay(broker, archive_topic):
    """One replay of [T1, T2) under 'r1-<id>.', shared by several tests."""
    prefix = f"r1-{uuid.uuid4().hex[:6]}."
    summary, err = replay(broker, archive_topic, prefix)
    return prefix, summary, err


def test_archive_fixture_shape():
    arts, _ = archive()
    assert len(arts) >= 40
    days = sorted({a["date"][:10] for a in arts})
    assert days == ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
    assert len({a["id"] for a in arts}) == len(arts)


def test_replay_emits_exactly_the_range(broker, archive_topic, first_replay):
    prefix, summary, err = first_replay
    arts, _ = archive()
    want = {a["id"] for a in arts if in_range(a)}
    o = outputs(archive_topic)
    assert summary["status"] == "done"
    assert int(summary["in_range"]) == len(want) == 18
    assert int(summary["read"]) == len(want)
    assert int(summary["warmup"]) == 0

    enriched = ids(read(broker, prefix + o["enriched"]))
    dups = ids(read(broker, prefix + o["duplicates"]))
    # arc-d3-05r rewrites arc-d3-02 (both in range): a near duplicate,
    # published with its link to the enriched and the duplicates topics;
    # arc-d3-08x repeats arc-d2-04 word for word: kept out of the enriched
    # topics (drop_exact), on the duplicates topic only.
    assert sorted(dups) == ["arc-d3-05r", "arc-d3-08x"]
    assert sorted(enriched) == sorted(want - {"arc-d3-08x"})
    assert len(enriched) == len(set(enriched)) == int(summary["enriched"])
    assert int(summary["dropped"]) == 1 and int(summary["duplicates"]) == 2
    # Without a warm-up, the rewrite of a day-1 story is new to the window.
    assert "arc-d2-09r" in enriched
    # Per-topic streams hold records of the range only, under the prefix.
    names = topic_names(broker)
    routed = [t for t in names if t.startswith(prefix + o["prefix"])]
    assert routed, names
    for t in routed:
        assert set(ids(read(broker, t))) <= want
    # Nothing reached the live outputs or any state topic.
    for live in ("enriched", "duplicates", "deadletter", "state"):
        assert o[live] not in names
    assert prefix + o["state"] not in names
    # Progress lines came at the requested interval and the run ended by itself.
    assert re.search(r"replay: \d+/18 messages", err), err[-2000:]


def test_second_replay_is_identical(broker, archive_topic, first_replay):
    prefix1, summary1, _ = first_replay
    prefix2 = f"r2-{uuid.uuid4().hex[:6]}."
    summary2, _ = replay(broker, archive_topic, prefix2)
    for k in ("read", "in_range", "enriched", "routed", "duplicates", "dropped", "deadletter"):
        assert summary1[k] == summary2[k], k
    names = topic_names(broker)
    outs1 = sorted(t[len(prefix1):] for t in names if t.startswith(prefix1))
    outs2 = sorted(t[len(prefix2):] for t in names if t.startswith(prefix2))
    assert outs1 == outs2 and outs1
    for t in outs1:
        a, b = comparable(read(broker, prefix1 + t)), comparable(read(broker, prefix2 + t))
        assert a == b, t
        assert a


def test_paced_replay_decides_the_same(broker, archive_topic, first_replay):
    # Two days at a million times real speed: ~0.17 s of pacing timers.
    prefix1, _, _ = first_replay
    prefix3 = f"r3-{uuid.uuid4().hex[:6]}."
    o = outputs(archive_topic)
    replay(broker, archive_topic, prefix3, "--speed", "1000000")
    for t in (o["enriched"], o["duplicates"]):
        assert comparable(read(broker, prefix1 + t)) == comparable(read(broker, prefix3 + t))


def test_warmup_changes_the_dedupe_decision(broker, archive_topic, first_replay):
    prefix1, _, _ = first_replay
    prefix = f"rw-{uuid.uuid4().hex[:6]}."
    arts, _ = archive()
    summary, _ = replay(broker, archive_topic, prefix, "--warmup", "48h")
    o = outputs(archive_topic)
    warm = [a for a in arts if in_range(a, "2024-03-03T00:00:00Z", T1)]
    assert int(summary["warmup"]) == len(warm) == 8
    assert int(summary["in_range"]) == 18
    enriched = ids(read(broker, prefix + o["enriched"]))
    dups = [json.loads(r.value) for r in read(broker, prefix + o["duplicates"])]
    # arc-d2-09r rewrites arc-d1-06, dated before T1: with the window warmed
    # over day 1 it is a near duplicate of it; without, it was new.
    assert "arc-d2-09r" not in ids(read(broker, prefix1 + o["duplicates"]))
    assert "arc-d2-09r" in enriched          # near duplicates stay in the enriched topics
    by_id = {d["id"]: d for d in dups}
    assert sorted(by_id) == ["arc-d2-09r", "arc-d3-05r", "arc-d3-08x"]
    assert by_id["arc-d2-09r"]["dedupe"]["duplicate_of"] == "arc-d1-06"
    assert by_id["arc-d2-09r"]["dedupe"]["status"] == "near_duplicate"
    # The warm-up emitted nothing: no day-1 story in any output.
    emitted = set(enriched) | set(by_id)
    assert not emitted & {a["id"] for a in warm}
    assert emitted == {a["id"] for a in arts if in_range(a)}


def commit_offsets(bootstrap, group, topic, offsets):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        tps = {TopicPartition(topic, p): off for p, off in offsets.items()}
        cons.assign(list(tps))
        fields = len(OffsetAndMetadata._fields)
        cons.commit({tp: OffsetAndMetadata(off, "", -1) if fields == 3
                     else OffsetAndMetadata(off, "") for tp, off in tps.items()})
    finally:
        cons.close()


def test_live_group_offsets_untouched(broker, archive_topic):
    live = f"live-{uuid.uuid4().hex[:8]}"
    commit_offsets(broker.bootstrap, live, archive_topic, {0: 2, 1: 1, 2: 3})
    before = kafka_util.committed_offsets(broker.bootstrap, live, archive_topic)
    assert sorted(before.values()) == [1, 2, 3]
    groups_before = set(g[0] for g in list_groups(broker))
    prefix = f"rl-{uuid.uuid4().hex[:6]}."
    # The live group named in the configuration and in librdkafka's own
    # section: replay must still use a throwaway group and commit nothing.
    replay(broker, archive_topic, prefix, "-o", f"kafka.group_id={live}",
           "-X", f"group.id={live}")
    after = kafka_util.committed_offsets(broker.bootstrap, live, archive_topic)
    assert after == before
    # No new group holds committed offsets for the input either.
    for g in set(g[0] for g in list_groups(broker)) - groups_before:
        assert not kafka_util.committed_offsets(broker.bootstrap, g, archive_topic), g


def list_groups(broker):
    adm = kafka_util.admin(broker.bootstrap)
    try:
        return [tuple(g)[:2] for g in adm.list_consumer_groups()]
    finally:
        adm.close()


def test_open_range_stops_at_the_end(broker, archive_topic):
    # No --to: up to the end at start time; partitions end by EOF.
    prefix = f"ro-{uuid.uuid4().hex[:6]}."
    arts, _ = archive()
    summary, _ = replay(broker, archive_topic, prefix, frm="2024-03-08T00:00:00Z", to=None)
    last = [a for a in arts if a["date"] >= "2024-03-08"]
    assert int(summary["in_range"]) == len(last) == 9
    o = outputs(archive_topic)
    got = set(ids(read(broker, prefix + o["enriched"]))) | set(ids(read(broker, prefix + o["duplicates"])))
    assert sorted(got) == sorted(a["id"] for a in last)


def test_export_of_input_range_matches_archive(broker, archive_topic, tmp_path):
    out = tmp_path / "range.jsonl"
    wirestream("export", "-b", broker.bootstrap, "--topic", archive_topic, "--from", T1,
               "--to", T2, "--output", str(out), check=0)
    arts, lines = archive()
    want = sorted(line for a, line in zip(arts, lines) if in_range(a))
    assert sorted(out.read_text().splitlines()) == want


def test_export_of_replayed_topic_gives_the_same_records(broker, archive_topic, first_replay,
                                                           tmp_path):
    prefix, _, _ = first_replay
    o = outputs(archive_topic)
    for t in (o["enriched"], o["duplicates"]):
        out = tmp_path / "out.jsonl"
        wirestream("export", "-b", broker.bootstrap, "--topic", prefix + t, "--output",
                   str(out), check=0)
        consumed = sorted(r.value.decode() for r in read(broker, prefix + t))
        assert sorted(out.read_text().splitlines()) == consumed
        assert consumed


def test_dead_letters_go_under_the_prefix(broker, new_topic):
    topic = new_topic(partitions=1)
    ts = 1709640000000                      # 2024-03-05T12:00:00Z
    garbage = b"\x00not an article\xff"
    good = {"id": "dl-good", "headline": "Harbour reopens", "date": "2024-03-05T12:00:00Z",
            "body": "Port officials reopened the northern harbour on Tuesday after dredging "
                    "work ended ahead of schedule, and the first ferries sailed at noon."}
    kafka_util.produce(broker.bootstrap, topic, [
        {"key": "dl-good", "value": json.dumps(good), "timestamp": ts},
        {"key": "junk", "value": garbage, "timestamp": ts + 1000},
        {"key": "late", "value": garbage, "timestamp": ts + 3 * 86400000},   # after T2
    ])
    prefix = "rdl."
    summary, _ = replay(broker, topic, prefix)
    o = outputs(topic)
    assert int(summary["deadletter"]) == 1 and int(summary["enriched"]) == 1
    assert int(summary["read"]) == 2       # the third message is past the range's offsets
    dl = read(broker, prefix + o["deadletter"])
    assert [(r.key, r.value) for r in dl] == [(b"junk", garbage)]
    assert o["deadletter"] not in topic_names(broker)


def test_sigterm_while_holding_a_message(broker, archive_topic):
    # At speed 1 the second story of the range is due hours after the
    # first: replay holds it on a timer, and a signal still stops it at once.
    prefix = f"rs-{uuid.uuid4().hex[:6]}."
    args = replay_args(broker, archive_topic, prefix)
    proc = subprocess.Popen([BIN, args[0], "-c", str(CONFIG)] + args[1:] + ["--speed", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = b""
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while b"(1 in range)" not in err:
            assert time.monotonic() < deadline, err.decode(errors="replace")[-2000:]
            assert proc.poll() is None, err.decode(errors="replace")[-2000:]
            if sel.select(timeout=1):
                err += os.read(proc.stderr.fileno(), 65536)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=30)
        err += rest
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode(errors="replace")
    assert proc.returncode == 1, text[-2000:]
    assert stopped_in < 10, stopped_in
    m = re.search(r"^replay incomplete: .*in_range=(\d+) .*enriched=(\d+)", text, re.M)
    assert m and m.group(1) == "1" and m.group(2) == "1", text[-2000:]
    # The one processed story was delivered before the exit.
    first = min((a for a in archive()[0] if in_range(a)), key=lambda a: a["date"])
    assert ids(read(broker, prefix + outputs(archive_topic)["enriched"])) == [first["id"]]


def test_usage_errors():
    for args in (["--to", T2],                                  # --from missing
                 ["--from", T1, "--speed", "0"],
                 ["--from", T1, "--speed", "fast"],
                 ["--from", T1, "--output-prefix", ""],
                 ["--from", T2, "--to", T1],
                 ["--from", "yesterday-ish"],
                 ["--from", T1, "--warmup", "a while"]):
        res = wirestream("replay", "-b", "127.0.0.1:1", *args)
        assert res.returncode == 2, (args, res.stderr[-500:])


def filler(i, ts, rng):
    words = ("harbour ferry council budget river bridge school rail grain market storm "
             "village court museum airport festival clinic orchard quarry library").split()
    body = " ".join(rng.choice(words) + str(rng.randint(0, 999)) for _ in range(40))
    return {"id": f"fill-{i:04d}", "headline": f"Filler {i}", "body": body.capitalize() + ".",
            "date": iso_ms(ts)}


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + "Z"


def test_merge_order_decides_across_partitions(broker, new_topic):
    # The rewrite is the first message of partition 0; its original is the
    # last of 200 on partition 1 but two seconds older. Fetches deliver
    # partition 0's head long before the original: processing by arrival
    # would make the rewrite the original. The merge by timestamp must not.
    import random
    rng = random.Random(7)
    topic = new_topic(partitions=2)
    arts, _ = archive()
    by_id = {a["id"]: a for a in arts}
    t0 = 1709640000000                        # 2024-03-05T12:00:00Z
    orig = dict(by_id["arc-d3-02"], date=iso_ms(t0 + 200_000))
    rew = dict(by_id["arc-d3-05r"], date=iso_ms(t0 + 202_000))
    recs = [{"key": rew["id"], "value": json.dumps(rew), "timestamp": t0 + 202_000,
             "partition": 0}]
    for i in range(200):
        f = filler(i, t0 + i * 1000, rng)
        recs.append({"key": f["id"], "value": json.dumps(f), "timestamp": t0 + i * 1000,
                     "partition": 1})
    recs.append({"key": orig["id"], "value": json.dumps(orig), "timestamp": t0 + 200_000,
                 "partition": 1})
    kafka_util.produce(broker.bootstrap, topic, recs)
    prefix = "rm."
    summary, _ = replay(broker, topic, prefix)
    assert int(summary["in_range"]) == 202
    o = outputs(topic)
    dups = [json.loads(r.value) for r in read(broker, prefix + o["duplicates"])]
    assert [(d["id"], d["dedupe"]["duplicate_of"]) for d in dups] == [("arc-d3-05r", "arc-d3-02")]
    enriched = ids(read(broker, prefix + o["enriched"]))
    assert "arc-d3-02" in enriched and len(enriched) == 202   # the rewrite too, linked


def test_transaction_markers_and_aborted_messages_end_the_range(broker, new_topic):
    # A committed transaction leaves a marker at the last offset: the end
    # of the range (the high watermark) is never delivered as a message,
    # and the aborted messages in the middle are never delivered at all.
    # The partition must still finish, by its end-of-log event.
    from confluent_kafka import Producer
    topic = new_topic(partitions=1)
    prod = Producer({"bootstrap.servers": broker.bootstrap,
                     "transactional.id": f"replay-test-{uuid.uuid4().hex[:8]}"})
    prod.init_transactions(30)
    t0 = 1709640000000
    rng = __import__("random").Random(11)
    n = 0
    for commit, count in ((True, 3), (False, 2), (True, 3)):
        prod.begin_transaction()
        for _ in range(count):
            f = filler(n, t0 + n * 1000, rng)
            prod.produce(topic, json.dumps(f).encode(), key=f["id"].encode(),
                         timestamp=t0 + n * 1000)
            n += 1
        if commit:
            prod.commit_transaction(30)
        else:
            assert prod.flush(30) == 0      # on the log before the abort (else purged)
            prod.abort_transaction(30)
    # 8 messages and 3 markers (written by the coordinator after the commit
    # or abort returns)
    kafka_util.wait_for(lambda: kafka_util.end_offsets(broker.bootstrap, topic)[0] == 8 + 3,
                        30, what="transaction markers")
    summary, _ = replay(broker, topic, "rt.", to=None)
    assert summary["status"] == "done"
    assert int(summary["in_range"]) == 6 and int(summary["read"]) == 6
    got = sorted(ids(read(broker, "rt." + outputs(topic)["enriched"])))
    assert got == ["fill-0000", "fill-0001", "fill-0002", "fill-0005", "fill-0006", "fill-0007"]
