"""Filter a dataset by lint labels: drop the labelled items, or downsample them to a target.

The filter reads a lint report directory (report.json and labels.jsonl), checks that the labels
were made from this exact file (by content hash), and writes a new JSONL file; the input is
never modified. Labels from the autorate cover only the rated sample, so to filter a whole
dataset by an LLM feature, lint it with ``--sample all`` (or ``sample=None``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from traitlab.datasets import read_jsonl, write_jsonl
from traitlab.datasets.jsonl import iter_json_lines
from traitlab.errors import InputError
from traitlab.lint.autorate import Level, present
from traitlab.lint.items import file_sha256
from traitlab.lint.results import ItemLabels, LintReport


@dataclass
class FilterResult:
    """What the filter kept and removed, per feature."""

    out: Path
    kept: int
    removed: int
    removed_by: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_report(report_dir: str | Path, data: str | Path | None = None) -> LintReport:
    """A lint report with its labels, read back from its directory.

    With `data`, also check that the report was made from exactly that file (content hash).
    """
    report_dir = Path(report_dir)
    path = report_dir / "report.json"
    if not path.exists():
        raise InputError(
            "no report.json here: run `traitlab lint DATA -o DIR` first", path=report_dir
        )
    try:
        report = LintReport.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as ex:
        raise InputError(f"invalid lint report ({str(ex).splitlines()[0]})", path=path) from None
    if data is not None and file_sha256(data) != report.sha256:
        raise InputError(f"the report in {report_dir} was made from a different file", path=data)
    report.labels = list(read_jsonl(report_dir / "labels.jsonl", ItemLabels, strict=True))
    return report


def filter_dataset(
    data: str | Path,
    report_dir: str | Path,
    out: str | Path,
    *,
    features: list[str],
    level: Level = "broad",
    target: float | None = None,
    seed: int = 0,
) -> FilterResult:
    """Write `data` without the items labelled with `features` (or down to `target` each).

    Args:
        data: The dataset that was linted (JSONL).
        report_dir: The lint's output directory.
        out: Where to write the filtered dataset (must not be `data`).
        features: Feature or pre-scan finding ids to filter on.
        level: Count a label at this threshold ("broad" includes "strict").
        target: Remove a seeded random subset of the labelled items, just enough that the
            feature's prevalence falls to this share; None removes them all.
        seed: Seed for the subset.
    """
    data, out = Path(data), Path(out)
    if out.resolve() == data.resolve():
        raise InputError("the output must be a new file: the input is never modified", path=out)
    if target is not None and not 0 <= target < 1:
        raise InputError(f"target prevalence must be in [0, 1), not {target}")
    report = load_report(report_dir, data)
    if report.kind == "eval":
        raise InputError("filter works on JSONL datasets, not Inspect logs", path=data)
    llm_ids = {r.feature.id for r in report.features}
    known = llm_ids | {f.id for f in report.findings}
    unknown = [f for f in features if f not in known]
    if unknown:
        raise InputError(f"unknown feature ids {unknown} (known: {', '.join(sorted(known))})")

    rng = random.Random(seed)
    removed: set[int] = set()
    result = FilterResult(out=out, kept=0, removed=0)
    for feature in features:
        # An LLM feature's prevalence is measured on the rated sample; a finding's on all items.
        population = [
            row
            for row in report.labels
            if row.line not in removed and (row.rated or feature not in llm_ids)
        ]
        labelled = [row for row in population if present(row.labels.get(feature, "none"), level)]
        count = len(labelled)
        if target is not None:
            count = max(0, math.ceil((count - target * len(population)) / (1 - target)))
            labelled = rng.sample(labelled, min(count, len(labelled)))
        removed.update(row.line for row in labelled if row.line is not None)
        result.removed_by[feature] = len(labelled)
        if feature in llm_ids and report.rated < report.n_items:
            result.notes.append(
                f"{feature}: labels cover the {report.rated} rated items of {report.n_items}; "
                "lint with --sample all to filter every item"
            )

    def kept_records() -> Iterator[dict]:
        for line, obj in iter_json_lines(data):
            if line in removed:
                continue
            if isinstance(obj, InputError):
                result.notes.append(f"dropped a malformed line: {obj}")
                continue
            yield obj

    result.kept = write_jsonl(out, kept_records())
    result.removed = len(removed)
    return result


def describe(result: FilterResult) -> str:
    """One line per feature for the terminal."""
    lines = [f"removed {n} items labelled {feature}" for feature, n in result.removed_by.items()]
    lines.append(f"wrote {result.kept} records to {result.out} ({result.removed} removed)")
    return "\n".join(lines + result.notes)
