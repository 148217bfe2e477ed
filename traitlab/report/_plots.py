"""Plots for the report (matplotlib, Agg backend, PNG), all driven by the runs' headlines.

No plot knows a task by name: what an eval's headline is, what it measures (knowledge against
behaviour) and how it is broken down (`by`) come from the task's own declaration.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from traitlab.report._collect import Headline, Metric, Run  # noqa: E402
from traitlab.report._compare import is_rate  # noqa: E402

BASELINE_COLOUR = "#c0392b"
COLOUR = "#2c6fbb"


def model_label(model: str, baseline: str | None = None) -> str:
    """A checkpoint's short name, marked when it is the baseline."""
    label = model.rstrip("/").split("/")[-1]
    return f"{label} (baseline)" if model == baseline else label


def _axis(ax: plt.Axes, metric: str, vertical: bool = True) -> None:
    """Fixed [0, 1] axes for rates, so two plots of one rate can be compared by eye."""
    if is_rate(metric):
        (ax.set_ylim if vertical else ax.set_xlim)(-0.02, 1.02)
    ax.grid(axis="y" if vertical else "x", alpha=0.3)


def _errorbars(ax: plt.Axes, labels: list[str], metrics: list[Metric], colours: list[str]) -> None:
    for i, (metric, colour) in enumerate(zip(metrics, colours, strict=True)):
        lower = metric.estimate - metric.low if not math.isnan(metric.low) else 0
        upper = metric.high - metric.estimate if not math.isnan(metric.high) else 0
        ax.errorbar([i], [metric.estimate], yerr=[[lower], [upper]], fmt="o", capsize=4, c=colour)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def task_plot(title: str, runs: list[Run], path: Path, baseline: str | None) -> Path | None:
    """Each headline metric of one task variant per checkpoint, with 95% intervals."""
    headlines = [h for h, _ in runs[0].headline_metrics()][:6] if runs else []
    if not headlines:
        return None
    fig, axes = plt.subplots(
        1, len(headlines), figsize=(3.2 * len(headlines) + 1, 3.6), squeeze=False
    )
    for ax, headline in zip(axes[0], headlines, strict=True):
        rows = [(r.model, r.metric(headline.metric)) for r in runs]
        found = [(model, m) for model, m in rows if m is not None]
        _errorbars(
            ax,
            [model_label(model, baseline) for model, _ in found],
            [m for _, m in found],
            [BASELINE_COLOUR if model == baseline else COLOUR for model, _ in found],
        )
        _axis(ax, headline.metric)
        ax.set_title(f"{headline.metric}\n{_direction(headline)}", fontsize=9)
    fig.suptitle(title)
    return _save(fig, path)


def _direction(headline: Headline) -> str:
    if headline.higher_is_better is None:
        return "(direction not declared)"
    return "(higher is better)" if headline.higher_is_better else "(lower is better)"


def by_group(title: str, runs: list[Run], path: Path, baseline: str | None) -> Path | None:
    """The first headline with a declared `by`, per group, one series per checkpoint.

    Groups whose values are all whole numbers (turns, rounds) are drawn as a line over them.
    """
    headline = next((h for h, _ in runs[0].headline_metrics() if h.by), None) if runs else None
    if headline is None:
        return None
    series = [(run.model, run.groups(headline)) for run in runs]
    series = [(model, groups) for model, groups in series if groups]
    if not series:
        return None
    prefix = f"{headline.by}="
    labels = sorted({m.group.removeprefix(prefix) for _, gs in series for m in gs if m.group})
    numeric = all(label.lstrip("-").isdigit() for label in labels)
    if numeric:
        labels.sort(key=int)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * len(labels) + 3), 3.8))
    width = 0.8 / len(series)
    for index, (model, groups) in enumerate(series):
        by_label = {m.group.removeprefix(prefix): m for m in groups if m.group}
        xs = [i for i, label in enumerate(labels) if label in by_label]
        found = [by_label[labels[i]] for i in xs]
        offset = 0.0 if numeric else (index - (len(series) - 1) / 2) * width
        colour = BASELINE_COLOUR if model == baseline else f"C{index}"
        lower = [m.estimate - m.low if not math.isnan(m.low) else 0 for m in found]
        upper = [m.high - m.estimate if not math.isnan(m.high) else 0 for m in found]
        ax.errorbar(
            [x + offset for x in xs],
            [m.estimate for m in found],
            yerr=[lower, upper],
            fmt="o-" if numeric else "o",
            capsize=3,
            c=colour,
            label=model_label(model, baseline),
        )
    ax.set_xticks(range(len(labels)), labels, rotation=0 if numeric else 30, ha="right", fontsize=8)
    ax.set_xlabel(headline.by)
    ax.set_ylabel(headline.metric)
    _axis(ax, headline.metric)
    ax.set_title(f"{title}: {headline.metric} by {headline.by} {_direction(headline)}", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def knowledge_vs_behaviour(
    knowledge: tuple[str, list[Run]],
    behaviour: list[tuple[str, list[Run]]],
    path: Path,
    baseline: str | None,
) -> Path | None:
    """A knowledge eval's first headline against each behaviour eval's, one point per checkpoint.

    The evals are paired by what their tasks declare they measure, never by their names.
    """
    name, knowing = knowledge
    panels = []
    for behaviour_name, acting in behaviour:
        points = []
        for k in knowing:
            for a in acting:
                kh = _first(k, "knowledge")
                ah = _first(a, "behaviour")
                if k.model == a.model and kh and ah:
                    points.append((k.model, kh, ah))
        if points:
            panels.append((behaviour_name, points))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (behaviour_name, points) in zip(axes[0], panels, strict=True):
        for model, (_, x), (_, y) in points:
            ax.errorbar(
                x.estimate,
                y.estimate,
                xerr=[[_below(x)], [_above(x)]],
                yerr=[[_below(y)], [_above(y)]],
                fmt="o",
                capsize=3,
                c=BASELINE_COLOUR if model == baseline else COLOUR,
            )
            ax.annotate(
                model_label(model, baseline),
                (x.estimate, y.estimate),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
        kh, ah = points[0][1][0], points[0][2][0]
        ax.set_xlabel(f"{name}: {kh.metric} {_direction(kh)}", fontsize=8)
        ax.set_ylabel(f"{behaviour_name}: {ah.metric} {_direction(ah)}", fontsize=8)
        if is_rate(kh.metric):
            ax.set_xlim(-0.02, 1.02)
        _axis(ax, ah.metric)
        ax.grid(alpha=0.3)
    fig.suptitle("Knowing the traits vs acting on them")
    return _save(fig, path)


def _first(run: Run, measures: str) -> tuple[Headline, Metric] | None:
    return next(((h, m) for h, m in run.headline_metrics() if h.measures == measures), None)


def _below(metric: Metric) -> float:
    return 0.0 if math.isnan(metric.low) else metric.estimate - metric.low


def _above(metric: Metric) -> float:
    return 0.0 if math.isnan(metric.high) else metric.high - metric.estimate
