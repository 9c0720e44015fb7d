"""`wirestream process` end to end, offline: golden files over the fixture
corpus, the output schema, malformed input, and `wirestream check` on good
and broken configurations.

WIRESTREAM_BIN picks the binary (default ./wirestream, relative to the
repository root); tests/run.sh sets it for the normal and sanitizer builds.
Regenerate the goldens with tests/golden/update.sh and review the diff.
"""
import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("WIRESTREAM_BIN", "./wirestream")
if not os.path.isabs(BIN):
    BIN = str(ROOT / BIN)
CONFIG = ROOT / "config" / "wirestream.conf"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
MALFORMED = ROOT / "tests" / "fixtures" / "malformed"
GOLDEN = ROOT / "tests" / "golden"
SCHEMA = ROOT / "docs" / "schema" / "enriched-record-v1.json"
TEXT_FILES = sorted(str(p) for p in (CORPUS / "text").glob("*.txt"))
TIMEOUT = 120

EXIT_REJECTED = 3

sys.path.insert(0, str(GOLDEN))
import project  # noqa: E402  (tests/golden/project.py, shared with update.sh)


def run(args, stdin=None, config=CONFIG, env=None):
    """Runs the binary; returns the CompletedProcess (bytes)."""
    cmd = [BIN] + args[:1] + (["-c", str(config)] if config else []) + args[1:]
    full_env = dict(os.environ)
    full_env.pop("WIRESTREAM_CONFIG", None)
    for k, v in (env or {}).items():        # None: make sure it is unset
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    proc = subprocess.run(cmd, input=stdin, capture_output=True, cwd=ROOT, env=full_env,
                          timeout=TIMEOUT)
    # Never a crash or a sanitizer abort, whatever the input.
    assert 0 <= proc.returncode < 128, (
        f"{cmd[:6]} died with status {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-3000:]}")
    assert b"ERROR: AddressSanitizer" not in proc.stderr, proc.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error:" not in proc.stderr, proc.stderr.decode(errors="replace")[-3000:]
    return proc


def process(args, stdin=None):
    return run(["process", "-q", "--no-timestamps"] + args, stdin=stdin)


def records(stdout):
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def rejects(stderr):
    """The JSON lines on stderr (rejections); other lines are ignored."""
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


# --- golden files ------------------------------------------------------------


def readable_diff(want_lines, got_lines):
    """Per-record diff of the projections, pretty-printed so a changed field
    shows as a few lines rather than one very long one."""
    def by_id(lines):
        return {json.loads(l)["id"]: json.loads(l) for l in lines if l.strip()}

    want, got = by_id(want_lines), by_id(got_lines)
    parts = []
    order_want = [json.loads(l)["id"] for l in want_lines if l.strip()]
    order_got = [json.loads(l)["id"] for l in got_lines if l.strip()]
    if order_want != order_got:
        parts.append(f"record order/ids differ:\n  golden: {order_want}\n  output: {order_got}")
    for rid in order_want:
        if rid in got and want[rid] != got[rid]:
            a = json.dumps(want[rid], indent=2, ensure_ascii=False, sort_keys=True).splitlines()
            b = json.dumps(got[rid], indent=2, ensure_ascii=False, sort_keys=True).splitlines()
            parts.append("\n".join(difflib.unified_diff(a, b, f"golden {rid}", f"output {rid}",
                                                        lineterm="", n=1)))
    return "\n\n".join(parts) + "\n\n(if the change is intended: tests/golden/update.sh)"


@pytest.mark.parametrize("name,args", [
    ("stories.jsonl", [str(CORPUS / "stories.jsonl")]),
    ("text.jsonl", ["--format", "text"] + TEXT_FILES),
])
def test_golden(name, args):
    proc = process(args)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert rejects(proc.stderr) == []
    got = [project.dumps(project.project(r)) for r in records(proc.stdout)]
    want = (GOLDEN / name).read_text(encoding="utf-8").splitlines()
    if got != want:
        pytest.fail(f"{name}: output differs from the golden file\n" + readable_diff(want, got),
                    pytrace=False)


def test_corpus_size():
    assert len((CORPUS / "stories.jsonl").read_text().splitlines()) + len(TEXT_FILES) >= 34


def test_output_is_deterministic():
    a = process([str(CORPUS / "stories.jsonl")])
    b = process([str(CORPUS / "stories.jsonl")])
    assert a.stdout == b.stdout
    # ...and stdin gives the same bytes as a file argument.
    c = process([], stdin=(CORPUS / "stories.jsonl").read_bytes())
    assert c.stdout == a.stdout


def test_timestamps_only_difference():
    with_ts = records(run(["process", "-q", str(CORPUS / "stories.jsonl")]).stdout)
    without = records(process([str(CORPUS / "stories.jsonl")]).stdout)
    assert len(with_ts) == len(without)
    for a, b in zip(with_ts, without):
        assert "processed_at" in a["pipeline"]
        assert "processed_at" not in b["pipeline"]
        a["pipeline"].pop("processed_at")
        assert a == b


