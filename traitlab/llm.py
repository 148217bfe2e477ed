"""Model calls outside Inspect tasks: concurrency, progress, and token accounting per stage.

Data generation and the lint's LLM stages call models directly (`get_model(name).generate`),
which keeps Inspect's providers, retries and cache (`cache=True` makes a rerun after a crash pay
nothing twice). This module adds what those pipelines share: bounded concurrency with a progress
bar, and a meter of calls and tokens per (stage, model) for the cost summary, which tells the
calls a provider was paid for from those Inspect's cache served, and which a resumable run keeps
in a file so that its summary covers every session.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from traitlab.errors import InputError, read_user_text
from traitlab.files import write_atomically

# Inspect takes over a second to import; it is loaded at the first model call, so that what
# only reads the usage types (the lint's report, its offline pre-scan) never pays for it.
if TYPE_CHECKING:
    from inspect_ai.hooks import ModelCacheUsageData
    from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput

T = TypeVar("T")
R = TypeVar("R")


class StageUsage(BaseModel):
    """One (stage, model)'s calls: paid ones with their tokens, and cache replays apart."""

    calls: int = 0
    """Calls a provider answered (paid for)."""
    cached_calls: int = 0
    """Calls Inspect's cache answered (free; their tokens are not counted again)."""
    input_tokens: int = 0
    output_tokens: int = 0


class UsageRow(StageUsage):
    """One (stage, model)'s usage as a row, for reports and usage files."""

    stage: str
    model: str


class _UsageFile(BaseModel):
    """What a usage file holds: the totals over a run's sessions so far."""

    sessions: int
    complete: bool
    usage: list[UsageRow]


@dataclass
class UsageMeter:
    """Calls and tokens per (stage, model), for the summary printed at the end of a run.

    `sessions` counts the sessions the totals cover: a resumed run continues the meter it saved
    (`resume`), so its summary is what the whole output cost, not only the last session.
    """

    usage: dict[tuple[str, str], StageUsage] = field(default_factory=dict)
    sessions: int = 1

    def add(self, stage: str, model: str, output: ModelOutput, *, cached: bool = False) -> None:
        entry = self.usage.setdefault((stage, model), StageUsage())
        if cached:
            entry.cached_calls += 1
            return
        entry.calls += 1
        if output.usage is not None:
            entry.input_tokens += output.usage.input_tokens
            entry.output_tokens += output.usage.output_tokens

    @property
    def calls(self) -> int:
        """Paid calls."""
        return sum(u.calls for u in self.usage.values())

    @property
    def cached_calls(self) -> int:
        return sum(u.cached_calls for u in self.usage.values())

    def table(self, title: str = "Model usage") -> Table:
        if self.sessions > 1:
            title = f"{title}, over {self.sessions} sessions"
        table = Table(title=title)
        for column in ("stage", "model", "calls", "cached", "input tokens", "output tokens"):
            named = column in ("stage", "model")  # names stay whole; numbers' headers may wrap
            table.add_column(column, justify="left" if named else "right", no_wrap=named)
        for (stage, model), entry in sorted(self.usage.items()):
            table.add_row(
                stage,
                model,
                str(entry.calls),
                str(entry.cached_calls),
                f"{entry.input_tokens:,}",
                f"{entry.output_tokens:,}",
            )
        return table

    def rows(self) -> list[UsageRow]:
        """The usage per (stage, model), sorted."""
        return [
            UsageRow(stage=stage, model=model, **entry.model_dump())
            for (stage, model), entry in sorted(self.usage.items())
        ]

    def save(self, path: str | Path, *, complete: bool) -> None:
        """Write the totals to `path` (atomically); `complete=False` lets a rerun continue them."""
        record = _UsageFile(sessions=self.sessions, complete=complete, usage=self.rows())
        write_atomically(path, [record.model_dump_json(indent=2), "\n"])

    @classmethod
    def resume(cls, path: str | Path) -> UsageMeter:
        """A meter for a new session: continuing the totals in `path` if its run did not
        complete (a crash or Ctrl-C), else starting from zero."""
        path = Path(path)
        if not path.exists():
            return cls()
        try:
            saved = _UsageFile.model_validate_json(read_user_text(path, "usage file"))
        except ValidationError as ex:
            error = ex.errors()[0]
            where = "".join(f"{part}: " for part in error["loc"][:1])
            raise InputError(f"not a usage file ({where}{error['msg']})", path=path) from None
        if saved.complete:
            return cls()
        usage = {
            (row.stage, row.model): StageUsage(**row.model_dump(exclude={"stage", "model"}))
            for row in saved.usage
        }
        return cls(usage=usage, sessions=saved.sessions + 1)


# Set, during a metered call, to a list the hook below appends to when Inspect's cache answers.
_cache_hits: ContextVar[list[bool] | None] = ContextVar("traitlab_cache_hits", default=None)


@functools.cache
def _watch_cache_hits() -> None:
    """Register the hook, once, at the first metered call. Not at import: Inspect prints a
    banner listing the registered hooks when it first resolves a model, which every eval that
    loads traitlab would show; by the first call that banner has been printed (or not)."""
    from inspect_ai.hooks import Hooks, hooks

    class _CacheHits(Hooks):
        """Inspect returns a cached `ModelOutput` unmarked (it is the stored object, usage and
        time included); its `on_model_cache_usage` hook is the public signal of a cache hit. It
        runs inside the call's context, so the context variable ties the signal to that call."""

        def enabled(self) -> bool:
            return _cache_hits.get() is not None

        async def on_model_cache_usage(self, data: ModelCacheUsageData) -> None:
            hits = _cache_hits.get()
            if hits is not None:
                hits.append(True)

    hooks(
        name="traitlab_cache_hits",
        description="Tells traitlab's usage meter which calls Inspect's cache answered.",
    )(_CacheHits)


async def generate(
    model: Model,
    input: str | list[ChatMessage],
    *,
    stage: str,
    meter: UsageMeter | None = None,
    config: GenerateConfig | None = None,
    cache: bool = True,
) -> ModelOutput:
    """One cached model call, metered under `stage` (as paid, or as answered by the cache).

    Inspect signals a cache hit only for an output that carries usage; a provider that reports
    no usage has its replays counted as paid calls (with no tokens).
    """
    from inspect_ai.model import GenerateConfig

    _watch_cache_hits()
    hits: list[bool] = []
    token = _cache_hits.set(hits)
    try:
        output = await model.generate(input, config=config or GenerateConfig(), cache=cache)
    finally:
        _cache_hits.reset(token)
    if meter is not None:
        meter.add(stage, str(model), output, cached=bool(hits))
    return output


async def map_concurrently(
    items: Iterable[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 16,
    description: str = "working",
    show_progress: bool = True,
) -> list[R]:
    """`fn` over `items` with at most `concurrency` in flight; results in input order.

    The first exception cancels the items still in flight and is re-raised.
    """
    items = list(items)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=len(items))

        async def run(item: T) -> R:
            async with semaphore:
                result = await fn(item)
            progress.advance(task)
            return result

        # If one item fails, cancel the rest before re-raising, so nothing keeps running (and
        # writing) after the caller has seen the error.
        tasks = [asyncio.ensure_future(run(item)) for item in items]
        try:
            return await asyncio.gather(*tasks)
        except BaseException:
            for pending in tasks:
                pending.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
