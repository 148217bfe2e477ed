"""Read Inspect logs into runs: one (task, parameters, model) result with its metrics.

A run's numbers are the metrics that follow traitlab's interval convention (`name`,
`name_ci_low`, `name_ci_high`, `name_n`; `name(group)` per group, as `traitlab.scores.metric_name`
writes them), and every other metric its scorers logged (`unscored`, or a foreign task's
`accuracy` and `stderr`). Its headline is what the task declared in its metadata
(`traitlab.scores.headline_metrics`); a task that declares none (any Inspect task, e.g. from
inspect_evals) is headlined by the metric Inspect itself takes as its headline, with a normal
interval from its `stderr` when it logs one.

Logs are grouped by task, task parameters (including the traits document) and model; logs that
differ in any task parameter are never pooled. Of several logs of one group the one with the
most *graded* samples is used (a sample counts when a judge graded it: unscored and flagged
samples do not), so neither a partial rerun (`--limit 3`) nor a rerun whose judge failed on
half the samples supersedes a fuller run; among equals a complete log beats an interrupted
one, then the newest wins. Every log not used is named in the notes with the reason.

A metric's worst-case bounds (`name_worst_low`, `name_worst_high`: every unscored sample counted
as negative and as positive, `traitlab.scores`) travel with it. The unscored and flagged counts
are counted per sample (a sample two scorers could not grade is one unscored sample).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from inspect_ai.log import (
    EvalLog,
    EvalMetric,
    EvalScore,
    headline_metric,
    list_eval_logs,
    read_eval_log,
)
from inspect_ai.scorer import SampleScore, value_to_float
from inspect_ai.util import registry_create
from pydantic import BaseModel, Field

from traitlab.errors import InputError
from traitlab.judging import JUDGE_CHECK_KEY, JudgeCheckOf
from traitlab.scores import (
    BOUND_SUFFIXES,
    FLAGGED,
    INTERVAL_SUFFIXES,
    UNSCORED,
    UNSCORED_NOTE_SHARE,
    declared_headline,
    metric_name,
    split_metric_name,
)
from traitlab.statistics import Z_95, Interval

SampleKey = tuple[str, int]
"""A sample of a run: its id and its epoch."""

SCALAR = ""
"""The key under which a scorer that returns a single value (not a dict) is recorded."""


class Metric(BaseModel):
    """One reported number with its interval; `group` is the per-group label, if any."""

    scorer: str
    name: str
    group: str | None = None
    estimate: float
    low: float = math.nan
    high: float = math.nan
    n: int = 0
    worst_low: float = math.nan
    worst_high: float = math.nan

    @property
    def interval(self) -> Interval:
        return Interval(self.estimate, self.low, self.high, self.n)

    @property
    def label(self) -> str:
        return metric_name(self.name, self.group)


class Headline(BaseModel):
    """One of a run's headline numbers and what it means.

    Declared by the task (`declared`), or, for a task that declares none, Inspect's own headline
    metric, whose direction and meaning the report cannot know (`higher_is_better` None).
    """

    metric: str
    higher_is_better: bool | None = None
    description: str
    measures: Literal["behaviour", "knowledge", "capability"] | None = None
    by: str | None = None
    declared: bool = True


class Run(BaseModel):
    """The result of one task with one set of parameters on one model (checkpoint)."""

    task: str
    variant: str = Field(description="Short hash of the task parameters, for keeping runs apart.")
    task_args: dict[str, Any]
    task_version: str
    model: str
    roles: dict[str, str] = Field(
        default_factory=dict, description="Helper model roles: role -> model, settings, args."
    )
    log: str
    status: str
    created: str
    planned_samples: int = Field(description="Samples (times epochs) the task's dataset holds.")
    scored_samples: list[SampleKey] = Field(
        default_factory=list,
        description="Samples (id, epoch) graded by every scorer (none unscored or flagged).",
    )
    metrics: list[Metric] = Field(default_factory=list)
    headline: list[Headline] = Field(default_factory=list)
    counts: dict[str, float] = Field(
        default_factory=dict, description="unscored and flagged samples, each counted once"
    )
    judge_check: JudgeCheckOf | None = Field(
        default=None, description="For a judge_check log: which eval's judge it measured."
    )
    sample_values: dict[str, dict[str, dict[SampleKey, float]]] = Field(
        default_factory=dict,
        description="scorer -> score key -> sample -> value; unscored and flagged samples left out",
    )

    @property
    def complete(self) -> bool:
        return self.status == "success"

    @property
    def samples_label(self) -> str:
        return f"{len(self.scored_samples)}/{self.planned_samples}"

    def metric(self, name: str, group: str | None = None) -> Metric | None:
        for metric in self.metrics:
            if metric.name == name and metric.group == group:
                return metric
        return None

    def headline_metrics(self) -> list[tuple[Headline, Metric]]:
        """Each headline with its overall number (headlines the log lacks are left out)."""
        found = []
        for headline in self.headline:
            metric = self.metric(headline.metric)
            if metric is not None:
                found.append((headline, metric))
        return found

    def groups(self, headline: Headline) -> list[Metric]:
        """The per-group numbers of `headline` for its declared `by` field, in log order."""
        if headline.by is None:
            return []
        prefix = f"{headline.by}="
        return [
            m
            for m in self.metrics
            if m.name == headline.metric and m.group is not None and m.group.startswith(prefix)
        ]


def default_log_dir() -> Path:
    """Where Inspect writes logs when told nothing: `INSPECT_LOG_DIR`, else `./logs`."""
    return Path(os.environ.get("INSPECT_LOG_DIR") or "logs")


def find_logs(paths: Iterable[str | Path]) -> list[Path]:
    """Every Inspect log under the given directories, or the given files themselves."""
    found: list[Path] = []
    paths = list(paths)
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
    except Exception as ex:  # a torn, empty or foreign file: report it as unreadable
        raise InputError(f"unreadable Inspect log ({type(ex).__name__}: {ex})", path=path) from None
    task_args = dict(log.eval.task_args or {})
    run = Run(
        task=log.eval.task.split("/")[-1],
        variant=variant_of(task_args),
        task_args=task_args,
        task_version=str(log.eval.task_version),
        model=log.eval.model,
        roles=_roles(log),
        log=str(path),
        status=log.status,
        created=str(log.eval.created),
        planned_samples=(log.eval.dataset.samples or 0) * (log.eval.config.epochs or 1),
    )
    checked = (log.eval.metadata or {}).get(JUDGE_CHECK_KEY)
    run.judge_check = JudgeCheckOf.model_validate(checked) if checked else None
    run.sample_values, run.scored_samples, run.counts = _sample_values(log)
    if log.results is not None:
        for score in log.results.scores:
            run.metrics.extend(_metrics(score))
    run.headline = _headline(log, run)
    run.metrics.extend(_breakdowns(log, run))
    return run


def _breakdowns(log: EvalLog, run: Run) -> list[Metric]:
    """The per-group numbers of each declared headline with a `by`, from the samples, for a log
    that does not carry them (by default a task logs only its headline: `headline_view`).

    The logged metric that gives the headline is run again over the log's samples with `by`
    added to its options, so the groups are computed exactly as the task's own metric would.
    """
    wanted = [h for h in run.headline if h.by is not None and not run.groups(h)]
    found: list[Metric] = []
    if not wanted:
        return found
    for scorer in log.eval.scorers or []:
        definitions = scorer.metrics if isinstance(scorer.metrics, list) else []
        scores = [
            SampleScore(
                score=sample.scores[scorer.name],
                sample_id=sample.id,
                sample_metadata=sample.metadata,
            )
            for sample in log.samples or []
            if sample.scores and scorer.name in sample.scores
        ]
        for definition in definitions:
            for headline in wanted:
                if isinstance(definition, dict) or not scores:
                    continue
                options = {**(definition.options or {}), "by": headline.by}
                try:
                    entries = registry_create("metric", definition.name, **options)(scores)
                except TypeError:  # a metric without a `by` option
                    continue
                if not isinstance(entries, dict) or headline.metric not in entries:
                    continue
                logged = {k: EvalMetric(name=k, value=float(v)) for k, v in entries.items()}
                score = EvalScore(name=scorer.name, scorer=scorer.name, metrics=logged)
                found.extend(
                    m for m in _metrics(score) if m.name == headline.metric and m.group is not None
                )
    return found


def _roles(log: EvalLog) -> dict[str, str]:
    """Each helper role's model with everything that changes its answers, as one string.

    Base URL and generate settings count (a scripted model's script is in its base URL; a
    judge at another temperature is another judge), as do the model's own args.
    """
    roles: dict[str, str] = {}
    for role, configs in (log.eval.model_roles or {}).items():
        parts = []
        for config in configs if isinstance(configs, list) else [configs]:
            settings = {
                "base_url": config.base_url,
                "config": config.config.model_dump(exclude_none=True),
                "args": config.args,
            }
            settings = {k: v for k, v in settings.items() if v}
            extra = f" {json.dumps(settings, sort_keys=True, default=str)}" if settings else ""
            parts.append(f"{config.model}{extra}")
        roles[role] = " + ".join(parts)
    return roles


def _metrics(score: EvalScore) -> list[Metric]:
    """Every metric of one scorer: interval metrics with their interval, the rest bare."""
    values = {name: metric.value for name, metric in score.metrics.items()}
    found = []
    for name, value in values.items():
        base, group = split_metric_name(name)
        low = values.get(metric_name(f"{base}_ci_low", group))
        high = values.get(metric_name(f"{base}_ci_high", group))
        if base.endswith(INTERVAL_SUFFIXES + BOUND_SUFFIXES) and _has_interval(values, base):
            continue  # part of another entry's interval or bounds
        n = values.get(metric_name(f"{base}_n", group))
        worst = [values.get(metric_name(base + suffix, group)) for suffix in BOUND_SUFFIXES]
        found.append(
            Metric(
                scorer=score.name,
                name=base,
                group=group,
                estimate=value,
                low=math.nan if low is None else low,
                high=math.nan if high is None else high,
                n=int(n) if n is not None and not math.isnan(n) else score.scored_samples or 0,
                worst_low=math.nan if worst[0] is None else worst[0],
                worst_high=math.nan if worst[1] is None else worst[1],
            )
        )
    return found


def _has_interval(values: dict[str, float], entry: str) -> bool:
    """Whether `entry` (e.g. `x_ci_low`) is one of the interval or bound entries of a metric `x`."""
    for suffix in INTERVAL_SUFFIXES + BOUND_SUFFIXES:
        if entry.endswith(suffix):
            stem = entry.removesuffix(suffix)
            if any(split_metric_name(name)[0] == stem for name in values):
                return True
    return False


def _headline(log: EvalLog, run: Run) -> list[Headline]:
    """The task's declared headline, or Inspect's own headline metric for a foreign task."""
    declared = declared_headline(log.eval.metadata)
    if declared is not None:
        return [Headline(**spec.model_dump(), declared=True) for spec in declared]
    resolved = headline_metric(log)
    if resolved is None:
        return []
    name = resolved.name
    metric = run.metric(name)
    stderr = resolved.score.metrics.get("stderr")
    if metric is not None and math.isnan(metric.low) and stderr is not None:
        # Inspect's convention is a metric with its standard error: a normal 95% interval.
        metric.low = metric.estimate - Z_95 * stderr.value
        metric.high = metric.estimate + Z_95 * stderr.value
    return [
        Headline(
            metric=name,
            description=f"{name} of scorer {resolved.score.name}",
            declared=False,
        )
    ]


def _sample_values(
    log: EvalLog,
) -> tuple[dict[str, dict[str, dict[SampleKey, float]]], list[SampleKey], dict[str, float]]:
    """Per-sample values of every scorer, the graded samples, and the unscored/flagged counts.

    A sample whose score says it is unscored or flagged has no value: a difference between
    checkpoints is taken over graded samples only, never with a missing grade counted as 0.
    Each sample (id, epoch) counts once as unscored or flagged, however many scorers say so, and
    counts as graded only when no scorer says so.
    """
    values: dict[str, dict[str, dict[SampleKey, float]]] = {}
    graded: set[SampleKey] = set()
    missing: dict[str, set[SampleKey]] = {UNSCORED: set(), FLAGGED: set()}
    for sample in log.samples or []:
        if not sample.scores:
            continue
        key = (str(sample.id), sample.epoch)
        for scorer, score in sample.scores.items():
            found: dict[str, float] = {}
            if isinstance(score.value, dict):
                status = [s for s in (UNSCORED, FLAGGED) if score.value.get(s)]
                for name in status:
                    missing[name].add(key)
                if status:
                    continue
                found = {
                    k: float(v)
                    for k, v in score.value.items()
                    if isinstance(v, bool | int | float) and k not in (UNSCORED, FLAGGED)
                }
            elif isinstance(score.value, str | bool | int | float):
                found = {SCALAR: value_to_float()(score.value)}
            found = {name: value for name, value in found.items() if not math.isnan(value)}
            if found:
                graded.add(key)
            for name, value in found.items():
                values.setdefault(scorer, {}).setdefault(name, {})[key] = value
    counts = {name: float(len(keys)) for name, keys in missing.items()}
    return values, sorted(graded - missing[UNSCORED] - missing[FLAGGED]), counts


def collect(paths: Iterable[str | Path]) -> tuple[list[Run], list[str]]:
    """Runs from every log, keeping the fullest, then newest, log per (task, variant, model).

    Returns the runs and notes for the reader: unreadable, incomplete and unused logs, and tasks
    that appear with more than one set of parameters. Raises `InputError` when no log can be
    read or none holds a metric: there is nothing to compare.
    """
    notes: list[str] = []
    runs: list[Run] = []
    logs = find_logs(paths)
    for path in logs:
        try:
            runs.append(read_run(path))
        except InputError as ex:
            notes.append(str(ex))
    if not runs:
        raise InputError(f"none of the {len(logs)} Inspect logs could be read; first: {notes[0]}")
    if not any(run.metrics for run in runs):
        raise InputError(
            f"none of the {len(runs)} readable Inspect logs holds any scored metric "
            f"(first: {runs[0].log}, {runs[0].status})"
        )
    chosen: dict[tuple[str, str, str], Run] = {}
    ranked = sorted(runs, key=lambda r: (len(r.scored_samples), r.complete, r.created))
    for run in ranked:
        if not run.complete:
            notes.append(
                f"{run.log}: incomplete log ({run.status}, {run.samples_label} samples) "
                f"for {run.task} on {run.model}"
            )
        key = (run.task, run.variant, run.model)
        if key in chosen:
            notes.append(_superseded(chosen[key], run))
        chosen[key] = run
    for run in chosen.values():
        unscored = run.counts.get(UNSCORED, 0.0)
        if run.planned_samples and unscored / run.planned_samples > UNSCORED_NOTE_SHARE:
            notes.append(
                f"{run.log}: {unscored:.0f} of {run.planned_samples} samples unscored for "
                f"{run.task} on {run.model}: the estimates over graded samples may be biased "
                "(a judge fails most on the hardest cases); read the worst-case bounds"
            )
        for headline, _ in run.headline_metrics():
            if headline.by and not run.groups(headline):
                notes.append(
                    f"{run.log}: {run.task} declares {headline.metric} by {headline.by}, "
                    "but the log has no such breakdown"
                )
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


def _superseded(older: Run, newer: Run) -> str:
    """Why `older` is not used: `newer` graded as many samples or more (then: complete, newer)."""
    note = (
        f"{older.log}: not used; {newer.log} graded {newer.samples_label} samples "
        f"(this log {older.samples_label})"
    )
    if older.roles != newer.roles:
        note += "; the two logs used different helper models"
    return note


def _args_for(runs: Iterable[Run], task: str, variant: str) -> dict[str, Any]:
    return next(r.task_args for r in runs if r.task == task and r.variant == variant)
