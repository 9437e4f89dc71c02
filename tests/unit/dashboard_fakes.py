"""A fake Cassandra session for the dashboard's unit tests (the browser test uses the real one)."""

from __future__ import annotations

import re
from datetime import datetime, timezone


class Rows(list):
    """A result set: iterable, with .one() like the driver's."""

    def one(self):
        return self[0] if self else None


class FakePrepared:
    def __init__(self, query: str) -> None:
        self.query = query


class FakeFuture:
    def __init__(self, rows) -> None:
        self.rows = rows

    def result(self):
        return self.rows


class FakeSession:
    """Holds rows per table and answers prepared SELECTs by their bound partition key, honouring LIMIT."""

    def __init__(self) -> None:
        self.tables: dict[str, list] = {}
        self.executed: list[tuple[str, tuple]] = []

    def prepare(self, query: str) -> FakePrepared:
        return FakePrepared(query)

    def execute_async(self, stmt, params):
        return FakeFuture(self.execute(stmt, params))

    def execute(self, stmt, params=()):
        query = stmt.query if isinstance(stmt, FakePrepared) else stmt
        self.executed.append((query, tuple(params)))
        table = re.search(r"FROM \w+\.(\w+)", query).group(1)
        rows = self.tables.get(table, [])
        where = re.search(r"WHERE (.*?)(?: LIMIT|$)", query)
        conds = re.findall(r"(\w+) (=|>=|<=) \?", where.group(1)) if where else []
        values = list(params)
        out = []
        for row in rows:
            ok = True
            for (col, op), v in zip(conds, values):
                rv = getattr(row, col)
                if isinstance(rv, datetime) and rv.tzinfo is None:  # the driver returns naive UTC
                    rv = rv.replace(tzinfo=timezone.utc)
                ok &= rv == v if op == "=" else (rv >= v if op == ">=" else rv <= v)
            if ok:
                out.append(row)
        if "LIMIT ?" in query:
            out = out[: values[len(conds)]]
        elif "%s" in query:  # a simple statement (fxtrue.thresholds): bound by position like the driver
            conds = re.findall(r"(\w+) = %s", query)
            out = [r for r in rows if all(getattr(r, c) == v for c, v in zip(conds, values))]
        return Rows(out)
