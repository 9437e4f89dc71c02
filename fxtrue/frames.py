"""Spark schemas and the basic tick transformations shared by the streaming job, the batch job and `detect`.

Column -> Column functions and DataFrame -> DataFrame transformations named by effect (STYLE.md 4),
chained with df.transform(...). Detector-specific ones live in fxtrue.detectors.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (DoubleType, LongType, StringType, StructField, StructType, TimestampType)

from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.ticks import SOURCES

# The JSON value on fx.ticks (schema version 1, see fxtrue/schema/tick-v1.json).
TICK_JSON_SCHEMA = StructType([
    StructField("v", LongType()),
    StructField("pair", StringType()),
    StructField("ts", LongType()),
    StructField("bid", DoubleType()),
    StructField("ask", DoubleType()),
    StructField("high", DoubleType()),
    StructField("low", DoubleType()),
    StructField("open", DoubleType()),
    StructField("source", StringType()),
    StructField("received_at", LongType()),
])

# The canonical tick as a DataFrame (and the data columns of the tick lake).
TICK_SCHEMA = StructType([
    StructField("pair", StringType(), False),
    StructField("ts", TimestampType(), False),
    StructField("bid", DoubleType(), False),
    StructField("ask", DoubleType(), False),
    StructField("high", DoubleType(), True),
    StructField("low", DoubleType(), True),
    StructField("open", DoubleType(), True),
    StructField("source", StringType(), False),
    StructField("received_at", TimestampType(), True),
])

# The tick lake is partitioned by these (pair "EUR/USD" -> symbol "EURUSD": no '/' in paths).
LAKE_PARTITIONS = ("symbol", "date")


def mid(bid: Column, ask: Column) -> Column:
    return (bid + ask) / F.lit(2.0)


def spread_bps(bid: Column, ask: Column) -> Column:
    """Spread in basis points of mid; negative for a crossed quote."""
    return (ask - bid) / mid(bid, ask) * F.lit(10000.0)


def epoch_ms_to_ts(col: Column) -> Column:
    return F.timestamp_millis(col)


def ts_to_epoch_ms(col: Column) -> Column:
    return F.unix_millis(col)


def with_mid(df: DataFrame) -> DataFrame:
    return df.withColumn("mid", mid(F.col("bid"), F.col("ask")))


def with_spread_bps(df: DataFrame) -> DataFrame:
    return df.withColumn("spread_bps", spread_bps(F.col("bid"), F.col("ask")))


def with_lake_partitions(df: DataFrame) -> DataFrame:
    """Add the lake's partition columns: symbol (pair without '/') and date (UTC yyyy-MM-dd of ts)."""
    return (df.withColumn("symbol", F.regexp_replace("pair", "/", ""))
              .withColumn("date", F.date_format("ts", "yyyy-MM-dd")))


def invalid_reason(df_cols: dict[str, Column] | None = None) -> Column:
    """Why a parsed tick row is invalid (NULL when valid). Mirrors fxtrue.ticks.validate for Spark.

    A crossed quote is valid: it is an alert case, not bad input.
    """
    c = df_cols or {}
    pair = c.get("pair", F.col("pair"))
    bid, ask = c.get("bid", F.col("bid")), c.get("ask", F.col("ask"))
    ts = c.get("ts_ms", F.col("ts_ms"))
    source = c.get("source", F.col("source"))

    def bad_price(col: Column) -> Column:
        return col.isNull() | F.isnan(col) | (col <= 0) | (col == float("inf"))

    return (F.when(pair.isNull(), F.lit("missing field pair"))
             .when(~pair.isin(*TRUEFX_PAIRS), F.concat(F.lit("unknown pair "), F.substring(pair, 1, 20)))
             .when(ts.isNull() | (ts <= 0), F.lit("ts is not a positive epoch-ms integer"))
             .when(ts > F.lit(4102444800000), F.lit("ts is beyond year 2100"))
             .when(bad_price(bid), F.lit("bid is not a finite positive number"))
             .when(bad_price(ask), F.lit("ask is not a finite positive number"))
             .when(~source.isin(*SOURCES), F.lit("unknown source")))


# A tick stamped later than this after the broker received it is rejected: an event time from the future
# would move the streaming job's watermark ahead for good (every later window "late", and the watermark is
# kept in the checkpoint). Real feeds are behind the broker, not ahead (clock skew is well under this).
MAX_AHEAD_OF_BROKER_MS = 60_000


def parse_kafka_ticks(df: DataFrame) -> DataFrame:
    """Kafka rows (key, value bytes, ...) -> parsed columns plus `raw` and `invalid_reason`.

    Rows that are not JSON objects of schema version 1 get a reason too, and so do ticks stamped more than
    MAX_AHEAD_OF_BROKER_MS after their arrival at the broker; split with `valid_ticks` / `rejected_ticks`.
    """
    raw = F.col("value").cast("string")
    parsed = F.from_json(raw, TICK_JSON_SCHEMA, {"mode": "PERMISSIVE", "allowNonNumericNumbers": "true"})
    out = (df.select(raw.alias("raw"), parsed.alias("j"), F.col("timestamp").alias("kafka_ts"))
             .select("raw", "kafka_ts", "j.*")
             .withColumnRenamed("ts", "ts_ms"))
    ahead_s = (F.col("ts_ms") - F.unix_millis("kafka_ts")) / F.lit(1000.0)
    reason = (F.when(F.col("v").isNull() & F.col("pair").isNull(), F.lit("not a JSON tick object"))
               .when(F.col("v") != 1, F.concat(F.lit("unsupported schema version "), F.col("v").cast("string")))
               .otherwise(F.coalesce(invalid_reason(), F.when(
                   ahead_s > F.lit(MAX_AHEAD_OF_BROKER_MS / 1000.0),
                   F.concat(F.lit("ts is "), F.format_number(ahead_s, 0),
                            F.lit(" s ahead of its arrival at the broker (clock or feed error)"))))))
    return out.withColumn("invalid_reason", reason)


def valid_ticks(parsed: DataFrame, *keep: str) -> DataFrame:
    """The canonical tick columns of rows without an invalid_reason (then the parsed columns named in `keep`,
    e.g. kafka_ts)."""
    return (parsed.where(F.col("invalid_reason").isNull())
                  .select("pair", epoch_ms_to_ts(F.col("ts_ms")).alias("ts"), "bid", "ask", "high", "low",
                          "open", "source", epoch_ms_to_ts(F.col("received_at")).alias("received_at"), *keep))


def rejected_ticks(parsed: DataFrame) -> DataFrame:
    """Dead-letter rows: raw payload, reason, source, time (the fx.ticks.dlq contract)."""
    return (parsed.where(F.col("invalid_reason").isNotNull())
                  .select("raw", F.col("invalid_reason").alias("reason"),
                          F.coalesce(F.col("source"), F.lit("")).alias("source"),
                          F.current_timestamp().alias("time")))
