"""Filter a dataset by lint labels: drop the labelled records, or downsample them to a target.

The filter reads a lint report directory and refuses labels that do not belong to it or to the
data: report.json records the content hash of labels.jsonl (a report directory half replaced by
a crash, or labels copied from another run, are refused), and the data file must be one of the
inputs the report was made from (by content hash). It writes a new JSONL file, copying the kept
lines verbatim; the input is never modified.

A record is removed when any of its linted items (replies, with the default unit) carries the
label. Labels from the autorate cover only the rated sample. The lint also distils each feature's
ratings into a probe that labels the unrated items (`traitlab.lint.probe`); the filter uses those
probe labels only when the probe's agreement with held-out rated items clears the thresholds
(the lower ends of the 95% intervals of its precision and recall). Otherwise only the rated
sample is filtered, and to filter every item by the rater, lint with ``--sample all``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from traitlab.errors import InputError
from traitlab.files import write_atomically
from traitlab.lint.autorate import Level, present
from traitlab.lint.items import STDIN, combined_sha256, expand_inputs, file_sha256
from traitlab.lint.outdir import check_output_file
from traitlab.lint.results import FeatureResult, ItemLabels, LintReport, ProbeAgreement

BOM = "\ufeff"


@dataclass
class FilterResult:
    """What the filter kept and removed (records), per feature."""

    out: Path
    kept: int
    removed: int
    removed_by: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_report(
    report_dir: str | Path,
    data: str | Path | list[str | Path] | None = None,
    *,
    labels: bool = True,
) -> LintReport:
    """A lint report, with its labels unless `labels=False`, read back from its directory.

    With `data`, also check that the report was made from exactly those inputs (content hash).
    Labels are checked against the hash report.json recorded for them.
    """
    report_dir = Path(report_dir)
    path = report_dir / "report.json"
    if not report_dir.is_dir():
        raise InputError("no such report directory", path=report_dir)
    if not path.exists():
        raise InputError(
            "no report.json here: run `traitlab lint DATA -o DIR` first", path=report_dir
        )
    try:
        report = LintReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as ex:
        reason = str(ex).splitlines()[0] if str(ex) else type(ex).__name__
        raise InputError(f"invalid lint report ({reason})", path=path) from None
    if data is not None:
        inputs = expand_inputs(data)
        if STDIN in inputs:
            raise InputError("a report cannot be checked against standard input; pass the file")
        if combined_sha256(file_sha256(p) for p in inputs) != report.sha256:
            raise InputError(
                f"the report in {report_dir} was made from different data", path=", ".join(inputs)
            )
    if labels:
        report.labels = _read_labels(report_dir, report)
    return report


def _read_labels(report_dir: Path, report: LintReport) -> list[ItemLabels]:
    rows = []
    for number, row in _label_rows(report_dir, report):
        try:
            rows.append(ItemLabels.model_validate(row))
        except ValidationError as ex:
            raise InputError(
                f"invalid label row ({ex.errors()[0]['msg']})",
                path=report_dir / "labels.jsonl",
                line=number,
            ) from None
    return rows


def _label_rows(report_dir: Path, report: LintReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """labels.jsonl's rows as plain dicts with their line numbers, read a line at a time (a
    million rows as models would take gigabytes), after its hash is checked against the one
    report.json recorded; the number of rows is checked when the last one has been read."""
    path = report_dir / "labels.jsonl"
    if not report.labels_sha256:
        raise InputError(
            "this report does not record its labels' hash (an older lint): lint again", path=path
        )
    try:
        if file_sha256(path) != report.labels_sha256:
            raise InputError(
                "labels.jsonl does not belong to report.json beside it (a mixed or edited report "
                "directory): lint again",
                path=path,
            )
        count = 0
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if not isinstance(row, dict):
                    raise InputError(
                        "invalid label row (not a JSON object)", path=path, line=number
                    )
                count += 1
                yield number, row
    except OSError as ex:
        raise InputError(f"cannot read labels ({ex.strerror or ex})", path=path) from None
    if count != report.n_items:
        raise InputError(f"{count} label rows for {report.n_items} items", path=path)


def filter_dataset(
    data: str | Path,
    report_dir: str | Path,
    out: str | Path,
    *,
    features: list[str],
    level: Level = "broad",
    target: float | None = None,
    seed: int = 0,
    overwrite: bool = False,
    probe_min_precision: float = 0.8,
    probe_min_recall: float = 0.7,
) -> FilterResult:
    """Write `data` without the records labelled with `features` (or down to `target` each).

    Args:
        data: One JSONL file the lint read (a report of several inputs filters each in turn).
        report_dir: The lint's output directory.
        out: Where to write the filtered dataset (must not be `data`).
        features: Feature or pre-scan finding ids to filter on.
        level: Count a label at this threshold ("broad" includes "strict").
        target: Remove a seeded random subset of the labelled records, just enough that the
            feature's prevalence (among records) falls to this share; None removes them all.
        seed: Seed for the subset.
        overwrite: Replace `out` if it exists.
        probe_min_precision: Use an LLM feature's probe labels for the unrated items only when
            the lower end of the probe's precision interval (on held-out rated items) is at
            least this (1 = never use probe labels).
        probe_min_recall: ... and the lower end of its recall interval at least this.
    """
    data, out = Path(data), Path(out)
    if str(data) == STDIN:
        raise InputError("filter reads a file, not standard input")
    if not data.exists():
        raise InputError("file not found", path=data)
    if data.is_dir() or data.suffix in (".eval", ".parquet"):
        raise InputError(
            "filter works on one JSONL file (a directory, log or Parquet file "
            "cannot be filtered line by line)",
            path=data,
        )
    if out.resolve() == data.resolve():
        raise InputError("the output must be a new file: the input is never modified", path=out)
    check_output_file(out, overwrite=overwrite)
    if target is not None and not 0 <= target < 1:
        raise InputError(f"target prevalence must be in [0, 1), not {target}")
    for name, value in (("precision", probe_min_precision), ("recall", probe_min_recall)):
        if not 0 <= value <= 1:
            raise InputError(f"--probe-min-{name}: expected a share in [0, 1], not {value}")
    report = load_report(report_dir, labels=False)
    digest = file_sha256(data)
    matches = [i for i, s in enumerate(report.sources) if s.sha256 == digest]
    if not matches:
        raise InputError(f"the report in {report_dir} was made from different data", path=data)
    source = matches[0]
    if report.sources[source].kind not in ("chat", "document", "preference"):
        raise InputError("filter works on JSONL datasets, not Inspect logs", path=data)
    llm_ids = {r.feature.id for r in report.features}
    known = llm_ids | {f.id for f in report.all_findings()}
    unknown = [f for f in features if f not in known]
    if unknown:
        raise InputError(f"unknown feature ids {unknown} (known: {', '.join(sorted(known))})")

    rng = random.Random(seed)
    removed: set[int] = set()
    result = FilterResult(out=out, kept=0, removed=0)
    results = {r.feature.id: r for r in report.features}
    probes = {f: results[f].probe(level) if f in results else None for f in features}
    use_probe = {
        f: probe is not None and probe.clears(probe_min_precision, probe_min_recall)
        for f, probe in probes.items()
    }
    # Each record (by line) as bits: 1 if one of its items was rated, then 2 << k if one is
    # labelled with feature k. Label rows are read as a stream, not kept.
    records: dict[int, int] = {}
    for number, row in _label_rows(Path(report_dir), report):
        try:
            if row.get("source", 0) != source or row.get("line") is None:
                continue
            bits = 1 if row.get("rated") else 0
            for k, feature in enumerate(features):
                # The rater's label where the item was rated, else the probe's if it is used.
                labels = row.get("labels") if bits or not use_probe[feature] else row.get("probe")
                if present((labels or {}).get(feature, "none"), level):
                    bits |= 2 << k
            records[row["line"]] = records.get(row["line"], 0) | bits
        except (AttributeError, TypeError) as ex:
            raise InputError(
                f"invalid label row ({ex})", path=Path(report_dir) / "labels.jsonl", line=number
            ) from None
    for k, feature in enumerate(features):
        # An LLM feature's labels cover the rated sample, and every item when its probe is used;
        # a finding's cover all items.
        covered = feature not in llm_ids or use_probe[feature]
        population = [
            line for line, bits in records.items() if line not in removed and (covered or bits & 1)
        ]
        labelled = [line for line in population if records[line] & (2 << k)]
        if feature in llm_ids and report.rated < report.n_items:
            note = _coverage_note(feature, report, probes[feature], use_probe[feature])
            if use_probe[feature]:
                result.notes.append(note)
            else:
                result.notes.insert(0, note)
        if target is not None:
            share = len(labelled) / len(population) if population else 0.0
            aim = _aim(results.get(feature), level, share)
            count = math.ceil(
                removal_share(aim.prevalence, aim.precision, target) * len(population)
            )
            labelled = rng.sample(labelled, min(count, len(labelled)))
            result.notes.append(_target_note(feature, aim, target, len(labelled), len(population)))
        removed.update(labelled)
        result.removed_by[feature] = len(labelled)

    bad = set(report.sources[source].bad_lines)

    def kept_lines() -> Iterator[str]:
        """The kept lines byte for byte, read one at a time: a byte-order mark and CRLF endings
        stay as they were (lines numbered as the lint numbered them: split at line feeds only)."""
        with data.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.decode("utf-8")
                if number == 1 and line.startswith(BOM):
                    yield BOM
                    line = line[len(BOM) :]
                if not line.strip() or number in removed or number in bad:
                    continue
                result.kept += 1
                yield line

    write_atomically(out, kept_lines())
    if bad:
        # Lines the lint could not read are never passed on silently.
        result.notes.append(f"dropped {len(bad)} malformed lines that the lint skipped")
    result.removed = len(removed)
    return result


@dataclass
class _Aim:
    """What a target is aimed at: the prevalence to bring down (corrected where the rater's
    error was measured), the share of labelled items that truly carry the pattern, and the
    prevalence's interval."""

    prevalence: float
    precision: float
    low: float
    high: float
    corrected: bool


