"""Build the report directory: read logs, compare runs, write tables, pages and plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from traitlab.report import _plots
from traitlab.report._collect import (
    Run,
    collect,
    default_log_dir,
)
from traitlab.report._compare import Difference, differences, resolve_baseline
from traitlab.report._output import check_output, staged
from traitlab.report._render import Page


@dataclass
class Report:
    """What `build_report` wrote, and the tables it wrote them from."""

    out_dir: Path
    runs: list[Run]
    baseline: str | None
    differences: list[Difference]
    metrics: pd.DataFrame
    warnings: list[str]
    notes: list[str]
    plots: list[Path]


def build_report(
    log_paths: list[str | Path] | None,
    out_dir: str | Path,
    *,
    baseline: str | None = None,
    overwrite: bool = False,
    allow_mismatch: bool = False,
) -> Report:
    """Read logs, and write report.md, report.html, metrics.csv, differences.csv and plots.

    Args:
        log_paths: Log directories or files (default: `INSPECT_LOG_DIR`, else `./logs`).
        out_dir: The report directory; replaced as a whole when complete.
        baseline: The checkpoint (model) the others are compared against.
        overwrite: Replace a non-empty `out_dir` (refused otherwise).
        allow_mismatch: Compare runs whose helper models differ (marked in the report);
            by default such differences are refused and named.
    """
    out = Path(out_dir)
    check_output(out, overwrite=overwrite)
    with staged(out) as stage:
        runs, notes = collect(log_paths or [default_log_dir()])
        diffs: list[Difference] = []
        warnings: list[str] = []
        base = resolve_baseline(runs, baseline) if baseline is not None else None
        if base is not None:
            diffs, warnings = differences(runs, base, allow_mismatch=allow_mismatch)
        plots = _write_plots(runs, base, stage)
        page = Page(runs, diffs, warnings, notes, plots, base)
        page.metrics.to_csv(stage / "metrics.csv", index=False)
        page.differences.to_csv(stage / "differences.csv", index=False)
        (stage / "report.md").write_text(page.markdown(), encoding="utf-8")
        (stage / "report.html").write_text(page.html(), encoding="utf-8")
    plots = [out / p.name for p in plots]
    return Report(out, runs, base, diffs, page.metrics, warnings, notes, plots)


def _write_plots(runs: list[Run], baseline: str | None, out: Path) -> list[Path]:
    """Per eval variant: its headlines and its declared breakdown; then knowledge vs behaviour."""
    keys = sorted({(r.task, r.variant) for r in runs})
    repeated = {t for t, _ in keys if sum(other == t for other, _ in keys) > 1}
    plots: list[Path] = []
    evals: list[tuple[str, list[Run]]] = []
    for task, variant in keys:
        selected = [r for r in runs if (r.task, r.variant) == (task, variant)]
        name = f"{task}-{variant}" if task in repeated else task
        evals.append((name, selected))
        plots.append(_plots.task_plot(name, selected, out / f"task_{name}.png", baseline))
        plots.append(_plots.by_group(name, selected, out / f"by_group_{name}.png", baseline))
    behaviour = [(n, rs) for n, rs in evals if _measures(rs, "behaviour")]
    for name, selected in evals:
        if _measures(selected, "knowledge"):
            path = out / f"knowledge_vs_behaviour_{name}.png"
            plots.append(_plots.knowledge_vs_behaviour((name, selected), behaviour, path, baseline))
    return [p for p in plots if p is not None]


def _measures(runs: list[Run], kind: str) -> bool:
    return any(h.measures == kind for run in runs for h in run.headline)
