"""KafkaSink's accounting on librdkafka's producer contract: delivery reports arrive only from poll()/flush(),
produce() raises BufferError when the local queue is full, a refused record is counted, queued and sent
again, and nothing is reported done while a record is unacknowledged."""

from __future__ import annotations

import collections

from fxtrue.settings import load_settings
from fxtrue.ticks import Rejection, Tick
from producers.sinks import KafkaSink


class Msg:
    def __init__(self, topic, key, value):
        self._t, self._k, self._v = topic, key, value

    def topic(self):
        return self._t

    def key(self):
        return self._k

    def value(self):
        return self._v


class Producer:
    """The part of confluent_kafka.Producer the sink uses; `refuse` says how many deliveries fail first."""

    def __init__(self, capacity: int = 1000, refuse: int = 0) -> None:
        self.queue: collections.deque = collections.deque()
        self.capacity, self.refuse = capacity, refuse
        self.delivered: list[tuple[str, bytes]] = []

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if len(self.queue) >= self.capacity:
            raise BufferError("Local: Queue full")
        self.queue.append((Msg(topic, key, value), on_delivery))

    def poll(self, timeout=None):
        n = 0
        while self.queue:
            msg, cb = self.queue.popleft()
            if self.refuse:
                self.refuse -= 1
                cb("KafkaError{code=_MSG_TIMED_OUT}", msg)
            else:
                self.delivered.append((msg.topic(), msg.value()))
                cb(None, msg)
            n += 1
        return n

    def flush(self, timeout=None):
        self.poll()
        return len(self.queue)


def _sink(producer) -> KafkaSink:
    return KafkaSink(load_settings({}), producer=producer)


def _tick(i: int) -> Tick:
    return Tick("EUR/USD", 1_764_000_000_000 + i, 1.1, 1.1001, "sim", 1_764_000_000_500)


def test_refused_records_are_counted_and_sent_again_until_acknowledged(monkeypatch):
    monkeypatch.setattr("producers.sinks.time.sleep", lambda s: None)
    producer = Producer(refuse=2)
    sink = _sink(producer)
    for i in range(3):
        sink.send(_tick(i))
    sink.reject(Rejection("bid is not a number", "EUR/USD,x", "sim"))
    assert sink.counts()["pending"] == 4  # nothing acknowledged before a poll
    assert sink.flush(5)
    counts = sink.counts()
    assert counts == {"sent": 3, "rejected": 1, "failed": 2, "retried": 2, "pending": 0}
    topics = collections.Counter(t for t, _ in producer.delivered)
    assert topics == {"fx.ticks": 3, "fx.ticks.dlq": 1}
    assert "_MSG_TIMED_OUT" in sink.last_error


def test_a_full_local_queue_serves_reports_instead_of_dropping():
    producer = Producer(capacity=2)
    sink = _sink(producer)
    for i in range(7):
        sink.send(_tick(i))
    assert len(producer.delivered) >= 5 and sink.counts()["pending"] == 7 - len(producer.delivered)
    assert sink.flush(5) and sink.counts()["sent"] == 7
    assert [v for _, v in producer.delivered] == [_tick(i).to_json() for i in range(7)]


def test_flush_reports_unacknowledged_records_when_time_runs_out(monkeypatch):
    monkeypatch.setattr("producers.sinks.time.sleep", lambda s: None)
    producer = Producer(refuse=10**9)  # a broker that never takes anything
    sink = _sink(producer)
    sink.send(_tick(0))
    assert sink.flush(0.3) is False
    assert sink.counts()["pending"] == 1 and sink.counts()["sent"] == 0 and sink.counts()["failed"] >= 1
