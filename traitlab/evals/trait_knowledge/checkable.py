"""This eval's judge as `traitlab/judge_check` asks it: one labelled answer per case.

The judge splits the answer into points and scores each against the bundled example traits
document with the scorer's own `judge_answer`. Its points need not line up with a grader's, so
what is compared is what the eval computes from them: each trait's best point score for the
answer (0, 1 or 2; 2 counts as recalled), one graded item per trait of the document.
"""

from __future__ import annotations

from functools import cache

from inspect_ai.model import Model
from pydantic import Field, field_validator

from traitlab.evals.trait_knowledge.scorer import JUDGE_PROMPT, best_scores, grade_answer
from traitlab.judging import (
    CheckableJudge,
    ItemVerdict,
    JudgedCase,
    Label,
    Measure,
    register_checkable_judge,
)
from traitlab.prompts import PromptTemplate
from traitlab.traits import Trait, TraitsDocument


@cache
def _traits() -> tuple[Trait, ...]:
    return tuple(TraitsDocument.load(None).traits)


class KnowledgeCase(JudgedCase):
    """A question about the assistant's values, its answer, and each trait's best point score."""

    question: str
    answer: str = Field(min_length=1)
    scores: dict[str, int] = Field(
        default_factory=dict,
        description="Trait id -> best point score (1 or 2); traits not listed score 0.",
    )
    quotes: dict[str, str] = Field(
        default_factory=dict, description="Trait id -> the answer's words that earn its score."
    )

    @field_validator("scores")
    @classmethod
    def _known(cls, value: dict[str, int]) -> dict[str, int]:
        known = {t.id for t in _traits()}
        if unknown := sorted(set(value) - known):
            raise ValueError(f"unknown trait ids {unknown}")
        if bad := [k for k, v in value.items() if v not in (1, 2)]:
            raise ValueError(f"scores are 1 or 2 (0 is left out): {bad}")
        return value

    def transcript(self) -> str:
        return f"[QUESTION] {self.question}\n\n[ANSWER] {self.answer}"

    def expected(self) -> dict[str, dict[str, Label | None]]:
        return {f"trait={t.id}": {"trait_score": self.scores.get(t.id, 0)} for t in _traits()}


async def _grade(
    judge: Model, case: KnowledgeCase, prompt: PromptTemplate
) -> dict[str, ItemVerdict]:
    grade = await grade_answer(
        _traits(),
        case.question,
        case.answer,
        sample_id=case.id,
        prompt=prompt,
        judge=judge,
        judge2_share=0,
    )
    items = [f"trait={t.id}" for t in _traits()]
    if grade.verdict is None or grade.unconfirmed:
        # The eval leaves the whole answer unscored when a credited point is not confirmed.
        failed = ItemVerdict(error=grade.error or grade.unconfirmed_reason(), replies=grade.replies)
        return dict.fromkeys(items, failed)
    best = best_scores(grade.verdict.points, [t.id for t in _traits()])
    explanation = "; ".join(
        f"[{p.score}] {p.point} -> {p.trait_id or 'no trait'}" for p in grade.verdict.points
    )
    return {
        f"trait={trait}": ItemVerdict(
            values={"trait_score": score}, explanation=explanation, replies=grade.replies
        )
        for trait, score in best.items()
    }


CHECKABLE = register_checkable_judge(
    CheckableJudge(
        eval="trait_knowledge",
        case=KnowledgeCase,
        measures=(
            Measure(
                name="trait_score",
                categories=[0, 1, 2],
                scale="ordinal",
                description="a trait's best point score in the answer (2: stated, recalled)",
            ),
        ),
        prompt=JUDGE_PROMPT,
        grade=_grade,
    )
)
