"""The supervisor's decision for one long-running job, as a pure function of what it observed.

Inputs: the job's latest heartbeat, the state of the process this host launched (if any), the job's recent
supervisor actions and the policy (staleness threshold, start grace, restart budget per window, backoff).
Output: one Decision — none, start, restart, wait or give_up — with a reason a human can read in the
supervisor_actions_by_day table or the Airflow log. All I/O lives in fxtrue.orchestration.tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fxtrue.heartbeats import Heartbeat
from fxtrue.settings import Settings

NONE = "none"
START = "start"
RESTART = "restart"
WAIT = "wait"
GIVE_UP = "give_up"
LAUNCHES = (START, RESTART)


@dataclass(frozen=True)
class Policy:
    stale_after_s: float = 90.0
    start_grace_s: float = 180.0
    restart_budget: int = 5
    budget_window_s: float = 3600.0
    backoff_s: float = 30.0
    backoff_max_s: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        a = settings.airflow
        return cls(stale_after_s=a.supervisor_stale_after_s, start_grace_s=a.supervisor_start_grace_s,
                   restart_budget=a.supervisor_restart_budget, budget_window_s=a.supervisor_budget_window_s,
                   backoff_s=a.supervisor_backoff_s, backoff_max_s=a.supervisor_backoff_max_s)

    def backoff_after(self, launches: int) -> float:
        """Seconds to wait after the latest of `launches` (re)starts in the window before the next one."""
        if launches <= 0:
            return 0.0
        return min(self.backoff_s * 2 ** (launches - 1), self.backoff_max_s)


@dataclass(frozen=True)
class ProcessState:
    """What this host knows about the job's process.

    alive: True/False when the process was launched by this supervisor (pid file) or its heartbeat names a pid
    on this host; None when unknown (the job runs on another host, or nothing was ever launched here).
    owned: the supervisor launched this very process (pid file with its identity) and may signal it; a process
    only a heartbeat names (started by hand) is never signalled.
    """

    pid: int | None = None
    alive: bool | None = None
    launched_at: datetime | None = None
    owned: bool = True


@dataclass(frozen=True)
class PastAction:
    at: datetime
    action: str
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    job: str
    action: str
    reason: str
    attempt: int = 0  # for start/restart: the number of launches in the budget window, this one included

    @property
    def launches(self) -> bool:
        return self.action in LAUNCHES

    def with_reason(self, extra: str) -> "Decision":
        return replace(self, reason=f"{self.reason}; {extra}")


def decide(job: str, heartbeat: Heartbeat | None, process: ProcessState, history: list[PastAction],
           policy: Policy, now: datetime) -> Decision:
    """What to do about `job` now. `history` is the job's past supervisor actions (any order)."""
    age = heartbeat.age_s(now) if heartbeat is not None else None
    fresh = age is not None and age <= policy.stale_after_s
    hb_text = "no heartbeat" if age is None else f"heartbeat {age:.0f} s old"

    if process.alive is True:
        if fresh:
            return Decision(job, NONE, f"running (pid {process.pid}, {hb_text})")
        since_launch = (now - process.launched_at).total_seconds() if process.launched_at else None
        beat_since_launch = (heartbeat is not None and process.launched_at is not None
                             and heartbeat.updated_at >= process.launched_at)
        if since_launch is not None and since_launch < policy.start_grace_s and not beat_since_launch:
            return Decision(job, WAIT, f"launched {since_launch:.0f} s ago (pid {process.pid}), waiting up to "
                                       f"{policy.start_grace_s:.0f} s for its first heartbeat")
        if not process.owned:
            return Decision(job, GIVE_UP, f"hung: pid {process.pid} alive but {hb_text} (limit "
                                          f"{policy.stale_after_s:.0f} s); it was not launched by the supervisor, so "
                                          f"it is left alone: stop it by hand (kill {process.pid}) and the next "
                                          f"pass starts a fresh one")
        kind, problem = RESTART, f"hung: pid {process.pid} alive but {hb_text} (limit {policy.stale_after_s:.0f} s)"
    elif process.alive is False:
        kind, problem = RESTART, f"pid {process.pid} is gone ({hb_text})"
    else:
        if fresh:
            return Decision(job, NONE, f"running elsewhere or started by hand ({hb_text})")
        if heartbeat is None and process.pid is None:
            kind, problem = START, "not running (no heartbeat, nothing launched)"
        else:
            kind, problem = RESTART, f"{hb_text} (limit {policy.stale_after_s:.0f} s), no live process here"

    window_start = now - timedelta(seconds=policy.budget_window_s)
    launches = sorted(a.at for a in history if a.action in LAUNCHES and a.at > window_start)
    if len(launches) >= policy.restart_budget:
        last_give_up = max((a.at for a in history if a.action == GIVE_UP), default=None)
        frees_at = launches[len(launches) - policy.restart_budget] + timedelta(seconds=policy.budget_window_s)
        if last_give_up is not None and last_give_up >= launches[-1]:
            return Decision(job, NONE, f"gave up at {last_give_up:%H:%M:%S}; {problem}; budget frees at "
                                       f"{frees_at:%H:%M:%S} UTC")
        return Decision(job, GIVE_UP, f"{problem}; {len(launches)} (re)starts in the last "
                                      f"{policy.budget_window_s:.0f} s exhaust the budget of "
                                      f"{policy.restart_budget}; next try after {frees_at:%H:%M:%S} UTC "
                                      f"(read the job log)")
    if launches:
        since_last = (now - launches[-1]).total_seconds()
        backoff = policy.backoff_after(len(launches))
        if since_last < backoff:
            return Decision(job, WAIT, f"{problem}; backoff: last (re)start {since_last:.0f} s ago, next allowed "
                                       f"after {backoff:.0f} s")
    return Decision(job, kind, problem, attempt=len(launches) + 1)