def _aim(result: FeatureResult | None, level: Level, share: float) -> _Aim:
    """For a pre-scan finding (an exact match) or an uncorrected feature: the labels as they
    are. For a corrected feature: its corrected prevalence, and the precision of its labels
    from the measured sensitivity (precision = sensitivity x prevalence / labelled share)."""
    if result is None or result.corrected(level) is None:  # type: ignore[arg-type]
        return _Aim(share, 1.0, share, share, False)
    corrected = result.corrected(level)  # type: ignore[arg-type]
    error = next(e for e in result.rater_error if e.level == level)
    hits, positives = error.sensitivity
    sensitivity = hits / positives if positives else 1.0
    observed = result.level(level).estimate  # type: ignore[arg-type]
    p = corrected.estimate if not math.isnan(corrected.estimate) else observed
    precision = min(1.0, sensitivity * p / observed) if observed else 1.0
    return _Aim(p, precision, corrected.low, corrected.high, True)


def removal_share(prevalence: float, precision: float, target: float) -> float:
    """Share of the population to remove, drawn at random from the labelled items, so that the
    true prevalence falls to `target`: removing k labelled items removes k x precision true
    ones, so (p - k x precision) / (1 - k) = target. Unreachable targets (labels that are
    mostly wrong) remove every labelled item (the caller caps the count)."""
    if prevalence <= target:
        return 0.0
    if precision <= target:
        return 1.0
    return (prevalence - target) / (precision - target)


