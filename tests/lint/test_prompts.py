"""The lint's prompts are files, and each can be replaced from the library and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import scripted
from tests.lint.helpers import LintPolicy, planted_chats
from traitlab.cli import app
from traitlab.errors import InputError
from traitlab.lint import lint_dataset
from traitlab.lint.autorate import RATING_PROMPT
from traitlab.lint.discover import MERGE_PROMPT, SCAN_PROMPT
from traitlab.lint.scorer import pattern_rate

FEATURES = Path(__file__).parent / "features.json"
FAST = {"clusters": False, "cache": False, "show_progress": False}
runner = CliRunner()


@pytest.mark.parametrize(
    ("prompt", "placeholders"),
    [
        (SCAN_PROMPT, {"count", "min_items", "items"}),
        (MERGE_PROMPT, {"patterns"}),
        (RATING_PROMPT, {"features", "context", "item", "ids", "example"}),
    ],
)
def test_the_bundled_prompts_are_files_with_their_placeholders(prompt, placeholders) -> None:  # type: ignore[no-untyped-def]
    assert prompt.source.endswith(f"lint/prompts/{prompt.name}.md")
    assert prompt.placeholders == placeholders
    assert prompt.purpose


class Recording(LintPolicy):
    """LintPolicy that keeps every prompt it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []

    def __call__(self, messages, tools, config):  # type: ignore[no-untyped-def]
        self.prompts.append(messages[0].text)
        return super().__call__(messages, tools, config)


def marked(prompt: Path, marker: str, tmp_path: Path) -> Path:
    """A copy of a bundled prompt file with a house instruction added."""
    path = tmp_path / f"house_{prompt.name}"
    path.write_text(prompt.read_text() + f"\n{marker}\n")
    return path


@pytest.mark.slow
def test_each_prompt_is_replaced_from_the_library(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 60, seed=2)
    policy = Recording()
    overrides = {
        f"{prompt.name}_prompt": marked(Path(prompt.source), f"HOUSE {prompt.name}", tmp_path)
        for prompt in (SCAN_PROMPT, MERGE_PROMPT, RATING_PROMPT)
    }
    report = lint_dataset(
        data,
        model=scripted("house", policy=policy),
        sample=20,
        batch_tokens=800,
        max_batches=3,
        **overrides,
        **FAST,
    )
    assert report.features
    scans = [p for p in policy.prompts if "items from it" in p]
    merges = [p for p in policy.prompts if "Merge them into one feature" in p]
    ratings = [p for p in policy.prompts if "<item>\n" in p]
    assert scans and all("HOUSE scan" in p for p in scans)
    assert merges and all("HOUSE merge" in p for p in merges)
    assert ratings and all("HOUSE rating" in p for p in ratings)


def test_a_bad_override_is_one_line_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"uses \$verdict, which is not filled in"):
        lint_dataset(
            tmp_path / "missing.jsonl",
            model=scripted("bad", policy=LintPolicy()),
            rating_prompt="Rate $item as $verdict",
            **FAST,
        )
    with pytest.raises(InputError, match=r"\$verdict"):
        pattern_rate(str(FEATURES), rating_prompt="Rate $item as $verdict")


def test_prompts_are_replaced_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    planted_chats(data, 40, seed=3)
    bad = tmp_path / "bad.md"
    bad.write_text("Patterns in $items, $nonsense")
    demo = ["--model", "scripted/demo", "-M", "policy=traitlab.lint.demo:policy"]
    common = ["lint", str(data), "-o", str(tmp_path / "out"), *demo, "--no-cache"]
    result = runner.invoke(app, [*common, "--no-clusters", "--scan-prompt", str(bad)])
    assert result.exit_code == 2
    assert "$nonsense" in result.output and "Traceback" not in result.output
    house = marked(Path(RATING_PROMPT.source), "Our house rules apply.", tmp_path)
    options = ["--features", str(FEATURES), "--sample", "10", "--no-clusters", "--no-probe"]
    result = runner.invoke(app, [*common, *options, "--rating-prompt", str(house)])
    assert result.exit_code == 0, result.output
