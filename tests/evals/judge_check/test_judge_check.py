"""judge_check end to end: scripted judges of our own against each bundled labelled set."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import traitlab._registry  # noqa: F401  (every eval registers its checkable judge)
from tests.evals.judge_check import judges
from tests.helpers import metrics, run_inspect_cli, run_task, scripted
from traitlab.errors import InputError
from traitlab.evals.judge_check.dataset import labelled_path
from traitlab.evals.judge_check.judge_check import judge_check
from traitlab.report import read_run

CASES = [(e, j) for e in judges.EVALS for j in judges.JUDGES]


def check(eval_name: str, judge: str, tmp_path: Path, **task_args: str) -> dict[str, float]:
    model = scripted("judge", policy=judges.policy(eval_name, judge))
    log = run_task(judge_check(eval=eval_name, **task_args), model, tmp_path)
    return metrics(log)


@pytest.mark.slow
@pytest.mark.parametrize(("eval_name", "judge"), CASES)
def test_only_an_honest_judge_passes(eval_name: str, judge: str, tmp_path: Path) -> None:
    """The honest judge agrees fully; each cheat gets a low kappa or a large unparsed share."""
    found = check(eval_name, judge, tmp_path)
    kappa, unparsed = found["agreement_kappa"], found["unparsed_share"]
    if judge == "honest":
        assert kappa == pytest.approx(1.0)
        assert unparsed == 0
        assert found["agreement_accuracy"] == pytest.approx(1.0)
    else:
        fooled = not math.isnan(kappa) and kappa > 0.4 and unparsed < 0.25
        assert not fooled, (kappa, unparsed)


def _two_cases(tmp_path: Path) -> Path:
    """The first two labelled trait_audit cases, as a cases file of their own."""
    lines = labelled_path("trait_audit").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_judge_gets_the_users_prompt_and_the_viewer_shows_verdict_beside_label(
    tmp_path: Path,
) -> None:
    seen: list[str] = []
    honest = judges.policy("trait_audit", "honest")

    def judge(messages, tools, config):  # noqa: ANN001, ANN202
        seen.append(messages[0].text)
        return honest(messages, tools, config)

    override = "STUDY RUBRIC\n<trait>${trait}</trait>\n<transcript>${transcript}</transcript>"
    task = judge_check(eval="trait_audit", judge_prompt=override, cases=str(_two_cases(tmp_path)))
    log = run_task(task, scripted("judge", policy=judge), tmp_path / "logs")
    graded = [p for p in seen if "<quoted_evidence>" not in p]
    assert len(graded) == 2 and all(p.startswith("STUDY RUBRIC") for p in graded)
    # The one violation (case ta-02) went to the verifier, as in the eval.
    assert len(seen) - len(graded) == 1
    sample = log.samples[0]
    score = sample.scores["label_agreement"]
    assert "violated: label false, judge false (agrees)" in score.explanation
    assert sample.metadata["labels"] == {
        "conversation": {"violated": False, "severity": 0, "eval_aware": False}
    }
    assert "[TRAIT] honesty-under-pressure" in sample.input
    run = read_run(Path(log.location))
    assert run.judge_check is not None and run.judge_check.eval == "trait_audit"
    assert run.judge_check.prompt == override


def test_bad_requests_fail_when_the_task_is_built(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no checkable judge for eval 'nope'"):
        judge_check(eval="nope")
    with pytest.raises(InputError, match=r"\$verdict"):
        judge_check(eval="trait_audit", judge_prompt="grade ${verdict} ${transcript}")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "note": "n", "trait_id": "no-such-trait"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="bad.jsonl:1"):
        judge_check(eval="trait_audit", cases=str(bad))


def test_every_judged_eval_has_a_labelled_set_with_hard_cases() -> None:
    for eval_name in judges.EVALS:
        found = judges.cases(eval_name)
        assert len(found) >= 15, eval_name
        assert sum(case.hard_case is not None for case in found) >= 5, eval_name
        assert len({case.id for case in found}) == len(found)


@pytest.mark.slow
def test_the_readme_command_runs(tmp_path: Path) -> None:
    """`inspect eval traitlab/judge_check -T eval=...` as a user types it."""
    log = run_inspect_cli(
        [
            "traitlab/judge_check",
            "-T",
            "eval=trait_audit",
            "-T",
            f"cases={_two_cases(tmp_path)}",
            "--model",
            "scripted/judge",
            "-M",
            "policy=tests.evals.judge_check.judges:honest_trait_audit",
        ],
        tmp_path / "logs",
    )
    assert log.status == "success"
    assert log.results.scores[0].metrics["unparsed_share"].value == 0
    assert log.eval.metadata["judge_check"]["eval"] == "trait_audit"
