"""Every command over a matrix of bad inputs and outputs: it fails cleanly, up front, and never
loses or hides work.

For each (command, case) the run must end with the expected exit status (2 for anything the user
must fix), print at most one line on stderr for an error (naming the culprit: the input, the output
or the model) and never a traceback, leave its input byte for byte as it was, and leave no
half-written output: a path that did not exist still does not, one that existed is unchanged, and
no temporary file is left beside it. BOM and CRLF inputs must simply work.

Runs go through the real main command in-process (typer's CliRunner, which reports the exit
status and stderr that the `traitlab` script would); only the read-only output cases run in a
subprocess, as an unprivileged user when the tests run as root (root may write anywhere).
A new command joins by adding a `Command` to `COMMANDS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml
from typer.testing import CliRunner

from traitlab.cli import app
from traitlab.datasets import DATA_DIR
from traitlab.traits import BUNDLED_TRAITS

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
InputKind = Literal["jsonl", "traits", "config", "log"]

INPUT_CASES = (
    "missing",
    "directory",
    "empty",
    "binary",
    "invalid_json_line_3",
    "wrong_schema",
    "bom",
    "crlf",
)
# A traits document is markdown: there is no JSON to break.
MARKDOWN_CASES = tuple(case for case in INPUT_CASES if case != "invalid_json_line_3")
OUTPUT_CASES = ("output_is_a_file", "output_is_a_directory", "output_read_only")
MODEL_CASES = ("bogus_model",)


@dataclass
class World:
    """Valid inputs for every command, built once: each case spoils one of them."""

    root: Path
    chats: Path
    traits: Path
    train_config: dict
    log: Path
    lint_reports: dict[Path, tuple[Path, str]] = field(default_factory=dict)

    def lint_report(self, data: Path) -> tuple[Path, str]:
        """A lint report of `data` and a finding id in it (for `lint filter`)."""
        if data not in self.lint_reports:
            from traitlab.lint import lint_dataset

            out = self.root / f"report-{len(self.lint_reports)}"
            lint_dataset(data, out_dir=out, clusters=False)
            findings = json.loads((out / "report.json").read_text(encoding="utf-8"))["findings"]
            finding = next(f["id"] for f in findings if f["kind"] == "opening")
            for path in [out, *out.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            self.lint_reports[data] = (out, finding)
        return self.lint_reports[data]


@dataclass(frozen=True)
class Run:
    """One command line, the path an error should name for this case, and the output."""

    argv: list[str]
    culprit: str
    output: Path | None


@dataclass(frozen=True)
class Command:
    """How to run a command on an input and an output, and what each case should give."""

    name: str
    input_kind: InputKind
    output: Literal["file", "dir"] | None
    build: Callable[[World, Path, Path, str], list[str]]  # (world, input, output, case)
    takes_model: bool = False
    # Exit status where it is not 2 (bad input) or 0 (BOM, CRLF).
    expected: dict[str, int] = field(default_factory=dict)
    cases: tuple[str, ...] = ()

    def all_cases(self) -> tuple[str, ...]:
        cases = self.cases or INPUT_CASES
        if self.output:
            cases += OUTPUT_CASES
        if self.takes_model:
            cases += MODEL_CASES
        return cases

    def expected_exit(self, case: str) -> int:
        return self.expected.get(case, 0 if case in ("bom", "crlf") else 2)


GENERATE_MODEL = ["--model", "scripted/demo", "-M", "policy=traitlab.datasets.synth.demo:policy"]


def traits_args(world: World, traits: Path, out: Path, case: str) -> list[str]:
    return ["traits", "show", str(traits)]


def lint_args(world: World, data: Path, out: Path, case: str) -> list[str]:
    return ["lint", str(data), "-o", str(out), "--no-clusters"]


def filter_args(world: World, data: Path, out: Path, case: str) -> list[str]:
    """Labels of the valid data; a BOM or CRLF file is linted itself (labels match content)."""
    report, finding = world.lint_report(data if case in ("bom", "crlf") else world.chats)
    argv = ["lint", "filter", str(data), "--report", str(report), "--feature", finding]
    return [*argv, "-o", str(out)]


def check_args(world: World, data: Path, out: Path, case: str) -> list[str]:
    argv = ["lint", "check", str(data), "--no-clusters", "--max-prevalence", "0.99"]
    return [*argv, "-o", str(out)]


def generate_args(world: World, traits: Path, out: Path, case: str) -> list[str]:
    argv = ["generate", "sft", *GENERATE_MODEL, "--traits", str(traits), "-n", "2"]
    return [*argv, "--no-lint", "-o", str(out)]


def train_args(world: World, config: Path, out: Path, case: str) -> list[str]:
    return ["train", "dpo", "--config", str(config)]  # the output is set in the config


def report_args(world: World, log: Path, out: Path, case: str) -> list[str]:
    return ["report", str(log), "-o", str(out)]


COMMANDS = (
    Command("traits show", "traits", None, traits_args, cases=MARKDOWN_CASES),
    Command(
        "lint",
        "jsonl",
        "dir",
        lint_args,
        takes_model=True,
        expected={"invalid_json_line_3": 0},  # malformed lines are reported and skipped
    ),
    Command("lint filter", "jsonl", "file", filter_args),
    Command(
        "lint check",
        "jsonl",
        "dir",
        check_args,
        takes_model=True,
        expected={"invalid_json_line_3": 1},  # the gate fails on malformed lines
    ),
    Command("generate", "traits", "file", generate_args, takes_model=True, cases=MARKDOWN_CASES),
    Command("train", "config", "dir", train_args),
    Command(
        "report",
        "log",
        "dir",
        report_args,
        cases=("missing", "directory", "empty", "binary", "invalid_json_line_3", "wrong_schema"),
    ),
)


# --- the world ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """Valid inputs in a directory that any user may read (the read-only cases run as nobody)."""
    root = Path(tempfile.mkdtemp(prefix="traitlab-matrix-"))
    root.chmod(0o755)
    try:
        yield _build_world(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _build_world(root: Path) -> World:
    from inspect_ai import eval as inspect_eval

    from tests.helpers import scripted
    from tests.training.conftest import build_tiny_model
    from traitlab.evals.smoke.demo import judge, target
    from traitlab.evals.smoke.smoke import smoke

    chats = root / "chats.jsonl"
    lines = (DATA_DIR / "examples" / "lint_example.jsonl").read_text(encoding="utf-8")
    chats.write_text("".join(lines.splitlines(keepends=True)[:60]), encoding="utf-8")
    traits = root / "traits.md"
    traits.write_text(BUNDLED_TRAITS.read_text(encoding="utf-8"), encoding="utf-8")

    preferences = root / "preferences.jsonl"
    pair = {
        "prompt": [{"role": "user", "content": "Sure?"}],
        "chosen": "Not sure.",
        "rejected": "Yes",
    }
    preferences.write_text(
        "".join(json.dumps({"id": f"p{i}", **pair}) + "\n" for i in range(8)), encoding="utf-8"
    )
    train_config = {
        "model": {"base": str(build_tiny_model(root / "tiny-model"))},
        "data": {"preferences": [str(preferences)]},
        "training": {"max_steps": 1, "batch_size": 2, "max_length": 32, "logging_steps": 1},
    }

    logs = root / "logs"
    smoke_task = smoke(trait_ids="honesty-under-pressure,calibrated-confidence")
    inspect_eval(
        smoke_task,
        model=scripted("target", policy=target),
        model_roles={"judge": scripted("judge", policy=judge)},
        log_dir=str(logs),
        display="none",
    )
    [log] = logs.glob("*.eval")
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return World(root, chats, traits, train_config, log)


# --- the cases ----------------------------------------------------------------------------------


def valid_text(world: World, kind: InputKind, out: Path) -> str:
    if kind == "jsonl":
        return world.chats.read_text(encoding="utf-8")
    if kind == "traits":
        return world.traits.read_text(encoding="utf-8")
    if kind == "config":
        return yaml.safe_dump({**world.train_config, "output": str(out)})
    raise ValueError(kind)


def make_input(world: World, command: Command, case: str, where: Path, out: Path) -> Path:
    """The input of `case`, written in `where` (the output `out` is part of a train config)."""
    kind = command.input_kind
    suffix = {"jsonl": ".jsonl", "traits": ".md", "config": ".yaml", "log": ".eval"}[kind]
    path = where / f"input{suffix}"
    if case == "missing":
        return where / f"missing{suffix}"
    if case == "directory":
        path.mkdir()
        return path
    if case == "empty":
        path.write_bytes(b"")
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "log":
        path = path.with_suffix(".json")
        if case == "invalid_json_line_3":
            path.write_text('{\n  "version": 2,\n  "status": [,\n}\n', encoding="utf-8")
        elif case == "wrong_schema":
            path.write_text(json.dumps({"rows": [1, 2, 3]}), encoding="utf-8")
        else:
            raise ValueError(case)
    elif case in ("bom", "crlf"):
        text = valid_text(world, kind, out)
        if case == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        else:
            path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    elif case == "invalid_json_line_3":
        if kind == "jsonl":
            lines = valid_text(world, kind, out).splitlines(keepends=True)
            lines[2] = '{"messages": [{"role": "user", "content": "cut off\n'
            path.write_text("".join(lines), encoding="utf-8")
        elif kind == "config":
            data = where / "bad.jsonl"
            good = world.train_config["data"]["preferences"][0]
            lines = Path(good).read_text(encoding="utf-8").splitlines(keepends=True)
            lines[2] = "{not json\n"
            data.write_text("".join(lines), encoding="utf-8")
            config = {
                **world.train_config,
                "data": {"preferences": [str(data)]},
                "output": str(out),
            }
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
        else:
            raise ValueError(f"{case} does not apply to {kind}")
    elif case == "wrong_schema":
        if kind == "jsonl":
            path.write_text('{"question": "q", "answer": "a"}\n' * 5, encoding="utf-8")
        elif kind == "traits":
            path.write_text("Just a paragraph of prose, with no headings and no bullets.\n")
        elif kind == "config":
            config = {**world.train_config, "output": str(out), "epochz": 3}
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
        else:
            raise ValueError(case)
    else:
        raise ValueError(case)
    return path


def culprit(command: Command, case: str, path: Path, out: Path) -> str:
    """What the error line must name."""
    if case == "output_read_only":
        return out.parent.name  # the folder that cannot be written
    if case in OUTPUT_CASES:
        return out.name
    if case in MODEL_CASES:
        return "bogus/x"
    if case == "invalid_json_line_3" and command.input_kind == "config":
        return "bad.jsonl:3"
    return path.name


def build_run(world: World, command: Command, case: str, where: Path) -> Run:
    """Spoil the inputs or the output for `case` and put the command line together."""
    out = where / ("out.jsonl" if command.output == "file" else "out")
    if case == "output_is_a_file":
        out.write_text("precious\n")
    elif case == "output_is_a_directory":
        out.mkdir()
        (out / "precious.txt").write_text("precious\n")
    elif case == "output_read_only":
        readonly = where / "readonly"
        readonly.mkdir()
        out = readonly / out.name
    if case in INPUT_CASES:
        path = make_input(world, command, case, where, out)
    elif command.input_kind == "config":
        path = where / "input.yaml"  # a valid config that names this case's output
        path.write_text(valid_text(world, "config", out), encoding="utf-8")
    else:
        path = {"jsonl": world.chats, "traits": world.traits, "log": world.log}[command.input_kind]
    argv = command.build(world, path, out, case)
    if case == "bogus_model":
        if "--model" in argv:
            argv[argv.index("--model") + 1] = "bogus/x"
        else:
            argv += ["--model", "bogus/x"]
    if case == "output_read_only":
        readonly.chmod(0o555)
    return Run(argv, culprit(command, case, path, out), out if command.output else None)


# --- checking a run -------------------------------------------------------------------------------


def digest(path: Path) -> str | None:
    """A hash of a file or a directory tree (None when the path does not exist)."""
    if not path.exists():
        return None
    h = hashlib.sha256()
    for item in sorted([path, *path.rglob("*")] if path.is_dir() else [path]):
        h.update(str(item.relative_to(path.parent)).encode())
        if item.is_file():
            h.update(item.read_bytes())
    return h.hexdigest()


def run_command(argv: list[str], *, as_nobody: bool, home: Path) -> tuple[int, str, str]:
    if not as_nobody:
        result = CliRunner().invoke(app, argv, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"uncaught {result.exception!r}") from result.exception
        return result.exit_code, result.stdout, result.stderr
    command = [sys.executable, "-c", "from traitlab.cli import main; main()", *argv]
    if os.geteuid() == 0:  # root writes anywhere: run as nobody (setpriv, as su would)
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    process = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=home,
        env={**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)},
    )
    return process.returncode, process.stdout, process.stderr


MATRIX = [
    pytest.param(command, case, id=f"{command.name}-{case}".replace(" ", "_"))
    for command in COMMANDS
    for case in command.all_cases()
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "case"), MATRIX)
def test_command_fails_cleanly(command: Command, case: str, world: World) -> None:
    where = Path(tempfile.mkdtemp(dir=world.root, prefix="case-"))
    where.chmod(0o777)
    try:
        run = build_run(world, command, case, where)
        inputs = [Path(a) for a in run.argv if a.startswith(str(world.root)) and Path(a).exists()]
        inputs = [p for p in inputs if run.output is None or p != run.output]
        before = {p: digest(p) for p in inputs}
        output_before = digest(run.output) if run.output else None
        code, out, err = run_command(run.argv, as_nobody=case == "output_read_only", home=where)
        expected = command.expected_exit(case)

        assert code == expected, f"exit {code}, expected {expected}\n{err}\n{out}"
        assert "Traceback" not in err + out
        if expected == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), err
            assert run.culprit in lines[0], f"the error should name {run.culprit}: {lines[0]}"
        for path, value in before.items():
            assert digest(path) == value, f"input {path} was modified"
        if run.output is not None:
            if expected == 2:
                assert digest(run.output) == output_before, "output changed by a failed run"
            leftovers = [
                p.name
                for p in run.output.parent.iterdir()
                if p.name.startswith(f".{run.output.name}") or p.name.endswith((".partial", ".tmp"))
            ]
            assert leftovers == [], f"half-written output left: {leftovers}"
    finally:
        for path in [where, *where.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777)
        shutil.rmtree(where, ignore_errors=True)
