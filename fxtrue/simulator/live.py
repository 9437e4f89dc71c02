"""The simulator on the wall clock: each call returns the ticks generated since the previous call, with
scenarios scheduled relative to when it started. Drives `fxtrue produce sim` and `fxtrue truefx-mock`."""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.simulator.market import GRID_MS, MarketModel
from fxtrue.simulator.scenarios import Scenario
from fxtrue.ticks import Tick, now_epoch_ms


class LiveSimulator:
    """Thread-safe; `weekend_closure` is off by default so that a demo works on any day of the week."""

    def __init__(self, pairs: Sequence[str] = TRUEFX_PAIRS, seed: int = 1, rate_scale: float = 1.0,
                 scenarios: Sequence[Scenario] = (), weekend_closure: bool = False,
                 clock: Callable[[], int] = now_epoch_ms) -> None:
        self.model = MarketModel(tuple(pairs), seed=seed, rate_scale=rate_scale, weekend_closure=weekend_closure)
        self.scenarios = list(scenarios)
        self.clock = clock
        self.lock = threading.Lock()
        self.cursor = (clock() // GRID_MS) * GRID_MS
        self.started_ms = self.cursor

    @property
    def pairs(self) -> tuple[str, ...]:
        return self.model.pairs

    def advance(self, until_ms: int | None = None) -> list[Tick]:
        """Ticks with ts in [previous cursor, until) (default: now), time-ordered, source 'sim'."""
        with self.lock:
            target = ((until_ms if until_ms is not None else self.clock()) // GRID_MS) * GRID_MS
            if target <= self.cursor:
                return []
            # Bound the work after a long pause (e.g. a suspended process): skip ahead, at most 10 min.
            if target - self.cursor > 600_000:
                self.model.now_ms = None
                self.cursor = target - 600_000
            chunk = self.model.generate(self.cursor, target, self.scenarios)
            self.cursor = target
        received = self.clock()
        pairs = self.model.pairs
        return [Tick(pairs[p], t, b, a, "sim", received) for p, t, b, a in
                zip(chunk.pair_index.tolist(), chunk.ts.tolist(), chunk.bid.tolist(), chunk.ask.tolist())]

