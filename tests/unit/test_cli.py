"""CLI: every subcommand has --help; user errors print a message and a fix, not a stack trace."""

import subprocess
import sys

import pytest

from fxtrue import cli


@pytest.mark.parametrize("command", [c for c, _ in cli.COMMANDS])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"fxtrue {command}" in out and len(out) > 80


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command, _ in cli.COMMANDS:
        assert command in out


def test_a_configuration_error_is_a_message_not_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fxtrue.cli", "init"], capture_output=True, text=True,
                          env={"FXTRUE_KAFKA_PARTITIONS": "lots", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert proc.returncode == 2
    assert "kafka.partitions" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stack_status_reports_stopped_services_with_exit_1(tmp_path, capsys, monkeypatch):
    from fxtrue.settings import get_settings

    monkeypatch.setenv("FXTRUE_STATE_DIR", str(tmp_path))
    # Ports nobody listens on, so the status reflects this empty state dir only.
    monkeypatch.setenv("FXTRUE_STACK_KAFKA_PORT", "1")
    monkeypatch.setenv("FXTRUE_STACK_CASSANDRA_PORT", "2")
    get_settings.cache_clear()
    try:
        assert cli.main(["stack", "status"]) == 1
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "kafka" in out and "cassandra" in out and "stopped" in out
