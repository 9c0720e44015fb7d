"""Helpers for wirestream's integration tests against a real Kafka broker.

Every wait here has a deadline; nothing sleeps blindly. Producing and
consuming goes through two independent clients on purpose: kcat (librdkafka,
the same C library wirestream links) and kafka-python (pure Python, its own
protocol code), so a test can check one side with the other.
"""

import re
import shutil
import subprocess
import time
import uuid
from collections import namedtuple

# One consumed message. headers is a list of (name, bytes) in broker order;
# key/value are bytes or None (null); timestamp is in ms.
Record = namedtuple("Record", "key value headers partition offset timestamp")


class Deadline(Exception):
    """A wait_for or run() deadline passed."""


# --------------------------------------------------------------------- basics

def wait_for(cond, timeout=30.0, interval=0.05, what="condition"):
    """Call cond() until it returns something truthy; return that value.

    Raises Deadline after `timeout` seconds, naming `what` and the last
    exception cond() raised, if any (cond may raise while it is not ready).
    """
    end = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # not ready yet; keep the reason for the message
            last_exc = exc
        if time.monotonic() >= end:
            why = f" (last error: {last_exc!r})" if last_exc else ""
            raise Deadline(f"{what} not reached within {timeout:.1f}s{why}")
        time.sleep(interval)


def run(cmd, timeout=60.0, input=None, check=True, env=None, cwd=None):
    """Run cmd (a list) with a deadline; return CompletedProcess (bytes output).

    On timeout the process is killed and Deadline raised; with check=True a
    non-zero exit raises AssertionError carrying the command and its stderr.
    """
    try:
        res = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        err = (exc.stderr or b"")[-2000:].decode("utf-8", "replace")
        raise Deadline(f"{cmd[0]} did not finish within {timeout:.1f}s: {err}") from None
    if check and res.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {res.returncode}:\n"
            f"{res.stderr[-4000:].decode('utf-8', 'replace')}")
    return res


def unique_topic(prefix="ws-test"):
    """A topic name no other test (or earlier run on the same broker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _b(x):
    if x is None or isinstance(x, bytes):
        return x
    return x.encode("utf-8")


# ---------------------------------------------------------------- Python side

def _client_conf(sasl):
    """kafka-python keyword arguments for a SASL dict (see kcat_sasl_args)."""
    if not sasl:
        return {}
    return dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism=sasl["mechanism"],
                sasl_plain_username=sasl["user"], sasl_plain_password=sasl["password"])


def admin(bootstrap, sasl=None):
    from kafka import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000,
                            client_id="ws-test-admin", **_client_conf(sasl))


def create_topic(bootstrap, name=None, partitions=1, configs=None, timeout=30.0):
    """Create a topic and wait until every partition has a leader; return its name."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError
    name = name or unique_topic()
    adm = admin(bootstrap)
    try:
        try:
            adm.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                        topic_configs=configs or {})],
                              timeout_ms=int(timeout * 1000))
        except TopicAlreadyExistsError:
            pass

        def ready():
            meta = adm.describe_topics([name])
            parts = meta[0]["partitions"] if meta and meta[0]["error_code"] == 0 else []
            return len(parts) == partitions and all(p["leader"] >= 0 for p in parts)
        wait_for(ready, timeout, what=f"topic {name} with {partitions} led partitions")
    finally:
        adm.close()
    return name


def produce(bootstrap, topic, records, sasl=None, timeout=30.0):
    """Produce with kafka-python and wait for every acknowledgement.

    records: iterable of dicts with optional keys key, value, headers
    ([(name, bytes)]), timestamp (ms), partition; str values are UTF-8 encoded.
    Returns [(partition, offset)] in input order.
    """
    from kafka import KafkaProducer
    prod = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                         request_timeout_ms=int(timeout * 1000), **_client_conf(sasl))
    try:
        futs = []
        for r in records:
            hdrs = [(h, _b(v)) for h, v in (r.get("headers") or [])]
            futs.append(prod.send(topic, key=_b(r.get("key")), value=_b(r.get("value")),
                                  headers=hdrs, timestamp_ms=r.get("timestamp"),
                                  partition=r.get("partition")))
        prod.flush(timeout=timeout)
        out = []
        for f in futs:
            md = f.get(timeout=timeout)
            out.append((md.partition, md.offset))
        return out
    finally:
        prod.close(timeout=5)


