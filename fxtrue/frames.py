"""Spark schemas and the basic tick transformations shared by the streaming job, the batch job and `detect`.

Column -> Column functions and DataFrame -> DataFrame transformations named by effect,
chained with df.transform(...). Detector-specific ones live in fxtrue.detectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, MapType, StringType, StructField, StructType, TimestampType

from fxtrue.settings import TRUEFX_PAIRS, KafkaSettings
from fxtrue.ticks import (CHECK_ORDER, ECHO_CHARS, ECHO_SAFE, FIELD_RULES, FIELDS, HIGH_BELOW_LOW, OPTIONAL_FIELDS,
                          PRICE_FIELDS, REQUIRED_FIELDS, SCHEMA_VERSION, SOURCES)

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


def lake_symbol(pair: Column) -> Column:
    """The lake's symbol of a pair: the pair without '/' (EUR/USD -> EURUSD)."""
    return F.regexp_replace(pair, "/", "")


def with_lake_partitions(df: DataFrame) -> DataFrame:
    """Add the lake's partition columns: symbol (lake_symbol) and date (UTC yyyy-MM-dd of ts)."""
    return (df.withColumn("symbol", lake_symbol(F.col("pair")))
              .withColumn("date", F.date_format("ts", "yyyy-MM-dd")))


@dataclass(frozen=True)
class FieldCols:
    """How the rule table's Spark checks see one field: present (not absent/null), a JSON number token, an
    integer token, and its value as a double (fxtrue.ticks.Rule.spark)."""

    present: Column
    is_number: Column
    is_int: Column
    num: Column


def typed_field(col: Column) -> FieldCols:
    """A column that is already a typed number (the history reader): present and a number when not null."""
    return FieldCols(col.isNotNull(), col.isNotNull(), col.isNotNull(), col.cast("double"))


def json_field(text: Column, dbl: Column) -> FieldCols:
    """A field of a JSON message, from its raw token text (StringType parse) and its DoubleType parse.

    The DoubleType parse is non-null for number tokens, and also for the strings "NaN"/"Infinity"/"INF"
    (which the text shows unquoted, while a NaN token's text is quoted); an integer token's text is its digits.
    Plain comparisons, no regular expressions: this runs on every field of every tick (the streaming job's
    throughput rests on it).
    """
    number = dbl.isNotNull() & ~text.isin(*NON_NUMERIC_STRINGS)
    # A number token is an integer unless it has a fraction or an exponent; the NaN/Infinity tokens' texts are
    # quoted.
    is_int = number & ~(text.contains(".") | text.contains("e") | text.contains("E") | text.contains('"'))
    return FieldCols(text.isNotNull(), number, is_int, dbl)


# The strings (not number tokens) that Spark's DoubleType parse still reads as a number.
NON_NUMERIC_STRINGS = tuple(f"{sign}{word}" for sign in ("", "+", "-") for word in ("NaN", "INF", "Infinity"))


def echo(col: Column) -> Column:
    """fxtrue.ticks.echo for Spark: the first ECHO_CHARS characters, unsafe ones as '?', in single quotes."""
    text = F.coalesce(F.substring(col, 1, ECHO_CHARS), F.lit("null"))  # never a NULL reason
    return F.concat(F.lit("'"), F.regexp_replace(text, f"[^{ECHO_SAFE}]", "?"), F.lit("'"))


