"""The benchmark harness: machine facts, measurements with their spread, isolated settings per run, and the
runner that calls each benchmark module and turns a missing prerequisite into "not run: <reason>"."""

from __future__ import annotations

import importlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from fxtrue.settings import PROJECT_ROOT, Settings

# (name, module) in report order. Each module has TITLE and run(ctx) -> BenchResult.
BENCHMARKS: tuple[tuple[str, str], ...] = (
    ("ingest", "fxtrue.bench.ingest"),
    ("archive", "fxtrue.bench.archive"),
    ("stream", "fxtrue.bench.stream"),
    ("latency", "fxtrue.bench.latency"),
    ("lateness", "fxtrue.bench.lateness"),
    ("backfill", "fxtrue.bench.backfill"),
    ("dq", "fxtrue.bench.dq"),
    ("batch", "fxtrue.bench.batch"),
    ("dashboard", "fxtrue.bench.dashboard"),
)


_SPARK = None

_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)):\s*(.+?)\s*$")


def failure_reason(exc: BaseException, limit: int = 300) -> str:
    """One line saying why a benchmark failed: the innermost `SomeError: message` line of the exception text
    (a Spark or py4j error wraps the Python worker's traceback, whose last error line is the cause), else
    the exception's first line."""
    text = str(exc)
    causes = [m for m in map(_ERROR_LINE.match, text.splitlines()) if m]
    if causes:
        reason = f"{causes[-1].group(1)}: {causes[-1].group(2)}"
        if causes[-1].group(1) != type(exc).__name__:
            reason = f"{type(exc).__name__} caused by {reason}"
    else:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    reason = " ".join(reason.split())
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def stop_spark() -> None:
    global _SPARK
    if _SPARK is not None:
        _SPARK.stop()
        _SPARK = None


class NotRun(Exception):
    """A benchmark cannot run here (a prerequisite module or service is missing); the reason goes in the report."""


def require(module: str, attr: str | None = None, what: str = "") -> Any:
    """Import `module` (and get `attr`), or raise NotRun naming what is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise NotRun(f"{module} is missing ({what or exc})") from None
    if attr is None:
        return mod
    if not hasattr(mod, attr):
        raise NotRun(f"{module}.{attr} is missing{f' ({what})' if what else ''}")
    return getattr(mod, attr)


@dataclass
class Figure:
    """One measured quantity over repeats. `role` is "ours" or "reference"."""

    name: str
    unit: str
    samples: list[float]
    role: str = "ours"
    higher_is_better: bool = True
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else float("nan")

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "n": self.n, "median": self.median, "min": self.min, "max": self.max,
                "stdev": self.stdev}


@dataclass
class Ratio:
    """ours / reference (medians of the same run). > 1 is better when higher_is_better, < 1 otherwise."""

    ours: str
    reference: str
    value: float
    meaning: str = ""


@dataclass
class BenchResult:
    name: str
    title: str
    status: str = "ok"  # ok | not run | failed
    reason: str = ""
    figures: list[Figure] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figure(self, name: str) -> Figure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(name)

    def add_ratio(self, ours: str, reference: str, meaning: str = "") -> Ratio:
        a, b = self.figure(ours).median, self.figure(reference).median
        r = Ratio(ours, reference, a / b if b else float("nan"), meaning)
        self.ratios.append(r)
        return r

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": self.status, "reason": self.reason,
                "figures": [f.to_dict() for f in self.figures], "ratios": [asdict(r) for r in self.ratios],
                "params": self.params, "notes": self.notes, "seconds": round(self.seconds, 1)}


def machine() -> dict[str, Any]:
    """Where the figures were measured: cores, RAM, CPU model, load, software versions."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        sched = len(os.sched_getaffinity(0))
    except AttributeError:
        sched = os.cpu_count()
    commit = ""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cores": sched, "cpu_count": os.cpu_count(), "cpu_model": cpu_model or platform.processor(),
            "ram_gb": mem_gb, "os": platform.platform(), "python": platform.python_version(),
            "load_avg_start": [round(x, 2) for x in os.getloadavg()], "git_commit": commit}


