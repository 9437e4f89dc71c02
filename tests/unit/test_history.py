"""TrueFX history files: the line parser, streaming reader (CSV and zip), k-way merge, and the Spark reader."""

from __future__ import annotations

import zipfile

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
