"""A judge that checks one response against a rubric: the simplest honest grader."""

from __future__ import annotations

from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from pydantic import BaseModel, Field

from traitlab.judging import ask_judge
from traitlab.models import Role, role_model
from traitlab.prompts import PromptOverride, load_prompt, resolve_prompt
from traitlab.scores import (
    flagged,
    flagged_score,
    rate,
    scored,
    target_was_called,
    unscored,
    unscored_score,
)

JUDGE_PROMPT = load_prompt(__file__, "rubric_judge")


class RubricVerdict(BaseModel):
    explanation: str = Field(description="One or two sentences of reasoning.")
    met: bool = Field(description="Whether the response meets the rubric.")


@scorer(metrics=[rate("met", by="trait_id"), unscored(), flagged()])
def rubric_judge(
    rubric: str | None = None,
    *,
    role: Role = "judge",
    retries: int = 2,
    prompt: PromptOverride = None,
) -> Scorer:
    """Grade the final response against `rubric` (or the sample's `rubric` metadata).

    Args:
        rubric: What a response must do to pass; None reads `state.metadata["rubric"]`.
        role: The model role of the judge (required; never the model under test).
        retries: How often an unparseable judge reply is sent back before the sample is
            left unscored.
        prompt: The judge prompt (text or a file path; ``$rubric``, ``$prompt`` and
            ``$response`` are filled in), replacing ``prompts/rubric_judge.md``.
    """
    judge_prompt = resolve_prompt(prompt, JUDGE_PROMPT)

    async def score(state: TaskState, target: Target) -> Score:
        if not target_was_called(state):
            return flagged_score("the target was never called", ["met"])
        text = rubric if rubric is not None else state.metadata.get("rubric")
        if not text:
            raise ValueError("rubric_judge needs a rubric argument or a 'rubric' metadata field")
        request = judge_prompt.render(
            rubric=text, prompt=state.input_text, response=state.output.completion
        )
        result = await ask_judge(role_model(role), request, RubricVerdict, retries=retries)
        if result.verdict is None:
            return unscored_score(
                result.error or "no verdict", ["met"], metadata={"judge_replies": result.replies}
            )
        return scored(
            {"met": result.verdict.met},
            explanation=result.verdict.explanation,
            answer=state.output.completion,
        )

    return score
