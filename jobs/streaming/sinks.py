"""Sinks of the streaming job: Cassandra upserts (prepared statements, execute_concurrent; deterministic keys,
so a re-run micro-batch rewrites the same rows), alerts to Kafka (key = alert id) and rejected records to the
dead-letter topic. Raw ticks (`TickArchive`) are written from the executors' JVMs, not through Python, as
UNLOGGED batches that each stay inside one (pair, day) partition (one request and one mutation per batch
instead of one per tick; a single-partition batch is applied atomically and needs no batch log), many batches
in flight."""

from __future__ import annotations

import json
import logging
import time
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

from fxtrue.errors import FxtrueError
from fxtrue.kafka import spark_options
from fxtrue.settings import Settings

log = logging.getLogger("fxtrue.streaming")

ALERT_TABLE_COLUMNS = ("window_start", "detector", "subject", "window_end", "observed", "baseline_mean",
                       "baseline_std", "threshold", "score", "severity", "thresholds_version", "detected_at",
                       "details")


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_of(ms: int) -> date:
    """UTC day of an epoch-ms time (integer arithmetic: called once per tick)."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // 86_400_000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _clean(v):
    """NaN/inf -> None (Cassandra and JSON consumers get nulls, not NaN)."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    return v


TICK_ROW_FIELDS = ("pair", "ts", "bid", "ask", "high", "low", "open", "source", "received_at")


