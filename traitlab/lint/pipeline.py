"""`lint_dataset`: the whole lint in one call (pre-scan, then the LLM stages given a model).

This is the library entry point behind `traitlab lint`, `traitlab lint check`, and the data
generation pipeline's closing lint. Without a model it is offline and statistical only; with one
it discovers features (scan, cluster, merge) unless features are given, then autorates a seeded
sample against them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

from inspect_ai.model import Model, get_model
from rich.console import Console

from traitlab.lint.autorate import autorate
from traitlab.lint.discover import DiscoverConfig, discover_features
from traitlab.lint.features import FeatureSet, load_features
from traitlab.lint.items import ItemSet, Turns, read_items
from traitlab.lint.prescan import PrescanConfig, prescan
from traitlab.lint.results import ItemLabels, LintReport, UsageRow
from traitlab.llm import UsageMeter

T = TypeVar("T")


async def alint_dataset(
    path: str | Path,
    *,
    model: str | Model | None = None,
    model_args: dict[str, Any] | None = None,
    features: str | Path | FeatureSet | None = None,
    out_dir: str | Path | None = None,
    turns: Turns = "assistant",
    turn: int | None = None,
    strict: bool = False,
    sample: int | None = 200,
    seed: int = 0,
    prescan_config: PrescanConfig | None = None,
    discover_config: DiscoverConfig | None = None,
    concurrency: int = 16,
    cache: bool = True,
    show_progress: bool = True,
) -> LintReport:
    """Lint a dataset; the async form of `lint_dataset` (same arguments)."""
    item_set = read_items(path, turns=turns, turn=turn, strict=strict)
    status = f"pre-scan of {len(item_set)} items"
    with Console(stderr=True).status(status) if show_progress else nullcontext():
        findings, length, notes = prescan(item_set.items, prescan_config)
    report = LintReport(
        source=item_set.source,
        sha256=item_set.sha256,
        kind=item_set.kind,
        turns=turns if turn is None else f"{turns}[{turn}]",
        n_items=len(item_set),
        errors=item_set.errors,
        notes=notes + _read_notes(item_set),
        findings=findings,
        length=length,
    )
    feature_set = load_features(features) if isinstance(features, str | Path) else features
    ratings: dict[int, dict[str, str]] = {}
    if model is not None:
        llm = get_model(model, **(model_args or {})) if isinstance(model, str) else model
        meter = UsageMeter()
        options = {"meter": meter, "cache": cache, "concurrency": concurrency}
        if feature_set is None:
            feature_set, discover_notes = await discover_features(
                llm,
                item_set.items,
                config=discover_config,
                source=item_set.source,
                show_progress=show_progress,
                **options,
            )
            report.notes += discover_notes
        if feature_set.features:
            rated = await autorate(
                llm,
                item_set.items,
                feature_set.features,
                sample=sample,
                seed=seed,
                show_progress=show_progress,
                **options,
            )
            ratings = rated.ratings
            report.features = rated.results
            report.rated = len(rated.ratings)
            report.unrated = len(rated.failures)
            report.notes += [f"unrated: {reason}" for reason in rated.failures[:10]]
            if rated.truncated:
                report.notes.append(f"{rated.truncated} long items were truncated for the autorate")
        else:
            report.notes.append("the scan found no pattern reported by enough batches")
        report.model = str(llm)
        report.usage = [
            UsageRow(stage=stage, model=name, **vars(usage))
            for (stage, name), usage in sorted(meter.usage.items())
        ]
    elif feature_set is not None:
        report.notes.append("features were given without a model: only the pre-scan ran")
    report.labels = _labels(item_set, report, ratings)
    if out_dir is not None:
        from traitlab.lint.report import write_report

        write_report(report, out_dir)
    return report


def lint_dataset(path: str | Path, **kwargs: Any) -> LintReport:
    """Lint a dataset: pre-scan always; scan, cluster and autorate when a model is given.

    Args:
        path: Chat, document or preference JSONL, or an Inspect .eval log.
        model: Model name (any Inspect provider) or `Model` for the LLM stages; None runs the
            offline pre-scan only.
        model_args: Model args for a model given by name (like Inspect's `-M`).
        features: features.json or a rubric file (or a `FeatureSet`): skip discovery and
            autorate against these.
        out_dir: Write report.html, report.md, report.json, features.json and labels.jsonl here.
        turns: For chats, lint the assistant turns, the user turns, or the whole transcript.
        turn: For chats, only this turn of the selected role (0 = first, -1 = last).
        strict: Fail on the first malformed line instead of reporting and skipping it.
        sample: Autorate this many items (seeded); None rates every item.
        seed: Seed of the autorate sample.
        prescan_config: Thresholds of the pre-scan.
        discover_config: Settings of the scan, cluster and merge stages.
        concurrency: Model calls in flight at once.
        cache: Use Inspect's cache, so a rerun after a crash pays nothing twice.
        show_progress: Show progress bars.

    Returns:
        The report; `report.top_patterns()` gives the most prevalent patterns for printing.
    """
    return _run(alint_dataset(path, **kwargs))


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise RuntimeError("lint_dataset was called inside an event loop: await alint_dataset")


def _read_notes(item_set: ItemSet) -> list[str]:
    notes = []
    if item_set.errors:
        notes.append(f"{len(item_set.errors)} malformed lines skipped (see errors)")
    if item_set.skipped:
        notes.append(f"{item_set.skipped} records without the selected turn skipped")
    return notes


def _labels(
    item_set: ItemSet, report: LintReport, ratings: dict[int, dict[str, str]]
) -> list[ItemLabels]:
    """One row per item: pre-scan findings it matches (strict) and its autorate labels."""
    found: dict[int, dict[str, str]] = {}
    for finding in report.findings:
        for index in finding.members:
            found.setdefault(index, {})[finding.id] = "strict"
    rows = []
    for item in item_set.items:
        labels = dict(found.get(item.index, {}))
        rated = ratings.get(item.index)
        if rated is not None:
            labels.update({fid: level for fid, level in rated.items() if level != "none"})
        rows.append(
            ItemLabels(
                index=item.index,
                id=item.id,
                line=item.line,
                rated=rated is not None,
                labels=labels,  # type: ignore[arg-type]
            )
        )
    return rows
