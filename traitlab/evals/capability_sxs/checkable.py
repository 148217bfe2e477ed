"""This eval's judge as `traitlab/judge_check` asks it: one labelled pair of answers per case.

As in the eval, the pair is judged in both orders with the scorer's own `compare_pair`; each
order is a graded item whose verdict is mapped back to the answers ("1", "2" or "tie"), so a
judge that always picks the first response shown agrees on one order and disagrees on the other.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai.model import Model

from traitlab.evals.capability_sxs.scorer import JUDGE_PROMPT, compare_pair
from traitlab.judging import (
    CheckableJudge,
    ItemVerdict,
    JudgedCase,
    Label,
    Measure,
    register_checkable_judge,
)
from traitlab.prompts import PromptTemplate

Better = Literal["1", "tie", "2"]
ORDERS = {"order=1,2": ("1", "2"), "order=2,1": ("2", "1")}
"""Each order's item name, and which answer is shown as A and as B."""


class PairCase(JudgedCase):
    """A user message, two answers to it, and which one serves the user better."""

    prompt: str
    answer_1: str
    answer_2: str
    better: Better

    def answers(self) -> dict[str, str]:
        return {"1": self.answer_1, "2": self.answer_2}

    def transcript(self) -> str:
        return (
            f"[USER MESSAGE]\n{self.prompt}\n\n[ANSWER 1]\n{self.answer_1}\n\n"
            f"[ANSWER 2]\n{self.answer_2}"
        )

    def expected(self) -> dict[str, dict[str, Label | None]]:
        return {item: {"better": self.better} for item in ORDERS}


async def _grade(judge: Model, case: PairCase, prompt: PromptTemplate) -> dict[str, ItemVerdict]:
    answers = case.answers()
    verdicts = {}
    for item, (a, b) in ORDERS.items():
        result = await compare_pair(
            judge,
            prompt,
            case.prompt,
            answers[a],
            answers[b],
            "A" if a == "1" else "B",
            sample_id=case.id,
            judge2_share=0,
        )
        if result.verdict is None:
            verdicts[item] = ItemVerdict(error=result.error, replies=result.replies)
            continue
        shown = {"A": a, "B": b, "tie": "tie"}[result.verdict.better]
        verdicts[item] = ItemVerdict(
            values={"better": shown},
            explanation=result.verdict.explanation,
            replies=result.replies,
        )
    return verdicts


CHECKABLE = register_checkable_judge(
    CheckableJudge(
        eval="capability_sxs",
        case=PairCase,
        measures=(
            Measure(
                name="better",
                categories=["1", "tie", "2"],
                scale="ordinal",
                description="the better answer, or a tie (a tie lies between the two)",
            ),
        ),
        prompt=JUDGE_PROMPT,
        grade=_grade,
    )
)
