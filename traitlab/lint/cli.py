"""`traitlab lint`: thin commands over `lint_dataset`, `filter_dataset` and `check_dataset`.

`traitlab lint DATA...` runs the lint (it is `traitlab lint run DATA...`); `filter` and `check`
are sub-commands. Exit status, for scripts and CI: 0 pass, 1 the check failed, 2 a usage or
input error or any crash (one line on stderr, never a traceback; set TRAITLAB_DEBUG=1 for the
traceback), 130 interrupted (Ctrl-C; the previous report is left as it was).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from typer.core import TyperGroup

from traitlab.cli_args import parse_key_values
from traitlab.errors import InputError, TraitlabError

F = TypeVar("F", bound=Callable[..., Any])


class _RunByDefault(TyperGroup):
    """A group whose first argument, when it is not a sub-command, goes to `run`; its help is
    the `run` command's, followed by the other commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run = self.commands["run"]
        with click.Context(run, info_name=ctx.info_name, parent=ctx.parent) as sub:
            run.format_help(sub, formatter)
        # Into the formatter, not echoed: plain help is buffered and printed after this returns.
        formatter.write_paragraph()
        formatter.write_text(
            "Other commands: `traitlab lint filter --help` (write the data without labelled "
            "records), `traitlab lint check --help` (the CI gate)."
        )


lint_app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="Lint a dataset for over-represented patterns: `traitlab lint DATA [-o DIR]`.",
)


def guarded(interrupted: str) -> Callable[[F], F]:
    """Every failure ends in one line: user errors and crashes exit 2, Ctrl-C exits 130."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (typer.Exit, click.exceptions.Exit, click.ClickException, TraitlabError):
                raise
            except KeyboardInterrupt:
                print(f"interrupted: {interrupted}", file=sys.stderr)
                raise typer.Exit(130) from None
            except OSError as ex:
                if os.environ.get("TRAITLAB_DEBUG"):
                    raise
                where = f"{ex.filename}: " if ex.filename else ""
                raise TraitlabError(f"{where}{ex.strerror or ex}") from None
            except Exception as ex:
                if os.environ.get("TRAITLAB_DEBUG"):
                    raise
                from traitlab.errors import plain_message

                raise TraitlabError(
                    f"internal error ({type(ex).__name__}: {plain_message(ex)[:300]}); "
                    "set TRAITLAB_DEBUG=1 for the traceback"
                ) from None

        return wrapper  # type: ignore[return-value]

    return decorate


Data = Annotated[
    list[str],
    typer.Argument(
        help="Inputs: JSONL, Parquet, a saved HF dataset, an Inspect log, a directory of these, "
        "a glob, or - (stdin).",
        show_default=False,
    ),
]
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
TurnsOpt = Annotated[
    str | None, typer.Option(help="Chats: lint 'assistant', 'user' or 'transcript' turns.")
]
TurnOpt = Annotated[
    int | None, typer.Option(help="Chats: only this turn of that role (0 first, -1 last).")
]
UnitOpt = Annotated[
    str | None,
    typer.Option(help="What a prevalence counts: each 'reply' (default) or each 'record'."),
]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--field", help="Column mapping OURS=THEIRS, e.g. messages=conversations (repeatable)."
    ),
]
SampleOpt = Annotated[str | None, typer.Option(help="Items to autorate (seeded), or 'all'.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail on the first malformed line.")]
ScanPromptOpt = Annotated[
    Path | None, typer.Option(help="Prompt file replacing the scan prompt (lint/prompts/scan.md).")
]
MergePromptOpt = Annotated[
    Path | None,
    typer.Option(help="Prompt file replacing the merge prompt (lint/prompts/merge.md)."),
]
RatingPromptOpt = Annotated[
    Path | None,
    typer.Option(help="Prompt file replacing the rating prompt (lint/prompts/rating.md)."),
]
ClustersOpt = Annotated[
    bool | None, typer.Option("--clusters/--no-clusters", help="Cluster opening sentences.")
]


def _settings() -> dict[str, Any]:
    from traitlab.lint.settings import load_settings

    return load_settings()


def _pick(value: Any, settings: dict[str, Any], key: str, default: Any) -> Any:
    return value if value is not None else settings.get(key, default)


def _sample(value: str | int) -> int | None:
    if value == "all":
        return None
    if isinstance(value, int) and value >= 1:
        return value
    if not isinstance(value, str) or not value.isdigit() or int(value) < 1:
        raise InputError(f"--sample: expected a positive number or 'all', not {value!r}")
    return int(value)


def _choice(value: str, option: str, choices: tuple[str, ...]) -> Any:
    if value not in choices:
        raise InputError(f"{option}: expected {' or '.join(choices)}, not {value!r}")
    return value


def _read_options(
    settings: dict[str, Any],
    *,
    turns: str | None,
    turn: int | None,
    unit: str | None,
    field: list[str] | None,
    sample: str | None,
    strict: bool,
    clusters: bool | None,
) -> dict[str, Any]:
    from traitlab.lint.prescan import PrescanConfig

    fields = parse_key_values(field, option="--field", form="OURS=THEIRS", typed=False)
    return {
        "turns": _choice(
            _pick(turns, settings, "turns", "assistant"),
            "--turns",
            ("assistant", "user", "transcript"),
        ),
        "turn": turn,
        "unit": _choice(_pick(unit, settings, "unit", "reply"), "--unit", ("reply", "record")),
        "fields": fields or settings.get("fields"),
        "sample": _sample(_pick(sample, settings, "sample", "200")),
        "strict": strict,
        "prescan_config": PrescanConfig(cluster=_pick(clusters, settings, "clusters", True)),
    }


def _quiet_model_loading() -> None:
    """Keep the terminal to the lint's own progress: no bar for loading the embedding model."""
    try:
        from transformers.utils import logging
    except ImportError:
        return
    logging.disable_progress_bar()


