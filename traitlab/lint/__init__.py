"""Data lint: statistical pre-scan, scan -> cluster -> autorate, report, filter, CI gate.

Synthetic SFT data hides structural patterns that look fine one example at a time but are
massively over-represented across the set (every reply opens by validating the user's feelings);
a model trained on it learns "always do this". `lint_dataset` finds them before training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traitlab.lazy import lazy_exports

if TYPE_CHECKING:
    from traitlab.lint.autorate import Ratings, autorate_items, rate_item, rating_prompt
    from traitlab.lint.check import CheckResult, Violation, check_dataset, check_report
    from traitlab.lint.discover import DiscoverConfig, discover_features
    from traitlab.lint.features import (
        Feature,
        FeatureSet,
        Provenance,
        load_features,
        rubric_feature,
    )
    from traitlab.lint.filter import FilterResult, filter_dataset, load_report
    from traitlab.lint.items import ItemSet, LintItem, read_items
    from traitlab.lint.options import CheckOptions, LintOptions
    from traitlab.lint.pipeline import alint_dataset, lint_dataset
    from traitlab.lint.prescan import PrescanConfig, prescan_items
    from traitlab.lint.probe import ProbeResult, train_probes
    from traitlab.lint.report import print_summary, write_report
    from traitlab.lint.results import (
        FeatureResult,
        Finding,
        ItemLabels,
        LintReport,
        ProbeAgreement,
        Rate,
    )

# The lint loads Inspect, numpy, scikit-learn and rich: imported on first use, so that
# `traitlab lint --help` (which imports traitlab.lint.cli, hence this package) is instant.
__getattr__ = lazy_exports(
    __name__,
    {
        "Ratings": "traitlab.lint.autorate",
        "autorate_items": "traitlab.lint.autorate",
        "rate_item": "traitlab.lint.autorate",
        "rating_prompt": "traitlab.lint.autorate",
        "CheckResult": "traitlab.lint.check",
        "Violation": "traitlab.lint.check",
        "check_dataset": "traitlab.lint.check",
        "check_report": "traitlab.lint.check",
        "DiscoverConfig": "traitlab.lint.discover",
        "discover_features": "traitlab.lint.discover",
        "Feature": "traitlab.lint.features",
        "FeatureSet": "traitlab.lint.features",
        "Provenance": "traitlab.lint.features",
        "load_features": "traitlab.lint.features",
        "rubric_feature": "traitlab.lint.features",
        "FilterResult": "traitlab.lint.filter",
        "filter_dataset": "traitlab.lint.filter",
        "load_report": "traitlab.lint.filter",
        "ItemSet": "traitlab.lint.items",
        "LintItem": "traitlab.lint.items",
        "read_items": "traitlab.lint.items",
        "alint_dataset": "traitlab.lint.pipeline",
        "lint_dataset": "traitlab.lint.pipeline",
        "PrescanConfig": "traitlab.lint.prescan",
        "prescan_items": "traitlab.lint.prescan",
        "CheckOptions": "traitlab.lint.options",
        "LintOptions": "traitlab.lint.options",
        "ProbeResult": "traitlab.lint.probe",
        "train_probes": "traitlab.lint.probe",
        "print_summary": "traitlab.lint.report",
        "write_report": "traitlab.lint.report",
        "FeatureResult": "traitlab.lint.results",
        "Finding": "traitlab.lint.results",
        "ItemLabels": "traitlab.lint.results",
        "LintReport": "traitlab.lint.results",
        "ProbeAgreement": "traitlab.lint.results",
        "Rate": "traitlab.lint.results",
    },
)


__all__ = [
    "CheckOptions",
    "CheckResult",
    "DiscoverConfig",
    "Feature",
    "FeatureResult",
    "FeatureSet",
    "FilterResult",
    "Finding",
    "ItemLabels",
    "ItemSet",
    "LintItem",
    "LintOptions",
    "LintReport",
    "PrescanConfig",
    "ProbeAgreement",
    "ProbeResult",
    "Provenance",
    "Rate",
    "Ratings",
    "Violation",
    "alint_dataset",
    "autorate_items",
    "check_dataset",
    "check_report",
    "discover_features",
    "filter_dataset",
    "lint_dataset",
    "load_features",
    "load_report",
    "prescan_items",
    "print_summary",
    "rate_item",
    "rating_prompt",
    "read_items",
    "rubric_feature",
    "train_probes",
    "write_report",
]
