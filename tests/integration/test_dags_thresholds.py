"""fx_thresholds_daily via dag.test() against the real stack: a clean lake publishes a version; a corrupted
lake day fails the run with the failing expectations named, and the current version stays."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import dag_helpers as h  # noqa: E402  (sets the throw-away AIRFLOW_HOME before airflow is imported)

pytestmark = [pytest.mark.integration]

FIRST = date(2026, 11, 2)  # Monday: a week of simulated history, weekend included
DAYS = 7
LAST = FIRST + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def lake_settings(settings, tmp_path_factory):
    """The session's settings with a week of small simulated history backfilled into its lake."""
    from fxtrue.orchestration.connections import settings_env
    from fxtrue.orchestration.processes import child_env
    from fxtrue.settings import load_settings

    hist = tmp_path_factory.mktemp("history")
    env = child_env(settings, settings_env(settings, load_settings({})))
    for args in (["simulate", "--start", FIRST.isoformat(), "--days", str(DAYS), "--out", str(hist),
                  "--rate-scale", "0.05", "--seed", "7"],
                 ["backfill", str(hist)]):
        out = subprocess.run([sys.executable, "-m", "fxtrue.cli", *args], env=env, capture_output=True, text=True,
                             timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return settings


def run_dag(monkeypatch, settings):
    h.task_env(monkeypatch, settings)
    h.airflow_db()
    dag = h.load_dag("fx_thresholds_daily")
    logical = datetime(LAST.year, LAST.month, LAST.day, 0, 30, tzinfo=timezone.utc) + timedelta(days=1)
    return dag.test(logical_date=logical, run_conf={"lookback_days": DAYS})


def current(cql, settings):
    from fxtrue.thresholds import current_version

    return current_version(cql, settings)


def test_publishes_a_version_then_a_corrupted_day_fails_and_the_version_stays(lake_settings, cql, monkeypatch):
    s = lake_settings
    before = current(cql, s)

    dr = run_dag(monkeypatch, s)
    states = h.ti_states(dr)
    assert set(states.values()) == {"success"}, states
    published = current(cql, s)
    assert published and published != before
    row = cql.execute(f"SELECT status, dq_success, source_from, source_to FROM {s.cassandra.keyspace}"
                      ".threshold_versions_by_id WHERE version = %s", (published,)).one()
    assert row.status == "published" and row.dq_success is True
    assert (str(row.source_from), str(row.source_to)) == (FIRST.isoformat(), LAST.isoformat())
    outcome = cql.execute(f"SELECT success, target FROM {s.cassandra.keyspace}.dq_runs_by_suite "
                          "WHERE suite = 'pipeline.fx_thresholds_daily' LIMIT 1").one()
    assert outcome.success is True and published in outcome.target

    corrupt_day(s, LAST)
    dr = run_dag(monkeypatch, s)
    states = h.ti_states(dr)
    assert states["check_lake"] == "failed" and states["publish"] == "upstream_failed", states
    assert states["record_outcome"] == "failed" and str(dr.state) in ("failed", "DagRunState.FAILED")
    # the failing expectations are named (the task's failure message lists the same lines)
    runs = [cql.execute(f"SELECT suite, success, failing_expectations, target FROM {s.cassandra.keyspace}"
                        ".dq_runs_by_suite WHERE suite = %s LIMIT 1", (suite,)).one() for suite in ("ticks", "ticks_daily")]
    failed = [r for r in runs if r is not None and str(LAST) in r.target and r.success is False]
    assert failed and all(r.failing_expectations for r in failed), runs
    assert current(cql, s) == published  # the current version stays
    outcome = cql.execute(f"SELECT success, failing_expectations FROM {s.cassandra.keyspace}.dq_runs_by_suite "
                          "WHERE suite = 'pipeline.fx_thresholds_daily' LIMIT 1").one()
    assert outcome.success is False and any("check_lake" in f for f in outcome.failing_expectations)


def corrupt_day(settings, day: date) -> None:
    """Add off-market rows (negative, crossed-by-miles prices) to one lake partition, as a broken feed would."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from fxtrue.lake import history_path

    part = Path(history_path(settings)) / "symbol=EURUSD" / f"date={day.isoformat()}"
    src = sorted(part.glob("*.parquet"))[0]
    table = pq.ParquetFile(src).read()
    n = min(table.num_rows, 500)
    bad = table.slice(0, n)
    bad = bad.set_column(bad.schema.get_field_index("bid"), "bid", pc.multiply(bad["bid"], -1.0))
    # Same physical timestamp type as Spark's files (INT96), so the rows are readable, just wrong.
    pq.write_table(bad, part / "part-corrupted-by-test.parquet", use_deprecated_int96_timestamps=True)
