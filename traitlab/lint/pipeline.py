"""`lint_dataset`: the whole lint in one call (pre-scan, then the LLM stages given a model).

This is the library entry point behind `traitlab lint`, `traitlab lint check`, and the data
generation pipeline's closing lint. Without a model it is offline and statistical only; with one
it discovers features (scan, cluster, merge) unless features are given, then autorates a seeded
sample against them.

Everything that can be checked up front is checked before the first slow step: the inputs
exist, the report directory can be written, the features file parses, and the model's provider
is known and has its key. The reading and the pre-scan run outside the event loop, so Ctrl-C
stops them at once; the report directory is written all at once at the end.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.model import Model, get_model
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from traitlab.errors import InputError, TraitlabError, plain_message
from traitlab.lint.autorate import RATING_PROMPT, autorate
from traitlab.lint.discover import MERGE_PROMPT, SCAN_PROMPT, DiscoverConfig, discover_features
from traitlab.lint.families import fold_families
from traitlab.lint.features import FeatureSet, load_features
from traitlab.lint.items import ItemSet, Turns, Unit, check_fields, expand_inputs, read_items
from traitlab.lint.labels import LabelRows
from traitlab.lint.outdir import check_output_dir
from traitlab.lint.prescan import Prescan, PrescanConfig
from traitlab.lint.results import LintReport
from traitlab.llm import UsageMeter
from traitlab.prompts import PromptOverride, resolve_prompt

Inputs = str | Path | list[str | Path] | list[str] | list[Path]


def resolve_model(model: str | Model, model_args: dict[str, Any] | None = None) -> Model:
    """The model for the LLM stages, or a one-line error naming it (unknown provider, missing
    key or package), raised before any slow step."""
    if not isinstance(model, str):
        return model
    try:
        return get_model(model, **(model_args or {}))
    except TraitlabError:
        raise
    except Exception as ex:  # providers raise ValueError, PrerequisiteError, ImportError, ...
        raise InputError(f"--model {model}: {plain_message(ex)}") from None


def _progress(show: bool) -> AbstractContextManager[Progress | None]:
    """Records read of the total, with the rate and an ETA (on stderr, when shown)."""
    if not show:
        return nullcontext()
    return Progress(
        TextColumn("pre-scan: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@dataclass
class _Prepared:
    """What the offline part of a lint produced, ready for the LLM stages."""

    item_set: ItemSet
    report: LintReport
    feature_set: FeatureSet | None
    llm: Model | None
    out_dir: Path | None
    probe_labels: dict[int, dict[str, str]] = field(default_factory=dict)


def _prepare(
    path: Inputs,
    *,
    model: str | Model | None,
    model_args: dict[str, Any] | None,
    features: str | Path | FeatureSet | None,
    out_dir: str | Path | None,
    turns: Turns,
    turn: int | None,
    unit: Unit,
    strict: bool,
    fields: dict[str, str] | None,
    sample: int | None,
    prescan_config: PrescanConfig | None,
    show_progress: bool,
) -> _Prepared:
    """Up-front checks, reading and pre-scan: synchronous, so Ctrl-C stops them at once."""
    if sample is not None and sample < 1:
        raise InputError(f"the autorate sample must be at least 1 item (or all), not {sample}")
    inputs = expand_inputs(path)
    check_fields(fields)
    if unit not in ("reply", "record"):
        raise InputError(f"--unit: expected reply or record, not '{unit}'")
    out = check_output_dir(out_dir) if out_dir is not None else None
    feature_set = load_features(features) if isinstance(features, str | Path) else features
    llm = resolve_model(model, model_args) if model is not None else None
    scan = Prescan(prescan_config)
    with _progress(show_progress) as progress:
        item_set = read_items(
            inputs,
            turns=turns,
            turn=turn,
            unit=unit,
            strict=strict,
            fields=fields,
            scan=scan,
            workers=os.cpu_count() or 1,
            progress=progress,
        )
        findings, length, notes = scan.finish(item_set.items)
    findings = fold_families(findings)
    report = LintReport(
        source=item_set.source,
        sha256=item_set.sha256,
        kind=item_set.kind,
        turns=turns if turn is None else f"{turns}[{turn}]",
        unit=item_set.unit,
        n_items=len(item_set),
        records=item_set.records,
        sources=item_set.sources,
        errors=item_set.errors,
        notes=notes + _read_notes(item_set),
        findings=findings,
        length=length,
    )
    if llm is None and feature_set is not None:
        report.notes.append("features were given without a model: only the pre-scan ran")
    return _Prepared(item_set, report, feature_set, llm, out)


async def _llm_stages(
    prepared: _Prepared,
    *,
    sample: int | None,
    seed: int,
    discover_config: DiscoverConfig | None,
    concurrency: int,
    cache: bool,
    show_progress: bool,
    recheck: int,
    probe: bool,
    scan_prompt: PromptOverride,
    merge_prompt: PromptOverride,
    rating_prompt: PromptOverride,
) -> dict[int, dict[str, str]]:
    """Discover (unless features were given), autorate, and label the unrated items with
    probes (kept in `prepared.probe_labels`); returns the ratings by item."""
    llm, report, item_set = prepared.llm, prepared.report, prepared.item_set
    if llm is None:
        return {}
    feature_set = prepared.feature_set
    meter = UsageMeter()
    options = {"meter": meter, "cache": cache, "concurrency": concurrency}
    ratings: dict[int, dict[str, str]] = {}
    if feature_set is None:
        feature_set, discover_notes = await discover_features(
            llm,
            item_set.items,
            config=discover_config,
            source=item_set.source,
            show_progress=show_progress,
            scan_prompt=scan_prompt,
            merge_prompt=merge_prompt,
            rating_prompt=rating_prompt,
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
            recheck=recheck,
            prompt=rating_prompt,
            **options,
        )
        ratings = rated.ratings
        if rated.rechecked:
            report.notes.append(
                f"rater error: {rated.rechecked} rated items were rated again; prevalences are "
                "also given corrected for the disagreement (symmetric-noise model)"
            )
        report.features = rated.results
        report.rated = len(rated.ratings)
        report.unrated = len(rated.failures)
        report.notes += [f"unrated: {reason}" for reason in rated.failures[:10]]
        if rated.truncated:
            report.notes.append(f"{rated.truncated} long items were truncated for the autorate")
        if probe and rated.ratings:
            from traitlab.lint.probe import train_probes

            probes = train_probes(
                item_set.items,
                rated.ratings,
                feature_set.features,
                seed=seed,
                show_progress=show_progress,
            )
            for result in report.features:
                result.probes = probes.agreement.get(result.feature.id, [])
            prepared.probe_labels = probes.labels
            report.notes += probes.notes
    else:
        report.notes.append("the scan found no pattern reported by enough batches")
    report.model = str(llm)
    report.usage = meter.rows()
    return ratings


def _finish(prepared: _Prepared, ratings: dict[int, dict[str, str]]) -> LintReport:
    report = prepared.report
    # One row per item: the pre-scan findings it matches (strict), its autorate labels, and
    # (if unrated) its probe labels; built row by row when read or written.
    report.labels = LabelRows(
        prepared.item_set.items, report.all_findings(), ratings, prepared.probe_labels
    )
    if prepared.out_dir is not None:
        from traitlab.lint.report import write_report

        write_report(report, prepared.out_dir)
    return report


_DEFAULTS: dict[str, Any] = {
    "model": None,
    "model_args": None,
    "features": None,
    "out_dir": None,
    "turns": "assistant",
    "turn": None,
    "unit": "reply",
    "strict": False,
    "fields": None,
    "sample": 200,
    "prescan_config": None,
    "show_progress": True,
}
_LLM_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "discover_config": None,
    "concurrency": 16,
    "cache": True,
    "recheck": 40,
    "probe": True,
    "scan_prompt": None,
    "merge_prompt": None,
    "rating_prompt": None,
}
_PROMPTS = {
    "scan_prompt": SCAN_PROMPT,
    "merge_prompt": MERGE_PROMPT,
    "rating_prompt": RATING_PROMPT,
}


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    unknown = set(kwargs) - set(_DEFAULTS) - set(_LLM_DEFAULTS)
    if unknown:
        raise TypeError(f"lint_dataset() got unexpected arguments {sorted(unknown)}")
    prepare = {key: kwargs.get(key, default) for key, default in _DEFAULTS.items()}
    stages = {key: kwargs.get(key, default) for key, default in _LLM_DEFAULTS.items()}
    stages["sample"] = prepare["sample"]
    stages["show_progress"] = prepare["show_progress"]
    for key, default in _PROMPTS.items():
        resolve_prompt(stages[key], default)  # a bad override fails now, not after the pre-scan
    return prepare, stages


async def alint_dataset(path: Inputs, **kwargs: Any) -> LintReport:
    """Lint a dataset; the async form of `lint_dataset` (same arguments).

    The reading and pre-scan block the event loop while they run; call `lint_dataset` from
    synchronous code, which runs them outside it.
    """
    prepare, stages = _split(kwargs)
    prepared = _prepare(path, **prepare)
    ratings = await _llm_stages(prepared, **stages)
    return _finish(prepared, ratings)


def lint_dataset(path: Inputs, **kwargs: Any) -> LintReport:
    """Lint a dataset: pre-scan always; scan, cluster and autorate when a model is given.

    Args:
        path: Inputs: JSONL (chat, document or preference), Parquet, a saved Hugging Face
            dataset, an Inspect log, a directory of these, a glob pattern, ``-`` (stdin), or a
            list of any of them.
        model: Model name (any Inspect provider) or `Model` for the LLM stages; None runs the
            offline pre-scan only. A name is resolved (provider, key) before anything is read.
        model_args: Model args for a model given by name (like Inspect's `-M`).
        features: features.json or a rubric file (or a `FeatureSet`): skip discovery and
            autorate against these.
        out_dir: Write report.html, report.md, report.json, features.json and labels.jsonl
            here (all at once: a crash leaves the previous report).
        turns: For chats, lint the assistant turns, the user turns, or the whole transcript.
        turn: For chats, only this turn of the selected role (0 = first, -1 = last).
        unit: "reply" (each selected turn is an item; the default) or "record".
        strict: Fail on the first malformed line instead of reporting and skipping it.
        fields: Column mapping, our field name -> the data's (e.g. messages -> conversations).
        sample: Autorate this many items (seeded); None rates every item.
        seed: Seed of the autorate sample.
        prescan_config: Thresholds of the pre-scan.
        discover_config: Settings of the scan, cluster and merge stages.
        concurrency: Model calls in flight at once.
        cache: Use Inspect's cache, so a rerun after a crash pays nothing twice.
        recheck: Rate this many rated items again to measure the rater's error and correct
            the prevalences for it (0 turns it off).
        scan_prompt: Override of the scan prompt (text or a path; `lint/prompts/scan.md`).
        merge_prompt: Override of the merge prompt (`lint/prompts/merge.md`).
        rating_prompt: Override of the rating prompt (`lint/prompts/rating.md`), used by the
            autorate and to group the scan's reports.
        probe: Distil each feature's ratings into a probe on sentence embeddings, report its
            agreement with held-out rated items, and label the unrated items with it (marked as
            probe labels; `filter` uses them when the agreement clears its thresholds).
        show_progress: Show progress.

    Returns:
        The report; `report.top_patterns()` gives the most prevalent patterns for printing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("lint_dataset was called inside an event loop: await alint_dataset")
    prepare, stages = _split(kwargs)
    prepared = _prepare(path, **prepare)
    ratings = asyncio.run(_llm_stages(prepared, **stages)) if prepared.llm is not None else {}
    return _finish(prepared, ratings)


def _read_notes(item_set: ItemSet) -> list[str]:
    notes = list(item_set.notes)
    if item_set.errors:
        notes.append(f"{len(item_set.errors)} malformed lines skipped (see errors)")
    if item_set.skipped:
        notes.append(f"{item_set.skipped} records without the selected turn skipped")
    return notes
