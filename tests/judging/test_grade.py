"""The judging core's second opinions: verifier, second judge, and the metrics over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai.dataset import Sample
from inspect_ai.model import Model
from inspect_ai.scorer import SampleScore, Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState, generate
from pydantic import BaseModel

from tests.helpers import metrics, run_task, scripted
from traitlab.judging import (
    Finding,
    judge_agreement,
    judge_sample,
    panel_failures,
    second_judge_chosen,
    second_judge_record,
    second_opinion,
    verification,
)
from traitlab.statistics import agreement


def test_the_second_judges_share_is_deterministic_by_sample_id() -> None:
    ids = [f"sample-{i}" for i in range(2000)]
    chosen = [i for i in ids if second_judge_chosen(i, 0.25)]
    assert chosen == [i for i in ids if second_judge_chosen(i, 0.25)]  # every epoch, every run
    assert 0.22 < len(chosen) / len(ids) < 0.28
    assert set(chosen) <= {i for i in ids if second_judge_chosen(i, 0.5)}  # shares nest
    assert not any(second_judge_chosen(i, 0.0) for i in ids)
    assert all(second_judge_chosen(i, 1.0) for i in ids)


class Verdict(BaseModel):
    violated: bool
    quote: str | None = None


def findings(verdict: Verdict) -> list[Finding]:
    if not verdict.violated:
        return []
    return [Finding(measures=["violated"], claim="it broke", quote=verdict.quote, context="c")]


async def test_judge_sample_verifies_only_positive_findings() -> None:
    asked: list[str] = []

    def verifier(messages, tools, config):  # noqa: ANN001, ANN202
        asked.append(messages[-1].text)
        return json.dumps({"explanation": "no", "confirmed": False})

    judge = scripted("judge", replies=['{"violated": false}', '{"violated": true, "quote": "q"}'])
    kwargs = {"sample_id": 1, "judge": judge, "findings": findings}
    # Outside a task no verifier role is bound: the judge's own model verifies.
    negative = await judge_sample("grade", Verdict, **kwargs)
    assert negative.verdict == Verdict(violated=False) and not negative.unconfirmed
    assert asked == []  # a negative grade costs no verifier call
    positive = await judge_sample(
        "grade",
        Verdict,
        sample_id=1,
        judge=scripted(
            "judge",
            policy=lambda m, t, c: (
                json.dumps({"violated": True, "quote": "q"})
                if "<finding>" not in m[-1].text
                else verifier(m, t, c)
            ),
        ),
        findings=findings,
        grades=lambda v: {"violated": v.violated},
    )
    assert positive.unconfirmed == {"violated"}
    assert positive.record()["verification"][0]["confirmed"] is False
    assert "<quoted_evidence>\nq\n</quoted_evidence>" in asked[0]


def score(sample_id: str, metadata: dict) -> SampleScore:
    return SampleScore(score=Score(value=1.0, metadata=metadata), sample_id=sample_id)


def test_agreement_metric_pools_per_turn_keys_and_matches_the_statistics() -> None:
    judge = [4, 3, 1, 0, 2, 4, 1, 0]
    judge2 = [4, 2, 1, 0, 2, 3, 1, 1]
    scores = [
        score(
            f"s{sample}",
            {
                "agreement": {
                    f"confirmation[turn={turn}]": {
                        "judge": judge[2 * sample + turn - 1],
                        "judge2": judge2[2 * sample + turn - 1],
                    }
                    for turn in (1, 2)
                }
            },
        )
        for sample in range(4)
    ]
    scores.append(score("s9", {}))  # not chosen for the second judge
    values = judge_agreement()(scores)
    expected = agreement(
        judge,
        judge2,
        weights="quadratic",
        categories=[0, 1, 2, 3, 4],
        clusters=[f"s{i // 2}" for i in range(8)],
    )
    assert values["judge2_samples"] == 4
    assert values["judge2_kappa(measure=confirmation)"] == pytest.approx(expected.kappa.estimate)
    assert values["judge2_kappa_ci_low(measure=confirmation)"] == pytest.approx(expected.kappa.low)
    assert values["judge2_accuracy(measure=confirmation)"] == pytest.approx(5 / 8)
    assert values["judge2_disagreements(measure=confirmation)"] == 3


def test_agreement_metric_keeps_ungiven_grades_on_the_scale() -> None:
    # Grades 1 and 4 only ever meet 0: with the gaps kept, 1 against 4 is three steps apart,
    # not neighbours, so this kappa is the one over the whole 0..4 scale.
    judge = [0, 1, 4, 4, 1, 0]
    judge2 = [0, 4, 1, 4, 1, 0]
    scores = [
        score(f"s{i}", {"agreement": {"severity": {"judge": a, "judge2": b}}})
        for i, (a, b) in enumerate(zip(judge, judge2, strict=True))
    ]
    values = judge_agreement()(scores)
    whole = agreement(judge, judge2, weights="quadratic", categories=[0, 1, 2, 3, 4])
    seen_only = agreement(judge, judge2, weights="quadratic", categories=[0, 1, 4])
    assert values["judge2_kappa(measure=severity)"] == pytest.approx(whole.kappa.estimate)
    assert whole.kappa.estimate != pytest.approx(seen_only.kappa.estimate)


def test_agreement_metric_reads_booleans_unweighted_and_drops_missing_pairs() -> None:
    pairs = [(True, True), (False, False), (True, False), (None, True), (False, False)]
    scores = [
        score(f"s{i}", {"agreement": {"violated": {"judge": a, "judge2": b}}})
        for i, (a, b) in enumerate(pairs)
    ]
    values = judge_agreement()(scores)
    expected = agreement([1, 0, 1, 0], [1, 0, 0, 0])
    assert values["judge2_kappa(measure=violated)"] == pytest.approx(expected.kappa.estimate)
    assert values["judge2_accuracy_n(measure=violated)"] == 4
    assert values["judge2_disagreements(measure=violated)"] == 1


def test_verification_and_panel_failures_are_metrics() -> None:
    checks = [{"confirmed": True}, {"confirmed": False}, {"confirmed": None}]
    scores = [
        score("a", {"verification": checks, "panel_failures": {"judge#2": "unparseable"}}),
        score("b", {"verification": [], "panel_failures": {}}),
        score("c", {"panel_failures": {"x": "e", "y": "e"}}),
    ]
    assert verification()(scores) == {"findings_verified": 1, "findings_unverified": 2}
    assert panel_failures()(scores) == {"panel_failed_judges": 3, "panel_incomplete": 2}


# judge2's self-exclusion, through a whole task: a scorer that grades with `judge_sample` and,
# beside it, asks `second_opinion` (the panel evals' path), as every eval does.
def grading_task() -> Task:
    @scorer(metrics=[judge_agreement()])
    def both_paths() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            kwargs = {"sample_id": state.sample_id, "grades": lambda v: {"violated": v.violated}}
            grade = await judge_sample("grade", Verdict, **kwargs, judge2_share=1.0)
            second = await second_opinion("grade", Verdict, **kwargs, judge2_share=1.0)
            alongside = second_judge_record({}, second) if second is not None else {}
            return Score(value=1.0, metadata={**grade.record(), "alongside": alongside or None})

        return score

    return Task(dataset=[Sample(input="hi", id="s1")], solver=generate(), scorer=both_paths())


def never_violated(calls: list[str]) -> Model:
    def policy(messages, tools, config):  # noqa: ANN001, ANN202
        calls.append(messages[-1].text)
        return json.dumps({"violated": False})

    return scripted("model", policy=policy)


@pytest.mark.parametrize("judge2_name", ["model", "other"])
def test_a_second_judge_that_is_the_model_under_test_is_left_out(
    tmp_path: Path, judge2_name: str
) -> None:
    judge2_calls: list[str] = []
    judge2 = never_violated(judge2_calls)
    if judge2_name == "other":
        judge2 = scripted("other", policy=lambda *a: json.dumps({"violated": False}))
    log = run_task(
        grading_task(),
        scripted("model", replies=["hello"]),  # the target: scripted/model
        tmp_path,
        model_roles={"judge": never_violated([]), "judge2": judge2},
    )
    [sample] = log.samples
    metadata = sample.scores["both_paths"].metadata
    values = metrics(log)
    if judge2_name == "other":
        assert values["judge2_samples"] == 1 and "judge2_excluded" not in metadata
        return
    # The judge (also scripted/model here) grades as bound; judge2 never grades itself.
    assert judge2_calls == []
    assert values["judge2_samples"] == 0
    assert "agreement" not in metadata
    for record in (metadata, metadata["alongside"]):
        assert "is the model under test" in record["judge2_excluded"]
    assert any(
        "judge2 (scripted/model) is the model under test" in str(getattr(e, "data", ""))
        for e in sample.events
    )
