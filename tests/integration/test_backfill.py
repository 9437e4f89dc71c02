"""Backfill: history files (CSV and zip) into the tick lake, idempotent on re-run, bad rows reported;
read_lake unions the history and live roots and de-duplicates on (pair, ts). fx_backfill via dag.test(): reads
only inside its input roots, shows bad rows only as masked samples, passes loaded dates as data, and a run that
loads nothing fails."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest
from canary import canary

import dag_helpers as h  # noqa: E402  (sets the throw-away AIRFLOW_HOME before airflow is imported)
from fxtrue import lake
from fxtrue.frames import TICK_SCHEMA
from fxtrue.simulator import simulate_files
from jobs.batch.backfill import backfill


def test_backfill_is_idempotent_and_reports_bad_rows(spark, settings, tmp_path):
    s = settings.replace(spark={"lake_path": str(tmp_path / "lake")})
    files = tmp_path / "files"
    summary = simulate_files(files, date(2026, 11, 4), 2, pairs=("EUR/USD", "USD/JPY"), rate_scale=0.005, seed=9,
                             zip_files=True)
    with zipfile.ZipFile(files / "EURUSD-2026-11.zip") as zf:
        eur = zf.read("EURUSD-2026-11.csv").decode()
    (files / "EURUSD-2026-11.zip").unlink()
    (files / "EURUSD-2026-11.csv").write_text(eur + "EUR/USD,20261105 10:00:00.000,bad,1.1\n")

    msgs: list[str] = []
    first = backfill(spark, s, [str(files)], progress=msgs.append)
    assert first.ticks == summary.ticks and first.bad_rows == 1
    assert first.examples[0][2] == "bid is not a number" and first.partitions == 4  # 2 pairs x 2 days
    assert first.dates == ["2026-11-04", "2026-11-05"]  # the loaded days, as data (not scraped from a log)
    assert any("bad row" in m for m in msgs)

    again = backfill(spark, s, [str(files / "EURUSD-2026-11.csv")], progress=msgs.append)  # a re-run
    df = lake.read_lake(spark, s, "2026-11-04", "2026-11-05")
    assert [f.name for f in df.schema] == [f.name for f in TICK_SCHEMA]
    raw = spark.read.parquet(lake.history_path(s))
    assert raw.count() == summary.ticks == df.count()  # nothing duplicated on disk
    assert again.ticks == summary.per_pair["EUR/USD"]
    assert {r["symbol"] for r in raw.select("symbol").distinct().collect()} == {"EURUSD", "USDJPY"}
    assert lake.read_lake(spark, s, "2026-11-05", "2026-11-05").count() < summary.ticks
    assert lake.read_lake(spark, s, pairs=["USD/JPY"]).count() == summary.per_pair["USD/JPY"]

    # The live root (the streaming job's) may hold the same ticks again: read_lake keeps one of each.
    live = df.where("pair = 'USD/JPY'").limit(50)
    from fxtrue.frames import with_lake_partitions
    live.transform(with_lake_partitions).write.partitionBy("symbol", "date").parquet(lake.live_path(s))
    assert lake.read_lake(spark, s).count() == summary.ticks


def test_read_lake_with_no_data_is_empty(spark, settings, tmp_path):
    s = settings.replace(spark={"lake_path": str(tmp_path / "nothing")})
    df = lake.read_lake(spark, s, date(2026, 1, 1), date(2026, 1, 2))
    assert df.count() == 0 and [f.name for f in df.schema] == [f.name for f in TICK_SCHEMA]


# -- fx_backfill via dag.test(): input roots, masked samples, structured outcome, no green empty run ------------

SECRET = canary("secret")  # random per run: a file line that must never reach the task log
FAKE_KEY = f"api_secret_key={SECRET}"


@pytest.fixture
def dag_env(settings, tmp_path, monkeypatch):
    """Settings whose input root is a fresh folder (and a secret folder beside it); tasks see them via env."""
    root, outside = tmp_path / "truefx", tmp_path / "private"
    root.mkdir()
    outside.mkdir()
    (outside / "credentials.csv").write_text(f"[default]\n{FAKE_KEY}\n")
    user, password = settings.cassandra_credentials()
    s = settings.replace(state_dir=tmp_path / "state", cassandra={"username": user, "password": password},
                         spark={"lake_path": str(tmp_path / "lake"), "jars_dir": str(settings.spark_jars_dir)},
                         airflow={"backfill_input_roots": (str(root),)})
    h.task_env(monkeypatch, s)
    h.airflow_db()
    return s, root, outside


def run_backfill(capfd, **conf):
    dr = h.load_dag("fx_backfill").test(run_conf={"files": [], "s3_prefix": "", "stats": False, **conf})
    out = capfd.readouterr()
    return dr, h.ti_states(dr), out.out + out.err


def test_fx_backfill_refuses_paths_outside_its_roots_before_reading(dag_env, capfd):
    s, root, outside = dag_env
    (root / "EURUSD-2026-12.csv").symlink_to(outside / "credentials.csv")
    for files, why in (([str(outside / "credentials.csv")], "outside the input roots"),
                       ([f"{root}/../private/credentials.csv"], "contains '..'"),
                       ([str(root / "EURUSD-2026-12.csv")], "outside the input roots"),
                       ([str(root)], "outside the input roots")):  # a folder holding a symlink out
        dr, states, log = run_backfill(capfd, files=files)
        assert states["load_lake"] == "failed", (files, states)
        assert why in log and "nothing was read" in log, log[-3000:]
        assert SECRET not in log and "backfill --confine" not in log  # no child was started
    dr, states, log = run_backfill(capfd, s3_prefix="s3a://bucket/truefx/")
    assert states["load_lake"] == "failed" and "aws s3 sync" in log


def test_fx_backfill_shows_only_masked_samples_and_passes_dates_as_data(dag_env, capfd):
    s, root, _ = dag_env
    ticks = [f"EUR/USD,20261105 10:00:0{i}.000,1.1460{i},1.1461{i}" for i in range(5)]
    (root / "EURUSD-2026-11.csv").write_text("\n".join([ticks[0], FAKE_KEY, *ticks[1:], "password: hunter2"]) + "\n")
    dr, states, log = run_backfill(capfd, files=[str(root / "*.csv")])
    assert states["load_lake"] == "success", log[-5000:]
    loaded = h.xcom(dr, "load_lake")
    assert loaded["dates"] == ["2026-11-05"] and loaded["from"] == loaded["to"] == "2026-11-05"
    assert loaded["ticks"] == 5 and loaded["bad_rows"] == 2 and loaded["partitions"] == 1
    assert {smp["row"] for smp in loaded["samples"]} == {f"<{len(FAKE_KEY)} chars>", "<17 chars>"}
    assert SECRET not in log and "hunter2" not in log, "file text reached the task log"
    assert f"<{len(FAKE_KEY)} chars>" in log and "2 bad row(s)" in log


def test_fx_backfill_that_loads_nothing_is_not_green(dag_env, capfd):
    s, root, _ = dag_env
    (root / "EURUSD-2026-11.csv").write_text(f"{FAKE_KEY}\nnot,a,tick,row\n")
    dr, states, log = run_backfill(capfd, files=[str(root)], stats=True)
    assert states["load_lake"] == "failed", states
    assert "loaded nothing" in log and SECRET not in log
    assert states.get("publish") != "success"
