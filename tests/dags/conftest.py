"""DAG tests run against a throw-away AIRFLOW_HOME (SQLite, no example DAGs), configured before airflow is
imported; the metadata DB is created once per session, only by tests that need it (dag.test())."""

from __future__ import annotations

from fxtrue.airflow_local import use_isolated_home

use_isolated_home()
