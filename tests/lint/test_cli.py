"""`traitlab lint` commands: thin over the library; exit 0 clean, 1 check failed, 2 bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.lint.helpers import planted_chats
from traitlab.cli import app, main
from traitlab.datasets import DATA_DIR

runner = CliRunner()


def test_lint_filter_and_check_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 100, opening=0.3, closing=0.1, seed=8)
    out = tmp_path / "report"
    # Options may come before DATA: the plain command is `lint run`.
    result = runner.invoke(app, ["lint", "--no-clusters", "-o", str(out), str(data)])
    assert result.exit_code == 0, result.output
    assert "i hear you" in result.output
    assert (out / "report.html").exists()
    finding = next(
        f["id"]
        for f in json.loads((out / "report.json").read_text())["findings"]
        if f["kind"] == "opening"
    )
    filtered = tmp_path / "filtered.jsonl"
    result = runner.invoke(
        app,
        [
            "lint",
            "filter",
            str(data),
            "--report",
            str(out),
            "--feature",
            finding,
            "-o",
            str(filtered),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "removed" in result.output and filtered.exists()

    check = ["lint", "check", str(data), "--no-clusters", "--max-prevalence"]
    failed = runner.invoke(app, [*check, "0.2"])
    assert failed.exit_code == 1 and "lint check failed" in failed.output
    assert "opening_i_hear" in failed.output
    assert runner.invoke(app, [*check, "0.5"]).exit_code == 0
    # No features and the pre-scan gate off: nothing was checked, which is not a pass.
    nothing = runner.invoke(app, [*check, "0.2", "--prescan-max", "1"])
    assert nothing.exit_code == 1 and "nothing was checked" in nothing.output
    reuse = ["lint", "check", str(data), "--report", str(out), "--max-prevalence"]
    assert runner.invoke(app, [*reuse, "0.2"]).exit_code == 1
    assert runner.invoke(app, [*reuse, "0.5"]).exit_code == 0
    assert runner.invoke(app, ["lint", "check", str(filtered), "--no-clusters"]).exit_code == 0


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    monkeypatch.setattr(sys, "argv", ["traitlab", "lint", str(empty), "-o", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    # Stage lines (stderr is no terminal here), then the one error line.
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("pre-scan: ") for line in lines[:-1]), lines
    err = lines[-1]
    assert err.startswith("error: ") and "no records found" in err


@pytest.mark.slow
def test_the_readme_demo_finds_the_planted_patterns_of_the_bundled_example(tmp_path: Path) -> None:
    example = DATA_DIR / "examples" / "lint_example.jsonl"
    records = [json.loads(line) for line in example.read_text().splitlines()]
    out = tmp_path / "report"
    demo = ["--model", "scripted/demo", "-M", "policy=traitlab.lint.demo:policy"]
    options = ["--sample", "all", "--no-cache", "--no-clusters"]
    result = runner.invoke(app, ["lint", str(example), "-o", str(out), *demo, *options])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    strict = {f["feature"]["id"]: f["strict"]["count"] for f in report["features"]}
    planted = {
        "validating_opener": "validation_exact",
        "bottom_line_up_front": "bluf",
        "offer_to_go_deeper": "closing_question",
    }
    assert strict == {
        feature: sum(tag in r["metadata"]["planted"] for r in records)
        for feature, tag in planted.items()
    }
