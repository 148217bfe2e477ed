"""The README's GitHub Actions job and the pre-commit hook run as written (on test data)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from tests.lint.helpers import VALIDATION, planted_chats, topical_chats
from traitlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["traitlab", *args])
    try:
        main()
    except SystemExit as ex:
        return ex.code if isinstance(ex.code, int) else 1
    return 0


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose data/sft.jsonl has one planted opening in 30% of replies."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    planted_chats(tmp_path / "data" / "sft.jsonl", 150, opening=0.3, closing=0.0, seed=4)
    planted_chats(tmp_path / "data" / "clean.jsonl", 150, opening=0.0, closing=0.0, seed=5)
    return tmp_path


def test_the_github_actions_job(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    [workflow] = [b for b in blocks("yaml") if "lint-data" in b]
    steps = yaml.safe_load(workflow)["jobs"]["lint"]["steps"]
    [command] = [s["run"] for s in steps if s.get("run", "").startswith("traitlab lint check")]
    args = shlex.split(command)[1:] + ["--no-clusters"]  # no embedding model in this test
    assert run(args, monkeypatch) == 1
    out = capsys.readouterr().out
    # The annotation sits on a line of the input that shows the finding.
    found = re.search(
        r"^::error file=data/sft.jsonl,line=(\d+),title=traitlab lint%3A opening_i_hear", out, re.M
    )
    assert found, out
    line = (repo / "data" / "sft.jsonl").read_text().splitlines()[int(found.group(1)) - 1]
    assert json.loads(line)["messages"][1]["content"].startswith(VALIDATION)
    assert (repo / "lint-report" / "report.json").exists()  # the artifact
    clean = [a.replace("data/sft.jsonl", "data/clean.jsonl") for a in args]
    assert run(clean, monkeypatch) == 0


@pytest.mark.slow
def test_the_github_actions_job_as_written_passes_clean_data(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """With opening clusters on (the embedding model): clean replies on four subjects form
    topic clusters over the threshold, which are reported and never fail the gate."""
    [workflow] = [b for b in blocks("yaml") if "lint-data" in b]
    steps = yaml.safe_load(workflow)["jobs"]["lint"]["steps"]
    [command] = [s["run"] for s in steps if s.get("run", "").startswith("traitlab lint check")]
    topical_chats(repo / "data" / "sft.jsonl", 300, seed=1)
    assert run(shlex.split(command)[1:], monkeypatch) == 0, capsys.readouterr().out
    report = json.loads((repo / "lint-report" / "report.json").read_text())
    clusters = [f for f in report["findings"] if f["kind"] == "cluster"]
    assert any(f["rate"]["estimate"] > 0.2 for f in clusters)  # topics, above the threshold
    assert all(f["structure"] is None for f in clusters)


def test_the_pre_commit_hook_with_pyproject_settings(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [config] = [b for b in blocks("yaml") if "pre-commit-config" in b]
    assert yaml.safe_load(config)["repos"][0]["hooks"][0]["id"] == hook["id"]
    [toml] = [b for b in blocks("toml") if "[tool.traitlab.lint]" in b]
    (repo / "pyproject.toml").write_text(toml)
    (repo / "lint-baseline.json").write_text('{"accepted": {}}')
    files = [str(p.relative_to(repo)) for p in sorted((repo / "data").iterdir())]
    assert all(re.search(hook["files"], f) for f in files)
    entry = shlex.split(hook["entry"])[1:]
    # The README's settings allow nothing planted here, and gate on the lower bound at 30%.
    assert run([*entry, *files], monkeypatch) == 0, capsys.readouterr().out
    (repo / "pyproject.toml").write_text("[tool.traitlab.lint]\nmax-prevalence = 0.1\n")
    assert run([*entry, *files], monkeypatch) == 1
