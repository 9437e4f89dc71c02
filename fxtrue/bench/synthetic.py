"""Synthetic tick load for the stream and latency benchmarks, produced by Spark's JVM Kafka writer (a Python
producer tops out at a few thousand ticks/s here): tick-v1 JSON values keyed by pair, a slow sine around each
pair's typical price, and a crossed quote every `crossed_every` ticks so the spread detector always has alerts."""

from __future__ import annotations

from fxtrue.settings import Settings

PRICE = {"AUD/JPY": 97.5, "AUD/NZD": 1.09, "AUD/USD": 0.655, "CAD/JPY": 108.0, "CHF/JPY": 187.0,
         "EUR/CHF": 0.93, "EUR/GBP": 0.88, "EUR/JPY": 175.0, "EUR/USD": 1.16, "GBP/JPY": 199.0,
         "GBP/USD": 1.31, "NZD/USD": 0.60, "USD/CAD": 1.40, "USD/CHF": 0.80, "USD/JPY": 151.0}


def tick_values(df, pairs: tuple[str, ...], id_col: str, ts_ms, received_ms, crossed_every: int):
    """(key, value) columns of synthetic ticks from a row id and event/receive times (epoch ms columns)."""
    from pyspark.sql import functions as F

    idx = (F.col(id_col) % len(pairs)).cast("int")
    pair = F.element_at(F.array(*[F.lit(p) for p in pairs]), idx + 1)
    base = F.element_at(F.array(*[F.lit(PRICE[p]) for p in pairs]), idx + 1)
    bid = F.round(base * (F.lit(1.0) + F.lit(0.002) * F.sin(F.col(id_col) / F.lit(5000.0))), 5)
    spread = base * F.lit(0.00008)
    crossed = (F.col(id_col) % F.lit(crossed_every)) == 0
    ask = F.round(F.when(crossed, bid - spread).otherwise(bid + spread), 5)
    value = F.to_json(F.struct(F.lit(1).alias("v"), pair.alias("pair"), ts_ms.cast("long").alias("ts"),
                               bid.alias("bid"), ask.alias("ask"), F.lit("sim").alias("source"),
                               received_ms.cast("long").alias("received_at")))
    return df.select(pair.cast("binary").alias("key"), value.cast("binary").alias("value"))


def fill_backlog(spark, settings: Settings, n: int, start_ms: int, event_rate: float,
                 crossed_every: int = 100_000) -> None:
    """Write n ticks (event times start_ms + i / event_rate s) to settings.kafka.topic_ticks, in event-time
    order within each topic partition (one writer task: several would interleave their ranges of event time in
    every partition, and a reader's watermark would then leave most of them out as late)."""
    from pyspark.sql import functions as F

    df = spark.range(0, n, numPartitions=1)
    ts = F.lit(start_ms) + F.floor(F.col("id") * F.lit(1000.0 / event_rate))
    (tick_values(df, settings.truefx.pairs, "id", ts, ts, crossed_every)
        .write.format("kafka").option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("kafka.linger.ms", "20").option("kafka.compression.type", "lz4")
        .option("topic", settings.kafka.topic_ticks).save())


def start_feeder(spark, settings: Settings, rate: int, checkpoint: str, crossed_every: int):
    """A live feed at `rate` ticks/s (Spark's rate source): event time and received_at = generation time."""
    from pyspark.sql import functions as F

    src = spark.readStream.format("rate").option("rowsPerSecond", rate).option("numPartitions", 2).load()
    now = F.unix_millis(F.col("timestamp"))
    return (tick_values(src, settings.truefx.pairs, "value", now, F.unix_millis(F.current_timestamp()),
                        crossed_every)
            .writeStream.format("kafka").option("kafka.bootstrap.servers", settings.kafka_bootstrap)
            .option("kafka.linger.ms", "5").option("topic", settings.kafka.topic_ticks)
            .option("checkpointLocation", checkpoint).trigger(processingTime="500 milliseconds")
            .queryName("bench-feeder").start())
