"""The lint as a CI gate: exit codes (0 pass, 1 fail, 2 usage/input error or crash, 130 Ctrl-C),
one-line errors checked before the slow steps, an atomic report directory, settings."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lint.helpers import planted_chats
from traitlab.cli import main
from traitlab.errors import InputError
from traitlab.lint import lint_dataset
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


STAGE = re.compile(r"^(pre-scan|scan|autorate|probes|report): ")


def one_line_error(err: str) -> str:
    """The one line a failure prints (after any stage lines, printed when stderr is no terminal)."""
    lines = [line for line in err.splitlines() if line.strip() and not STAGE.match(line)]
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
    lint_dataset(data, out_dir=out, clusters=False)
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
@pytest.mark.parametrize("stage", ["pre-scan: reading", "pre-scan: counting"])
def test_a_real_ctrl_c_during_the_pre_scan(tmp_path: Path, report: Path, stage: str) -> None:
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
    assert process.stderr is not None
    # The stage's own line (stderr is a pipe, so the lint prints stage lines, not bars): no
    # guess of how fast this machine reads.
    seen = []
    while not any(line.startswith(stage) for line in seen):
        line = process.stderr.readline()
        assert line, f"the lint ended before {stage!r}: {seen}"
        seen.append(line)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert one_line_error(err).startswith("interrupted: ")
    assert tree_digest(report) == before


@pytest.mark.slow
def test_a_finished_lint_exits_at_once(tmp_path: Path) -> None:
    """The report is complete when the last line prints: the process is gone right after it
    (no seconds of interpreter teardown in which a Ctrl-C would turn a pass into 130)."""
    data = tmp_path / "data.jsonl"
    planted_chats(data, 200, seed=2)
    command = [sys.executable, "-c", "from traitlab.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "lint", str(data), "-o", str(tmp_path / "r"), *OFFLINE],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    last = time.monotonic()
    for _ in process.stdout:
        last = time.monotonic()
    process.wait(timeout=60)
    assert process.returncode == 0
    assert time.monotonic() - last < 1.0  # about 3 s of module teardown before


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
        lint_dataset(other, out_dir=report, clusters=False)
    assert tree_digest(report) == before
    assert load_report(report, data).n_items == 120


def test_filter_refuses_labels_that_do_not_belong_to_the_report(
    data: Path, report: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.jsonl"
    planted_chats(other, 80, seed=5)
    lint_dataset(other, out_dir=tmp_path / "r2", clusters=False)
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
        lint_dataset(data, out_dir=out, clusters=False)
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
    assert code == 1 and f",title=traitlab lint%3A {ids[0]}::" in out
    assert "%25 [" in out and "::notice title=traitlab lint%3A what was checked::" in out

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


def test_work_directories_of_a_killed_run_are_swept(data: Path, report: Path) -> None:
    """kill -9 runs no cleanup: the next run removes what a dead writer left beside the report
    (and puts the previous report back if it died mid-swap), and leaves a live writer's alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        parent = report.parent
        stale = [parent / f".report.new-{dead.pid}-x1", parent / f".report.old-{dead.pid}-x2"]
        live = parent / f".report.new-{alive.pid}-x3"
        for directory in [*stale, live]:
            directory.mkdir()
            (directory / "report.json").write_text("{}")
        lint_dataset(data, out_dir=report, clusters=False, show_progress=False)
        assert not any(p.exists() for p in stale) and live.exists()
        # Died between moving the report aside and moving the new one in.
        moved = parent / f".report.old-{dead.pid}-x4"
        os.replace(report, moved)
        before = tree_digest(moved)
        lint_dataset(data, out_dir=report, clusters=False, show_progress=False)
        assert not moved.exists() and report.is_dir() and tree_digest(report) != {}
        assert set(tree_digest(report)) == set(before)
    finally:
        alive.kill()
        alive.wait()


def test_a_baseline_named_in_pyproject_can_be_created_and_survives_a_kind_change(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text('[tool.traitlab.lint]\nbaseline = "lint-baseline.json"\n')
    check = ["lint", "check", str(data), *OFFLINE]
    code, _, err = run_main(check, monkeypatch, capsys)
    assert code == 2 and "--write-baseline" in one_line_error(err)
    code, _, _ = run_main([*check, "--write-baseline", "lint-baseline.json"], monkeypatch, capsys)
    accepted = json.loads(Path("lint-baseline.json").read_text())["accepted"]
    assert code == 1 and any(key.startswith("opening_") for key in accepted)
    assert run_main(check, monkeypatch, capsys)[0] == 0
    # The same words come back as another kind of finding: still the accepted pattern.
    renamed = {key.replace("opening_", "phrase_", 1): rate for key, rate in accepted.items()}
    Path("lint-baseline.json").write_text(json.dumps({"accepted": renamed}))
    assert run_main(check, monkeypatch, capsys)[0] == 0


def test_a_pass_of_the_offline_gate_says_what_it_could_not_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """60% of replies end by offering more help, each in its own words: no wording repeats, so
    the offline gate passes, and its output says it cannot see such a habit."""
    import random

    from tests.lint.helpers import VOCABULARY, sentence

    rng = random.Random(3)
    verbs = ["expand on", "walk through", "dig into", "unpack", "go over", "explain", "detail"]
    objects = ["any part", "the steps", "some point", "one piece", "a section", "the rest"]
    rows = []
    for _ in range(300):
        reply = " ".join(sentence(rng) for _ in range(3))
        if rng.random() < 0.6:
            who = rng.choice(["Shall I", "Want me to", "Happy to", "I could", "Should I"])
            reply += f" {who} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(VOCABULARY)}?"
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": reply},
                ]
            }
        )
    data = tmp_path / "offers.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, _ = run_main(
        ["lint", "check", str(data), *OFFLINE, "--format", "json"], monkeypatch, capsys
    )
    result = json.loads(out)
    assert code == 0 and result["passed"]
    assert any("pre-scan" in check for check in result["checks"])
    assert any(
        "worded differently" in blind and "--model" in blind for blind in result["cannot_see"]
    )
    code, out, _ = run_main(["lint", "check", str(data), *OFFLINE], monkeypatch, capsys)
    assert code == 0 and "cannot see: habits worded differently" in " ".join(out.split())
