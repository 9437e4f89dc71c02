"""Benchmark reports: the JSON record of a run and its markdown rendering (also printed as the table)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def fmt(value: float) -> str:
    """Human figure: thousands separators for big numbers, 3 significant digits for small ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _spread(fig: dict[str, Any]) -> str:
    if fig["n"] <= 1:
        return "n=1"
    return f"{fmt(fig['min'])}–{fmt(fig['max'])}, sd {fmt(fig['stdev'])}, n={fig['n']}"


def machine_line(m: dict[str, Any]) -> str:
    load = m.get("load_avg_start")
    end = m.get("load_avg_end")
    text = (f"{m.get('cores')} cores ({m.get('cpu_model') or 'unknown CPU'}), {m.get('ram_gb')} GB RAM, "
            f"{m.get('os')}, Python {m.get('python')}")
    if load:
        text += f"; load average at start {load[0]:.2f}" + (f", at end {end[0]:.2f}" if end else "")
    if m.get("git_commit"):
        text += f"; commit {m['git_commit']}"
    return text


def table(report: dict[str, Any]) -> str:
    """The summary table (markdown, readable in a terminal)."""
    rows = ["| benchmark | measure | median | spread (min–max, stdev, n) | vs reference |",
            "|---|---|---|---|---|"]
    for res in report["results"]:
        if res["status"] != "ok":
            reason = res["reason"].replace("|", "/")  # a pipe would split the table row
            rows.append(f"| {res['name']} | — | {res['status']}: {reason} | | |")
            continue
        ratios = {r["ours"]: r for r in res["ratios"]}
        for fig in res["figures"]:
            ratio = ratios.get(fig["name"])
            vs = f"{ratio['value']:.2f}× {ratio['reference']}" if ratio else ("reference" if fig["role"] == "reference" else "")
            rows.append(f"| {res['name']} | {fig['name']} | {fmt(fig['median'])} {fig['unit']} | {_spread(fig)} | {vs} |")
    return "\n".join(rows)


def to_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# FXTrue benchmark run ({report['mode']})", "",
             f"- Run: {report['started_at']} → {report.get('finished_at', '?')} (UTC), mode **{report['mode']}**",
             f"- Machine: {machine_line(m)}",
             "- Each figure: median of the repeats, with min–max, standard deviation and repeat count. "
             "Ratios divide our median by the reference's median measured in the same run.",
             "", "## Summary", "", table(report), ""]
    for res in report["results"]:
        lines += [f"## {res['name']}: {res['title']}", ""]
        if res["status"] != "ok":
            lines += [f"**{res['status']}**: {res['reason']}", ""]
            for note in res["notes"]:
                lines += ["```", note.rstrip(), "```", ""]
            continue
        for fig in res["figures"]:
            extra = f" — {fig['note']}" if fig.get("note") else ""
            lines.append(f"- {fig['name']} ({fig['role']}): median {fmt(fig['median'])} {fig['unit']} "
                         f"(min {fmt(fig['min'])}, max {fmt(fig['max'])}, stdev {fmt(fig['stdev'])}, "
                         f"n={fig['n']}){extra}")
        for r in res["ratios"]:
            lines.append(f"- ratio {r['ours']} / {r['reference']}: **{r['value']:.2f}**"
                         + (f" ({r['meaning']})" if r.get("meaning") else ""))
        if res["params"]:
            lines.append("- parameters: " + ", ".join(f"{k}={v}" for k, v in res["params"].items()))
        for note in res["notes"]:
            lines.append(f"- note: {note}")
        lines.append(f"- took {res['seconds']:.0f} s")
        lines.append("")
    return "\n".join(lines)


def write(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write bench-<time>.json and .md into out_dir (plus latest.json / latest.md); return the two paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = report["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    json_path = out_dir / f"bench-{report['mode']}-{stamp}.json"
    md_path = json_path.with_suffix(".md")
    text = json.dumps(_finite(report), indent=2, default=_json_default, allow_nan=False)
    md = to_markdown(report)
    json_path.write_text(text)
    md_path.write_text(md)
    (out_dir / "latest.json").write_text(text)
    (out_dir / "latest.md").write_text(md)
    return json_path, md_path


def _finite(obj: Any) -> Any:
    """NaN/inf (a figure with no samples, a zero reference) -> null: the JSON stays standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)
