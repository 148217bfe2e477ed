"""A lint feature as an Inspect scorer: the pattern's rate in a checkpoint's outputs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate

from tests.helpers import metrics, run_task, scripted
from tests.lint.helpers import VALIDATION, LintPolicy
from traitlab.errors import InputError
from traitlab.lint.scorer import pattern_metrics, pattern_rate

FEATURES = Path(__file__).parent / "features.json"


def target(messages, tools, config) -> str:
    question = messages[-1].text
    return f"{VALIDATION} About {question}" if "odd" in question else f"Plainly: {question}"


def test_pattern_rate_reports_each_feature_with_intervals(tmp_path: Path) -> None:
    samples = [Sample(input=f"{'odd' if i % 2 else 'even'} question {i}") for i in range(10)]
    task = Task(
        dataset=MemoryDataset(samples),
        solver=generate(),
        scorer=pattern_rate(str(FEATURES)),
    )
    judge = LintPolicy(garble="question 4")
    log = run_task(
        task,
        scripted("target", policy=target),
        tmp_path,
        model_roles={"judge": scripted("judge", policy=judge)},
    )
    values = metrics(log, "pattern_rate")
    # Sample 4 stays unscored (judge unusable after retries), never counted as "none".
    assert values["unscored"] == 1 and values["flagged"] == 0
    assert values["validating_opener_strict_rate"] == 5 / 9
    assert values["validating_opener_strict_rate_n"] == 9
    assert values["validating_opener_broad_rate"] == 5 / 9
    assert values["offer_to_go_deeper_strict_rate"] == 0
    low = values["validating_opener_strict_rate_ci_low"]
    high = values["validating_opener_strict_rate_ci_high"]
    assert low < 5 / 9 < high


def test_pattern_rate_accepts_a_rubric_file_and_a_selection(tmp_path: Path) -> None:
    rubric = tmp_path / "validates.md"
    rubric.write_text("---\nname: Validating opener\n---\nOpens by validating feelings.\n")
    samples = [Sample(input=f"odd question {i}") for i in range(3)]
    task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=pattern_rate(str(rubric)))
    log = run_task(
        task,
        scripted("target", policy=target),
        tmp_path,
        model_roles={"judge": scripted("judge", policy=LintPolicy())},
    )
    values = metrics(log, "pattern_rate")
    assert values["validating_opener_strict_rate"] == 1.0
    with pytest.raises(InputError, match="unknown feature ids"):
        pattern_rate(str(FEATURES), "nope")


def test_declared_keys_are_reported_before_any_score() -> None:
    """Inspect's live display resolves the task's headline before the first sample is scored."""
    [rates, *_] = pattern_metrics(["validating_opener"])
    entries = rates([])
    assert set(entries) >= {"validating_opener_strict_rate", "validating_opener_broad_rate_n"}
    assert entries["validating_opener_strict_rate_n"] == 0
    assert math.isnan(entries["validating_opener_strict_rate"])
