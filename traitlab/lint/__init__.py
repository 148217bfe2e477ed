"""Data lint: statistical pre-scan, scan -> cluster -> autorate, report, filter, CI gate.

Synthetic SFT data hides structural patterns that look fine one example at a time but are
massively over-represented across the set (every reply opens by validating the user's feelings);
a model trained on it learns "always do this". `lint_dataset` finds them before training.
"""

from traitlab.lint.autorate import Ratings, autorate, rate_item, rating_prompt
from traitlab.lint.check import CheckResult, Violation, check_dataset, check_report
from traitlab.lint.discover import DiscoverConfig, discover_features
from traitlab.lint.features import Feature, FeatureSet, Provenance, load_features, rubric_feature
from traitlab.lint.filter import FilterResult, filter_dataset, load_report
from traitlab.lint.items import ItemSet, LintItem, read_items
from traitlab.lint.pipeline import alint_dataset, lint_dataset
from traitlab.lint.prescan import PrescanConfig, prescan
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

__all__ = [
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
    "LintReport",
    "PrescanConfig",
    "ProbeAgreement",
    "ProbeResult",
    "Provenance",
    "Rate",
    "Ratings",
    "Violation",
    "alint_dataset",
    "autorate",
    "check_dataset",
    "check_report",
    "discover_features",
    "filter_dataset",
    "lint_dataset",
    "load_features",
    "load_report",
    "prescan",
    "print_summary",
    "rate_item",
    "rating_prompt",
    "read_items",
    "rubric_feature",
    "train_probes",
    "write_report",
]
