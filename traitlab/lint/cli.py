"""`traitlab lint`: thin commands over `lint_dataset`, `filter_dataset` and `check_dataset`.

`traitlab lint DATA` runs the lint (it is `traitlab lint run DATA`); `filter` and `check` are
sub-commands. Exit status: 0 clean, 1 a check failed, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from traitlab.cli_args import parse_key_values
from traitlab.lint.autorate import Level
from traitlab.lint.discover import DiscoverConfig
from traitlab.lint.items import Turns
from traitlab.lint.prescan import PrescanConfig

console = Console()


class _RunByDefault(TyperGroup):
    """A group whose first argument, when it is not a sub-command, goes to `run`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


lint_app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="Lint a dataset for over-represented patterns: `traitlab lint DATA [-o DIR]`.",
)


Data = Annotated[Path, typer.Argument(help="Chat/document JSONL or an Inspect .eval log.")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model for the LLM stages (any Inspect provider)."),
]
ModelArgsOpt = Annotated[
    list[str] | None,
    typer.Option("--model-arg", "-M", help="Model arg KEY=VALUE (repeatable), as in Inspect."),
]
FeaturesOpt = Annotated[
    Path | None,
    typer.Option(help="features.json or a rubric file: autorate these instead of scanning."),
]
TurnsOpt = Annotated[str, typer.Option(help="Chats: lint 'assistant', 'user' or 'transcript'.")]
TurnOpt = Annotated[
    int | None, typer.Option(help="Chats: only this turn of that role (0 first, -1 last).")
]
SampleOpt = Annotated[str, typer.Option(help="Items to autorate (seeded sample), or 'all'.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail on the first malformed line.")]


def _sample(value: str) -> int | None:
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise typer.BadParameter(f"expected a positive number or 'all', not {value!r}")
    return int(value)


def _turns(value: str) -> Turns:
    if value not in ("assistant", "user", "transcript"):
        raise typer.BadParameter(f"expected assistant, user or transcript, not {value!r}")
    return value  # type: ignore[return-value]


def _options(
    turns: str, turn: int | None, sample: str, strict: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "turns": _turns(turns),
        "turn": turn,
        "sample": _sample(sample),
        "strict": strict,
        **extra,
    }


@lint_app.command("run")
def run(
    data: Data,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path(
        "lint-report"
    ),
    model: ModelOpt = None,
    model_arg: ModelArgsOpt = None,
    features: FeaturesOpt = None,
    turns: TurnsOpt = "assistant",
    turn: TurnOpt = None,
    sample: SampleOpt = "200",
    seed: Annotated[int, typer.Option(help="Seed of the autorate sample.")] = 0,
    strict: StrictOpt = False,
    min_scans: Annotated[int, typer.Option(help="Keep patterns seen in this many scans.")] = 2,
    max_batches: Annotated[int, typer.Option(help="At most this many scan calls.")] = 20,
    batch_tokens: Annotated[int, typer.Option(help="Token budget of a scan batch.")] = 6000,
    clusters: Annotated[bool, typer.Option(help="Cluster opening sentences (embeddings).")] = True,
    concurrency: Annotated[int, typer.Option(help="Model calls in flight.")] = 16,
    cache: Annotated[bool, typer.Option(help="Use Inspect's model cache.")] = True,
) -> None:
    """Lint DATA: pre-scan offline; with --model also scan, cluster and autorate."""
    from traitlab.lint.pipeline import lint_dataset
    from traitlab.lint.report import print_summary

    if clusters or model:
        _quiet_model_loading()
    report = lint_dataset(
        data,
        model=model,
        model_args=parse_key_values(model_arg, option="-M"),
        features=features,
        out_dir=out,
        prescan_config=PrescanConfig(cluster=clusters),
        discover_config=DiscoverConfig(
            min_scans=min_scans, max_batches=max_batches, batch_tokens=batch_tokens
        ),
        concurrency=concurrency,
        cache=cache,
        **_options(turns, turn, sample, strict, seed=seed),
    )
    print_summary(report, console)
    console.print(f"report: {out / 'report.html'}")


@lint_app.command("filter")
def filter_command(
    data: Data,
    report: Annotated[Path, typer.Option(help="The lint's report directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The filtered dataset (new file).")],
    feature: Annotated[
        list[str], typer.Option(help="Feature or finding id to filter (repeatable).")
    ],
    level: Annotated[str, typer.Option(help="Label threshold: broad or strict.")] = "broad",
    target: Annotated[
        float | None, typer.Option(help="Downsample to this prevalence instead of removing all.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for downsampling.")] = 0,
) -> None:
    """Write DATA without the items labelled with a feature (the input is never modified)."""
    from traitlab.lint.filter import describe, filter_dataset

    result = filter_dataset(
        data, report, out, features=feature, level=_level(level), target=target, seed=seed
    )
    console.print(describe(result))


@lint_app.command("check")
def check_command(
    data: Data,
    max_prevalence: Annotated[
        float, typer.Option(help="Fail when a feature's prevalence exceeds this share.")
    ] = 0.2,
    prescan_max: Annotated[
        float | None,
        typer.Option(help="Threshold for pre-scan findings (default: --max-prevalence; 1 = off)."),
    ] = None,
    level: Annotated[str, typer.Option(help="Feature level compared: strict or broad.")] = "strict",
    features: FeaturesOpt = None,
    model: ModelOpt = None,
    model_arg: ModelArgsOpt = None,
    turns: TurnsOpt = "assistant",
    turn: TurnOpt = None,
    sample: SampleOpt = "200",
    strict: StrictOpt = False,
    clusters: Annotated[bool, typer.Option(help="Cluster opening sentences (embeddings).")] = True,
    report: Annotated[
        Path | None, typer.Option(help="Check this lint report of DATA instead of linting again.")
    ] = None,
) -> None:
    """Exit 1 when any feature or pre-scan finding exceeds the threshold (a CI gate)."""
    from traitlab.lint.check import check_dataset

    if report is None and (clusters or model):
        _quiet_model_loading()
    result = check_dataset(
        data,
        max_prevalence=max_prevalence,
        prescan_max=prescan_max,
        level=_level(level),
        features=features,
        model=model,
        model_args=parse_key_values(model_arg, option="-M"),
        report_dir=report,
        prescan_config=PrescanConfig(cluster=clusters),
        show_progress=False,
        **_options(turns, turn, sample, strict),
    )
    if result.passed:
        console.print(f"lint check passed: no pattern above {max_prevalence:.0%} in {data}")
        return
    table = Table(title=f"lint check failed: {data}")
    for column in ("id", "pattern", "source", "prevalence [95% CI]", "threshold"):
        table.add_column(column, overflow="fold")
    for v in result.violations:
        table.add_row(v.id, v.name, v.source, v.rate.format(), f"{v.threshold:.0%}")
    console.print(table)
    raise typer.Exit(1)


def _quiet_model_loading() -> None:
    """Keep the terminal to the lint's own progress: no bar for loading the embedding model."""
    try:
        from transformers.utils import logging
    except ImportError:
        return
    logging.disable_progress_bar()


def _level(value: str) -> Level:
    if value not in ("broad", "strict"):
        raise typer.BadParameter(f"expected broad or strict, not {value!r}")
    return value  # type: ignore[return-value]
