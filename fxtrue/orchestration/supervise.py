"""One supervisor pass (what the fx_supervisor DAG runs): read heartbeats, decide per job, act, record."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timezone
from typing import Callable, Iterable

from fxtrue.errors import FxtrueError
from fxtrue.heartbeats import PRODUCER, STREAMING
from fxtrue.orchestration import actions, processes
from fxtrue.orchestration.supervisor import GIVE_UP, NONE, Decision, Policy, decide
from fxtrue.settings import Settings

log = logging.getLogger(__name__)

JOBS = (STREAMING, PRODUCER)


def supervise(settings: Settings, jobs: Iterable[str] = JOBS, *, env: dict[str, str] | None = None,
              now: datetime | None = None, progress: Callable[[str], None] = log.info) -> list[Decision]:
    """Decide and act for each job; every decision other than `none` is recorded in supervisor_actions_by_day.

    env: environment of launched jobs (default: ours with the state dir and the venv on PATH).
    """
    from fxtrue import cassandra, heartbeats

    policy = Policy.from_settings(settings)
    specs = processes.job_specs(settings)
    unknown = [j for j in jobs if j not in specs]
    if unknown:
        raise FxtrueError(f"unknown job(s) {unknown}", hint=f"supervised jobs: {', '.join(specs)}")
    session = cassandra.connect(settings, component="batch", wait_s=30)
    decisions = []
    try:
        beats = heartbeats.read_all(session, settings)
        host = socket.gethostname()
        for job in jobs:
            now_ = now or datetime.now(timezone.utc)
            spec = specs[job]
            state = processes.process_state(settings, spec, beats.get(job), host)
            past = actions.history(session, settings, job, now_, policy.budget_window_s)
            decision = decide(job, beats.get(job), state, past, policy, now_)
            if decision.launches:
                # hung: stop the old group first, only if it is the very process we launched (pid file identity)
                processes.stop(settings, job)
                try:
                    launched = processes.launch(settings, spec, env)
                except OSError as exc:
                    decision = decision.with_reason(f"launch failed: {exc}")
                    actions.record(session, settings, decision, now_)
                    raise FxtrueError(f"could not launch {job}: {exc}") from exc
                decision = decision.with_reason(f"launched pid {launched.pid} (log {launched.log})")
            if decision.action != NONE:
                actions.record(session, settings, decision, now_)
            progress(f"{job}: {decision.action}: {decision.reason}")
            decisions.append(decision)
    finally:
        session.cluster.shutdown()
    return decisions


def gave_up(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.action == GIVE_UP]
