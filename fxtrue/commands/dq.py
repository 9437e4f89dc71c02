"""`fxtrue dq`: run Great Expectations suites / build Data Docs (not built yet: issue 5)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "dq", "run Great Expectations suites / build Data Docs", issue=5)
