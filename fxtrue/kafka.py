"""Kafka access shared by every unit: client settings, topic creation, producer and consumer factories."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable

from fxtrue.errors import ServiceUnavailable
from fxtrue.settings import Settings

log = logging.getLogger(__name__)


def client_config(settings: Settings) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka.security_protocol,
        "request_timeout_ms": settings.kafka.request_timeout_ms,
    }
    if settings.kafka.ssl_cafile:
        conf["ssl_cafile"] = settings.kafka.ssl_cafile
    if settings.kafka.sasl_mechanism:
        conf.update(sasl_mechanism=settings.kafka.sasl_mechanism,
                    sasl_plain_username=settings.kafka.sasl_username,
                    sasl_plain_password=settings.kafka.sasl_password)
    return conf


def spark_options(settings: Settings) -> dict[str, str]:
    """The `kafka.*` options of Spark's Kafka source and sink, from the same settings as the Python clients."""
    opts = {"kafka.bootstrap.servers": settings.kafka_bootstrap,
            "kafka.security.protocol": settings.kafka.security_protocol}
    if settings.kafka.ssl_cafile:
        # The JVM client wants a truststore; PEM files are accepted since Kafka 2.7.
        opts.update({"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.location": settings.kafka.ssl_cafile})
    if settings.kafka.sasl_mechanism:
        module = ("org.apache.kafka.common.security.scram.ScramLoginModule"
                  if settings.kafka.sasl_mechanism.upper().startswith("SCRAM")
                  else "org.apache.kafka.common.security.plain.PlainLoginModule")
        user = settings.kafka.sasl_username.replace('"', '\\"')
        password = settings.kafka.sasl_password.replace('"', '\\"')
        opts.update({"kafka.sasl.mechanism": settings.kafka.sasl_mechanism,
                     "kafka.sasl.jaas.config": f'{module} required username="{user}" password="{password}";'})
    return opts


def topics(settings: Settings) -> list[str]:
    return [settings.kafka.topic_ticks, settings.kafka.topic_dlq, settings.kafka.topic_alerts]


def wait_for_port(bootstrap: str, timeout_s: float) -> None:
    """kafka-python connects eagerly and hangs ~30 s on a dead broker: check the socket first."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"Kafka at {bootstrap} is not reachable ({exc})",
                    hint="start the local stack with `fxtrue stack up`, or set FXTRUE_KAFKA_BOOTSTRAP") from None
            time.sleep(0.5)


def admin(settings: Settings, wait_s: float = 10.0):
    from kafka import KafkaAdminClient

    wait_for_port(settings.kafka_bootstrap, wait_s)
    return KafkaAdminClient(client_id="fxtrue-admin", **client_config(settings))


def create_topics(settings: Settings, progress: Callable[[str], None] = log.info) -> list[str]:
    """Create fx.ticks, fx.ticks.dlq and fx.alerts when missing; returns the names created. Idempotent."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = admin(settings)
    try:
        existing = set(client.list_topics())
        wanted = [t for t in topics(settings) if t not in existing]
        created = []
        for name in wanted:
            config = {"retention.ms": str(7 * 24 * 3600 * 1000)}
            if name == settings.kafka.topic_dlq:
                config["retention.ms"] = str(30 * 24 * 3600 * 1000)
            try:
                client.create_topics([NewTopic(name, settings.kafka.partitions,
                                               settings.kafka.replication_factor, topic_configs=config)])
                created.append(name)
                progress(f"created topic {name} ({settings.kafka.partitions} partitions)")
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        client.close()


def producer(settings: Settings, **overrides: Any):
    """An idempotent (acks=all) producer, batching and compressing; overrides go to KafkaProducer."""
    from kafka import KafkaProducer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    conf = {**client_config(settings), "acks": "all", "enable_idempotence": True,
            "linger_ms": 20, "batch_size": 256 * 1024, "compression_type": "lz4",
            "retries": 2**31 - 1, "retry_backoff_ms": 200, "delivery_timeout_ms": 300000,
            "max_in_flight_requests_per_connection": 5}
    conf.update(overrides)
    return KafkaProducer(**conf)


def consumer(settings: Settings, *topic_names: str, **overrides: Any):
    from kafka import KafkaConsumer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    conf = {**client_config(settings), "auto_offset_reset": "earliest", "enable_auto_commit": False}
    conf.update(overrides)
    return KafkaConsumer(*topic_names, **conf)


def end_offsets(settings: Settings, *topic_names: str) -> dict[str, dict[int, int]]:
    """topic -> partition -> end offset (the next offset to be written) of each topic, now."""
    from kafka import TopicPartition

    client = consumer(settings)
    try:
        out: dict[str, dict[int, int]] = {}
        for topic in topic_names or (settings.kafka.topic_ticks,):
            parts = [TopicPartition(topic, p) for p in sorted(client.partitions_for_topic(topic) or ())]
            out[topic] = {tp.partition: int(o) for tp, o in client.end_offsets(parts).items()} if parts else {}
        return out
    finally:
        client.close()
