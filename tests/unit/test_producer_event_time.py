"""The producer bounds event time for live sources and replays alike (issue 15): a 2099 tick in a history file
neither stalls a paced replay nor reaches fx.ticks, a tick far behind the replay clock goes to the DLQ too, each
with its reason; ticks around them flow on."""

from __future__ import annotations

import threading

from fxtrue.ticks import Tick, event_time_reason, now_epoch_ms
from producers import main
from producers.sinks import MemorySink
from producers.sources import ReplaySource

SKEW_MS = 60_000


def test_event_time_reason_live_and_replay():
    now = 1_764_000_000_000
    assert event_time_reason(now + 61_000, now_ms=now, max_skew_ms=SKEW_MS) == \
        "ts is 61 s ahead of its arrival (limit 60 s)"
    assert event_time_reason(now - 61_000, now_ms=now, max_skew_ms=SKEW_MS) == \
        "ts is 61 s behind its arrival (limit 60 s)"
    # a replay of last month is fine (history is behind the wall clock), but never ahead of it ...
    assert event_time_reason(now - 30 * 86_400_000, now_ms=now, max_skew_ms=SKEW_MS, live=False) is None
    assert event_time_reason(now + 61_000, now_ms=now, max_skew_ms=SKEW_MS, live=False,
                             replay_clock_ms=now) == "ts is 61 s ahead of its arrival (limit 60 s)"
    # ... nor far behind its own replay clock
    assert event_time_reason(now - 7_200_000, now_ms=now, max_skew_ms=SKEW_MS, live=False,
                             replay_clock_ms=now - 100) == "ts is 7199 s behind the replay clock (limit 60 s)"


def test_paced_replay_rejects_a_2099_tick_and_a_tick_behind_its_clock_and_goes_on(tmp_path):
    f = tmp_path / "EURUSD.csv"
    f.write_text("EUR/USD,20261102 10:00:00.000,1.08601,1.08605\n"
                 "EUR/USD,20261102 10:00:00.200,1.08602,1.08606\n"
                 "EUR/USD,20990101 00:00:00.000,1.08602,1.08606\n"
                 "EUR/USD,20261102 10:00:00.400,1.08603,1.08607\n"
                 "EUR/USD,20261102 08:00:00.000,1.08603,1.08607\n"
                 "EUR/USD,20261102 10:00:00.600,1.08604,1.08608\n")
    source = ReplaySource([f], speed=1.0, max_ahead_ms=SKEW_MS)
    sink = MemorySink()
    stop = threading.Event()
    timer = threading.Timer(30, stop.set)  # the old source waited for 2099 here
    timer.start()
    try:
        stats = main.run(source, sink, stop=stop, max_skew_ms=SKEW_MS)
    finally:
        timer.cancel()
    assert not stop.is_set(), "the replay finished by itself"
    assert [t.ts % 1000 for t in sink.ticks] == [0, 200, 400, 600]
    reasons = [r.reason for r in sink.rejections]
    assert len(reasons) == 2 and reasons[0].startswith("ts is ") and "s ahead of its arrival (limit 60 s)" in reasons[0]
    assert reasons[1] == "ts is 7200 s behind the replay clock (limit 60 s)"
    assert stats.reasons and stats.rejected == 2


class LiveSource:
    name = "sim"
    live = True

    def batches(self, stop):
        now = now_epoch_ms()
        yield [Tick("EUR/USD", now, 1.1, 1.1002, "sim", now),
               Tick("EUR/USD", 4_070_908_800_000, 1.1, 1.1002, "sim", now),
               Tick("EUR/USD", now + 1000, 1.1, 1.1002, "sim", now)]

    def close(self):
        pass

    def describe(self):
        return {}


def test_live_source_rejects_a_2099_tick():
    sink = MemorySink()
    main.run(LiveSource(), sink, max_skew_ms=SKEW_MS)
    assert len(sink.ticks) == 2
    assert [r.reason.split(" s ", 1)[1] for r in sink.rejections] == ["ahead of its arrival (limit 60 s)"]
