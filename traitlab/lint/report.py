"""The lint report: report.html (self-contained, plots embedded), report.md, report.json,
features.json and labels.jsonl, plus the summary table printed on the terminal.

The tables are built once (`sections`) and rendered three ways (markdown, HTML, rich), so the
report files and the terminal never disagree.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from traitlab.lint.forking import FORK, settle_child
from traitlab.lint.labels import LabelRows, label_lines
from traitlab.lint.outdir import write_dir_atomically
from traitlab.lint.plots import Interval, PlotSpec, Plotter
from traitlab.lint.results import Finding, ItemLabels, LintReport, Rate

KIND_TITLES = {
    "opening": "Over-represented openings (first sentence, leading words)",
    "closing": "Over-represented closings (last sentence, final words)",
    "phrase": "Frequent phrases (share of items containing them)",
    "cluster": "Clusters of similar opening sentences (embedding + HDBSCAN; gated only when "
    "they share wording or form, not only a subject)",
    "format": "Formatting habits",
}


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]


def sections(report: LintReport) -> list[Section]:
    """The report's tables, in reading order."""
    out = [
        Section(
            "Summary",
            ["what", "value"],
            [
                ["source", report.source],
                ["kind / turns", f"{report.kind} / {report.turns}"],
                [
                    "unit (what a prevalence counts)",
                    f"{report.n_items:,} {report.units} in {report.records:,} records",
                ],
                ["inputs", ", ".join(s.path for s in report.sources) or report.source],
                ["malformed lines skipped", str(len(report.errors))],
                ["model", report.model or "none (pre-scan only)"],
                ["autorated", f"{report.rated} rated, {report.unrated} unrated"],
                *([["feature prevalences", line]] if (line := report.correction_line()) else []),
            ],
        )
    ]
    if report.features:
        out.append(
            Section(
                "Features (LLM autorate, 95% intervals)",
                [
                    "id",
                    "feature",
                    "strict (the figure gated)",
                    "strict, as rated",
                    "broad, as rated",
                    "n",
                    "rater vs reference",
                    "rater consistency",
                    "strict rubric",
                    "examples",
                ],
                [
                    [
                        r.feature.id,
                        r.feature.name,
                        f"{r.gated_rate('strict').format()} ({r.rate_label('strict')})",
                        r.strict.format(),
                        r.broad.format(),
                        str(r.strict.n),
                        "; ".join(e.format() for e in r.rater_error) or "not measured",
                        ", ".join(f"{k} {v:.0%}" for k, v in r.consistency.items()) or "-",
                        r.feature.strict,
                        " | ".join(r.examples[:2]),
                    ]
                    for r in sorted(report.features, key=lambda r: -r.gated_rate("strict").estimate)
                ],
            )
        )
    probes = [(r.feature.id, p) for r in report.features for p in r.probes]
    if probes:
        out.append(
            Section(
                "Probes: labels for the unrated items (agreement with held-out rated items)",
                ["id", "level", "precision", "recall", "rated", "unrated labelled present"],
                [
                    [
                        feature,
                        p.level,
                        p.precision.format(),
                        p.recall.format(),
                        str(p.rated),
                        f"{p.labelled:,} of {p.unrated:,}",
                    ]
                    for feature, p in probes
                ],
            )
        )
    for kind, title in KIND_TITLES.items():
        findings = [f for f in report.findings if f.kind == kind]
        if findings:
            out.append(
                Section(
                    title,
                    ["id", "pattern", "prevalence", "count / n", "examples"],
                    [row for f in findings for row in _family_rows(f)],
                )
            )
    if report.length is not None:
        length = report.length
        out.append(
            Section(
                "Length (words per item)",
                ["mean", "median", "10th percentile", "90th percentile"],
                [
                    [
                        f"{length.mean:.0f}",
                        f"{length.median:.0f}",
                        f"{length.p10:.0f}",
                        f"{length.p90:.0f}",
                    ]
                ],
            )
        )
    if report.usage:
        out.append(
            Section(
                "Model usage",
                ["stage", "model", "calls", "cached", "input tokens", "output tokens"],
                [
                    [
                        u.stage,
                        u.model,
                        str(u.calls),
                        str(u.cached_calls),
                        f"{u.input_tokens:,}",
                        f"{u.output_tokens:,}",
                    ]
                    for u in report.usage
                ],
            )
        )
    notes = report.notes + [f"error: {e}" for e in report.errors[:20]]
    if notes:
        out.append(Section("Notes", ["note"], [[n] for n in notes]))
    return out


