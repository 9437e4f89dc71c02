"""The Spark session factory: local mode by default, a cluster master from settings, Kafka jars wired in."""

from __future__ import annotations

import sys
from typing import Any

from fxtrue.errors import ConfigError
from fxtrue.settings import Settings
from fxtrue.stack import jvm


def kafka_jars(settings: Settings) -> list[str]:
    """Absolute paths of Spark's Kafka source jars (fetched by `fxtrue stack fetch`)."""
    folder = settings.spark_jars_dir
    if not jvm.jars_ready(settings, "spark") and not settings.spark.jars_dir:
        jvm.fetch_jars(settings, "spark")
    jars = sorted(str(p) for p in folder.glob("*.jar"))
    if not any("spark-sql-kafka-0-10" in j for j in jars):
        raise ConfigError(f"Spark's Kafka source jar is missing from {folder}",
                          hint="run `fxtrue stack fetch`, or set FXTRUE_SPARK_JARS_DIR to a folder holding "
                               "spark-sql-kafka-0-10_2.13 of exactly the pyspark version")
    return jars


CODEGEN_CACHE_ENTRIES = 2000


def session_conf(settings: Settings, app_name: str, *, with_kafka: bool = True) -> dict[str, Any]:
    """The configuration `session()` applies (pure, for tests and for spark-submit)."""
    conf: dict[str, Any] = {
        "spark.app.name": app_name,
        "spark.master": settings.spark.master,
        "spark.driver.memory": settings.spark.driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.streaming.stateStore.providerClass":
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        # commit a state store by writing the changes of the batch, not a full snapshot every batch
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        # Spark keeps compiled generated classes in a cache of 100 by default. The streaming job's queries
        # and their foreachBatch jobs generate more distinct classes than that, so each micro-batch evicted and
        # compiled them again (a fifth of the job's JVM CPU at a few ticks/s, profiled). A static conf: set at
        # session start.
        "spark.sql.codegen.cache.maxEntries": str(CODEGEN_CACHE_ENTRIES),
        # the streaming job's fast path runs its jobs in a pool of its own: its small, latency-bound jobs are
        # not queued behind the bulk queries' tasks
        "spark.scheduler.mode": "FAIR",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    }
    if settings.spark.master.startswith("local"):
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.ui.enabled"] = "false"
    if with_kafka:
        conf["spark.jars"] = ",".join(kafka_jars(settings))
    return conf


def streaming_master(settings: Settings) -> str:
    """The master of a session that runs the streaming job: in local mode, the configured threads plus one per
    fx.ticks partition when the tick query runs in real-time mode (its tasks hold their slots for a whole
    real-time batch, so the other queries need slots of their own). A cluster master is returned as it is:
    give the job at least that many more executor cores."""
    import re

    master = settings.spark.master
    m = re.fullmatch(r"local\[(\d+)\]", master.strip())
    if settings.spark.tick_mode != "realtime" or not (m or master.strip() == "local"):
        return master
    threads = int(m.group(1)) if m else 1
    return f"local[{threads + settings.kafka.partitions}]"


def session(settings: Settings, app_name: str = "fxtrue", *, with_kafka: bool = True, **extra: Any):
    """Get or create the SparkSession; `extra` overrides any spark.* key (use underscores or dots)."""
    import os

    from pyspark.sql import SparkSession

    java = jvm.java_home(settings)
    os.environ.setdefault("JAVA_HOME", str(java))
    if settings.spark.master.startswith("local"):
        # Python workers (UDFs, foreachBatch writers) need this interpreter's packages, not whatever `python3`
        # is first on PATH. On a cluster, PYSPARK_PYTHON names the environment installed on every node.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    conf = session_conf(settings, app_name, with_kafka=with_kafka)
    conf.update({k.replace("__", "."): str(v) for k, v in extra.items()})
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
