"""The dedupe window survives a restart (issue #4 item 5): offline through
`process --state FILE`, on the real broker through the compacted changelog
topic. Each test also runs the control without the saved state, so that it
fails if the state were not what caught the duplicate."""
import json
import os
import subprocess

import pytest

import test_run_kafka as trk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("WIRESTREAM_BIN", os.path.join(ROOT, "wirestream"))
CONFIG = os.path.join(ROOT, "config", "wirestream.conf")

BODY = ("GENEVA, March 4 (Reuters) - Envoys from the two governments met for a third "
        "day of talks in Geneva on Tuesday, agreeing to exchange lists of detainees and "
        "to reopen a border crossing closed since the autumn, mediators said.\n\n"
        "The talks, hosted by the Swiss foreign ministry, are the first direct contact "
        "between the delegations in more than a year. A joint statement said working "
        "groups would meet again next month to discuss water rights along the river that "
        "forms part of the frontier.\n\n"
        "Neither side commented on the fate of two journalists held since January, which "
        "rights groups had urged the mediators to raise. A senior envoy told reporters the "
        "atmosphere had been businesslike and that a further round was likely before the "
        "summer recess of the regional parliament.")


def article(ident, body=BODY, date="2024-03-04T10:00:00Z"):
    return json.dumps({"id": ident, "headline": "Envoys agree detainee exchange in Geneva",
                       "body": body, "date": date})


def process(lines, *args):
    r = subprocess.run([BIN, "process", "-q", "--no-timestamps", "-c", CONFIG, *args],
                       input="\n".join(lines) + "\n", capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_process_state_file_catches_a_duplicate_after_restart(tmp_path):
    state = str(tmp_path / "dedupe.state")
    first = process([article("geneva-1")], "--state", state)
    assert first[0]["dedupe"]["status"] == "unique"
    assert os.path.getsize(state) > 16

    # A new process, the same story scraped again under another id.
    again = process([article("geneva-2", date="2024-03-04T11:30:00Z")], "--state", state)
    assert again[0]["dedupe"]["status"] == "duplicate"
    assert again[0]["dedupe"]["duplicate_of"] == "geneva-1"
    assert again[0]["dedupe"]["cluster"] == "geneva-1"

    # Control: without the state the same input is new.
    control = process([article("geneva-2", date="2024-03-04T11:30:00Z")])
    assert control[0]["dedupe"]["status"] == "unique"


@pytest.mark.kafka
def test_run_changelog_catches_a_duplicate_after_restart(broker):
    b = broker.bootstrap
    n = trk.Names("drst")
    trk.create_topics(b, n, 1)

    trk.produce_kcat(b, n.input, [("geneva-1", article("geneva-1"))])
    run = trk.Run(b, n)
    try:
        trk.wait_until(lambda: any(m["key"] == b"geneva-1" for m in trk.read_topic(b, n.enriched)),
                       "the first article enriched", runs=[run])
        assert run.stop() == 0, run.stderr()[-3000:]
    finally:
        run.cleanup()
    assert trk.read_topic(b, n.state), "no changelog written"

    # A new process: it reads the changelog back before consuming.
    trk.produce_kcat(b, n.input, [("geneva-2", article("geneva-2", date="2024-03-04T11:30:00Z"))])
    run = trk.Run(b, n)
    try:
        trk.wait_until(lambda: any(m["key"] == b"geneva-1" and
                                   json.loads(m["value"])["id"] == "geneva-2"
                                   for m in trk.read_topic(b, n.dup)),
                       "the copy on the duplicates topic", runs=[run])
        assert run.stop() == 0, run.stderr()[-3000:]
        assert "restored" in run.stderr()
    finally:
        run.cleanup()
    dup = [json.loads(m["value"]) for m in trk.read_topic(b, n.dup)]
    assert [(d["id"], d["dedupe"]["status"], d["dedupe"]["duplicate_of"]) for d in dup] == \
        [("geneva-2", "duplicate", "geneva-1")]
    # The exact copy stays out of the enriched topic.
    assert [m["key"] for m in trk.read_topic(b, n.enriched)] == [b"geneva-1"]

    # Control: a fresh state topic (nothing restored) makes the copy new.
    m = trk.Names("drst-control")
    trk.create_topics(b, m, 1)
    trk.produce_kcat(b, m.input, [("geneva-2", article("geneva-2", date="2024-03-04T11:30:00Z"))])
    run = trk.Run(b, m)
    try:
        trk.wait_until(lambda: trk.read_topic(b, m.enriched), "the control article", runs=[run])
        assert run.stop() == 0, run.stderr()[-3000:]
    finally:
        run.cleanup()
    rec = json.loads(trk.read_topic(b, m.enriched)[0]["value"])
    assert rec["dedupe"]["status"] == "unique"
