"""Write the report: markdown, CSV and a self-contained HTML page with embedded plots."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from traitlab.report._collect import Run
from traitlab.report._compare import Difference
from traitlab.report._judges import judge_check_cell

METRIC_COLUMNS = [
    "task",
    "variant",
    "model",
    "baseline",
    "status",
    "samples",
    "unscored",
    "flagged",
    "scorer",
    "metric",
    "group",
    "headline",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "worst_low",
    "worst_high",
]
DIFFERENCE_COLUMNS = [
    "task",
    "variant",
    "metric",
    "model",
    "baseline",
    "difference",
    "ci_low",
    "ci_high",
    "n",
    "paired",
    "excludes_zero",
    "verdict",
    "note",
]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def metrics_frame(runs: list[Run], baseline: str | None = None) -> pd.DataFrame:
    """One row per (run, metric), per-group metrics included: the report's data."""
    rows = []
    for run in runs:
        headline = {h.metric for h in run.headline}
        base = {
            "task": run.task,
            "variant": run.variant,
            "model": run.model,
            "baseline": run.model == baseline,
            "status": run.status,
            "samples": run.samples_label,
            "unscored": run.counts.get("unscored", 0.0),
            "flagged": run.counts.get("flagged", 0.0),
        }
        for metric in run.metrics:
            rows.append(
                {
                    **base,
                    "scorer": metric.scorer,
                    "metric": metric.name,
                    "group": metric.group or "",
                    "headline": metric.group is None and metric.name in headline,
                    "estimate": metric.estimate,
                    "ci_low": metric.low,
                    "ci_high": metric.high,
                    "n": metric.n,
                    "worst_low": metric.worst_low,
                    "worst_high": metric.worst_high,
                }
            )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


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
                "paired": d.paired,
                "excludes_zero": d.significant,
                "verdict": d.verdict,
                "note": d.note,
            }
            for d in diffs
        ],
        columns=DIFFERENCE_COLUMNS,
    )


def headline_frame(runs: list[Run], baseline: str | None = None) -> pd.DataFrame:
    """The headline numbers only: one row per run and declared headline metric."""
    rows = []
    for run in runs:
        for headline, metric in run.headline_metrics():
            rows.append(
                {
                    "task": run.task,
                    "model": run.model + (" (baseline)" if run.model == baseline else ""),
                    "metric": metric.name,
                    "means": headline.description,
                    "better": {True: "higher", False: "lower", None: "?"}[
                        headline.higher_is_better
                    ],
                    "estimate": metric.estimate,
                    "95% CI": _interval(metric.low, metric.high),
                    "n": metric.n,
                    "if unscored were 0..1": _interval(metric.worst_low, metric.worst_high),
                    "samples": run.samples_label,
                    "unscored": run.counts.get("unscored", 0.0),
                    "flagged": run.counts.get("flagged", 0.0),
                    "judge check": judge_check_cell(run, runs),
                }
            )
    frame = pd.DataFrame(rows)
    if "judge check" in frame and not frame["judge check"].any():
        frame = frame.drop(columns="judge check")
    return frame


def agreement_frame(runs: list[Run]) -> pd.DataFrame:
    """Second-judge agreement per run and measure (`judge2_kappa`, written by the judging core).

    A judge is not ground truth: where a run named a second judge (`--model-role judge2=...`),
    this is how far the two agreed on the samples both graded, with the disagreements to read in
    the viewer, and how many positive findings the verifier did not confirm.
    """
    rows = []
    for run in runs:
        unverified = run.metric("findings_unverified")
        for kappa in (m for m in run.metrics if m.name == "judge2_kappa"):
            accuracy = run.metric("judge2_accuracy", kappa.group)
            disagreements = run.metric("judge2_disagreements", kappa.group)
            rows.append(
                {
                    "task": run.task,
                    "model": run.model,
                    "measure": (kappa.group or "").removeprefix("measure="),
                    "kappa": kappa.estimate,
                    "95% CI": _interval(kappa.low, kappa.high),
                    "agreement": accuracy.estimate if accuracy else math.nan,
                    "pairs": kappa.n,
                    "disagreements": disagreements.estimate if disagreements else math.nan,
                    "findings unverified": unverified.estimate if unverified else math.nan,
                }
            )
    return pd.DataFrame(rows)


def group_frames(runs: list[Run], baseline: str | None) -> list[tuple[str, pd.DataFrame]]:
    """Per eval variant with a declared `by`: its first such headline, group by checkpoint."""
    frames = []
    keys = sorted({(r.task, r.variant) for r in runs})
    for task, variant in keys:
        selected = [r for r in runs if (r.task, r.variant) == (task, variant)]
        headline = next((h for h, _ in selected[0].headline_metrics() if h.by), None)
        if headline is None:
            continue
        table: dict[str, dict[str, str]] = {}
        for run in selected:
            column = run.model + (" (baseline)" if run.model == baseline else "")
            for metric in run.groups(headline):
                cell = f"{_fmt(metric.estimate)} {_interval(metric.low, metric.high)} n={metric.n}"
                table.setdefault(metric.group or "", {})[column] = cell
        if table:
            frame = pd.DataFrame.from_dict(table, orient="index").fillna("")
            frame.insert(0, headline.by or "", list(frame.index))
            title = f"{task} ({variant}): {headline.metric} by {headline.by}"
            frames.append((title, frame.reset_index(drop=True)))
    return frames


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) else f"[{low:.3f}, {high:.3f}]"


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


