"""The machinery every generation pipeline shares.

A run brainstorms what each chunk's items are drawn from (`_variety`), plans its items
(deterministic ids from trait, index and seed), prepares each one
concurrently (phase 1: prompt or document stages), drops near-duplicates across everything
prepared, completes the survivors (phase 2: responses and final filters) and writes each record
the moment it is finished, unless it reproduces its instructions (`_leaks`). Every model call is
cached, so after a crash the rerun replays what was paid for and skips the records already
written; the output appears atomically at the end. A rerun resumes only the same run: the file
``OUT.run.json`` says what produced the partial records (`RunIdentity`), and anything different
is refused. The usage file beside the output keeps the calls and tokens paid in every session,
rewritten as they accrue (every second at most), so a resumed run's cost table covers them all,
however the earlier sessions ended (SIGKILL included).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from inspect_ai.model import (
    ChatMessage,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
from pydantic import BaseModel, ValidationError
from rich.table import Table

from traitlab.datasets.synth._config import GenerateOptions, Kind
from traitlab.datasets.synth._leaks import COVERAGE, LeakFilter, prompt_shingles, trained_texts
from traitlab.datasets.synth._prompts import DocType, StagePrompts, styles
from traitlab.datasets.synth._variety import Variety, bundled, examples
from traitlab.errors import InputError, read_user_text
from traitlab.files import write_atomically
from traitlab.jsonl import ResumableWriter, write_jsonl
from traitlab.judging import JUDGE_CONFIG, ask_judge
from traitlab.llm import UsageMeter, generate, map_concurrently
from traitlab.traits import TraitChunk, TraitsDocument

C = TypeVar("C")
R = TypeVar("R", bound=BaseModel)
V = TypeVar("V", bound=BaseModel)


@dataclass(frozen=True)
class Item:
    """One planned record: which chunk, which index, and its seeded variety draws."""

    id: str
    chunk: TraitChunk
    index: int
    fires: bool
    setting: str
    style: str
    doc_type: DocType
    drawn_from: Literal["brainstormed", "bundled"]  # where setting and doc_type come from

    @property
    def seed(self) -> int:
        """A per-item sampling seed: it also keeps two items' first calls from sharing a cache
        entry when their prompts happen to coincide."""
        return call_seed(self.id)


def call_seed(key: str) -> int:
    """A sampling seed derived from `key`: stable across reruns, so they replay the cache."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


@dataclass(frozen=True)
class Drop:
    """An item a filter rejected, and why."""

    stage: str
    reason: str
    item_id: str = ""


SAVE_EVERY_S = 1.0


