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
import importlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from traitlab.errors import InputError, TraitlabError, plain_message, read_user_text
from traitlab.lint.families import fold_families
from traitlab.lint.features import FeatureSet, load_features
from traitlab.lint.items import ItemSet, check_fields, expand_inputs, read_items
from traitlab.lint.labels import LabelRows
from traitlab.lint.options import LintOptions, build
from traitlab.lint.outdir import check_output_dir
from traitlab.lint.plots import Plotter
from traitlab.lint.prescan import Prescan, PrescanConfig
from traitlab.lint.results import LintReport, Location
from traitlab.lint.structure import mark_structural

# Inspect (over a second to import) is loaded only where a model is used: the offline pre-scan
# never needs it (tests/lint/test_pipeline.py checks that `--no-clusters` does not import it).
if TYPE_CHECKING:
    from inspect_ai.model import Model

    from traitlab.lint.autorate import AutorateResult

Inputs = str | Path | list[str | Path] | list[str] | list[Path]


def resolve_model(model: str | Model, model_args: dict[str, Any] | None = None) -> Model:
    """The model for the LLM stages, or a one-line error naming it (unknown provider, missing
    key or package), raised before any slow step."""
    if not isinstance(model, str):
        return model
    from inspect_ai.model import get_model

    try:
        return get_model(model, **(model_args or {}))
    except TraitlabError:
        raise
    except Exception as ex:  # providers raise ValueError, PrerequisiteError, ImportError, ...
        raise InputError(f"--model {model}: {plain_message(ex)}") from None


