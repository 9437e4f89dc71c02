"""Shared fixtures. Integration tests run against the real local stack, started once per test session.

The stack under the configured state dir is started if it is not running (and stopped again at the end
unless it was already running, or FXTRUE_TEST_KEEP_STACK=1). Each test session works in its own
Cassandra keyspace and its own Kafka topics, so runs never see each other's data.
"""

from __future__ import annotations

import os

import pytest

from fxtrue.settings import Settings, load_settings


def pytest_collection_modifyitems(config, items):
    # Tests under tests/integration are integration tests even without the explicit marker.
    for item in items:
        if "/tests/integration/" in str(item.fspath) and "integration" not in item.keywords:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack_up(base_settings: Settings):
    """The real local stack (Kafka + Cassandra), ready."""
    from fxtrue import stack

    was_running = all(s.healthy for s in stack.status(base_settings))
    stack.up(base_settings, progress=lambda msg: print(f"[stack] {msg}"))
    yield base_settings
    if not was_running and os.environ.get("FXTRUE_TEST_KEEP_STACK") != "1":
        stack.down(base_settings, progress=lambda msg: print(f"[stack] {msg}"))


@pytest.fixture(scope="session")
def settings(stack_up: Settings) -> Settings:
    """Settings for this test session: own keyspace and topics, initialised (topics + migrations)."""
    from isolation import isolated

    with isolated(stack_up) as s:
        yield s


@pytest.fixture(scope="session")
def cql(settings: Settings):
    """An authenticated Cassandra session on the test keyspace."""
    from fxtrue import cassandra

    session = cassandra.connect(settings, component=cassandra.ADMIN, keyspace=settings.cassandra.keyspace)
    yield session
    session.cluster.shutdown()


@pytest.fixture(scope="session")
def spark(base_settings: Settings):
    """One SparkSession for the whole test session (local[2], Kafka source jars wired in; no services needed)."""
    from fxtrue.spark import session

    spark = session(base_settings.replace(spark={"shuffle_partitions": 2}), "fxtrue-tests")
    yield spark
    spark.stop()