class Stages:
    """Metered, cached model calls for one run, each with the model its stage is bound to.

    `batch` (Inspect's `GenerateConfig.batch`) goes into every call: providers with a batch API
    then answer at about half price, slower; others ignore it. It is not part of Inspect's cache
    key, so a run resumed with or without it replays the same calls.
    """

    def __init__(
        self,
        models: dict[str, Model],
        meter: UsageMeter,
        *,
        batch: bool | int | None = None,
        prompts: StagePrompts | None = None,
        usage: Path | None = None,
    ):
        self.models = models
        self.meter = meter
        self.batch = GenerateConfig(batch=batch)
        self.prompts = prompts or StagePrompts()
        self.usage = usage
        self._saved = time.monotonic()

    def _paid(self) -> None:
        """Save the usage as it accrues, at most every `SAVE_EVERY_S`: a session killed without
        cleaning up (SIGKILL) leaves on disk all but the last moments of its cost. (A save
        syncs to disk, about 9 ms, so saving after every call would slow a concurrent run.)"""
        if self.usage is not None and time.monotonic() - self._saved >= SAVE_EVERY_S:
            self.meter.save(self.usage, complete=False)
            self._saved = time.monotonic()

    def config(
        self, stage: str, seed: int | None = None, *, temperature: float | None = None
    ) -> GenerateConfig:
        """The stage's sampling settings: its prompt file's temperature (else `temperature`)."""
        chosen = self.prompts.temperature(stage)
        return GenerateConfig(
            temperature=temperature if chosen is None else chosen, seed=seed
        ).merge(self.batch)

    async def text(
        self, stage: str, input: str | list[ChatMessage], *, config: GenerateConfig | None = None
    ) -> str:
        """A free-text reply, at the temperature the stage's prompt file asks for."""
        output = await generate(
            self.models[stage],
            input,
            stage=stage,
            meter=self.meter,
            config=config.merge(self.batch) if config else self.config(stage),
        )
        self._paid()
        return output.completion.strip()

    async def prompted(self, stage: str, *, seed: int | None = None, **values: Any) -> str:
        """Render the stage's prompt file with `values` and return the reply."""
        config = self.config(stage, seed)
        return await self.text(stage, self.prompts[stage].render(**values), config=config)

    async def judged(
        self, stage: str, schema: type[V], *, seed: int | None = None, **values: Any
    ) -> V | Drop:
        """A structured verdict on the stage's rendered prompt, or a Drop saying why not.

        A schema's `problem()` method, where it has one, rejects verdicts that parse but do not
        make sense (the reason goes back to the model, as for a parse failure).
        """
        result = await ask_judge(
            self.models[stage],
            self.prompts[stage].render(**values),
            schema,
            check=getattr(schema, "problem", None),
            # Critics grade at temperature 0 (as ask_judge does) unless their prompt file says.
            config=self.config(stage, seed, temperature=JUDGE_CONFIG.temperature),
            cache=True,
            meter=self.meter,
            stage=stage,
        )
        self._paid()
        if result.verdict is None:
            return Drop(stage, f"no usable verdict ({result.error})")
        return result.verdict

    def used(self, item: Item, stages: Sequence[str]) -> dict[str, str]:
        """Stage -> model name, for an item's provenance (with the brainstorm it drew from)."""
        if item.drawn_from == "brainstormed":
            stages = ["variety", *stages]
        return {stage: str(self.models[stage]) for stage in stages}


def with_system(system: str, user: str) -> list[ChatMessage]:
    return [ChatMessageSystem(content=system), ChatMessageUser(content=user)]


class Pipeline(Protocol[C, R]):
    """What a kind of data defines; `run_pipeline` does the rest."""

    kind: Kind
    record_type: type[R]
    stages: tuple[str, ...]

    def negative_share(self) -> float:
        """Share of items in which the trait should not fire (0 for pairs and documents)."""
        ...

    async def prepare(self, run: Stages, item: Item) -> C | Drop: ...

    def key(self, candidate: C) -> str: ...

    def key_of(self, record: R) -> str: ...

    async def complete(self, run: Stages, item: Item, candidate: C) -> R | Drop: ...


