"""`fxtrue simulate`: write simulated TrueFX history files (PAIR-YYYY-MM.csv or .zip) with labelled manipulations."""

from __future__ import annotations

import argparse
from datetime import date

from fxtrue.errors import FxtrueError
from fxtrue.settings import TRUEFX_PAIRS, Settings

HELP = """Simulate the FX market for whole UTC days and write TrueFX history files: one headerless CSV per pair
per month (EURUSD-2026-11.csv, `EUR/USD,20261102 00:00:00.959,1.08601,1.08605`), zipped with --zip, plus
labels.csv (kind,pair,start,end,magnitude) of the injected manipulations. Seeded: the same arguments give the
same files. About 1.3 million ticks per simulated weekday for the 15 pairs at --rate-scale 1 (weekends are
closed from Friday 22:00 to Sunday 22:00 UTC).

--scenarios FILE    a JSON or YAML list of {kind, pair, start (ISO UTC), duration_s, magnitude}
--scenarios default a random schedule: every kind once per trading day, in busy hours
Kinds: quote_stuffing, feed_stall, price_spike, spread_blowout, crossed_quote, cross_rate_break."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser("simulate", help="write simulated TrueFX history files with labelled manipulations",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", type=_date, required=True, help="first UTC day, YYYY-MM-DD")
    p.add_argument("--days", type=int, default=1, help="number of days (default 1)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--pairs", nargs="+", default=list(TRUEFX_PAIRS), metavar="PAIR",
                   help="pairs, e.g. EUR/USD USD/JPY (default: the 15 TrueFX pairs)")
    p.add_argument("--scenarios", default="", help="scenarios file, or 'default' for a random schedule")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--zip", action="store_true", help="zip each monthly file, as TrueFX ships them")
    p.add_argument("--rate-scale", type=float, default=1.0,
                   help="multiply quote rates (e.g. 0.05 for small test data; default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue import simulator

    pairs = tuple(p.upper() if "/" in p else f"{p[:3].upper()}/{p[3:].upper()}" for p in args.pairs)
    bad = [p for p in pairs if p not in TRUEFX_PAIRS]
    if bad:
        raise FxtrueError(f"unknown pair(s): {', '.join(bad)}", hint=f"choose among {', '.join(TRUEFX_PAIRS)}")
    if args.days < 1 or args.rate_scale <= 0:
        raise FxtrueError("--days must be >= 1 and --rate-scale > 0")
    if args.scenarios == "default":
        scenarios = simulator.default_schedule(args.start, args.days, pairs, seed=args.seed)
    elif args.scenarios:
        scenarios = simulator.load(args.scenarios)
    else:
        scenarios = []
    print(f"simulating {args.days} day(s) from {args.start} for {len(pairs)} pair(s), seed {args.seed}, "
          f"{len(scenarios)} scenario(s) -> {args.out}")
    summary = simulator.simulate_files(args.out, args.start, args.days, pairs=pairs, scenarios=scenarios,
                                       seed=args.seed, rate_scale=args.rate_scale, zip_files=args.zip,
                                       progress=print)
    print(f"wrote {summary.ticks:,} ticks in {len(summary.files)} file(s) in {summary.seconds:.1f} s "
          f"({summary.ticks / max(summary.seconds, 1e-9):,.0f} ticks/s); labels: {summary.labels}")
    return 0
