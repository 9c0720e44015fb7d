"""Security: credentials reach librdkafka and nothing else.

- SASL settings pass through -X / [librdkafka] to librdkafka: against the
  harness broker's SASL listener the right credentials deliver, wrong ones
  make `wirestream ingest` exit non-zero with librdkafka's authentication
  error on stderr (kafka tests).
- A password never appears on stdout, stderr (even with -v and librdkafka
  debug logging), in /stats, /metrics or the dashboard, nor in the error of
  a broken configuration (offline).
- The HTTP endpoint listens on loopback unless configured otherwise.

docs/security.md documents the settings these tests exercise.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kafka_util as ku  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("WIRESTREAM_BIN", "./wirestream")
if not os.path.isabs(BIN):
    BIN = str(ROOT / BIN)
STORIES = ROOT / "config" / "demo" / "stories.jsonl"

# Distinctive enough that a substring match cannot be a coincidence.
SECRET = "Wz9-sekret-Q4r7-never-print-me"


def ws(args, timeout=60, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.pop("WIRESTREAM_CONFIG", None)
    full_env.update(env or {})
    res = subprocess.run([BIN] + args, capture_output=True, timeout=timeout, env=full_env,
                         cwd=cwd or ROOT)
    assert 0 <= res.returncode < 128, res.stderr.decode(errors="replace")[-3000:]
    return res


def assert_no_secret(*outputs, secret=SECRET):
    for out in outputs:
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        assert secret not in text, "secret leaked:\n" + text[-3000:]


def sasl_args(mechanism, user, password):
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={mechanism}",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]


# ------------------------------------------------------------ offline: config errors

def write_conf(tmp_path, text):
    """The default configuration with `text` appended."""
    base = (ROOT / "config" / "wirestream.conf").read_text()
    path = tmp_path / "wirestream.conf"
    # Relative data paths must still resolve: keep the file beside the data.
    path.write_text(base.replace("boilerplate = boilerplate.conf",
                                 f"boilerplate = {ROOT / 'config' / 'boilerplate.conf'}")
                    + "\n" + text + "\n")
    return path


CONF_CASES = {
    # A password under a section nobody reads.
    "unknown_section": "[librdkafka.consumr]\nsasl.password = " + SECRET,
    # Under a known section that has no such key.
    "unknown_key": "[kafka]\nsasl.password = " + SECRET,
    # A misspelt librdkafka property carrying the secret.
    "bad_property": "[librdkafka]\nsasl.pasword = " + SECRET,
    # A valid password beside an invalid librdkafka value.
    "bad_neighbour": "[librdkafka]\nsasl.password = " + SECRET + "\nsasl.mechanisms = BOGUS",
    # The secret as the value of a typed key.
    "typed_value": "[kafka]\nbatch_size = " + SECRET,
}


@pytest.mark.parametrize("case", sorted(CONF_CASES))
def test_config_errors_do_not_print_values(tmp_path, case):
    conf = write_conf(tmp_path, CONF_CASES[case])
    for cmd in (["check", "-c", str(conf)],
                ["ingest", "-c", str(conf), "-b", "127.0.0.1:9", "-X",
                 "message.timeout.ms=500", str(STORIES)]):
        res = ws(cmd)
        assert res.returncode != 0, (cmd, res.stderr)
        assert res.stderr.strip(), "a broken configuration must say why"
        assert_no_secret(res.stdout, res.stderr)


@pytest.mark.parametrize("arg", [
    f"librdkafka.sasl.pasword={SECRET}",            # misspelt property via -o
    f"sasl.password={SECRET}",                      # section forgotten
    f"kafka.sasl_password={SECRET}",                # unknown key
])
def test_override_errors_do_not_print_values(arg):
    res = ws(["ingest", "-o", arg, "-b", "127.0.0.1:9", "-X", "message.timeout.ms=500",
              str(STORIES)])
    assert res.returncode != 0
    assert res.stderr.strip()
    assert_no_secret(res.stdout, res.stderr)


def test_environment_reference_keeps_secret_out_of_errors(tmp_path):
    """${NAME} keeps the password out of the file; a missing variable names
    the variable, a present one is used without being echoed."""
    conf = write_conf(tmp_path, "[librdkafka]\nsasl.password = ${WS_TEST_SASL_PASSWORD}\n"
                                "sasl.mechanisms = BOGUS")
    res = ws(["check", "-c", str(conf)], env={"WS_TEST_SASL_PASSWORD": SECRET})
    assert_no_secret(res.stdout, res.stderr)
    env = dict(os.environ)
    env.pop("WS_TEST_SASL_PASSWORD", None)
    res = subprocess.run([BIN, "check", "-c", str(conf)], capture_output=True, timeout=60,
                         env=env, cwd=ROOT)
    assert res.returncode != 0
    assert b"WS_TEST_SASL_PASSWORD" in res.stderr, res.stderr


def test_librdkafka_debug_log_redacts_password():
    """-v and librdkafka's own debug output (which dumps the client
    configuration) still never show the password."""
    res = ws(["ingest", "-v", "-b", "127.0.0.1:9", "-X", "debug=conf,security,broker",
              "-X", "message.timeout.ms=1000", *sasl_args("PLAIN", "alice", SECRET),
              str(STORIES)])
    assert res.returncode != 0
    err = res.stderr.decode(errors="replace")
    # The configuration dump is there, with the password redacted.
    assert "sasl.password" in err and "[redacted]" in err, err[-3000:]
    assert_no_secret(res.stdout, err)


# ------------------------------------------------------------ offline: HTTP endpoint

class EmbeddedRun:
    """`wirestream run` on its embedded broker with the HTTP endpoint on a
    free port; extra arguments carry the credentials under test."""

    def __init__(self, *extra):
        self.tmp = tempfile.mkdtemp(prefix="ws-sec-")
        self.err_path = os.path.join(self.tmp, "stderr.log")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "run", "-v", "-o", "kafka.brokers=embedded", "-o", "http.enabled=true",
             "-o", "http.port=0", "-o", "log.stats_interval=1s", *extra],
            stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=self.tmp)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._find(r"^dashboard: (http://\S+/)")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _find(self, pattern):
        def look():
            if self.proc.poll() is not None:
                raise AssertionError(f"run exited {self.proc.returncode}: {self.stderr()}")
            for line in self.lines:
                m = re.match(pattern, line)
                if m:
                    return m.group(1)
            return None
        return ku.wait_for(look, timeout=60, what=pattern)

    def stderr(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        text = open(self.err_path).read()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.proc.returncode, text


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:       # /readyz answers 503 while not ready
        return e.code, e.read()


def listening_addresses(pid):
    """(ip, port) of the TCP sockets the process listens on (/proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    out = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        if not os.path.exists(table):
            continue
        for line in open(table).read().splitlines()[1:]:
            f = line.split()
            if f[3] != "0A" or f[9] not in inodes:      # 0A = LISTEN
                continue
            ip_hex, port_hex = f[1].split(":")
            if v6:
                ip = "v6:" + ip_hex
            else:
                ip = ".".join(str(int(ip_hex[i:i + 2], 16)) for i in (6, 4, 2, 0))
            out.append((ip, int(port_hex, 16)))
    return out


def test_http_binds_loopback_and_never_shows_credentials():
    run = EmbeddedRun("-X", "sasl.username=alice", "-X", f"sasl.password={SECRET}")
    try:
        port = int(re.search(r":(\d+)/$", run.url).group(1))
        assert run.url.startswith("http://127.0.0.1:"), run.url
        addrs = [a for a in listening_addresses(run.proc.pid) if a[1] == port]
        assert addrs == [("127.0.0.1", port)], addrs
        bodies = []
        for path in ("", "stats", "metrics", "healthz", "readyz"):
            status, body = get(run.url + path)
            assert status in (200, 503), (path, status)
            bodies.append(body)
        stats = json.loads(bodies[1])
        assert isinstance(stats, dict) and stats
        assert_no_secret(*bodies)
    finally:
        rc, err = run.stop()
    assert rc == 0, err[-3000:]
    assert_no_secret(err, "\n".join(run.lines))


def test_http_listen_address_is_configurable():
    """Binding elsewhere is an explicit choice ([http] listen)."""
    run = EmbeddedRun("-o", "http.listen=0.0.0.0")
    try:
        port = int(re.search(r":(\d+)/$", run.url).group(1))
        addrs = [a for a in listening_addresses(run.proc.pid) if a[1] == port]
        assert addrs == [("0.0.0.0", port)], addrs
    finally:
        rc, err = run.stop()
    assert rc == 0, err[-3000:]


# ------------------------------------------------------------ real broker: SASL

@pytest.fixture
def sasl_broker(broker):
    if not broker.sasl_bootstrap:
        pytest.skip("external broker without WS_KAFKA_SASL_BOOTSTRAP")
    return broker


def two_stories(tmp_path):
    lines = STORIES.read_bytes().splitlines()[:2]
    path = tmp_path / "two.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def ingest(broker, topic, path, mechanism, user, password):
    t0 = time.monotonic()
    res = ws(["ingest", "-b", broker.sasl_bootstrap, "--topic", topic,
              *sasl_args(mechanism, user, password), str(path)], timeout=120)
    res.elapsed = time.monotonic() - t0
    return res


@pytest.mark.kafka
def test_sasl_plain_right_credentials_deliver(sasl_broker, new_topic, tmp_path):
    topic = new_topic(partitions=1)
    path, lines = two_stories(tmp_path)
    res = ingest(sasl_broker, topic, path, "PLAIN", sasl_broker.sasl_user,
                 sasl_broker.sasl_password)
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-3000:]
    got = ku.consume_kcat(sasl_broker.bootstrap, topic)   # lz4 (the default config)
    assert [r.value for r in got] == lines
    assert_no_secret(res.stdout, res.stderr, secret=sasl_broker.sasl_password)