@dataclass
class GenerationReport:
    """What a run did: counts, drops per filter with reasons, and model usage."""

    kind: Kind
    output: Path
    planned: int
    resumed: int = 0
    written: int = 0
    negative_share: float = 0.0
    planned_quiet: int = 0
    written_quiet: int = 0
    drops: list[Drop] = field(default_factory=list)
    meter: UsageMeter = field(default_factory=UsageMeter)
    brainstormed: int = 0
    """Chunks whose items drew their settings and document types from a brainstorm."""
    variety_fallbacks: dict[str, str] = field(default_factory=dict)
    """Chunk id -> why its items drew from the bundled lists although a brainstorm was asked."""

    @property
    def dropped(self) -> Counter[str]:
        """Items dropped per filter stage."""
        return Counter(drop.stage for drop in self.drops)

    @property
    def drops_path(self) -> Path:
        return drops_file(self.output)

    @property
    def usage_path(self) -> Path:
        return usage_file(self.output)

    def quiet_line(self) -> str | None:
        """The asked and realised share of quiet items (trait should not fire), if any asked."""
        if not self.negative_share:
            return None

        def share(part: int, whole: int) -> str:
            return f"{part} of {whole} ({part / whole:.0%})" if whole else "0 of 0"

        return (
            f"quiet items (trait should not fire): asked {self.negative_share:.0%}; "
            f"planned {share(self.planned_quiet, self.planned)}, "
            f"written {share(self.written_quiet, self.written)}"
        )

    def leak_line(self) -> str:
        """What the leak filter dropped, what it looks for and what it cannot see."""
        dropped = self.dropped["instruction_leak"]
        return f"{COVERAGE} (dropped {dropped})"

    def variety_line(self) -> str | None:
        """How many chunks drew from a brainstorm and why the others did not (None: none asked)."""
        chunks = self.brainstormed + len(self.variety_fallbacks)
        if not chunks:
            return None
        line = f"variety: brainstormed for {self.brainstormed} of {chunks} chunks"
        if self.variety_fallbacks:
            chunk, reason = next(iter(self.variety_fallbacks.items()))
            line += f"; bundled lists for {len(self.variety_fallbacks)} ({chunk}: {reason})"
        return line

    def drop_table(self) -> Table:
        table = Table(title=f"{self.kind}: {self.written} of {self.planned} items written")
        for column in ("filter", "dropped", "example reasons"):
            table.add_column(column, overflow="fold")
        for stage, count in self.dropped.most_common():
            reasons = [d.reason for d in self.drops if d.stage == stage]
            examples = "; ".join(dict.fromkeys(r[:120] for r in reasons[:3]))
            table.add_row(stage, str(count), examples)
        if not self.drops:
            table.add_row("(none)", "0", "")
        return table


def quiet_flags(per_chunk: Sequence[int], share: float) -> list[list[bool]]:
    """Which items of each chunk are quiet, so that round(n * share) of all n items are.

    Error diffusion over the items in chunk order: each chunk gets its share to within one
    item and the remainders carry over, so the realised share is exact at any n and any number
    of chunks (a per-chunk rule would round every chunk down: 0 quiet items of 12 at 0.2).
    Within a chunk the quiet items are spread over its indices.
    """
    flags, position = [], 0
    for count in per_chunk:
        flags.append(
            [
                math.floor((position + i + 1) * share + 0.5)
                > math.floor((position + i) * share + 0.5)
                for i in range(count)
            ]
        )
        position += count
    return flags


def run_chunks(document: TraitsDocument, options: GenerateOptions) -> list[TraitChunk]:
    """The chunks (one trait, or one section's traits) that hold a selected trait."""
    selected = {trait.id for trait in document.select(options.trait_ids)}
    return [c for c in document.chunks(options.chunk_by) if selected & set(c.trait_ids)]


async def brainstorm_variety(
    run: Stages, chunks: Sequence[TraitChunk], options: GenerateOptions
) -> tuple[dict[str, Variety], dict[str, str]]:
    """Each chunk's brainstormed lists, and chunk id -> reason for those that fell back to the
    bundled lists. The call's seed comes from the run's seed and the chunk, so a rerun replays
    it from the cache and plans the same items."""

    async def ask(chunk: TraitChunk) -> Variety | Drop:
        seed = call_seed(f"variety:{options.seed}:{chunk.id}")
        return await run.judged("variety", Variety, seed=seed, trait=chunk.text, **examples())

    results = await map_concurrently(
        chunks,
        ask,
        concurrency=options.concurrency,
        description="brainstorming variety",
        show_progress=options.show_progress,
    )
    varieties, fallbacks = {}, {}
    for chunk, result in zip(chunks, results, strict=True):
        if isinstance(result, Drop):
            fallbacks[chunk.id] = result.reason
        else:
            varieties[chunk.id] = result
    return varieties, fallbacks


