"""`traitlab generate`: a thin command over `generate_dataset`, with the run's summary.

Only the options are imported at load time; the pipelines and the lint (Inspect, torch) load
when the command runs, so `traitlab generate --help` answers at once
(`benchmarks/cli_startup.py`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError

from traitlab.cli_args import parse_key_values
from traitlab.datasets.synth._config import STAGES, GenerateOptions, Kind, load_model
from traitlab.errors import InputError, on_interrupt

_FIELDS = GenerateOptions.model_fields


def _help(name: str) -> str:
    return _FIELDS[name].description or ""


def generate(
    kind: Annotated[Kind, typer.Argument(help="sft (chats), preference (pairs) or midtrain.")],
    model: Annotated[str, typer.Option("--model", help="Model for the generating stages.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.")],
    n: Annotated[int, typer.Option("-n", help=_help("n"))] = 100,
    traits: Annotated[
        Path | None, typer.Option(help="Traits document (default: the bundled example).")
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option("-M", "--model-arg", help="KEY=VALUE model arg for --model, repeatable."),
    ] = None,
    critic_model: Annotated[
        str | None,
        typer.Option(
            help="Model for critiques, refinement, rewrites, autorater (default: --model)."
        ),
    ] = None,
    critic_model_arg: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE model arg for --critic-model, repeatable."),
    ] = None,
    stage_model: Annotated[
        list[str] | None,
        typer.Option(help=f"STAGE=MODEL, repeatable. Stages: {', '.join(STAGES)}."),
    ] = None,
    stage_model_arg: Annotated[
        list[str] | None,
        typer.Option(help="STAGE:KEY=VALUE model arg for that --stage-model, repeatable."),
    ] = None,
    trait_ids: Annotated[
        str | None, typer.Option("--trait-ids", help="Comma-separated trait ids (default: all).")
    ] = None,
    seed: Annotated[int, typer.Option(help=_help("seed"))] = 0,
    variety: Annotated[
        Literal["brainstorm", "bundled"], typer.Option(help=_help("variety"))
    ] = "brainstorm",
    chunk_by: Annotated[
        Literal["trait", "section"], typer.Option(help=_help("chunk_by"))
    ] = "trait",
    negative_share: Annotated[float, typer.Option(help=_help("negative_share"))] = 0.2,
    max_revisions: Annotated[int, typer.Option(help=_help("max_revisions"))] = 2,
    max_regenerations: Annotated[int, typer.Option(help=_help("max_regenerations"))] = 2,
    min_rating: Annotated[int, typer.Option(help=_help("min_rating"))] = 4,
    dedup_threshold: Annotated[float, typer.Option(help=_help("dedup_threshold"))] = 0.92,
    concurrency: Annotated[int, typer.Option(help=_help("concurrency"))] = 16,
    batch: Annotated[bool, typer.Option("--batch", help=_help("batch"))] = False,
    batch_size: Annotated[int | None, typer.Option(help=_help("batch_size"))] = None,
    prompts: Annotated[Path | None, typer.Option(help=_help("prompts"))] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the output file if it exists, and discard an unfinished run's "
            "records instead of resuming them.",
        ),
    ] = False,
    lint: Annotated[
        bool, typer.Option("--lint/--no-lint", help="Lint the output and print top patterns.")
    ] = True,
    lint_model: Annotated[
        str | None,
        typer.Option(help="Model for the lint's scan and autorate (default: pre-scan only)."),
    ] = None,
    lint_model_arg: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE model arg for --lint-model, repeatable."),
    ] = None,
) -> None:
    """Generate SFT chats, preference pairs or midtraining documents from a traits document."""
    import asyncio

    from rich.console import Console

    from traitlab.datasets.synth import generate_dataset
    from traitlab.datasets.synth._lint import check_lint_dir, lint_output
    from traitlab.datasets.synth._run import check_output, interrupted_line

    console = Console()
    try:
        options = GenerateOptions(
            n=n,
            seed=seed,
            variety=variety,
            trait_ids=[t.strip() for t in trait_ids.split(",") if t.strip()] if trait_ids else None,
            chunk_by=chunk_by,
            negative_share=negative_share,
            max_revisions=max_revisions,
            max_regenerations=max_regenerations,
            min_rating=min_rating,
            dedup_threshold=dedup_threshold,
            concurrency=concurrency,
            batch=batch,
            batch_size=batch_size,
            prompts=prompts,
        )
    except ValidationError as ex:
        error = ex.errors()[0]
        option = str(error["loc"][0]).replace("_", "-")
        raise InputError(f"--{option}: {error['msg']}") from None
    if critic_model_arg and not critic_model:
        raise InputError("--critic-model-arg needs --critic-model")
    if lint_model_arg and not lint_model:
        raise InputError("--lint-model-arg needs --lint-model")
    # Everything that can fail is checked here, before the first (paid) model call.
    check_output(output, overwrite=overwrite)
    if lint:
        check_lint_dir(output)
    stages = parse_key_values(stage_model, option="--stage-model", form="STAGE=MODEL", typed=False)
    stage_args = _stage_args(stage_model_arg, stages)
    main = load_model(model, parse_key_values(model_arg, option="-M"), setting="--model")
    critic = critic_model and load_model(
        critic_model,
        parse_key_values(critic_model_arg, option="--critic-model-arg"),
        setting="--critic-model",
    )
    overrides = {
        stage: load_model(name, stage_args.get(stage), setting=f"--stage-model {stage}")
        for stage, name in stages.items()
    }
    lint_llm = lint_model and load_model(
        lint_model,
        parse_key_values(lint_model_arg, option="--lint-model-arg"),
        setting="--lint-model",
    )
    with on_interrupt(lambda: interrupted_line(output)), sigterm_as_interrupt():
        report = asyncio.run(
            generate_dataset(
                kind,
                output,
                model=main,
                traits=traits,
                critic_model=critic or None,
                stage_overrides=overrides,
                options=options,
                overwrite=overwrite,
            )
        )
    if report.resumed:
        console.print(f"resumed: {report.resumed} records were already written")
    console.print(report.meter.table("Model usage (tokens per stage and model)"))
    console.print(report.drop_table())
    for line in (report.variety_line(), report.quiet_line(), report.leak_line()):
        if line:
            console.print(line)
    console.print(
        f"wrote {report.written} records to {report.output}; drops: {report.drops_path}; "
        f"usage: {report.usage_path}"
    )
    if lint and report.written:
        lint_output(report.output, model=lint_llm or None, console=console)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (how `timeout`, Slurm and `docker stop` end a job) stops the run as Ctrl-C does,
    so the usage and the records so far are saved and the line says how to resume; Python's
    default would end the process on the spot."""

    def stop(signum: int, frame: Any) -> None:
        signal.raise_signal(signal.SIGINT)  # asyncio's own Ctrl-C handling takes it from here

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stage_args(specs: list[str] | None, stages: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``["refine:temperature=0.2"]`` -> ``{"refine": {"temperature": 0.2}}``."""
    form = "STAGE:KEY=VALUE"
    by_stage: dict[str, dict[str, Any]] = {}
    for key, value in parse_key_values(specs, option="--stage-model-arg", form=form).items():
        stage, sep, arg = (part.strip() for part in key.partition(":"))
        if not sep or not stage or not arg:
            raise InputError(f"--stage-model-arg expects {form}, got '{key}={value}'")
        if stage not in stages:
            raise InputError(f"--stage-model-arg {key}: there is no --stage-model {stage}=MODEL")
        by_stage.setdefault(stage, {})[arg] = value
    return by_stage
