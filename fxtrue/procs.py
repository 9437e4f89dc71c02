"""Process-group helpers shared by the local stack, the supervisor's launcher and the local Airflow."""

from __future__ import annotations

import os
import signal
import time


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


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by pid (our services start in their own session), else the pid alone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_group(pid: int, timeout_s: float = 30.0, on_kill=None) -> None:
    """SIGTERM the process group led by pid; SIGKILL it if it is still alive after timeout_s."""
    if not pid_alive(pid):
        return
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        if on_kill is not None:
            on_kill()
        signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
