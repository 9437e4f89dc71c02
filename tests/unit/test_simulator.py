"""The market simulator: reproducible, intraday profile, weekend closure, consistent triangles, and every
scenario kind labelled and visible in the data."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import numpy as np
import pytest

from fxtrue import simulator
from fxtrue.errors import FxtrueError
from fxtrue.history import iter_file
from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.simulator.market import DAY_MS, HOUR_MS, MarketModel
from fxtrue.simulator.scenarios import KINDS, Scenario, read_labels
from fxtrue.ticks import Tick

DAY = date(2026, 11, 4)  # a Wednesday
T0 = int(datetime(2026, 11, 4, tzinfo=timezone.utc).timestamp() * 1000)
SCALE = 0.25


def simulate_day(scenarios=(), seed=3, scale=SCALE, t0=T0, pairs=TRUEFX_PAIRS):
    model = MarketModel(pairs, seed=seed, rate_scale=scale)
    chunks = [model.generate(t, t + HOUR_MS, scenarios) for t in range(t0, t0 + DAY_MS, HOUR_MS)]
    out = {}
    pidx = np.concatenate([c.pair_index for c in chunks])
    ts = np.concatenate([c.ts for c in chunks])
    bid = np.concatenate([c.bid for c in chunks])
    ask = np.concatenate([c.ask for c in chunks])
    for k, p in enumerate(pairs):
        sel = pidx == k
        out[p] = {"ts": ts[sel], "bid": bid[sel], "ask": ask[sel], "mid": (bid[sel] + ask[sel]) / 2}
    return model, out


@pytest.fixture(scope="module")
def clean_day():
    return simulate_day()


@pytest.fixture(scope="module")
def schedule():
    return simulator.default_schedule(DAY, 1, seed=5)


@pytest.fixture(scope="module")
def manipulated_day(schedule):
    return simulate_day(schedule)


def test_same_seed_same_ticks_different_seed_different():
    a = MarketModel(seed=7, rate_scale=0.1).generate(T0, T0 + 600_000)
    b = MarketModel(seed=7, rate_scale=0.1).generate(T0, T0 + 600_000)
    c = MarketModel(seed=8, rate_scale=0.1).generate(T0, T0 + 600_000)
    assert len(a) > 0
    assert np.array_equal(a.ts, b.ts) and np.array_equal(a.bid, b.bid) and np.array_equal(a.pair_index, b.pair_index)
    assert not (len(a) == len(c) and np.array_equal(a.bid, c.bid))


def test_chunks_are_time_ordered_unique_and_at_truefx_precision(clean_day):
    _, day = clean_day
    for pair, d in day.items():
        assert np.all(np.diff(d["ts"]) > 0), pair  # one quote per pair per ms: (pair, ts) is an identity
        dec = 3 if pair.endswith("JPY") else 5
        assert np.allclose(np.round(d["bid"], dec), d["bid"], rtol=0, atol=1e-12)
        assert np.all(d["ask"] >= d["bid"]), pair  # no crossed quote without a scenario


def test_daily_volume_and_rates_follow_the_intraday_profile(clean_day):
    model, day = clean_day
    total = sum(len(d["ts"]) for d in day.values())
    assert 0.5e6 * SCALE < total < 3e6 * SCALE  # about 1-3 M ticks per day at rate scale 1
    hours = np.arange(24)
    for pair in ("EUR/USD", "USD/JPY", "AUD/NZD", "USD/CAD"):
        counts = np.bincount(((day[pair]["ts"] - T0) // HOUR_MS).astype(int), minlength=24)
        expected = np.array([model.arrival_rates(np.array([T0 + h * HOUR_MS + m * 60_000 for m in range(60)]))
                             [:, model.pairs.index(pair)].mean() * 3600 for h in hours])
        assert np.corrcoef(counts, expected)[0, 1] > 0.95, pair
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 10), pair
    eur = np.bincount(((day["EUR/USD"]["ts"] - T0) // HOUR_MS).astype(int), minlength=24)
    jpy = np.bincount(((day["AUD/JPY"]["ts"] - T0) // HOUR_MS).astype(int), minlength=24)
    assert eur[13] > 4 * eur[21]  # London/New York overlap vs the lull before Asia
    assert jpy[2] / jpy[13] > eur[2] / eur[13]  # Asia matters more to AUD/JPY than to EUR/USD


def test_weekend_is_closed():
    sat = int(datetime(2026, 11, 7, tzinfo=timezone.utc).timestamp() * 1000)
    fri_21 = sat - 3 * HOUR_MS
    model = MarketModel(("EUR/USD",), seed=1, rate_scale=1)
    before = model.generate(fri_21, fri_21 + HOUR_MS)
    closed = model.generate(fri_21 + HOUR_MS, sat + DAY_MS + 22 * HOUR_MS)
    reopen = model.generate(sat + DAY_MS + 22 * HOUR_MS, sat + DAY_MS + 23 * HOUR_MS)
    assert len(before) > 100 and len(closed) == 0 and len(reopen) > 100


def _asof(ts, values, at):
    i = np.searchsorted(ts, at, side="right") - 1
    return values[np.clip(i, 0, None)]


def _usd_value(day, cur, t, col="mid"):
    """USD value of one unit of `cur` at times t, from its USD pair's last quote."""
    if f"{cur}/USD" in day:
        return _asof(day[f"{cur}/USD"]["ts"], day[f"{cur}/USD"][col], t)
    return 1.0 / _asof(day[f"USD/{cur}"]["ts"], day[f"USD/{cur}"][col], t)