def plan(
    pipeline: Pipeline[Any, Any],
    document: TraitsDocument,
    options: GenerateOptions,
    variety: Mapping[str, Variety] | None = None,
) -> list[Item]:
    """`options.n` items spread round-robin over the chunks, ids from (chunk, index, seed).

    Each item draws its setting and document type from its chunk's `variety` (the bundled
    lists for a chunk without one) and its style from the bundled styles.
    """
    chunks = run_chunks(document, options)
    voices, fallback = styles(), bundled()
    per_chunk = [len(range(c, options.n, len(chunks))) for c in range(len(chunks))]
    quiet = quiet_flags(per_chunk, pipeline.negative_share())
    items = []
    for k in range(options.n):
        chunk, index = chunks[k % len(chunks)], k // len(chunks)
        rng = random.Random(f"{pipeline.kind}:{options.seed}:{chunk.id}:{index}")
        brainstormed = (variety or {}).get(chunk.id)
        lists = brainstormed or fallback
        items.append(
            Item(
                id=f"{pipeline.kind}-{chunk.id}-s{options.seed}-{index:04d}",
                chunk=chunk,
                index=index,
                fires=not quiet[k % len(chunks)][index],
                setting=rng.choice(lists.settings),
                style=rng.choice(voices),
                doc_type=rng.choice(lists.doc_types),
                drawn_from="brainstormed" if brainstormed else "bundled",
            )
        )
    return items


def leak_filters(
    document: TraitsDocument, chunks: Sequence[TraitChunk], prompts: StagePrompts
) -> dict[str, LeakFilter]:
    """Chunk id -> the leak filter of its text, its traits' names and ids and the run's prompts."""
    traits = {trait.id: trait for trait in document.traits}
    prompt_runs = prompt_shingles(prompts)
    return {
        chunk.id: LeakFilter.of(
            chunk.text, [n for t in chunk.trait_ids for n in (traits[t].name, t)], prompt_runs
        )
        for chunk in chunks
    }


def near_duplicate_ids(keys: dict[str, str], threshold: float) -> dict[str, str]:
    """Dropped id -> the kept id it is too similar to (greedy in the order of `keys`)."""
    if len(keys) < 2:
        return {}
    from traitlab.embeddings import embed, near_duplicate_matches

    ids = list(keys)
    matches = near_duplicate_matches(embed(list(keys.values())), threshold)
    return {ids[dropped]: ids[kept] for dropped, kept in matches.items()}


def drops_file(output: Path) -> Path:
    """Every dropped item with its filter and reason: ``sft.jsonl`` -> ``sft.drops.jsonl``."""
    return output.with_name(f"{output.stem}.drops.jsonl")


def usage_file(output: Path) -> Path:
    """Calls and tokens over every session of an output (`UsageMeter.resume`):
    ``sft.jsonl`` -> ``sft.usage.json``."""
    return output.with_name(f"{output.stem}.usage.json")


def run_file(output: Path) -> Path:
    """What produced the partial records (`RunIdentity`): ``sft.jsonl`` -> ``sft.run.json``."""
    return output.with_name(f"{output.stem}.run.json")


def partial_file(output: Path) -> Path:
    """The records written so far (`ResumableWriter`): ``sft.jsonl`` -> ``sft.jsonl.partial``."""
    return output.with_name(output.name + ".partial")


# Options that change how a run goes, not what it writes: a run may resume with others.
_PACING = {"concurrency", "batch", "batch_size", "show_progress"}


class StageModel(BaseModel):
    """A stage's model as a run records it: name, args and generate config."""

    name: str
    args: dict[str, Any] = {}
    config: dict[str, Any] = {}


