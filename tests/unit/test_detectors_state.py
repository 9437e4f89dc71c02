"""Driver-side state of the streaming job (pure Python): thresholds reload rules, the stale_feed carry store,
and processing-time stale_feed (fires with no data at all; silent in warm-up, when closed, when fresh)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fxtrue.settings import DetectorSettings
from fxtrue.thresholds import ThresholdRow, Thresholds
from jobs.streaming.state import (CarryStore, LastSeen, ThresholdsHolder, next_reload, processing_time_stale)

CFG = DetectorSettings()
TUE_10 = datetime(2026, 11, 3, 10, 0, 5, tzinfo=timezone.utc)
SAT_10 = datetime(2026, 11, 7, 10, 0, 5, tzinfo=timezone.utc)


def ms(dt):
    return int(dt.timestamp() * 1000)


def thresholds(version, n=100, threshold=20.0):
    return Thresholds(version, TUE_10, "sim", rows=[
        ThresholdRow("stale_feed", "EUR/USD", 10, n, 2.0, 3.0, 1.5, 1.0, 15.0, 18.0, 19.0, threshold)])


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_next_reload_is_strictly_after_now():
    assert next_reload(datetime(2026, 11, 3, 0, 10, tzinfo=timezone.utc), "00:30") == \
        datetime(2026, 11, 3, 0, 30, tzinfo=timezone.utc)
    assert next_reload(datetime(2026, 11, 3, 0, 30, tzinfo=timezone.utc), "00:30") == \
        datetime(2026, 11, 4, 0, 30, tzinfo=timezone.utc)


def test_holder_switches_on_a_new_pointer_and_reloads_daily():
    store = {"v1": thresholds("v1"), "v2": thresholds("v2")}
    pointer = {"v": None}
    loads = []

    def load(v):
        loads.append(v)
        return store[v]

    clock = Clock(datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc))
    h = ThresholdsHolder(lambda: pointer["v"], load, "00:30", clock)
    assert h.load().version is None  # warm-up
    assert not h.check()
    pointer["v"] = "v1"
    assert h.check() and h.snapshot().version == "v1"
    assert not h.check() and loads == ["v1"]  # cheap check: same pointer, nothing reloaded
    clock.now = datetime(2026, 11, 4, 0, 31, tzinfo=timezone.utc)
    h.check()
    assert loads == ["v1", "v1"], "the daily reload re-reads the current version"
    pointer["v"] = "v2"
    assert h.check() and h.snapshot().version == "v2"


def test_carry_store_replays_what_a_rerun_batch_saw(tmp_path):
    c = CarryStore(tmp_path)
    c.save(0, {"EUR/USD": 1})
    c.save(1, {"EUR/USD": 2})
    assert c.before(1) == {"EUR/USD": 1}   # batch 1 re-run after a crash sees batch 0's carry
    assert c.before(5) == {"EUR/USD": 2}
    assert c.before(0) == {}


def test_processing_time_stale_fires_with_no_data_at_all():
    h = ThresholdsHolder(lambda: "v1", lambda v: thresholds(v), "00:30")
    h.load()
    seen = LastSeen(started_ms=ms(TUE_10))
    assert processing_time_stale(ms(TUE_10 + timedelta(seconds=30)), seen, h.snapshot(), ["EUR/USD"], CFG) == []
    alerts = processing_time_stale(ms(TUE_10 + timedelta(seconds=61)), seen, h.snapshot(), ["EUR/USD"], CFG)
    assert [a["subject"] for a in alerts] == ["EUR/USD"]
    assert alerts[0]["threshold"] == CFG.stale_after_seconds  # floored
    assert "processing time" in alerts[0]["details"] and alerts[0]["thresholds_version"] == "v1"


def test_processing_time_stale_is_keyed_like_the_event_time_statistic():
    h = ThresholdsHolder(lambda: "v1", lambda v: thresholds(v), "00:30")
    h.load()
    seen = LastSeen(started_ms=ms(TUE_10))
    last_tick = ms(TUE_10) + 3_456
    seen.update("EUR/USD", last_tick, last_tick + 5)
    [a] = processing_time_stale(last_tick + 5 + 70_000, seen, h.snapshot(), ["EUR/USD"], CFG)
    assert a["window_start"] == last_tick - last_tick % 10_000 + 10_000  # the first silent window
    assert a["alert_id"].startswith("stale_feed|EUR/USD|2026-11-03T10:00:10.000Z")


def test_processing_time_stale_is_silent_in_warm_up_on_weekends_and_without_baseline():
    old = LastSeen(started_ms=ms(TUE_10) - 3_600_000)  # nothing for an hour before Tuesday 10:00
    h = ThresholdsHolder(lambda: "v1", lambda v: thresholds(v), "00:30")
    h.load()
    assert processing_time_stale(ms(TUE_10), old, h.snapshot(), ["EUR/USD"], CFG), "the control case fires"
    warm = ThresholdsHolder(lambda: None, lambda v: None, "00:30")
    warm.load()
    assert processing_time_stale(ms(TUE_10), old, warm.snapshot(), ["EUR/USD"], CFG) == []
    weekend = LastSeen(started_ms=ms(SAT_10) - 3_600_000)
    assert processing_time_stale(ms(SAT_10), weekend, h.snapshot(), ["EUR/USD"], CFG) == []  # market closed
    few = ThresholdsHolder(lambda: "v1", lambda v: thresholds(v, n=3), "00:30")
    few.load()
    assert processing_time_stale(ms(TUE_10), old, few.snapshot(), ["EUR/USD"], CFG) == []  # n < min_samples
    assert processing_time_stale(ms(TUE_10), old, h.snapshot(), ["GBP/USD"], CFG) == []  # no baseline row


def test_feed_kind_mismatch_warns_once(caplog):
    h = ThresholdsHolder(lambda: "v1", lambda v: thresholds(v), "00:30")
    h.load()
    with caplog.at_level("WARNING", logger="fxtrue.streaming"):
        h.note_feed_kinds({"truefx"})
        h.note_feed_kinds({"truefx"})
    msgs = [r.message for r in caplog.records if "learnt from a 'sim' source" in r.message]
    assert len(msgs) == 1 and "'polled'" in msgs[0]
