"""The lint as a CI gate: exit codes (0 pass, 1 fail, 2 usage/input error or crash, 130 Ctrl-C),
one-line errors checked before the slow steps, an atomic report directory, settings."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lint.helpers import planted_chats
from traitlab.cli import main
from traitlab.errors import InputError
from traitlab.lint import PrescanConfig, lint_dataset
from traitlab.lint.filter import filter_dataset, load_report

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ["--no-clusters"]


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["traitlab", *args])
    code = 0
    try:
        main()
    except SystemExit as ex:
        code = ex.code if isinstance(ex.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    planted_chats(path, 120, opening=0.3, closing=0.1, seed=8)
    return path


@pytest.fixture
def report(data: Path, tmp_path: Path) -> Path:
    out = tmp_path / "report"
    lint_dataset(data, out_dir=out, prescan_config=PrescanConfig(cluster=False))
    return out


def opening_id(report: Path) -> str:
    findings = json.loads((report / "report.json").read_text())["findings"]
    return next(f["id"] for f in findings if f["kind"] == "opening")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "file not found"),
        ("empty_dir", "no .jsonl"),
        ("out_is_file", "existing file"),
        ("out_is_other_dir", "not a lint report"),
        ("out_parent_is_file", "is a file"),
        ("bogus_model", "--model bogus/x"),
        ("no_key", "OPENAI_API_KEY"),
        ("bad_unit", "--unit"),
        ("bad_field", "cannot map"),
    ],
)
def test_lint_errors_are_one_line_exit_2_before_reading(
    case: str,
    message: str,
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZUREAI_OPENAI_API_KEY", raising=False)
    out = tmp_path / "out"
    args = ["lint", str(data), "-o", str(out), *OFFLINE]
    if case == "missing":
        args[1] = str(tmp_path / "nope.jsonl")
    elif case == "empty_dir":
        (tmp_path / "empty").mkdir()
        args[1] = str(tmp_path / "empty")
    elif case == "out_is_file":
        out.write_text("keep me")
    elif case == "out_is_other_dir":
        out.mkdir()
        (out / "thesis.tex").write_text("keep me")
    elif case == "out_parent_is_file":
        (tmp_path / "file").write_text("x")
        args[3] = str(tmp_path / "file" / "out")
    elif case == "bogus_model":
        args += ["--model", "bogus/x"]
    elif case == "no_key":
        args += ["--model", "openai/gpt-4o-mini"]
    elif case == "bad_unit":
        args += ["--unit", "token"]
    elif case == "bad_field":
        args += ["--field", "answer=reply"]
    before = tree_digest(tmp_path)
    read = []
    monkeypatch.setattr("traitlab.lint.pipeline.read_items", lambda *a, **k: read.append(1))
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2
    line = one_line_error(err)
    assert line.startswith("error: ") and message in line and "[bold]" not in line
    assert not read  # checked before the data was read
    assert tree_digest(tmp_path) == before  # nothing written or changed


def test_a_crash_is_one_line_and_exit_2(
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("traitlab.lint.pipeline.Prescan", boom)
    monkeypatch.delenv("TRAITLAB_DEBUG", raising=False)
    code, _, err = run_main(["lint", str(data), "-o", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 2
    assert "internal error (ZeroDivisionError" in one_line_error(err)


def test_ctrl_c_exits_130_and_keeps_the_previous_report(
    data: Path,
    report: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = tree_digest(report)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    # Interrupted while the report is being written: the old one stays, whole.
    monkeypatch.setattr("traitlab.lint.report.render_markdown", interrupted)
    code, _, err = run_main(["lint", str(data), "-o", str(report), *OFFLINE], monkeypatch, capsys)
    assert code == 130
    assert one_line_error(err).startswith("interrupted: ")
    assert tree_digest(report) == before
    assert [p.name for p in report.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_a_real_ctrl_c_during_the_pre_scan(tmp_path: Path, report: Path) -> None:
    big = tmp_path / "big.jsonl"
    planted_chats(big, 100_000, sentences=6, seed=1)
    before = tree_digest(report)
    command = [sys.executable, "-c", "from traitlab.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "lint", str(big), "-o", str(report), *OFFLINE],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    time.sleep(4)  # past the imports; reading and pre-scanning 100k records takes longer
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert one_line_error(err).startswith("interrupted: ")
    assert tree_digest(report) == before


def test_a_failed_write_leaves_the_previous_report(
    data: Path, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_digest(report)

    def full_disk(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("traitlab.lint.report.render_html", full_disk)
    other = data.with_name("other.jsonl")
    planted_chats(other, 50, seed=3)
    with pytest.raises(OSError):
        lint_dataset(other, out_dir=report, prescan_config=PrescanConfig(cluster=False))
    assert tree_digest(report) == before
    assert load_report(report, data).n_items == 120


def test_filter_refuses_labels_that_do_not_belong_to_the_report(
    data: Path, report: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.jsonl"
    planted_chats(other, 80, seed=5)
    lint_dataset(other, out_dir=tmp_path / "r2", prescan_config=PrescanConfig(cluster=False))
    # A directory half replaced: report.json of one run, labels.jsonl of another.
    (report / "labels.jsonl").write_bytes((tmp_path / "r2" / "labels.jsonl").read_bytes())
    with pytest.raises(InputError, match="does not belong"):
        filter_dataset(data, report, tmp_path / "f.jsonl", features=[opening_id(tmp_path / "r2")])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "file not found"),
        ("directory", "one JSONL file"),
        ("out_exists", "--overwrite"),
        ("out_is_dir", "is a directory"),
        ("no_report", "no such report directory"),
    ],
)
def test_filter_errors_are_one_line_exit_2(
    case: str,
    message: str,
    data: Path,
    report: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "filtered.jsonl"
    args = ["lint", "filter", str(data), "--report", str(report), "-o", str(out)]
    args += ["--feature", opening_id(report)]
    if case == "missing":
        args[2] = str(tmp_path / "nope.jsonl")
    elif case == "directory":
        args[2] = str(tmp_path)
    elif case == "out_exists":
        out.write_text("keep me\n")
    elif case == "out_is_dir":
        out.mkdir()
    elif case == "no_report":
        args[4] = str(tmp_path / "nowhere")
    before = tree_digest(tmp_path)
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2
    assert message in one_line_error(err)
    assert tree_digest(tmp_path) == before


def test_outputs_honour_the_umask(data: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "report"
        lint_dataset(data, out_dir=out, prescan_config=PrescanConfig(cluster=False))
        filtered = tmp_path / "filtered.jsonl"
        filter_dataset(data, out, filtered, features=[opening_id(out)])
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o644}
    assert filtered.stat().st_mode & 0o777 == 0o644


def test_malformed_lines_fail_the_check_unless_allowed(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text() + "{broken\n")
    args = ["lint", "check", str(bad), *OFFLINE, "--max-prevalence", "0.9"]
    code, out, _ = run_main(args, monkeypatch, capsys)
    assert code == 1 and "1 malformed lines" in out
    code, out, _ = run_main([*args, "--allow-malformed"], monkeypatch, capsys)
    assert code == 0 and "passed" in out


def test_check_formats_settings_allowlist_baseline_and_artifact(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    check = ["lint", "check", str(data), *OFFLINE]
    code, out, _ = run_main([*check, "--format", "json"], monkeypatch, capsys)
    result = json.loads(out)
    assert code == 1 and not result["passed"] and result["unit"] == "reply"
    ids = [v["id"] for v in result["violations"]]
    longest = max(ids, key=len)
    code, out, _ = run_main(check, monkeypatch, capsys)
    assert code == 1 and any(longest in line.split() for line in out.splitlines())
    code, out, _ = run_main([*check, "--format", "github"], monkeypatch, capsys)
    assert code == 1 and f"::error title=traitlab lint: {ids[0]}::" in out

    # The lower bound of a borderline rate is under the threshold: the gate passes.
    estimate = result["violations"][0]["estimate"]
    low = result["violations"][0]["low"]
    between = str(round((estimate + low) / 2, 3))
    gate = ["--max-prevalence", between, "--prescan-max", between]
    assert run_main([*check, *gate], monkeypatch, capsys)[0] == 1
    assert run_main([*check, *gate, "--gate", "lower"], monkeypatch, capsys)[0] == 0

    # pyproject settings, an allowlist by glob, a baseline of accepted findings.
    Path("pyproject.toml").write_text(
        '[tool.traitlab.lint]\nallow = ["opening_*"]\nmax-prevalence = 0.05\n'
    )
    code, out, _ = run_main([*check, "--format", "json"], monkeypatch, capsys)
    result = json.loads(out)
    assert all(not v["id"].startswith("opening_") for v in result["violations"])
    assert any(v["accepted"] == "allowlist" for v in result["accepted"])
    code, _, _ = run_main([*check, "--write-baseline", "base.json"], monkeypatch, capsys)
    assert code == 1 and json.loads(Path("base.json").read_text())["accepted"]
    code, out, _ = run_main([*check, "--baseline", "base.json", "-o", "art"], monkeypatch, capsys)
    assert code == 0, out
    assert (tmp_path / "art" / "report.json").exists()
    Path("pyproject.toml").write_text("[tool.traitlab.lint]\nmax-prevalance = 0.1\n")
    code, _, err = run_main(check, monkeypatch, capsys)
    assert code == 2 and "unknown setting 'max-prevalance'" in one_line_error(err)


def test_lint_help_shows_the_main_commands_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(["lint", "--help"], monkeypatch, capsys)
    assert code == 0 and "--model" in out and "--unit" in out and "lint check" in out
