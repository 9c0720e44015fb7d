"""Hostile input: binary garbage, huge strings, multi-megabyte bodies, JSON
nested a million levels deep, and seeded random bytes.

`process` (offline): each bad line is rejected with a known reason code in
a valid JSON line on stderr, the good lines around it come out in order,
nothing crashes and nothing takes long. tests/integration/test_process.py
covers the malformed fixtures (tests/fixtures/malformed) and mutated
stories; this file covers what is hostile by size or by randomness.

`run` (kafka): the same inputs reach the dead-letter topic byte for byte
with their reason, the good inputs between them are enriched, and the
process keeps running.
"""
import json
import os
import random
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("WIRESTREAM_BIN", "./wirestream")
if not os.path.isabs(BIN):
    BIN = str(ROOT / BIN)
CONFIG = ROOT / "config" / "wirestream.conf"
EXIT_REJECTED = 3
MIB = 1 << 20
REASONS = {"empty_message", "message_too_large", "invalid_utf8", "nul_byte", "invalid_json",
           "not_object", "wrong_type", "missing_body", "empty_body", "body_too_large",
           "invalid_date", "out_of_memory"}
SEED = 20261128


def process(path, *args, timeout=120):
    import subprocess
    t0 = time.monotonic()
    res = subprocess.run([BIN, "process", "-c", str(CONFIG), "-q", "--no-timestamps", *args,
                          str(path)], capture_output=True, timeout=timeout, cwd=ROOT)
    res.elapsed = time.monotonic() - t0
    assert 0 <= res.returncode < 128, res.stderr[-3000:].decode(errors="replace")
    assert b"AddressSanitizer" not in res.stderr and b"runtime error:" not in res.stderr, \
        res.stderr[-3000:].decode(errors="replace")
    return res


def outputs(res):
    return [json.loads(line) for line in res.stdout.decode().splitlines() if line.strip()]


def rejections(res):
    """Every stderr line must be one JSON object (a rejection) with a known
    reason: a reason message holding input bytes must still be valid JSON."""
    out = []
    for line in res.stderr.decode("utf-8").splitlines():     # strict: valid UTF-8
        if not line.strip():
            continue
        rej = json.loads(line)
        assert rej["reason"] in REASONS, rej
        assert rej["message"], rej
        out.append(rej)
    return out


def good_story(i):
    return json.dumps({"id": f"good-{i}", "headline": f"Talks resume in round {i}",
                       "body": f"KYIV, March {i % 28 + 1} (Wire) - Ukrainian and Polish officials "
                               f"met for round {i} of talks on grain transit on Monday.",
                       "date": "2026-03-02T06:10:00Z"}).encode()


def hostile_lines(rnd):
    """(name, bytes) of one-line hostile inputs, none containing a newline."""
    garbage = [bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 4096))).replace(b"\n", b"")
               or b"\x00" for _ in range(40)]
    return ([("garbage-%d" % i, g) for i, g in enumerate(garbage)] + [
        ("deep-arrays-1M", b"[" * 1_000_000 + b"]" * 1_000_000),
        ("deep-in-field", b'{"body": "x", "extra": ' + b"[" * 500_000 + b"]" * 500_000 + b"}"),
        ("huge-escape-run", b'{"body": "' + b"\\u00e9" * 300_000 + b'\\ud800"}'),
        ("cut-escape-utf8", '{"id": "a", "body": "do\\u01\ufeff1210"}'.encode()),
        ("body-3.5MiB", json.dumps({"id": "big", "body": "word " * (700 * 1024)}).encode()),
        ("message-5MiB", json.dumps({"id": "huge", "body": "z" * (5 * MIB)}).encode()),
        ("only-bom", "\ufeff".encode()),
        ("nul-run", b"\x00" * 1000),
        ("high-bytes", bytes(range(128, 256)) * 100),
        ("json-then-garbage", b'{"body": "ok"}\xff\xfe'),
    ])


def test_hostile_lines_between_good_ones(tmp_path):
    """Hostile lines interleaved with good ones in one JSONL file."""
    rnd = random.Random(SEED)
    lines, good_ids, bad_lines = [], [], {}
    for i, (name, data) in enumerate(hostile_lines(rnd)):
        lines.append(good_story(i))
        good_ids.append(f"good-{i}")
        if data.strip(b" \t\r"):
            bad_lines[len(lines) + 1] = name
        lines.append(data)
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    res = process(path)
    assert res.returncode == EXIT_REJECTED
    assert [r["id"] for r in outputs(res)] == good_ids
    rej = rejections(res)
    assert sorted(r["line"] for r in rej) == sorted(bad_lines), \
        {r["line"]: r["reason"] for r in rej}
    by_line = {r["line"]: r for r in rej}
    expect = {"deep-arrays-1M": "invalid_json", "body-3.5MiB": "body_too_large",
              "message-5MiB": "message_too_large", "nul-run": "nul_byte",
              "high-bytes": "invalid_utf8", "cut-escape-utf8": "invalid_json",
              "json-then-garbage": "invalid_utf8"}
    for line, name in bad_lines.items():
        if name in expect:
            assert by_line[line]["reason"] == expect[name], (name, by_line[line])
    assert res.elapsed < 60, f"{res.elapsed:.1f}s for {len(lines)} lines"


