"""The streaming job's tick archive (`sinks.TickArchive`: the JVM writer io.fxtrue.streaming.TickArchiver)
against the real local Cassandra: every row lands in its (pair, UTC day) partition with its values, NaN and
infinite high/low/open become nulls, a partition larger than one batch is written whole, and writing the same
ticks again (a re-run micro-batch) leaves the same rows."""

from __future__ import annotations

from datetime import date, timezone

import pytest
from isolation import module_world

pytestmark = [pytest.mark.integration]

settings, cql = module_world("a")

DAY_MS = 86_400_000
MIDNIGHT = 1_762_300_800_000  # 2025-11-05T00:00:00Z


def ticks(n_big: int):
    """(pair, ts, bid, ask, high, low, open, source, received_at): a partition of n_big ticks on 2025-11-05, one
    tick either side of its midnights, odd values in high/low/open."""
    rows = [("EUR/USD", MIDNIGHT + 10 * i, 1.1 + i * 1e-6, 1.1001 + i * 1e-6, None, None, None, "sim",
             MIDNIGHT + 10 * i + 3) for i in range(n_big)]
    rows += [
        ("EUR/USD", MIDNIGHT - 1, 1.1, 1.2, float("nan"), float("inf"), 1.15, "truefx", MIDNIGHT + 7),
        ("USD/JPY", MIDNIGHT + DAY_MS, 150.1, 150.2, 150.3, float("-inf"), None, "replay", None),
    ]
    return rows


def stored(cql) -> dict[tuple, tuple]:
    out = {}
    for r in cql.execute("SELECT pair, day, ts, bid, ask, high, low, open, source, received_at "
                         "FROM ticks_by_pair_day"):
        ms = int(r.ts.replace(tzinfo=timezone.utc).timestamp() * 1000)
        rec = (None if r.received_at is None
               else int(r.received_at.replace(tzinfo=timezone.utc).timestamp() * 1000))
        out[(r.pair, ms)] = (r.day.date(), r.bid, r.ask, r.high, r.low, r.open, r.source, rec)
    return out


def test_the_jvm_archive_writes_each_tick_once_into_its_partition(settings, cql, spark):
    from jobs.streaming.sinks import TICK_ROW_FIELDS, TickArchive

    n_big = 7 * settings.cassandra.tick_batch_rows + 3  # several batches and a partial one
    rows = ticks(n_big)
    ddl = ("pair string, ts long, bid double, ask double, high double, low double, open double, source string, "
           "received_at long")
    df = spark.createDataFrame(rows, ddl).repartition(3)  # several writing tasks
    assert tuple(df.columns) == TICK_ROW_FIELDS

    archive = TickArchive(spark, settings)
    assert archive.write(df) == len(rows)
    first = stored(cql)
    assert archive.write(df) == len(rows)  # the same micro-batch again: same rows, no more
    assert stored(cql) == first

    assert len(first) == len(rows)
    assert first[("EUR/USD", MIDNIGHT - 1)] == (date(2025, 11, 4), 1.1, 1.2, None, None, 1.15, "truefx",
                                                MIDNIGHT + 7)
    assert first[("USD/JPY", MIDNIGHT + DAY_MS)] == (date(2025, 11, 6), 150.1, 150.2, 150.3, None, None,
                                                     "replay", None)
    for i in (0, n_big // 2, n_big - 1):
        r = rows[i]
        assert first[("EUR/USD", r[1])] == (date(2025, 11, 5), r[2], r[3], None, None, None, "sim", r[8])
    assert {k[1] for k in first if k[0] == "EUR/USD"} == {r[1] for r in rows if r[0] == "EUR/USD"}
    ttl = cql.execute("SELECT TTL(bid) AS t FROM ticks_by_pair_day WHERE pair = 'USD/JPY' AND day = '2025-11-06'").one()
    assert 0 < ttl.t <= settings.cassandra.ticks_ttl_s