def test_corpus_foundation_facts():
    """A few facts the goldens encode, asserted directly so that a golden
    regenerated in a hurry cannot hide them."""
    out = {r["id"]: r for r in records(process([str(CORPUS / "stories.jsonl")]).stdout)}
    assert out["wc-war-001"]["dateline"] == "KYIV"
    assert out["wc-war-004"]["dateline"] == "MOSCOW"          # MOSCOW (AP) —
    assert out["wc-dip-003"]["dateline"] == "WASHINGTON"      # WASHINGTON —
    assert out["wc-war-005"]["date"] == "2023-05-11T08:00:00Z"
    assert out["wc-war-002"]["date"] == "2023-11-25T04:15:00Z"  # +02:00 normalized
    fin = out["urn:example:alliance:005"]                     # ninjs uri/body_text/versioncreated
    assert fin["body"].startswith("BRUSSELS, April 4 (Reuters) - Finland")
    assert fin["date"] == "2023-04-04T15:00:00Z"
    jp = out["wc-all-006"]                                    # unknown fields pass through
    assert jp["priority"] == 2 and jp["slugline"] == "JAPAN-PHILIPPINES/DEFENCE"
    rw2 = out["wc-rw-002"]
    for junk in ("Advertisement", "Sign up", "Share this", "Read more", "Grain ships leave"):
        assert junk not in rw2["body"]
    assert out["wc-rw-003"]["headline"].startswith("Russia and Ukraine exchanged 230 prisoners")
    generated = [r for r in out.values() if r["id"].startswith("ws-")]
    assert len(generated) == 1
    assert generated[0]["agency"] == "AP" and not generated[0]["body"].endswith("AP")
    for r in out.values():
        assert "\n\n\n" not in r["body"] and r["body"] == r["body"].strip()


# --- schema --------------------------------------------------------------------


def test_every_output_line_matches_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    outputs = [
        process([str(CORPUS / "stories.jsonl")]),
        process(["--format", "text"] + TEXT_FILES),
        run(["process", "-q", str(CORPUS / "stories.jsonl")]),   # with processed_at
    ]
    checked = 0
    problems = []
    for proc in outputs:
        for rec in records(proc.stdout):
            for err in validator.iter_errors(rec):
                problems.append(f"{rec.get('id')}: {err.json_path}: {err.message[:200]}")
            body = rec["body"].encode("utf-8")
            for ent in rec["entities"]:
                for sp in ent["spans"]:
                    # Byte offsets into the UTF-8 body, on character boundaries.
                    if not (0 <= sp["start"] < sp["end"] <= len(body)):
                        problems.append(f"{rec['id']}: span {sp} outside the body ({len(body)} bytes)")
                        continue
                    try:
                        body[sp["start"]:sp["end"]].decode("utf-8")
                    except UnicodeDecodeError:
                        problems.append(f"{rec['id']}: span {sp} of {ent['name']} splits a character")
            checked += 1
    assert checked == 2 * 31 + len(TEXT_FILES)
    assert not problems, "\n".join(problems[:50])


def test_schema_lists_every_encoded_field():
    """The schema's required list is what encode.c always writes."""
    schema = json.loads(SCHEMA.read_text())
    rec = records(process([str(CORPUS / "stories.jsonl")]).stdout)[0]
    assert set(schema["required"]) <= set(rec)
    assert set(rec) - set(schema["properties"]) <= set()   # first record has no extra fields


# --- malformed input ---------------------------------------------------------


MANIFEST = json.loads((MALFORMED / "manifest.json").read_text())


def check_rejected(proc, reason):
    assert proc.returncode == EXIT_REJECTED, proc.stderr.decode(errors="replace")
    assert proc.stdout == b"", proc.stdout[:500]
    lines = [l for l in proc.stderr.decode(errors="replace").splitlines() if l.strip()]
    assert len(lines) == 1, lines
    rej = json.loads(lines[0])
    assert rej["reason"] == reason, rej
    assert rej["line"] == 1 and rej["message"]
    return rej


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_malformed_file(name):
    path = MALFORMED / name
    args = (["--format", "text"] if name.endswith(".txt") else []) + [str(path)]
    rej = check_rejected(process(args), MANIFEST[name])
    if name.endswith(".txt"):
        assert rej["file"] == str(path)


def test_manifest_covers_every_file():
    files = {p.name for p in MALFORMED.iterdir() if p.name not in ("manifest.json", "README.md")}
    assert files == set(MANIFEST)
    reasons = set(MANIFEST.values())
    for code in ("invalid_json", "not_object", "invalid_utf8", "nul_byte", "missing_body",
                 "empty_body", "wrong_type", "invalid_date", "empty_message"):
        assert code in reasons


