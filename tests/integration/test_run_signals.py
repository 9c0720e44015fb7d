"""`wirestream run` signals on the embedded broker (no Kafka installation):
SIGHUP reloads the taxonomy and gazetteers without stopping, a broken file
keeps the old data and says why, SIGTERM drains and exits 0.

Stories go in and out with kcat through the address `run` prints. Waits poll
a condition until a deadline.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("WIRESTREAM_BIN", os.path.join(ROOT, "build", "wirestream"))
DEADLINE = 60.0

pytestmark = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")

WAR = {"id": "sig-1", "headline": "Artillery duel along the front kills five soldiers",
       "body": "DONETSK, March 9 (Test Wire) - Artillery fire killed five soldiers and "
               "wounded twelve as fighting intensified along the front line overnight, the "
               "military said on Monday. Shelling also damaged a power station."}

WAR2 = {"id": "sig-2", "headline": "Drone strikes hit fuel depot as rebels shell border town",
        "body": "GOMA, Congo, March 10 (Test Wire) - Rebel fighters shelled a border town and "
                "armed drones struck a fuel depot on Tuesday, killing three civilians, local "
                "officials said. The army said its troops had repelled an attack on the airport "
                "road and that fighting continued near the lake shore."}


def wait_until(cond, what, proc=None, timeout=DEADLINE, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("run exited (%s) while waiting for %s" % (proc.returncode, what))
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def consume(bootstrap, topic):
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q"],
                         capture_output=True, text=True, timeout=30)
    return [line for line in out.stdout.splitlines() if line.strip()]


def test_sighup_reload_and_sigterm():
    tmp = tempfile.mkdtemp(prefix="ws-sig-")
    conf_dir = os.path.join(tmp, "config")
    shutil.copytree(os.path.join(ROOT, "config"), conf_dir)
    taxonomy = os.path.join(conf_dir, "taxonomy.conf")
    good = open(taxonomy).read()
    err_path = os.path.join(tmp, "stderr.log")
    lines = []
    with open(err_path, "w") as err:
        proc = subprocess.Popen([BIN, "run", "-c", os.path.join(conf_dir, "wirestream.conf"),
                                 "-o", "http.enabled=false", "-o", "log.stats_interval=0"],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=tmp)
        threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout],
                         daemon=True).start()

        def log():
            with open(err_path, errors="replace") as f:
                return f.read()
        try:
            bootstrap = wait_until(lambda: next((m.group(1) for m in (
                re.match(r"embedded broker: (\S+)", x) for x in lines) if m), None),
                "the embedded broker address", proc)

            def send(story):
                subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "news.raw", "-k", "k"],
                               input=json.dumps(story), text=True, check=True, timeout=30)

            send(WAR)
            first = wait_until(lambda: consume(bootstrap, "news.topic.war"),
                               "the first story in news.topic.war", proc)
            assert json.loads(first[0])["id"] == "sig-1"

            # A broken taxonomy: SIGHUP keeps the old one and says why.
            with open(taxonomy, "w") as f:
                f.write("[topic war]\nthis line is not a rule\n")
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "reload failed, the old data stays in use" in log(),
                       "the failed reload to be logged", proc)
            assert "taxonomy.conf" in log()
            # Still running with the old data: a war story is still routed.
            send(WAR2)
            wait_until(lambda: len(consume(bootstrap, "news.enriched")) >= 2,
                       "the second story after the failed reload", proc)
            ids = [json.loads(x)["id"] for x in consume(bootstrap, "news.topic.war")]
            assert "sig-2" in ids, ids

            # Fixed again, with a new boilerplate rule: SIGHUP reloads. clean
            # runs on the worker thread's copy ([pipeline] threads = 1), which
            # must pick the rule up too.
            with open(taxonomy, "w") as f:
                f.write(good)
            line = "Brought to you by the reload test desk"
            story = dict(WAR2, id="sig-3", body=WAR2["body"] + "\n\n" + line)
            send(story)
            wait_until(lambda: len(consume(bootstrap, "news.enriched")) >= 3,
                       "the third story before the boilerplate reload", proc)
            before = [json.loads(x) for x in consume(bootstrap, "news.enriched")]
            assert line in [r for r in before if r["id"] == "sig-3"][0]["body"]
            with open(os.path.join(conf_dir, "boilerplate.conf"), "a") as f:
                f.write("\ndrop ^brought to you by the reload test desk$\n")
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "reloaded the processors' data files" in log(),
                       "the successful reload", proc)
            # Cleaned, sig-4 is sig-2 again: an exact duplicate, so it goes
            # to the duplicates topic only.
            send(dict(story, id="sig-4"))

            def fourth():
                recs = [json.loads(x) for t in ("news.enriched", "news.duplicates")
                        for x in consume(bootstrap, t)]
                return [r for r in recs if r["id"] == "sig-4"]
            after = wait_until(fourth, "the fourth story after the boilerplate reload", proc)
            assert line not in after[0]["body"]
            assert after[0]["dedupe"]["status"] == "duplicate"

            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = open(err_path, errors="replace").read()
    shutil.rmtree(tmp, ignore_errors=True)
    assert rc == 0, text[-3000:]
    assert "clean shutdown" in text


def sigterm_blocked(pid):
    """True once the process blocks SIGTERM (cmd_run's first step)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_sigterm_during_startup_is_a_clean_stop():
    # Loading the data files and starting the embedded broker take a while;
    # a SIGTERM in that window used to kill the process (status -15).
    tmp = tempfile.mkdtemp(prefix="ws-sig-")
    err_path = os.path.join(tmp, "stderr.log")
    try:
        with open(err_path, "w") as err:
            proc = subprocess.Popen([BIN, "run", "-c", os.path.join(ROOT, "config",
                                                                     "wirestream.conf"),
                                     "-o", "http.enabled=false"],
                                    stdout=subprocess.DEVNULL, stderr=err, cwd=tmp)
            try:
                # The window lasts as long as the data files take to load;
                # poll tightly so the signal lands inside it.
                wait_until(lambda: sigterm_blocked(proc.pid), "run to block SIGTERM", proc,
                           interval=0.001)
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        text = open(err_path, errors="replace").read()
        assert rc == 0, text[-3000:]
        assert "clean shutdown" in text
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
