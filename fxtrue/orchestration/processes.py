"""Long-running jobs (producer, streaming job) launched detached from whoever asks: own session and process
group, a pid file (JSON) under <state>/run and a log under <state>/logs, so they outlive the Airflow task that
started them and never occupy a worker slot.

The pid file holds the launched process's exact identity (pid, start time in clock ticks since boot, boot id:
fxtrue.procs.ProcessIdentity). Only that process is ever signalled: a recycled pid or a stranger whose command
line looks the same is left alone. A pid file without a start time (written by an older version) names nothing
this host can prove it launched, so nothing is signalled for it."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fxtrue.errors import ConfigError
from fxtrue.procs import ProcessIdentity, pid_alive, started_by, stop_identified  # noqa: F401 (pid_alive re-exported)
from fxtrue.heartbeats import PRODUCER, STREAMING, Heartbeat
from fxtrue.orchestration.supervisor import ProcessState
from fxtrue.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class JobSpec:
    name: str
    args: tuple[str, ...]  # fxtrue subcommand and its arguments

    def command(self) -> list[str]:
        return [sys.executable, "-m", "fxtrue.cli", *self.args]


@dataclass(frozen=True)
class Launch:
    job: str
    pid: int
    started_at: datetime
    command: tuple[str, ...]
    log: str
    identity: ProcessIdentity | None = None  # None: unknown (the process was gone at once, or an old pid file)

    def running(self) -> bool:
        """The very process this launch started still runs (never a recycled pid or a look-alike)."""
        return self.identity is not None and self.identity.pid == self.pid and self.identity.alive()


def job_specs(settings: Settings) -> dict[str, JobSpec]:
    """The supervised jobs and their command lines (settings airflow.supervisor_*_command)."""
    specs = {}
    for job, text in ((PRODUCER, settings.airflow.supervisor_producer_command),
                      (STREAMING, settings.airflow.supervisor_streaming_command)):
        args = tuple(shlex.split(text))
        if not args:
            raise ConfigError(f"airflow.supervisor_{job}_command is empty",
                              hint=f"set FXTRUE_AIRFLOW_SUPERVISOR_{job.upper()}_COMMAND to an fxtrue subcommand")
        specs[job] = JobSpec(job, args)
    return specs


def run_dir(settings: Settings) -> Path:
    return settings.state_dir / "run"


def pid_file(settings: Settings, job: str) -> Path:
    return run_dir(settings) / f"{job}.json"


def log_file(settings: Settings, job: str) -> Path:
    return settings.log_dir / f"{job}.log"


def read_launch(settings: Settings, job: str) -> Launch | None:
    try:
        data = json.loads(pid_file(settings, job).read_text())
        pid = int(data["pid"])
        ident = ProcessIdentity.from_record(data)
        return Launch(job=job, pid=pid, started_at=datetime.fromisoformat(data["started_at"]),
                      command=tuple(data.get("command", ())), log=data.get("log", ""), identity=ident)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_state(settings: Settings, spec: JobSpec, heartbeat: Heartbeat | None,
                  hostname: str | None = None) -> ProcessState:
    """The job's process as this host sees it: the one we launched (owned: the supervisor may stop it), else the
    one its heartbeat names here (not owned: never signalled). A pid counts as alive only if it is the same
    process: its start time matches the pid file's, or precedes the heartbeat's started_at."""
    launch = read_launch(settings, spec.name)
    if launch is not None:
        return ProcessState(pid=launch.pid, alive=launch.running(), launched_at=launch.started_at, owned=True)
    hostname = hostname or socket.gethostname()
    if heartbeat is not None and heartbeat.pid and heartbeat.host == hostname:
        alive = heartbeat.started_at is not None and started_by(heartbeat.pid, heartbeat.started_at)
        return ProcessState(pid=heartbeat.pid, alive=alive, launched_at=heartbeat.started_at, owned=False)
    return ProcessState()


def child_env(settings: Settings, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a launched job: ours, the state dir, the venv's bin on PATH, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CTX_")}
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")]).rstrip(os.pathsep)
    env["FXTRUE_STATE_DIR"] = str(settings.state_dir)
    env.update(overrides or {})
    return env


def launch(settings: Settings, spec: JobSpec, env: dict[str, str] | None = None) -> Launch:
    """Start the job detached (new session = own process group) and record it in its pid file."""
    run_dir(settings).mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log = log_file(settings, spec.name)
    started = datetime.now(timezone.utc)
    cmd = spec.command()
    with open(log, "ab") as out:
        out.write(f"\n==== {started:%Y-%m-%d %H:%M:%S} UTC launching {shlex.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True, cwd=PROJECT_ROOT,
                                env=env if env is not None else child_env(settings))
    ident = ProcessIdentity.of(proc.pid)  # the child exists until we reap it, so this is our process
    result = Launch(spec.name, proc.pid, started, tuple(cmd), str(log), ident)
    tmp = pid_file(settings, spec.name).with_suffix(".tmp")
    record = {"pid": proc.pid, "started_at": started.isoformat(), "command": cmd, "log": str(log)}
    if ident is not None:
        record.update(ident.record())
    tmp.write_text(json.dumps(record))
    tmp.replace(pid_file(settings, spec.name))
    return result


def stop(settings: Settings, job: str, timeout_s: float = 30.0) -> bool:
    """Stop the job this host launched if that very process still runs (its identity in the pid file is
    checked before every signal); remove the pid file. True when something was stopped."""
    launch_ = read_launch(settings, job)
    stopped = False
    if launch_ is not None and launch_.identity is not None and launch_.identity.pid == launch_.pid:
        stopped = stop_identified(launch_.identity, timeout_s)
    pid_file(settings, job).unlink(missing_ok=True)
    return stopped