def test_generated_oversized_and_deep(tmp_path):
    mib = 1 << 20
    cases = {
        # default input.max_body_size = 1MiB, max_message_size = 4MiB
        "body_too_large.jsonl": (json.dumps({"id": "big", "body": "war " * (mib // 4 + 1)}) + "\n",
                                 "body_too_large", []),
        "body_too_large.txt": ("peace " * (mib // 6 + 10), "body_too_large", ["--format", "text"]),
        "message_too_large.jsonl": (json.dumps({"id": "huge", "body": "x" * (4 * mib)}) + "\n",
                                    "message_too_large", []),
        "deep_arrays.jsonl": ("[" * 100000 + "]" * 100000 + "\n", "invalid_json", []),
        "deep_objects.jsonl": ('{"a":' * 100000 + "1" + "}" * 100000 + "\n", "invalid_json", []),
    }
    for name, (text, reason, args) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        check_rejected(process(args + [str(path)]), reason)
    # Exactly at the body limit is fine.
    ok = tmp_path / "at_limit.jsonl"
    ok.write_text(json.dumps({"id": "edge", "body": "a" * (mib - 1) + "."}) + "\n")
    proc = process([str(ok)])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert records(proc.stdout)[0]["id"] == "edge"


def test_bad_lines_between_good_ones(tmp_path):
    """One JSONL file: the good lines come out in input order, each bad one
    is reported with its line number, blank lines are skipped."""
    good = (CORPUS / "stories.jsonl").read_bytes().splitlines()[:5]
    bad = [(MALFORMED / n).read_bytes().rstrip(b"\n") for n in
           ("invalid_json.jsonl", "nul_byte.jsonl", "invalid_utf8.jsonl", "json_array.jsonl",
            "missing_body.jsonl")]
    lines, expect_bad = [], {}
    for i in range(5):
        lines.append(good[i])
        lines.append(bad[i])
        expect_bad[len(lines)] = MANIFEST[["invalid_json.jsonl", "nul_byte.jsonl",
                                           "invalid_utf8.jsonl", "json_array.jsonl",
                                           "missing_body.jsonl"][i]]
        if i == 2:
            lines.append(b"   ")            # blank: skipped, still counted as a line
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    proc = process([str(path)])
    assert proc.returncode == EXIT_REJECTED
    got_ids = [r["id"] for r in records(proc.stdout)]
    assert got_ids == [json.loads(g)["id"] for g in good]
    rej = rejects(proc.stderr)
    assert {r["line"]: r["reason"] for r in rej} == expect_bad
    assert [r["line"] for r in rej] == sorted(r["line"] for r in rej)


def test_worker_threads_change_nothing(tmp_path):
    """[pipeline] threads: worker threads decode and clean, this thread runs
    the rest in input order. The output, the reject reports (with their line
    numbers) and the exit status must be the same as with no threads, when
    the threads finish out of order (a 600 KB article among small ones) and
    when the pool fills up (more lines than 128 per thread)."""
    good = (CORPUS / "stories.jsonl").read_bytes().splitlines()
    bad = sorted(p for p in MALFORMED.glob("*.jsonl"))
    big = json.loads(good[0])
    big["id"] = "big-one"
    big["body"] = " ".join([big["body"]] * (600_000 // len(big["body"]) + 1))
    lines = []
    for rnd in range(12):                  # 12 x (31 stories + bad lines) > 128 x 2
        for i, g in enumerate(good):
            rec = json.loads(g)
            if rnd % 3:                    # some rounds new ids: near and exact copies
                rec["id"] = f"{rec.get('id', 'noid')}-r{rnd}"
            lines.append(json.dumps(rec).encode())
            if i % 7 == 3:
                lines.append(bad[(rnd * 5 + i) % len(bad)].read_bytes().rstrip(b"\n"))
            if i == 5 and rnd in (1, 7):
                lines.append(json.dumps(big).encode())
            if i == 9:
                lines.append(b"")
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = {}
    for t in (0, 1, 2, 5):
        proc = run(["process", "-q", "--no-timestamps", "-o", f"pipeline.threads={t}", str(path)])
        out[t] = (proc.returncode, proc.stdout, proc.stderr)
    assert out[0][0] == EXIT_REJECTED
    assert len(records(out[0][1])) > 300 and len(rejects(out[0][2])) > 20
    for t in (1, 2, 5):
        assert out[t][0] == out[0][0], t
        assert out[t][2] == out[0][2], t          # the same reports, same order
        assert out[t][1] == out[0][1], t          # byte for byte


def test_crlf_and_missing_final_newline(tmp_path):
    good = (CORPUS / "stories.jsonl").read_bytes().splitlines()[:3]
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n".join(good))             # CRLF, no final newline
    proc = process([str(path)])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert len(records(proc.stdout)) == 3


def test_arbitrary_bytes_never_crash(tmp_path):
    """A deterministic pseudo-random mix of bytes and fragments of real
    stories: every line is either processed or rejected, never a crash."""
    import random
    rnd = random.Random(20240601)
    frags = (CORPUS / "stories.jsonl").read_bytes().splitlines()
    lines = []
    for _ in range(300):
        base = bytearray(rnd.choice(frags))
        for _ in range(rnd.randint(0, 8)):
            op = rnd.randint(0, 3)
            pos = rnd.randrange(len(base))
            if op == 0:
                base[pos] = rnd.randrange(256)
            elif op == 1:
                del base[pos:pos + rnd.randint(1, 50)]
            elif op == 2:
                base[pos:pos] = rnd.choice([b"\\ud800", b"\xc0\xaf", b'"', b"{", b"]", b"\\",
                                            b"\xe2\x80", b"\x00", b"\n\n"])
            else:
                base = base[:pos]
            if not base:
                base = bytearray(b"{")
        lines.append(bytes(base).replace(b"\n", b" "))
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    proc = process([str(path)])
    assert proc.returncode in (0, EXIT_REJECTED)
    n_out = len(records(proc.stdout))
    n_rej = len(rejects(proc.stderr))
    assert n_out + n_rej == sum(1 for l in lines if l.strip(b" \t\r"))


# --- wirestream check ----------------------------------------------------------


def test_check_default_config():
    proc = run(["check"])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout.startswith(b"ok: ")


def broken_config(tmp_path, edit):
    """Copies config/ to tmp_path and applies edit(conf_text, boiler_text)."""
    dst = tmp_path / "config"
    shutil.copytree(ROOT / "config", dst)
    conf, boiler = dst / "wirestream.conf", dst / "boilerplate.conf"
    new_conf, new_boiler = edit(conf.read_text(), boiler.read_text())
    conf.write_text(new_conf)
    boiler.write_text(new_boiler)
    return conf


def line_of(text, needle):
    return text.splitlines().index(needle) + 1


@pytest.mark.parametrize("case", ["unknown_key", "bad_value", "unknown_section", "missing_env",
                                  "bad_processor_value", "bad_boilerplate_regex",
                                  "bad_boilerplate_rule"])
def test_check_broken_config(tmp_path, case):
    env = {}
    expect = {}

    def edit(conf, boiler):
        if case == "unknown_key":
            conf = conf.replace("format = auto\n", "format = auto\ncolour = red\n", 1)
            expect["where"] = ("wirestream.conf", line_of(conf, "colour = red"))
            expect["words"] = ["colour"]
        elif case == "bad_value":
            conf = conf.replace("max_body_size = 1MiB", "max_body_size = lots", 1)
            expect["where"] = ("wirestream.conf", line_of(conf, "max_body_size = lots"))
            expect["words"] = ["max_body_size"]
        elif case == "unknown_section":
            conf += "\n[inputs]\nformat = json\n"
            expect["where"] = ("wirestream.conf", line_of(conf, "[inputs]"))
            expect["words"] = ["inputs"]
        elif case == "missing_env":
            env["WS_TEST_UNSET_SECRET"] = None
            conf = conf.replace("group_id = wirestream", "group_id = ${WS_TEST_UNSET_SECRET}", 1)
            expect["where"] = ("wirestream.conf", line_of(conf, "group_id = ${WS_TEST_UNSET_SECRET}"))
            expect["words"] = ["WS_TEST_UNSET_SECRET", "group_id"]
        elif case == "bad_processor_value":
            conf += "\n[processor.dedupe]\nthreshold = high\n"
            expect["where"] = ("wirestream.conf", line_of(conf, "threshold = high"))
            expect["words"] = ["threshold"]
        elif case == "bad_boilerplate_regex":
            boiler += "drop ^(unclosed group$\n"
            expect["where"] = ("boilerplate.conf", line_of(boiler, "drop ^(unclosed group$"))
            expect["words"] = ["bad pattern"]
        elif case == "bad_boilerplate_rule":
            boiler += "remove ^footer$\n"
            expect["where"] = ("boilerplate.conf", line_of(boiler, "remove ^footer$"))
            expect["words"] = ["drop REGEX"]
        return conf, boiler

    conf = broken_config(tmp_path, edit)
    proc = run(["check"], config=conf, env=env)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, err
    assert proc.stdout == b""
    fname, line = expect["where"]
    assert f"{fname}:{line}" in err, f"expected {fname}:{line} in: {err}"
    for w in expect["words"]:
        assert w in err, f"expected {w!r} in: {err}"
    # process refuses the same configuration before reading any input.
    proc = run(["process", "-q"], stdin=b"", config=conf, env=env)
    assert proc.returncode == 2
    assert proc.stdout == b""