def _progress(show: bool) -> AbstractContextManager[Progress | None]:
    """Records read of the total, with the rate and an ETA (on stderr, when shown; where it is
    no terminal, the stage lines say what runs instead)."""
    console = Console(stderr=True)
    if not show:
        return nullcontext()
    if not console.is_terminal:
        return nullcontext(cast(Progress, _StageLines()))
    return Progress(
        TextColumn("pre-scan: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


class _StageLines:
    """Stands in for the reading's progress bar where stderr is no terminal: each task says
    once that it runs, when its first records are in (so an input that fails at once still
    fails in one line)."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, int | None]] = []
        self.said: set[int] = set()

    def add_task(self, description: str, total: int | None = None, **_: Any) -> int:
        self.tasks.append((description, total))
        return len(self.tasks) - 1

    def advance(self, task: int, advance: float = 1) -> None:
        self._say(task)

    def update(self, task: int, **_: Any) -> None:
        self._say(task)

    def _say(self, task: int) -> None:
        if task not in self.said:
            self.said.add(task)
            description, total = self.tasks[task]
            of = f" {total:,} records" if total else ""
            stage(True, f"pre-scan: {description}{of}")


@dataclass
class _Prepared:
    """What the offline part of a lint produced, ready for the LLM stages."""

    item_set: ItemSet
    report: LintReport
    feature_set: FeatureSet | None
    llm: Model | None
    out_dir: Path | None
    reference: Model | None = None
    hand_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    clusters: bool = True
    show_progress: bool = True
    probe_labels: dict[int, dict[str, str]] = field(default_factory=dict)
    plotter: Plotter = field(default_factory=Plotter)


def _prepare(path: Inputs, options: LintOptions, plotter: Plotter) -> _Prepared:
    """Up-front checks, reading and pre-scan: synchronous, so Ctrl-C stops them at once."""
    inputs = expand_inputs(path)
    check_fields(options.fields)
    out = check_output_dir(options.out_dir) if options.out_dir is not None else None
    features = options.features
    feature_set = load_features(features) if isinstance(features, str | Path) else features
    llm = resolve_model(options.model, options.model_args) if options.model is not None else None
    reference = _reference(options, llm)
    hand_labels = read_hand_labels(options.hand_labels) if options.hand_labels else {}
    scan = Prescan(PrescanConfig(cluster=options.clusters))
    turns, turn = options.turns, options.turn
    if out is not None:
        plotter.start()  # matplotlib is imported beside the reading, if not started before
    with _progress(options.show_progress) as progress:
        item_set = read_items(
            inputs,
            turns=turns,
            turn=turn,
            unit=options.unit,
            strict=options.strict,
            fields=options.fields,
            scan=scan,
            workers=os.cpu_count() or 1,
            progress=progress,
        )
    line = f"pre-scan: counting patterns in {len(item_set):,} items"
    with working(
        options.show_progress, line + (" and clustering openings" if options.clusters else "")
    ):
        findings, length, notes = scan.finish(item_set.items)
    findings = fold_families(findings)
    mark_structural(findings, item_set.items)
    for finding in findings:
        for member in finding.family():
            member.where = locate(item_set, member.members[:3])
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
    return _Prepared(
        item_set,
        report,
        feature_set,
        llm,
        out,
        reference,
        hand_labels,
        options.clusters,
        options.show_progress,
        plotter=plotter,
    )


async def _llm_stages(prepared: _Prepared, options: LintOptions) -> dict[int, dict[str, str]]:
    """Discover (unless features were given) and autorate; returns the ratings by item."""
    llm, report, item_set = prepared.llm, prepared.report, prepared.item_set
    if llm is None:
        return {}
    from traitlab.lint.autorate import autorate_items
    from traitlab.lint.discover import DiscoverConfig, discover_features
    from traitlab.llm import UsageMeter

    feature_set = prepared.feature_set
    meter = UsageMeter()
    calls = {"meter": meter, "cache": options.cache, "concurrency": options.concurrency}
    show_progress = options.show_progress
    ratings: dict[int, dict[str, str]] = {}
    if feature_set is None:
        stage(show_progress, f"scan: up to {options.max_batches} batches with {llm}")
        feature_set, discover_notes, report.detection_floor = await discover_features(
            llm,
            item_set.items,
            config=DiscoverConfig(
                min_scans=options.min_scans,
                max_batches=options.max_batches,
                batch_tokens=options.batch_tokens,
            ),
            source=item_set.source,
            show_progress=show_progress,
            scan_prompt=options.scan_prompt,
            merge_prompt=options.merge_prompt,
            rating_prompt=options.rating_prompt,
            **calls,
        )
        report.notes += discover_notes
    prepared.feature_set = feature_set
    if feature_set.features:
        stage(show_progress, f"autorate: {len(feature_set.features)} features with {llm}")
        rated = await autorate_items(
            llm,
            item_set.items,
            feature_set.features,
            sample=options.sample,
            seed=options.seed,
            show_progress=show_progress,
            recheck=options.recheck,
            reference=prepared.reference,
            reference_sample=options.reference_sample,
            hand_labels=prepared.hand_labels,
            prompt=options.rating_prompt,
            **calls,
        )
        ratings = rated.ratings
        report.reference = _reference_line(rated, prepared.reference)
        report.rechecked = rated.rechecked
        if rated.hand_unmatched:
            report.notes.append(
                f"{rated.hand_unmatched} hand-labelled ids match no item the rater could rate "
                "(an item's id is its record's id, ID#N for one of several replies)"
            )
        report.features = rated.results
        for result, indices in zip(report.features, rated.strict_items, strict=True):
            result.where = locate(item_set, indices[:3])
        report.rated = len(rated.ratings)
        report.unrated = len(rated.failures)
        report.notes += [f"unrated: {reason}" for reason in rated.failures[:10]]
        if rated.truncated:
            report.notes.append(f"{rated.truncated} long items were truncated for the autorate")
    else:
        report.notes.append("the scan found no pattern reported by enough batches")
    report.model = str(llm)
    report.usage = meter.rows()
    return ratings


def _probes(prepared: _Prepared, options: LintOptions, ratings: dict[int, dict[str, str]]) -> None:
    """Distil each feature's ratings into a probe that labels the unrated items (kept in
    `prepared.probe_labels`). Synchronous and outside the event loop, so Ctrl-C stops it."""
    report, feature_set = prepared.report, prepared.feature_set
    if not (options.probe and ratings and feature_set and report.features):
        return
    from traitlab.lint.probe import train_probes

    stage(options.show_progress, f"probes: {len(report.features)} features on {len(ratings)} rated")
    probes = train_probes(
        prepared.item_set.items,
        ratings,
        feature_set.features,
        seed=options.seed,
        show_progress=options.show_progress,
    )
    for result in report.features:
        result.probes = probes.agreement.get(result.feature.id, [])
    prepared.probe_labels = probes.labels
    report.notes += probes.notes


def stage(show: bool, line: str) -> None:
    """A stage's first line on stderr where no progress bar shows it (a log, a pipe, CI)."""
    if show:
        console = Console(stderr=True)
        if not console.is_terminal:
            console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def working(show: bool, line: str) -> Iterator[None]:
    """A stage without a progress bar of its own: a spinner with its name in a terminal, its
    line elsewhere."""
    console = Console(stderr=True)
    if show and console.is_terminal:
        with console.status(line):
            yield
    else:
        stage(show, line)
        yield


def _finish(prepared: _Prepared, ratings: dict[int, dict[str, str]]) -> LintReport:
    report = prepared.report
    report.checks, report.cannot_see = _coverage(report, prepared)
    # One row per item: the pre-scan findings it matches (strict), its autorate labels, and
    # (if unrated) its probe labels; built row by row when read or written.
    report.labels = LabelRows(
        prepared.item_set.items, report.all_findings(), ratings, prepared.probe_labels
    )
    if prepared.out_dir is not None:
        from traitlab.lint.report import write_report

        with working(prepared.show_progress, f"report: writing {prepared.out_dir}"):
            write_report(report, prepared.out_dir, prepared.plotter)
    return report


# Each prompt option and the module that holds its default (imported only to check an override).
_PROMPTS = {
    "scan_prompt": ("traitlab.lint.discover", "SCAN_PROMPT"),
    "merge_prompt": ("traitlab.lint.discover", "MERGE_PROMPT"),
    "rating_prompt": ("traitlab.lint.autorate", "RATING_PROMPT"),
}


def lint_options(options: LintOptions | None, values: dict[str, Any]) -> LintOptions:
    """The run's options: `options`, or built from keyword values; prompt overrides checked now
    (a bad one fails here, not after the pre-scan)."""
    if options is None:
        options = build(LintOptions, values)
    elif values:
        raise TypeError("pass either options or option keyword arguments, not both")
    for key, (module, default) in _PROMPTS.items():
        if (override := getattr(options, key)) is not None:
            from traitlab.prompts import resolve_prompt

            resolve_prompt(override, getattr(importlib.import_module(module), default))
    return options


async def alint_dataset(
    path: Inputs, options: LintOptions | None = None, **option_values: Any
) -> LintReport:
    """Lint a dataset; the async form of `lint_dataset` (same arguments).

    The reading and pre-scan block the event loop while they run; call `lint_dataset` from
    synchronous code, which runs them outside it.
    """
    options = lint_options(options, option_values)
    plotter = Plotter()
    try:
        prepared = _prepare(path, options, plotter)
        ratings = await _llm_stages(prepared, options)
        _probes(prepared, options, ratings)
        return _finish(prepared, ratings)
    finally:
        plotter.close()  # unused if the report was not written


def lint_dataset(
    path: Inputs,
    options: LintOptions | None = None,
    *,
    plotter: Plotter | None = None,
    **option_values: Any,
) -> LintReport:
    """Lint a dataset: pre-scan always; scan, cluster and autorate when a model is given.

    Args:
        path: Inputs: JSONL (chat, document or preference), Parquet, a saved Hugging Face
            dataset, an Inspect log, a directory of these, a glob pattern, ``-`` (stdin), or a
            list of any of them.
        options: The run's `LintOptions`; or pass them as keyword arguments (``model=...``,
            ``out_dir=...``, ``sample=...``; each is described there). A model given by name
            is resolved (provider, key) before anything is read.
        plotter: Draws the report's plots; one started before (`Plotter().start()`) has
            imported matplotlib by the time they are drawn. Closed when the lint ends.

    Returns:
        The report; `report.top_patterns()` gives the most prevalent patterns for printing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("lint_dataset was called inside an event loop: await alint_dataset")
    options = lint_options(options, option_values)
    plotter = plotter or Plotter()
    try:
        prepared = _prepare(path, options, plotter)
        ratings = asyncio.run(_llm_stages(prepared, options)) if prepared.llm is not None else {}
        _probes(prepared, options, ratings)
        return _finish(prepared, ratings)
    finally:
        plotter.close()  # unused if the report was not written


def locate(item_set: ItemSet, indices: list[int]) -> list[Location]:
    """The inputs and lines of the items at `indices`."""
    items = item_set.items
    found = []
    for index in indices:
        item = items[index] if index < len(items) and items[index].index == index else None
        if item is not None:
            found.append(Location(path=item_set.sources[item.source].path, line=item.line))
    return found


def _coverage(report: LintReport, prepared: _Prepared) -> tuple[list[str], list[str]]:
    """Which checks ran, and which patterns they cannot see, in words: a pass of the offline
    gate says nothing about a habit worded differently every time."""
    units = report.units
    checks = [
        f"pre-scan of all {report.n_items:,} {units}: openings and closings worded alike, "
        "frequent phrases, formatting habits (reported, not gated)"
    ]
    cannot = []
    clustered = prepared.clusters and not any(
        n.startswith("opening clusters skipped") for n in report.notes
    )
    if clustered:
        checks.append("opening clusters (embeddings), gated only when they share wording or form")
    if prepared.llm is None:
        cannot.append(
            "habits worded differently each time (an offer of more help, a validating opener, "
            "a verdict first, in many phrasings): lint with --model to find and rate them"
        )
    else:
        if report.detection_floor is not None:
            checks.append(f"an LLM scan for recurring patterns (model {report.model})")
            cannot.append(
                f"patterns in under {report.detection_floor:.0%} of {units} (the scan's "
                "detection floor: raise --max-batches, one call each, to lower it)"
            )
        else:
            cannot.append("patterns other than the given features (no scan ran)")
        if report.features:
            checks.append(f"{len(report.features)} LLM features rated on {report.rated:,} {units}")
            if not report.reference:
                cannot.append(
                    "the rater's own errors: prevalences are uncorrected (give "
                    "--reference-model or --hand-labels)"
                )
    return checks, cannot


def _reference(options: LintOptions, llm: Model | None) -> Model | None:
    """The reference model, resolved up front; it must not be the rater itself."""
    if options.reference_model is None:
        return None
    if llm is None:
        raise InputError("--reference-model measures the rater's error: it needs --model")
    reference = resolve_model(options.reference_model, options.reference_model_args)
    if reference is llm or (
        str(reference) == str(llm) and options.reference_model_args == options.model_args
    ):
        raise InputError(
            "--reference-model is the rater itself: a rater repeats its own mistakes, so its "
            "error must be measured against an independent model (or --hand-labels)"
        )
    return reference


def _reference_line(rated: AutorateResult, reference: Model | None) -> str | None:
    """What the rater's error was measured against, in words (None: nothing)."""
    parts = []
    if rated.reference_items and reference is not None:
        parts.append(f"reference model {reference} on {rated.reference_items} rated items")
    if rated.hand_labelled:
        parts.append(f"hand labels on {rated.hand_labelled} items")
    return " and ".join(parts) or None


def read_hand_labels(path: str | Path) -> dict[str, dict[str, str]]:
    """A user's own labels: JSONL rows ``{"id": ITEM ID, "labels": {FEATURE: LEVEL}}``, LEVEL
    none, broad or strict; an item's id is its record's id (``ID#N`` when the record has
    several replies, as in labels.jsonl)."""
    labels: dict[str, dict[str, str]] = {}
    text = read_user_text(path, "hand labels file")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _HandLabel.model_validate_json(line)
        except ValueError as ex:
            reason = plain_message(ex).split(" For further")[0]
            raise InputError(
                f"invalid hand label ({reason[:200]})", path=path, line=number
            ) from None
        labels.setdefault(row.id, {}).update(row.labels)
    if not labels:
        raise InputError("no hand labels in the file", path=path)
    return labels


class _HandLabel(BaseModel):
    id: str
    labels: dict[str, Literal["none", "broad", "strict"]]


def _read_notes(item_set: ItemSet) -> list[str]:
    notes = list(item_set.notes)
    if item_set.errors:
        notes.append(f"{len(item_set.errors)} malformed lines skipped (see errors)")
    if item_set.skipped:
        notes.append(f"{item_set.skipped} records without the selected turn skipped")
    return notes
