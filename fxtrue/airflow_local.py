"""The local Airflow: `airflow standalone` (SQLite metadata, LocalExecutor, simple auth manager) with
AIRFLOW_HOME under the state dir and the repository's dags/ folder, run as a detached process group.

The admin password is generated once and kept in AIRFLOW_HOME (the simple auth manager's own password file,
mode 600); the signing secrets (JWT, API secret key, Fernet key) likewise, so restarts keep sessions valid.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fxtrue import credentials
from fxtrue.errors import StackError
from fxtrue.procs import ProcessIdentity, read_identity
from fxtrue.procs import pid_alive as _pid_alive
from fxtrue.settings import PROJECT_ROOT, Settings

Progress = Callable[[str], None]
ADMIN = "admin"
DAGS_FOLDER = PROJECT_ROOT / "dags"


def home(settings: Settings) -> Path:
    return settings.airflow_home


def pid_file(settings: Settings) -> Path:
    return home(settings) / "fxtrue-airflow.pid"


def log_file(settings: Settings) -> Path:
    return settings.log_dir / "airflow.log"


def passwords_file(settings: Settings) -> Path:
    return home(settings) / "simple_auth_manager_passwords.json.generated"


def secrets_file(settings: Settings) -> Path:
    return home(settings) / "fxtrue-secrets.json"


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.airflow.port}"


def ensure_credentials(settings: Settings) -> tuple[str, str]:
    """The admin login (generated on first use, in the simple auth manager's password file)."""
    path = passwords_file(settings)
    data: dict = {}
    if path.exists():
        try:
            data = json.loads(path.read_text() or "{}")
        except ValueError:
            data = {}
    if not data.get(ADMIN):
        data[ADMIN] = secrets.token_urlsafe(12)
        credentials.write_private(path, json.dumps(data) + "\n")
    return ADMIN, data[ADMIN]


def _secrets(settings: Settings) -> dict[str, str]:
    path = secrets_file(settings)
    if path.exists():
        return json.loads(path.read_text())
    values = {"jwt_secret": secrets.token_urlsafe(64), "secret_key": secrets.token_urlsafe(32),
              "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode()}
    credentials.write_private(path, json.dumps(values))
    return values


def environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of the Airflow processes (and of everything their tasks launch)."""
    env = dict(os.environ if base is None else base)
    h = home(settings)
    venv_bin = str(Path(sys.executable).parent)  # airflow standalone runs `airflow ...` from PATH
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")]).rstrip(os.pathsep)
    sec = _secrets(settings)
    port = settings.airflow.port
    env.update({
        "AIRFLOW_HOME": str(h),
        "FXTRUE_STATE_DIR": str(settings.state_dir),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{h / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__SECRET_KEY": sec["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(h / "logs"),
    })
    return env


@dataclass
class Status:
    pid: int | None
    running: bool
    healthy: bool
    url: str
    detail: str
    log: Path
    rss_mb: float | None = None


def running_pid(settings: Settings) -> int | None:
    """The pid of the standalone process `up` started, if that very process still runs: the pid file (JSON)
    holds its identity (pid + start time + boot id), so a recycled pid or a look-alike is never taken for it."""
    ident = read_identity(pid_file(settings))
    return ident.pid if ident is not None and ident.alive() else None


def health(settings: Settings) -> tuple[bool, str]:
    """(healthy, detail) from the API server's /api/v2/monitor/health: metadata DB and scheduler healthy."""
    import requests

    try:
        r = requests.get(f"{url(settings)}/api/v2/monitor/health", timeout=5)
    except requests.RequestException as exc:
        return False, f"API not answering ({type(exc).__name__})"
    if r.status_code != 200:
        return False, f"health endpoint answered HTTP {r.status_code}"
    data = r.json()
    parts = {k: (v or {}).get("status") for k, v in data.items() if isinstance(v, dict)}
    detail = ", ".join(f"{k} {v}" for k, v in parts.items())
    ok = parts.get("metadatabase") == "healthy" and parts.get("scheduler") == "healthy"
    return ok, detail


def _group_rss_mb(pid: int) -> float | None:
    total = 0.0
    try:
        pgid = os.getpgid(pid)
    except OSError:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024.0
        except (OSError, ValueError):
            continue
    return total


def status(settings: Settings) -> Status:
    pid = running_pid(settings)
    healthy, detail = health(settings) if pid else (False, "not running")
    return Status(pid, pid is not None, healthy, url(settings), detail, log_file(settings),
                  _group_rss_mb(pid) if pid else None)


def up(settings: Settings, progress: Progress = print, timeout_s: float = 300.0) -> Status:
    """Start Airflow standalone detached (idempotent) and wait until its health endpoint says healthy."""
    from fxtrue.stack.services import port_bindable

    ensure_credentials(settings)
    pid = running_pid(settings)
    if pid is None:
        pid_file(settings).unlink(missing_ok=True)
        port = settings.airflow.port
        if not port_bindable(port):
            raise StackError(f"airflow: port {port} on 127.0.0.1 is already in use by another process",
                             hint=f"stop it (`ss -ltnp 'sport = :{port}'`) or set FXTRUE_AIRFLOW_PORT")
        home(settings).mkdir(parents=True, exist_ok=True)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        airflow_bin = Path(sys.executable).parent / "airflow"
        cmd = [str(airflow_bin) if airflow_bin.exists() else "airflow", "standalone"]
        progress(f"airflow: starting standalone (AIRFLOW_HOME {home(settings)}, log {log_file(settings)})")
        with open(log_file(settings), "ab") as out:
            out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting airflow standalone\n".encode())
            out.flush()
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=home(settings), env=environment(settings))
        ident = ProcessIdentity.of(proc.pid)
        if ident is not None:
            pid_file(settings).write_text(json.dumps(ident.record()))
        pid = proc.pid
    else:
        progress(f"airflow: already running (pid {pid}); checking health")
    started = time.monotonic()
    last_note = started
    detail = ""
    while time.monotonic() - started < timeout_s:
        if not _pid_alive(pid):
            raise StackError(f"airflow exited during start-up; last log lines:\n{_tail(log_file(settings))}",
                             hint=f"read {log_file(settings)}")
        healthy, detail = health(settings)
        if healthy:
            progress(f"airflow: ready in {time.monotonic() - started:.0f} s at {url(settings)} ({detail})")
            return status(settings)
        if time.monotonic() - last_note > 20:
            progress(f"airflow: waiting for readiness ({time.monotonic() - started:.0f} s; {detail})")
            last_note = time.monotonic()
        time.sleep(2)
    raise StackError(f"airflow did not become healthy within {timeout_s:.0f} s ({detail})",
                     hint=f"read {log_file(settings)}; `fxtrue airflow down` then `up` again")


def down(settings: Settings, progress: Progress = print, timeout_s: float = 60.0) -> None:
    """Stop the standalone process group (SIGTERM, SIGKILL after timeout_s)."""
    pid = running_pid(settings)
    if pid is None:
        pid_file(settings).unlink(missing_ok=True)
        progress("airflow: not running")
        return
    progress(f"airflow: stopping pid {pid} and its components")
    _killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.5)
    if _group_alive(pid):
        progress(f"airflow: still running after {timeout_s:.0f} s; killing")
        _killpg(pid, signal.SIGKILL)
        time.sleep(1)
    pid_file(settings).unlink(missing_ok=True)
    progress("airflow: stopped")


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and _pid_alive(int(entry.name)):
                    return True
            except OSError:
                continue
    return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def isolated_environment(airflow_home: Path) -> dict[str, str]:
    """Airflow settings for a throw-away AIRFLOW_HOME (tests, dag.test()): SQLite there, no examples, the
    project's dags folder. Set them before airflow is first imported."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
    }


def use_isolated_home() -> Path:
    """Point this process's Airflow at a throw-away AIRFLOW_HOME (once per process; before importing airflow)."""
    import tempfile

    if os.environ.get("FXTRUE_TEST_AIRFLOW_HOME"):
        return Path(os.environ["FXTRUE_TEST_AIRFLOW_HOME"])
    h = Path(tempfile.mkdtemp(prefix="fxtrue-airflow-test-"))
    os.environ.update(isolated_environment(h))
    os.environ["FXTRUE_TEST_AIRFLOW_HOME"] = str(h)
    return h