class RunIdentity(BaseModel):
    """Everything that decides which records a run writes. A partial file resumes only under
    the same identity: records of another traits document, model or option must not end up in
    one output with this run's (its counts and shares would describe neither)."""

    kind: str
    traits_sha256: str
    models: dict[str, StageModel]
    options: dict[str, Any]

    @classmethod
    def of(
        cls, kind: str, document: TraitsDocument, models: Mapping[str, Model], options: BaseModel
    ) -> RunIdentity:
        content = document.model_dump_json(exclude={"source"})
        return cls(
            kind=kind,
            traits_sha256=hashlib.sha256(content.encode()).hexdigest(),
            models={
                stage: StageModel(
                    name=str(model),
                    args={key: _plain(value) for key, value in model.model_args.items()},
                    config=model.config.model_dump(mode="json", exclude_none=True),
                )
                for stage, model in models.items()
            },
            options=options.model_dump(mode="json", exclude=_PACING),
        )

    def differences(self, earlier: RunIdentity) -> list[str]:
        """What differs from `earlier`, one phrase each ("option n: 12, now 20")."""
        found = []
        if earlier.kind != self.kind:
            found.append(f"kind: {earlier.kind}, now {self.kind}")
        if earlier.traits_sha256 != self.traits_sha256:
            found.append("the traits document changed")
        for stage, model in self.models.items():
            before = earlier.models.get(stage)
            if before is None or before.name != model.name:
                found.append(f"{stage} model: {before and before.name}, now {model.name}")
            elif before != model:
                found.append(f"{stage} model {model.name}: other model args or config")
        for key, value in self.options.items():
            if earlier.options.get(key) != value:
                found.append(f"option {key}: {earlier.options.get(key)}, now {value}")
        return found