def _target_note(feature: str, aim: _Aim, target: float, removed: int, population: int) -> str:
    """What the downsampling aimed at and how sure it is."""

    def after(p: float) -> float:
        k = min(removed / population, 1.0) if population else 0.0
        return max(0.0, (p - k * aim.precision) / (1 - k)) if k < 1 else 0.0

    if not aim.corrected:
        return (
            f"{feature}: downsampled to {target:.0%} of its labels; the labels are the rater's "
            "own (uncorrected, rater error unmeasured), so the true prevalence after filtering "
            "is unknown (lint with --reference-model or --hand-labels to aim at it)"
        )
    return (
        f"{feature}: aimed at the corrected prevalence {aim.prevalence:.0%} [{aim.low:.0%}, "
        f"{aim.high:.0%}], label precision {aim.precision:.0%}: expected "
        f"{after(aim.prevalence):.0%} after filtering ({after(aim.low):.0%} to "
        f"{after(aim.high):.0%} across that interval)"
    )


def _coverage_note(
    feature: str, report: LintReport, probe: ProbeAgreement | None, used: bool
) -> str:
    """Which labels the filter used for an LLM feature, and why."""
    cover = report.rated / report.n_items if report.n_items else 0.0
    rated = f"the {report.rated:,} rated items of {report.n_items:,} ({cover:.0%} of the data)"
    if used and probe is not None:
        return (
            f"{feature}: rater labels for {rated}, probe labels for the rest (held-out "
            f"{probe.format()})"
        )
    why = (
        f"its probe's held-out {probe.format()} does not clear the thresholds"
        if probe is not None
        else "no probe was trained"
    )
    return f"{feature}: labels cover {rated} ({why}); lint with --sample all to filter every item"


def describe(result: FilterResult) -> str:
    """One line per feature for the terminal."""
    lines = [f"removed {n} records labelled {feature}" for feature, n in result.removed_by.items()]
    lines.append(f"wrote {result.kept} records to {result.out} ({result.removed} removed)")
    return "\n".join(lines + result.notes)
