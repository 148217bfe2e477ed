"""Read Inspect logs into runs: one (task, parameters, model) result with its metrics.

A run's numbers are the metrics that follow traitlab's interval convention (`name`,
`name_ci_low`, `name_ci_high`, `name_n`; `name(group)` per group, as `traitlab.scores.metric_name`
writes them). Logs are grouped by task, task parameters (including the traits document) and
model; logs that differ in any task parameter are never pooled. A log that did not finish is
kept and reported as incomplete.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log
from pydantic import BaseModel, Field

from traitlab.errors import InputError
from traitlab.scores import FLAGGED, INTERVAL_SUFFIXES, UNSCORED, metric_name, split_metric_name
from traitlab.statistics import Interval


class Metric(BaseModel):
    """One reported number with its interval; `group` is the per-group suffix, if any."""

    scorer: str
    name: str
    group: str | None = None
    estimate: float
    low: float = math.nan
    high: float = math.nan
    n: int = 0

    @property
    def interval(self) -> Interval:
        return Interval(self.estimate, self.low, self.high, self.n)

    @property
    def label(self) -> str:
        return metric_name(self.name, self.group)


class Run(BaseModel):
    """The result of one task with one set of parameters on one model (checkpoint)."""

    task: str
    variant: str = Field(description="Short hash of the task parameters, for keeping runs apart.")
    task_args: dict[str, Any]
    model: str
    log: str
    status: str
    created: str
    completed_samples: int
    total_samples: int
    metrics: list[Metric] = Field(default_factory=list)
    counts: dict[str, float] = Field(default_factory=dict, description="unscored and flagged")
    sample_values: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict, description="scorer -> score key -> per-sample values"
    )

    @property
    def complete(self) -> bool:
        return self.status == "success"

    def headline(self) -> list[Metric]:
        """Overall (ungrouped) metrics of the first scorer that has any, in log order."""
        overall = [m for m in self.metrics if m.group is None]
        if not overall:
            return []
        first = overall[0].scorer
        return [m for m in overall if m.scorer == first]

    def metric(self, name: str, group: str | None = None) -> Metric | None:
        for metric in self.metrics:
            if metric.name == name and metric.group == group:
                return metric
        return None


def find_logs(paths: Iterable[str | Path]) -> list[Path]:
    """Every Inspect log under the given directories, or the given files themselves."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                Path(info.name.removeprefix("file://")) for info in list_eval_logs(str(path))
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputError("no such log file or directory", path=path)
    if not found:
        raise InputError(f"no Inspect logs found in {', '.join(str(p) for p in paths)}")
    return sorted(set(found))


def variant_of(task_args: dict[str, Any]) -> str:
    """A short stable hash of the task parameters (traits document, ids, settings)."""
    canonical = json.dumps(task_args, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def read_run(path: Path) -> Run:
    """Read one log into a Run (failed and interrupted logs included)."""
    try:
        log = read_eval_log(str(path))
    except Exception as ex:  # a torn or foreign file: report it as unreadable
        raise InputError(f"unreadable Inspect log ({type(ex).__name__}: {ex})", path=path) from None
    task = log.eval.task.split("/")[-1]
    task_args = dict(log.eval.task_args or {})
    total = log.eval.dataset.samples or 0
    total *= log.eval.config.epochs or 1
    completed = len([s for s in (log.samples or []) if s.scores])
    run = Run(
        task=task,
        variant=variant_of(task_args),
        task_args=task_args,
        model=log.eval.model,
        log=str(path),
        status=log.status,
        created=str(log.eval.created),
        completed_samples=completed,
        total_samples=total,
    )
    if log.results is not None:
        for score in log.results.scores:
            run.metrics.extend(_interval_metrics(score.name, score.metrics))
            for key in (UNSCORED, FLAGGED):
                if key in score.metrics:
                    run.counts[key] = run.counts.get(key, 0) + score.metrics[key].value
    run.sample_values = _sample_values(log)
    return run


def _interval_metrics(scorer: str, metrics: dict[str, Any]) -> list[Metric]:
    values = {name: metric.value for name, metric in metrics.items()}
    found = []
    for name, value in values.items():
        base, group = split_metric_name(name)
        if base.endswith(INTERVAL_SUFFIXES):
            continue
        low = values.get(metric_name(f"{base}_ci_low", group))
        high = values.get(metric_name(f"{base}_ci_high", group))
        if low is None or high is None:
            continue
        n = values.get(metric_name(f"{base}_n", group), 0)
        found.append(
            Metric(
                scorer=scorer,
                name=base,
                group=group,
                estimate=value,
                low=low,
                high=high,
                n=int(n) if not math.isnan(n) else 0,
            )
        )
    return found


def _sample_values(log: EvalLog) -> dict[str, dict[str, list[float]]]:
    values: dict[str, dict[str, list[float]]] = {}
    for sample in log.samples or []:
        for scorer, score in (sample.scores or {}).items():
            if not isinstance(score.value, dict):
                continue
            for key, value in score.value.items():
                if isinstance(value, bool | int | float) and key not in (UNSCORED, FLAGGED):
                    values.setdefault(scorer, {}).setdefault(key, []).append(float(value))
    return values


def collect(paths: Iterable[str | Path]) -> tuple[list[Run], list[str]]:
    """Runs from every log, keeping the newest complete log per (task, variant, model).

    Returns the runs and a list of notes for the reader: unreadable, incomplete and superseded
    logs, and tasks that appear with more than one set of parameters.
    """
    notes: list[str] = []
    runs: list[Run] = []
    for path in find_logs(paths):
        try:
            runs.append(read_run(path))
        except InputError as ex:
            notes.append(str(ex))
    chosen: dict[tuple[str, str, str], Run] = {}
    for run in sorted(runs, key=lambda r: (r.complete, r.created)):
        key = (run.task, run.variant, run.model)
        if not run.complete:
            notes.append(
                f"{run.log}: incomplete log ({run.status}, {run.completed_samples}/"
                f"{run.total_samples} samples) for {run.task} on {run.model}"
            )
        if key in chosen:
            older = chosen[key]
            if run.complete or not older.complete:
                notes.append(f"{older.log}: superseded by {run.log}")
            else:
                continue
        chosen[key] = run
    variants: dict[str, set[str]] = {}
    for run in chosen.values():
        variants.setdefault(run.task, set()).add(run.variant)
    for task, kinds in sorted(variants.items()):
        if len(kinds) > 1:
            notes.append(
                f"{task}: {len(kinds)} different parameter sets (kept apart, not pooled): "
                + "; ".join(
                    f"{v} = {json.dumps(_args_for(chosen.values(), task, v), default=str)}"
                    for v in sorted(kinds)
                )
            )
    ordered = sorted(chosen.values(), key=lambda r: (r.task, r.variant, r.model))
    return ordered, notes


def _args_for(runs: Iterable[Run], task: str, variant: str) -> dict[str, Any]:
    return next(r.task_args for r in runs if r.task == task and r.variant == variant)
