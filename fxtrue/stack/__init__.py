"""The single-machine stack (infra/local): Kafka and Cassandra from Maven Central jars, on loopback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from fxtrue.settings import Settings
from fxtrue.stack import jvm
from fxtrue.stack.services import CassandraService, KafkaService, Status, services

__all__ = ["up", "down", "status", "fetch", "KafkaService", "CassandraService", "Status"]


def fetch(settings: Settings, progress: Callable[[str], None] = print, force: bool = False) -> None:
    for service in jvm.SERVICES_WITH_JARS:
        jvm.fetch_jars(settings, service, progress, force=force)


def up(settings: Settings, progress: Callable[[str], None] = print) -> list[Status]:
    """Start (or adopt) Kafka and Cassandra and wait until both are ready. Idempotent."""
    jvm.java_home(settings)
    fetch(settings, progress)
    # Both JVMs start in parallel: Cassandra's start-up dominates.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(svc.start, progress) for svc in services(settings)]
        return [f.result() for f in futures]


def down(settings: Settings, progress: Callable[[str], None] = print) -> None:
    for svc in reversed(services(settings)):
        svc.stop(progress)


def status(settings: Settings) -> list[Status]:
    return [svc.status() for svc in services(settings)]
