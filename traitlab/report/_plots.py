"""Plots for the report (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from traitlab.report._collect import Metric, Run  # noqa: E402

_TURN_RE = re.compile(r"^turn=(\d+)$")


def _errorbars(ax: plt.Axes, labels: list[str], metrics: list[Metric]) -> None:
    estimates = [m.estimate for m in metrics]
    lower = [m.estimate - m.low if not math.isnan(m.low) else 0 for m in metrics]
    upper = [m.high - m.estimate if not math.isnan(m.high) else 0 for m in metrics]
    ax.errorbar(range(len(labels)), estimates, yerr=[lower, upper], fmt="o", capsize=4)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def model_label(model: str) -> str:
    return model.rstrip("/").split("/")[-1]


def task_plot(task: str, runs: list[Run], path: Path) -> Path | None:
    """Each headline metric of a task per checkpoint, with 95% intervals."""
    names = [m.name for m in runs[0].headline()][:6] if runs else []
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 1, 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        pairs = [(model_label(r.model), r.metric(name)) for r in runs]
        pairs = [(label, m) for label, m in pairs if m is not None]
        _errorbars(ax, [p[0] for p in pairs], [p[1] for p in pairs])
        ax.set_title(name, fontsize=9)
    fig.suptitle(task)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def knowledge_vs_behaviour(knowledge: list[Run], audit: list[Run], path: Path) -> Path | None:
    """Trait knowledge score against audit violation rate, one point per checkpoint."""
    points = []
    for k in knowledge:
        for a in audit:
            if k.model == a.model and k.headline() and a.headline():
                points.append((model_label(k.model), k.headline()[0], a.headline()[0]))
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, x, y in points:
        ax.errorbar(
            x.estimate,
            y.estimate,
            xerr=[[x.estimate - x.low], [x.high - x.estimate]],
            yerr=[[y.estimate - y.low], [y.high - y.estimate]],
            fmt="o",
            capsize=3,
        )
        ax.annotate(
            label, (x.estimate, y.estimate), fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
    ax.set_xlabel(f"trait_knowledge: {points[0][1].name}")
    ax.set_ylabel(f"trait_audit: {points[0][2].name}")
    ax.set_title("Knowing the traits vs acting on them")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pattern_rates(runs: list[Run], path: Path) -> Path | None:
    """Rates from pattern scorers (lint features as scorers), per checkpoint."""
    rows = [
        (model_label(r.model), r.task, m)
        for r in runs
        for m in r.metrics
        if "pattern" in m.scorer and m.group is None and m.name.endswith("_rate")
    ]
    if not rows:
        return None
    names = sorted({m.name for _, _, m in rows})
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 1, 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        selected = [(f"{label}\n{task}", m) for label, task, m in rows if m.name == name]
        _errorbars(ax, [s[0] for s in selected], [s[1] for s in selected])
        ax.set_title(name, fontsize=9)
        ax.set_ylim(0, 1)
    fig.suptitle("Pattern rates")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def by_turn(runs: list[Run], path: Path) -> Path | None:
    """The first headline metric by turn index (`[turn=N]` groups), one line per checkpoint."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    plotted = False
    for run in runs:
        headline = run.headline()
        if not headline:
            continue
        name = headline[0].name
        turns = sorted(
            (int(match[1]), m)
            for m in run.metrics
            if m.name == name and m.group and (match := _TURN_RE.match(m.group))
        )
        if not turns:
            continue
        xs = [t for t, _ in turns]
        ys = [m.estimate for _, m in turns]
        ax.plot(xs, ys, marker="o", label=model_label(run.model))
        ax.fill_between(xs, [m.low for _, m in turns], [m.high for _, m in turns], alpha=0.15)
        ax.set_ylabel(name)
        plotted = True
    if not plotted:
        plt.close(fig)
        return None
    ax.set_xlabel("turn")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{runs[0].task}: by turn")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