@dataclass
class BenchContext:
    """What a benchmark module gets: base settings, mode, a work folder and a progress callback."""

    settings: Settings
    quick: bool
    workdir: Path
    progress: Callable[[str], None] = print
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def repeats(self) -> int:
        return 3 if self.quick else 5

    def isolated(self, tag: str, *, init: bool = True) -> Settings:
        """Settings with the benchmark's own keyspace, topics, lake and checkpoints; initialised; cleaned up."""
        tag = f"{tag}{self.run_id}"
        base = self.workdir / tag
        s = self.settings.replace(
            cassandra={"keyspace": f"fxbench_{tag}"},
            kafka={"topic_ticks": f"bench.{tag}.fx.ticks", "topic_dlq": f"bench.{tag}.fx.ticks.dlq",
                   "topic_alerts": f"bench.{tag}.fx.alerts"},
            spark={"lake_path": str(base / "lake"), "checkpoint_dir": str(base / "checkpoints")},
            dq={"docs_dir": str(base / "dq-docs")},
        )
        if init:
            from fxtrue.commands.init import init as do_init
            do_init(s, progress=lambda m: None)
        self._cleanups.append(lambda: drop_isolated(s))
        return s

    def spark(self):
        """The run's one SparkSession (the streaming job's master: local[2] from settings plus the tick query's
        real-time slots), created on first use, stopped at the end."""
        global _SPARK
        if _SPARK is None:
            from fxtrue.spark import session, streaming_master
            _SPARK = session(self.settings, "fxtrue-bench", spark__master=streaming_master(self.settings))
        return _SPARK

    def on_cleanup(self, fn: Callable[[], None]) -> None:
        self._cleanups.append(fn)

    def cleanup(self) -> None:
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - cleanup must go on
                self.progress(f"  cleanup: {exc}")


def drop_isolated(s: Settings) -> None:
    """Drop a benchmark's keyspace and topics (and its folders under the work dir)."""
    from fxtrue import cassandra, kafka

    try:
        cassandra.drop_keyspace(s, s.cassandra.keyspace)
    finally:
        prefix = s.kafka.topic_ticks.rsplit(".fx.ticks", 1)[0] + "."
        kafka.delete_topics(s, [t for t in kafka.topic_names(s) if t.startswith(prefix)])
        lake = Path(s.lake_path).parent
        if lake.is_dir():
            shutil.rmtree(lake, ignore_errors=True)


def run(settings: Settings, *, quick: bool, only: list[str] | None = None, workdir: Path,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the chosen benchmarks in order; return the report (a JSON-able dict)."""
    names = [n for n, _ in BENCHMARKS]
    unknown = [n for n in (only or []) if n not in names]
    if unknown:
        from fxtrue.errors import FxtrueError
        raise FxtrueError(f"unknown benchmark(s): {', '.join(unknown)}", hint=f"choose among {', '.join(names)}")
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {"started_at": started.isoformat(timespec="seconds"),
                              "mode": "quick" if quick else "full", "machine": machine(), "results": []}
    workdir.mkdir(parents=True, exist_ok=True)
    for name, module in BENCHMARKS:
        if only and name not in only:
            continue
        ctx = BenchContext(settings, quick, workdir / name, progress)
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        progress(f"[bench] {name} ...")
        t0 = time.monotonic()
        title = name
        try:
            mod = importlib.import_module(module)
            title = getattr(mod, "TITLE", name)
            result = mod.run(ctx)
        except NotRun as exc:
            result = BenchResult(name, title, status="not run", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others
            result = BenchResult(name, title, status="failed", reason=failure_reason(exc),
                                 notes=[traceback.format_exc(limit=6)])
        finally:
            ctx.cleanup()
            shutil.rmtree(ctx.workdir, ignore_errors=True)
        result.seconds = time.monotonic() - t0
        progress(f"[bench] {name}: {result.status}{': ' + result.reason if result.reason else ''} "
                 f"({result.seconds:.0f} s)")
        report["results"].append(result.to_dict())
    stop_spark()
    report["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = max(0, min(len(data) - 1, int(round(q / 100.0 * len(data) + 0.5)) - 1))
    return data[k]