@lint_app.command("run")
@guarded("nothing was written; any previous report is as it was")
def run(
    data: Data,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path(
        "lint-report"
    ),
    model: ModelOpt = None,
    model_arg: ModelArgsOpt = None,
    features: FeaturesOpt = None,
    turns: TurnsOpt = None,
    turn: TurnOpt = None,
    unit: UnitOpt = None,
    field: FieldOpt = None,
    sample: SampleOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the autorate sample.")] = 0,
    strict: StrictOpt = False,
    min_scans: Annotated[int, typer.Option(help="Keep patterns seen in this many scans.")] = 2,
    max_batches: Annotated[int, typer.Option(help="At most this many scan calls.")] = 20,
    batch_tokens: Annotated[int, typer.Option(help="Token budget of a scan batch.")] = 6000,
    clusters: ClustersOpt = None,
    concurrency: Annotated[int, typer.Option(help="Model calls in flight.")] = 16,
    cache: Annotated[bool, typer.Option(help="Use Inspect's model cache.")] = True,
    probe: Annotated[
        bool,
        typer.Option(help="Label the unrated items with probes distilled from the ratings."),
    ] = True,
    scan_prompt: ScanPromptOpt = None,
    merge_prompt: MergePromptOpt = None,
    rating_prompt: RatingPromptOpt = None,
) -> None:
    """Lint DATA: pre-scan offline; with --model also scan, cluster and autorate."""
    from rich.console import Console

    from traitlab.lint.discover import DiscoverConfig
    from traitlab.lint.pipeline import lint_dataset
    from traitlab.lint.report import print_summary, print_verdict

    options = _read_options(
        _settings(),
        turns=turns,
        turn=turn,
        unit=unit,
        field=field,
        sample=sample,
        strict=strict,
        clusters=clusters,
    )
    if options["prescan_config"].cluster or model:
        _quiet_model_loading()
    report = lint_dataset(
        data,
        model=model,
        model_args=parse_key_values(model_arg, option="-M"),
        features=features,
        out_dir=out,
        discover_config=DiscoverConfig(
            min_scans=min_scans, max_batches=max_batches, batch_tokens=batch_tokens
        ),
        concurrency=concurrency,
        cache=cache,
        seed=seed,
        probe=probe,
        scan_prompt=scan_prompt,
        merge_prompt=merge_prompt,
        rating_prompt=rating_prompt,
        **options,
    )
    console = Console()
    print_summary(report, console)
    print_verdict(report, console)
    console.print(f"report: {out / 'report.html'}")


@lint_app.command("filter")
@guarded("nothing was written; the output file is as it was")
def filter_command(
    data: Annotated[Path, typer.Argument(help="The JSONL file that was linted.")],
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
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
    probe_min_precision: Annotated[
        float | None,
        typer.Option(
            help="Use a feature's probe labels for unrated items only if the lower end of its "
            "held-out precision interval is at least this (1 = never) [default: 0.8]."
        ),
    ] = None,
    probe_min_recall: Annotated[
        float | None,
        typer.Option(
            help="... and the lower end of its recall interval at least this [default: 0.7]."
        ),
    ] = None,
) -> None:
    """Write DATA without the records labelled with a feature (the input is never modified)."""
    from traitlab.lint.filter import describe, filter_dataset

    result = filter_dataset(
        data,
        report,
        out,
        features=feature,
        level=_choice(level, "--level", ("broad", "strict")),
        target=target,
        seed=seed,
        overwrite=overwrite,
        **{
            key: value
            for key, value in (
                ("probe_min_precision", probe_min_precision),
                ("probe_min_recall", probe_min_recall),
            )
            if value is not None
        },
    )
    print(describe(result))


