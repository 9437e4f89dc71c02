"""Publication of a thresholds version: write the immutable version -> data-quality gate -> move the
`current` pointer only when every gate passed; otherwise mark the version rejected, keep the pointer where
it was and raise GateFailed naming the failing expectations.

The streaming job only ever follows the pointer, so a rejected version is stored (for inspection, with its
dq_summary) but never used.
"""

from __future__ import annotations

from typing import Callable, Sequence

from fxtrue.dq.runner import GateFailed, Runner, SuiteResult, record
from fxtrue.settings import Settings
from fxtrue.thresholds import Thresholds, load_current, move_pointer, write_version

PUBLISHED, REJECTED = "published", "rejected"


def gate_summary(results: Sequence[SuiteResult]) -> str:
    """One line per suite run, then the failing expectations (stored as the version's dq_summary)."""
    lines = [f"{r.summary()} run {r.run_id}" for r in results]
    lines += [f"FAILED {r.suite}.{f}" for r in results for f in r.failing]
    lines += [f"warning {r.suite}.{w}" for r in results for w in r.warnings]
    return "\n".join(lines)


def failing_expectations(results: Sequence[SuiteResult]) -> list[str]:
    """'suite.name' of every failed critical expectation (details stay in the summary and the Data Docs)."""
    return [f"{r.suite}.{f.split(':', 1)[0]}" for r in results for f in r.failing]


def _set_outcome(session, settings: Settings, version: str, status: str, success: bool, summary: str) -> None:
    session.execute(f"UPDATE {settings.cassandra.keyspace}.threshold_versions_by_id SET status = %s, "
                    "dq_success = %s, dq_summary = %s WHERE version = %s", (status, success, summary, version))


def publish(session, settings: Settings, candidate: Thresholds, runner: Runner, *,
            prior_results: Sequence[SuiteResult] = (),
            progress: Callable[[str], None] = lambda msg: None) -> Thresholds:
    """Write `candidate` as a new version, gate it (thresholds suite, plus `prior_results` such as the ticks
    suites of its source), and publish it or reject it. Returns the published Thresholds; raises GateFailed."""
    from fxtrue.dq.checks import check_thresholds

    previous = load_current(session, settings)
    candidate.status = "candidate"
    write_version(session, settings, candidate, dq_success=None)
    progress(f"wrote version {candidate.version} ({len(candidate.rows)} rows) as candidate; "
             f"current version: {previous.version if previous else 'none'}")
    result = check_thresholds(runner, candidate, settings, previous, progress=progress)
    results = [*prior_results, result]
    for r in results:
        record(session, settings, r)
    summary = gate_summary(results)
    for r in results:
        for w in r.warnings:
            progress(f"warning: {r.suite}.{w}")
    if all(r.success for r in results):
        _set_outcome(session, settings, candidate.version, PUBLISHED, True, summary)
        move_pointer(session, settings, candidate.version)
        candidate.status = PUBLISHED
        progress(f"published {candidate.version}: the current pointer now names it")
        return candidate
    _set_outcome(session, settings, candidate.version, REJECTED, False, summary)
    candidate.status = REJECTED
    docs = next((r.docs_url for r in results if not r.success and r.docs_url), "")
    for r in results:
        for f in r.failing:
            progress(f"FAILED {r.suite}.{f}")
    raise GateFailed(failing_expectations(results), docs, what=f"thresholds version {candidate.version} rejected;")
