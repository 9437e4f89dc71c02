"""TrueFX history files: the line parser, streaming reader (CSV and zip), k-way merge, and the Spark reader."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from fxtrue import history
from fxtrue.errors import FxtrueError
from fxtrue.frames import TICK_SCHEMA
from fxtrue.ticks import Rejection, Tick


def test_parse_line_canonical_row():
    t = history.parse_line("EUR/USD,20160502 00:00:00.959,1.14601,1.14605\n")
    assert t == Tick("EUR/USD", 1462147200959, 1.14601, 1.14605, "replay", 1462147200959)


def test_parse_line_jpy_crossed_and_crlf():
    t = history.parse_line("USD/JPY,20161231 23:59:59.001,107.093,107.089\r\n", source="sim")
    assert isinstance(t, Tick) and t.crossed and t.source == "sim"
    assert t.ts == 1483228799001


@pytest.mark.parametrize("line, reason", [
    ("EUR/USD,20160502 00:00:00.959,1.14601", "expected 4 fields"),
    ("EUR/USD,2016-05-02 00:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160532 00:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 25:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 00:00:00.959,abc,1.2", "bid is not a number"),
    ("EUR/USD,20160502 00:00:00.959,1.1,-1.2", "ask is not a number"),
    ("EUR/USD,20160502 00:00:00.959,0,1.2", "bid is not positive"),
    ("XAU/USD,20160502 00:00:00.959,1.1,1.2", "unknown pair"),
    ("", "expected 4 fields"),
])
def test_parse_line_rejections(line, reason):
    r = history.parse_line(line)
    assert isinstance(r, Rejection) and reason in r.reason


@hsettings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789 .:,/EURSDJPY-", max_size=60)))
def test_parse_line_never_raises(line):
    item = history.parse_line(line)
    assert isinstance(item, (Tick, Rejection))
    if isinstance(item, Rejection):
        assert item.reason


EURUSD = ["EUR/USD,20161102 00:00:00.100,1.10001,1.10003\n",
          "EUR/USD,20161102 00:00:01.500,1.10002,1.10004\n",
          "broken\n",
          "\n",
          "EUR/USD,20161102 00:00:03.000,1.10003,1.10001\n"]  # crossed: valid
USDJPY = ["USD/JPY,20161102 00:00:00.050,104.001,104.003\n",
          "USD/JPY,20161102 00:00:02.000,104.002,104.004\n"]


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "EURUSD-2016-11.csv").write_text("".join(EURUSD))
    with zipfile.ZipFile(tmp_path / "USDJPY-2016-11.zip", "w") as zf:
        zf.writestr("USDJPY-2016-11.csv", "".join(USDJPY))
    (tmp_path / "labels.csv").write_text("kind,pair,start,end,magnitude\n")
    return tmp_path


def test_iter_file_csv_and_zip_with_line_numbers(files):
    recs = list(history.iter_file(files / "EURUSD-2016-11.csv"))
    assert [r.line for r in recs] == [1, 2, 3, 5]
    assert isinstance(recs[2].item, Rejection) and recs[2].item.raw == "broken"
    zrecs = list(history.iter_file(files / "USDJPY-2016-11.zip"))
    assert [r.item.ts % 100_000 for r in zrecs] == [50, 2000]
    assert zrecs[0].path.endswith("USDJPY-2016-11.zip!USDJPY-2016-11.csv")


def test_merge_is_time_ordered_across_files_and_skips_labels(files):
    recs = list(history.merge([files]))
    ticks = [r.item for r in recs if isinstance(r.item, Tick)]
    assert [t.ts % 100_000 for t in ticks] == [50, 100, 1500, 2000, 3000]
    assert [t.pair for t in ticks] == ["USD/JPY", "EUR/USD", "EUR/USD", "USD/JPY", "EUR/USD"]
    rejected = [r for r in recs if isinstance(r.item, Rejection)]
    assert len(rejected) == 1 and rejected[0].line == 3


def test_missing_files_are_user_errors(tmp_path):
    with pytest.raises(FxtrueError, match="not found"):
        history.expand_paths([tmp_path / "nope.csv"])
    with pytest.raises(FxtrueError, match="no history files"):
        history.expand_paths([tmp_path])


def test_spark_reader_matches_the_python_reader(spark, files):
    ticks, rejects = history.read_history(spark, [files])
    assert [(f.name, f.dataType) for f in ticks.schema] == [(f.name, f.dataType) for f in TICK_SCHEMA]
    rows = sorted((r["pair"], int(r["ts"].timestamp() * 1000), r["bid"], r["ask"], r["source"])
                  for r in ticks.collect())
    expected = sorted((r.item.pair, r.item.ts, r.item.bid, r.item.ask, r.item.source)
                      for r in history.merge([files]) if isinstance(r.item, Tick))
    assert rows == expected
    bad = rejects.collect()
    assert [(b["raw"], b["reason"]) for b in bad] == [("broken", "expected 4 fields, got 1")]
    assert bad[0]["file"].endswith("EURUSD-2016-11.csv")


def test_one_parse_counts_and_bounds_the_partitions(spark, tmp_path):
    """parse_metrics (observed while backfill writes) agrees with the two frames, and partition_candidates
    covers every partition a valid tick lands in, bad lines adding at most harmless extras."""
    from pyspark.sql import functions as F

    f = tmp_path / "mix.csv"
    f.write_text("\ufeffEUR/USD,20161101 23:59:59.999,1.1,1.2\r\n"
                 "USD/JPY,20161102 00:00:00.000,104.1,104.2\n"
                 "USD/JPY,20161103 00:00:00.000,abc,104.2\n"
                 "garbage\n")
    parsed = history.parse_history(spark, [f])
    m = parsed.agg(*history.parse_metrics()).first()
    assert (m["ticks"], m["bad_rows"]) == (2, 2)
    assert sorted(m["partitions"]) == ["EURUSD/2016-11-01", "USDJPY/2016-11-02"]
    ticks = history.parsed_ticks(parsed).select("pair", F.date_format("ts", "yyyy-MM-dd").alias("d")).collect()
    landed = {(r["pair"].replace("/", ""), r["d"]) for r in ticks}
    candidates = set(history.partition_candidates(parsed))
    assert landed < candidates and candidates - landed == {("USDJPY", "2016-11-03")}


# -- bounded, strict parsing (issue 15) --------------------------------------------------------------------

@pytest.mark.parametrize("line, reason", [
    ("EUR/USD,\u0662\u0660\u0661\u0666\u0660\u0665\u0660\u0662 00:00:00.959,1.1,1.2", "bad timestamp"),  # Arabic-Indic
    ("EUR/USD,20160502 0\u0666:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 00:00:00.959,\u0661.\u0661,1.2", "bid is not a number"),
    ("EUR/USD,20160502 00:00:00.959,1.1,\uff11.\uff12", "ask is not a number"),  # fullwidth
    ("EUR/USD,20160502 00:-1:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 00:00:00.-12,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 -1:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 00:00:60.000,1.1,1.2", "bad timestamp"),
    ("EUR/USD,+0160502 00:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,00000502 00:00:00.959,1.1,1.2", "bad timestamp"),
    ("EUR/USD,20160502 00:00:00.959,1." + "0" * 30 + "1,1.2", "bid has more than 24 characters"),
    ("EUR/USD,20160502 00:00:00.959,1.1,1" + "0" * 30, "ask has more than 24 characters"),
])
def test_parse_line_is_strict_about_digits_ranges_and_size(line, reason):
    r = history.parse_line(line)
    assert isinstance(r, Rejection) and reason in r.reason, r


def test_a_utf8_bom_is_stripped_and_the_first_row_kept(tmp_path):
    p = tmp_path / "EURUSD-2016-11.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "".join(EURUSD[:2]).encode())
    recs = list(history.iter_file(p))
    assert [type(r.item).__name__ for r in recs] == ["Tick", "Tick"], recs
    assert recs[0].item.pair == "EUR/USD"


def test_a_line_without_end_is_rejected_without_holding_it(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "MAX_LINE_CHARS", 1000)
    p = tmp_path / "EURUSD-2016-11.csv"
    p.write_text("x" * 50_000 + "\n" + EURUSD[0] + "1" * 5000)
    held = []
    real = history._lines
    monkeypatch.setattr(history, "_lines", lambda fh: (held.append(len(line)) or line for line in real(fh)))
    recs = list(history.iter_file(p))
    assert [r.line for r in recs] == [1, 2, 3]
    assert [getattr(r.item, "reason", None) for r in recs] == ["line has more than 1,000 characters", None,
                                                               "line has more than 1,000 characters"]
    assert max(held) <= 1001 and len(recs[0].item.raw) <= history.MAX_RAW_CHARS


def test_zip_member_count_and_whole_archive_ratio_are_limited(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(history.MAX_ZIP_MEMBERS + 1):
            zf.writestr(f"p{i}.csv", EURUSD[0])
    with pytest.raises(FxtrueError, match="members"):
        list(history.iter_file(many))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(40):
            zf.writestr(f"p{i}.csv", b"0" * 1_000_000)  # each under the per-member floor
    with pytest.raises(FxtrueError, match="all members together have compression ratio"):
        history.spark_input_paths([bomb], tmp_dir=str(tmp_path))


def test_same_named_zips_and_members_never_collide_when_extracted(tmp_path):
    """Two folders each with EURUSD-2016-11.zip holding data.csv: Spark must get both, not one twice."""
    for folder, line in (("a", EURUSD[0]), ("b", EURUSD[1])):
        (tmp_path / folder).mkdir()
        with zipfile.ZipFile(tmp_path / folder / "EURUSD-2016-11.zip", "w") as zf:
            zf.writestr("data.csv", line)
            zf.writestr("sub/data.csv", line.replace("1.1000", "1.2000"))
    out = tmp_path / "extract"
    out.mkdir()
    paths = history.spark_input_paths([tmp_path / "a", tmp_path / "b"], tmp_dir=str(out))
    assert len(paths) == len(set(paths)) == 4
    contents = sorted(open(p).read() for p in paths)
    assert contents == sorted([EURUSD[0], EURUSD[1], EURUSD[0].replace("1.1000", "1.2000"),
                               EURUSD[1].replace("1.1000", "1.2000")])
    assert all(out in Path(p).parents for p in paths)


def test_replay_batches_stay_bounded_on_a_file_of_bad_rows(tmp_path):
    """Every bad row is kept (counted, to the DLQ) but no batch grows past batch_size, paced or not."""
    import threading

    from producers.sources import ReplaySource

    p = tmp_path / "EURUSD-2016-11.csv"
    p.write_text("bad;row\n" * 5000 + EURUSD[0])
    for speed in (0, 1000.0):
        batches = list(ReplaySource([p], speed=speed, batch_size=100).batches(threading.Event()))
        assert max(len(b) for b in batches) <= 100
        assert sum(isinstance(i, Rejection) for b in batches for i in b) == 5000


def test_rejection_counts_stay_bounded_when_every_bad_row_differs(tmp_path):
    """Each rejection is counted, but reasons that quote hostile input (unknown pair 'x1', 'x2', ...) do not
    make one counter per row."""
    from producers import main
    from producers.sinks import MemorySink
    from producers.sources import ReplaySource

    p = tmp_path / "EURUSD-2016-11.csv"
    p.write_text("".join(f"X{i:05d},20161102 00:00:00.100,1.1,1.2\n" for i in range(3000)))
    sink = MemorySink()
    stats = main.run(ReplaySource([p], speed=0), sink)
    assert stats.rejected == len(sink.rejections) == 3000
    assert sum(stats.reasons.values()) == 3000
    assert len(stats.reasons) <= getattr(main, "MAX_REASON_KEYS", 100) + 1, len(stats.reasons)
    assert stats.reasons[main.OTHER_REASONS] > 0