@lint_app.command("check")
@guarded("the check did not finish (exit 130 is neither a pass nor a fail)")
def check_command(
    data: Data,
    max_prevalence: Annotated[
        float | None,
        typer.Option(help="Fail when a feature's prevalence exceeds this share [default: 0.2]."),
    ] = None,
    prescan_max: Annotated[
        float | None,
        typer.Option(help="Threshold for pre-scan findings (default: --max-prevalence; 1 = off)."),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="Feature level compared: strict (default) or broad.")
    ] = None,
    gate: Annotated[
        str | None,
        typer.Option(help="Compare the 'estimate' (default) or the interval's 'lower' bound."),
    ] = None,
    allow: Annotated[
        list[str] | None, typer.Option(help="Finding id (or glob) never gated (repeatable).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline file of accepted findings.")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option(help="Accept today's violations: write them to this file.")
    ] = None,
    allow_malformed: Annotated[
        bool | None,
        typer.Option("--allow-malformed", help="Do not fail on malformed lines."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="Output: text, json, or github (annotations).")
    ] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the report here (artifact).")
    ] = None,
    features: FeaturesOpt = None,
    model: ModelOpt = None,
    model_arg: ModelArgsOpt = None,
    turns: TurnsOpt = None,
    turn: TurnOpt = None,
    unit: UnitOpt = None,
    field: FieldOpt = None,
    sample: SampleOpt = None,
    strict: StrictOpt = False,
    clusters: ClustersOpt = None,
    report: Annotated[
        Path | None, typer.Option(help="Check this lint report of DATA instead of linting again.")
    ] = None,
    scan_prompt: ScanPromptOpt = None,
    merge_prompt: MergePromptOpt = None,
    rating_prompt: RatingPromptOpt = None,
) -> None:
    """Exit 1 when a pattern exceeds the threshold or lines are malformed (a CI gate).

    Settings may also come from [tool.traitlab.lint] in pyproject.toml.
    """
    from traitlab.lint.check import check_dataset
    from traitlab.lint.check import write_baseline as save_baseline

    settings = _settings()
    fmt = _choice(output_format, "--format", ("text", "json", "github"))
    options = _read_options(
        settings,
        turns=turns,
        turn=turn,
        unit=unit,
        field=field,
        sample=sample,
        strict=strict,
        clusters=clusters,
    )
    if report is None and (options["prescan_config"].cluster or model):
        _quiet_model_loading()
    if report is not None and out is not None:
        raise InputError("--out writes a new report; with --report the report already exists")
    baseline_path = baseline or settings.get("baseline")
    if baseline_path is not None and not Path(baseline_path).exists():
        raise InputError("baseline file not found", path=baseline_path)
    prompts = {
        "scan_prompt": scan_prompt,
        "merge_prompt": merge_prompt,
        "rating_prompt": rating_prompt,
    }
    if report is not None and any(prompts.values()):
        raise InputError("prompt overrides apply to a new lint; with --report it already ran")
    lint_options: dict[str, Any] = (
        {} if report is not None else {**options, **prompts, "out_dir": out}
    )
    result = check_dataset(
        data,
        max_prevalence=_pick(max_prevalence, settings, "max_prevalence", 0.2),
        prescan_max=_pick(prescan_max, settings, "prescan_max", None),
        level=_choice(_pick(level, settings, "level", "strict"), "--level", ("broad", "strict")),
        gate=_choice(_pick(gate, settings, "gate", "estimate"), "--gate", ("estimate", "lower")),
        allow=[*settings.get("allow", []), *(allow or [])],
        baseline=baseline_path,
        allow_malformed=bool(_pick(allow_malformed, settings, "allow_malformed", False)),
        features=features,
        model=model,
        model_args=parse_key_values(model_arg, option="-M"),
        report_dir=report,
        show_progress=False,
        **lint_options,
    )
    if write_baseline is not None:
        save_baseline(write_baseline, result.violations + result.accepted)
    _print_check(result, fmt, ", ".join(data))
    if not result.passed:
        raise typer.Exit(1)


def _print_check(result: Any, fmt: str, data: str) -> None:
    """The verdict, one finding per line (ids never wrap: they are pasted into filter)."""
    if fmt == "json":
        print(json.dumps(result.to_dict(), indent=2))
        return
    report = result.report
    scope = f"{report.n_items:,} {report.unit_name}s of {data}"
    if fmt == "github":
        for v in result.violations:
            print(
                f"::error title=traitlab lint: {v.id}::{v.source} '{_one_line(v.name)}' in "
                f"{v.rate.format()} of {report.unit_name}s, above {v.threshold:.0%}"
            )
        for problem in result.problems:
            print(f"::error title=traitlab lint::{_one_line(problem)}")
        for v in result.accepted:
            print(f"::notice title=traitlab lint: {v.id}::accepted by {v.accepted}")
    if result.passed:
        print(f"lint check passed: no pattern above its threshold in {scope}")
    else:
        print(f"lint check failed: {scope}")
    if fmt == "github":
        return
    for v in result.violations:
        rate = f"{v.rate.format()} > {v.threshold:.0%}"
        print(f"  FAIL {v.id}  {rate}  ({v.source}: {_one_line(v.name)})")
    for problem in result.problems:
        print(f"  FAIL {problem}")
    for v in result.accepted:
        print(f"  ok   {v.id}  {v.rate.format()}  (accepted: {v.accepted})")


def _one_line(text: str) -> str:
    return " ".join(text.split())
