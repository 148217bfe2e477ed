"""The data lint at the end of a generation run: find over-represented patterns before training.

By default only the lint's offline statistical pre-scan runs (no extra model spend); with a
lint model it also discovers and autorates patterns. The full report is written beside the
output and the top patterns are printed.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.model import Model
from rich.console import Console

from traitlab.lint import LintReport, lint_dataset, print_summary
from traitlab.lint.outdir import check_output_dir


def lint_dir(path: Path) -> Path:
    """Where the lint of `path` writes its report."""
    return path.with_name(f"{path.stem}.lint")


def check_lint_dir(path: Path) -> None:
    """Refuse, before generation starts, a lint report folder the lint could not write."""
    check_output_dir(lint_dir(path))


def lint_output(
    path: Path,
    *,
    model: str | Model | None = None,
    console: Console | None = None,
    show_progress: bool = True,
) -> LintReport:
    """Lint a finished output, write the report to ``<stem>.lint/`` and print the top patterns."""
    console = console or Console()
    out_dir = lint_dir(path)
    report = lint_dataset(path, model=model, out_dir=out_dir, show_progress=show_progress)
    print_summary(report, console)
    console.print(f"lint report: {out_dir / 'report.html'}")
    return report
