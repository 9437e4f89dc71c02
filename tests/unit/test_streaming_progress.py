"""The streaming job's progress: the line says where a micro-batch's time went; the poller notes each query's
new batches once and writes the heartbeat."""

import logging
from types import SimpleNamespace

from jobs.streaming.progress import ProgressPoller, duration_parts


def test_duration_parts_in_trigger_order_with_only_what_spark_reported():
    d = {"addBatch": 6100, "triggerExecution": 6500, "queryPlanning": 340, "latestOffset": 12, "walCommit": 25,
         "commitOffsets": 30, "getBatch": 0}
    assert duration_parts(d) == "offsets 12, planning 340, wal 25, run 6100, commit 30 ms"
    assert duration_parts({"latestOffset": 3, "triggerExecution": 4}) == "offsets 3 ms"  # an idle trigger
    assert duration_parts(None) == duration_parts({}) == ""


def progress(name: str, batch: int, rows: int = 10, watermark: str = ""):
    """The fields of a StreamingQueryProgress the job reads."""
    return SimpleNamespace(name=name, batchId=batch, numInputRows=rows, inputRowsPerSecond=5.0,
                           processedRowsPerSecond=20.0, batchDuration=500, durationMs={"addBatch": 400},
                           eventTime={"watermark": watermark} if watermark else {}, stateOperators=[])


class Query:
    def __init__(self, p=None, fails: bool = False) -> None:
        self.p, self.fails = p, fails

    @property
    def lastProgress(self):
        if self.fails:
            raise RuntimeError("query stopped")
        return self.p


def test_the_poller_notes_each_new_batch_once_and_counts_the_batches_between_polls(caplog):
    beats = []
    poller = ProgressPoller(lambda m, i: beats.append((m, i)), lambda: ({"alerts": 1.0}, {"queries": "raw"}))
    raw = Query(progress("raw", 3, watermark="2026-12-02T10:00:00.000Z"))
    queries = {"raw": raw, "idle": Query(None), "stopping": Query(fails=True)}
    with caplog.at_level(logging.INFO, logger="fxtrue.streaming"):
        assert poller.poll(queries) == 1
        assert poller.poll(queries) == 0  # the same batch: not noted again
        raw.p = progress("raw", 8, rows=40)
        assert poller.poll(queries) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("raw batch 3: 10 rows")
    assert lines[1].startswith("raw batch 8 (+4 since the last line): 40 rows")
    assert poller.metrics["raw.batch_id"] == 8.0 and poller.metrics["raw.input_rows"] == 40.0
    assert poller.info["raw.watermark"] == "2026-12-02T10:00:00.000Z"
    poller.beat_now()
    assert beats[-1][0]["raw.batch_duration_ms"] == 500.0 and beats[-1][0]["alerts"] == 1.0
    assert beats[-1][1] == {"raw.watermark": "2026-12-02T10:00:00.000Z", "queries": "raw"}


def test_a_failed_heartbeat_write_is_logged_not_raised(caplog):
    def beat(m, i):
        raise OSError("cassandra down")

    with caplog.at_level(logging.WARNING, logger="fxtrue.streaming"):
        ProgressPoller(beat).beat_now()
        ProgressPoller().beat_now()  # no heartbeat writer (the benchmark): nothing to do
    assert [r.getMessage() for r in caplog.records] == ["heartbeat write failed: cassandra down"]


def test_step_timer_says_where_a_batch_went_step_by_step():
    import time

    from jobs.streaming.job import StepTimer

    t = StepTimer()
    time.sleep(0.2)
    t.done("aggregate")
    t.done("archive")
    # each step is measured from the one before (not from the start): archive excludes aggregate's 200 ms sleep
    assert list(t.ms) == ["aggregate", "archive"] and t.ms["aggregate"] >= 200 and 0 <= t.ms["archive"]
    assert t.ms["archive"] < t.ms["aggregate"]
    assert t.elapsed_ms() >= t.ms["aggregate"] + t.ms["archive"]  # the whole batch so far
    assert str(t).startswith("aggregate ") and str(t).endswith(" ms")
