"""The streaming job's progress line says where a micro-batch's time went."""

from jobs.streaming.progress import duration_parts


def test_duration_parts_in_trigger_order_with_only_what_spark_reported():
    d = {"addBatch": 6100, "triggerExecution": 6500, "queryPlanning": 340, "latestOffset": 12, "walCommit": 25,
         "commitOffsets": 30, "getBatch": 0}
    assert duration_parts(d) == "offsets 12, planning 340, wal 25, run 6100, commit 30 ms"
    assert duration_parts({"latestOffset": 3, "triggerExecution": 4}) == "offsets 3 ms"  # an idle trigger
    assert duration_parts(None) == duration_parts({}) == ""
