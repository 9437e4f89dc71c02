"""How far the streaming job has got, read from its checkpoints: for each query, the last micro-batch Spark
committed, the Kafka offsets it had consumed by then and the watermark that batch ran with.

This is the ground truth of "done" for a finite input, whichever process committed the batch (a job killed
and restarted, or one that has stopped): a query has done all it can with the input once its committed
offsets reach the topic's end offsets and, for a stateful query, its watermark has reached the input's final
watermark (the newest event time minus the allowed lateness), so every window that input can close has been
judged and written. Tests, the benchmarks and operators use `lag()` instead of "nothing changed for a while".

The format read is Spark's offset and commit logs (`<query>/offsets/<batch>`: a version line, the batch's
metadata with `batchWatermarkMs`, then one JSON line of offsets per source; `<query>/commits/<batch>`). A query
that keeps event-time state on the driver (the streaming job's fast query: `<query>/driver/<batch>.json`,
saved before its batch commits, with the `watermark_ms` its windows were closed up to) is stateful too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

# topic -> partition -> next offset to read
Offsets = dict[str, dict[int, int]]


@dataclass(frozen=True)
class Committed:
    """One query's last committed micro-batch."""

    query: str
    batch_id: int
    offsets: Offsets
    watermark_ms: int
    stateful: bool


def parse_offset_log(text: str) -> tuple[int, Offsets]:
    """(batch watermark ms, Kafka offsets) of one offset-log file. Sources that are not Kafka (no JSON
    object of topic -> partition -> offset) are skipped."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or not lines[0].startswith("v"):
        raise ValueError("not a Spark offset log file (expected a version line and a metadata line)")
    meta = json.loads(lines[1])
    offsets: Offsets = {}
    for line in lines[2:]:
        try:
            source = json.loads(line)
        except ValueError:
            continue
        if not isinstance(source, dict):
            continue
        for topic, parts in source.items():
            if isinstance(parts, dict):
                offsets.setdefault(topic, {}).update({int(p): int(o) for p, o in parts.items()})
    return int(meta.get("batchWatermarkMs", 0) or 0), offsets


def _batch_ids(folder: Path) -> list[int]:
    return sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit()) if folder.is_dir() else []


DRIVER_STATE = "driver"  # <query checkpoint>/driver: a query's driver state per batch (jobs.streaming.state)


def driver_watermark(query_dir: Path, batch: int) -> int | None:
    """The watermark after `batch` of a query that keeps its event-time state on the driver (None: it does
    not, or it has seen no tick yet). The state of a batch is saved before Spark commits it; a batch that read
    nothing saves the state it was given."""
    folder = query_dir / DRIVER_STATE
    if not folder.is_dir():
        return None
    saved = [i for i in (int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()) if i <= batch]
    if not saved:
        return None
    watermark = json.loads((folder / f"{max(saved)}.json").read_text()).get("watermark_ms")
    return None if watermark is None else int(watermark)


def committed(query_dir: Path) -> Committed | None:
    """The last committed batch of the query checkpointed in `query_dir`, or None before its first commit."""
    done = _batch_ids(query_dir / "commits")
    if not done:
        return None
    batch = done[-1]
    watermark, offsets = parse_offset_log((query_dir / "offsets" / str(batch)).read_text())
    if (query_dir / DRIVER_STATE).is_dir():
        driver = driver_watermark(query_dir, batch)
        return Committed(query_dir.name, batch, offsets, driver if driver is not None else 0, stateful=True)
    return Committed(query_dir.name, batch, offsets, watermark, stateful=(query_dir / "state").is_dir())


def committed_all(checkpoint_root: str | Path) -> dict[str, Committed | None]:
    """Every query checkpointed under the job's root (`<checkpoint_dir>/streaming`), by query name."""
    root = Path(str(checkpoint_root).removeprefix("file://").removeprefix("file:"))
    if not root.is_dir():
        return {}
    return {d.name: committed(d) for d in sorted(root.iterdir()) if (d / "offsets").is_dir()}


def lag(progress: Mapping[str, Committed | None], end_offsets: Offsets, final_watermark_ms: int | None,
        queries: tuple[str, ...] = ()) -> list[str]:
    """What is still to do, one line per query that is behind (empty: every query has done all it can with
    the input). `end_offsets`: the topics' end offsets now; `final_watermark_ms`: the newest event time of the
    input minus the allowed lateness (None: do not judge watermarks); `queries`: the names that must be there
    and are judged (empty: every query found)."""
    behind = [f"query {q}: no checkpoint yet" for q in queries if q not in progress]
    for name, c in sorted(progress.items()):
        if queries and name not in queries:
            continue
        if c is None:
            behind.append(f"query {name}: no micro-batch committed yet")
            continue
        short = 0
        for topic, parts in end_offsets.items():
            if topic not in c.offsets:
                continue  # a query that does not read this topic
            short += sum(max(end - c.offsets[topic].get(p, 0), 0) for p, end in parts.items())
        if short:
            behind.append(f"query {name}: {short:,} record(s) behind the end of the topic (batch {c.batch_id})")
        if c.stateful and final_watermark_ms is not None and c.watermark_ms < final_watermark_ms:
            behind.append(f"query {name}: watermark {(final_watermark_ms - c.watermark_ms) / 1000:,.1f} s short of "
                          f"the input's final watermark (batch {c.batch_id})")
    return behind


def wait_caught_up(checkpoint_root: str | Path, end_offsets: Callable[[], Offsets], final_watermark_ms: int | None,
                   timeout_s: float, *, queries: tuple[str, ...] = (), every_s: float = 2.0,
                   on_poll: Callable[[], None] = lambda: None) -> None:
    """Block until `lag()` is empty; `on_poll` runs each round (e.g. a supervisor pass that restarts a dead job,
    or a check that raises when the job died). Raises TimeoutError naming what is behind and by how much."""
    deadline = time.monotonic() + timeout_s
    while True:
        on_poll()
        behind = lag(committed_all(checkpoint_root), end_offsets(), final_watermark_ms, queries)
        if not behind:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the streaming job did not catch up with its input in {timeout_s:.0f} s: "
                               + "; ".join(behind))
        time.sleep(every_s)