def implied_mid(day, cross, t):
    """A cross's mid implied by its two USD legs (EUR/JPY = EUR/USD x USD/JPY, AUD/NZD = AUD/USD / NZD/USD)."""
    base, quote = cross.split("/")
    return _usd_value(day, base, t) / _usd_value(day, quote, t)


def _rel_spread(day, pair, t):
    return _asof(day[pair]["ts"], (day[pair]["ask"] - day[pair]["bid"]) / day[pair]["mid"], t)


def _usd_pair(day, cur):
    return f"{cur}/USD" if f"{cur}/USD" in day else f"USD/{cur}"


def test_triangles_agree_within_spread(clean_day):
    _, day = clean_day
    for cross in ("EUR/JPY", "EUR/GBP", "AUD/NZD", "CHF/JPY", "CAD/JPY", "EUR/CHF"):
        d = day[cross]
        t = d["ts"][d["ts"] > T0 + 60_000]  # every leg has quoted
        dev = np.abs(_asof(d["ts"], d["mid"], t) / implied_mid(day, cross, t) - 1)
        base, quote = cross.split("/")
        spread = (_rel_spread(day, cross, t) + _rel_spread(day, _usd_pair(day, base), t)
                  + _rel_spread(day, _usd_pair(day, quote), t))
        assert np.mean(dev <= spread) > 0.99, cross


def test_correlations_are_plausible():
    corr = MarketModel().correlation()
    i = {c: k for k, c in enumerate(simulator.market.CURRENCIES)}
    assert corr[i["EUR"], i["CHF"]] > 0.7 and corr[i["AUD"], i["NZD"]] > 0.7
    assert corr[i["EUR"], i["JPY"]] < corr[i["EUR"], i["CHF"]]


def test_default_schedule_has_every_kind(schedule):
    assert sorted({s.kind for s in schedule}) == sorted(KINDS)
    assert all(7 * 3600_000 <= s.start_ms - T0 < 20 * 3600_000 for s in schedule)


def _window(d, s, pad_ms=0):
    return (d["ts"] >= s.start_ms - pad_ms) & (d["ts"] < s.end_ms + pad_ms)


def test_every_scenario_kind_is_visible_in_the_data(manipulated_day, schedule):
    _, day = manipulated_day
    seen = set()
    for s in schedule:
        d = day[s.pair]
        inside = _window(d, s)
        before = (d["ts"] >= s.start_ms - 600_000) & (d["ts"] < s.start_ms)
        spread = (d["ask"] - d["bid"]) / d["mid"]
        if s.kind == "quote_stuffing":
            rate_in = inside.sum() / s.duration_s
            rate_before = max(before.sum(), 1) / 600
            assert rate_in > 5 * rate_before, s
        elif s.kind == "feed_stall":
            assert inside.sum() == 0 and before.sum() > 0, s
            assert ((d["ts"] >= s.end_ms) & (d["ts"] < s.end_ms + 600_000)).sum() > 0, s
        elif s.kind == "price_spike":
            i = np.searchsorted(d["ts"], s.start_ms)
            assert d["ts"][i] == s.start_ms
            jump = (d["mid"][i] / d["mid"][i - 1] - 1) * 1e4
            assert abs(jump - s.magnitude) < 3, (s, jump)
            j = np.searchsorted(d["ts"], s.end_ms)
            assert abs(d["mid"][j] / d["mid"][i - 1] - 1) * 1e4 < 3, s  # reverted
        elif s.kind == "spread_blowout":
            assert np.median(spread[inside]) > 5 * np.median(spread[before]), s
        elif s.kind == "crossed_quote":
            assert (d["bid"][inside] > d["ask"][inside]).all() and inside.any(), s
            assert not (d["bid"][~inside] > d["ask"][~inside]).any(), s
        elif s.kind == "cross_rate_break":
            implied = implied_mid(day, s.pair, d["ts"])
            dev = (d["mid"] / implied - 1) * 1e4
            assert np.median(dev[inside]) == pytest.approx(s.magnitude, abs=3), s
            assert np.median(np.abs(dev[before])) < 2, s
        seen.add(s.kind)
    assert seen == set(KINDS)


