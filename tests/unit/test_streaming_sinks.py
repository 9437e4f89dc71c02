"""Pure parts of the streaming job's Cassandra sink: the UTC day a row's partition key takes (the raw ticks'
JVM writer is tested against the real Cassandra in tests/integration/test_tick_archive.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jobs.streaming.sinks import day_of

MS = 1_762_300_800_000  # 2025-11-05T00:00:00Z


@pytest.mark.parametrize("ms", [0, MS - 1, MS, MS + 86_399_999, 4_102_444_799_999])
def test_day_of_is_the_utc_day(ms):
    assert day_of(ms) == datetime.fromtimestamp(ms / 1000, tz=timezone.utc).date()
