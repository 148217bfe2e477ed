"""The report sets each run's judge check beside its numbers, matched by judge model and prompt."""

from __future__ import annotations

from traitlab.judging import JudgeCheckOf
from traitlab.report._collect import Headline, Metric, Run
from traitlab.report._judges import judge_check_cell
from traitlab.report._render import headline_frame

JUDGE = 'openai/judge-1 {"config": {"temperature": 0.0}}'


def _run(task: str, model: str, **fields: object) -> Run:
    base = {
        "task": task,
        "variant": "v",
        "task_args": {},
        "task_version": "1",
        "model": model,
        "log": f"{task}-{model}.eval",
        "status": "success",
        "created": "2026-12-07",
        "planned_samples": 10,
    }
    return Run.model_validate({**base, **fields})


def _audit(model: str, roles: dict[str, str], **task_args: str) -> Run:
    return _run(
        "trait_audit",
        model,
        roles=roles,
        task_args=task_args,
        metrics=[Metric(scorer="s", name="violated_rate", estimate=0.2, low=0.1, high=0.3, n=10)],
        headline=[Headline(metric="violated_rate", description="broke a trait")],
    )


def _check(judge: str, kappa: float, prompt: str | None = None, **roles: str) -> Run:
    return _run(
        "judge_check",
        judge,
        roles=roles,
        task_args={"eval": "trait_audit", "judge_prompt": prompt},
        judge_check=JudgeCheckOf(
            eval="trait_audit",
            tasks=["trait_audit"],
            prompt_arg="judge_prompt",
            prompt=prompt,
            prompt_sha256="abc",
        ),
        metrics=[
            Metric(scorer="s", name="agreement_kappa", estimate=kappa, low=0.5, high=0.9, n=32),
            Metric(scorer="s", name="unparsed_share", estimate=0.0625),
        ],
        headline=[Headline(metric="agreement_kappa", description="agreement")],
    )


def test_the_check_of_the_same_judge_and_prompt_is_shown() -> None:
    run = _audit("ckpt-a", {"judge": JUDGE})
    runs = [
        run,
        _check("openai/judge-1", 0.72),
        _check("openai/judge-1", 0.10, prompt="strict.md"),  # another prompt
        _check("openai/other", 0.99),  # another judge
        _check("openai/judge-1", 0.95, verifier="openai/strict-verifier"),  # another verifier
    ]
    cell = judge_check_cell(run, runs)
    assert cell == "openai/judge-1: kappa 0.72 [0.50, 0.90] n=32, unparsed 6%"
    frame = headline_frame(runs)
    assert frame.loc[frame.model == "ckpt-a", "judge check"].item() == cell


def test_a_run_with_another_prompt_gets_that_prompts_check() -> None:
    run = _audit("ckpt-a", {"judge": JUDGE}, judge_prompt="strict.md")
    cell = judge_check_cell(
        run, [run, _check("openai/judge-1", 0.72), _check("openai/judge-1", 0.1, "strict.md")]
    )
    assert "kappa 0.10" in cell and "0.72" not in cell


def test_an_unchecked_judge_is_named_and_a_judgeless_run_left_blank() -> None:
    judged = _audit("ckpt-a", {"judge": JUDGE})
    plain = _audit("ckpt-b", {})
    assert judge_check_cell(judged, [judged, plain]) == "not run"
    assert judge_check_cell(plain, [judged, plain]) == ""
    assert "judge check" not in headline_frame([plain])
