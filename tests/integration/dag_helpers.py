"""Helpers for dag.test() against the real stack: a throw-away Airflow metadata DB, task settings via env."""

from __future__ import annotations

import time
from pathlib import Path

from fxtrue.airflow_local import use_isolated_home

use_isolated_home()  # before anything imports airflow

DAGS = Path(__file__).resolve().parents[2] / "dags"
_db_ready = False


def airflow_db() -> None:
    """Create the test metadata DB once per process."""
    global _db_ready
    if not _db_ready:
        from airflow.utils import db

        db.initdb()
        _db_ready = True


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def task_env(monkeypatch, settings) -> None:
    """Make tasks (which load settings from the environment) see the test's settings."""
    from fxtrue.orchestration.connections import settings_env
    from fxtrue.settings import load_settings

    for key, value in settings_env(settings, load_settings({})).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FXTRUE_STATE_DIR", str(settings.state_dir))


def ti_states(dr) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state.value if hasattr(ti.state, "value") else ti.state)
                for ti in dr.get_task_instances(session=session)}


def wait_for(predicate, timeout_s: float, what: str, every_s: float = 2.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def xcom(dr, task_id: str):
    """The return value a task of the run pushed (XCom), deserialised; None if it pushed nothing."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=dr.dag_id, run_id=dr.run_id, task_id=task_id,
                                                 key="return_value").one_or_none()
        return None if row is None else XComModel.deserialize_value(row)
