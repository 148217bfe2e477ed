"""The judge helper retries, then gives a missing score (never a zero) that metrics count."""

from __future__ import annotations

import json
import math
from pathlib import Path

from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate
from pydantic import BaseModel

from tests.helpers import metrics, run_task, scripted
from traitlab.evals.smoke.scorer import rubric_judge
from traitlab.judging import ask_judge


class Verdict(BaseModel):
    ok: bool
    quote: str


async def test_retry_after_garbage_then_success() -> None:
    judge = scripted(replies=["garbage", json.dumps({"ok": True, "quote": "q"})])
    result = await ask_judge(judge, "grade this", Verdict)
    assert result.ok and result.verdict.quote == "q"
    assert result.replies == ["garbage", '{"ok": true, "quote": "q"}']


async def test_check_rejects_then_gives_up_with_reason() -> None:
    bad = json.dumps({"ok": True, "quote": "not in transcript"})
    judge = scripted(replies=[bad, bad])
    result = await ask_judge(
        judge,
        "grade",
        Verdict,
        retries=1,
        check=lambda v: "quote not found" if v.quote != "real" else None,
    )
    assert result.verdict is None
    assert "quote not found" in result.error and "2 attempts" in result.error


async def test_retry_message_carries_the_reason() -> None:
    seen: list[str] = []

    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        seen.append(messages[-1].text)
        assert config.temperature == 0.0
        return "no json here" if len(seen) == 1 else '{"ok": false, "quote": "x"}'

    result = await ask_judge(scripted(policy=policy), "grade", Verdict)
    assert result.ok
    assert "could not be used (unparseable judge reply: no JSON object found" in seen[1]


def _task(n: int = 4) -> Task:
    samples = [Sample(id=i, input=f"question {i}") for i in range(n)]
    return Task(dataset=samples, solver=generate(), scorer=rubric_judge("Answers politely."))


def test_garbage_judge_gives_unscored_not_zero(tmp_path: Path) -> None:
    target = scripted("target", policy=lambda m, t, c: "Certainly, happy to help.")
    judge = scripted("judge", policy=lambda m, t, c: "I refuse to produce JSON.")
    log = run_task(_task(), target, tmp_path, model_roles={"judge": judge})
    values = metrics(log)
    assert values["unscored"] == 4
    assert values["met_rate_n"] == 0 and math.isnan(values["met_rate"])
    for sample in log.samples:
        score = sample.scores["rubric_judge"]
        assert math.isnan(score.value["met"]) and score.value["unscored"] == 1
        assert "unparseable judge reply" in score.reason
        assert len(score.metadata["judge_replies"]) == 3


def test_mixed_judge_counts_only_graded_samples(tmp_path: Path) -> None:
    def judge_policy(messages, tools, config):  # noqa: ANN001, ANN202
        text = messages[0].text
        if "<finding>" in text:  # as the verifier of a "met" verdict
            return json.dumps({"explanation": "it does", "confirmed": True})
        if "question 0" in text:
            return "garbage"
        return json.dumps({"explanation": "fine", "met": "question 1" not in text})

    target = scripted("target", policy=lambda m, t, c: f"Answer to {m[-1].text}")
    log = run_task(
        _task(), target, tmp_path, model_roles={"judge": scripted("judge", policy=judge_policy)}
    )
    values = metrics(log)
    assert values["unscored"] == 1
    assert values["met_rate_n"] == 3 and values["met_rate"] == 2 / 3
    assert 0 < values["met_rate_ci_low"] < 2 / 3 < values["met_rate_ci_high"] <= 1


def test_missing_judge_role_is_a_clear_error(tmp_path: Path) -> None:
    from inspect_ai import eval

    target = scripted("target", policy=lambda m, t, c: "hi")
    [log] = eval(_task(1), model=target, log_dir=str(tmp_path), display="none")
    assert log.status == "error"
    assert "model role 'judge' is not set" in log.error.message


async def test_a_rejected_verdict_is_sent_back_only_as_often_as_rejections_allow() -> None:
    bad = json.dumps({"ok": True, "quote": "invented"})
    judge = scripted(replies=[bad, bad, json.dumps({"ok": True, "quote": "real"})])
    result = await ask_judge(
        judge,
        "grade",
        Verdict,
        retries=2,
        rejections=1,
        check=lambda v: "quote not found" if v.quote != "real" else None,
    )
    assert result.verdict is None and len(result.replies) == 2
    assert "quote not found" in result.error and "2 attempts" in result.error