@pytest.mark.kafka
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
@pytest.mark.parametrize("who", ["wrong_password", "unknown_user"])
def test_sasl_wrong_credentials_fail_clearly(sasl_broker, new_topic, tmp_path, mechanism, who):
    topic = new_topic(partitions=1)
    path, _ = two_stories(tmp_path)
    user = sasl_broker.sasl_user if who == "wrong_password" else "nobody-" + topic[-6:]
    res = ingest(sasl_broker, topic, path, mechanism, user, SECRET)
    err = res.stderr.decode(errors="replace")
    assert res.returncode != 0, err[-3000:]
    assert "SASL authentication error" in err, err[-3000:]
    # ingest stops at the first refused login (librdkafka alone would retry
    # until message.timeout.ms, 5 minutes by default).
    assert "wirestream ingest: authentication failed:" in err, err[-3000:]
    assert res.elapsed < 30, res.elapsed
    assert_no_secret(res.stdout, err)
    # Nothing got through.
    assert ku.end_offsets(sasl_broker.bootstrap, topic) == {0: 0}


@pytest.mark.kafka
def test_sasl_scram_right_credentials_deliver(sasl_broker, new_topic, tmp_path, request):
    # librdkafka < 2.6.1 repeats the client nonce in SCRAM's final message and
    # Kafka 4 refuses it (docs/testing.md); Debian 12 ships 2.0.2. Strict:
    # a librdkafka that starts to succeed is reported too.
    if ku.librdkafka_version() < (2, 6, 1):
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="librdkafka < 2.6.1 SCRAM nonce bug vs Kafka 4.x"))
    topic = new_topic(partitions=1)
    path, lines = two_stories(tmp_path)
    res = ingest(sasl_broker, topic, path, "SCRAM-SHA-256", sasl_broker.sasl_user,
                 sasl_broker.sasl_password)
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-3000:]
    got = ku.consume_kcat(sasl_broker.bootstrap, topic)   # lz4 (the default config)
    assert [r.value for r in got] == lines