def tick_reason(fields: dict[str, FieldCols], pair: Column, source: Column) -> Column:
    """fxtrue.ticks.tick_reason for Spark, built from the same rule table (CHECK_ORDER, FIELD_RULES);
    fields absent from `fields` are treated as absent. NULL when every rule holds."""
    out = None

    def add(cond: Column, reason: Column) -> None:
        nonlocal out
        out = F.when(cond, reason) if out is None else out.when(cond, reason)

    for step in CHECK_ORDER:
        if step == "pair":
            add(pair.isNull() | ~pair.isin(*TRUEFX_PAIRS), F.concat(F.lit("unknown pair "), echo(pair)))
        elif step == "source":
            add(source.isNull() | ~source.isin(*SOURCES), F.concat(F.lit("unknown source "), echo(source)))
        elif step == "high>=low":
            if "high" in fields and "low" in fields:
                hi, lo = fields["high"], fields["low"]
                add(hi.present & lo.present & (hi.num < lo.num), F.lit(HIGH_BELOW_LOW))
        elif step in fields:
            c = fields[step]
            for rule in FIELD_RULES[step]:
                add(c.present & F.coalesce(rule.spark(c, F), F.lit(True)), F.lit(rule.reason))
    return out


def invalid_reason(df_cols: dict[str, Column] | None = None) -> Column:
    """Why a row of typed tick columns (pair, ts_ms, bid, ask, source; high/low/open when given) is invalid,
    NULL when valid: the rule table of fxtrue.ticks. A crossed quote is valid: it is an alert case."""
    c = df_cols or {}
    names = {"ts": "ts_ms"}
    fields = {f: typed_field(c.get(names.get(f, f), F.col(names.get(f, f)))) for f in ("ts", "bid", "ask")}
    fields.update({f: typed_field(c[f]) for f in OPTIONAL_FIELDS if f in c})
    return tick_reason(fields, c.get("pair", F.col("pair")), c.get("source", F.col("source")))


def skew_reason(delta_ms: Column, limit_ms: int) -> Column:
    """fxtrue.ticks.skew_reason for Spark (delta > 0: ahead of the arrival)."""
    return F.concat(F.lit("ts is "), F.floor(F.abs(delta_ms) / F.lit(1000)).cast("string"),
                    F.when(delta_ms > 0, F.lit(" s ahead of")).otherwise(F.lit(" s behind")),
                    F.lit(f" its arrival (limit {limit_ms // 1000} s)"))


_JSON_OPTIONS = {"mode": "PERMISSIVE", "allowNonNumericNumbers": "true"}
# The fields read as numbers: the schema version and those with number rules in the table (parsing pair and
# source as doubles too cost a third of the parse).
NUMERIC_FIELDS = ("v", *FIELD_RULES)
_DOUBLE_SCHEMA = StructType([StructField(f, DoubleType()) for f in NUMERIC_FIELDS])
# A JSON scalar at the start of the message (Python's decoder reads it, then the message is not an object).
_SCALAR = r'^\s*(null|true|false|NaN|-?Infinity|-?[0-9]|"([^"\\]|\\.)*")'


def json_reason(raw: Column, keys: Column, text: dict[str, Column], dbl: dict[str, Column]) -> Column:
    """fxtrue.ticks.json_reason for Spark: JSON object, no duplicate keys, schema version, no field outside the
    schema, required fields present. `keys`: the top-level keys (NULL: not an object; duplicates kept);
    `text`/`dbl`: each field's raw token text / its value parsed as a double (numeric fields)."""
    dups = F.filter(F.array_distinct(keys), lambda k: F.size(F.filter(keys, lambda x: x == k)) > 1)
    extra = F.array_except(keys, F.array(*[F.lit(f) for f in FIELDS]))
    # When the message has exactly as many keys as schema fields with a non-null value, its keys are those
    # fields once each: no duplicate, nothing outside the schema. Only other messages (a null value, an extra
    # or a repeated key) pay for the array functions; Spark's AND does not evaluate its right side when the
    # left one is false.
    known = sum((text[f].isNotNull().cast("int") for f in FIELDS), F.lit(0))
    irregular = F.size(keys) != known
    v = json_field(text["v"], dbl["v"])
    array = F.from_json(raw, ArrayType(StringType()), _JSON_OPTIONS)
    out = (F.when(keys.isNull() & (array.isNotNull() | raw.rlike(_SCALAR)),
                  F.lit("not a JSON object"))
            .when(keys.isNull(), F.lit("not JSON"))
            .when(irregular & (F.size(F.array_distinct(keys)) < F.size(keys)),
                  F.concat(F.lit("duplicate field "), echo(F.array_min(dups))))
            .when(~v.present, F.lit("missing field v"))
            .when(~v.is_int, F.lit("schema version is not an integer"))
            .when(text["v"] != F.lit(str(SCHEMA_VERSION)),
                  F.concat(F.lit("unsupported schema version "), F.substring(text["v"], 1, ECHO_CHARS)))
            .when(irregular & (F.size(extra) > 0), F.concat(F.lit("unexpected field "), echo(F.array_min(extra)))))
    for name in REQUIRED_FIELDS:
        out = out.when(text[name].isNull(), F.lit(f"missing field {name}"))
    return out


