"""Pure parts of the streaming job's Cassandra sink: the tick row -> INSERT arguments, and the grouping of
ticks into single-partition batches."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from jobs.streaming.sinks import day_of, partition_chunks, tick_args

MS = 1_762_300_800_000  # 2025-11-05T00:00:00Z


@pytest.mark.parametrize("ms", [0, MS - 1, MS, MS + 86_399_999, 4_102_444_799_999])
def test_day_of_is_the_utc_day(ms):
    assert day_of(ms) == datetime.fromtimestamp(ms / 1000, tz=timezone.utc).date()


def test_tick_args_from_tuple_and_dict_agree_and_clean_nan():
    row = ("EUR/USD", MS + 5, 1.1, 1.2, float("nan"), None, 1.15, "sim", MS + 9)
    want = ("EUR/USD", date(2025, 11, 5), MS + 5, 1.1, 1.2, None, None, 1.15, "sim", MS + 9)
    assert tick_args(row) == want
    keys = ("pair", "ts", "bid", "ask", "high", "low", "open", "source", "received_at")
    assert tick_args(dict(zip(keys, row))) == want


def test_partition_chunks_stay_inside_one_partition_and_under_the_size():
    ticks = [tick_args((pair, ts, 1.0, 1.0, None, None, None, "sim", ts))
             for ts in range(MS - 3, MS + 7) for pair in ("EUR/USD", "USD/JPY")]  # 2 pairs x 2 days
    chunks = list(partition_chunks(ticks, 3))
    assert all(len(c) <= 3 and len({(a[0], a[1]) for a in c}) == 1 for c in chunks)
    assert sorted(a for c in chunks for a in c) == sorted(ticks)  # every tick once
    sizes = {}
    for c in chunks:
        sizes.setdefault((c[0][0], c[0][1]), []).append(len(c))
    assert sizes == {("EUR/USD", date(2025, 11, 4)): [3], ("USD/JPY", date(2025, 11, 4)): [3],
                     ("EUR/USD", date(2025, 11, 5)): [3, 3, 1], ("USD/JPY", date(2025, 11, 5)): [3, 3, 1]}
