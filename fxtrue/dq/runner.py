"""Run the suites: a Great Expectations file context under settings.dq_context_dir (never in the repo), one
checkpoint per suite whose action rebuilds the Data Docs site at settings.dq_docs_dir (a local folder, or
s3://bucket/prefix), a SuiteResult per run, and its summary row in Cassandra dq_runs_by_suite.

A run passes when no expectation of severity critical failed; failed warnings are reported, never blocking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fxtrue.dq.suites import expectation_name
from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings

SITE = "fxtrue"
SPARK_SOURCE, PANDAS_SOURCE = "fxtrue_spark", "fxtrue_pandas"


class GateFailed(FxtrueError):
    """A data-quality gate failed: nothing is published; `failing` names the failed expectations."""

    def __init__(self, failing: list[str], docs_url: str = "", what: str = "thresholds version") -> None:
        self.failing = list(failing)
        self.docs_url = docs_url
        super().__init__(f"data-quality gate failed, {what} not published; failing expectations: "
                         + ", ".join(self.failing),
                         hint=f"see the Data Docs: {docs_url}" if docs_url else "run `fxtrue dq docs`")


@dataclass
class SuiteResult:
    suite: str
    success: bool
    evaluated: int
    failing: list[str] = field(default_factory=list)  # critical failures: "name: detail"
    warnings: list[str] = field(default_factory=list)
    run_id: str = ""
    run_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    target: str = ""
    docs_url: str = ""

    @property
    def failed(self) -> int:
        return len(self.failing) + len(self.warnings)

    def summary(self) -> str:
        head = f"{self.suite}: {'passed' if self.success else 'FAILED'} ({self.evaluated} expectations"
        head += f", {len(self.failing)} failed" if self.failing else ""
        head += f", {len(self.warnings)} warnings" if self.warnings else ""
        return head + ")"


def site_config(docs_dir: str) -> dict:
    """The Data Docs site: a local folder, or an S3 bucket/prefix."""
    if docs_dir.startswith("s3://") or docs_dir.startswith("s3a://"):
        bucket, _, prefix = docs_dir.split("://", 1)[1].partition("/")
        backend = {"class_name": "TupleS3StoreBackend", "bucket": bucket, "prefix": prefix.rstrip("/")}
    else:
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(docs_dir).resolve())}
    return {"class_name": "SiteBuilder", "store_backend": backend,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}


class Runner:
    """The GX context of this project, set up idempotently; validate DataFrames against suites."""

    def __init__(self, settings: Settings) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.settings = settings
        root = Path(settings.dq_context_dir)
        root.mkdir(parents=True, exist_ok=True)
        self.ctx = gx.get_context(mode="file", project_root_dir=str(root))
        if self.ctx.config.analytics_enabled is not False:
            self.ctx.enable_analytics(False)
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        wanted = site_config(settings.dq_docs_dir)
        sites = self.ctx.list_data_docs_sites()
        for name in list(sites):
            if name != SITE:
                self.ctx.delete_data_docs_site(name)
        if SITE not in sites:
            self.ctx.add_data_docs_site(site_name=SITE, site_config=wanted)
        elif sites[SITE] != wanted:
            self.ctx.update_data_docs_site(site_name=SITE, site_config=wanted)

    def _batch_definition(self, kind: str, asset_name: str):
        sources = self.ctx.data_sources
        if kind == "spark":
            ds = sources.add_or_update_spark(SPARK_SOURCE)
        else:
            ds = sources.add_or_update_pandas(PANDAS_SOURCE)
        try:
            asset = ds.get_asset(asset_name)
        except LookupError:
            asset = ds.add_dataframe_asset(asset_name)
        try:
            return asset.get_batch_definition("all")
        except (KeyError, LookupError):
            return asset.add_batch_definition_whole_dataframe("all")

    def validate(self, suite, dataframe, *, target: str, kind: str,
                 index_columns: list[str] | None = None) -> SuiteResult:
        """Validate a Spark (`kind="spark"`) or pandas DataFrame against a suite; the Data Docs are updated.

        `index_columns` (pandas): columns naming a row, reported for the failing rows (e.g. pair, day).

        A Spark frame is judged first with verdicts only (GX's BOOLEAN_ONLY: one Spark job per expectation,
        against ~3 when it also gathers counts and samples of unexpected values); only when an expectation
        fails is it validated again for the details, which that run's result and Data Docs page then show."""
        import great_expectations as gx

        suite = self.ctx.suites.add_or_update(suite)
        bd = self._batch_definition(kind, suite.name)
        vd = self.ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=bd, suite=suite))
        detailed = {"result_format": "SUMMARY", "partial_unexpected_count": 5,
                    **({"unexpected_index_column_names": index_columns} if index_columns else {})}
        formats = [{"result_format": "BOOLEAN_ONLY"}, detailed] if kind == "spark" else [detailed]
        for result_format in formats:
            result = self._run_checkpoint(suite, vd, dataframe, result_format, target)
            if result.success and not result.warnings:
                break
        return result

    def _run_checkpoint(self, suite, vd, dataframe, result_format: dict, target: str) -> SuiteResult:
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.core.run_identifier import RunIdentifier

        cp = self.ctx.checkpoints.add_or_update(gx.Checkpoint(
            name=suite.name, validation_definitions=[vd],
            actions=[UpdateDataDocsAction(name="data_docs", site_names=[SITE])], result_format=result_format))
        run_at = datetime.now(timezone.utc)
        run_name = f"{suite.name}-{run_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        result = cp.run(batch_parameters={"dataframe": dataframe},
                        run_id=RunIdentifier(run_name=run_name, run_time=run_at))
        (identifier, vr), = result.run_results.items()
        failing, warnings = [], []
        for r in vr.results:
            if r.success:
                continue
            line = f"{expectation_name(r.expectation_config)}: {_detail(r)}"
            sev = getattr(r.expectation_config, "severity", None)
            (warnings if str(getattr(sev, "value", sev)) in ("warning", "info") else failing).append(line)
        try:
            urls = self.ctx.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE)
            docs_url = urls[0]["site_url"] if urls else ""
        except Exception:  # noqa: BLE001 - the link is a convenience; the site itself was built
            docs_url = ""
        return SuiteResult(suite=suite.name, success=not failing, evaluated=len(vr.results), failing=failing,
                           warnings=warnings, run_id=run_name, run_at=run_at, target=target, docs_url=docs_url)

    def build_docs(self) -> str:
        """Rebuild the whole Data Docs site from every stored result; returns the index URL."""
        self.ctx.build_data_docs(site_names=[SITE])
        urls = self.ctx.get_docs_sites_urls(site_name=SITE)
        return urls[0]["site_url"] if urls else ""