def test_files_and_labels(tmp_path, schedule):
    out = tmp_path / "sim"
    summary = simulator.simulate_files(out, DAY, 1, pairs=("EUR/USD", "USD/JPY", s_pair := schedule[0].pair),
                                       scenarios=schedule, seed=2, rate_scale=0.02, zip_files=True)
    names = sorted(p.name for p in out.iterdir())
    assert "labels.csv" in names and "EURUSD-2026-11.zip" in names and "USDJPY-2026-11.zip" in names
    records = [r for f in summary.files for r in iter_file(f)]
    assert len(records) == summary.ticks > 0
    assert all(isinstance(r.item, Tick) for r in records)
    labels = read_labels(out / "labels.csv")
    assert {(lab["kind"], lab["pair"]) for lab in labels} == {(s.kind, s.pair) for s in schedule
                                                                 if s.pair in ("EUR/USD", "USD/JPY", s_pair)}
    assert all(lab["end_ms"] > lab["start_ms"] for lab in labels)
    again = simulator.simulate_files(tmp_path / "again", DAY, 1, pairs=("EUR/USD", "USD/JPY", s_pair),
                                     scenarios=schedule, seed=2, rate_scale=0.02)
    assert again.ticks == summary.ticks


def test_scenario_files_json_yaml_relative_and_errors(tmp_path):
    items = [{"kind": "price_spike", "pair": "EUR/USD", "start": "2026-11-04T10:00:00Z", "duration_s": 2,
              "magnitude": 40}, {"kind": "feed_stall", "pair": "USD/JPY", "offset_s": 30, "duration_s": 120}]
    (tmp_path / "s.json").write_text(json.dumps(items))
    loaded = simulator.load(tmp_path / "s.json", now_ms=T0)
    assert [s.kind for s in loaded] == ["feed_stall", "price_spike"]
    assert loaded[0].start_ms == T0 + 30_000 and loaded[0].magnitude == 1.0
    (tmp_path / "s.yaml").write_text("- {kind: crossed_quote, pair: GBP/USD, start: '2026-11-04T10:00:00Z', "
                                     "duration_s: 1, magnitude: 3}\n")
    assert simulator.load(tmp_path / "s.yaml")[0].label()["end"] == "2026-11-04T10:00:01.000Z"
    (tmp_path / "bad.json").write_text(json.dumps([{"kind": "moon_landing", "pair": "EUR/USD",
                                                    "start": "2026-11-04T10:00:00Z", "duration_s": 1}]))
    with pytest.raises(FxtrueError, match="moon_landing"):
        simulator.load(tmp_path / "bad.json")
    simulator.save(loaded, tmp_path / "saved.json")
    assert simulator.load(tmp_path / "saved.json") == loaded


def test_live_simulator_follows_the_clock_and_schedules_relative_to_now():
    now = [T0 + 10 * HOUR_MS]
    sc = simulator.live_schedule(now[0], seed=1, first_after_s=5, every_s=10, count=6)
    assert [s.kind for s in sc] == list(KINDS)
    sim = simulator.LiveSimulator(seed=1, scenarios=sc, clock=lambda: now[0])
    assert sim.advance() == []
    seen = []
    for _ in range(80):
        now[0] += 1000
        ticks = sim.advance()
        assert all(now[0] - 1000 <= t.ts < now[0] and t.source == "sim" for t in ticks)
        seen.extend(ticks)
    assert len(seen) > 100
    crossed = [t for t in seen if t.crossed]
    cq = next(s for s in sc if s.kind == "crossed_quote")
    assert crossed and all(t.pair == cq.pair and cq.start_ms <= t.ts < cq.end_ms for t in crossed)


def test_scenario_validation():
    with pytest.raises(ValueError):
        Scenario("price_spike", "XAU/USD", T0, 1, 1)
    with pytest.raises(ValueError):
        Scenario("price_spike", "EUR/USD", T0, 0, 1)


def test_live_schedule_can_be_limited_to_some_kinds():
    kinds = ("feed_stall", "crossed_quote")
    sc = simulator.live_schedule(T0, seed=1, first_after_s=75, every_s=90, count=5, kinds=kinds)
    assert [s.kind for s in sc] == ["feed_stall", "crossed_quote"] * 2 + ["feed_stall"]
    assert [s.start_ms - T0 for s in sc] == [75_000 + i * 90_000 for i in range(5)]
    with pytest.raises(FxtrueError, match="unknown scenario kind"):
        simulator.live_schedule(T0, kinds=("spoofing",))