class Page:
    """Everything one report shows, rendered as markdown or HTML from the same parts."""

    def __init__(
        self,
        runs: list[Run],
        diffs: list[Difference],
        warnings: list[str],
        notes: list[str],
        plots: list[Path],
        baseline: str | None,
    ) -> None:
        self.headlines = headline_frame(runs, baseline)
        self.metrics = metrics_frame(runs, baseline)
        self.differences = differences_frame(diffs)
        self.findings = [d.plain_words() for d in diffs if d.significant]
        self.groups = group_frames(runs, baseline)
        self.agreement = agreement_frame(runs)
        self.warnings = warnings
        self.notes = notes
        self.plots = plots
        self.baseline = baseline

    def markdown(self) -> str:
        parts = ["# traitlab report\n"]
        if self.baseline:
            parts.append(f"Baseline: **{self.baseline}**\n")
        if self.warnings:
            parts += ["## Warnings\n", "".join(f"- **{w}**\n" for w in self.warnings)]
        parts += ["## Headline metrics (95% intervals)\n", _markdown_table(self.headlines)]
        if self.baseline:
            parts += ["\n## Differences against the baseline\n"]
            parts.append("".join(f"- {line}\n" for line in self.findings) or "- none excludes 0\n")
            parts += ["\n", _markdown_table(self.differences)]
        for title, frame in self.groups:
            parts += [f"\n## {title}\n", _markdown_table(frame)]
        if not self.agreement.empty:
            parts += ["\n## Judge agreement (judge vs judge2)\n", _markdown_table(self.agreement)]
        parts += ["\n## All metrics\n", _markdown_table(self.metrics)]
        parts.append("\n## Notes\n")
        parts.append("".join(f"- {note}\n" for note in self.notes) or "- none\n")
        if self.plots:
            parts.append("\n## Plots\n")
            parts.extend(f"![{p.stem}]({p.name})\n" for p in self.plots)
        return "\n".join(parts)

    def html(self) -> str:
        esc = html.escape
        images = "".join(
            f'<figure><img alt="{esc(p.stem)}" src="data:image/png;base64,'
            f'{base64.b64encode(p.read_bytes()).decode()}"/><figcaption>{esc(p.stem)}'
            "</figcaption></figure>"
            for p in self.plots
        )
        warnings = "".join(f"<li>{esc(w)}</li>" for w in self.warnings)
        body = ["<h1>traitlab report</h1>"]
        if self.baseline:
            body.append(f'<p>Baseline: <span class="baseline">{esc(self.baseline)}</span></p>')
        if warnings:
            body.append(f'<div class="warnings"><h2>Warnings</h2><ul>{warnings}</ul></div>')
        body.append(f"<h2>Headline metrics (95% intervals)</h2>{_html_table(self.headlines)}")
        if self.baseline:
            findings = "".join(f"<li>{esc(line)}</li>" for line in self.findings)
            body.append(
                "<h2>Differences against the baseline</h2>"
                f'<ul class="findings">{findings or "<li>none excludes 0</li>"}</ul>'
                f"{_html_table(self.differences)}"
            )
        for title, frame in self.groups:
            body.append(f"<h2>{esc(title)}</h2>{_html_table(frame)}")
        if not self.agreement.empty:
            body.append(f"<h2>Judge agreement (judge vs judge2)</h2>{_html_table(self.agreement)}")
        body.append(f"<h2>Plots</h2>{images or '<p>(none)</p>'}")
        body.append(f"<h2>All metrics</h2>{_html_table(self.metrics)}")
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes) or "<li>none</li>"
        body.append(f"<h2>Notes</h2><ul>{notes}</ul>")
        return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>traitlab report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; }}
td.sig {{ background: #ffe9a8; font-weight: bold; }}
tr.baseline td {{ background: #fdecea; }}
.baseline {{ color: #c0392b; font-weight: bold; }}
.warnings {{ border: 2px solid #c0392b; background: #fdecea; padding: 0 1em; }}
figure {{ display: inline-block; margin: 0.5em; }}
img {{ max-width: 100%; }}
</style></head><body>
{"".join(body)}
</body></html>
"""


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    marked = "baseline" in frame.columns
    for row in frame.to_dict(orient="records"):
        cells = []
        for column, value in row.items():
            cls = ' class="sig"' if column == "excludes_zero" and value is True else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(value))}</td>")
        is_base = (marked and row["baseline"] is True) or str(row.get("model", "")).endswith(
            " (baseline)"
        )
        attr = ' class="baseline"' if is_base else ""
        body.append(f"<tr{attr}>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
