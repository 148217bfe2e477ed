"""Differences between each checkpoint and a baseline, with bootstrap intervals."""

from __future__ import annotations

from pydantic import BaseModel

from traitlab.errors import InputError
from traitlab.report._collect import Metric, Run
from traitlab.statistics import Interval, bootstrap_difference


class Difference(BaseModel):
    task: str
    variant: str
    metric: str
    model: str
    baseline: str
    estimate: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """Whether the 95% interval of the difference excludes zero."""
        return Interval(self.estimate, self.low, self.high, self.n).excludes(0.0)


def resolve_baseline(runs: list[Run], name: str) -> str:
    """The model id matching `name` exactly or by its last path component."""
    models = sorted({run.model for run in runs})
    matches = [m for m in models if name in (m, m.rstrip("/").split("/")[-1])]
    if len(matches) != 1:
        raise InputError(f"baseline '{name}' matches {len(matches)} models (models: {models})")
    return matches[0]


def per_sample(run: Run, metric: Metric) -> list[float] | None:
    """The per-sample values behind an overall metric, if the scores carry them.

    `key_mean` reads `key`. `key_rate` reads the 0/1 indicator `key` (counted at 0.5, as the
    `rate` metric does), or else a per-sample share `key_share` (for rates pooled over several
    units of one sample, such as the turns of a conversation), whose mean is the rate.
    """
    scores = run.sample_values.get(metric.scorer, {})
    if metric.name.endswith("_mean"):
        return scores.get(metric.name.removesuffix("_mean"))
    if metric.name.endswith("_rate"):
        key = metric.name.removesuffix("_rate")
        if key in scores:
            return [float(v >= 0.5) for v in scores[key]]
        return scores.get(f"{key}_share")
    return None


def differences(runs: list[Run], baseline: str) -> list[Difference]:
    """Every overall metric of every run against the baseline run of the same task variant."""
    found = []
    for base in (r for r in runs if r.model == baseline):
        for run in runs:
            if run.model == baseline or (run.task, run.variant) != (base.task, base.variant):
                continue
            for metric in base.metrics:
                if metric.group is not None:
                    continue
                other = run.metric(metric.name)
                base_values = per_sample(base, metric)
                run_values = per_sample(run, other) if other is not None else None
                if base_values is None or run_values is None:
                    continue
                interval = bootstrap_difference(run_values, base_values)
                found.append(
                    Difference(
                        task=run.task,
                        variant=run.variant,
                        metric=metric.name,
                        model=run.model,
                        baseline=baseline,
                        estimate=interval.estimate,
                        low=interval.low,
                        high=interval.high,
                        n=interval.n,
                    )
                )
    return found
