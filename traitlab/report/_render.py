"""Write the report: markdown, CSV and a self-contained HTML page with embedded plots."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from traitlab.report._collect import Run
from traitlab.report._compare import Difference


def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def metrics_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per (run, metric): the table of the report, as data."""
    rows = []
    for run in runs:
        base = {
            "task": run.task,
            "variant": run.variant,
            "model": run.model,
            "status": run.status,
            "samples": f"{run.completed_samples}/{run.total_samples}",
            "unscored": run.counts.get("unscored", 0.0),
            "flagged": run.counts.get("flagged", 0.0),
        }
        metrics = [m for m in run.metrics if m.group is None] or [None]
        for metric in metrics:
            rows.append(
                {
                    **base,
                    "scorer": metric.scorer if metric else "",
                    "metric": metric.label if metric else "(no metrics)",
                    "estimate": metric.estimate if metric else math.nan,
                    "ci_low": metric.low if metric else math.nan,
                    "ci_high": metric.high if metric else math.nan,
                    "n": metric.n if metric else 0,
                }
            )
    return pd.DataFrame(rows)


def differences_frame(diffs: list[Difference]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "task": d.task,
                "variant": d.variant,
                "metric": d.metric,
                "model": d.model,
                "baseline": d.baseline,
                "difference": d.estimate,
                "ci_low": d.low,
                "ci_high": d.high,
                "n": d.n,
                "excludes_zero": d.significant,
            }
            for d in diffs
        ]
    )


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [_fmt(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(
    path: Path, metrics: pd.DataFrame, diffs: pd.DataFrame, notes: list[str], plots: list[Path]
) -> None:
    parts = ["# traitlab report\n", "## Metrics (95% intervals)\n", _markdown_table(metrics)]
    if not diffs.empty:
        parts += ["\n## Differences against the baseline\n", _markdown_table(diffs)]
    parts.append("\n## Notes\n")
    parts.append("".join(f"- {note}\n" for note in notes) or "- none\n")
    if plots:
        parts.append("\n## Plots\n")
        parts.extend(f"![{p.stem}]({p.name})\n" for p in plots)
    path.write_text("\n".join(parts), encoding="utf-8")


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            text = _fmt(value) if isinstance(value, float) else str(value)
            cls = ' class="sig"' if value is True else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(
    path: Path, metrics: pd.DataFrame, diffs: pd.DataFrame, notes: list[str], plots: list[Path]
) -> None:
    images = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"/><figcaption>{html.escape(p.stem)}'
        "</figcaption></figure>"
        for p in plots
    )
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
    diff_html = (
        f"<h2>Differences against the baseline</h2>{_html_table(diffs)}" if not diffs.empty else ""
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>traitlab report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; }}
td.sig {{ background: #ffe9a8; font-weight: bold; }}
figure {{ display: inline-block; margin: 0.5em; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>traitlab report</h1>
<h2>Metrics (95% intervals)</h2>{_html_table(metrics)}
{diff_html}
<h2>Notes</h2><ul>{notes_html}</ul>
<h2>Plots</h2>{images or "<p>(none)</p>"}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
