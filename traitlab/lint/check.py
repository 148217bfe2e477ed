"""CI gate: fail when any pattern is more prevalent than a threshold, or the data is unreadable.

`check_report` compares a lint report against thresholds; `check_dataset` lints and checks in
one go (what `traitlab lint check` runs). LLM features are compared at one level (strict by
default) using their rater-corrected prevalence where the report has one; pre-scan openings,
closings, phrases and opening clusters against their own threshold (the same one unless given);
formatting habits are style, reported but never gated.

The gate compares the point estimate, or with ``gate="lower"`` the interval's lower bound (fail
only when the data shows the pattern above the threshold with 95% confidence). Besides patterns,
the gate fails on malformed lines (unless allowed) and when it checked nothing at all (no
features and the pre-scan gate off), which is not a pass.

Accepted findings stay out of the verdict: an allowlist of ids (glob patterns allowed, for a
house style such as "Short answer:") is never gated, and a baseline file of accepted findings
(written by ``--write-baseline``) is accepted while its prevalence is not significantly above
the recorded one (the interval's lower bound at or under it).
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlab.errors import InputError, read_user_text
from traitlab.lint.filter import load_report
from traitlab.lint.options import CheckOptions, Gate, LintOptions, build
from traitlab.lint.results import LintReport, Location, Rate


@dataclass
class Violation:
    """A pattern above its threshold."""

    id: str
    name: str
    source: str
    rate: Rate
    threshold: float
    accepted: str | None = None  # why it does not fail the gate (allowlist, baseline)
    where: Location | None = None  # an item that shows it (for annotations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "estimate": self.rate.estimate,
            "low": self.rate.low,
            "high": self.rate.high,
            "count": self.rate.count,
            "n": self.rate.n,
            "threshold": self.threshold,
            "accepted": self.accepted,
            "where": self.where.model_dump() if self.where else None,
        }


@dataclass
class CheckResult:
    report: LintReport
    violations: list[Violation]
    problems: list[str] = field(default_factory=list)
    accepted: list[Violation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "source": self.report.source,
            "unit": self.report.unit_name,
            "items": self.report.n_items,
            "violations": [v.to_dict() for v in self.violations],
            "accepted": [v.to_dict() for v in self.accepted],
            "problems": self.problems,
            "feature_prevalences": self.report.correction_line(),
            "checks": self.report.checks,
            "cannot_see": self.report.cannot_see,
        }


def _compared(rate: Rate, gate: Gate) -> float:
    return rate.low if gate == "lower" else rate.estimate


def check_report(
    report: LintReport,
    *,
    max_prevalence: float,
    level: str = "strict",
    prescan_max: float | None = None,
    gate: Gate = "estimate",
) -> list[Violation]:
    """The features and gated pre-scan findings whose prevalence exceeds the thresholds."""
    prescan_max = max_prevalence if prescan_max is None else prescan_max
    violations = []
    for r in report.features:
        rate = r.gated_rate(level)  # type: ignore[arg-type]
        if rate.n and _compared(rate, gate) > max_prevalence:
            label = r.rate_label(level)  # type: ignore[arg-type]
            source = f"autorate ({label})"
            where = r.where[0] if r.where else None
            violations.append(
                Violation(r.feature.id, r.feature.name, source, rate, max_prevalence, where=where)
            )
    violations += [
        Violation(
            f.id,
            f.text,
            f"pre-scan {f.kind}",
            f.rate,
            prescan_max,
            where=f.where[0] if f.where else None,
        )
        for f in report.findings
        if f.gated and _compared(f.rate, gate) > prescan_max
    ]
    return sorted(violations, key=lambda v: -v.rate.estimate)


def gate_problems(
    report: LintReport, *, prescan_max: float, allow_malformed: bool = False, level: str = "strict"
) -> list[str]:
    """Reasons the gate fails besides patterns: unreadable lines, nothing checked, a prevalence
    that cannot be known (a rater no better than chance against the reference)."""
    problems = []
    for r in report.features:
        corrected = r.corrected(level)  # type: ignore[arg-type]
        if corrected is not None and math.isnan(corrected.estimate):
            problems.append(
                f"{r.feature.id}: the rater agrees with the reference no better than chance, so "
                "its prevalence is unknown (fix the feature's rubric or the rater)"
            )
    if report.errors and not allow_malformed:
        problems.append(
            f"{len(report.errors)} malformed lines (first: {report.errors[0]}); "
            "fix them or pass --allow-malformed"
        )
    if not report.features and prescan_max >= 1:
        problems.append(
            "nothing was checked: no LLM features and the pre-scan gate is off (--prescan-max 1)"
        )
    return problems


def read_baseline(path: str | Path) -> dict[str, float]:
    """A baseline file: {"accepted": {finding id: prevalence when accepted}}."""
    path = Path(path)
    try:
        data = json.loads(read_user_text(path, "baseline file"))
        accepted = data["accepted"]
        return {str(k): float(v) for k, v in accepted.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            'invalid baseline file (expected {"accepted": {"id": prevalence}}); '
            "write one with --write-baseline",
            path=path,
        ) from None


def write_baseline(path: str | Path, violations: Sequence[Violation]) -> Path:
    """Accept the current violations: record each one's prevalence."""
    path = Path(path)
    accepted = {v.id: round(v.rate.estimate, 4) for v in violations}
    path.write_text(json.dumps({"accepted": accepted}, indent=2) + "\n", encoding="utf-8")
    return path