class CassandraSink:
    """Idempotent upserts into trends_by_pair_day and the two alerts tables (the ticks: `TickArchive`)."""

    CONCURRENCY = 64
    ATTEMPTS = 3

    def __init__(self, session, settings: Settings) -> None:
        ks = settings.cassandra.keyspace
        self.session = session
        self.trends = session.prepare(
            f"INSERT INTO {ks}.trends_by_pair_day (pair, day, window_start, window_end, mean_bid, mean_ask, "
            "mean_mid, tick_count, mean_spread_bps, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        cols = ", ".join(ALERT_TABLE_COLUMNS)
        marks = ", ".join("?" for _ in ALERT_TABLE_COLUMNS)
        self.alerts_pair = session.prepare(
            f"INSERT INTO {ks}.alerts_by_pair_day (pair, day, {cols}) VALUES (?, ?, {marks})")
        self.alerts_day = session.prepare(
            f"INSERT INTO {ks}.alerts_by_day (day, pair, {cols}) VALUES (?, ?, {marks})")
        self._alerts_new = None  # INSERT ... IF NOT EXISTS twins, prepared on first use (write_alerts_if_new)

    def _run(self, stmt, args: Sequence[tuple], what: str) -> int:
        self._execute([(stmt, a) for a in args], what)
        return len(args)

    def _execute(self, requests: Sequence[tuple], what: str) -> None:
        """(statement, parameters) requests, concurrently; failed ones are retried (with a growing pause) up to
        ATTEMPTS times, then the micro-batch fails (and is re-run on restart: every write is an upsert)."""
        from cassandra.concurrent import execute_concurrent

        pending = list(requests)
        for attempt in range(1, self.ATTEMPTS + 1):
            results = execute_concurrent(self.session, pending, concurrency=self.CONCURRENCY,
                                         raise_on_first_error=False)
            failed = [q for q, (ok, _) in zip(pending, results) if not ok]
            if not failed:
                return
            errors = {str(r)[:200] for ok, r in results if not ok}
            log.warning("%s: %d of %d writes failed (attempt %d): %s", what, len(failed), len(pending), attempt,
                        "; ".join(sorted(errors)[:3]))
            pending = failed
            if attempt < self.ATTEMPTS:
                time.sleep(0.5 * 2 ** (attempt - 1))
        raise FxtrueError(f"writing {what} to Cassandra failed for {len(pending)} requests after {self.ATTEMPTS} "
                          "attempts", hint="check Cassandra (`fxtrue stack status`); the batch is retried on "
                                          "restart and every write is an idempotent upsert")

    def write_trends(self, rows: Iterable[dict], updated_ms: int) -> int:
        args = [(r["pair"], day_of(r["window_start"]), r["window_start"], r["window_end"], _clean(r["mean_bid"]),
                 _clean(r["mean_ask"]), _clean(r["mean_mid"]), r["tick_count"], _clean(r["mean_spread_bps"]),
                 updated_ms) for r in rows]
        return self._run(self.trends, args, "trends") if args else 0

    @staticmethod
    def _alert_args(a: dict) -> tuple[tuple, tuple]:
        """One alert -> its alerts_by_pair_day and alerts_by_day INSERT arguments."""
        vals = tuple(_clean(a[c]) for c in ALERT_TABLE_COLUMNS)
        day = day_of(a["window_start"])
        return (a["pair"], day, *vals), (day, a["pair"], *vals)

    def write_alerts(self, alerts: Sequence[dict]) -> int:
        if not alerts:
            return 0
        by_pair, by_day = zip(*(self._alert_args(a) for a in alerts))
        self._run(self.alerts_pair, by_pair, "alerts_by_pair_day")
        self._run(self.alerts_day, by_day, "alerts_by_day")
        return len(alerts)

    def write_alerts_if_new(self, alerts: Sequence[dict]) -> int:
        """Insert alerts whose rows do not exist yet (lightweight transactions: INSERT ... IF NOT EXISTS), so
        an early copy never overwrites the row a later judgement of the same window wrote; for the few alerts
        the tick query raises, not for bulk writes."""
        if not alerts:
            return 0
        if self._alerts_new is None:
            self._alerts_new = tuple(self.session.prepare(f"{stmt.query_string} IF NOT EXISTS")
                                     for stmt in (self.alerts_pair, self.alerts_day))
        pair_new, day_new = self._alerts_new
        requests = []
        for a in alerts:
            by_pair, by_day = self._alert_args(a)
            requests += [(pair_new, by_pair), (day_new, by_day)]
        self._execute(requests, "alerts (if new)")
        return len(alerts)


class TickArchive:
    """Raw ticks into ticks_by_pair_day from the executors' JVMs (jobs/streaming/jvm,
    io.fxtrue.streaming.TickArchiver: single-partition UNLOGGED batches of at most `cassandra.tick_batch_rows`
    rows, CassandraSink.CONCURRENCY in flight per task, retried ATTEMPTS times with a growing pause, then the
    micro-batch fails). No tick passes through Python. Where and how to write (the `streaming` credential
    included) is read once, here; raises FxtrueError naming the fix when the archive's jar is not on Spark's
    class path."""

    def __init__(self, spark, settings: Settings) -> None:
        from py4j.protocol import Py4JError

        from fxtrue import cassandra
        from fxtrue.stack.jvm import STREAMING_JAR

        c = settings.cassandra
        user, password = cassandra.credentials(settings, "streaming")
        self._archiver = spark._jvm.io.fxtrue.streaming.TickArchiver
        try:
            self._target = self._archiver.Target(
                ",".join(c.hosts), settings.cassandra_port, user, password, bool(c.ssl), c.ssl_cafile or "",
                c.local_dc or "", c.keyspace, int(c.ticks_ttl_s), int(c.tick_batch_rows),
                CassandraSink.CONCURRENCY, CassandraSink.ATTEMPTS)
        except (Py4JError, TypeError) as exc:  # the class is missing: py4j resolves the name to a package
            raise FxtrueError(f"the streaming job's tick archive (io.fxtrue.streaming.TickArchiver) is not on "
                              f"Spark's class path: {str(exc)[:200]}",
                              hint=f"run `fxtrue stack fetch --force` (it builds {STREAMING_JAR} into the Spark "
                                   "jars folder), or put that jar in FXTRUE_SPARK_JARS_DIR") from None

    def write(self, ticks) -> int:
        """Upsert a static DataFrame of ticks (TICK_ROW_FIELDS, times in epoch ms); returns the rows written."""
        return int(self._archiver.write(ticks._jdf, self._target))


def alert_json(a: dict) -> bytes:
    """One alert as the fx.alerts message value (timestamps ISO-8601 UTC)."""
    body = {k: (iso(v) if k in ALERT_TIMES else _clean(v))
            for k, v in a.items()}
    body["v"] = 1
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


ALERT_TIMES = ("window_start", "window_end", "detected_at", "last_received_at")


def alert_kafka_records(alerts, path: str):
    """The Spark twin of `alert_json` for alerts judged inside a query (the tick query writes them with Spark's
    Kafka sink): alerts (ALERT_COLUMNS, timestamps) -> (key = alert id, value = the fx.alerts JSON with `path`)."""
    from pyspark.sql import functions as F

    from fxtrue.detectors import ALERT_COLUMNS
    from fxtrue.detectors.judge import ISO_MS

    def field(c: str):
        col = F.col(c)
        if c in ALERT_TIMES:
            return F.date_format(col, ISO_MS).alias(c)
        if dict(alerts.dtypes)[c] == "double":  # NaN/inf -> null, as _clean
            return F.when(F.isnan(col) | (F.abs(col) == F.lit(float("inf"))), F.lit(None)).otherwise(col).alias(c)
        return col
    value = F.to_json(F.struct(*[field(c) for c in ALERT_COLUMNS], F.lit(path).alias("path"), F.lit(1).alias("v")),
                      {"ignoreNullFields": "false"})
    return alerts.select(F.col("alert_id").cast("binary").alias("key"), value.cast("binary").alias("value"))


def alert_of_json(value: bytes) -> dict:
    """An fx.alerts message value -> the alert dict the sinks take (timestamps as epoch ms): `alert_json` read
    back."""
    from fxtrue.simulator.scenarios import parse_iso_ms

    a = json.loads(value)
    a.pop("v", None)
    for k in ALERT_TIMES:
        if a.get(k) is not None:
            a[k] = parse_iso_ms(a[k])
    return a


class KafkaAlertSink:
    """Publishes alerts to settings.kafka.topic_alerts, key = alert id (a re-run batch re-sends the same key:
    consumers keep the latest message per key)."""

    def __init__(self, settings: Settings) -> None:
        from fxtrue.kafka import producer

        self.topic = settings.kafka.topic_alerts
        self.producer = producer(settings, component="streaming", linger_ms=5)

    def publish(self, alerts: Sequence[dict]) -> int:
        """Raises when a send failed: the batch fails and is re-run."""
        from fxtrue.kafka import send_all

        return send_all(self.producer, self.topic, ((a["alert_id"].encode(), alert_json(a)) for a in alerts))

    def close(self) -> None:
        self.producer.flush(10)


class AlertSinks:
    """Cassandra first (the serving copy), then Kafka."""

    def __init__(self, cassandra: CassandraSink, kafka: KafkaAlertSink | None) -> None:
        self.cassandra, self.kafka = cassandra, kafka

    def write(self, alerts: Sequence[dict]) -> int:
        self.cassandra.write_alerts(alerts)
        if self.kafka is not None:
            self.kafka.publish(alerts)
        return len(alerts)


def write_dlq(rejected, settings: Settings) -> None:
    """Rejected rows (frames.rejected_ticks: raw, reason, source, time) -> the dead-letter topic, as the JSON of
    fxtrue.ticks.Rejection.to_dlq_json (key = source)."""
    from pyspark.sql import functions as F

    value = F.to_json(F.struct(F.lit(1).alias("v"), "reason", "source", F.substring("raw", 1, 10000).alias("raw"),
                               F.unix_millis("time").alias("time")))
    (rejected.select(F.col("source").cast("binary").alias("key"), value.cast("binary").alias("value"))
             .write.format("kafka")
             .options(**spark_options(settings, component="streaming"))
             .option("topic", settings.kafka.topic_dlq)
             .save())
