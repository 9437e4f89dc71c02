"""Kafka access shared by every unit: client settings, topic creation, producer and consumer factories, and
(with stack.kafka_sasl) the local stack's SCRAM users and ACLs per component.

Every client names its component: `producer(settings, component="producer")`. On a cluster the configured
kafka.security_protocol / sasl_mechanism / sasl_username / sasl_password are used as they are (each process gets
its own user's credential) and `component` is not looked at. On the local stack with stack.kafka_sasl off
(the default) clients connect in PLAINTEXT as before. With it on, each client logs in over SASL_PLAINTEXT with
SCRAM-SHA-512 as its component's user: the admin user generated when `fxtrue stack up` formats the storage
(<state>/kafka/credentials.toml) or the component user generated at `fxtrue init`
(<state>/kafka/users/<component>.toml, mode 600), whose ACLs (ACL_TABLE) are all it may do.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from fxtrue import credentials as credentials_file
from fxtrue.errors import ConfigError, ServiceUnavailable
from fxtrue.settings import Settings

log = logging.getLogger(__name__)

# -- Users and ACLs (stack.kafka_sasl): one SCRAM user per component, each with only the ACLs it needs. ------
ADMIN = "admin"  # topics, users, ACLs: a super user of the local broker (created with its storage)
CONTROLLER_USER = "fxtrue_controller"  # the broker's login to its controller listener (PLAIN, config file only)
LOCAL_PROTOCOL, LOCAL_MECHANISM = "SASL_PLAINTEXT", "SCRAM-SHA-512"
TICKS, DLQ, ALERTS = "ticks", "dlq", "alerts"  # in ACL_TABLE: the configured kafka.topic_* names
SPARK_GROUPS = "spark-kafka-source-"  # the consumer groups Spark's Kafka source generates (driver and executors)
# component -> (resource type, topic role or group name prefix, operations). Topics are matched by their
# exact configured name, groups by prefix. DESCRIBE lets a client see a topic's metadata; an idempotent
# producer needs WRITE only (Kafka >= 3.0: no cluster IDEMPOTENT_WRITE).
ACL_TABLE: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    # producers: ticks and their rejects
    "producer": (("TOPIC", TICKS, ("WRITE", "DESCRIBE")), ("TOPIC", DLQ, ("WRITE", "DESCRIBE"))),
    # the streaming job: reads ticks (Spark's Kafka source), writes rejects (Spark sink) and alerts, reads the
    # tick query's alerts back (to store them in Cassandra at once)
    "streaming": (("TOPIC", TICKS, ("READ", "DESCRIBE")), ("TOPIC", DLQ, ("WRITE", "DESCRIBE")),
                  ("TOPIC", ALERTS, ("WRITE", "READ", "DESCRIBE")), ("GROUP", SPARK_GROUPS, ("READ",)),
                  ("GROUP", "fxtrue-streaming", ("READ",))),
    # readers of the alert stream (dashboard, alert watchers): read-only
    "dashboard": (("TOPIC", ALERTS, ("READ", "DESCRIBE")), ("GROUP", "fxtrue-dashboard", ("READ",))),
}
COMPONENTS = (ADMIN, *ACL_TABLE)


def user_name(component: str) -> str:
    return f"fxtrue_{component}"


def local_sasl(settings: Settings) -> bool:
    """True when clients log in with the local stack's generated users (stack.kafka_sasl on and no credential
    configured); a configured kafka.sasl_mechanism (a cluster) always wins."""
    return settings.stack.kafka_sasl and not settings.kafka.sasl_mechanism


def admin_file(settings: Settings) -> Path:
    return settings.state_dir / "kafka" / "credentials.toml"


def user_file(settings: Settings, component: str) -> Path:
    return admin_file(settings) if component == ADMIN else settings.state_dir / "kafka" / "users" / f"{component}.toml"


def _check_component(component: str) -> None:
    if component not in COMPONENTS:
        raise ValueError(f"unknown Kafka component {component!r}; one of {', '.join(COMPONENTS)}")


def ensure_admin_credential(settings: Settings) -> dict[str, str]:
    """The local broker's admin and controller credentials, generated on first use (mode 600). Pure I/O edge of
    `fxtrue stack up`; the presence of this file marks a storage formatted with stack.kafka_sasl."""
    return credentials_file.generated_login(admin_file(settings), user_name(ADMIN), "controller_password")


def credentials(settings: Settings, component: str) -> tuple[str, str]:
    """(user, password) `component` logs in with on the local stack with stack.kafka_sasl on."""
    _check_component(component)
    path = user_file(settings, component)
    if not path.exists():
        hint = ("start the local stack with FXTRUE_STACK_KAFKA_SASL=true (`fxtrue stack up` creates it)"
                if component == ADMIN else
                "run `fxtrue init` (it creates the component users on the local stack)")
        raise ConfigError(f"stack.kafka_sasl is on but there is no Kafka credential for {component}: "
                          f"{path} does not exist", hint=hint)
    data = credentials_file.read(path)
    return data["username"], data["password"]


def _sasl(settings: Settings, component: str) -> tuple[str, str, str, str] | None:
    """(protocol, mechanism, user, password) or None (no SASL): the one place that decides how `component`
    authenticates."""
    _check_component(component)
    k = settings.kafka
    if k.sasl_mechanism:
        return k.security_protocol, k.sasl_mechanism, k.sasl_username, k.sasl_password
    if local_sasl(settings):
        return (LOCAL_PROTOCOL, LOCAL_MECHANISM, *credentials(settings, component))
    return None


def client_config(settings: Settings, *, component: str) -> dict[str, Any]:
    """librdkafka (confluent-kafka) settings for `component` (one of COMPONENTS)."""
    sasl = _sasl(settings, component)
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": sasl[0] if sasl else settings.kafka.security_protocol,
        "socket.timeout.ms": settings.kafka.request_timeout_ms,
        "client.id": f"fxtrue-{component}",
        "logger": logging.getLogger("fxtrue.kafka.client"),  # librdkafka's log through Python logging
    }
    if settings.kafka.ssl_cafile:
        conf["ssl.ca.location"] = settings.kafka.ssl_cafile
    if sasl:
        conf.update({"sasl.mechanism": sasl[1], "sasl.username": sasl[2], "sasl.password": sasl[3]})
    return conf


def _options(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides in librdkafka's names written with underscores (linger_ms -> linger.ms)."""
    return {k.replace("_", "."): v for k, v in overrides.items()}


