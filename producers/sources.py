"""Quote sources behind one small interface: each yields batches of Tick | Rejection until stopped.

TrueFXSource polls the Web API, SimulatorSource runs the simulator on the wall clock, ReplaySource merges
history files in time order and paces them (real time x speed, or as fast as possible).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

from fxtrue import history
from fxtrue.errors import redact
from fxtrue.simulator.live import LiveSimulator
from fxtrue.ticks import Rejection, Tick, now_epoch_ms
from producers.truefx import Backoff, NotAuthorized, TransientError, TrueFXClient

log = logging.getLogger(__name__)
Batch = list[Tick | Rejection]


class QuoteSource(Protocol):
    name: str  # the tick source: truefx | replay | sim
    live: bool  # live data: event times far from now either way are rejected (a replay: see producers.main)
    validated: bool  # every Tick it yields passed fxtrue.ticks.validate already (the loop need not check again)

    def batches(self, stop: threading.Event) -> Iterator[Batch]: ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, str]: ...


class TrueFXSource:
    name = "truefx"
    live = True
    validated = True  # producers.truefx validates each parsed quote

    def __init__(self, client: TrueFXClient, interval_s: float = 1.0, backoff: Backoff | None = None) -> None:
        self.client = client
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self.errors = 0
        self.last_error = ""

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        ever_connected = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                items = self.client.poll()
            except NotAuthorized:
                if not ever_connected:
                    raise  # bad credentials: retrying will not help
                yield from self._received_before_failure()
                self._failed("not authorized", stop)
                continue
            except TransientError as exc:
                yield from self._received_before_failure()
                self._failed(str(exc), stop)
                continue
            ever_connected = True
            self.backoff.reset()
            yield items
            stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _received_before_failure(self) -> Iterator[Batch]:
        """Quotes a failed poll had already received (e.g. before a failed reconnect) are published, not lost."""
        kept = self.client.take_pending()
        if kept:
            yield kept

    def _failed(self, message: str, stop: threading.Event) -> None:
        self.errors += 1
        self.last_error = message = redact(message)
        delay = self.backoff.next()
        log.warning("truefx: %s; retrying in %.1f s", message, delay)
        stop.wait(delay)

    def close(self) -> None:
        self.client.disconnect()

    def describe(self) -> dict[str, str]:
        return {"source": "truefx", "url": redact(self.client.url), "pairs": ",".join(self.client.pairs),
                "authenticated": str(self.client.authenticated), "errors": str(self.errors),
                "last_error": self.last_error}


class SimulatorSource:
    name = "sim"
    live = True
    validated = False

    def __init__(self, simulator: LiveSimulator, interval_s: float = 0.2) -> None:
        self.simulator = simulator
        self.interval_s = interval_s

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        while not stop.wait(self.interval_s):
            yield list(self.simulator.advance())

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, str]:
        return {"source": "sim", "pairs": ",".join(self.simulator.pairs),
                "scenarios": str(len(self.simulator.scenarios))}


def estimate_lines(paths: Sequence[Path], bytes_per_line: float = 46.0) -> int:
    """Rough number of lines in history files (from sizes; zip members uncompressed), for progress."""
    total = 0
    for p in paths:
        try:
            if p.suffix.lower() == ".zip":
                with zipfile.ZipFile(p) as zf:
                    total += sum(i.file_size for i in zf.infolist())
            else:
                total += p.stat().st_size
        except (OSError, zipfile.BadZipFile):
            pass
    return int(total / bytes_per_line)


class ReplaySource:
    """History files merged in time order. speed > 0: paced at real time x speed; 0: as fast as possible.
    shift_to_now re-times every tick by the same offset so that the first one is now (rates are preserved).
    A tick ahead of the wall clock by more than max_ahead_ms (a 2099 time in a file) is passed on at once,
    neither waited for nor taken as the replay's start: the producer loop rejects it."""

    name = "replay"
    live = False
    validated = True  # fxtrue.history.parse_line validates each line

    def __init__(self, paths: Sequence[str | Path], speed: float = 1.0, limit: int | None = None,
                 shift_to_now: bool = False, batch_size: int = 2000,
                 clock: Callable[[], float] = time.monotonic, now_ms: Callable[[], int] = now_epoch_ms,
                 max_ahead_ms: int | None = None) -> None:
        self.paths = history.expand_paths(paths)
        self.speed = speed
        self.limit = limit
        self.shift_to_now = shift_to_now
        self.batch_size = batch_size
        self.clock, self.now_ms = clock, now_ms
        self.max_ahead_ms = max_ahead_ms
        self.estimated_total = estimate_lines(self.paths)
        self.emitted = 0
        self.replay_ts: int | None = None  # event time reached (original clock)
        self.done = False

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        first_ts: int | None = None
        offset = 0
        wall0 = self.clock()
        batch: Batch = []
        for rec in history.merge(self.paths, source="replay"):
            if stop.is_set():
                return
            item = rec.item
            if isinstance(item, Rejection):
                batch.append(dataclasses.replace(item, raw=f"{rec.path}:{rec.line}: {item.raw}"))
                if len(batch) >= self.batch_size:  # a file full of bad rows must not grow one batch unbounded
                    yield batch
                    batch = []
                continue
            if self.max_ahead_ms is not None and item.ts + offset - self.now_ms() > self.max_ahead_ms:
                batch.append(dataclasses.replace(item, ts=item.ts + offset) if offset else item)
                continue
            if first_ts is None:
                first_ts = item.ts
                offset = self.now_ms() - first_ts if self.shift_to_now else 0
                wall0 = self.clock()
            self.replay_ts = item.ts
            if self.speed > 0:
                due = wall0 + (item.ts - first_ts) / 1000.0 / self.speed
                wait = due - self.clock()
                if wait > 0:
                    if batch:
                        yield batch
                        batch = []
                    if stop.wait(wait):
                        return
            batch.append(dataclasses.replace(item, ts=item.ts + offset) if offset else item)
            self.emitted += 1
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
            if self.limit is not None and self.emitted >= self.limit:
                break
        if batch:
            yield batch
        self.done = True

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, str]:
        return {"source": "replay", "files": str(len(self.paths)), "speed": str(self.speed),
                "shift_to_now": str(self.shift_to_now)}