def _family_rows(finding: Finding) -> list[list[str]]:
    """A finding's row, then one row per variant nested in it (marked, rate included above)."""
    return [_finding_row(finding)] + [_finding_row(v, variant=True) for v in finding.variants]


def family_text(finding: Finding) -> str:
    """A finding's text, with its variants and their rates when it heads a family."""
    if not finding.variants:
        return finding.text
    size = len(finding.text.split())

    def rest(variant: Finding) -> str:
        """What the variant adds: the words after an opening, before a closing."""
        words = variant.text.split()
        if finding.kind == "opening":
            return "... " + " ".join(words[size:])
        return " ".join(words[:-size]) + " ..."

    listed = ", ".join(f"{rest(v)} {v.rate.estimate:.0%}" for v in finding.variants[:4])
    more = f", +{len(finding.variants) - 4} more" if len(finding.variants) > 4 else ""
    return f"{finding.text} (family: {listed}{more})"


def _finding_row(finding: Finding, *, variant: bool = False) -> list[str]:
    text = f"  variant: {finding.text}" if variant else family_text(finding)
    if finding.kind == "cluster":
        text += f" ({finding.structure})" if finding.structure else " (a topic: not gated)"
    return [
        finding.id,
        text,
        finding.rate.format(),
        f"{finding.rate.count} / {finding.rate.n}",
        " | ".join(finding.examples[:2]),
    ]


def write_report(
    report: LintReport, out_dir: str | Path, plotter: Plotter | None = None
) -> dict[str, Path]:
    """Write every report file into `out_dir` at once (built beside it, then swapped in).

    report.json records the content hash of labels.jsonl, so `filter` can refuse labels that
    do not belong to the report. The plots are drawn by `plotter` where one was started before
    (see `traitlab.lint.plots`). Returns the files' final paths by name.
    """
    out = Path(out_dir)
    names = {
        "html": "report.html",
        "md": "report.md",
        "json": "report.json",
        "features": "features.json",
        "labels": "labels.jsonl",
    }

    def fill(directory: Path) -> None:
        report.run_id = uuid.uuid4().hex
        plots = (plotter or Plotter()).draw(plot_specs(report))  # beside the labels
        report.labels_sha256 = _write_labels(report.labels, directory / names["labels"])
        tables = sections(report)
        (directory / names["html"]).write_text(render_html(report, tables, plots()), "utf-8")
        (directory / names["md"]).write_text(render_markdown(report, tables), "utf-8")
        (directory / names["json"]).write_text(report.model_dump_json(indent=2) + "\n", "utf-8")
        report.feature_set().save(directory / names["features"])

    write_dir_atomically(out, fill)
    return {key: out / name for key, name in names.items()}


# Label rows from which labels.jsonl is written by two processes.
_SPLIT_ROWS = 50_000


def _write_labels(rows: Sequence[ItemLabels], path: Path) -> str:
    """Write labels.jsonl and return its sha256. From `_SPLIT_ROWS` rows on, a forked process
    writes the second half beside it while this one writes the first (a million rows took
    seconds in one process); should it fail, this one writes the rest."""
    digest = hashlib.sha256()
    half = len(rows) // 2
    child = None
    rest = path.with_name(path.name + ".rest")
    if FORK is not None and isinstance(rows, LabelRows) and len(rows) >= _SPLIT_ROWS:
        child = FORK.Process(target=_write_rows, args=(rows, half, rest), daemon=True)
        child.start()
    with path.open("wb") as handle:

        def write(lines: Iterable[str]) -> None:
            for line in lines:
                data = line.encode("utf-8")
                digest.update(data)
                handle.write(data)

        write(rows.json_lines(0, half) if child is not None else label_lines(rows))
        if child is not None:
            child.join()
            if child.exitcode == 0:
                with rest.open("rb") as written:
                    while block := written.read(1 << 22):
                        digest.update(block)
                        handle.write(block)
            else:
                write(rows.json_lines(half, len(rows)))
            rest.unlink(missing_ok=True)
    return digest.hexdigest()


