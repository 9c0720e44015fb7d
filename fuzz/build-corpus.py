#!/usr/bin/env python3
"""fuzz/build-corpus.py - builds the seed corpus of every fuzz target.

    python3 fuzz/build-corpus.py OUT_DIR

Writes OUT_DIR/<target>/<name> files, one input each, from the project's
own fixtures and data files (articles, JSON lines, gazetteer and taxonomy
files, configuration), the bad-input fixtures when they exist, and every
saved regression input (fuzz/regressions/<target>/). Rebuilt from scratch
on each run, so a fixture change reaches the fuzzers at once. Deterministic:
no randomness, the same tree gives the same corpus.
"""
import glob
import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["decode", "clean", "entities", "gazetteer", "taxonomy", "conf", "state"]
MAX_PER_SOURCE = 150        # inputs taken from one fixture file
MAX_SEED = 64 * 1024        # libFuzzer mutates small inputs faster


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def files(pattern):
    return sorted(glob.glob(os.path.join(ROOT, pattern)))


def jsonl_lines(path):
    out = []
    for line in read(path).split(b"\n"):
        if line.strip():
            out.append(line)
    return out[:MAX_PER_SOURCE]


def entity_articles():
    """Bodies (with headline) of tests/fixtures/entities/articles.txt."""
    out, cur, body = [], [], False
    path = "tests/fixtures/entities/articles.txt"
    if not os.path.exists(os.path.join(ROOT, path)):
        return out
    for line in read(path).decode("utf-8").split("\n"):
        if line.startswith("### "):
            if cur:
                out.append("\n".join(cur).strip().encode())
            cur, body = [], False
        elif line.startswith("H: "):
            cur.append(line[3:])
            cur.append("")
        elif line.startswith("B:"):
            body = True
        elif body:
            cur.append(line)
    if cur:
        out.append("\n".join(cur).strip().encode())
    return out[:MAX_PER_SOURCE]


def topic_stories():
    """Stories of tests/fixtures/topics/*.txt ("=== ID | LABELS" blocks)."""
    out = []
    for path in files("tests/fixtures/topics/*.txt"):
        cur = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("==="):
                    if cur:
                        out.append("".join(cur).strip().encode())
                    cur = []
                elif cur is not None:
                    cur.append(line)
        if cur:
            out.append("".join(cur).strip().encode())
    return out[:MAX_PER_SOURCE]


def as_json(texts):
    return [json.dumps({"id": "seed-%d" % i, "headline": t.split(b"\n")[0].decode(),
                        "body": t.decode(), "date": "2026-03-02T06:10:00Z"}).encode()
            for i, t in enumerate(texts[:40])]


def small_bad_inputs():
    """Hand-written edge cases: each exercises one decoder branch."""
    return [
        b"", b"{", b"[]", b"\"x\"", b"null", b"{}", b"{\"body\": 1}",
        b"{\"body\": \"\"}", b"{\"body\": \"   \"}", b"{\"body\": \"x\", \"date\": \"2026-02-30\"}",
        b"{\"body\": \"x\", \"date\": \"2026-03-02T25:00:00Z\"}",
        b"{\"body\": \"\\ud800\"}", b"{\"body\": \"a\\u0000b\"}", b"{\"body\": \"x\", \"body\": \"y\"}",
        b"{\"body\": \"x\", \"extra\": {\"a\": [1, 2, {\"b\": null}]}}",
        b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x00b",
        b"date 2026-03-02 KYIV, March 2 (Reuters) - Text.",
        b"KYIV, March 2 (Reuters) - Ukraine said. \xe2\x80\x94 AP",
        b"[" * 64 + b"]" * 64,
    ]


def collect():
    seeds = {t: [] for t in TARGETS}
    jsonl = []
    for path in ["config/demo/stories.jsonl", "tests/fixtures/dedupe/corpus.jsonl"]:
        if os.path.exists(os.path.join(ROOT, path)):
            jsonl += jsonl_lines(path)
    texts = entity_articles() + topic_stories()
    malformed = [read(os.path.relpath(p, ROOT)) for p in files("tests/fixtures/malformed/*")
                 if os.path.isfile(p)]
    articles = jsonl + texts + as_json(texts) + malformed + small_bad_inputs()
    seeds["decode"] = articles
    seeds["clean"] = articles
    seeds["entities"] = texts + [b"NATO", b"al-Qaeda's", b"Zelenskyy's"]
    seeds["gazetteer"] = [read(os.path.relpath(p, ROOT)) for p in files("config/gazetteer/*.gaz")]
    seeds["taxonomy"] = [read(os.path.relpath(p, ROOT)) for p in files("config/taxonomy.conf")
                         + files("tests/fixtures/topics/*.conf")]
    seeds["conf"] = [read(os.path.relpath(p, ROOT)) for p in files("config/*.conf")] + [
        b"[processor.dedupe]\nwindow = 72h\n", b"[input]\nmax_body_size = 1MiB\n",
        b"[log]\nlevel = ${HOME}\n", b"pipeline.processors=clean",
    ]
    for t in TARGETS:
        seeds[t] += [read(os.path.relpath(p, ROOT))
                     for p in files("fuzz/regressions/%s/*" % t) if os.path.isfile(p)]
    return seeds


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    total = 0
    for target, inputs in collect().items():
        d = os.path.join(out, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for data in inputs:
            data = data[:MAX_SEED]
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        total += len(os.listdir(d))
    print("fuzz/build-corpus.py: %d seed inputs in %s" % (total, out))


if __name__ == "__main__":
    main()
