"""The session factory's tuning holds in a running session (fxtrue.spark.session)."""

from __future__ import annotations

from pyspark.sql import functions as F

from fxtrue.spark import CODEGEN_CACHE_ENTRIES


def compilations(spark) -> int:
    """How many generated classes this JVM has compiled so far (Spark's codegen metrics)."""
    return spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME().getCount()


def test_generated_classes_stay_cached_past_sparks_default_of_100(spark):
    # Spark's own default cache (100 classes) evicts the first query's class once more than 100 others were
    # compiled; the streaming job generates more than that, and then recompiled every micro-batch.
    assert int(spark.conf.get("spark.sql.codegen.cache.maxEntries")) == CODEGEN_CACHE_ENTRIES > 150

    def query(i: int):  # a literal in the projection: a class of its own per i
        return spark.range(3).select((F.col("id") * F.lit(7919) + F.lit(i)).alias("x")).collect()

    query(0)
    before = compilations(spark)
    for i in range(1, 121):
        query(i)
    assert compilations(spark) - before >= 120  # each query did compile a class of its own
    again = compilations(spark)
    query(0)
    assert compilations(spark) == again, "the first query's class was evicted and compiled again"
