"""The callables behind the DAG tasks. Each resolves settings (fxtrue settings + Airflow connections) inside
the task, calls the same functions the `fxtrue` commands call, and returns a small JSON-able summary (XCom).
Spark work runs as a separate process submitted by path (jobs/batch/*.py), never inside the worker."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fxtrue.settings import Settings

log = logging.getLogger(__name__)


def task_settings() -> Settings:
    from fxtrue.orchestration.connections import resolve_settings

    return resolve_settings()


def _fail(message: str) -> None:
    """Fail the task without retries (retrying cannot fix bad data)."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


# -- fx_supervisor -----------------------------------------------------------------------------------------

def supervise_job(job: str) -> dict[str, Any]:
    from fxtrue.orchestration import processes
    from fxtrue.orchestration.connections import settings_env
    from fxtrue.orchestration.supervise import supervise

    settings = task_settings()
    env = processes.child_env(settings, settings_env(settings))
    (decision,) = supervise(settings, [job], env=env, progress=print)
    if decision.action == "give_up":
        _fail(f"supervisor gave up on {job}: {decision.reason}")
    return {"job": job, "action": decision.action, "reason": decision.reason, "attempt": decision.attempt}


def run_day(logical_date: datetime | None, params: dict | None = None) -> date:
    """The UTC day a daily run covers: params['day'] if given, else the day before the run's logical date."""
    if params and params.get("day"):
        return date.fromisoformat(str(params["day"]))
    when = logical_date or datetime.now(timezone.utc)
    return (when.astimezone(timezone.utc) - timedelta(days=1)).date()


# -- child processes (Spark work never runs inside the worker) ----------------------------------------------

GATE_EXIT = 3  # `fxtrue stats/dq`: a data-quality gate failed


def run_child(settings: Settings, argv: list[str], *, what: str) -> tuple[int, str]:
    """Run a command with the task's settings in its environment; stream its output into the task log, each
    line redacted (fxtrue.errors.redact: the configured passwords and any URL credential)."""
    import subprocess
    import sys

    from fxtrue.errors import redact
    from fxtrue.orchestration import processes
    from fxtrue.orchestration.connections import settings_env
    from fxtrue.settings import PROJECT_ROOT

    secrets = (settings.truefx.password, settings.cassandra.password, settings.dashboard.password)
    cmd = [sys.executable, *argv]
    print(redact(f"{what}: {' '.join(cmd)}", *secrets), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT,
                            env=processes.child_env(settings, settings_env(settings)), errors="replace")
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = redact(line.rstrip(), *secrets)
        print(line, flush=True)
        lines.append(line)
    return proc.wait(), "\n".join(lines[-400:])


def _failed_lines(output: str) -> list[str]:
    return [ln.strip() for ln in output.splitlines() if "FAILED" in ln]


# -- fx_thresholds_daily / fx_backfill ----------------------------------------------------------------------

def check_lake(day: date) -> dict[str, Any]:
    """The ticks suites (GX) over the lake day; a failed suite fails the run without retries."""
    settings = task_settings()
    code, out = run_child(settings, ["-m", "fxtrue.cli", "dq", "run", "--suite", "ticks", "--date", day.isoformat()],
                          what=f"GX ticks suites on lake day {day}")
    if code == GATE_EXIT:
        _fail(f"lake day {day} failed its data-quality checks, nothing computed or published: "
              + "; ".join(_failed_lines(out) or ["see the log"]))
    if code != 0:
        raise RuntimeError(f"`fxtrue dq run --suite ticks --date {day}` failed (exit {code}); see the log above")
    return {"day": day.isoformat()}


