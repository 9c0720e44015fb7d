"""pytest fixtures for tests that need a real Kafka broker.

`broker` (session scope) starts one Kafka 4.x broker for the whole session
through tests/kafka/broker.sh, the first time a test asks for it, and stops it
at the end, whatever the tests did. With WS_KAFKA_BOOTSTRAP set it uses that
broker instead and starts nothing (WS_KAFKA_SASL_BOOTSTRAP, _USER, _PASSWORD
describe its SASL listener, if it has one). See docs/testing.md.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kafka_util  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BROKER_SH = REPO / "tests" / "kafka" / "broker.sh"


# broker.sh's "fetched ... in Ns" / "up ... in Ns" lines, shown in the summary.
_BROKER_NOTES = []


@dataclass
class Broker:
    bootstrap: str                 # PLAINTEXT listener, host:port
    sasl_bootstrap: str | None     # SASL_PLAINTEXT listener (SCRAM-SHA-256 and PLAIN)
    sasl_user: str | None
    sasl_password: str | None
    dir: Path | None               # data/log folder when this session started it
    timings: str = ""

    def sasl(self, mechanism="SCRAM-SHA-256", user=None, password=None):
        """A SASL dict for kafka_util (kcat_sasl_args / sasl= arguments)."""
        return {"mechanism": mechanism, "user": user or self.sasl_user,
                "password": self.sasl_password if password is None else password}

    def log_tail(self, lines=60):
        if not self.dir or not (self.dir / "broker.log").exists():
            return ""
        return "\n".join((self.dir / "broker.log").read_text(errors="replace")
                         .splitlines()[-lines:])


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    external = os.environ.get("WS_KAFKA_BOOTSTRAP")
    if external:
        yield Broker(external, os.environ.get("WS_KAFKA_SASL_BOOTSTRAP"),
                     os.environ.get("WS_KAFKA_SASL_USER", "wsuser"),
                     os.environ.get("WS_KAFKA_SASL_PASSWORD", "wspass"), None)
        return

    d = tmp_path_factory.mktemp("kafka")
    # The broker start (and on a fresh cache the Maven download) has its own
    # deadlines inside broker.sh; this outer one only guards against a hang.
    res = subprocess.run([str(BROKER_SH), "start", str(d), "--owner-pid", str(os.getpid())],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    if res.returncode != 0:
        subprocess.run([str(BROKER_SH), "stop", str(d)], timeout=60)
        pytest.fail("could not start the test Kafka broker:\n"
                    + res.stderr.decode("utf-8", "replace")[-4000:], pytrace=False)
    b = Broker((d / "bootstrap").read_text().strip(), (d / "sasl_bootstrap").read_text().strip(),
               "wsuser", "wspass", d, (d / "timings").read_text())
    _BROKER_NOTES.extend(line for line in res.stderr.decode("utf-8", "replace").splitlines()
                         if line.startswith("broker.sh: "))
    try:
        yield b
    finally:
        res = subprocess.run([str(BROKER_SH), "stop", str(d)], timeout=60,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _BROKER_NOTES.extend(line for line in res.stderr.decode("utf-8", "replace")
                             .splitlines() if line.startswith("broker.sh: "))


@pytest.fixture
def new_topic(broker):
    """new_topic(partitions=1, **configs) -> name of a fresh, ready topic."""
    def make(partitions=1, **configs):
        return kafka_util.create_topic(broker.bootstrap, partitions=partitions,
                                       configs={k.replace("_", "."): str(v)
                                                for k, v in configs.items()})
    return make


def pytest_collection_modifyitems(config, items):
    """Every test that uses the broker is a `kafka` test (pytest.ini), marked or
    not, so `-m "not kafka"` never starts a broker."""
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


def pytest_terminal_summary(terminalreporter):
    for line in _BROKER_NOTES:
        terminalreporter.write_line(line)


def pytest_runtest_makereport(item, call):
    """On a failing broker test, attach the end of the broker log to the report."""
    if call.when != "call" or call.excinfo is None:
        return
    b = item.funcargs.get("broker") if hasattr(item, "funcargs") else None
    if isinstance(b, Broker) and b.dir:
        item.add_report_section("call", "broker log (tail)", b.log_tail())