def _write_rows(rows: LabelRows, start: int, path: Path) -> None:
    settle_child()
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(rows.json_lines(start, len(rows)))


def render_markdown(report: LintReport, tables: list[Section]) -> str:
    lines = [f"# Data lint: {Path(report.source).name}", ""]
    for section in tables:
        lines += [f"## {section.title}", ""]
        lines.append("| " + " | ".join(section.headers) + " |")
        lines.append("|" + "---|" * len(section.headers))
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
        lines.append("")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left;font-size:14px}th{background:#f3f3f3}img{max-width:100%}"""


def render_html(report: LintReport, tables: list[Section], plots: list[tuple[str, str]]) -> str:
    """One self-contained page: tables and base64-embedded PNG plots, no external assets."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Data lint: {html.escape(Path(report.source).name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Data lint: {html.escape(Path(report.source).name)}</h1>",
    ]
    for title, png in plots:
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
            f"src='data:image/png;base64,{png}'>"
        )
    for section in tables:
        parts.append(f"<h2>{html.escape(section.title)}</h2><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in section.headers]
        parts.append("</tr>")
        for row in section.rows:
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def plot_specs(report: LintReport) -> list[PlotSpec]:
    """What the report's prevalence bar charts show: features, then gated pre-scan findings."""
    specs: list[PlotSpec] = []
    if report.features:
        rows = sorted(report.features, key=lambda r: r.strict.estimate)
        specs.append(
            (
                "Feature prevalence (autorate)",
                [r.feature.name for r in rows],
                {
                    "strict": [_interval(r.strict) for r in rows],
                    "broad": [_interval(r.broad) for r in rows],
                },
            )
        )
    gated = sorted((f for f in report.findings if f.gated), key=lambda f: f.rate.estimate)
    if gated:
        specs.append(
            (
                "Pre-scan findings",
                [f"{f.kind}: {_short(f.text)}" for f in gated],
                {"prevalence": [_interval(f.rate) for f in gated]},
            )
        )
    return specs


def _interval(rate: Rate) -> Interval:
    return rate.estimate, rate.low, rate.high


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def print_summary(report: LintReport, console: Console | None = None, limit: int = 12) -> None:
    """The terminal summary: the most prevalent patterns with intervals."""
    console = console or Console()
    table = Table(
        title=f"Data lint: {report.source} "
        f"(share of {report.n_items:,} {report.units} in {report.records:,} records)"
    )
    for column in ("pattern", "source", "prevalence [95% CI]", "n"):
        table.add_column(column, overflow="fold")
    for result in sorted(report.features, key=lambda r: -r.gated_rate("strict").estimate):
        rate = result.gated_rate("strict")
        source = f"autorate ({result.rate_label('strict')})"
        table.add_row(result.feature.name, source, rate.format(), str(result.strict.n))
    gated = sorted((f for f in report.findings if f.gated), key=lambda f: -f.rate.estimate)
    for finding in gated[:limit]:
        table.add_row(
            family_text(finding),
            f"pre-scan {finding.kind}",
            finding.rate.format(),
            str(finding.rate.n),
        )
    console.print(table)
    if line := report.correction_line():
        console.print(line if report.reference else f"[yellow]{line}[/yellow]")
    for section in sections(report):
        if section.title == "Model usage":
            usage = Table(title=section.title)
            for header in section.headers:
                usage.add_column(header)
            for row in section.rows:
                usage.add_row(*row)
            console.print(usage)
    if report.errors:
        console.print(f"[yellow]{len(report.errors)} malformed lines skipped[/yellow]")


def print_verdict(report: LintReport, console: Console | None = None) -> None:
    """What the terminal must not hide: how much the scan read, and when it found nothing."""
    console = console or Console()
    for note in report.notes:
        if note.startswith(("the scan", "only ", "scan coverage")):
            console.print(f"[yellow]{note}[/yellow]")
    if report.model is not None and not report.features:
        console.print(
            "[yellow]no LLM feature was found: this is not evidence that the data is clean "
            "(see the scan coverage above)[/yellow]"
        )
