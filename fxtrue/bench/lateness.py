"""lateness: how late ticks reach fx.ticks behind the newest event time already there, per source: the
figure the streaming job's watermark (spark.watermark_seconds) must cover, or closed windows leave ticks out.

For each source, ticks are produced into a topic of their own through the real producer path (source ->
producer loop -> KafkaSink), then read back in broker order (Kafka timestamp, then partition and offset);
a tick's lateness is the newest event time among the ticks before it minus its own event time (0 when it is
the newest). Sources: a paced replay of simulated history files (REPLAY_SPEED), the live simulator (`produce
sim`), and the TrueFX protocol polled from the project's TrueFX mock serving the simulator (`produce
truefx`). There is no reference to compare with: the figure is a property of the feed, not a speed."""

from __future__ import annotations

import threading

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, percentile, require

# A paced replay (one simulated minute per second). At speed 0 a day passes in seconds: one millisecond of
# broker time then spans seconds of event time, and ties between partitions look like lateness.
REPLAY_SPEED = 60

TITLE = "tick lateness behind the newest event time on fx.ticks, per source (sets the watermark)"


def lateness_ms(records: list[tuple[int, int, int, int]]) -> list[int]:
    """Records (kafka timestamp ms, partition, offset, event ts ms) -> each tick's lateness (ms), in broker
    order: newest event time before it minus its own, never below 0."""
    newest, out = None, []
    for _, _, _, ts in sorted(records):
        out.append(0 if newest is None or ts >= newest else newest - ts)
        newest = ts if newest is None else max(newest, ts)
    return out


def read_back(s) -> list[tuple[int, int, int, int]]:
    import json

    from fxtrue import kafka

    return [(m.timestamp_ms, m.partition, m.offset, int(json.loads(m.value)["ts"]))
            for m in kafka.records(s, s.kafka.topic_ticks, component="admin", idle_s=5.0)]


def produce_live(source, s, seconds: float) -> None:
    """Run the producer loop on a live source for `seconds`, into s.kafka.topic_ticks."""
    main = require("producers.main", "run", "the producer loop")
    KafkaSink = require("producers.sinks", "KafkaSink", "the Kafka sink")
    sink = KafkaSink(s)
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        main(source, sink, stop=stop)
    finally:
        timer.cancel()
        sink.close()


def run(ctx: BenchContext) -> BenchResult:
    from fxtrue import kafka
    from fxtrue.bench.ingest import simulate
    from fxtrue.simulator import LiveSimulator
    from producers.sources import ReplaySource, SimulatorSource, TrueFXSource
    from producers.truefx import TrueFXClient
    from producers.truefx_mock import TrueFXMockServer

    live_s = 30.0 if ctx.quick else 120.0
    base = ctx.isolated("late")
    res = BenchResult("lateness", TITLE)

    def topic(tag):
        s = base.replace(kafka={"topic_ticks": f"{base.kafka.topic_ticks}.{tag}"})
        kafka.create_topics(s, progress=lambda m: None)
        return s

    s = topic("replay")
    files, _ = simulate(ctx, 1, 0.05)
    produce_live(ReplaySource(files, speed=REPLAY_SPEED), s, live_s)
    measured = {f"replay (history files, speed {REPLAY_SPEED:g})": read_back(s)}

    s = topic("sim")
    produce_live(SimulatorSource(LiveSimulator(seed=3)), s, live_s)
    measured["simulator (produce sim)"] = read_back(s)

    s = topic("truefx")
    server = TrueFXMockServer(users={"bench": "bench"}, simulator=LiveSimulator(seed=4)).start()
    try:
        client = TrueFXClient(server.url, "bench", "bench", base.truefx.pairs)
        produce_live(TrueFXSource(client, interval_s=base.truefx.poll_interval_s), s, live_s)
    finally:
        server.stop()
    measured["TrueFX protocol polled from the mock (produce truefx)"] = read_back(s)

    for name, records in measured.items():
        late = [x / 1000 for x in lateness_ms(records)]
        if not late:
            res.notes.append(f"{name}: no tick came back")
            continue
        for q in (99, 99.9):
            res.figures.append(Figure(f"{name}: p{q:g} lateness", "s", [percentile(late, q)], higher_is_better=False,
                                      note=f"over {len(late):,} ticks"))
        res.figures.append(Figure(f"{name}: max lateness", "s", [max(late)], higher_is_better=False,
                                  note=f"{sum(x > 0 for x in late):,} of {len(late):,} ticks behind the newest"))
    res.params = {"live_seconds": live_s, "watermark_s": base.spark.watermark_seconds,
                  "poll_interval_s": base.truefx.poll_interval_s}
    res.notes.append(f"the job's watermark is {base.spark.watermark_seconds} s: a tick later than that behind the "
                     "newest event time is left out of its closed window (the fast path still judges it)")
    return res
