"""`traitlab report`: compare checkpoints across evals from Inspect logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from traitlab.report import _plots
from traitlab.report._collect import Metric, Run, collect, read_run
from traitlab.report._compare import Difference, differences, resolve_baseline
from traitlab.report._plots import model_label
from traitlab.report._render import differences_frame, metrics_frame, write_html, write_markdown


@dataclass
class Report:
    """What `build_report` wrote, and the tables it wrote them from."""

    out_dir: Path
    runs: list[Run]
    metrics: pd.DataFrame
    differences: pd.DataFrame
    notes: list[str]
    plots: list[Path]


def build_report(
    log_paths: list[str | Path], out_dir: str | Path, *, baseline: str | None = None
) -> Report:
    """Read logs, and write report.md, report.html, metrics.csv, differences.csv and plots."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs, notes = collect(log_paths)
    diffs: list[Difference] = []
    if baseline is not None:
        diffs = differences(runs, resolve_baseline(runs, baseline))
    plots: list[Path] = []
    tasks = sorted({(r.task, r.variant) for r in runs})
    multiple = {t for t, _ in tasks if sum(1 for other, _ in tasks if other == t) > 1}
    for task, variant in tasks:
        selected = [r for r in runs if (r.task, r.variant) == (task, variant)]
        name = f"{task}-{variant}" if task in multiple else task
        plot = _plots.task_plot(name, selected, out / f"task_{name}.png")
        if plot:
            plots.append(plot)
    by_task = {t: [r for r in runs if r.task == t] for t, _ in tasks}
    extra = [
        _plots.knowledge_vs_behaviour(
            by_task.get("trait_knowledge", []),
            by_task.get("trait_audit", []),
            out / "knowledge_vs_behaviour.png",
        ),
        _plots.pattern_rates(runs, out / "pattern_rates.png"),
        _plots.by_turn(by_task.get("delusion_validation", []), out / "delusion_by_turn.png"),
    ]
    plots.extend(p for p in extra if p is not None)
    metrics = metrics_frame(runs)
    diff_frame = differences_frame(diffs)
    metrics.to_csv(out / "metrics.csv", index=False)
    diff_frame.to_csv(out / "differences.csv", index=False)
    write_markdown(out / "report.md", metrics, diff_frame, notes, plots)
    write_html(out / "report.html", metrics, diff_frame, notes, plots)
    return Report(out, runs, metrics, diff_frame, notes, plots)


__all__ = [
    "Difference",
    "Metric",
    "Report",
    "Run",
    "build_report",
    "collect",
    "differences",
    "model_label",
    "read_run",
    "resolve_baseline",
]
