"""Process-group helpers shared by the local stack, the supervisor's launcher and the local Airflow.

A pid alone does not name a process: once it exits the kernel hands the number to the next one, and a command
line can be copied by anyone. `ProcessIdentity` names one process exactly (pid, its start time in clock ticks
since boot from /proc/<pid>/stat, and the boot id); `stop_identified` signals only while that process still runs.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses): field 3 onwards."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), None if it is gone."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def started_at(pid: int) -> datetime | None:
    """The process's start time (UTC, to the second of the boot time's precision), None if it is gone."""
    ticks, boot = start_ticks(pid), _boot_time()
    if ticks is None or boot is None:
        return None
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), timezone.utc)


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, exactly: a recycled pid or a stranger with the same command line does not match."""

    pid: int
    start_ticks: int
    boot_id: str

    @classmethod
    def of(cls, pid: int) -> "ProcessIdentity | None":
        """The identity of the live process `pid` now (read right after launching it), None if it is gone."""
        ticks = start_ticks(pid)
        return cls(pid, ticks, boot_id()) if ticks is not None and pid_alive(pid) else None

    def alive(self) -> bool:
        """This very process still runs (same boot, same start time, not a zombie)."""
        return (self.boot_id == boot_id() and start_ticks(self.pid) == self.start_ticks
                and pid_alive(self.pid))

    def record(self) -> dict:
        """The fields a pid file keeps (JSON)."""
        return {"pid": self.pid, "start_ticks": self.start_ticks, "boot_id": self.boot_id}

    @classmethod
    def from_record(cls, data: dict) -> "ProcessIdentity | None":
        """The identity a pid file names; None when it lacks one (a bare pid proves nothing)."""
        try:
            return cls(int(data["pid"]), int(data["start_ticks"]), str(data["boot_id"]))
        except (KeyError, TypeError, ValueError):
            return None


def read_identity(path) -> ProcessIdentity | None:
    """The identity in a JSON pid file; None if the file is missing, unreadable or names no identity."""
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return ProcessIdentity.from_record(data) if isinstance(data, dict) else None


# A heartbeat's started_at is taken by the process itself after its start; a pid named by a heartbeat is the
# same process only if it started no later than that (a recycled pid starts after the original ended).
START_CLOCK_SLACK = timedelta(seconds=2)  # boot time has 1 s resolution; allow for it and a small clock step


def started_by(pid: int, at_or_before: datetime) -> bool:
    """pid is alive and its process started no later than `at_or_before` (+ slack): not a recycled pid."""
    start = started_at(pid)
    return start is not None and pid_alive(pid) and start <= at_or_before + START_CLOCK_SLACK


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by pid (our services start in their own session), else the pid alone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop(pid: int, alive, timeout_s: float, on_kill=None) -> None:
    """SIGTERM the group led by pid while alive(); SIGKILL it if still alive after timeout_s. alive() is
    checked right before every signal, so nothing is signalled once the process it names is gone."""
    if not alive():
        return
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        time.sleep(0.2)
    if alive():
        if on_kill is not None:
            on_kill()
        signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive():
            time.sleep(0.1)


def stop_group(pid: int, timeout_s: float = 30.0, on_kill=None) -> None:
    """SIGTERM the process group led by pid; SIGKILL it if it is still alive after timeout_s. The caller has
    established that pid is its process; prefer stop_identified, which checks that before every signal."""
    _stop(pid, lambda: pid_alive(pid), timeout_s, on_kill)


def stop_identified(ident: ProcessIdentity, timeout_s: float = 30.0, on_kill=None) -> bool:
    """Stop the process group led by exactly this process; True if it was running (and was signalled)."""
    if not ident.alive():
        return False
    _stop(ident.pid, ident.alive, timeout_s, on_kill)
    return True