def _detail(r) -> str:
    res = r.result or {}
    if r.exception_info and r.exception_info.get("raised_exception"):
        return f"error: {str(r.exception_info.get('exception_message'))[:200]}"
    if "unexpected_count" in res and res.get("unexpected_count") is not None:
        column = r.expectation_config.kwargs.get("column")
        sample = [_row_text(x, column) for x in
                  (res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or [])[:3]]
        text = f"{res['unexpected_count']} unexpected ({res.get('unexpected_percent', 0):.3g}%)"
        return text + (f", e.g. {'; '.join(sample)}" if sample else "")
    if "observed_value" in res:
        return f"observed {str(res['observed_value'])[:200]}"
    return "failed"


def _row_text(x, column: str | None) -> str:
    """An unexpected row as 'cross_rate EUR/USD*USD/JPY~EUR/JPY 3 (std=0.0)' (index columns, then the value)."""
    if isinstance(x, dict):
        value = x.get(column) if column else None
        keys = " ".join(str(getattr(v, "item", lambda: v)()) for k, v in x.items() if k != column)
        return f"{keys} ({column}={getattr(value, 'item', lambda: value)()})" if column in x else keys
    return str(x)


def record(session, settings: Settings, result: SuiteResult) -> None:
    """The run's summary row in dq_runs_by_suite (idempotent on suite, run_at, run_id)."""
    session.execute(
        f"INSERT INTO {settings.cassandra.keyspace}.dq_runs_by_suite (suite, run_at, run_id, success, evaluated, "
        "failed, failing_expectations, target, docs_url) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (result.suite, result.run_at, result.run_id, result.success, result.evaluated, result.failed,
         result.failing + [f"warning: {w}" for w in result.warnings], result.target, result.docs_url))


def recent_runs(session, settings: Settings, suite: str, limit: int = 10) -> list:
    return list(session.execute(
        f"SELECT * FROM {settings.cassandra.keyspace}.dq_runs_by_suite WHERE suite = %s LIMIT %s", (suite, limit)))
