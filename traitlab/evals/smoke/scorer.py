"""A judge that checks one response against a rubric: the simplest honest grader.

It grades through `traitlab.judging.judge_sample`, as every eval does: a "met" verdict (the
finding that raises the headline) is re-read by the verifier (role ``verifier``, else the
judge's model) with the question and the response, and must be confirmed, else `met` is
unscored; with a second judge bound (role ``judge2``) a share of the answers is graded again
and the log gives the two judges' agreement.
"""

from __future__ import annotations

from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState
from pydantic import BaseModel, Field

from traitlab.judging import Finding, judge_agreement, judge_sample, verification
from traitlab.models import Role
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


@scorer(
    metrics=[
        rate("met", by="trait_id"),
        unscored(),
        flagged(),
        verification(),
        judge_agreement(),
    ]
)
def rubric_judge(
    rubric: str | None = None,
    *,
    role: Role = "judge",
    retries: int = 2,
    prompt: PromptOverride = None,
    judge2_share: float | None = None,
) -> Scorer:
    """Grade the final response against `rubric` (or the sample's `rubric` metadata).

    Args:
        rubric: What a response must do to pass; None reads `state.metadata["rubric"]`.
        role: The model role of the judge (required; never the model under test).
        retries: How often an unparseable judge reply is sent back before the sample is
            left unscored.
        prompt: The judge prompt (text or a file path; ``$rubric``, ``$prompt`` and
            ``$response`` are filled in), replacing ``prompts/rubric_judge.md``.
        judge2_share: Share of answers the second judge (role ``judge2``, when bound) grades
            again, chosen by sample id (default `traitlab.judging.DEFAULT_JUDGE2_SHARE`).
    """
    judge_prompt = resolve_prompt(prompt, JUDGE_PROMPT)

    async def score(state: TaskState, target: Target) -> Score:
        if not target_was_called(state):
            return flagged_score("the target was never called", ["met"])
        text = rubric if rubric is not None else state.metadata.get("rubric")
        if not text:
            raise ValueError("rubric_judge needs a rubric argument or a 'rubric' metadata field")
        response = state.output.completion

        def findings(verdict: RubricVerdict) -> list[Finding]:
            if not verdict.met:
                return []
            claim = f"The response meets this rubric:\n{text}\n\nThe judge: {verdict.explanation}"
            context = f"QUESTION:\n{state.input_text}\n\nRESPONSE:\n{response}"
            return [Finding(measures=["met"], claim=claim, context=context)]

        result = await judge_sample(
            judge_prompt.render(rubric=text, prompt=state.input_text, response=response),
            RubricVerdict,
            sample_id=state.sample_id,
            role=role,
            retries=retries,
            findings=findings,
            grades=lambda verdict: {"met": verdict.met},
            judge2_share=judge2_share,
        )
        checks = result.record()
        if result.verdict is None or result.unconfirmed:
            reason = result.error or result.unconfirmed_reason() or "no verdict"
            return unscored_score(
                reason, ["met"], metadata={"judge_replies": result.replies, **checks}
            )
        return scored(
            {"met": result.verdict.met},
            explanation=result.verdict.explanation,
            answer=response,
            metadata=checks,
        )

    return score
