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
from typing import Any, Callable

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
    """kafka-python settings for `component` (one of COMPONENTS)."""
    sasl = _sasl(settings, component)
    conf: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": sasl[0] if sasl else settings.kafka.security_protocol,
        "request_timeout_ms": settings.kafka.request_timeout_ms,
    }
    if settings.kafka.ssl_cafile:
        conf["ssl_cafile"] = settings.kafka.ssl_cafile
    if sasl:
        conf.update(sasl_mechanism=sasl[1], sasl_plain_username=sasl[2], sasl_plain_password=sasl[3])
    return conf


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
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType,
                             ACLResourcePatternType, ScramMechanism, UserScramCredentialUpsertion)

    users_dir = user_file(settings, "producer").parent
    names, acls, upserts = [], [], []
    with credentials_file.locked(users_dir):
        for component in ACL_TABLE:
            user = user_name(component)
            password = credentials_file.generated_login(user_file(settings, component), user)["password"]
            upserts.append(UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password,
                                                        iterations=8192))
            for rtype, resource, pattern, op in acl_entries(settings, component):
                acls.append(ACL(f"User:{user}", "*", ACLOperation[op], ACLPermissionType.ALLOW,
                                ResourcePattern(ResourceType[rtype], resource, ACLResourcePatternType[pattern])))
            names.append(user)
        client = admin(settings, component=ADMIN)
        try:
            errors = {u: e for u, e in (client.alter_user_scram_credentials(upserts) or {}).items() if e}
            if errors:
                raise ServiceUnavailable(f"Kafka refused to create the users {sorted(errors)}: {errors}",
                                         hint="check the broker log; the admin user must be a super user")
            result = client.create_acls(acls)
            if result.get("failed"):
                raise ServiceUnavailable(f"Kafka refused {len(result['failed'])} ACL(s): {result['failed'][:3]}",
                                         hint="check the broker log (authorizer.class.name must be set)")
        finally:
            client.close()
    progress(f"kafka: users {', '.join(names)} with {len(acls)} ACL(s) (credentials in {users_dir}, mode 600)")
    return names


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


def admin(settings: Settings, wait_s: float = 10.0, *, component: str = ADMIN):
    from kafka import KafkaAdminClient

    wait_for_port(settings.kafka_bootstrap, wait_s)
    return KafkaAdminClient(client_id=f"fxtrue-{component}", **client_config(settings, component=component))


def create_topics(settings: Settings, progress: Callable[[str], None] = log.info) -> list[str]:
    """Create fx.ticks, fx.ticks.dlq and fx.alerts when missing, and with stack.kafka_sasl the component users
    and their ACLs on them (ensure_users); returns the names created. Idempotent."""
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
    finally:
        client.close()
    if local_sasl(settings):
        ensure_users(settings, progress)
    return created


def producer(settings: Settings, *, component: str, **overrides: Any):
    """An idempotent (acks=all) producer of `component`, batching and compressing; overrides go to
    KafkaProducer."""
    from kafka import KafkaProducer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    conf = {**client_config(settings, component=component), "acks": "all", "enable_idempotence": True,
            "linger_ms": 20, "batch_size": 256 * 1024, "compression_type": "lz4",
            "retries": 2**31 - 1, "retry_backoff_ms": 200, "delivery_timeout_ms": 300000,
            "max_in_flight_requests_per_connection": 5}
    conf.update(overrides)
    return KafkaProducer(**conf)


def consumer(settings: Settings, *topic_names: str, component: str, **overrides: Any):
    from kafka import KafkaConsumer

    wait_for_port(settings.kafka_bootstrap, 10.0)
    conf = {**client_config(settings, component=component), "auto_offset_reset": "earliest", "enable_auto_commit": False}
    conf.update(overrides)
    return KafkaConsumer(*topic_names, **conf)


def end_offsets(settings: Settings, *topic_names: str, component: str = ADMIN) -> dict[str, dict[int, int]]:
    """topic -> partition -> end offset (the next offset to be written) of each topic, now."""
    from kafka import TopicPartition

    client = consumer(settings, component=component)
    try:
        out: dict[str, dict[int, int]] = {}
        for topic in topic_names or (settings.kafka.topic_ticks,):
            parts = [TopicPartition(topic, p) for p in sorted(client.partitions_for_topic(topic) or ())]
            out[topic] = {tp.partition: int(o) for tp, o in client.end_offsets(parts).items()} if parts else {}
        return out
    finally:
        client.close()