def spark_options(settings: Settings, *, component: str) -> dict[str, str]:
    """The `kafka.*` options of Spark's Kafka source and sink for `component`, from the same settings as the
    Python clients."""
    sasl = _sasl(settings, component)
    opts = {"kafka.bootstrap.servers": settings.kafka_bootstrap,
            "kafka.security.protocol": sasl[0] if sasl else settings.kafka.security_protocol}
    if settings.kafka.ssl_cafile:
        # The JVM client wants a truststore; PEM files are accepted since Kafka 2.7.
        opts.update({"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.location": settings.kafka.ssl_cafile})
    if sasl:
        _, mechanism, user, password = sasl
        module = ("org.apache.kafka.common.security.scram.ScramLoginModule"
                  if mechanism.upper().startswith("SCRAM")
                  else "org.apache.kafka.common.security.plain.PlainLoginModule")
        user = user.replace('"', '\\"')
        password = password.replace('"', '\\"')
        opts.update({"kafka.sasl.mechanism": mechanism,
                     "kafka.sasl.jaas.config": f'{module} required username="{user}" password="{password}";'})
    return opts


def acl_entries(settings: Settings, component: str) -> list[tuple[str, str, str, str]]:
    """(resource type, resource name, pattern type, operation) of every ALLOW ACL of `component`'s user, from
    ACL_TABLE with the configured topic names (pure)."""
    names = {TICKS: settings.kafka.topic_ticks, DLQ: settings.kafka.topic_dlq, ALERTS: settings.kafka.topic_alerts}
    out = []
    for rtype, name, operations in ACL_TABLE[component]:
        resource, pattern = (names[name], "LITERAL") if rtype == "TOPIC" else (name, "PREFIXED")
        out.extend((rtype, resource, pattern, op) for op in operations)
    return out


