"""Sources of the streaming job: fx.ticks from Kafka, parsed with the explicit tick schema."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from fxtrue.frames import parse_kafka_ticks
from fxtrue.kafka import spark_options
from fxtrue.settings import Settings


def kafka_ticks(spark: SparkSession, settings: Settings, starting_offsets: str = "earliest", *,
                real_time: bool = False) -> DataFrame:
    """settings.kafka.topic_ticks as parsed rows (frames.parse_kafka_ticks: tick columns, raw, invalid_reason).

    Starts from the earliest retained offset the first time (the checkpoint decides afterwards), so ticks
    produced before the job started are not lost. Micro-batches read at most spark.max_offsets_per_trigger
    offsets; `real_time`: no such cap (Spark's real-time mode reads records as they come).
    """
    reader = (spark.readStream.format("kafka")
              .options(**spark_options(settings, component="streaming"))
              .option("subscribe", settings.kafka.topic_ticks)
              .option("startingOffsets", starting_offsets)
              # Retention may delete unread offsets during a long outage: log and go on, never crash-loop.
              .option("failOnDataLoss", "false"))
    if not real_time:
        reader = reader.option("maxOffsetsPerTrigger", str(settings.spark.max_offsets_per_trigger))
    return parse_kafka_ticks(reader.load(), max_skew_ms=int(settings.kafka.max_event_skew_s * 1000))
