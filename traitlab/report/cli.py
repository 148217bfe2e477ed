"""`traitlab report`: a thin command over `build_report` (which tests call directly)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def report_command(
    logs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Inspect log directories or files (default: INSPECT_LOG_DIR, else ./logs)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")] = Path("report"),
    baseline: Annotated[
        str | None, typer.Option(help="Checkpoint (model) to compare the others against.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a non-empty output directory.")
    ] = False,
    allow_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-mismatch",
            help="Compare runs graded by different helper models (judge, auditor, ...).",
        ),
    ] = False,
) -> None:
    """Compare checkpoints across evals: headline metrics with intervals, differences, plots."""
    from traitlab.report import build_report, model_label

    result = build_report(
        list(logs or []),
        out,
        baseline=baseline,
        overwrite=overwrite,
        allow_mismatch=allow_mismatch,
    )
    console = Console()
    table = Table(title="Headline metrics (95% intervals)")
    for column in ("task", "model", "metric", "estimate [95% CI]", "n", "unscored", "flagged"):
        table.add_column(column, no_wrap=column == "estimate [95% CI]", overflow="fold")
    for run in result.runs:
        model = model_label(run.model, result.baseline)
        for _, metric in run.headline_metrics() or [(None, None)]:
            table.add_row(
                escape(run.task + ("" if run.complete else f" ({run.status})")),
                escape(model),
                escape(metric.label) if metric else "-",
                escape(metric.interval.format(3).rsplit(" (n=", 1)[0]) if metric else "-",
                str(metric.n) if metric else "-",
                f"{run.counts.get('unscored', 0):g}",
                f"{run.counts.get('flagged', 0):g}",
            )
    console.print(table)
    for line in (d.plain_words() for d in result.differences if d.significant):
        console.print(escape(line))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    console.print(f"report written to {escape(str(result.out_dir / 'report.html'))}")