def compute_stats(day: date, lookback_days: int, run_id: str, sources: list[str] | None = None) -> dict[str, Any]:
    """Spark batch statistics (jobs/batch/stats.py, submitted by path) over [day - lookback + 1, day]."""
    from fxtrue.settings import PROJECT_ROOT

    settings = task_settings()
    first = day - timedelta(days=max(lookback_days, 1) - 1)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    out = settings.state_dir / "thresholds" / f"{safe}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    code, text = run_child(settings, [str(PROJECT_ROOT / "jobs" / "batch" / "stats.py"), "--from", first.isoformat(),
                                      "--to", day.isoformat(), "--source", *(sources or ["lake"]), "--out", str(out)],
                           what="Spark batch statistics")
    if code != 0:
        raise RuntimeError(f"jobs/batch/stats.py failed (exit {code}): {text.splitlines()[-1] if text else ''}")
    return {"file": str(out), "from": first.isoformat(), "to": day.isoformat()}


def gate_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """The thresholds suite (GX) on the candidate against the current version. A failure stores the candidate
    as `rejected` (with the failing expectations), leaves the current pointer alone and fails the task."""
    from fxtrue import cassandra
    from fxtrue.dq.checks import check_thresholds
    from fxtrue.dq.runner import Runner, record
    from fxtrue.publish import REJECTED, gate_summary
    from fxtrue.thresholds import Thresholds, load_current, write_version

    settings = task_settings()
    candidate = Thresholds.from_file(stats["file"])
    runner = Runner(settings)
    session = cassandra.connect(settings, component="batch", wait_s=30)
    try:
        current = load_current(session, settings)
        result = check_thresholds(runner, candidate, settings, current, progress=print)
        record(session, settings, result)
        if not result.success:
            candidate.status = REJECTED
            write_version(session, settings, candidate, dq_success=False, dq_summary=gate_summary([result]))
            failing = ", ".join(f"{result.suite}.{f}" for f in result.failing)
            _fail(f"data-quality gate failed: thresholds version {candidate.version} rejected, current version "
                  f"{current.version if current else 'none'} stays; failing expectations: {failing}"
                  + (f"; Data Docs: {result.docs_url}" if result.docs_url else ""))
    finally:
        session.cluster.shutdown()
    return {**stats, "version": candidate.version, "dq": result.summary()}


def publish_stats(gated: dict[str, Any]) -> dict[str, Any]:
    """Publish the gated candidate (fxtrue.publish: gate re-checked against the then-current version, version
    written, pointer moved)."""
    from fxtrue import cassandra
    from fxtrue.dq.runner import GateFailed, Runner
    from fxtrue.publish import publish
    from fxtrue.thresholds import Thresholds

    settings = task_settings()
    candidate = Thresholds.from_file(gated["file"])
    runner = Runner(settings)
    session = cassandra.connect(settings, component="batch", wait_s=30)
    try:
        try:
            published = publish(session, settings, candidate, runner, progress=print)
        except GateFailed as exc:
            _fail(str(exc))
    finally:
        session.cluster.shutdown()
    print(f"Data Docs: {runner.build_docs()}")
    return {"version": published.version, "rows": len(published.rows), "tick_count": published.tick_count}


