"""The `fxtrue` command line: one entry point, one module per subcommand under fxtrue/commands.

Each command module defines `register(subparsers)`, which adds its parser and sets `func(args, settings)`.
Heavy libraries (pyspark, airflow, dash) are imported inside the commands, so `fxtrue --help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from fxtrue import __version__
from fxtrue.errors import FxtrueError, redact_logs

# (command, module) in the order `fxtrue --help` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("stack", "fxtrue.commands.stack"),
    ("init", "fxtrue.commands.init"),
    ("simulate", "fxtrue.commands.simulate"),
    ("truefx-mock", "fxtrue.commands.truefx_mock"),
    ("produce", "fxtrue.commands.produce"),
    ("backfill", "fxtrue.commands.backfill"),
    ("stats", "fxtrue.commands.stats"),
    ("detect", "fxtrue.commands.detect"),
    ("stream", "fxtrue.commands.stream"),
    ("dashboard", "fxtrue.commands.dashboard"),
    ("dq", "fxtrue.commands.dq"),
    ("airflow", "fxtrue.commands.airflow"),
    ("demo", "fxtrue.commands.demo"),
    ("bench", "fxtrue.commands.bench"),
)

DESCRIPTION = """FXTrue: real-time analysis and manipulation detection on FX quote feeds.

Quick start: `fxtrue demo` runs the whole pipeline on the built-in simulator.
Configuration: FXTRUE_* environment variables or a TOML file named by FXTRUE_CONFIG
(see README.md, "Configuration"); state (data, logs, jars) lives under FXTRUE_STATE_DIR."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fxtrue", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fxtrue {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for _, module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "cassandra", "py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redact_logs(*logging.getLogger().handlers)  # no secret in any log line, whoever logs it
    try:
        from fxtrue.settings import get_settings
        settings = get_settings()
        return int(args.func(args, settings) or 0)
    except FxtrueError as exc:
        print(f"fxtrue {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fxtrue {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
