"""Differences between each checkpoint and a baseline, with intervals that respect the design.

A difference is taken only between runs that were measured the same way: the same task,
parameters and task version (a variant), and the same helper models (judge, auditor, red team,
realism: model, settings and args). When helpers differ the difference is refused (or, with
`allow_mismatch`, computed and marked), and a warning names what differs.

A difference estimates the difference of the metric as displayed. A metric pooled over units
of a sample (the graded turns of a conversation, logged per sample as `measure[turn=N]`) is a
ratio of sums over samples, so the difference is taken on that ratio, not on a mean of
per-sample shares. Where both runs graded the same samples the difference is paired over the
shared samples, with a cluster bootstrap over sample ids (epochs of one sample are not
independent); an identical checkpoint therefore gives 0 with a zero-width interval. Runs with no
sample in common fall back to an unpaired bootstrap. Unscored and flagged samples never enter a
difference: n is the number of graded pairs. A metric with no per-sample values behind it (a
share of the whole set, such as trait recall) gets no difference row, and a note says so.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from traitlab.errors import InputError
from traitlab.report._collect import SCALAR, Headline, Metric, Run, SampleKey
from traitlab.statistics import Interval, ratio_difference

# A foreign task's metrics whose per-sample values are the scorer's own scalar values.
_MEAN_OF_SCALAR = {"accuracy", "mean"}


class Difference(BaseModel):
    """One headline metric of one checkpoint against the baseline (NaN when refused)."""

    task: str
    variant: str
    metric: str
    model: str
    baseline: str
    estimate: float
    low: float
    high: float
    n: int
    paired: bool
    higher_is_better: bool | None = None
    description: str = ""
    note: str = ""

    @property
    def significant(self) -> bool:
        """Whether the 95% interval of the difference excludes zero."""
        return Interval(self.estimate, self.low, self.high, self.n).excludes(0.0)

    @property
    def verdict(self) -> str:
        """`better` or `worse` for a difference that excludes zero, by the declared direction."""
        if not self.significant or self.higher_is_better is None:
            return ""
        return "better" if (self.estimate > 0) == self.higher_is_better else "worse"

    def plain_words(self) -> str:
        """The difference as a sentence, e.g. for the report's reader who skips the tables."""
        rate = is_rate(self.metric)
        scale, unit = (100.0, " points") if rate else (1.0, "")
        digits = 0 if rate else 2
        size = f"{abs(self.estimate) * scale:.{digits}f}{unit}"
        direction = "higher" if self.estimate > 0 else "lower"
        low, high = (f"{v * scale:+.{digits}f}" for v in (self.low, self.high))
        pairs = f"{self.n} paired samples" if self.paired else f"n={self.n}, unpaired"
        verdict = f": {self.verdict}" if self.verdict else ""
        return (
            f"{self.model} on {self.task}: {self.description} ({self.metric}) {size} {direction} "
            f"than {self.baseline} (95% CI {low} to {high}{unit}; {pairs}){verdict}."
        )


def is_rate(metric: str) -> bool:
    """Whether a metric is a share in [0, 1] (plotted on fixed axes, told in points)."""
    return metric.endswith("rate") or metric == "accuracy"


def resolve_baseline(runs: list[Run], name: str) -> str:
    """The model id matching `name` exactly or by its last path component."""
    models = sorted({run.model for run in runs})
    matches = [m for m in models if name in (m, m.rstrip("/").split("/")[-1])]
    if len(matches) != 1:
        raise InputError(f"baseline '{name}' matches {len(matches)} models (models: {models})")
    return matches[0]


Units = dict[SampleKey, tuple[float, float]]
"""Per sample: the sum of its graded units' values and how many there are."""


def per_sample(run: Run, metric: Metric) -> Units | None:
    """The per-sample values behind an overall metric, as (sum, count) over each sample's units.

    `key_mean` reads `key`, `key_rate` reads the 0/1 indicator `key` (counted at 0.5, as the
    `rate` metric does). Where a sample holds several units of the measure (`key[turn=3]`,
    any `key[...]`), the metric pools them, and so does this: sum and count over the units.
    A per-sample share `key_share` is the fallback for a rate. A foreign task's `accuracy` or
    `mean` reads its scorer's own values. Samples without a grade are absent.
    """
    scores = run.sample_values.get(metric.scorer, {})
    if metric.name in _MEAN_OF_SCALAR and SCALAR in scores:
        return {sample: (v, 1.0) for sample, v in scores[SCALAR].items()}
    if metric.name.endswith("_mean"):
        measure, threshold = metric.name.removesuffix("_mean"), None
    elif metric.name.endswith("_rate"):
        measure, threshold = metric.name.removesuffix("_rate"), 0.5
    else:
        return None
    units = [key for key in scores if key.startswith(f"{measure}[") and key.endswith("]")]
    if not units and measure in scores:
        units = [measure]
    if not units:
        if threshold is not None and f"{measure}_share" in scores:
            return {sample: (v, 1.0) for sample, v in scores[f"{measure}_share"].items()}
        return None
    found: Units = {}
    for key in units:
        for sample, value in scores[key].items():
            total, count = found.get(sample, (0.0, 0.0))
            value = float(value >= threshold) if threshold is not None else value
            found[sample] = (total + value, count + 1.0)
    return found


