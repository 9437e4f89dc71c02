"""stack.kafka_sasl: a throw-away broker (own state dir, free ports, jars shared through a lib symlink) started
with SASL/SCRAM and ACLs. `fxtrue init` creates the component users and their ACLs; each component's client
logs in with its own credential and may do only what ACL_TABLE gives it; a client without credentials or with
a wrong password is refused; a storage formatted with the other setting is refused with what to do."""

from __future__ import annotations

import json
import os
import stat
import uuid

import pytest
from ports import free_port

from fxtrue import kafka
from fxtrue.errors import StackError


@pytest.fixture(scope="module")
def sasl_kafka(base_settings, tmp_path_factory):
    from fxtrue import stack
    from fxtrue.commands.init import init

    state = tmp_path_factory.mktemp("sasl-stack")
    stack.fetch(base_settings, progress=lambda m: None)
    (state / "lib").symlink_to(base_settings.lib_dir)
    s = base_settings.replace(state_dir=state, kafka={"bootstrap": ""}, stack={
        "kafka_port": free_port(), "kafka_controller_port": free_port(), "kafka_heap_mb": 384,
        "kafka_sasl": True})
    svc = stack.KafkaService(s)
    svc.start(progress=lambda m: print(f"[sasl-stack] {m}"))
    try:
        init(s, cassandra=False, progress=lambda m: print(f"[sasl-init] {m}"))
        yield s
    finally:
        svc.stop(progress=lambda m: print(f"[sasl-stack] {m}"))


def _consume(s, topic, component, group=None, **extra):
    c = kafka.consumer(s, topic, component=component, group_id=group, consumer_timeout_ms=8000, **extra)
    try:
        return [m.value for m in c]
    finally:
        c.close()


def test_components_log_in_with_their_own_users_and_acls(sasl_kafka):
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    s = sasl_kafka
    users = s.state_dir / "kafka" / "users"
    for component in kafka.ACL_TABLE:
        assert stat.S_IMODE(os.stat(users / f"{component}.toml").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(kafka.admin_file(s)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(s.state_dir / "kafka" / "server.properties").st_mode) == 0o600

    # producer -> fx.ticks, streaming reads it back (in a group of its own prefix)
    tag = uuid.uuid4().hex[:8]
    p = kafka.producer(s, component="producer")
    p.send(s.kafka.topic_ticks, key=b"EUR/USD", value=json.dumps({"tag": tag}).encode()).get(timeout=30)
    p.close()
    got = _consume(s, s.kafka.topic_ticks, "streaming", group=f"fxtrue-streaming-{tag}")
    assert any(tag.encode() in v for v in got)

    # ACLs: the producer may not read alerts, the dashboard may not write ticks, the streaming job may not
    # produce ticks, the producer may not join a consumer group
    c = kafka.consumer(s, component="producer", consumer_timeout_ms=5000)
    try:
        with pytest.raises(KafkaError, match="TopicAuthorizationFailed"):
            c.end_offsets([TopicPartition(s.kafka.topic_alerts, 0)])
    finally:
        c.close()
    with pytest.raises(KafkaError, match="GroupAuthorizationFailed"):
        _consume(s, s.kafka.topic_ticks, "producer", group=f"fxtrue-producer-{tag}")
    with pytest.raises(KafkaError, match="GroupAuthorizationFailed"):  # groups only under its own prefixes
        _consume(s, s.kafka.topic_ticks, "streaming", group=f"other-{tag}")
    for component in ("dashboard", "streaming"):
        prod = kafka.producer(s, component=component, max_block_ms=10000, delivery_timeout_ms=15000,
                              request_timeout_ms=10000)
        try:
            with pytest.raises(KafkaError, match="Authorization"):
                prod.send(s.kafka.topic_ticks, value=b"{}").get(timeout=30)
        finally:
            prod.close(timeout=5)
    # the dashboard reads alerts (empty is fine: it is allowed to)
    assert _consume(s, s.kafka.topic_alerts, "dashboard", group=f"fxtrue-dashboard-{tag}") == []


def test_no_or_wrong_credentials_are_refused(sasl_kafka):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    s = sasl_kafka
    base = {"bootstrap_servers": [s.kafka_bootstrap], "request_timeout_ms": 5000, "bootstrap_timeout_ms": 8000}
    with pytest.raises(KafkaError, match="Unable to bootstrap"):  # PLAINTEXT against SASL listeners
        KafkaProducer(**base).close()
    user, password = kafka.credentials(s, "producer")
    login = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": user}
    KafkaProducer(**base, **login, sasl_plain_password=password).close()  # the same login with its password
    with pytest.raises(KafkaError, match="Unable to bootstrap"):
        KafkaProducer(**base, **login, sasl_plain_password=password + "x").close()


def test_streaming_job_source_and_dlq_sink_use_the_streaming_credential(sasl_kafka, spark):
    """The streaming job's own Kafka source (jobs.streaming.sources) and DLQ sink (Spark's Kafka source/sink)."""
    from pyspark.sql import functions as F

    from jobs.streaming.sinks import write_dlq
    from jobs.streaming.sources import kafka_ticks

    s = sasl_kafka
    tag = uuid.uuid4().hex[:8]
    p = kafka.producer(s, component="producer")
    p.send(s.kafka.topic_ticks, value=json.dumps({"spark": tag}).encode()).get(timeout=30)
    p.close()
    q = (kafka_ticks(spark, s).select("raw").writeStream.format("memory").queryName(f"sasl_{tag}")
         .trigger(availableNow=True).start())
    q.awaitTermination(120)
    assert any(tag in r.raw for r in spark.table(f"sasl_{tag}").collect())

    rejected = spark.range(1).select(F.lit("test").alias("reason"), F.lit(f"sasl-{tag}").alias("source"),
                                     F.lit("{}").alias("raw"), F.current_timestamp().alias("time"))
    write_dlq(rejected, s)
    assert any(f"sasl-{tag}".encode() in v for v in _consume(s, s.kafka.topic_dlq, "admin"))


def test_storage_formatted_with_the_other_setting_is_refused(sasl_kafka):
    """`stack up` with the option switched off over this SASL broker stops at once, saying what to do."""
    from fxtrue import stack

    off = sasl_kafka.replace(stack={"kafka_sasl": False})
    with pytest.raises(StackError, match="formatted with it") as err:
        stack.KafkaService(off).start(progress=print)
    assert "FXTRUE_STACK_KAFKA_SASL=true" in err.value.hint
    assert stack.KafkaService(sasl_kafka).status().healthy  # left alone