def test_seeded_random_bytes(tmp_path):
    """Random bytes with a fixed seed (reproducible): 500 lines, each either
    enriched or rejected, never both, never lost."""
    rnd = random.Random(SEED + 1)
    alphabet = [bytes([b]) for b in range(256) if b != 10] + \
        [b'{"body": "', b'"}', b"\\u", b"\xe2\x80", b"\xf0\x9f\x98", b"date ", b" "]
    lines = [b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 300)))
             for _ in range(500)]
    path = tmp_path / "random.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    res = process(path)
    assert res.returncode in (0, EXIT_REJECTED)
    counted = sum(1 for line in lines if line.strip(b" \t\r"))
    assert len(outputs(res)) + len(rejections(res)) == counted


def test_huge_strings_outside_the_body(tmp_path):
    """Multi-megabyte id, headline and pass-through fields under the message
    limit are processed (the body limit does not apply to them), quickly."""
    cases = {
        "headline": {"id": "h1", "headline": "Kyiv talks " * 250_000, "body": "Short body."},
        "id": {"id": "x" * (3 * MIB), "body": "Short body."},
        "extra": {"id": "e1", "body": "Short body.", "blob": "y" * (3 * MIB)},
        "keys": dict({"id": "k1", "body": "Short body."}, **{f"k{i}": i for i in range(100_000)}),
    }
    for name, obj in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(json.dumps(obj).encode() + b"\n")
        res = process(path)
        assert res.returncode == 0, (name, res.stderr[-2000:])
        out = outputs(res)
        assert len(out) == 1 and out[0]["id"] == obj["id"], name
        assert res.elapsed < 30, (name, res.elapsed)