def record_thresholds_outcome(dag_id: str, run_id: str, task_ids: list[str], published: dict | None) -> dict:
    """Record the run's outcome in dq_runs_by_suite (suite 'pipeline.<dag_id>') and fail if any step failed."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    from fxtrue import cassandra
    from fxtrue.dq.runner import SuiteResult, record
    from fxtrue.thresholds import current_version

    settings = task_settings()
    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=task_ids, run_ids=[run_id])
    flat = {t: s for run in states.values() for t, s in run.items()} if states else {}
    failed = sorted(t for t, s in flat.items() if s not in ("success", "skipped"))
    session = cassandra.connect(settings, component="batch", wait_s=30)
    try:
        current = current_version(session, settings)
        result = SuiteResult(suite=f"pipeline.{dag_id}", success=not failed, evaluated=len(task_ids),
                             failing=[f"{t}: {flat.get(t)}" for t in failed], run_id=run_id,
                             target=f"published {published['version']}" if published else f"current {current}")
        record(session, settings, result)
    finally:
        session.cluster.shutdown()
    outcome = {"success": not failed, "failed_tasks": failed, "current_version": current,
               "published": (published or {}).get("version")}
    print(f"outcome: {outcome}")
    if failed:
        _fail(f"{dag_id} run {run_id}: {', '.join(failed)} did not succeed; current thresholds version "
              f"{current or 'none'} unchanged")
    return outcome


def backfill_files(files: list[str], s3_prefix: str = "", run_id: str = "manual") -> dict[str, Any]:
    """History files inside the input roots (paths, globs, folders) -> the tick lake, via `fxtrue backfill
    --confine`. A path outside the roots or an S3 prefix is refused before anything is read; the outcome comes
    back as a JSON result file (counts, loaded dates, masked samples), and a run that loaded no day fails."""
    import json

    from fxtrue.errors import FxtrueError
    from fxtrue.orchestration.inputs import S3_HINT, resolve_inputs

    settings = task_settings()
    if s3_prefix:
        _fail(f"params.s3_prefix {s3_prefix!r} refused: {S3_HINT}")
    try:
        paths = [str(p) for p in resolve_inputs(files or [], settings.airflow.backfill_input_roots)]
    except FxtrueError as exc:
        _fail(f"fx_backfill refused its input, nothing was read: {exc}")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    result_file = settings.state_dir / "backfill" / f"{safe}.json"
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.unlink(missing_ok=True)
    print(f"backfill: {len(paths)} file(s) inside the input roots", flush=True)
    code, out = run_child(settings, ["-m", "fxtrue.cli", "backfill", "--confine", "--result-json", str(result_file),
                                     *paths], what="backfill")
    if code != 0 or not result_file.is_file():
        _fail(f"backfill failed (exit {code}): {out.splitlines()[-1] if out else ''}")
    result = json.loads(result_file.read_text())
    dates = result["dates"]
    print(f"backfill: {result['ticks']:,} ticks, {result['bad_rows']:,} bad row(s), {len(dates)} day(s) loaded "
          f"from {result['files']} file(s)", flush=True)
    if not dates:
        _fail(f"fx_backfill loaded nothing: 0 ticks from {result['files']} file(s) ({result['bad_rows']:,} bad "
              "row(s), samples above); nothing to compute or publish. Check that the files are TrueFX history "
              "(`EUR/USD,20160502 00:00:00.959,1.14601,1.14605`)")
    return {"files": paths, "from": dates[0], "to": dates[-1], "dates": dates, "ticks": result["ticks"],
            "bad_rows": result["bad_rows"], "partitions": result["partitions"], "samples": result["samples"]}


# -- fx_data_quality ----------------------------------------------------------------------------------------

def run_dq_suite(suite: str, day: date) -> dict[str, Any]:
    """One `fxtrue dq run` suite (ticks: the lake day; thresholds: the current version); recorded by it."""
    settings = task_settings()
    argv = ["-m", "fxtrue.cli", "dq", "run", "--suite", suite]
    if suite == "ticks":
        argv += ["--date", day.isoformat()]
    code, out = run_child(settings, argv, what=f"GX suite {suite}")
    if code not in (0, GATE_EXIT):
        raise RuntimeError(f"`fxtrue dq run --suite {suite}` failed (exit {code})")
    return {"suite": suite, "day": day.isoformat(), "success": code == 0, "failing": _failed_lines(out)}


def build_dq_docs() -> str:
    settings = task_settings()
    code, out = run_child(settings, ["-m", "fxtrue.cli", "dq", "docs"], what="Data Docs")
    if code != 0:
        raise RuntimeError(f"`fxtrue dq docs` failed (exit {code})")
    return out.strip().splitlines()[-1] if out.strip() else ""


def dq_alerts(results: list[dict | None]) -> dict[str, Any]:
    """Fail (visible in the UI, notifications) when a suite failed; the failing expectations are the message."""
    bad = [r for r in results if r and not r.get("success")]
    missing = sum(1 for r in results if not r)
    if bad or missing:
        _fail("data-quality alerts: " + "; ".join(f"{r['suite']} {r['day']}: {', '.join(r['failing']) or 'failed'}"
                                                  for r in bad) + (f"; {missing} suite(s) did not run" if missing else ""))
    return {"suites": len(results), "failed": 0}
