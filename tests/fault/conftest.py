"""Fixtures of the fault suite: a second, throw-away stack (Kafka + Cassandra on free ports, temp state dir,
jars shared with the main stack through a lib symlink) that the tests may restart and kill without touching
the stack other people use; and one small simulated history with crossed quotes (alerts even in warm-up)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from ports import free_port


def pytest_collection_modifyitems(config, items):
    # Minutes per scenario: only when asked for (`make fault`, i.e. `pytest -m fault tests/fault`).
    if "fault" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="fault suite: run it with `make fault` (pytest -m fault tests/fault)")
    for item in items:
        if "/tests/fault/" in str(item.fspath):
            item.add_marker(skip)



@pytest.fixture(scope="session")
def fault_stack(base_settings, tmp_path_factory):
    from fxtrue import stack

    state = tmp_path_factory.mktemp("fault-stack")
    stack.fetch(base_settings, progress=lambda m: None)
    (state / "lib").symlink_to(base_settings.lib_dir)
    s = base_settings.replace(state_dir=state, stack={
        "kafka_port": free_port(), "kafka_controller_port": free_port(), "cassandra_port": free_port(),
        "cassandra_storage_port": free_port(), "cassandra_jmx_port": free_port(), "cassandra_heap_mb": 768,
        "kafka_heap_mb": 384})
    stack.up(s, progress=lambda m: print(f"[fault-stack] {m}"))
    yield s
    stack.down(s, progress=lambda m: print(f"[fault-stack] {m}"))


DAY = date(2026, 11, 3)
CROSSED_AT_H = (1, 3, 6, 9, 12, 15, 18, 21)
PAIRS = ("EUR/USD", "USD/JPY", "GBP/USD", "EUR/JPY", "AUD/USD", "USD/CHF")


@pytest.fixture(scope="session")
def history_dir(tmp_path_factory):
    """About 20,000 ticks over one simulated day for six pairs, with eight 20-second crossed-quote episodes."""
    from fxtrue.simulator import Scenario, simulate_files

    out = tmp_path_factory.mktemp("fault-history")
    t0 = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc).timestamp() * 1000)
    scenarios = [Scenario("crossed_quote", PAIRS[i % len(PAIRS)], t0 + h * 3_600_000 + 600_000, 20.0, 1.0)
                 for i, h in enumerate(CROSSED_AT_H)]
    summary = simulate_files(out, DAY, 1, pairs=PAIRS, scenarios=scenarios, seed=11, rate_scale=0.03)
    return out, summary
