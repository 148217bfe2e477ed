"""`traitlab generate` on the command line: output, summary, resume, lint, errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from traitlab.cli import app
from traitlab.datasets import ChatRecord, read_jsonl
from traitlab.errors import InputError

POLICY = "policy=tests.datasets.synth.world:policy"


def generate(out: Path, *extra: str) -> object:
    args = ["generate", "sft", "--model", "scripted/world", "-M", POLICY, "-n", "4", "-o"]
    return CliRunner().invoke(
        app, [*args, str(out), "--trait-ids", "honesty-under-pressure,directness", *extra]
    )


def test_generate_writes_records_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = generate(out, "--no-lint")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out, ChatRecord, strict=True)) == 4
    for expected in (
        "Model usage",
        "prompt_critique",
        "4 of 4 items written",
        "wrote 4",
        "quiet items (trait should not fire): asked 20%; planned 1 of 4 (25%)",
    ):
        assert expected in result.output
    assert "Data lint" not in result.output


def test_generate_lints_its_output_by_default(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = generate(out)
    assert result.exit_code == 0, result.output
    assert "Data lint" in result.output
    assert (tmp_path / "sft.lint" / "report.json").exists()


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    # `traitlab.cli.main` prints a TraitlabError as `error: ...` with exit status 2.
    result = generate(tmp_path / "x.jsonl", "--negative-share", "2")
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == "--negative-share: Input should be less than or equal to 1"
    result = generate(tmp_path / "x.jsonl", "--stage-model", "critique")
    assert isinstance(result.exception, InputError)
    assert "STAGE=MODEL" in str(result.exception)
