"""`-T patterns=PATH` adds the lint's pattern rate to trait_knowledge, capability_sxs, tool_use."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

from tests.helpers import metrics, run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.capability_sxs.capability_sxs import capability_sxs
from traitlab.evals.tool_use.tool_use import tool_use
from traitlab.evals.trait_knowledge.trait_knowledge import trait_knowledge

RUBRIC = "---\nid: leads_with_verdict\n---\nThe answer opens with a one-word verdict.\n"


def judge(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    """Rates the pattern from the item's first word; any other grading gets a neutral verdict."""
    prompt = messages[0].text
    if item := re.search(r"<item>\n(.*?)\n</item>", prompt, re.S):
        level = "strict" if item.group(1).startswith("No.") else "none"
        return json.dumps({"ratings": {"leads_with_verdict": level}})
    return json.dumps({"points": [], "explanation": "neutral", "better": "tie", "declined": True})


def sometimes_verdict_first(
    messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
) -> str:
    """Leads with a verdict on about half the prompts (by the prompt's length)."""
    if len(messages[-1].text) % 2:
        return "No. That premise does not hold."
    return "Let me think about that with you."


TASKS: dict[str, Callable[..., Task]] = {
    "trait_knowledge": trait_knowledge,
    "capability_sxs": capability_sxs,
    "tool_use": tool_use,
}


@pytest.mark.parametrize("name", TASKS)
def test_pattern_rate_is_scored_on_the_targets_outputs(tmp_path: Path, name: str) -> None:
    rubric = tmp_path / "verdict.md"
    rubric.write_text(RUBRIC)
    log = run_task(
        TASKS[name](patterns=str(rubric)),
        scripted(policy=sometimes_verdict_first),
        tmp_path,
        model_roles={
            "judge": scripted("j", policy=judge),
            "baseline": scripted("b", policy=sometimes_verdict_first),
        },
        limit=6,
    )
    assert [s.name for s in log.results.scores][-1] == "pattern_rate"
    leads = [s.output.completion.startswith("No.") for s in log.samples]
    assert 0 < sum(leads) < len(leads)
    values = metrics(log, "pattern_rate")
    assert values["leads_with_verdict_strict_rate"] == pytest.approx(sum(leads) / len(leads))
    assert values["leads_with_verdict_strict_rate_n"] == 6


@pytest.mark.parametrize("name", TASKS)
def test_a_bad_patterns_file_fails_before_any_model_is_called(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="features file not found"):
        TASKS[name](patterns=str(tmp_path / "missing.json"))


class VerdictOnFirstReply:
    """Leads with a verdict on the first of its replies to each prompt only."""

    def __init__(self) -> None:
        self.replies: Counter[str] = Counter()

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        self.replies[messages[-1].text] += 1
        if self.replies[messages[-1].text] == 1:
            return "No. That premise does not hold."
        return "Let me think about that with you."


def test_every_reply_counts_under_epochs(tmp_path: Path) -> None:
    """The pattern in 1 of 3 replies to every prompt: a mean reducer made each 0.33, which a
    0.5 threshold read as 0.000; every reply counts, clustered by prompt."""
    rubric = tmp_path / "verdict.md"
    rubric.write_text(RUBRIC)
    log = run_task(
        trait_knowledge(patterns=str(rubric)),
        scripted(policy=VerdictOnFirstReply()),
        tmp_path,
        model_roles={"judge": scripted("j", policy=judge)},
        limit=4,
        epochs=3,
    )
    leads = [s.output.completion.startswith("No.") for s in log.samples]
    assert (sum(leads), len(leads)) == (4, 12)  # reduced by Inspect's default, the mean
    values = metrics(log, "pattern_rate")
    assert values["leads_with_verdict_strict_rate"] == pytest.approx(1 / 3)
    assert values["leads_with_verdict_strict_rate_n"] == 12
    assert values["leads_with_verdict_strict_rate_ci_low"] > 0
