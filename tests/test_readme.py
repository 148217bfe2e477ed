"""The README's commands run as written.

Every `traitlab` or `inspect` command in the README's bash blocks that needs no key is run, in
the README's order, in a scratch directory that holds the checkout's bundled files: a command is
offline when each model it names is a scripted one (or it needs none) and each file it reads is
bundled or written by an earlier command. The others read the user's own files or call a real
provider (`my_traits.md`, `--model openai/...`) and are examples of the syntax only.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.test_walk import walk_block
from traitlab.evals.smoke.scorer import RubricVerdict

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
OUTPUT_OPTIONS = {"-o", "--out", "--output"}
MODEL_OPTIONS = {"--model", "-m", "--model-role"}
VALUE_OPTIONS = OUTPUT_OPTIONS | MODEL_OPTIONS | {"-M", "--model-arg", "-T", "--feature"}
# Commands that call no model unless given one.
MODEL_FREE = {"traits", "lint", "report"}
BUNDLED = ("traitlab/", "examples/")


def readme_commands() -> list[list[str]]:
    """Each `traitlab ...` or `inspect ...` command of the README's bash blocks, as words."""
    commands = []
    text = README.read_text(encoding="utf-8")
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        if block == walk_block():
            continue  # run as a whole, in order, by tests/training/test_walk.py
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] in ("traitlab", "inspect"):
                    commands.append(words)
    return commands


def option_values(words: list[str], options: set[str]) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in options]


def files_read(words: list[str]) -> list[str]:
    """The words that name files or directories the command reads."""
    skip = {i + 1 for i, word in enumerate(words) if word in VALUE_OPTIONS}
    if words[:2] == ["inspect", "eval"]:
        skip.add(2)  # traitlab/<task> is a task name
    return [
        word
        for i, word in enumerate(words)
        if i not in skip
        and not word.startswith("-")
        and ("/" in word or word.endswith((".jsonl", ".md", ".yaml", ".json", ".eval")))
    ]


def offline_commands() -> list[list[str]]:
    offline, written = [], set()
    for words in readme_commands():
        models = option_values(words, MODEL_OPTIONS)
        if any("scripted/" not in model for model in models):
            continue
        if not models and not (words[0] == "traitlab" and words[1] in MODEL_FREE):
            continue
        if all((ROOT / path).exists() or path in written for path in files_read(words)):
            offline.append(words)
            written.update(option_values(words, OUTPUT_OPTIONS))
    return offline


OFFLINE = offline_commands()


def test_the_offline_commands_are_found() -> None:
    """The extraction is not vacuous: the README's offline tour is all there."""
    found = [" ".join(words[:3]) for words in OFFLINE]
    for expected in ("traitlab lint traitlab/", "traitlab traits show", "inspect eval traitlab/"):
        assert any(command.startswith(expected) for command in found), found
    assert any("scripted/demo" in words for words in OFFLINE)
    assert any(words[:2] == ["traitlab", "generate"] for words in OFFLINE)


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_bundled_paths_exist(words: list[str]) -> None:
    """A typo in a bundled path would make a command look like a user example and skip it."""
    for path in files_read(words):
        if path.startswith(BUNDLED) and "<" not in path:
            assert (ROOT / path).exists(), path


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with the checkout's bundled files and nothing else."""
    directory = tmp_path_factory.mktemp("readme")
    for name in ("traitlab", "examples"):
        (directory / name).symlink_to(ROOT / name)
    return directory


@pytest.mark.slow
@pytest.mark.parametrize("words", OFFLINE, ids=" ".join)
def test_offline_command_runs_as_written(words: list[str], scratch: Path) -> None:
    result = subprocess.run(
        [str(BIN / words[0]), *words[1:]],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{shlex.join(words)}\n{result.stderr[-3000:]}"


def test_the_example_judge_verdict_is_complete() -> None:
    """The scripted judge reply the README shows is a verdict the smoke judge accepts."""
    text = README.read_text(encoding="utf-8")
    [example] = [
        found for found in re.findall(r'`("\{\\"explanation.*?\}")`', text) if '\\"met\\"' in found
    ]
    RubricVerdict.model_validate(json.loads(json.loads(example)))
