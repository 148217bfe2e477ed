"""The two rules every traitlab metric inherits: every epoch counts, and missing is not random.

Driven through `inspect_ai.eval` with the smoke task (the simplest judged task) and scripted
targets and judges of our own; the metric code is the same for every eval.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import Epochs
from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.scorer import SampleScore
from inspect_ai.tool import ToolInfo

from tests.helpers import metrics, run_task, scripted
from traitlab.evals.smoke.smoke import smoke
from traitlab.scores import (
    flagged_score,
    mean_ci,
    missing_count,
    partial_score,
    rate,
    scored,
    unscored_score,
)
from traitlab.statistics import wilson_interval

TRAITS = "directness,owning-mistakes,honesty-under-pressure,no-fabrication"
COMMIT = "Yes. I would act on it, because people rely on what I tell them."
DECLINE = "No, I would not do that."


def by_epoch(*replies: str):
    """A target whose n-th answer to the same question is `replies[n % len(replies)]`."""
    seen: Counter[str] = Counter()

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
        question = messages[-1].text
        reply = replies[seen[question] % len(replies)]
        seen[question] += 1
        return reply

    return policy


def verdict(met: bool) -> str:
    return json.dumps({"explanation": "Read the answer against the rubric.", "met": met})


def honest_judge(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
    return verdict(not _response(messages).startswith("No"))


def squeamish_judge(
    messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
) -> str:
    """Refuses to grade exactly the failing answers, as a real judge refuses the ugly ones."""
    if _response(messages).startswith("No"):
        return "I'm not comfortable grading this response."
    return verdict(True)


def _response(messages: list[ChatMessage]) -> str:
    found = re.search(r"<assistant_response>\n(.*?)\n</assistant_response>", messages[0].text, re.S)
    return found.group(1).strip() if found else ""


@pytest.mark.parametrize("reducer", [None, "mean", "median", "max"])
def test_every_epoch_counts_whatever_the_reducer(tmp_path: Path, reducer: str | None) -> None:
    """A target that keeps a trait in 1 of 3 epochs reads 1/3, not 0 (mean 0.33 thresholded)."""
    log = run_task(
        smoke(trait_ids=TRAITS),
        scripted(policy=by_epoch(COMMIT, DECLINE, DECLINE)),
        tmp_path,
        model_roles={"judge": scripted("j", policy=honest_judge)},
        epochs=Epochs(3, reducer) if reducer else 3,
    )
    values = metrics(log)
    assert values["met_rate"] == pytest.approx(1 / 3)
    assert values["met_rate_n"] == 12  # 4 questions x 3 epochs
    # Each question's epochs are one cluster: the interval is wider than 12 independent ones.
    plain = wilson_interval(4, 12)
    assert values["met_rate_ci_high"] - values["met_rate_ci_low"] >= plain.high - plain.low


def test_a_judge_that_refuses_the_failures_cannot_hide_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Graded answers all pass; the bounds say the truth could be anything from 1/3 up."""
    with caplog.at_level(logging.WARNING, logger="traitlab.scores"):
        log = run_task(
            smoke(trait_ids=TRAITS),
            scripted(policy=by_epoch(COMMIT, DECLINE, DECLINE)),
            tmp_path,
            model_roles={"judge": scripted("j", policy=squeamish_judge)},
            epochs=3,
        )
    values = metrics(log)
    assert values["met_rate"] == 1.0 and values["met_rate_n"] == 4
    assert values["unscored"] == 8
    assert values["met_rate_worst_low"] == pytest.approx(4 / 12)  # the truth here
    assert values["met_rate_worst_high"] == 1.0
    # The loud note: Inspect prints logged warnings in its console summary.
    assert any("8 of 12 samples unscored" in r.getMessage() for r in caplog.records)


def test_missing_count_counts_only_unscored_measures() -> None:
    scores = [
        SampleScore(score=scored({"x": 1.0}), sample_id="a"),
        SampleScore(score=unscored_score("judge refused", ["x"]), sample_id="b"),
        SampleScore(score=flagged_score("target never called", ["x"]), sample_id="c"),
        SampleScore(
            score=partial_score("unscored", "judge refused the rest", {"x": 0.0}, ["y"]),
            sample_id="d",
        ),
    ]
    assert missing_count(scores, "x") == 1  # b; c is invalid, d's x is known
    assert missing_count(scores, "y") == 2  # b (nothing graded) and d
    entries = rate("x")(scores)
    assert entries["x_rate"] == 0.5 and entries["x_rate_n"] == 2
    assert (entries["x_rate_worst_low"], entries["x_rate_worst_high"]) == pytest.approx(
        (1 / 3, 2 / 3)
    )


def test_mean_bounds_use_the_scale() -> None:
    scores = [
        SampleScore(score=scored({"grade": 1.0}), sample_id="a"),
        SampleScore(score=scored({"grade": 2.0}), sample_id="b"),
        SampleScore(score=unscored_score("unparseable", ["grade"]), sample_id="c"),
    ]
    entries = mean_ci("grade", scale=(0, 4))(scores)
    assert entries["grade_mean"] == 1.5
    assert (entries["grade_mean_worst_low"], entries["grade_mean_worst_high"]) == (1.0, 7 / 3)
    unscaled = mean_ci("grade")(scores)
    assert unscaled["grade_mean_worst_high"] == pytest.approx(5 / 3)
    assert math.isnan(mean_ci("grade")([scores[2]])["grade_mean_worst_low"])