def mismatches(run: Run, base: Run) -> list[str]:
    """What differs in how two runs of one task variant were measured, in words."""
    found = []
    if run.task_version != base.task_version:
        found.append(f"task version {run.task_version} vs {base.task_version}")
    for role in sorted(run.roles.keys() | base.roles.keys()):
        mine, theirs = run.roles.get(role, "(unset)"), base.roles.get(role, "(unset)")
        if mine != theirs:
            found.append(f"role {role}: {mine} vs {theirs}")
    return found


def sample_set_note(run: Run, base: Run) -> str:
    """A warning when two runs scored different samples (empty when they scored the same)."""
    mine, theirs = set(run.scored_samples), set(base.scored_samples)
    if mine == theirs:
        return ""
    shared = len(mine & theirs)
    where = f"over the {shared} shared" if shared else "unpaired, with no sample in common"
    return (
        f"different samples: {run.model} graded {len(mine)}, the baseline {len(theirs)}; "
        f"the difference is {where}"
    )


def difference(run_values: Units, base_values: Units) -> tuple[Interval, bool]:
    """Paired over shared samples (clustered by sample id), else an unpaired bootstrap."""
    shared = sorted(run_values.keys() & base_values.keys())
    if shared:
        interval = ratio_difference(
            [run_values[key] for key in shared],
            [base_values[key] for key in shared],
            clusters=[sample_id for sample_id, _ in shared],
        )
        return interval, True
    return ratio_difference(list(run_values.values()), list(base_values.values())), False


def differences(
    runs: list[Run], baseline: str, *, allow_mismatch: bool = False
) -> tuple[list[Difference], list[str]]:
    """Every headline metric of every run against the baseline run of the same task variant.

    Returns the differences and warnings (helpers or samples that differ). A refused
    difference is kept as a row with NaN numbers and its reason, so it cannot go unnoticed.
    """
    found: list[Difference] = []
    warnings: list[str] = []
    for base in (r for r in runs if r.model == baseline):
        for run in runs:
            if run.model == baseline or (run.task, run.variant) != (base.task, base.variant):
                continue
            differ = mismatches(run, base)
            refused = bool(differ) and not allow_mismatch
            notes = []
            if differ:
                action = "compared anyway (--allow-mismatch)" if allow_mismatch else "not compared"
                notes.append(f"measured differently ({'; '.join(differ)}): {action}")
            if samples := sample_set_note(run, base):
                notes.append(samples)
            note = "; ".join(notes)
            if note:
                warnings.append(f"{run.task} {run.model} vs baseline {baseline}: {note}")
            for headline, base_metric in base.headline_metrics():
                if per_sample(base, base_metric) is None:
                    warnings.append(
                        f"{run.task} {base_metric.name}: a share of the whole sample set with no "
                        "per-sample values; no paired difference (compare the intervals)"
                    )
                    continue
                found.append(_one(run, base, headline, base_metric, refused, note))
    return found, warnings


def _one(
    run: Run, base: Run, headline: Headline, base_metric: Metric, refused: bool, note: str
) -> Difference:
    other = run.metric(base_metric.name)
    base_values = per_sample(base, base_metric)
    run_values = per_sample(run, other) if other is not None else None
    interval = Interval(math.nan, math.nan, math.nan, 0)
    paired = False
    if refused:
        pass  # the note says why; the numbers stay NaN
    elif base_values is None or run_values is None:
        note = "; ".join(filter(None, [note, "no per-sample values behind this metric"]))
    else:
        interval, paired = difference(run_values, base_values)
    return Difference(
        task=run.task,
        variant=run.variant,
        metric=base_metric.name,
        model=run.model,
        baseline=base.model,
        estimate=interval.estimate,
        low=interval.low,
        high=interval.high,
        n=interval.n,
        paired=paired,
        higher_is_better=headline.higher_is_better,
        description=headline.description,
        note=note,
    )
