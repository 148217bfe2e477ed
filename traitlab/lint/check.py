"""CI gate: fail when any pattern is more prevalent than a threshold.

`check_report` compares a lint report against thresholds; `check_dataset` lints and checks in
one go (what `traitlab lint check` runs). LLM features are compared at one level (strict by
default); pre-scan openings, closings, phrases and opening clusters against their own threshold
(the same one unless given); formatting habits are style, reported but never gated. The point
estimate is compared, and the table shows the interval so a borderline failure is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlab.errors import InputError
from traitlab.lint.features import FeatureSet
from traitlab.lint.filter import load_report
from traitlab.lint.pipeline import lint_dataset
from traitlab.lint.results import LintReport, Rate


@dataclass
class Violation:
    """A pattern above its threshold."""

    id: str
    name: str
    source: str
    rate: Rate
    threshold: float


@dataclass
class CheckResult:
    report: LintReport
    violations: list[Violation]

    @property
    def passed(self) -> bool:
        return not self.violations


def check_report(
    report: LintReport,
    *,
    max_prevalence: float,
    level: str = "strict",
    prescan_max: float | None = None,
) -> list[Violation]:
    """The features and gated pre-scan findings whose prevalence exceeds the thresholds."""
    prescan_max = max_prevalence if prescan_max is None else prescan_max
    violations = [
        Violation(r.feature.id, r.feature.name, f"autorate ({level})", rate, max_prevalence)
        for r in report.features
        if (rate := r.broad if level == "broad" else r.strict).n and rate.estimate > max_prevalence
    ]
    violations += [
        Violation(f.id, f.text, f"pre-scan {f.kind}", f.rate, prescan_max)
        for f in report.findings
        if f.gated and f.rate.estimate > prescan_max
    ]
    return sorted(violations, key=lambda v: -v.rate.estimate)


def check_dataset(
    data: str | Path,
    *,
    max_prevalence: float = 0.2,
    level: str = "strict",
    prescan_max: float | None = None,
    features: str | Path | FeatureSet | None = None,
    model: Any = None,
    report_dir: str | Path | None = None,
    **lint_options: Any,
) -> CheckResult:
    """Lint `data` (pre-scan; autorate against `features` when a model is given) and check it.

    Without `features`, a model also runs the scan and merge stages to find features first.
    With `report_dir`, check the report a lint of `data` already wrote instead of linting again.
    """
    for name, value in (("max_prevalence", max_prevalence), ("prescan_max", prescan_max)):
        if value is not None and not 0 <= value <= 1:
            raise InputError(f"{name} must be between 0 and 1, not {value}")
    if level not in ("broad", "strict"):
        raise InputError(f"level must be 'broad' or 'strict', not '{level}'")
    if report_dir is not None:
        report = load_report(report_dir, data)
    elif features is not None and model is None:
        raise InputError("checking against features needs a model to rate the data (--model)")
    else:
        report = lint_dataset(data, model=model, features=features, **lint_options)
    return CheckResult(
        report,
        check_report(report, max_prevalence=max_prevalence, level=level, prescan_max=prescan_max),
    )
