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
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from typer.core import TyperGroup

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
    """Every failure ends in one line: user errors and crashes exit 2, Ctrl-C exits 130.

    Ctrl-C is caught from the command's start; once the command is done, a program run ends at
    once (`traitlab.cli.main`), so no Ctrl-C can land in a slow teardown.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                result = fn(*args, **kwargs)
            except (typer.Exit, click.exceptions.Exit, click.ClickException, TraitlabError):
                raise  # the check's verdict (printed), usage and input errors
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
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _help(name: str) -> str:
    from traitlab.lint.options import CheckOptions, help_text

    return help_text(CheckOptions, name)


Data = Annotated[
    list[str],
    typer.Argument(
        help="Inputs: JSONL, Parquet, a saved HF dataset, an Inspect log, a directory of these, "
        "a glob, or - (stdin).",
        show_default=False,
    ),
]
# Every option defaults to None ("not given"): the settings file, then `LintOptions`, fill in.
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help=_help("model"))]
ModelArgsOpt = Annotated[
    list[str] | None, typer.Option("--model-arg", "-M", help=_help("model_args"))
]
ReferenceOpt = Annotated[str | None, typer.Option(help=_help("reference_model"))]
ReferenceArgsOpt = Annotated[list[str] | None, typer.Option(help=_help("reference_model_args"))]
ReferenceSampleOpt = Annotated[int | None, typer.Option(help=_help("reference_sample"))]
HandLabelsOpt = Annotated[Path | None, typer.Option(help=_help("hand_labels"))]
FeaturesOpt = Annotated[Path | None, typer.Option(help=_help("features"))]
TurnsOpt = Annotated[str | None, typer.Option(help=_help("turns"))]
TurnOpt = Annotated[int | None, typer.Option(help=_help("turn"))]
UnitOpt = Annotated[str | None, typer.Option(help=_help("unit"))]
FieldOpt = Annotated[list[str] | None, typer.Option("--field", help=_help("fields"))]
SampleOpt = Annotated[str | None, typer.Option(help=_help("sample"))]
SeedOpt = Annotated[int | None, typer.Option(help=_help("seed"))]
StrictOpt = Annotated[bool | None, typer.Option("--strict", help=_help("strict"))]
ClustersOpt = Annotated[
    bool | None, typer.Option("--clusters/--no-clusters", help=_help("clusters"))
]
MinScansOpt = Annotated[int | None, typer.Option(help=_help("min_scans"))]
MaxBatchesOpt = Annotated[int | None, typer.Option(help=_help("max_batches"))]
BatchTokensOpt = Annotated[int | None, typer.Option(help=_help("batch_tokens"))]
ConcurrencyOpt = Annotated[int | None, typer.Option(help=_help("concurrency"))]
CacheOpt = Annotated[bool | None, typer.Option("--cache/--no-cache", help=_help("cache"))]
RecheckOpt = Annotated[int | None, typer.Option(help=_help("recheck"))]
ProbeOpt = Annotated[bool | None, typer.Option("--probe/--no-probe", help=_help("probe"))]
ScanPromptOpt = Annotated[Path | None, typer.Option(help=_help("scan_prompt"))]
MergePromptOpt = Annotated[Path | None, typer.Option(help=_help("merge_prompt"))]
RatingPromptOpt = Annotated[Path | None, typer.Option(help=_help("rating_prompt"))]


def _options(kind: str, given: dict[str, Any]) -> Any:
    """The command's options: what the command line gave over the settings file over the
    defaults. `given` holds every option, None where the user did not give it."""
    from traitlab.lint.options import CheckOptions, LintOptions, build
    from traitlab.lint.settings import load_settings

    model = CheckOptions if kind == "check" else LintOptions
    settings = {k: v for k, v in load_settings().items() if k in model.model_fields}
    for name, option, form in (
        ("model_args", "-M", "KEY=VALUE"),
        ("reference_model_args", "--reference-model-arg", "KEY=VALUE"),
        ("fields", "--field", "OURS=THEIRS"),
    ):
        if given.get(name):
            from traitlab.cli_args import parse_key_values  # YAML values: loaded when given

            given[name] = parse_key_values(
                given[name], option=option, form=form, typed=name != "fields"
            )
    if given.get("allow"):
        given["allow"] = [*settings.get("allow", []), *given["allow"]]
    values = {**settings, **{k: v for k, v in given.items() if v is not None}}
    return build(model, values, where="--")


def _choice(value: str, option: str, choices: tuple[str, ...]) -> Any:
    if value not in choices:
        raise InputError(f"{option}: expected {' or '.join(choices)}, not {value!r}")
    return value


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
    out: Annotated[Path, typer.Option("--out", "-o", help=_help("out_dir"))] = Path("lint-report"),
    model: ModelOpt = None,
    model_arg: ModelArgsOpt = None,
    reference_model: ReferenceOpt = None,
    reference_model_arg: ReferenceArgsOpt = None,
    reference_sample: ReferenceSampleOpt = None,
    hand_labels: HandLabelsOpt = None,
    features: FeaturesOpt = None,
    turns: TurnsOpt = None,
    turn: TurnOpt = None,
    unit: UnitOpt = None,
    field: FieldOpt = None,
    sample: SampleOpt = None,
    seed: SeedOpt = None,
    strict: StrictOpt = None,
    min_scans: MinScansOpt = None,
    max_batches: MaxBatchesOpt = None,
    batch_tokens: BatchTokensOpt = None,
    clusters: ClustersOpt = None,
    concurrency: ConcurrencyOpt = None,
    cache: CacheOpt = None,
    recheck: RecheckOpt = None,
    probe: ProbeOpt = None,
    scan_prompt: ScanPromptOpt = None,
    merge_prompt: MergePromptOpt = None,
    rating_prompt: RatingPromptOpt = None,
) -> None:
    """Lint DATA: pre-scan offline; with --model also scan, cluster and autorate."""
    given = dict(locals())
    del given["data"]
    from traitlab.lint.plots import Plotter

    # Started first: its child imports matplotlib while this process imports the lint.
    plotter = Plotter().start()
    try:
        from rich.console import Console

        from traitlab.lint.pipeline import lint_dataset
        from traitlab.lint.report import print_summary, print_verdict

        given["out_dir"] = given.pop("out")
        given["model_args"] = given.pop("model_arg")
        given["reference_model_args"] = given.pop("reference_model_arg")
        given["fields"] = given.pop("field")
        options = _options("run", given)
        if options.clusters or options.model:
            _quiet_model_loading()
        report = lint_dataset(data, options, plotter=plotter)
        console = Console()
        print_summary(report, console)
        print_verdict(report, console)
        console.print(f"report: {out / 'report.html'}")
    finally:
        plotter.close()  # unused if the lint failed before its report


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
    max_prevalence: Annotated[float | None, typer.Option(help=_help("max_prevalence"))] = None,
    prescan_max: Annotated[float | None, typer.Option(help=_help("prescan_max"))] = None,
    level: Annotated[str | None, typer.Option(help=_help("level"))] = None,
    gate: Annotated[str | None, typer.Option(help=_help("gate"))] = None,
    allow: Annotated[list[str] | None, typer.Option(help=_help("allow"))] = None,
    baseline: Annotated[Path | None, typer.Option(help=_help("baseline"))] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(help="Accept today's violations: write them to this file (the baseline)."),
    ] = None,
    allow_malformed: Annotated[
        bool | None, typer.Option("--allow-malformed", help=_help("allow_malformed"))
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
    reference_model: ReferenceOpt = None,
    reference_model_arg: ReferenceArgsOpt = None,
    reference_sample: ReferenceSampleOpt = None,
    hand_labels: HandLabelsOpt = None,
    turns: TurnsOpt = None,
    turn: TurnOpt = None,
    unit: UnitOpt = None,
    field: FieldOpt = None,
    sample: SampleOpt = None,
    seed: SeedOpt = None,
    strict: StrictOpt = None,
    min_scans: MinScansOpt = None,
    max_batches: MaxBatchesOpt = None,
    clusters: ClustersOpt = None,
    concurrency: ConcurrencyOpt = None,
    recheck: RecheckOpt = None,
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
    given = dict(locals())
    for name in ("data", "write_baseline", "output_format", "out", "report"):
        del given[name]
    from traitlab.lint.check import check_dataset
    from traitlab.lint.check import write_baseline as save_baseline

    fmt = _choice(output_format, "--format", ("text", "json", "github"))
    given["out_dir"] = out
    given["model_args"] = given.pop("model_arg")
    given["reference_model_args"] = given.pop("reference_model_arg")
    given["fields"] = given.pop("field")
    given["show_progress"] = False
    if report is not None and out is not None:
        raise InputError("--out writes a new report; with --report the report already exists")
    if report is not None and (scan_prompt or merge_prompt or rating_prompt):
        raise InputError("prompt overrides apply to a new lint; with --report it already ran")
    options = _options("check", given)
    if report is None and (options.clusters or options.model):
        _quiet_model_loading()
    if options.baseline is not None and not options.baseline.exists():
        if write_baseline is None or write_baseline.resolve() != options.baseline.resolve():
            raise InputError(
                "baseline file not found (create it with --write-baseline)", path=options.baseline
            )
        options.baseline = None  # being created now: nothing is accepted yet
    result = check_dataset(data, options, report_dir=report)
    if write_baseline is not None:
        save_baseline(write_baseline, result.violations + result.accepted)
    _print_check(result, fmt, ", ".join(data))
    if not result.passed:
        raise typer.Exit(1)


def _print_check(result: Any, fmt: str, data: str) -> None:
    """The verdict, one finding per line (ids never wrap: they are pasted into filter)."""
    from traitlab.lint.results import Location

    if fmt == "json":
        print(json.dumps(result.to_dict(), indent=2))
        return
    report = result.report
    scope = f"{report.n_items:,} {report.units} of {data}"
    if fmt == "github":
        for v in result.violations:
            message = (
                f"{v.source} '{_one_line(v.name)}' in {v.rate.format()} of {report.units}, "
                f"above {v.threshold:.0%}"
            )
            print(_annotation("error", f"traitlab lint: {v.id}", message, v.where))
        bad = next(
            (Location(path=s.path, line=s.bad_lines[0]) for s in report.sources if s.bad_lines),
            None,
        )
        for problem in result.problems:
            where = bad if "malformed" in problem else None
            print(_annotation("error", "traitlab lint", _one_line(problem), where))
        for v in result.accepted:
            message = f"accepted by {v.accepted}"
            print(_annotation("notice", f"traitlab lint: {v.id}", message, v.where))
        coverage = "; ".join(report.checks) + ". Cannot see: " + "; ".join(report.cannot_see)
        print(_annotation("notice", "traitlab lint: what was checked", coverage))
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
    if line := report.correction_line():
        print(line)
    for check in report.checks:
        print(f"  checked: {check}")
    for blind in report.cannot_see:
        print(f"  cannot see: {blind}")


def _annotation(level: str, title: str, message: str, where: Any = None) -> str:
    """A GitHub Actions workflow command, its values escaped as the runner expects; file= and
    line= put it on the line of the input that shows the finding."""
    properties = []
    if where is not None and where.path != "-":
        properties.append(f"file={_escape(_relative(where.path), True)}")
        if where.line is not None:
            properties.append(f"line={where.line}")
    properties.append(f"title={_escape(title, True)}")
    return f"::{level} {','.join(properties)}::{_escape(_one_line(message), False)}"


def _escape(text: str, is_property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if is_property else text


def _relative(path: str) -> str:
    """Annotations name files relative to the checkout (the working directory in Actions)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _one_line(text: str) -> str:
    return " ".join(text.split())
