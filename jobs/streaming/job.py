"""The speed layer: Spark Structured Streaming from fx.ticks to the tick lake, Cassandra and fx.alerts.

sources (Kafka fx.ticks, explicit schema) -> transformations (validation, watermark, trends, detector
windows) -> sinks, as three queries on one parsed stream:
  tick       valid ticks judged one by one as they arrive (spread above its (pair, hour) threshold, crossed
             quotes: statistics.TICK), in Spark's real-time mode by default (spark.tick_mode) -> alerts
             straight to fx.alerts with Spark's Kafka sink (JVM only, no Python on the path). An early copy,
             never the record: each start (of the job, or of this query when a new thresholds version must be
             planned in) begins at the end of fx.ticks, so it never re-judges the past with other thresholds.
             A driver thread reads these alerts back and inserts them into Cassandra if their rows do not
             exist yet; the windowed judgements below upsert the same ids.
  lake       valid ticks -> Parquet file sink <lake>/live, partitioned symbol/date (exactly-once: Spark's
             file-sink commit log), every spark.lake_trigger_seconds (60 s: one file per pair per batch)
  fast       every record, micro-batches back to back (spark.fast_trigger_seconds, 0 by default) in a FAIR
             scheduler pool of their own -> foreachBatch: per (pair, window) partial aggregates and per (pair,
             trend bucket) sums of the valid ticks (one Spark job) merged into the detectors' windows and the
             trends' buckets on the driver (state.WindowState, saved per batch inside the query's checkpoint).
             The open windows' growing statistics (flood, price jump, spread, crossed quotes) are judged at
             once (early alerts); a window the event-time watermark (newest event time minus
             spark.watermark_seconds) has passed is closed and judged once with every statistic, in the same
             batch -> alerts to alerts_by_pair_day, alerts_by_day and fx.alerts. An alert raised earlier (tick
             query, open window) has the same id: the closed window's judgement upserts that row (keeping its
             first detected_at). The sliding trend windows the batch updated -> trends_by_pair_day. Each
             pair's last arrival (processing-time stale_feed). Beside all that, from a thread of its own, the
             archive: valid ticks to ticks_by_pair_day (TTL, single-partition UNLOGGED batches from the
             executors' JVMs: jobs/streaming/jvm), rejected records to the DLQ topic; the batch ends when both
             are done.
foreachBatch is at-least-once; every write is an upsert on a deterministic key, so a re-run batch after a
crash rewrites the same rows (and starts from the driver state its first run started from). A driver thread
checks the published thresholds version, runs the daily reload and the processing-time stale_feed check.

Run: `fxtrue stream`, or by path: `python jobs/streaming/job.py` (spark-submit works too).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

log = logging.getLogger("fxtrue.streaming")

LAKE, FAST, TICK = "lake", "fast", "tick"
# The queries whose committed checkpoints say what is stored (a run is complete when they have read the
# topic's end); the tick query only publishes early copies of alerts the windowed judgements write again.
STORING_QUERIES = (LAKE, FAST)
ALL_QUERIES = (*STORING_QUERIES, TICK)
FAST_POOL = "fast"  # the fast path's jobs run in a FAIR scheduler pool of their own
ARCHIVE_POOL = "archive"  # and the fast batch's archive (beside its judgement) in another


def now_ms() -> int:
    return int(time.time() * 1000)


class StreamingJob:
    """Builds and runs the queries. External I/O is injected: the parsed source (and `tick_source`, the same
    without a per-batch cap, for the tick query: none, no tick query), the Cassandra sink, the alert sinks, the
    dead-letter sink (rejected records, frames.rejected_ticks -> the DLQ topic) and the thresholds holder;
    `build()` wires the real ones."""

    def __init__(self, spark: SparkSession, settings, *, source: Callable[[], DataFrame], holder,
                 tick_source: Callable[[], DataFrame] | None = None,
                 cassandra_sink=None, alert_sink=None, dlq_sink: Callable[[DataFrame], None] | None = None,
                 heartbeat=None, queries: Iterable[str] = ALL_QUERIES,
                 checkpoint_root: str | None = None, version_check: Callable[[], None] | None = None) -> None:
        from fxtrue.checkpoints import DRIVER_STATE
        from jobs.streaming.progress import ProgressPoller
        from jobs.streaming.state import BatchStateStore, LastSeen, WindowState

        self.spark = spark
        self.settings = settings
        self.cfg = settings.detectors
        self.source = source
        self.tick_source = tick_source
        self.holder = holder
        self.cassandra = cassandra_sink
        self.dlq = dlq_sink
        self.alert_sink = alert_sink
        self.heartbeat = heartbeat
        self.wanted = tuple(queries)
        self.checkpoint_root = (checkpoint_root or settings.checkpoint_dir).rstrip("/") + "/streaming"
        # the detectors' windows, carry and watermark: saved per fast batch inside the fast query's checkpoint
        # (fxtrue.checkpoints reads the watermark there)
        self.window_store = BatchStateStore(_local(self._ckpt(FAST)) / DRIVER_STATE)
        self.windows = WindowState(settings.spark.watermark_seconds * 1000, self._trend_buckets())
        self._windows_batch: int | None = None  # the fast batch self.windows is the state after
        self.last_seen = LastSeen()
        self.queries = {}
        self._newest_event_ms = 0  # newest tick event time the fast query has seen
        self._fast_started_ms: int | None = None  # when the fast query's running micro-batch started
        self.fast_steps: dict[str, float] = {}  # where the last fast micro-batch's time went (ms per step)
        # the fast batch's archive runs beside its judgement, from this thread
        self._tick_archive = None  # sinks.TickArchive, made on the first batch
        self._archiver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fast-archive")
        self.counters = {"ticks_written": 0, "archive_ms": 0, "dlq_records": 0, "trend_rows": 0, "alerts": 0,
                         "alerts_early": 0, "alerts_tick": 0, "stale_alerts_processing_time": 0,
                         "late_ticks_dropped": 0, "late_trend_ticks_dropped": 0}
        self._tick_lock = threading.Lock()  # held while the tick query is (re)started
        self._tick_version: str | None = None  # the thresholds version the running tick query judges by
        self._relay: threading.Thread | None = None
        self._stale_written: dict[str, int] = {}
        # alert_id -> (window_start ms, when the alert was first raised: by the tick query, the fast path or
        # processing-time stale_feed): the row keeps that detected_at through refreshes and when the closed
        # window's judgement upserts the same key (in this process: a restarted job starts afresh).
        self._first_detected: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        # thresholds version -> its cached DataFrame; the fast path judges and the tick query is planned from
        # their own threads, so a version is unpersisted only two versions later (never under a running judgement)
        self._thr_cache: dict[str | None, DataFrame] = {}
        self._thr_lock = threading.Lock()
        # the queries' progress, logged from the timer thread; build() gives it the heartbeat writer
        self.progress = ProgressPoller(extra=self.status)

    # -- wiring ------------------------------------------------------------------------------------------
    def _ckpt(self, name: str) -> str:
        return f"{self.checkpoint_root}/{name}"

    def _trigger(self, query: str = "") -> dict:
        sp = self.settings.spark
        if query == TICK:
            if sp.tick_mode == "realtime":
                return {"realTime": f"{int(sp.tick_batch_seconds)} seconds"}
            return {"processingTime": "0 seconds"}
        seconds = {FAST: sp.fast_trigger_seconds, LAKE: sp.lake_trigger_seconds}.get(query, sp.trigger_seconds)
        return {"processingTime": f"{seconds} seconds"}

    FIRST_DETECTED_KEEP_MS = 24 * 3600 * 1000

    def _forget_first_detected(self) -> None:
        """Drop first-detection times of windows a day older than the newest tick (long closed)."""
        horizon = self._newest_event_ms - self.FIRST_DETECTED_KEEP_MS
        if len(self._first_detected) > 1000:
            for k in [k for k, (ws, _) in self._first_detected.items() if ws < horizon]:
                del self._first_detected[k]

    def start(self) -> "StreamingJob":
        from fxtrue.frames import valid_ticks, with_lake_partitions
        from fxtrue.lake import live_path

        parsed = self.source()
        ticks = valid_ticks(parsed)
        if LAKE in self.wanted:
            self.queries[LAKE] = (
                ticks.transform(with_lake_partitions).writeStream.queryName(LAKE).format("parquet")
                .option("path", live_path(self.settings)).option("checkpointLocation", self._ckpt(LAKE))
                .partitionBy("symbol", "date").outputMode("append").trigger(**self._trigger(LAKE)).start())
        if FAST in self.wanted:
            self.queries[FAST] = (
                parsed.writeStream.queryName(FAST).foreachBatch(self._fast_batch)
                .option("checkpointLocation", self._ckpt(FAST)).trigger(**self._trigger(FAST)).start())
        if TICK in self.wanted and self.tick_source is not None and self.settings.spark.tick_mode != "off":
            if self.alert_sink is not None and getattr(self.alert_sink, "kafka", None) is not None:
                self._start_relay()  # before the query: its first alerts must not be missed
            with self._tick_lock:
                self.queries[TICK] = self._start_tick_query()
        self._timer = threading.Thread(target=self._timer_loop, name="fxtrue-streaming-timer", daemon=True)
        self._timer.start()
        log.info("streaming job started: queries %s, checkpoints under %s", ", ".join(self.queries),
                 self.checkpoint_root)
        return self

    # -- the tick query ----------------------------------------------------------------------------------
    def _start_tick_query(self):
        """Valid ticks -> per-tick judgement with the thresholds in force -> fx.alerts (Spark's Kafka sink)."""
        from fxtrue.frames import valid_ticks
        from fxtrue.kafka import spark_options
        from jobs.streaming.sinks import alert_kafka_records
        from jobs.streaming.transformations import alerts_of_ticks

        snap = self.holder.snapshot()
        alerts = alerts_of_ticks(valid_ticks(self.tick_source()), self.thresholds_df(snap), snap.version, self.cfg)
        query = (alert_kafka_records(alerts, "tick").writeStream.queryName(TICK).format("kafka")
                 .options(**spark_options(self.settings, component="streaming"))
                 .option("topic", self.settings.kafka.topic_alerts)
                 .option("checkpointLocation", self._fresh_tick_checkpoint()).outputMode("update")
                 .trigger(**self._trigger(TICK)).start())
        self._tick_version = snap.version
        return query

    def _fresh_tick_checkpoint(self) -> str:
        """A new checkpoint for each start of the tick query (its source starts at the end of fx.ticks); the
        ones of earlier starts are removed."""
        import shutil

        folder = _local(self._ckpt(TICK))
        if folder.is_dir():
            for old in folder.iterdir():
                shutil.rmtree(old, ignore_errors=True)
        return f"{self._ckpt(TICK)}/{now_ms()}"

    def restart_tick_query(self) -> bool:
        """Re-plan the tick query when the thresholds version in force changed (its thresholds are part of its
        plan). It starts again at the end of fx.ticks: ticks that arrive during the restart (about a second) are
        judged by the running windows only."""
        with self._tick_lock:
            old = self.queries.get(TICK)
            if old is None or self._stop.is_set() or self._tick_version == self.holder.snapshot().version:
                return False
            old.stop()
            self.queries[TICK] = self._start_tick_query()
        log.info("tick query restarted with thresholds %s", self._tick_version or "warm-up")
        return True

    RELAY_POLL_MS = 200

    def _start_relay(self) -> None:
        """A driver thread that reads the tick query's alerts from fx.alerts (from the end, as the job starts)
        and inserts them into Cassandra when their rows do not exist yet; the windowed judgements write the same
        alerts again later, so the relay is about showing them at once, not about keeping them."""
        from confluent_kafka import TopicPartition

        from fxtrue import kafka

        consumer = kafka.consumer(self.settings, component="streaming", group="fxtrue-streaming-relay")
        topic = self.settings.kafka.topic_alerts
        # from the end as it is now (resolved here, before the tick query writes anything)
        consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                                                 timeout=30)[1])
                         for p in kafka.partitions(consumer, topic)])
        self._relay = threading.Thread(target=self._relay_loop, args=(consumer,), name="fxtrue-tick-relay",
                                       daemon=True)
        self._relay.start()

    def _relay_loop(self, consumer) -> None:
        from jobs.streaming.sinks import alert_of_json

        backoff = 1.0
        try:
            while not self._stop.is_set():
                try:
                    alerts = []
                    for m in consumer.consume(500, timeout=self.RELAY_POLL_MS / 1000):
                        if m.error() is not None:  # librdkafka reports and recovers (e.g. a broker restart)
                            log.warning("tick alert relay: %s", m.error())
                            continue
                        if (a := alert_of_json(m.value())).get("path") == "tick":
                            alerts.append(a)
                    self.relay_alerts(alerts)
                    backoff = 1.0
                except Exception as exc:  # noqa: BLE001 - the windowed judgements write these alerts anyway
                    log.warning("tick alert relay: %s (retrying in %.0f s)", exc, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            consumer.close()

    def relay_alerts(self, alerts: list[dict]) -> list[dict]:
        """Tick-query alerts -> Cassandra (insert if new) and the first-detection times: the earliest detection
        of an alert id is the one its row keeps, whichever path raised it."""
        fresh = []
        for a in alerts:
            first = self._first_detected.get(a["alert_id"])
            if first is None:
                fresh.append(a)
            if first is None or a["detected_at"] < first[1]:
                self._first_detected[a["alert_id"]] = (a["window_start"], a["detected_at"])
        if fresh and self.alert_sink is not None:
            self.alert_sink.cassandra.write_alerts_if_new(fresh)
            self.counters["alerts_tick"] += len(fresh)
            log.info("tick query: %d alert(s): %s", len(fresh), ", ".join(a["alert_id"] for a in fresh[:5]))
        return fresh

    # -- foreachBatch bodies -----------------------------------------------------------------------------
    def _archive(self, batch: DataFrame, batch_id: int) -> int:
        """Valid ticks to Cassandra from the executors' JVMs (`sinks.TickArchive`, made on the first batch),
        rejected records to the DLQ; returns the ticks written."""
        from fxtrue.frames import rejected_ticks, valid_ticks
        from jobs.streaming.sinks import TICK_ROW_FIELDS, TickArchive

        written = 0
        if self.cassandra is not None:
            if self._tick_archive is None:
                self._tick_archive = TickArchive(self.spark, self.settings)
            times = ("ts", "received_at")  # as epoch ms
            written = self._tick_archive.write(valid_ticks(batch).select(
                *[F.unix_millis(c).alias(c) if c in times else F.col(c) for c in TICK_ROW_FIELDS]))
        if self.dlq is None:
            return written
        rejected = rejected_ticks(batch)
        n_rejected = rejected.count()
        if n_rejected:
            self.dlq(rejected)
            self.counters["dlq_records"] += n_rejected
            log.warning("fast batch %d: %d invalid records sent to %s", batch_id, n_rejected,
                        self.settings.kafka.topic_dlq)
        return written

    def _fast_batch(self, batch: DataFrame, batch_id: int) -> None:
        """One read of fx.ticks for everything but the lake, micro-batches back to back in a scheduler pool of
        their own: per (pair, window) partial aggregates and per (pair, trend bucket) sums of the batch's valid
        ticks (one Spark job) advance the detectors' windows (early judgement of the open ones, final judgement
        of the ones the watermark closed) and the trends (the windows the batch updated are written), then the
        driver state is saved for this batch; each pair's newest arrival (processing-time stale_feed). Once the
        aggregate has cached the batch, the archive and the DLQ (`_archive`) run beside the judgement, from a
        thread of their own in a pool of their own (they need nothing the judgement computes, and the two spend
        their time in different places: the archive in the executors' JVM writer and Cassandra, the judgement in
        the driver's small Spark jobs); the batch ends when both have. Every write is an upsert, so a batch run
        again after a crash rewrites the same rows."""
        from fxtrue.detectors.statistics import AGG_COLUMNS
        from fxtrue.frames import valid_ticks
        from jobs.streaming.state import TREND_SUMS
        from jobs.streaming.transformations import batch_parts

        self.spark.sparkContext.setLocalProperty("spark.scheduler.pool", FAST_POOL)
        self._fast_started_ms = now_ms()
        steps = StepTimer()
        batch.persist()
        archive = None
        try:
            rows = [r.asDict() for r in batch_parts(valid_ticks(batch, "kafka_ts"), self.cfg).collect()]
            steps.done("aggregate")
            # the batch is cached now: the archive reads it from there, beside the judgement
            archive = self._archiver.submit(self._archive_timed, batch, batch_id)
            parts = [r for r in rows if r["window_start"] is not None]
            state = self._windows_before(batch_id)
            step = state.advance([{c: r[c] for c in AGG_COLUMNS} for r in parts],
                                 [{c: r[c] for c in ("pair", "trend_bucket", *TREND_SUMS)}
                                  for r in rows if r["trend_bucket"] is not None])
            if state.max_event_ms is not None:
                self._newest_event_ms = state.max_event_ms
            if step.late_ticks or step.late_trend_ticks:
                self.counters["late_ticks_dropped"] += step.late_ticks
                self.counters["late_trend_ticks_dropped"] += step.late_trend_ticks
                log.warning("fast batch %d: %d tick(s) later than the watermark left out of the detectors' "
                            "windows, %d out of the trends (their windows had closed)", batch_id, step.late_ticks,
                            step.late_trend_ticks)
            crossed_now = {(r["pair"], r["window_start"]) for r in parts if r.get("crossed_count")}
            self._judge_early(step.touched, crossed_now)
            steps.done("judge_open")
            self._judge_closed(step.closed, state.carry, batch_id)
            state.closed_judged(step.closed)
            steps.done("judge_closed")
            if self.cassandra is not None and step.trends:
                self.counters["trend_rows"] += self.cassandra.write_trends(step.trends, now_ms())
            self.window_store.save(batch_id, state.to_json())
            self._windows_batch = batch_id
            steps.done("trends_state")
            sources = set()
            for r in parts:
                self.last_seen.update(r["pair"], int(r["last_ts"]), int(r["arrival_ms"] or now_ms()))
                sources.update(r["sources"])
            if sources:
                self.holder.note_feed_kinds(sources)
            archive_ms = archive.result()
            steps.done("wait_archive")
            steps.ms["archive"] = archive_ms
            self.fast_steps = steps.ms
            # where a slow batch's time went (operators: the same per step in the heartbeat)
            log.log(logging.INFO if steps.elapsed_ms() > self.SLOW_BATCH_MS else logging.DEBUG,
                    "fast batch %d: %s", batch_id, steps)
        finally:
            if archive is not None and not archive.done():  # the judgement failed: the archive still reads
                wait([archive])                                  # the cached batch
            batch.unpersist()
            self._fast_started_ms = None

    def _archive_timed(self, batch: DataFrame, batch_id: int) -> float:
        """`_archive` from the archive thread, in the archive pool: its run time in ms."""
        self.spark.sparkContext.setLocalProperty("spark.scheduler.pool", ARCHIVE_POOL)
        started = time.perf_counter()
        written = self._archive(batch, batch_id)
        ms = round((time.perf_counter() - started) * 1000, 1)
        self.counters["archive_ms"] += ms  # before the rows, so that a reader of both never sees rows without time
        self.counters["ticks_written"] += written
        return ms

    SLOW_BATCH_MS = 2000

    def _windows_before(self, batch_id: int):
        """The detectors' state before `batch_id`: the one in memory when it follows the batch before, else the
        one saved by the newest earlier batch (a restarted job, or a batch Spark runs again)."""
        from jobs.streaming.state import WindowState

        if self._windows_batch is None or self._windows_batch != batch_id - 1:
            self.windows = WindowState.from_json(self.window_store.before(batch_id),
                                                 self.settings.spark.watermark_seconds * 1000, self._trend_buckets())
        return self.windows

    def _trend_buckets(self):
        from jobs.streaming.state import TrendBuckets
        from jobs.streaming.transformations import trend_bucket_seconds

        return TrendBuckets(self.cfg.trend_window_seconds * 1000, self.cfg.trend_slide_seconds * 1000,
                            trend_bucket_seconds(self.cfg) * 1000)

    def _judge_early(self, touched: list[dict], crossed_now: set | None = None) -> list[dict]:
        """Judge the open windows a micro-batch touched, on the statistics that only grow (flood, price
        jump, spread, crossed quotes); alerts go out at once."""
        from fxtrue.detectors.judge import collect_alerts
        from jobs.streaming.transformations import aggregates_frame, alerts_of_running_windows

        snap = self.holder.snapshot()
        if snap.version is None:  # warm-up: only a window that got a new crossed quote can newly alert
            touched = [w for w in touched if (w["pair"], w["window_start"]) in (crossed_now or set())]
        if not touched:
            return []
        alerts = collect_alerts(alerts_of_running_windows(
            aggregates_frame(self.spark, touched), self.thresholds_df(snap), snap.version, self.cfg))
        if not alerts:
            return []
        at = now_ms()
        for a in alerts:
            a["detected_at"] = self._first_detected.setdefault(a["alert_id"], (a["window_start"], at))[1]
            a["path"] = "fast"
        if self.alert_sink is not None:
            self.alert_sink.write(alerts)
        fresh = [a for a in alerts if a["detected_at"] == at]
        self.counters["alerts_early"] += len(fresh)
        if fresh:
            log.info("fast path: %d early alert(s) (thresholds %s): %s", len(fresh), snap.version or "warm-up",
                     ", ".join(a["alert_id"] for a in fresh[:5]))
        return alerts

    def _judge_closed(self, closed: list[dict], carry: dict[str, int], batch_id: int) -> list[dict]:
        """Judge the windows the watermark closed, once, with every statistic (stale_feed's gaps measured
        from `carry`, each pair's last tick before them): the same statistics and judge as `fxtrue detect`."""
        from fxtrue.detectors.judge import collect_alerts
        from jobs.streaming.transformations import aggregates_frame, alerts_of_closed_windows, carry_frame

        if not closed:
            return []
        snap = self.holder.snapshot()
        alerts = collect_alerts(alerts_of_closed_windows(
            aggregates_frame(self.spark, closed), carry_frame(self.spark, carry), self.thresholds_df(snap),
            snap.version, self.cfg))
        for a in alerts:
            a["path"] = "close"
            first = self._first_detected.get(a["alert_id"])
            if first is not None:
                a["detected_at"] = min(a["detected_at"], first[1])
        self._forget_first_detected()
        if self.alert_sink is not None and alerts:
            self.alert_sink.write(alerts)
        self.counters["alerts"] += len(alerts)
        if alerts:
            log.info("fast batch %d: %d alert(s) of closed windows (thresholds %s)", batch_id, len(alerts),
                     snap.version or "warm-up")
        return alerts

    def thresholds_df(self, snap) -> DataFrame:
        from fxtrue.detectors import thresholds_frame

        with self._thr_lock:
            df = self._thr_cache.get(snap.version)
            if df is None:
                df = self._thr_cache[snap.version] = thresholds_frame(self.spark, snap.thresholds).cache()
                for old in list(self._thr_cache)[:-2]:
                    self._thr_cache.pop(old).unpersist()
            return df

    # -- driver timer: thresholds version check, daily reload, processing-time stale_feed ----------------
    HEARTBEAT_EVERY_S = 10.0

    def _timer_loop(self) -> None:
        next_check = time.monotonic() + self.cfg.version_check_seconds
        next_beat = time.monotonic() + self.HEARTBEAT_EVERY_S
        while not self._stop.wait(1.0):
            try:
                beat = self.progress.poll(self.queries) > 0
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.cfg.version_check_seconds
                    if self.holder.check():
                        self.restart_tick_query()
                        beat = True
                self.check_stale(now_ms())
                if beat or time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.HEARTBEAT_EVERY_S
                    self.progress.beat_now()
            except Exception as exc:  # noqa: BLE001 - keep checking; the queries are unaffected
                log.warning("driver timer: %s", exc)

    FAST_STUCK_S = 10.0

    def fast_lagging(self) -> bool:
        """True while the fast query (which notes arrivals) is stuck in a long batch: then the job, not the
        feed, is behind, and processing-time staleness cannot be judged. (Its batches follow each other
        back to back, so "in a batch" alone says nothing: what counts is how long the running one has taken.)"""
        started = self._fast_started_ms  # set only while a fast micro-batch runs
        stuck_ms = max(self.FAST_STUCK_S, 4 * self.settings.spark.fast_trigger_seconds) * 1000
        return started is not None and now_ms() - started > stuck_ms

    def check_stale(self, at_ms: int) -> list[dict]:
        from jobs.streaming.state import processing_time_stale

        if self.fast_lagging():
            return []
        alerts = processing_time_stale(at_ms, self.last_seen, self.holder.snapshot(),
                                       self.settings.truefx.pairs, self.cfg)
        # Refresh a running stale alert once per window (observed age grows), not every second.
        w_ms = self.cfg.window_seconds * 1000
        for a in alerts:
            a["detected_at"] = self._first_detected.setdefault(a["alert_id"], (a["window_start"], at_ms))[1]
            a["path"] = "stale"
        due = [a for a in alerts if at_ms - self._stale_written.get(a["alert_id"], 0) >= w_ms]
        if due and self.alert_sink is not None:
            self.alert_sink.write(due)
            for a in due:
                if a["alert_id"] not in self._stale_written:
                    log.warning("stale_feed: %s %s", a["pair"], a["details"])
                    self.counters["stale_alerts_processing_time"] += 1
                self._stale_written[a["alert_id"]] = at_ms
        return due

    # -- run / stop ---------------------------------------------------------------------------------------
    def status(self) -> tuple[dict[str, float], dict[str, str]]:
        snap = self.holder.snapshot()
        info = {"thresholds_version": snap.version or "warm-up", "feed_kinds": ",".join(sorted(self.holder.feed_kinds)),
                "queries": ",".join(n for n, q in self.queries.items() if q.isActive)}
        if (watermark := self.windows.watermark_ms) is not None:
            info[f"{FAST}.watermark"] = iso_ms(watermark)
        metrics = {k: float(v) for k, v in self.counters.items()}
        metrics.update({f"{FAST}.step_{k}_ms": v for k, v in self.fast_steps.items()})
        return metrics, info

    def failed(self) -> str | None:
        for name, q in list(self.queries.items()):
            if name == TICK and self._tick_lock.locked():
                continue  # being restarted with new thresholds
            if not q.isActive:
                exc = q.exception()
                return f"query {name} stopped" + (f": {exc}" if exc else "")
        return None

    def run_until(self, stop: threading.Event, poll_s: float = 1.0) -> int:
        """Block until `stop` is set (graceful) or a query dies (returns 1)."""
        while not stop.wait(poll_s):
            problem = self.failed()
            if problem:
                log.error("%s", problem)
                self.stop()
                return 1
        self.stop()
        return 0

    def stop(self, timeout_s: float = 60.0) -> None:
        """Let running micro-batches finish (bounded), then stop every query."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        with self._tick_lock:  # no restart of the tick query from here on
            pass
        for name, q in self.queries.items():
            # (a real-time batch of the tick query lasts tick_batch_seconds: it is stopped at once; its
            # alerts are early copies of what the windows judge)
            while (name != TICK and q.isActive and q.status.get("isTriggerActive")
                   and time.monotonic() < deadline):
                time.sleep(0.2)
            try:
                q.stop()
            except Exception as exc:  # noqa: BLE001
                log.warning("stopping %s: %s", name, exc)
        self._archiver.shutdown(wait=False)
        log.info("streaming job stopped")


class StepTimer:
    """Milliseconds between consecutive `done(step)` calls (where a micro-batch's time went)."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._started = self._last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.ms[step] = round((now - self._last) * 1000, 1)
        self._last = now

    def elapsed_ms(self) -> float:
        """Since the timer started."""
        return round((time.perf_counter() - self._started) * 1000, 1)

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.0f}" for k, v in self.ms.items()) + " ms"


def iso_ms(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(path: str) -> Path:
    """The detectors' driver state is a small local folder inside the fast query's checkpoint (file:// or a
    plain path)."""
    if "://" in path and not path.startswith("file:"):
        raise ValueError(f"checkpoint dir {path} is not local; set spark.checkpoint_dir to a local or shared "
                         "filesystem path for the detectors' driver state")
    return Path(path.removeprefix("file://").removeprefix("file:"))


def build(settings, spark: SparkSession | None = None, session=None) -> StreamingJob:
    """The job with its real sources and sinks (Kafka, Cassandra, thresholds from Cassandra)."""
    from fxtrue import cassandra, thresholds
    from fxtrue.heartbeats import STREAMING, HeartbeatWriter
    from fxtrue.spark import session as spark_session
    from fxtrue.spark import streaming_master
    from jobs.streaming.progress import ProgressPoller
    from jobs.streaming.sinks import AlertSinks, CassandraSink, KafkaAlertSink, write_dlq
    from jobs.streaming.sources import kafka_ticks
    from jobs.streaming.state import ThresholdsHolder

    # Executors write ticks to Cassandra from Python workers: session() points them at this interpreter
    # locally (on a cluster: PYSPARK_PYTHON names the same environment on every node).
    spark = spark or spark_session(settings, "fxtrue-streaming", spark__master=streaming_master(settings))
    session = session or cassandra.connect(settings, component="streaming", keyspace=settings.cassandra.keyspace, wait_s=30)
    holder = ThresholdsHolder(lambda: thresholds.current_version(session, settings),
                              lambda v: thresholds.load_version(session, settings, v),
                              settings.detectors.reload_utc)
    holder.load()
    beats = HeartbeatWriter(session, settings, STREAMING)
    realtime = settings.spark.tick_mode == "realtime"
    job = StreamingJob(spark, settings, source=lambda: kafka_ticks(spark, settings), holder=holder,
                       tick_source=lambda: kafka_ticks(spark, settings, "latest", real_time=realtime),
                       cassandra_sink=CassandraSink(session, settings),
                       dlq_sink=lambda rejected: write_dlq(rejected, settings),
                       alert_sink=AlertSinks(CassandraSink(session, settings), KafkaAlertSink(settings)),
                       heartbeat=beats)
    job.progress = ProgressPoller(lambda m, i: beats.beat("running", m, i), job.status)
    beats.beat("starting", {}, {"thresholds_version": holder.snapshot().version or "warm-up"})
    return job


def main(argv: list[str] | None = None, settings=None) -> int:
    """Run until SIGTERM/SIGINT (graceful stop: running micro-batches finish, then the queries stop)."""
    from fxtrue.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "cassandra", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = settings or get_settings()
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("signal %d: stopping gracefully", signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        job = build(settings).start()
        rc = job.run_until(stop)
        if job.heartbeat is not None:
            try:
                m, i = job.status()  # with the last progress metrics
                m, i = {**job.progress.metrics, **m}, {**job.progress.info, **i}
                job.heartbeat.beat("stopped" if rc == 0 else "failed", m, i)
            except Exception as exc:  # noqa: BLE001
                log.warning("final heartbeat: %s", exc)
        return rc
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
