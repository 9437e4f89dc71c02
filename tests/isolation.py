"""Isolated test worlds on the one shared local stack: own Cassandra keyspace, Kafka topics, lake, checkpoints
and Data Docs, initialised (topics + migrations + the component roles' grants on the keyspace, as the admin) on
entry and the keyspace dropped on exit (Cassandra drops the grants with it)."""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Iterator

from fxtrue.settings import Settings


def isolated_settings(base: Settings, prefix: str = "t") -> Settings:
    """`base` with fresh names for everything a test writes (nothing created yet)."""
    tag = f"{prefix}{uuid.uuid4().hex[:8]}"
    root = base.state_dir / "test" / tag
    return base.replace(
        cassandra={"keyspace": f"fxtrue_{tag}"},
        kafka={"topic_ticks": f"{tag}.fx.ticks", "topic_dlq": f"{tag}.fx.ticks.dlq",
               "topic_alerts": f"{tag}.fx.alerts"},
        spark={"lake_path": str(root / "lake"), "checkpoint_dir": str(root / "checkpoints")},
        dq={"docs_dir": str(root / "dq-docs")},
    )


def stream_env(s: Settings, **extra: str) -> dict[str, str]:
    """The environment of an `fxtrue stream` child that works in world `s` (2 s triggers: tests wait on
    results, not on cadence); `extra`: more FXTRUE_* variables."""
    return {**os.environ, "FXTRUE_STATE_DIR": str(s.state_dir), "FXTRUE_CASSANDRA_KEYSPACE": s.cassandra.keyspace,
            "FXTRUE_KAFKA_TOPIC_TICKS": s.kafka.topic_ticks, "FXTRUE_KAFKA_TOPIC_DLQ": s.kafka.topic_dlq,
            "FXTRUE_KAFKA_TOPIC_ALERTS": s.kafka.topic_alerts, "FXTRUE_SPARK_LAKE_PATH": s.lake_path,
            "FXTRUE_SPARK_CHECKPOINT_DIR": s.checkpoint_dir, "FXTRUE_SPARK_TRIGGER_SECONDS": "2",
            "FXTRUE_SPARK_LAKE_TRIGGER_SECONDS": "2", **extra}


def stop_stream(job, timeout_s: float = 120.0) -> None:
    """Stop an `fxtrue stream` child as a supervisor does: SIGTERM to the driver (it stops its queries, then
    its JVM); SIGKILL to its process group if it has not exited in `timeout_s`."""
    import signal
    import subprocess

    if job.poll() is not None:
        return
    os.kill(job.pid, signal.SIGTERM)
    try:
        job.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=30)


@contextlib.contextmanager
def isolated(base: Settings, prefix: str = "t") -> Iterator[Settings]:
    from fxtrue import cassandra
    from fxtrue.commands.init import init

    s = isolated_settings(base, prefix)
    init(s, progress=lambda msg: print(f"[init] {msg}"))
    try:
        yield s
    finally:
        cassandra.drop_keyspace(s, s.cassandra.keyspace)


def module_world(prefix: str):
    """Fixtures `settings` and `cql` (an admin session on its keyspace) for a module that needs a world of its
    own, so what it writes never reaches the tests sharing the session's. In the module:
    `settings, cql = module_world("e")`."""
    import pytest

    @pytest.fixture(scope="module", name="settings")
    def settings(stack_up):
        with isolated(stack_up, prefix) as s:
            yield s

    @pytest.fixture(scope="module", name="cql")
    def cql(settings):
        from fxtrue import cassandra

        session = cassandra.connect(settings, component=cassandra.ADMIN, keyspace=settings.cassandra.keyspace)
        yield session
        session.cluster.shutdown()

    return settings, cql
