#!/usr/bin/env python3
"""Stable projection of wirestream output records for the golden files.

Keeps what the foundation decides (id, headline, body, date, dateline,
agency, source) and a summary of what the processors decide (dedupe status,
sorted entity names, sorted topic names), so that tuning a score does not
churn the goldens while a changed decision still shows up in the diff.

    wirestream process ... | python3 tests/golden/project.py > golden.jsonl
"""
import json
import sys


def project(rec):
    return {
        "id": rec["id"],
        "headline": rec["headline"],
        "body": rec["body"],
        "date": rec["date"],
        "dateline": rec["dateline"],
        "agency": rec["agency"],
        "source": rec["source"],
        "dedupe": rec["dedupe"]["status"],
        "entities": sorted({e["name"] for e in rec["entities"]}),
        "topics": sorted(t["name"] for t in rec["topics"]),
    }


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def main():
    for line in sys.stdin:
        if line.strip():
            print(dumps(project(json.loads(line))))


if __name__ == "__main__":
    main()
