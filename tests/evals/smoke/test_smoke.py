"""End to end: the smoke task through `inspect_ai.eval`, as the README runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import metrics, run_inspect_cli, run_task, scripted, scripted_role
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
    judge.write_text(json.dumps(json.dumps({"explanation": "ok", "met": True})) + "\n")
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
