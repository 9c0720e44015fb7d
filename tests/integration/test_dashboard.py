"""The observability endpoint of `wirestream run` end to end, on the embedded
broker: /healthz, /readyz, exact /metrics counts after a known input, /stats,
the periodic statistics line, and the live dashboard in headless Chromium
(stories appear; a headline full of markup is shown as text and runs
nothing).

Stories are produced with kcat to the bootstrap address `run` prints; every
message carries the same key so they share a partition and keep their order
(the duplicate arrives after its original).
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
import urllib.error
import urllib.request

import pytest

import chromium

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("WIRESTREAM_BIN", os.path.join(ROOT, "build", "wirestream"))
DEADLINE = 60.0

HOSTILE = ('<script>window.__pwned=1;document.title="pwned"</script>'
           '<img src=x onerror="window.__pwned=2;document.title=\'pwned\'">'
           '<b id="pwned">bold</b> Harbour officials in Gdansk report record grain exports')

STORIES = [
    {"id": "dash-1", "source": "Test Wire", "date": "2026-03-04T08:00:00Z",
     "headline": "Rail strike halts freight across northern France",
     "body": "LILLE, March 4 (Test Wire) - A national rail strike stopped freight trains "
             "across northern France on Wednesday, leaving containers stranded at the port "
             "of Dunkirk. Union leaders said the walkout over pension rules would last two "
             "days. The transport ministry urged both sides to return to talks."},
    {"id": "dash-2", "source": "Test Wire", "date": "2026-03-04T09:00:00Z",
     "headline": "Drought cuts coffee harvest in southern Brazil",
     "body": "SAO PAULO, March 4 (Test Wire) - A long dry spell has reduced the coffee "
             "harvest in Minas Gerais by roughly a fifth, growers said on Wednesday. "
             "Exporters expect prices to rise through the spring as stocks run low and "
             "cooperatives delay shipments to Europe."},
    {"id": "dash-3", "source": "Test Wire", "date": "2026-03-04T10:00:00Z",
     "headline": "Shelling kills four in Kharkiv as fighting intensifies",
     "body": "KHARKIV, Ukraine, March 4 (Test Wire) - Russian artillery shelled residential "
             "districts of Kharkiv overnight, killing four civilians, the regional governor "
             "said on Wednesday. Ukraine's armed forces said troops repelled several assaults "
             "near the front line and shot down drones launched at the city. The military "
             "said heavy fighting continued along the border with Russia."},
    {"id": "dash-4", "source": "Test Wire", "date": "2026-03-04T11:00:00Z",
     "headline": "City council in Porto approves new tram line",
     "body": "PORTO, Portugal, March 4 (Test Wire) - Porto's city council approved plans "
             "for a new tram line linking the old town with the airport. Construction is "
             "due to start next year and the line should carry forty thousand passengers "
             "a day once it opens, the mayor's office said."},
    {"id": "dash-5", "source": "Test Wire", "date": "2026-03-04T12:00:00Z",
     "headline": HOSTILE,
     "body": "GDANSK, Poland, March 4 (Test Wire) - Harbour officials in Gdansk said grain "
             "exports reached a monthly record in February as shipping companies added "
             "vessels on Baltic routes. Terminal operators are hiring extra crews to load "
             "bulk carriers around the clock."},
]
# Same text as dash-1 under another id and outlet: an exact duplicate.
DUPLICATE = dict(STORIES[0], id="dash-6", source="Other Wire")
BAD = ["{broken json", "{}"]               # invalid_json, missing_body
N_MESSAGES = len(STORIES) + 1 + len(BAD)


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def wait_for(cond, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def metric(text, name, labels=None):
    """The value of one sample in Prometheus text, or 0 when absent."""
    want = name + ("{" + labels + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split(" ")[-1])
    return 0.0


class Run:
    """`wirestream run` on the embedded broker with an HTTP port of its own."""

    def __init__(self, *extra):
        self.tmp = tempfile.mkdtemp(prefix="ws-dash-")
        self.err_path = os.path.join(self.tmp, "stderr.log")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "run", "-o", "kafka.brokers=embedded", "-o", "http.enabled=true",
             "-o", "http.port=0", "-o", "log.stats_interval=1s",
             "-X", "statistics.interval.ms=500", *extra],
            stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=self.tmp)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.bootstrap = self._find(r"^embedded broker: (\S+)")
        self.url = self._find(r"^dashboard: (http://\S+/)")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _find(self, pattern):
        def look():
            if self.proc.poll() is not None:
                raise AssertionError("run exited %s: %s" % (self.proc.returncode, self.stderr()))
            for line in self.lines:
                m = re.match(pattern, line)
                if m:
                    return m.group(1)
            return None
        return wait_for(look, pattern)

    def stderr(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def produce(self, messages):
        """Produces with kcat, one message per line, all with the key 'wire'."""
        path = os.path.join(self.tmp, "in.txt")
        with open(path, "w") as f:
            for m in messages:
                f.write("wire|" + m + "\n")
        subprocess.run(["kcat", "-P", "-b", self.bootstrap, "-t", "news.raw", "-K", "|",
                        "-l", path], check=True, timeout=60)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.proc.returncode


needs_kcat = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")


@pytest.fixture(scope="module")
def run():
    r = Run()
    yield r
    rc = r.stop()
    assert rc == 0, "run did not shut down cleanly"


@pytest.fixture(scope="module")
def browser():
    if not chromium.available():
        pytest.skip("chromium and chromium-driver not installed (scripts/install-deps.sh --test)")
    with chromium.Chromium() as b:
        yield b


def ready(run):
    return http_get(run.url + "readyz")[0] == 200


@needs_kcat
def test_health_and_readiness(run):
    status, _, body = http_get(run.url + "healthz")
    assert (status, body) == (200, "ok\n")
    wait_for(lambda: ready(run), "/readyz 200")
    status, headers, body = http_get(run.url + "readyz")
    assert body == "ready\n"
    assert "script-src 'self'" in headers["Content-Security-Policy"]


@needs_kcat
def test_dashboard_shows_stories_as_text(run, browser):
    # The page is open before the stories exist: they arrive over SSE.
    browser.get(run.url)
    browser.wait(lambda b: b.js("return document.getElementById('conn').textContent") == "live",
                 what="the event stream to open")
    wait_for(lambda: ready(run), "/readyz 200")
    run.produce([json.dumps(s) for s in STORIES] + [json.dumps(DUPLICATE)] + BAD)

    ids = [s["id"] for s in STORIES] + [DUPLICATE["id"]]
    shown = browser.wait(
        lambda b: b.js("return Array.from(document.querySelectorAll('.story'))"
                       ".map(e => e.getAttribute('data-id'))"),
        what="stories on the page")
    browser.wait(lambda b: set(ids) <= set(b.js(
        "return Array.from(document.querySelectorAll('.story')).map(e => e.dataset.id)")),
        what="all %d stories on the page (had %r)" % (len(ids), shown))

    headlines = browser.js("return Object.fromEntries(Array.from("
                           "document.querySelectorAll('.story')).map(e => "
                           "[e.dataset.id, e.querySelector('.headline').firstChild.textContent]))")
    for s in STORIES:
        assert headlines[s["id"]] == s["headline"]

    # The hostile headline is text: no script ran, no element was created.
    assert browser.title() == "wirestream dashboard"
    assert browser.js("return typeof window.__pwned") == "undefined"
    assert browser.js("return document.getElementById('pwned')") is None
    assert browser.js("return document.querySelectorAll('.story img, .story script, "
                      ".story b').length") == 0

    # The duplicate carries its badge and the story's outlet count.
    dup = browser.js("const e = document.querySelector('.story[data-id=\"dash-6\"]');"
                     "return {dedupe: e.dataset.dedupe, badges: Array.from("
                     "e.querySelectorAll('.badge')).map(b => b.textContent)}")
    assert dup["dedupe"] == "duplicate"
    assert "2 outlets" in dup["badges"]
    orig = browser.js("return document.querySelector('.story[data-id=\"dash-1\"]')"
                      ".dataset.dedupe")
    assert orig == "unique"

    # Stats events fill the side panels (entities from the gazetteer).
    browser.wait(lambda b: b.js("return document.getElementById('t-in').textContent")
                 == str(N_MESSAGES), what="the stats event to count every input")
    if os.environ.get("WS_SCREENSHOT"):
        browser.screenshot(os.environ["WS_SCREENSHOT"])


@needs_kcat
def test_metrics_exact_counts(run):
    # Runs after the dashboard test produced the known input (or produces it).
    text = http_get(run.url + "metrics")[2]
    if metric(text, "wirestream_records_in_total", 'topic="news.raw"') == 0:
        wait_for(lambda: ready(run), "/readyz 200")
        run.produce([json.dumps(s) for s in STORIES] + [json.dumps(DUPLICATE)] + BAD)

    def settled():
        t = http_get(run.url + "metrics")[2]
        done = metric(t, "wirestream_processing_latency_seconds_count") == N_MESSAGES
        return t if done else None
    text = wait_for(settled, "every input delivered")

    assert metric(text, "wirestream_records_in_total", 'topic="news.raw"') == N_MESSAGES
    assert metric(text, "wirestream_rejects_total", 'reason="invalid_json"') == 1
    assert metric(text, "wirestream_rejects_total", 'reason="missing_body"') == 1
    assert metric(text, "wirestream_dedupe_total", 'status="unique"') == len(STORIES)
    assert metric(text, "wirestream_dedupe_total", 'status="duplicate"') == 1
    assert metric(text, "wirestream_records_out_total", 'topic="news.enriched"') == len(STORIES)
    # [processor.dedupe] drop_exact (the default): the exact duplicate is kept
    # out of the enriched topics and published to the duplicates topic only
    assert metric(text, "wirestream_records_out_total", 'topic="news.duplicates"') == 1
    assert metric(text, "wirestream_records_out_total", 'topic="news.deadletter"') == 2
    # every classification of a unique story was routed to its topic stream
    classified = sum(float(v) for v in re.findall(
        r'^wirestream_classified_total\{topic="[^"]*"\} (\S+)$', text, re.M))
    routed = sum(float(v) for v in re.findall(
        r'^wirestream_records_out_total\{topic="news\.topic\.[^"]*"\} (\S+)$', text, re.M))
    assert classified >= 1
    assert routed == classified
    assert metric(text, "wirestream_delivery_failures_total") == 0
    assert metric(text, "wirestream_ready") == 1
    assert "# TYPE wirestream_processing_latency_seconds histogram" in text
    # librdkafka's statistics: every assigned partition, nothing left waiting
    def caught_up():
        t = http_get(run.url + "metrics")[2]
        lags = re.findall(r'^wirestream_consumer_lag\{topic="news.raw",partition="(\d+)"\} (\d+)$',
                          t, re.M)
        return len(lags) == 3 and all(v == "0" for _, v in lags)
    wait_for(caught_up, "consumer lag 0 on the 3 partitions of news.raw")

    stats = json.loads(http_get(run.url + "stats")[2])
    assert stats["ready"] is True
    assert stats["metrics"]["records_in"]["total"] == N_MESSAGES
    assert stats["pipeline"]["pipeline"]["consumed"] == N_MESSAGES
    # Every decoded input went through each processor once; clean runs on
    # the worker threads' copies ([pipeline] threads), whose counters add up.
    procs = stats["pipeline"]["processors"]
    assert procs["clean"]["records"] == N_MESSAGES - len(BAD)
    assert procs["dedupe"]["records"] == N_MESSAGES - len(BAD)
    assert procs["topics"]["records"] == len(STORIES)
    names = [e["name"] for e in stats["metrics"]["top_entities"]]
    assert names, "no entity in the recent window"

    # the periodic statistics line reports the same totals
    wait_for(lambda: re.search(r"stats: in %d \(" % N_MESSAGES, run.stderr()),
             "a stats line with every input")


@needs_kcat
def test_endpoint_survives_bad_clients(run):
    import socket
    host, port = re.match(r"http://([^:/]+):(\d+)/", run.url).groups()
    for payload in [b"garbage\r\n\r\n", bytes(range(256)) * 8,
                    b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n",
                    b"BREW /healthz HTCPCP/1.0\r\n\r\n"]:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            try:
                s.sendall(payload)
                s.recv(4096)
            except OSError:
                pass        # the server may reset a connection it refused
    assert http_get(run.url + "healthz")[0] == 200


@needs_kcat
def test_quiet_has_no_stats_line():
    r = Run("-q")
    try:
        wait_for(lambda: ready(r), "/readyz 200")
        # two stats intervals pass with the pipeline ready
        t0 = time.monotonic()
        wait_for(lambda: time.monotonic() - t0 > 2.5, "two stats intervals")
        assert "stats:" not in r.stderr()
    finally:
        assert r.stop() == 0
