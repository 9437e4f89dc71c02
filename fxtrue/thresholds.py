"""Thresholds: the batch layer's output and the detectors' input.

A thresholds set holds, per detector, subject (pair or triangle) and UTC hour-of-day bucket, the
statistics of that detector's per-window statistic and the threshold derived from them. It lives in a
JSON file (`fxtrue stats --out`, read by `fxtrue detect`) or as an immutable published version in
Cassandra (thresholds_by_version + threshold_versions_by_id + the pointer threshold_pointer_by_name).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings

FILE_FORMAT = "fxtrue-thresholds/1"
POINTER = "current"
# What kind of capture the statistics were learnt from (tick-rate baselines from full
# history files do not fit a polled feed).
SOURCE_KINDS = ("history", "polled", "sim")


@dataclass(frozen=True)
class ThresholdRow:
    detector: str
    subject: str
    hour: int
    n: int
    mean: float
    std: float
    median: float
    mad: float
    p99: float
    p999: float
    max: float
    threshold: float
    rule: str = ""


@dataclass
class Thresholds:
    version: str
    created_at: datetime
    source_kind: str
    source_from: date | None = None
    source_to: date | None = None
    tick_count: int = 0
    code_version: str = ""
    rows: list[ThresholdRow] = field(default_factory=list)
    status: str = "candidate"  # candidate | published | rejected

    def lookup(self) -> dict[tuple[str, str, int], ThresholdRow]:
        return {(r.detector, r.subject, r.hour): r for r in self.rows}

    # -- file form
    def to_file(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "format": FILE_FORMAT, "version": self.version, "created_at": self.created_at.isoformat(),
            "source_kind": self.source_kind,
            "source_from": self.source_from.isoformat() if self.source_from else None,
            "source_to": self.source_to.isoformat() if self.source_to else None,
            "tick_count": self.tick_count, "code_version": self.code_version, "status": self.status,
            "rows": [_finite_row(asdict(r)) for r in self.rows],
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(body, indent=1))
        tmp.replace(path)
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> "Thresholds":
        path = Path(path)
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            raise FxtrueError(f"thresholds file {path} does not exist",
                              hint="write one with `fxtrue stats --out FILE`") from None
        except ValueError as exc:
            raise FxtrueError(f"thresholds file {path} is not valid JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != FILE_FORMAT:
            raise FxtrueError(f"{path} is not an FXTrue thresholds file (format {FILE_FORMAT})",
                              hint="write one with `fxtrue stats --out FILE`")
        return cls(
            version=body["version"], created_at=datetime.fromisoformat(body["created_at"]),
            source_kind=body["source_kind"],
            source_from=date.fromisoformat(body["source_from"]) if body.get("source_from") else None,
            source_to=date.fromisoformat(body["source_to"]) if body.get("source_to") else None,
            tick_count=int(body.get("tick_count", 0)), code_version=body.get("code_version", ""),
            status=body.get("status", "candidate"),
            rows=[ThresholdRow(**{k: (float("nan") if v is None and k not in ("detector", "subject", "rule")
                                      else v) for k, v in r.items()}) for r in body["rows"]])


def _finite_row(row: dict) -> dict:
    """JSON has no NaN/inf: store them as null (the DQ gate rejects such rows anyway)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def new_version_id(now: datetime | None = None) -> str:
    """Sortable, unique-enough id: v20261124T083000Z."""
    now = now or datetime.now(timezone.utc)
    return now.strftime("v%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


# -- Cassandra form -------------------------------------------------------------------------------------

def write_version(session, settings: Settings, t: Thresholds, *, dq_success: bool | None,
                  dq_summary: str = "") -> None:
    """Write the version's rows and its metadata row (idempotent: same version id -> same rows)."""
    from cassandra.concurrent import execute_concurrent_with_args

    ks = settings.cassandra.keyspace
    ins = session.prepare(
        f"INSERT INTO {ks}.thresholds_by_version (version, detector, subject, hour, n, mean, std, median, mad, "
        "p99, p999, max, threshold, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    args = [(t.version, r.detector, r.subject, r.hour, r.n, r.mean, r.std, r.median, r.mad, r.p99, r.p999,
             r.max, r.threshold, r.rule) for r in t.rows]
    for ok, result in execute_concurrent_with_args(session, ins, args, concurrency=32, raise_on_first_error=False):
        if not ok:
            raise FxtrueError(f"writing thresholds version {t.version} failed: {result}")
    session.execute(
        f"INSERT INTO {ks}.threshold_versions_by_id (version, created_at, source_from, source_to, source_kind, "
        "row_count, tick_count, code_version, status, dq_success, dq_summary) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (t.version, t.created_at, t.source_from, t.source_to, t.source_kind, len(t.rows), t.tick_count,
         t.code_version, t.status, dq_success, dq_summary))


def set_status(session, settings: Settings, version: str, status: str) -> None:
    session.execute(f"UPDATE {settings.cassandra.keyspace}.threshold_versions_by_id SET status = %s "
                    "WHERE version = %s", (status, version))


def move_pointer(session, settings: Settings, version: str) -> None:
    session.execute(f"INSERT INTO {settings.cassandra.keyspace}.threshold_pointer_by_name "
                    "(name, version, published_at) VALUES (%s, %s, %s)",
                    (POINTER, version, datetime.now(timezone.utc)))


def current_version(session, settings: Settings) -> str | None:
    """The published version id the pointer names (cheap: one partition read), or None."""
    row = session.execute(f"SELECT version FROM {settings.cassandra.keyspace}.threshold_pointer_by_name "
                          "WHERE name = %s", (POINTER,)).one()
    return row.version if row else None


def load_version(session, settings: Settings, version: str) -> Thresholds:
    ks = settings.cassandra.keyspace
    meta = session.execute(f"SELECT * FROM {ks}.threshold_versions_by_id WHERE version = %s", (version,)).one()
    if meta is None:
        raise FxtrueError(f"thresholds version {version} does not exist in {ks}",
                          hint="list versions in the dashboard, or publish one with `fxtrue stats --publish`")
    rows = session.execute(f"SELECT * FROM {ks}.thresholds_by_version WHERE version = %s", (version,))

    def day(v):
        return date.fromisoformat(str(v)) if v is not None else None

    return Thresholds(
        version=version, created_at=meta.created_at.replace(tzinfo=timezone.utc), source_kind=meta.source_kind,
        source_from=day(meta.source_from), source_to=day(meta.source_to), tick_count=meta.tick_count or 0,
        code_version=meta.code_version or "", status=meta.status or "",
        rows=[ThresholdRow(r.detector, r.subject, r.hour, r.n, r.mean, r.std, r.median, r.mad, r.p99, r.p999,
                           r.max, r.threshold, r.rule or "") for r in rows])


def load_current(session, settings: Settings) -> Thresholds | None:
    """The current published thresholds, or None when nothing was published yet (warm-up mode)."""
    version = current_version(session, settings)
    return load_version(session, settings, version) if version else None
