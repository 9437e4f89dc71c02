"""Where produced ticks go: Kafka (fx.ticks, invalid ones to fx.ticks.dlq) or memory (tests, dry runs),
and the producer's heartbeat to Cassandra."""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Protocol

from fxtrue.heartbeats import PRODUCER, HeartbeatWriter
from fxtrue.settings import Settings
from fxtrue.ticks import Rejection, Tick, now_epoch_ms

log = logging.getLogger(__name__)


class TickSink(Protocol):
    def send(self, tick: Tick) -> None: ...

    def reject(self, rejection: Rejection) -> None: ...

    def service(self) -> None: ...

    def flush(self, timeout_s: float | None = None) -> bool: ...

    def close(self) -> None: ...

    def counts(self) -> dict[str, int]: ...


class MemorySink:
    """Collects what would be sent (tests, `--dry-run`)."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.rejections: list[Rejection] = []

    def send(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def reject(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)

    def service(self) -> None:
        pass

    def flush(self, timeout_s: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass

    def counts(self) -> dict[str, int]:
        return {"sent": len(self.ticks), "rejected": len(self.rejections), "failed": 0, "pending": 0,
                "retried": 0}


class KafkaSink:
    """One tick per message (key = pair, value = Tick.to_json()) on an idempotent acks=all producer
    (confluent-kafka: librdkafka batches, compresses and retries in its own threads).

    Every record has a delivery report (one bound callback for all, served by `service()` and `flush()`):
    acknowledged records are counted; failed ones are counted and queued for another send by `service()`, so
    nothing is dropped silently. Pending = handed to the client but not yet acknowledged, or queued again.
    """

    def __init__(self, settings: Settings, producer=None) -> None:
        from fxtrue import kafka

        self.topic = settings.kafka.topic_ticks
        self.dlq_topic = settings.kafka.topic_dlq
        self.producer = producer or kafka.producer(settings, component="producer", client_id="fxtrue-producer")
        self.lock = threading.Lock()
        self.retry: collections.deque[tuple[str, bytes, bytes]] = collections.deque()
        self.stats = {"sent": 0, "rejected": 0, "failed": 0, "retried": 0, "in_flight": 0}
        self.last_error = ""

    def _send(self, topic: str, key: bytes | None, value: bytes) -> None:
        from confluent_kafka import KafkaException

        from fxtrue import kafka

        try:
            kafka.produce(self.producer, topic, value, key, self._delivered)
        except KafkaException as exc:  # e.g. a fatal idempotence error: counted and queued again
            self._failed(topic, key, value, exc)
            return
        with self.lock:
            self.stats["in_flight"] += 1

    def _delivered(self, err, msg) -> None:
        """librdkafka's delivery report (in the thread that calls poll/flush)."""
        topic = msg.topic()
        with self.lock:
            self.stats["in_flight"] -= 1
            if err is None:
                self.stats["rejected" if topic == self.dlq_topic else "sent"] += 1
                return
        self._failed(topic, msg.key(), msg.value(), err)

    def _failed(self, topic: str, key: bytes | None, value: bytes, exc) -> None:
        with self.lock:
            self.stats["failed"] += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            self.retry.append((topic, key, value))
        log.warning("kafka delivery failed (will retry): %s", self.last_error)

    def send(self, tick: Tick) -> None:
        self._send(self.topic, tick.key(), tick.to_json())

    def reject(self, rejection: Rejection) -> None:
        self._send(self.dlq_topic, rejection.source.encode(), rejection.to_dlq_json())

    def service(self) -> None:
        """Serve delivery reports, then re-send failed records (one pass; a record failing again is queued
        again)."""
        self.producer.poll(0)
        with self.lock:
            todo = list(self.retry)
            self.retry.clear()
        if todo:
            time.sleep(0.5)  # do not spin against a broker that is down
        for topic, key, value in todo:
            with self.lock:
                self.stats["retried"] += 1
            self._send(topic, key, value)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything, retries included, is acknowledged (or the timeout passes)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            self.service()
            remaining = 5.0 if deadline is None else max(0.1, deadline - time.monotonic())
            self.producer.flush(remaining)
            with self.lock:
                done = not self.retry and self.stats["in_flight"] == 0
            if done:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def close(self) -> None:
        self.producer.flush(10)  # confluent-kafka's producer has no close: what is left is reported by flush

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {**{k: v for k, v in self.stats.items() if k != "in_flight"},
                    "pending": self.stats["in_flight"] + len(self.retry)}


class HeartbeatReporter:
    """The producer's heartbeat (job "producer") in Cassandra; never lets a Cassandra problem stop producing."""

    def __init__(self, settings: Settings, every_s: float = 5.0, job: str = PRODUCER) -> None:
        self.settings = settings
        self.every_s = every_s
        self.job = job
        self.writer: HeartbeatWriter | None = None
        self.session = None
        self.last = 0.0
        self.errors = 0

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def beat(self, status: str, metrics: dict[str, float], info: dict[str, str]) -> bool:
        self.last = time.monotonic()
        try:
            if self.writer is None:
                from fxtrue import cassandra

                self.session = cassandra.connect(self.settings, component="producer", keyspace=self.settings.cassandra.keyspace)
                self.writer = HeartbeatWriter(self.session, self.settings, self.job)
            self.writer.beat(status, metrics, info)
            return True
        except Exception as exc:  # noqa: BLE001 - heartbeats are best effort
            self.errors += 1
            log.warning("heartbeat failed: %s", exc)
            return False

    def close(self) -> None:
        if self.session is not None:
            self.session.cluster.shutdown()
            self.session = None
            self.writer = None


def lag_s(last_tick_ts: int | None, now_ms: int | None = None) -> float:
    if not last_tick_ts:
        return 0.0
    return ((now_ms if now_ms is not None else now_epoch_ms()) - last_tick_ts) / 1000.0
