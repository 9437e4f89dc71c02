"""The supervisor signals only what it launched: a pid file names one process exactly (pid + start time + boot
id); a stranger whose command line carries the same words, or a recycled pid, is left alone. Real processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from fxtrue.heartbeats import Heartbeat
from fxtrue.orchestration import processes
from fxtrue.orchestration.supervisor import GIVE_UP, RESTART, Policy, ProcessState, decide
from fxtrue.procs import ProcessIdentity, boot_id, pid_alive, start_ticks, started_at, started_by
from fxtrue.settings import Settings
from ports import free_port


def spawn_stranger() -> subprocess.Popen:
    """Not ours, but its command line holds everything the old check looked for ("fxtrue", the subcommand)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-m", "fxtrue.cli", "produce",
                             "truefx", "stream"], start_new_session=True)
    deadline = time.monotonic() + 10
    while start_ticks(proc.pid) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


@pytest.fixture
def stranger():
    proc = spawn_stranger()
    yield proc
    proc.kill()
    proc.wait(10)


@pytest.fixture
def s(tmp_path) -> Settings:
    return Settings(state_dir=tmp_path)


def write_pid_file(settings: Settings, job: str, pid: int, **extra) -> None:
    processes.run_dir(settings).mkdir(parents=True, exist_ok=True)
    processes.pid_file(settings, job).write_text(json.dumps({
        "pid": pid, "started_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
        "command": [sys.executable, "-m", "fxtrue.cli", "produce", "truefx"], "log": "", **extra}))


def test_identity_names_one_process_exactly(stranger):
    ident = ProcessIdentity.of(stranger.pid)
    assert ident is not None and ident.alive() and ident.boot_id == boot_id()
    assert not ProcessIdentity(stranger.pid, ident.start_ticks + 1, ident.boot_id).alive()  # pid reused
    assert not ProcessIdentity(stranger.pid, ident.start_ticks, "another-boot").alive()
    stranger.kill()
    stranger.wait(10)
    assert not ident.alive() and ProcessIdentity.of(stranger.pid) is None


def test_recycled_pid_in_our_pid_file_is_not_ours_and_is_never_signalled(s, stranger):
    # the pid file names the stranger's pid, but with another start time: the process we launched is gone
    write_pid_file(s, "producer", stranger.pid, start_ticks=start_ticks(stranger.pid) - 1, boot_id=boot_id())
    spec = processes.job_specs(s)["producer"]
    state = processes.process_state(s, spec, None)
    assert state.pid == stranger.pid and state.alive is False and state.owned
    assert processes.stop(s, "producer", timeout_s=2) is False
    time.sleep(0.3)
    assert stranger.poll() is None and pid_alive(stranger.pid), "a recycled pid was signalled"
    assert not processes.pid_file(s, "producer").exists()


def test_pid_file_without_identity_is_never_signalled(s, stranger):
    write_pid_file(s, "streaming", stranger.pid)  # an old-format pid file: pid only
    spec = processes.job_specs(s)["streaming"]
    assert processes.process_state(s, spec, None).alive is False
    assert processes.stop(s, "streaming", timeout_s=2) is False
    time.sleep(0.3)
    assert stranger.poll() is None


def test_heartbeat_pid_counts_only_if_that_process_started_before_the_heartbeat(s, stranger):
    spec = processes.job_specs(s)["producer"]
    host = socket.gethostname()
    now = datetime.now(timezone.utc)
    recycled = Heartbeat("producer", now - timedelta(minutes=5), now - timedelta(hours=2), host, stranger.pid)
    assert processes.process_state(s, spec, recycled, host).alive is False
    by_hand = Heartbeat("producer", now - timedelta(minutes=5), started_at(stranger.pid) + timedelta(seconds=3),
                        host, stranger.pid)
    state = processes.process_state(s, spec, by_hand, host)
    assert state.alive is True and state.owned is False
    assert started_by(stranger.pid, now) and not started_by(stranger.pid, now - timedelta(hours=1))


def test_a_hung_process_the_supervisor_did_not_launch_is_left_alone():
    now = datetime.now(timezone.utc)
    hb = Heartbeat("producer", now - timedelta(minutes=10), now - timedelta(hours=1), "h", 42)
    foreign = decide("producer", hb, ProcessState(42, True, now - timedelta(hours=1), owned=False), [], Policy(), now)
    assert foreign.action == GIVE_UP and "kill 42" in foreign.reason and not foreign.launches
    ours = decide("producer", hb, ProcessState(42, True, now - timedelta(hours=1)), [], Policy(), now)
    assert ours.action == RESTART


def test_launch_records_the_identity_and_stop_ends_exactly_that_process(s, stranger):
    port = free_port()
    spec = processes.JobSpec("truefx-mock", ("truefx-mock", "--port", str(port)))
    launched = processes.launch(s, spec)
    try:
        data = json.loads(processes.pid_file(s, spec.name).read_text())
        assert data["pid"] == launched.pid and data["start_ticks"] == start_ticks(launched.pid)
        assert data["boot_id"] == boot_id()
        state = processes.process_state(s, spec, None)
        assert state.alive is True and state.owned
        assert processes.stop(s, spec.name, timeout_s=20) is True
        assert not pid_alive(launched.pid)
        assert stranger.poll() is None  # the look-alike still runs
    finally:
        if pid_alive(launched.pid):
            import os
            import signal
            os.killpg(launched.pid, signal.SIGKILL)


def test_local_airflow_pid_file_names_its_process_exactly(s):
    """`fxtrue airflow down` stops only the standalone process `up` started, not a look-alike."""
    from fxtrue import airflow_local

    look_alike = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "airflow", "standalone"],
                                  start_new_session=True)
    try:
        time.sleep(0.3)
        path = airflow_local.pid_file(s)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(look_alike.pid))  # a bare pid (the old format) proves nothing
        assert airflow_local.running_pid(s) is None
        ident = ProcessIdentity.of(look_alike.pid)
        path.write_text(json.dumps({**ident.record(), "start_ticks": ident.start_ticks + 1}))  # recycled pid
        assert airflow_local.running_pid(s) is None
        airflow_local.down(s, progress=lambda _: None, timeout_s=2)
        time.sleep(0.3)
        assert look_alike.poll() is None, "airflow down signalled a process it did not start"
        path.write_text(json.dumps(ident.record()))  # the very process: recognised
        assert airflow_local.running_pid(s) == look_alike.pid
    finally:
        look_alike.kill()
        look_alike.wait(10)