def parse_kafka_ticks(df: DataFrame, max_skew_ms: int | None = None) -> DataFrame:
    """Kafka rows (key, value bytes, timestamp, ...) -> parsed columns plus `raw` and `invalid_reason`.

    The reason comes from the rule table of fxtrue.ticks (the same strings as fxtrue.ticks.from_json), then
    the event-time bound: a tick stamped more than `max_skew_ms` (default: settings kafka.max_event_skew_s)
    after its arrival at the broker is rejected, since it would move the watermark ahead for good (a tick far
    behind is bounded by the table's year-2000 floor). Split with `valid_ticks` / `rejected_ticks`.

    This runs on every tick of every query of the streaming job, so it is built for speed: two JSON parses
    (each top-level value as its token text, a map that keeps duplicate keys; the numeric fields as doubles),
    each field looked up once into a column of its own (the rules read those columns many times), the array
    functions only for messages whose keys are not the schema's fields once each.
    """
    limit_ms = int((KafkaSettings().max_event_skew_s if max_skew_ms is None else max_skew_ms / 1000) * 1000)
    raw = F.col("value").cast("string")
    parsed = df.select(raw.alias("raw"), F.col("timestamp").alias("kafka_ts"),
                       F.from_json(raw, MapType(StringType(), StringType()), _JSON_OPTIONS).alias("_m"),
                       F.from_json(raw, _DOUBLE_SCHEMA, _JSON_OPTIONS).alias("_d"))
    fields = parsed.select(
        "raw", "kafka_ts", F.map_keys("_m").alias("_keys"),
        *[F.try_element_at(F.col("_m"), F.lit(f)).alias(f"_t_{f}") for f in FIELDS],
        *[F.col("_d")[f].alias(f"_n_{f}") for f in NUMERIC_FIELDS])
    text = {f: F.col(f"_t_{f}") for f in FIELDS}
    dbl = {f: F.col(f"_n_{f}") for f in NUMERIC_FIELDS}
    out = fields.select(  # the typed columns (exact for valid ticks: integers within 2^53)
        "*", dbl["v"].try_cast("long").alias("v"), text["pair"].alias("pair"),
        dbl["ts"].try_cast("long").alias("ts_ms"), *[dbl[f].alias(f) for f in PRICE_FIELDS],
        text["source"].alias("source"), dbl["received_at"].try_cast("long").alias("received_at"))
    checked = {f: json_field(text[f], dbl[f]) for f in FIELD_RULES}
    ahead_ms = F.col("ts_ms") - F.unix_millis("kafka_ts")
    reason = F.coalesce(json_reason(F.col("raw"), F.col("_keys"), text, dbl),
                        tick_reason(checked, text["pair"], text["source"]),
                        F.when(ahead_ms > F.lit(limit_ms), skew_reason(ahead_ms, limit_ms)))
    return (out.withColumn("invalid_reason", reason)
               .drop("_keys", *[f"_t_{f}" for f in FIELDS], *[f"_n_{f}" for f in NUMERIC_FIELDS]))


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