def _plain(value: Any) -> Any:
    """A model arg as JSON: objects (a policy callable, a client) by their type, which is stable
    across processes where their repr (with an address) is not."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    kind = type(value)
    return f"<{kind.__module__}.{kind.__qualname__}>"


def start_or_resume(output: Path, identity: RunIdentity, *, overwrite: bool = False) -> None:
    """Record what this run is, or check that the partial records were made by the same run.

    A partial file from a run with any other setting is refused, with one line naming the
    differences; `overwrite` discards it (and the usage of its sessions) and starts afresh.
    """
    partial, recorded = partial_file(output), run_file(output)
    if overwrite:
        for path in (partial, recorded, usage_file(output)):
            path.unlink(missing_ok=True)
    elif partial.exists():
        how = "pass --overwrite to discard them and start afresh"
        if not recorded.exists():
            raise InputError(
                f"holds records of a run whose settings were not recorded ({recorded.name} is "
                f"missing), so it cannot be resumed safely; {how}",
                path=partial,
            )
        try:
            earlier = RunIdentity.model_validate_json(read_user_text(recorded, "run file"))
        except ValidationError:
            raise InputError(f"not a run file; {how}", path=recorded) from None
        if changed := identity.differences(earlier):
            raise InputError(
                f"holds records of a different run ({'; '.join(changed)}); resume with the "
                f"same settings, or {how}",
                path=partial,
            )
        return
    write_atomically(recorded, [identity.model_dump_json(indent=2), "\n"])


def interrupted_line(output: Path) -> str:
    """What Ctrl-C leaves behind, and how to go on (the line the CLI prints)."""
    partial = partial_file(output)
    kept = 0
    if partial.exists():
        with partial.open(encoding="utf-8") as handle:
            kept = sum(1 for line in handle if line.strip())
    return (
        f"kept {kept} records in {partial} and the usage so far in {usage_file(output)}; "
        "run the same command to resume (calls already made are replayed from Inspect's cache)"
    )


def check_output(output: Path, *, overwrite: bool = False) -> None:
    """Refuse an output the run could not write or should not replace, before any model call.

    An existing output is replaced only with `overwrite`; ``OUTPUT.partial`` (a crashed run's
    records) is resumed as always. The drops and usage files beside the output must be
    writable too.
    """
    for path in (output, drops_file(output), usage_file(output)):
        if path.is_dir():
            raise InputError("output is a directory; give a .jsonl file path", path=path)
    if output.exists() and not overwrite:
        raise InputError(
            "output exists; pass --overwrite to replace it (or choose another path)", path=output
        )
    folder = output.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError("cannot create the output's folder: a file is in the way", path=folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError("output folder is not writable", path=folder)


async def run_pipeline(
    pipeline: Pipeline[C, R],
    document: TraitsDocument,
    output: str | Path,
    models: dict[str, Model],
    options: GenerateOptions,
) -> GenerationReport:
    """Brainstorm, plan, prepare, deduplicate, complete and write; resumable and atomic.

    The usage of this session is added to that of the unfinished sessions before it (the usage
    file beside the output) and saved however the session ends.
    """
    output = Path(output)
    usage = usage_file(output)
    run = Stages(
        models,
        UsageMeter.resume(usage),
        batch=options.batch_config,
        prompts=StagePrompts(options.prompts),
        usage=usage,
    )
    finished = False
    try:
        report = await _run(pipeline, document, output, run, options)
        finished = True
        return report
    finally:
        run.meter.save(usage, complete=finished)


async def _run(
    pipeline: Pipeline[C, R],
    document: TraitsDocument,
    output: Path,
    run: Stages,
    options: GenerateOptions,
) -> GenerationReport:
    variety, fallbacks = {}, {}
    if options.variety == "brainstorm":
        variety, fallbacks = await brainstorm_variety(run, run_chunks(document, options), options)
    items = plan(pipeline, document, options, variety)
    report = GenerationReport(
        kind=pipeline.kind,
        output=output,
        planned=len(items),
        negative_share=pipeline.negative_share(),
        planned_quiet=sum(not item.fires for item in items),
        meter=run.meter,
        brainstormed=len(variety),
        variety_fallbacks=fallbacks,
    )
    writer = ResumableWriter(output, pipeline.record_type)
    report.resumed = sum(writer.done(item.id) for item in items)
    try:
        pending = [item for item in items if not writer.done(item.id)]

        async def prepare(item: Item) -> C | Drop:
            return await pipeline.prepare(run, item)

        prepared = await map_concurrently(
            pending,
            prepare,
            concurrency=options.concurrency,
            description=f"{pipeline.kind}: preparing",
            show_progress=options.show_progress,
        )
        candidates: dict[str, C] = {}
        for item, result in zip(pending, prepared, strict=True):
            if isinstance(result, Drop):
                report.drops.append(Drop(result.stage, result.reason, item.id))
            else:
                candidates[item.id] = result

        # Near-duplicates over everything this run will write, already written or not, in plan
        # order, so a resumed run makes the same decisions as an uninterrupted one.
        keys = {
            item.id: pipeline.key_of(writer.records[item.id])
            if writer.done(item.id)
            else pipeline.key(candidates[item.id])
            for item in items
            if writer.done(item.id) or item.id in candidates
        }
        duplicates = near_duplicate_ids(keys, options.dedup_threshold)
        for item_id, kept in duplicates.items():
            report.drops.append(Drop("near_duplicate", f"too similar to {kept}", item_id))

        async def complete(item: Item) -> Drop | None:
            result = await pipeline.complete(run, item, candidates[item.id])
            if isinstance(result, Drop):
                return Drop(result.stage, result.reason, item.id)
            if leak := leaks[item.chunk.id].find(trained_texts(result)):
                return Drop("instruction_leak", leak, item.id)
            writer.write(result)
            return None

        todo = [i for i in pending if i.id in candidates and i.id not in duplicates]
        leaks = leak_filters(document, [item.chunk for item in todo], run.prompts)
        completed = await map_concurrently(
            todo,
            complete,
            concurrency=options.concurrency,
            description=f"{pipeline.kind}: completing",
            show_progress=options.show_progress,
        )
        report.drops.extend(drop for drop in completed if drop is not None)
        order = [i.id for i in items if writer.done(i.id) and i.id not in duplicates]
        writer.finish(order=order)
        run_file(output).unlink(missing_ok=True)
    except BaseException:
        writer.close()
        raise
    report.written = len(order)
    quiet = {item.id for item in items if not item.fires}
    report.written_quiet = sum(item_id in quiet for item_id in order)
    write_jsonl(report.drops_path, (vars(drop) for drop in report.drops))
    return report
