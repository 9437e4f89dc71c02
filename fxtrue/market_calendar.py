"""When the FX market is open: the one place that defines the weekend closure (Friday 22:00 to Sunday 22:00 UTC).

`is_market_open` works on datetimes, epoch-ms ints and numpy arrays of epoch ms; `market_open` is the same rule
as a Spark Column. The batch statistics exclude closed time, the tick-rate window grid only holds open windows,
and the data-quality completeness check only expects ticks in open hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# 1970-01-01 was a Thursday: (epoch ms + 3 days) mod week = ms since Monday 00:00 UTC.
EPOCH_TO_MONDAY_MS = 3 * DAY_MS
CLOSE_MS = 4 * DAY_MS + 22 * HOUR_MS  # Friday 22:00 UTC, from Monday 00:00
OPEN_MS = 6 * DAY_MS + 22 * HOUR_MS  # Sunday 22:00 UTC


def _to_ms(ts: Any) -> Any:
    if isinstance(ts, datetime):
        aware = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
        return int(aware.timestamp() * 1000)
    return ts


def is_market_open(ts: Any) -> Any:
    """True outside the weekend closure. `ts`: datetime (naive = UTC), epoch ms int, or numpy array of epoch ms
    (returns a bool array)."""
    ms = _to_ms(ts)
    if hasattr(ms, "dtype"):  # numpy array
        import numpy as np

        week_pos = (np.asarray(ms, dtype=np.int64) + EPOCH_TO_MONDAY_MS) % WEEK_MS
        return ~((week_pos >= CLOSE_MS) & (week_pos < OPEN_MS))
    week_pos = (int(ms) + EPOCH_TO_MONDAY_MS) % WEEK_MS
    return not (CLOSE_MS <= week_pos < OPEN_MS)


def market_open(ts_col):
    """Spark Column: True when the timestamp column is outside the weekend closure."""
    from pyspark.sql import functions as F

    week_pos = (F.unix_millis(ts_col) + F.lit(EPOCH_TO_MONDAY_MS)) % F.lit(WEEK_MS)
    return ~((week_pos >= F.lit(CLOSE_MS)) & (week_pos < F.lit(OPEN_MS)))


def open_hours(day: date) -> list[int]:
    """The UTC hours of `day` whose start is in open market time (hour buckets are whole: the closure starts
    and ends on the hour)."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return [h for h in range(24) if is_market_open(start + timedelta(hours=h))]
