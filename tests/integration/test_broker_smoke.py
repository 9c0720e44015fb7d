"""The real-broker harness works: both clients see each other's exact bytes,
headers, keys, partitions and timestamps, groups commit offsets, and the SASL
listener accepts the right credentials and refuses wrong ones."""

import logging

import pytest

import kafka_util as ku

pytestmark = pytest.mark.kafka

# Values chosen to catch mangling: NUL, 0xff, a newline, a delimiter-looking
# run, UTF-8, an empty value.
ODD_VALUES = [b"plain", b"\x00\x01\xff binary\nsecond line", "Zürich – “quoted”".encode(),
              b"", b"x" * 70000]


def test_kcat_to_python_exact_bytes_and_headers(broker, new_topic):
    topic = new_topic(partitions=1)
    # Null keys on two non-empty values (kcat drops an empty keyless message).
    recs = [(None if i in (1, 2) else f"k{i}".encode(), v) for i, v in enumerate(ODD_VALUES)]
    ku.produce_kcat(broker.bootstrap, topic, recs, headers=[("src", "kcat"), ("lang", "en")])

    got = ku.consume_all(broker.bootstrap, topic, min_count=len(recs))
    assert [(r.key, r.value) for r in got] == recs
    assert [r.offset for r in got] == list(range(len(recs)))
    for r in got:
        assert r.headers == [("src", b"kcat"), ("lang", b"en")]
        assert r.timestamp > 1_600_000_000_000  # kcat lets librdkafka stamp create time


def test_python_to_kcat_keys_headers_partitions_timestamps(broker, new_topic):
    topic = new_topic(partitions=3)
    recs = [dict(key=f"key-{i}", value=v, partition=i % 3, timestamp=1_700_000_000_000 + i,
                 headers=[("n", str(i)), ("kind", "wire")])
            for i, v in enumerate(ODD_VALUES)]
    acks = ku.produce(broker.bootstrap, topic, recs)
    assert [p for p, _ in acks] == [i % 3 for i in range(len(recs))]

    got = ku.consume_kcat(broker.bootstrap, topic)
    assert len(got) == len(recs)
    by_key = {r.key: r for r in got}
    for i, v in enumerate(ODD_VALUES):
        r = by_key[f"key-{i}".encode()]
        assert r.value == v
        assert r.partition == i % 3
        assert r.timestamp == 1_700_000_000_000 + i
        assert r.headers == [("n", str(i).encode()), ("kind", b"wire")]


def test_python_round_trip_null_key_and_offsets(broker, new_topic):
    topic = new_topic(partitions=2)
    acks = ku.produce(broker.bootstrap, topic,
                      [dict(value=b"a", partition=1), dict(key=b"k", value=None, partition=1)])
    assert acks == [(1, 0), (1, 1)]
    got = ku.consume_all(broker.bootstrap, topic)
    assert [(r.key, r.value, r.partition, r.offset) for r in got] == \
        [(None, b"a", 1, 0), (b"k", None, 1, 1)]
    assert ku.end_offsets(broker.bootstrap, topic) == {0: 0, 1: 2}


def test_group_commit_is_visible(broker, new_topic):
    from kafka import KafkaConsumer

    topic = new_topic(partitions=2)
    ku.produce(broker.bootstrap, topic, [dict(value=b"m%d" % i, partition=i % 2)
                                         for i in range(5)])
    group = ku.unique_topic("ws-group")
    cons = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        cons.subscribe([topic])
        seen = []

        def read_all():
            for msgs in cons.poll(timeout_ms=200).values():
                seen.extend(msgs)
            return len(seen) >= 5
        ku.wait_for(read_all, timeout=30, what="5 messages through the group")
        cons.commit()
    finally:
        cons.close()
    assert ku.committed_offsets(broker.bootstrap, group, topic) == \
        {(topic, 0): 3, (topic, 1): 2}


# ------------------------------------------------------------------- SASL

@pytest.fixture
def sasl_broker(broker):
    if not broker.sasl_bootstrap:
        pytest.skip("external broker without WS_KAFKA_SASL_BOOTSTRAP")
    return broker


def test_scram_right_credentials_python(sasl_broker, new_topic):
    topic = new_topic()
    scram = sasl_broker.sasl("SCRAM-SHA-256")
    ku.produce(sasl_broker.sasl_bootstrap, topic, [dict(key=b"s", value=b"over scram")],
               sasl=scram)
    got = ku.consume_all(sasl_broker.sasl_bootstrap, topic, sasl=scram)
    assert [(r.key, r.value) for r in got] == [(b"s", b"over scram")]


def test_scram_wrong_password_python(sasl_broker, caplog):
    from kafka.errors import KafkaError

    caplog.set_level(logging.ERROR, logger="kafka")
    with pytest.raises(KafkaError):
        ku.admin(sasl_broker.sasl_bootstrap,
                 sasl=sasl_broker.sasl("SCRAM-SHA-256", password="not-the-password"))
    # kafka-python surfaces the failure as a version-probe error; the cause it
    # logs must be the authentication failure.
    assert any("SaslAuthenticationFailed" in r.getMessage() for r in caplog.records), \
        [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
@pytest.mark.parametrize("user,password", [("wsuser", "not-the-password"),
                                           ("nobody", "wspass")])
def test_kcat_wrong_credentials_fail_with_auth_error(sasl_broker, mechanism, user, password):
    # The first authentication answer comes within ~0.3 s; 2 s bounds the retries.
    res = ku.kcat_metadata(sasl_broker.sasl_bootstrap, check=False, wait=2,
                           sasl=sasl_broker.sasl(mechanism, user=user, password=password))
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode != 0
    assert "SASL authentication error" in err, err
    assert "broker 1 at" not in res.stdout.decode()


def test_kcat_plain_right_credentials(sasl_broker):
    res = ku.kcat_metadata(sasl_broker.sasl_bootstrap, sasl=sasl_broker.sasl("PLAIN"))
    assert "broker 1 at" in res.stdout.decode()


# librdkafka before 2.6.1 repeats the client nonce in its SCRAM final message;
# Kafka 4.x checks the nonce strictly (RFC 5802) and refuses it, so with
# Debian bookworm's librdkafka 2.0.2 SCRAM cannot succeed against this broker.
# Strict xfail: once the linked librdkafka is fixed this must pass.
def test_kcat_scram_right_credentials(sasl_broker, request):
    if ku.librdkafka_version() < (2, 6, 1):
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="librdkafka < 2.6.1 SCRAM nonce bug vs Kafka 4.x"))
    res = ku.kcat_metadata(sasl_broker.sasl_bootstrap, check=False, wait=3,
                           sasl=sasl_broker.sasl("SCRAM-SHA-256"))
    assert "broker 1 at" in res.stdout.decode(), res.stderr.decode()
