"""`fxtrue airflow up|down|status`: the local Airflow (standalone) with the project's DAGs."""

from __future__ import annotations

import argparse
import json

from fxtrue.settings import Settings

HELP = """Run Airflow 3 locally as `airflow standalone`: SQLite metadata, LocalExecutor, the simple auth
manager, AIRFLOW_HOME under the state dir (FXTRUE_AIRFLOW_HOME, default <state>/airflow), the repository's
dags/ folder, no example DAGs, the UI/API on 127.0.0.1:<FXTRUE_AIRFLOW_PORT> (8080). The admin password is
generated once and kept in <AIRFLOW_HOME>/simple_auth_manager_passwords.json.generated (mode 600).

  up      start it detached (idempotent) and wait until /api/v2/monitor/health reports healthy
  down    stop it (the whole process group); jobs its supervisor launched keep running
          (stop them with `fxtrue airflow down --jobs`)
  status  pid, URL, health, memory and log; exit 1 when not healthy

The fx_supervisor DAG is active from the start (it launches the producer and the streaming job);
the daily DAGs start paused: enable them in the UI."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("airflow", help="start, stop or inspect the local Airflow with the project's DAGs",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--jobs", action="store_true",
                   help="down: also stop the producer and streaming job the supervisor launched")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue import airflow_local

    if args.action == "up":
        st = airflow_local.up(settings)
        print_status(st, settings)
        return 0
    if args.action == "down":
        airflow_local.down(settings)
        if args.jobs:
            from fxtrue.orchestration import processes
            for job in processes.job_specs(settings):
                if processes.stop(settings, job):
                    print(f"{job}: stopped")
        return 0
    st = airflow_local.status(settings)
    if args.json:
        print(json.dumps({**st.__dict__, "log": str(st.log)}, indent=2))
    else:
        print_status(st, settings)
    return 0 if st.healthy else 1


def print_status(st, settings: Settings) -> None:
    from fxtrue import airflow_local

    state = "healthy" if st.healthy else ("UNHEALTHY" if st.running else "stopped")
    rss = f", rss {st.rss_mb:.0f} MB" if st.rss_mb else ""
    print(f"  airflow    {state:<10} pid {st.pid or '-'}{rss}; {st.url}; {st.detail}")
    print(f"             log {st.log}")
    user, _ = airflow_local.ensure_credentials(settings)  # never printed: status output ends up in logs
    print(f"             login {user}, password in {airflow_local.passwords_file(settings)} (mode 600)")