def test_multi_megabyte_bodies(tmp_path):
    """At the limits: a 1 MiB body of dense entity-bearing text is enriched
    in bounded time; over it, body_too_large; text mode likewise."""
    dense = ("Zelenskyy met NATO and EU leaders in Kyiv, Київ, on Monday. " * 20_000)
    body = dense.encode()[:MIB - 64].decode("utf-8", "ignore")
    path = tmp_path / "dense.jsonl"
    path.write_bytes(json.dumps({"id": "dense", "body": body}, ensure_ascii=False).encode() + b"\n")
    res = process(path)
    assert res.returncode == 0, res.stderr[-2000:]
    out = outputs(res)
    assert out[0]["id"] == "dense" and out[0]["entities"], out[0].keys()
    assert res.elapsed < 60, res.elapsed

    text = tmp_path / "big.txt"
    text.write_bytes(("Peace talks continued in Geneva. " * (3 * MIB // 33)).encode())
    res = process(text, "--format", "text")
    assert res.returncode == EXIT_REJECTED
    [rej] = rejections(res)
    assert rej["reason"] in ("body_too_large", "message_too_large"), rej


@pytest.mark.parametrize("size", [1_000_000])
def test_deep_nesting_in_text_mode_is_just_text(tmp_path, size):
    """In text mode brackets are words' punctuation: no parser recursion,
    the article is enriched (or rejected as empty), never a crash."""
    path = tmp_path / "brackets.txt"
    path.write_bytes(b"KYIV (Wire) - " + b"[{" * (size // 2) + b" Talks resumed.")
    res = process(path, "--format", "text", "-o", "input.max_body_size=4MiB")
    assert res.returncode in (0, EXIT_REJECTED)
    assert len(outputs(res)) + len(rejections(res)) == 1


def test_binary_files_in_text_mode(tmp_path):
    rnd = random.Random(SEED + 2)
    files = []
    for i in range(20):
        p = tmp_path / f"bin{i}.txt"
        p.write_bytes(bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 20000))))
        files.append(str(p))
    import subprocess
    res = subprocess.run([BIN, "process", "-c", str(CONFIG), "-q", "--no-timestamps",
                          "--format", "text", *files], capture_output=True, timeout=120,
                         cwd=ROOT)
    assert 0 <= res.returncode < 128
    rej = rejections(res)
    assert len(outputs(res)) + len(rej) == len(files)
    assert all(r["file"] in files for r in rej)


# ------------------------------------------------------------------ run mode

def _kafka():
    ck = pytest.importorskip("confluent_kafka", reason="confluent-kafka not installed")
    import test_run_kafka as trk
    return ck, trk


@pytest.mark.kafka
def test_run_dead_letters_hostile_input_byte_for_byte(broker):
    """Hostile messages, multi-megabyte ones included, with odd headers,
    reach the dead-letter topic unchanged with their reason; the good ones
    between them are
    enriched; `run` keeps running and stops cleanly. Large messages need
    room on the path: the input and dead-letter topics accept 16 MiB and
    wirestream's producer is given message.max.bytes to match
    (docs/hardening.md)."""
    ck, trk = _kafka()
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    b = broker.bootstrap
    n = trk.Names("hostile")
    big = {"max.message.bytes": str(16 * MIB)}
    admin = AdminClient({"bootstrap.servers": b})
    topics = [NewTopic(n.input, 1, 1, config=big)]
    topics += [NewTopic(t, 2, 1, config=big if t == n.dead else {}) for t in n.outputs()]
    for _, fut in admin.create_topics(topics, operation_timeout=30).items():
        fut.result(timeout=60)
    trk.wait_until(lambda: all(t.topic in admin.list_topics(timeout=10).topics for t in topics),
                   "the new topics", timeout=60)

    rnd = random.Random(SEED + 3)
    hostile = [(name, data) for name, data in hostile_lines(rnd)
               if name != "message-5MiB"] + [
        ("message-5MiB", json.dumps({"id": "huge", "body": "z" * (5 * MIB)}).encode()),
        ("empty", b""),
    ]
    p = Producer({"bootstrap.servers": b, "message.max.bytes": str(16 * MIB),
                  "enable.idempotence": True})
    sent, errors = [], []

    def dr(err, msg, rec):
        if err:
            errors.append(err)
        else:
            rec["offset"] = msg.offset()

    # Odd headers on every message: binary and null values, repeated and
    # empty names, hundreds of them, and a spoofed wirestream header.
    odd = [("ws.reason", b"spoofed"), ("bin", bytes(range(256))), ("null", None),
           ("dup", b"1"), ("dup", b"2"), ("", b"empty name")]
    for i, (name, data) in enumerate(hostile):
        # synthetic(): distinct articles, so dedupe routes none of them away.
        good = json.dumps(trk.synthetic(f"good-{i}", i)).encode()
        for kind, value in (("good", good), (name, data)):
            headers = odd + ([("h%d" % k, b"v") for k in range(300)] if i % 5 == 0 else [])
            rec = {"kind": kind, "value": value, "key": f"{kind}-{i}".encode(),
                   "headers": headers}
            sent.append(rec)
            p.produce(n.input, value=value, key=rec["key"], partition=0, headers=headers,
                      on_delivery=lambda err, msg, rec=rec: dr(err, msg, rec))
            p.poll(0)
    assert p.flush(60) == 0 and not errors, errors

    run = trk.Run(b, n, "-X", f"message.max.bytes={16 * MIB}")
    try:
        n_bad = len(hostile)
        trk.wait_until(lambda: len(trk.read_topic(b, n.dead)) >= n_bad,
                       "every hostile input in the dead-letter topic", runs=[run])
        trk.wait_until(lambda: len(trk.read_topic(b, n.enriched)) >= n_bad,
                       "every good input enriched", runs=[run])
        assert run.proc.poll() is None, "run stopped"
        assert run.stop() == 0, run.stderr()[-3000:]
    finally:
        run.cleanup()

    dead = {trk.source_of(m)[2]: m for m in trk.read_topic(b, n.dead)}
    enriched = trk.read_topic(b, n.enriched)
    assert sorted(json.loads(m["value"])["id"] for m in enriched) == \
        sorted(f"good-{i}" for i in range(len(hostile)))
    for rec in sent:
        if rec["kind"] == "good":
            continue
        m = dead[rec["offset"]]
        assert m["value"] == rec["value"] or (rec["value"] == b"" and m["value"] in (b"", None)), \
            rec["kind"]
        assert m["key"] == rec["key"]
        # The input's headers first, unchanged and in order; wirestream's
        # after them, so the last ws.reason is the real one (a reader takes
        # the last value of a ws.* header: input may carry anything).
        assert m["headers"][:len(rec["headers"])] == rec["headers"], rec["kind"]
        assert trk.hdr(m, "ws.reason") in REASONS, (rec["kind"], trk.hdr(m, "ws.reason"))
        assert trk.hdr(m, "ws.reason.message")


@pytest.mark.kafka
def test_run_survives_output_larger_than_the_topic_accepts(broker):
    """A valid article with a 3 MB headline (under input.max_message_size)
    makes an enriched record larger than an output topic with the broker's
    default max.message.bytes (1 MiB) accepts. `run` must keep going: the
    good article after it is enriched."""
    ck, trk = _kafka()
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    b = broker.bootstrap
    n = trk.Names("oversize")
    admin = AdminClient({"bootstrap.servers": b})
    topics = [NewTopic(n.input, 1, 1, config={"max.message.bytes": str(16 * MIB)})]
    topics += [NewTopic(t, 2, 1) for t in n.outputs()]
    for _, fut in admin.create_topics(topics, operation_timeout=30).items():
        fut.result(timeout=60)
    trk.wait_until(lambda: all(t.topic in admin.list_topics(timeout=10).topics for t in topics),
                   "the new topics", timeout=60)
    p = Producer({"bootstrap.servers": b, "message.max.bytes": str(16 * MIB)})
    p.produce(n.input, partition=0, key=b"big", value=json.dumps(
        {"id": "big", "headline": "Kyiv talks " * 300_000, "body": "Short body."}).encode())
    p.produce(n.input, partition=0, key=b"after",
              value=json.dumps(trk.synthetic("after", 1)).encode())
    assert p.flush(60) == 0

    run = trk.Run(b, n)
    try:
        trk.wait_until(lambda: any(m["key"] == b"after" for m in trk.read_topic(b, n.enriched)),
                       "the article after the oversized one", timeout=60, runs=[run])
        assert run.stop() == 0, run.stderr()[-3000:]
    finally:
        run.cleanup()
    # The oversized one is a dead letter, without its 3 MB value (too large
    # for the dead-letter topic too), pointing back at its source.
    dead = [m for m in trk.read_topic(b, n.dead) if m["key"] == b"big"]
    assert len(dead) == 1
    assert trk.hdr(dead[0], "ws.reason") == "output_too_large"
    assert int(trk.hdr(dead[0], "ws.original.bytes")) > 3_000_000
    assert trk.hdr(dead[0], "ws.source.offset") == "0"
    assert not dead[0]["value"]


# Bad command lines: every subcommand says the same thing the same way and
# exits with the usage code, before touching a broker or a file.
EXIT_USAGE = 2
SUBCOMMANDS = ["run", "demo", "process", "replay", "ingest", "export", "check"]


def _cli(*args):
    import subprocess
    return subprocess.run([BIN, *args], capture_output=True, timeout=30, cwd=ROOT,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_unknown_option_is_named_with_a_pointer_to_help(cmd):
    res = _cli(cmd, "--no-such-flag")
    assert res.returncode == EXIT_USAGE
    assert res.stdout == b""
    err = res.stderr.decode()
    assert err == (f"wirestream {cmd}: unknown option --no-such-flag; "
                   f"see 'wirestream {cmd} --help'\n")


@pytest.mark.parametrize("cmd,opt", [("process", "--format"), ("replay", "--from"),
                                     ("demo", "--timeout"), ("run", "--group"),
                                     ("export", "--output"), ("ingest", "--topic")])
def test_an_option_without_its_value(cmd, opt):
    res = _cli(cmd, opt)
    assert res.returncode == EXIT_USAGE
    assert res.stderr.decode() == (f"wirestream {cmd}: {opt} needs a value; "
                                   f"see 'wirestream {cmd} --help'\n")


@pytest.mark.parametrize("cmd", ["run", "demo", "replay", "export", "check"])
def test_stray_argument_is_unexpected(cmd):
    res = _cli(cmd, "stray")
    assert res.returncode == EXIT_USAGE
    assert res.stderr.decode() == (f"wirestream {cmd}: unexpected argument stray; "
                                   f"see 'wirestream {cmd} --help'\n")


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_help_goes_to_stdout_and_succeeds(cmd):
    res = _cli(cmd, "--help")
    assert res.returncode == 0
    assert res.stderr == b""
    assert res.stdout.decode().startswith(f"usage: wirestream {cmd} ")


@pytest.mark.parametrize("value,says", [("-1", "[pipeline] threads must be between 0 and 64"),
                                         ("65", "[pipeline] threads must be between 0 and 64"),
                                         ("many", "pipeline.threads: expected an integer")])
def test_pipeline_threads_out_of_range(value, says):
    # [pipeline] threads is checked when the configuration loads, before
    # `run` would start a thread.
    res = _cli("check", "-o", "pipeline.threads=" + value)
    assert res.returncode == EXIT_USAGE, res.stderr
    assert says in res.stderr.decode()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "10x", "", "1e9"])
def test_demo_timeout_must_be_a_positive_duration(value):
    # Refused before the embedded broker starts: a typo used to read as
    # 0 seconds and end the demo at once.
    res = _cli("demo", "--timeout", value)
    assert res.returncode == EXIT_USAGE, res.stderr
    assert res.stdout == b""
    assert res.stderr.decode() == ("wirestream demo: --timeout: expected a number of "
                                   "seconds or a duration (90, 2m), more than 0\n")
