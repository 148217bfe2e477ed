"""Model calls outside Inspect tasks: concurrency, progress, and token accounting per stage.

Data generation and the lint's LLM stages call models directly (`get_model(name).generate`),
which keeps Inspect's providers, retries and cache (`cache=True` makes a rerun after a crash pay
nothing twice). This module adds what those pipelines share: bounded concurrency with a progress
bar, and a meter of tokens per (stage, model) for the cost summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class StageUsage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class UsageMeter:
    """Tokens and calls per (stage, model), for the summary printed at the end of a run."""

    usage: dict[tuple[str, str], StageUsage] = field(default_factory=dict)

    def add(self, stage: str, model: str, output: ModelOutput) -> None:
        entry = self.usage.setdefault((stage, model), StageUsage())
        entry.calls += 1
        if output.usage is not None:
            entry.input_tokens += output.usage.input_tokens
            entry.output_tokens += output.usage.output_tokens

    @property
    def calls(self) -> int:
        return sum(u.calls for u in self.usage.values())

    def table(self, title: str = "Model usage") -> Table:
        table = Table(title=title)
        for column in ("stage", "model", "calls", "input tokens", "output tokens"):
            table.add_column(column, justify="right" if "tokens" in column else "left")
        for (stage, model), entry in sorted(self.usage.items()):
            table.add_row(
                stage,
                model,
                str(entry.calls),
                f"{entry.input_tokens:,}",
                f"{entry.output_tokens:,}",
            )
        return table


async def generate(
    model: Model,
    input: str | list[ChatMessage],
    *,
    stage: str,
    meter: UsageMeter | None = None,
    config: GenerateConfig | None = None,
    cache: bool = True,
) -> ModelOutput:
    """One cached model call, metered under `stage`."""
    output = await model.generate(input, config=config or GenerateConfig(), cache=cache)
    if meter is not None:
        meter.add(stage, str(model), output)
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