def accept(
    violations: list[Violation], *, allow: Sequence[str] = (), baseline: dict[str, float] | None
) -> tuple[list[Violation], list[Violation]]:
    """Split violations into (failing, accepted by the allowlist or the baseline)."""
    failing, accepted = [], []
    by_pattern = {pattern_key(key): rate for key, rate in (baseline or {}).items()}
    for v in violations:
        recorded = (baseline or {}).get(v.id, by_pattern.get(pattern_key(v.id)))
        if any(fnmatch.fnmatchcase(v.id, pattern) for pattern in allow):
            v.accepted = "allowlist"
        elif recorded is not None and v.rate.low <= recorded:
            v.accepted = f"baseline ({recorded:.0%})"
        (accepted if v.accepted else failing).append(v)
    return failing, accepted


def pattern_key(finding_id: str) -> str:
    """A finding's words without its kind: the same wording accepted as a phrase stays
    accepted when a later lint reports it as an opening or a closing."""
    kind, _, rest = finding_id.partition("_")
    return rest if kind in ("opening", "closing", "phrase") and rest else finding_id


def check_dataset(
    data: Any,
    options: CheckOptions | None = None,
    *,
    report_dir: str | Path | None = None,
    **option_values: Any,
) -> CheckResult:
    """Lint `data` (pre-scan; autorate against `features` when a model is given) and check it.

    `options` are the run's and the gate's `CheckOptions` (or pass them as keyword arguments).
    Without `features`, a model also runs the scan and merge stages to find features first.
    With `report_dir`, check the report a lint of `data` already wrote instead of linting again
    (the lint's own options then do not apply). `out_dir` keeps the report, e.g. as a CI artifact.
    """
    if options is None:
        options = build(CheckOptions, option_values)
    elif option_values:
        raise TypeError("pass either options or option keyword arguments, not both")
    baseline = read_baseline(options.baseline) if options.baseline is not None else None
    if report_dir is not None:
        report = load_report(report_dir, data, labels=False)
    elif options.features is not None and options.model is None:
        raise InputError("checking against features needs a model to rate the data (--model)")
    else:
        from traitlab.lint.pipeline import lint_dataset

        lint = {name: getattr(options, name) for name in LintOptions.model_fields}
        if "probe" not in options.model_fields_set:
            # Probe labels serve `filter`: worth their embedding time only in a report on disk.
            lint["probe"] = options.out_dir is not None
        report = lint_dataset(data, LintOptions(**lint))
    threshold = options.max_prevalence if options.prescan_max is None else options.prescan_max
    found = check_report(
        report,
        max_prevalence=options.max_prevalence,
        level=options.level,
        prescan_max=options.prescan_max,
        gate=options.gate,
    )
    failing, accepted = accept(found, allow=options.allow, baseline=baseline)
    problems = gate_problems(
        report,
        prescan_max=threshold,
        allow_malformed=options.allow_malformed,
        level=options.level,
    )
    return CheckResult(report, failing, problems, accepted)
