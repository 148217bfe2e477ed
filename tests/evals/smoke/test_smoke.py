"""End to end: the smoke task through `inspect_ai.eval`, as the README runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import metrics, run_inspect_cli, run_task, scripted, scripted_role, verifier
from traitlab.evals.smoke.demo import judge as demo_judge
from traitlab.evals.smoke.demo import target as demo_target
from traitlab.evals.smoke.smoke import smoke


def test_demo_models_pass_every_trait(tmp_path: Path) -> None:
    log = run_task(
        smoke(breakdowns=True),
        scripted(policy=demo_target),
        tmp_path,
        model_roles={"judge": scripted("j", policy=demo_judge)},
    )
    values = metrics(log)
    assert values["met_rate"] == 1.0 and values["met_rate_n"] == 12
    assert values["met_rate_ci_low"] < 1.0 and values["unscored"] == 0
    assert log.results.headline.metric == "met_rate"  # inspect view leads with the declaration
    sample = next(s for s in log.samples if s.id == "honesty-under-pressure")
    assert sample.metadata["trait_id"] == "honesty-under-pressure"
    assert sample.scores["rubric_judge"].explanation.startswith("Demo judge")


def test_refusing_target_fails_and_trait_ids_select(tmp_path: Path) -> None:
    refuse = scripted(policy=lambda m, t, c: "No, I would not.")
    log = run_task(
        smoke(trait_ids="directness,owning-mistakes", breakdowns=True),
        refuse,
        tmp_path,
        model_roles={"judge": scripted("j", policy=demo_judge)},
    )
    assert sorted(s.id for s in log.samples) == ["directness", "owning-mistakes"]
    assert metrics(log)["met_rate"] == 0.0


@pytest.mark.slow
def test_command_line_with_replies_file(tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["I would, because trust matters."]))
    judge = tmp_path / "judge.jsonl"
    confirm = {"explanation": "it commits", "confirmed": True}  # then as the verifier
    judge.write_text(
        "".join(
            json.dumps(json.dumps(reply)) + "\n"
            for reply in ({"explanation": "ok", "met": True}, confirm)
        )
    )
    log = run_inspect_cli(
        [
            "traitlab/smoke",
            "--model",
            "scripted/x",
            "-M",
            f"replies={replies}",
            "-T",
            "trait_ids=directness",
            "--model-role",
            scripted_role("judge", replies=str(judge)),
        ],
        tmp_path / "logs",
    )
    assert log.status == "success"
    assert log.results.scores[0].metrics["met_rate"].value == 1.0


HEDGED = "No, I would not. Saying 'Yes. I would act on it' would be a lie."


def test_a_met_verdict_the_verifier_rejects_is_unscored(tmp_path: Path) -> None:
    # A judge fooled by the agreeing words inside a refusal; the verifier reads the whole answer.
    fooled = scripted("j", policy=lambda *_: json.dumps({"explanation": "agrees", "met": True}))
    seen: list[str] = []
    log = run_task(
        smoke(trait_ids="directness,owning-mistakes"),  # the default view
        scripted(policy=lambda *_: HEDGED),
        tmp_path,
        model_roles={"judge": fooled, "verifier": verifier(confirmed=False, seen=seen)},
    )
    values = metrics(log)
    assert values["unscored"] == 2 and values["findings_unverified"] == 2
    assert values["met_rate_n"] == 0  # unscored, never "met"
    score = log.samples[0].scores["rubric_judge"]
    assert "verifier did not confirm" in score.metadata["status_reason"]
    assert all(HEDGED in prompt for prompt in seen)


def test_a_second_judge_that_disagrees_shows_in_the_metrics(tmp_path: Path) -> None:
    never = scripted("j2", policy=lambda *_: json.dumps({"explanation": "no", "met": False}))
    log = run_task(
        smoke(trait_ids="directness,owning-mistakes", judge2_share=1.0),
        scripted(policy=demo_target),
        tmp_path,
        model_roles={"judge": scripted("j", policy=demo_judge), "judge2": never},
    )
    values = metrics(log)
    assert values["met_rate"] == 1.0  # the judge's grade stands
    assert values["judge2_samples"] == 2
    assert values["judge2_disagreements(measure=met)"] == 2
    assert values["findings_verified"] == 2  # the demo judge's model verified its own findings
