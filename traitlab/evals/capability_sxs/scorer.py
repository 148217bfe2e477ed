"""Side-by-side preference of the target's answer over a baseline's, with position swapping.

Judges favour whichever answer they read first (or second) more often than chance. Each pair is
judged twice, once in each order, and the target's score is the mean of the two: a judge that
always picks the first answer gives exactly 0.5 however good the answers are, so only a
preference that survives the swap moves the win rate. Ties count as half a win.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.model import Model
from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from inspect_ai.util import collect, store_as
from pydantic import BaseModel, Field, field_validator

from traitlab.evals.capability_sxs.solver import BaselineAnswer
from traitlab.judging import JudgeResult, ask_judge
from traitlab.models import Role, role_model
from traitlab.prompts import PromptOverride, PromptTemplate, load_prompt, resolve_prompt
from traitlab.scores import (
    flagged,
    flagged_score,
    mean_ci,
    rate,
    scored,
    target_was_called,
    unscored,
    unscored_score,
)

KEYS = ("win", "consistent")

JUDGE_PROMPT = load_prompt(__file__, "judge")


class PairVerdict(BaseModel):
    explanation: str = Field(description="One or two sentences of reasoning.")
    better: Literal["A", "B", "tie"] = Field(description="The better response, or tie.")

    @field_validator("better", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().strip("*\"'").removeprefix("Response ").strip()
            return "tie" if text.lower() == "tie" else text.upper()
        return value


def target_share(verdict: str, target_side: Literal["A", "B"]) -> float:
    """1 if the verdict prefers the target, 0 if the baseline, 0.5 for a tie."""
    return 0.5 if verdict == "tie" else float(verdict == target_side)


@scorer(
    metrics=[
        mean_ci("win", by="category", scale=(0, 1)),
        rate("consistent"),
        unscored(),
        flagged(),
    ]
)
def pairwise_judge(
    *, role: Role = "judge", retries: int = 2, prompt: PromptOverride = None
) -> Scorer:
    """Judge the target's answer against the baseline's (`BaselineAnswer`), in both orders.

    The sample's `win` is the target's mean share over the two orders (0, 0.25, 0.5, 0.75 or 1);
    `consistent` is 1 when both orders gave the same preference. A sample without a baseline
    answer, or whose target was never called, is flagged; one whose judge replies cannot be
    read in either order is unscored (never half a win).

    Args:
        role: The model role of the judge (required; never the model under test).
        retries: How often an unusable judge reply is sent back before giving up.
        prompt: The judge prompt (text or a file; ``$prompt``, ``$a``, ``$b`` are filled in),
            replacing ``prompts/judge.md``.
    """
    judge_prompt = resolve_prompt(prompt, JUDGE_PROMPT)

    async def score(state: TaskState, target: Target) -> Score:
        if not target_was_called(state):
            return flagged_score("the target was never called", KEYS)
        baseline = store_as(BaselineAnswer)
        if baseline.answer is None:
            return flagged_score(baseline.missing or "no baseline answer", KEYS)
        judge = role_model(role)
        answer = state.output.completion
        target_first, baseline_first = await collect(
            compare_pair(judge, judge_prompt, state.input_text, answer, baseline.answer, retries),
            compare_pair(judge, judge_prompt, state.input_text, baseline.answer, answer, retries),
        )
        evidence = {
            "baseline_answer": baseline.answer,
            "baseline_source": baseline.source,
            "judge_replies": [*target_first.replies, *baseline_first.replies],
        }
        if target_first.verdict is None or baseline_first.verdict is None:
            error = target_first.error or baseline_first.error or "no verdict"
            return unscored_score(error, KEYS, metadata=evidence)
        shares = (
            target_share(target_first.verdict.better, "A"),
            target_share(baseline_first.verdict.better, "B"),
        )
        return scored(
            {"win": sum(shares) / 2, "consistent": shares[0] == shares[1]},
            answer=answer,
            explanation=(
                f"target shown first: {target_first.verdict.better} "
                f"({target_first.verdict.explanation})\n"
                f"baseline shown first: {baseline_first.verdict.better} "
                f"({baseline_first.verdict.explanation})"
            ),
            metadata={**evidence, "target_shares": list(shares)},
        )

    return score


async def compare_pair(
    judge: Model, template: PromptTemplate, prompt: str, a: str, b: str, retries: int = 2
) -> JudgeResult[PairVerdict]:
    """The judge's preference between responses `a` and `b` shown in that order.

    The one judge call of this eval (made twice per sample, once per order), used by
    `pairwise_judge` and by judge_check.
    """
    return await ask_judge(
        judge, template.render(prompt=prompt, a=a, b=b), PairVerdict, retries=retries
    )
