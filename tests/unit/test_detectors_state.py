"""Driver-side state of the streaming job (pure Python): thresholds reload rules, the stale_feed carry store,
and processing-time stale_feed (fires with no data at all; silent in warm-up, when closed, when fresh)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fxtrue.settings import DetectorSettings
from fxtrue.thresholds import ThresholdRow, Thresholds
from jobs.streaming.state import (BatchStateStore, LastSeen, ThresholdsHolder, WindowState, next_reload,
                                  processing_time_stale)

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


def test_batch_state_store_replays_what_a_rerun_batch_started_from(tmp_path):
    c = BatchStateStore(tmp_path)
    c.save(0, {"carry": {"EUR/USD": 1}})
    c.save(1, {"carry": {"EUR/USD": 2}})
    assert c.before(1) == {"carry": {"EUR/USD": 1}}   # batch 1 re-run after a crash starts from batch 0's state
    assert c.before(5) == {"carry": {"EUR/USD": 2}} and c.latest() == (1, {"carry": {"EUR/USD": 2}})
    assert c.before(0) == {} and BatchStateStore(tmp_path / "new").latest() is None
    for b in range(2, 30):
        c.save(b, {})
    assert len(list(tmp_path.glob("*.json"))) == BatchStateStore.KEEP


def part(pair: str, start_s: int, n: int, lo: float, hi: float, last_s: float, crossed: int = 0) -> dict:
    """A partial aggregate of one (pair, 10 s window) (AGG_COLUMNS, epoch ms)."""
    ws = start_s * 1000
    return {"pair": pair, "window_start": ws, "window_end": ws + 10_000, "tick_count": n, "mid_min": lo,
            "mid_max": hi, "mid_mean": (lo + hi) / 2, "spread_max_bps": 1.0, "crossed_count": crossed,
            "first_ts": ws, "last_ts": int(last_s * 1000), "last_received_at": int(last_s * 1000) + 5}


def test_window_state_closes_what_the_watermark_passes_and_drops_ticks_of_closed_windows():
    st = WindowState(lateness_ms=5_000)
    step = st.advance([part("EUR/USD", 0, 3, 1.0, 1.1, 9), part("USD/JPY", 0, 2, 150.0, 150.1, 8)])
    assert step.closed == [] and {w["pair"] for w in step.touched} == {"EUR/USD", "USD/JPY"}
    assert st.watermark_ms == 4_000  # newest event 9 s minus 5 s lateness
    step = st.advance([part("EUR/USD", 10, 1, 1.05, 1.05, 16), part("EUR/USD", 0, 2, 0.9, 1.0, 9.5)])
    # the watermark (4 s) had not passed the first window's end: its late part still counts; then 16 - 5 = 11 s
    # closes both pairs' first windows, judged once with all their ticks
    assert [(w["pair"], w["window_start"], w["tick_count"], w["mid_min"]) for w in step.closed] == [
        ("EUR/USD", 0, 5, 0.9), ("USD/JPY", 0, 2, 150.0)]
    assert [(w["pair"], w["window_start"]) for w in step.touched] == [("EUR/USD", 10_000)]
    assert step.late_ticks == 0 and st.carry == {}  # the carry moves only once the closed windows are judged
    st.closed_judged(step.closed)
    assert st.carry == {"EUR/USD": 9_500, "USD/JPY": 8_000}
    step = st.advance([part("USD/JPY", 0, 4, 151.0, 151.0, 7), part("USD/JPY", 10, 1, 150.0, 150.0, 12)])
    assert step.late_ticks == 4 and step.closed == []  # its window closed a batch ago: dropped, as Spark would
    assert sorted(st.running.windows) == [("EUR/USD", 10_000), ("USD/JPY", 10_000)]


def test_window_state_round_trips_through_its_saved_form(tmp_path):
    st = WindowState(lateness_ms=5_000)
    st.advance([part("EUR/USD", 0, 3, 1.0, 1.1, 9), part("EUR/USD", 10, 1, 1.0, 1.0, 18)])
    st.closed_judged(st.advance([part("EUR/USD", 20, 1, 1.0, 1.0, 25)]).closed)
    store = BatchStateStore(tmp_path)
    store.save(7, st.to_json())
    back = WindowState.from_json(store.before(8), 5_000)
    assert (back.running.windows, back.carry, back.max_event_ms, back.watermark_ms) == (
        st.running.windows, st.carry, 25_000, 20_000)
    assert store.latest()[1]["watermark_ms"] == 20_000  # what fxtrue.checkpoints reads
    fresh = WindowState.from_json({}, 5_000)
    assert fresh.watermark_ms is None and fresh.advance([]).closed == []


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