def ensure_users(settings: Settings, progress: Callable[[str], None] = log.info) -> list[str]:
    """Create (or re-key) each component's SCRAM user from its credential file, generating the password on
    first use, and grant it its ACLs (acl_entries) on the configured topics. Idempotent; returns the user
    names. Passwords go to files (mode 600) and to the broker only, never to a log."""
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType, ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialUpsertion)

    users_dir = user_file(settings, "producer").parent
    names, acls, upserts = [], [], []
    with credentials_file.locked(users_dir):
        for component in ACL_TABLE:
            user = user_name(component)
            password = credentials_file.generated_login(user_file(settings, component), user)["password"]
            upserts.append(UserScramCredentialUpsertion(
                user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode()))
            for rtype, resource, pattern, op in acl_entries(settings, component):
                acls.append(AclBinding(ResourceType[rtype], resource, ResourcePatternType[pattern], f"User:{user}",
                                       "*", AclOperation[op], AclPermissionType.ALLOW))
            names.append(user)
        client = admin(settings, component=ADMIN)
        errors = _failures(client.alter_user_scram_credentials(upserts))
        if errors:
            raise ServiceUnavailable(f"Kafka refused to create the users {sorted(errors)}: {errors}",
                                     hint="check the broker log; the admin user must be a super user")
        failed = _failures(client.create_acls(acls))
        if failed:
            raise ServiceUnavailable(f"Kafka refused {len(failed)} ACL(s): {list(failed.values())[:3]}",
                                     hint="check the broker log (authorizer.class.name must be set)")
    progress(f"kafka: users {', '.join(names)} with {len(acls)} ACL(s) (credentials in {users_dir}, mode 600)")
    return names


def _failures(futures: dict, timeout_s: float = 30.0) -> dict[Any, str]:
    """key -> error text of each admin request future that failed (empty: all done)."""
    out = {}
    for key, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except Exception as exc:  # noqa: BLE001 - KafkaException or a timeout: reported by the caller
            out[key] = str(exc)
    return out


def topics(settings: Settings) -> list[str]:
    return [settings.kafka.topic_ticks, settings.kafka.topic_dlq, settings.kafka.topic_alerts]


def wait_for_port(bootstrap: str, timeout_s: float) -> None:
    """Check the broker's socket before making a client: a client on a dead broker only retries in the
    background, so this is where "Kafka is not running" is said clearly."""
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


def admin(settings: Settings, wait_s: float = 10.0, *, component: str = ADMIN):
    """A confluent_kafka AdminClient of `component` (requests return futures)."""
    from confluent_kafka.admin import AdminClient

    wait_for_port(settings.kafka_bootstrap, wait_s)
    return AdminClient(client_config(settings, component=component))


def topic_names(settings: Settings, timeout_s: float = 30.0) -> set[str]:
    """The names of the topics on the cluster, as the admin sees them."""
    return set(admin(settings).list_topics(timeout=timeout_s).topics)


def delete_topics(settings: Settings, names: list[str], timeout_s: float = 60.0) -> None:
    """Delete `names` (missing ones are fine) and wait for the deletions."""
    if not names:
        return
    client = admin(settings)  # held until the futures are done: a dropped client fails them (_DESTROY)
    failed = {t: e for t, e in _failures(client.delete_topics(list(names)), timeout_s).items()
              if "UNKNOWN_TOPIC" not in e}
    if failed:
        raise ServiceUnavailable(f"Kafka did not delete the topics {sorted(failed)}: {failed}")


def create_topics(settings: Settings, progress: Callable[[str], None] = log.info) -> list[str]:
    """Create fx.ticks, fx.ticks.dlq and fx.alerts when missing, and with stack.kafka_sasl the component users
    and their ACLs on them (ensure_users); returns the names created. Idempotent."""
    from confluent_kafka.admin import NewTopic

    client = admin(settings)
    existing = set(client.list_topics(timeout=30).topics)
    created = []
    for name in (t for t in topics(settings) if t not in existing):
        days = 30 if name == settings.kafka.topic_dlq else 7
        topic = NewTopic(name, settings.kafka.partitions, settings.kafka.replication_factor,
                         config={"retention.ms": str(days * 24 * 3600 * 1000)})
        error = _failures(client.create_topics([topic])).get(name)
        if error is None:
            created.append(name)
            progress(f"created topic {name} ({settings.kafka.partitions} partitions)")
        elif "TOPIC_ALREADY_EXISTS" not in error:
            raise ServiceUnavailable(f"Kafka did not create topic {name}: {error}",
                                     hint="check the broker log and kafka.partitions/replication_factor")
    if local_sasl(settings):
        ensure_users(settings, progress)
    return created


# The producer every FXTrue process uses: idempotent, acks=all, batching and compressing.
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all", "enable.idempotence": True, "linger.ms": 20, "batch.size": 256 * 1024,
    "compression.type": "lz4", "retry.backoff.ms": 200, "retry.backoff.max.ms": 5000,
    "delivery.timeout.ms": 300_000, "max.in.flight.requests.per.connection": 5,
    "queue.buffering.max.messages": 500_000,
    "partitioner": "murmur2_random"}  # keys land on the partitions the Java clients (Spark) pick


