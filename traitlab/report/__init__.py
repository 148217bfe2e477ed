"""`traitlab report`: compare checkpoints across evals from Inspect logs.

Each eval's headline comes from its task's own declaration (`traitlab.scores.headline_metrics`,
in the log's task metadata), or, for a task that declares none, from Inspect's headline metric;
the report holds no task names, so a new eval folder appears in it with no edit here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traitlab.lazy import lazy_exports

if TYPE_CHECKING:
    from traitlab.report._build import Report, build_report
    from traitlab.report._collect import Headline, Metric, Run, collect, default_log_dir, read_run
    from traitlab.report._compare import Difference, differences, resolve_baseline
    from traitlab.report._plots import model_label

# Reading logs loads Inspect, pandas and matplotlib: imported on first use, so that
# `traitlab report --help` is instant.
__getattr__ = lazy_exports(
    __name__,
    {
        "Difference": "traitlab.report._compare",
        "differences": "traitlab.report._compare",
        "resolve_baseline": "traitlab.report._compare",
        "Headline": "traitlab.report._collect",
        "Metric": "traitlab.report._collect",
        "Run": "traitlab.report._collect",
        "collect": "traitlab.report._collect",
        "default_log_dir": "traitlab.report._collect",
        "read_run": "traitlab.report._collect",
        "Report": "traitlab.report._build",
        "build_report": "traitlab.report._build",
        "model_label": "traitlab.report._plots",
    },
)

__all__ = [
    "Difference",
    "Headline",
    "Metric",
    "Report",
    "Run",
    "build_report",
    "collect",
    "default_log_dir",
    "differences",
    "model_label",
    "read_run",
    "resolve_baseline",
]
