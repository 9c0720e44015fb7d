"""`wirestream run` with worker threads ([pipeline] threads) on a real broker.

Two runs read the same 1-partition input topic as it is written, one with
everything on the event loop thread (threads = 0), one with three worker
threads decoding and cleaning. Each writes to topics of its own. Every output topic must hold
the same records (apart from processed_at) for the same inputs, and each
output partition must keep the input order: the worker threads may finish
out of order, the outputs may not. The input mixes labelled stories,
synthetic ones of very different lengths, exact and near duplicates, plain
text and malformed messages, so every route is taken.
"""
import json
import time

import pytest

from test_run_kafka import (Inputs, Names, Run, create_topics, fixture_stories, read_topic,
                            source_of, synthetic, wait_accounted, wait_until)

pytestmark = pytest.mark.kafka


def inputs_for(tag):
    """(key, value) pairs: about 300 messages."""
    out = []
    stories = fixture_stories()
    for i, s in enumerate(stories):
        ref = "%s-f%d" % (tag, i)
        art = {"id": ref, "headline": s["headline"], "body": s["body"],
               "date": "2026-03-02T10:00:00Z", "source": "Test Wire"}
        out.append((ref, json.dumps(art)))
        if i % 5 == 0:      # the same story again under a new id: exact duplicate
            out.append((ref + "-copy", json.dumps(dict(art, id=ref + "-copy"))))
        if i % 7 == 0:      # an update: near duplicate
            upd = dict(art, id=ref + "-upd", body=art["body"] + " Officials gave no further "
                       "details on Wednesday and said a statement would follow.")
            out.append((ref + "-upd", json.dumps(upd)))
    for i in range(150):
        ref = "%s-s%d" % (tag, i)
        art = synthetic(ref, i)
        art["body"] = " ".join([art["body"]] * (1 + (i * 13) % 9))   # 1-9x as long
        out.append((ref, json.dumps(art)))
        if i % 25 == 3:
            out.append(("bad-%d" % i, '{"id": "bad-%d", "body": "cut' % i))
        if i % 30 == 11:
            out.append(("txt-%d" % i, " date 2026-03-04\nKYIV, March 4 (Text Wire) - Report "
                        "%d on the talks. Delegations met for a second day.\n" % i))
    # Every 8th message (the head of each burst, see below) is an article
    # about 100 KB long.
    for k in range(0, len(out), 8):
        ref = "%s-long%d" % (tag, k)
        art = synthetic(ref, 500 + k)
        art["body"] = " ".join([art["body"]] * 300)
        out.insert(k, (ref, json.dumps(art)))
    return out


def outputs_by_topic(b, names):
    """{topic role: {source offset: (output partition, output offset, record)}}."""
    roles = {"enriched": names.enriched, "dup": names.dup, "dead": names.dead}
    roles.update({t[len(names.prefix):]: t for t in names.streams})
    out = {}
    for role, topic in roles.items():
        got = {}
        for m in read_topic(b, topic):
            src = source_of(m)[2]
            assert src not in got, (role, src)       # once per topic
            if role == "dead":
                value = m["value"]
            else:
                rec = json.loads(m["value"])
                rec.get("pipeline", {}).pop("processed_at", None)
                value = rec
            got[src] = (m["partition"], m["offset"], value)
        out[role] = got
    return out


def assert_input_order(role, got):
    """Within each output partition, the source offsets only increase."""
    by_part = {}
    for src, (part, off, _) in got.items():
        by_part.setdefault(part, []).append((off, src))
    for part, pairs in by_part.items():
        srcs = [src for _, src in sorted(pairs)]
        assert srcs == sorted(srcs), (role, part)


def test_threads_give_the_same_outputs_in_input_order(broker):
    b = broker.bootstrap
    loop = Names("thr0")
    pool = Names("thr3")
    create_topics(b, loop, 1)
    pool.input = pool.base + ".unused"
    create_topics(b, pool, 1)
    pool.input = loop.input             # both read the same input

    # Both runs consume live: the input arrives in small bursts, each led by
    # a long article, so the worker threads are idle between bursts and the
    # short articles behind a long one finish first.
    runs = {0: Run(b, loop, "-o", "pipeline.threads=0"),
            3: Run(b, pool, "-o", "pipeline.threads=3")}
    try:
        py = Inputs(b, loop.input)
        probe = "%s-probe" % loop.base
        py.send(probe, json.dumps(synthetic(probe, 999)).encode(), key=probe.encode())
        py.flush()
        wait_until(lambda: read_topic(b, loop.enriched) and read_topic(b, pool.enriched),
                   "both runs consuming", runs=list(runs.values()))
        pairs = inputs_for(loop.base)
        for k, (key, value) in enumerate(pairs):
            py.send(key, value.encode(), key=key.encode())
            if k % 8 == 7:
                py.flush()
                time.sleep(0.03)
        py.flush()
        positions = {(loop.input, r["partition"], r["offset"]) for r in py.sent}
        assert len(positions) == len(pairs) + 1 > 250
        results = {}
        for threads, names in ((0, loop), (3, pool)):
            wait_accounted(b, names, positions, "threads=%d: every input out" % threads,
                           runs=[runs[threads]])
            assert runs[threads].stop() == 0, runs[threads].stderr()[-3000:]
            results[threads] = outputs_by_topic(b, names)
    finally:
        for r in runs.values():
            r.cleanup()

    one, many = results[0], results[3]
    assert len(one["enriched"]) > 200 and len(one["dup"]) > 10 and len(one["dead"]) == 6
    assert sum(len(one[t]) for t in ("war", "alliances", "diplomacy")) > 20
    for role in one:
        assert set(one[role]) == set(many[role]), role
        for src in one[role]:
            assert one[role][src][0] == many[role][src][0], (role, src)     # same partition
            assert one[role][src][2] == many[role][src][2], (role, src)     # same record
        assert_input_order(role, one[role])
        assert_input_order(role, many[role])