def producer(settings: Settings, *, component: str, **overrides: Any):
    """An idempotent (acks=all) confluent_kafka Producer of `component` (PRODUCER_CONFIG); `overrides` are
    librdkafka settings written with underscores (linger_ms=0). Delivery reports arrive in poll()/flush()."""
    from confluent_kafka import Producer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    return Producer({**client_config(settings, component=component), **PRODUCER_CONFIG, **_options(overrides)})


def produce(client, topic: str, value: bytes, key: bytes | None, on_delivery: Callable) -> None:
    """Hand one record to a confluent_kafka Producer; when its local queue is full, serve delivery reports
    until there is room instead of dropping the record (the one place that waits on BufferError)."""
    while True:
        try:
            client.produce(topic, value=value, key=key, on_delivery=on_delivery)
            return
        except BufferError:
            client.poll(0.1)


def send_all(client, topic: str, items: Iterable[tuple[bytes | None, bytes]], timeout_s: float = 60.0) -> int:
    """Produce every (key, value) of `items` and wait for all acknowledgements; raises KafkaException on the
    first refused record and TimeoutError when some got no answer in time (one-off writes: tests, the alert
    publisher; a stream of ticks goes through producers.sinks.KafkaSink). Returns the number written."""
    from confluent_kafka import KafkaException

    errors: list = []
    done = [0]

    def delivered(err, _msg) -> None:
        done[0] += 1
        if err is not None:
            errors.append(err)

    n = 0
    for key, value in items:
        produce(client, topic, value, key, delivered)
        n += 1
    client.flush(timeout_s)
    if errors:
        raise KafkaException(errors[0])
    if done[0] < n:
        raise TimeoutError(f"{n - done[0]} of {n} record(s) to {topic} not acknowledged within {timeout_s:.0f} s")
    return n


def send(client, topic: str, value: bytes, key: bytes | None = None, timeout_s: float = 30.0) -> None:
    """Produce one record and wait for its acknowledgement (send_all of one)."""
    send_all(client, topic, [(key, value)], timeout_s)


class Record(NamedTuple):
    """One consumed record (the fields readers use)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int

    @classmethod
    def of(cls, msg) -> "Record":
        """A confluent_kafka Message (without error) as a Record."""
        return cls(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.timestamp()[1])


def consumer(settings: Settings, *, component: str, group: str | None = None, **overrides: Any):
    """A confluent_kafka Consumer of `component`, reading from the earliest offset, committing nothing
    unless told; without `group` it belongs to no consumer group the caller cares about (use assign())."""
    from confluent_kafka import Consumer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    conf = {**client_config(settings, component=component), "group.id": group or f"fxtrue-{component}-reader",
            "auto.offset.reset": "earliest", "enable.auto.commit": False, "enable.partition.eof": False}
    return Consumer({**conf, **_options(overrides)})


def partitions(client, topic: str, timeout_s: float = 30.0) -> list[int]:
    """The partition numbers of `topic` (raises KafkaException when the client may not see it)."""
    from confluent_kafka import KafkaException

    meta = client.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if meta is None:
        return []
    if meta.error is not None:
        raise KafkaException(meta.error)
    return sorted(meta.partitions)


def records(settings: Settings, topic: str, *, component: str, group: str | None = None, idle_s: float = 5.0,
            batch: int = 1000, **overrides: Any) -> Iterator[Record]:
    """Every record of `topic` from its start, until none arrived for `idle_s`. With `group` the reader
    joins that consumer group (subscribe; the broker checks the group's ACL); without, it reads the
    partitions directly (assign). Errors other than end-of-partition raise KafkaException."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

    client = consumer(settings, component=component, group=group, **overrides)
    try:
        if group:
            client.subscribe([topic])
        else:
            client.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions(client, topic)])
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            msgs = client.consume(batch, timeout=min(0.5, idle_s))
            for m in msgs:
                if m.error() is not None:
                    raise KafkaException(m.error())
                yield Record.of(m)
            if msgs:
                last = time.monotonic()
    finally:
        client.close()


def end_offsets(settings: Settings, *topic_names: str, component: str = ADMIN) -> dict[str, dict[int, int]]:
    """topic -> partition -> end offset (the next offset to be written) of each topic, now."""
    from confluent_kafka import TopicPartition

    client = consumer(settings, component=component)
    try:
        out: dict[str, dict[int, int]] = {}
        for topic in topic_names or (settings.kafka.topic_ticks,):
            out[topic] = {p: int(client.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1])
                          for p in partitions(client, topic)}
        return out
    finally:
        client.close()