def end_offsets(bootstrap, topic, timeout=30.0):
    """{partition: high watermark} of every partition of topic."""
    from kafka import KafkaConsumer, TopicPartition
    cons = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = wait_for(lambda: cons.partitions_for_topic(topic), timeout,
                         what=f"metadata for {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in cons.end_offsets(tps).items()}
    finally:
        cons.close()


def consume_all(bootstrap, topic, min_count=None, idle=None, timeout=30.0, sasl=None):
    """Read a whole topic from the beginning (no consumer group, no commits).

    Stops when every partition reached the end offsets seen at the start and,
    if min_count is given, at least min_count records arrived; with idle (s)
    it then keeps reading until nothing new came for that long. Raises
    Deadline after timeout. Returns Records sorted by (partition, offset).
    """
    from kafka import KafkaConsumer, TopicPartition
    cons = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                         auto_offset_reset="earliest", fetch_max_wait_ms=100,
                         **_client_conf(sasl))
    try:
        end = time.monotonic() + timeout
        parts = wait_for(lambda: cons.partitions_for_topic(topic), timeout,
                         what=f"metadata for {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        cons.assign(tps)
        cons.seek_to_beginning(*tps)
        targets = cons.end_offsets(tps)
        out = []
        last_new = time.monotonic()
        while True:
            batch = cons.poll(timeout_ms=100)
            for msgs in batch.values():
                for m in msgs:
                    out.append(Record(m.key, m.value, list(m.headers or []), m.partition,
                                      m.offset, m.timestamp))
                    last_new = time.monotonic()
            at_end = all(cons.position(tp) >= targets[tp] for tp in tps)
            enough = min_count is None or len(out) >= min_count
            quiet = idle is None or time.monotonic() - last_new >= idle
            if at_end and enough and quiet:
                break
            if time.monotonic() >= end:
                raise Deadline(f"consuming {topic}: {len(out)} records after {timeout:.1f}s "
                               f"(min_count={min_count}, at_end={at_end})")
        out.sort(key=lambda r: (r.partition, r.offset))
        return out
    finally:
        cons.close()


def committed_offsets(bootstrap, group, topic=None):
    """{(topic, partition): committed offset} of a consumer group."""
    adm = admin(bootstrap)
    try:
        offs = adm.list_consumer_group_offsets(group)
    finally:
        adm.close()
    return {(tp.topic, tp.partition): om.offset for tp, om in offs.items()
            if topic is None or tp.topic == topic}


# ------------------------------------------------------------------- kcat side

def kcat_bin():
    path = shutil.which("kcat") or shutil.which("kafkacat")
    if not path:
        raise AssertionError("kcat not found: run scripts/install-deps.sh --test")
    return path


def kcat_sasl_args(sasl):
    """kcat -X options for sasl = {mechanism, user, password} (None: nothing)."""
    if not sasl:
        return []
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={sasl['mechanism']}",
            "-X", f"sasl.username={sasl['user']}", "-X", f"sasl.password={sasl['password']}"]


def librdkafka_version():
    """(major, minor, patch) of the librdkafka kcat runs on."""
    out = run([kcat_bin(), "-V"], timeout=10).stdout.decode()
    m = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise AssertionError(f"no librdkafka version in kcat -V output: {out!r}")
    return tuple(int(x) for x in m.groups())


def kcat_metadata(bootstrap, sasl=None, wait=5, timeout=20.0, check=True):
    """kcat -L against bootstrap, giving up after `wait` s (kcat -m); returns
    CompletedProcess (check=False to look at failures)."""
    return run([kcat_bin(), "-L", "-b", bootstrap, "-m", str(wait), *kcat_sasl_args(sasl)],
               timeout=timeout, check=check)


def produce_kcat(bootstrap, topic, records, headers=None, partition=None, sasl=None,
                 timeout=30.0):
    """Produce [(key or None, value)] with kcat in one run (exact bytes).

    headers ([(name, value)], ASCII) go on every message of the run (kcat -H).
    Messages are split on a random delimiter that no payload contains, so values
    may hold newlines or any byte. kcat waits for delivery before it exits 0.
    kcat cannot send a null value, nor an empty value with a null key.
    """
    recs = [(_b(k), _b(v)) for k, v in records]
    if any(k is None and not v for k, v in recs):
        # kcat drops an empty message without key instead of sending it.
        raise ValueError("kcat cannot produce an empty value without a key")
    while True:
        tag = uuid.uuid4().hex.encode()
        msg_delim, key_delim = b"\x1e<msg" + tag + b">\x1e", b"\x1f<key" + tag + b">\x1f"
        if not any(msg_delim in (k or b"") + v or key_delim in (k or b"") + v
                   for k, v in recs):
            break
    cmd = [kcat_bin(), "-P", "-b", bootstrap, "-t", topic, "-D", msg_delim.decode(),
           "-K", key_delim.decode(), "-X", "acks=all", *kcat_sasl_args(sasl)]
    if partition is not None:
        cmd += ["-p", str(partition)]
    for name, value in headers or []:
        cmd += ["-H", f"{name}={value}"]
    # A record without key has no key delimiter: kcat then sends a null key.
    body = b"".join(((k + key_delim) if k is not None else b"") + v + msg_delim for k, v in recs)
    run(cmd, input=body, timeout=timeout)


_KCAT_FMT = "%p %o %T %K %S %h\n%k%s\n"


def consume_kcat(bootstrap, topic, timeout=30.0, sasl=None):
    """Read a whole topic with kcat (-e: exit at the end); exact key/value bytes.

    Header values come back as text (kcat prints name=value,...): fine for the
    ASCII headers tests use. Returns Records sorted by (partition, offset).
    """
    res = run([kcat_bin(), "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
               "-q", "-f", _KCAT_FMT, *kcat_sasl_args(sasl)], timeout=timeout)
    data, pos, out = res.stdout, 0, []
    while pos < len(data):
        nl = data.index(b"\n", pos)
        meta = data[pos:nl].decode("utf-8")
        p, o, ts, klen, vlen, hdrs = (meta.split(" ", 5) + [""])[:6]
        pos = nl + 1
        klen, vlen = int(klen), int(vlen)
        key = data[pos:pos + klen] if klen >= 0 else None
        pos += max(klen, 0)
        value = data[pos:pos + vlen] if vlen >= 0 else None
        pos += max(vlen, 0) + 1  # the trailing newline of the format
        headers = []
        for h in filter(None, hdrs.split(",")):
            name, _, val = h.partition("=")
            headers.append((name, val.encode()))
        out.append(Record(key, value, headers, int(p), int(o), int(ts)))
    out.sort(key=lambda r: (r.partition, r.offset))
    return out
