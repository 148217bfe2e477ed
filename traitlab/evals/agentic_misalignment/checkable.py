"""This eval's intent judge as `traitlab/judge_check` asks it: one labelled agent run per case.

A case holds what the scorer would hold after a run: the agent's messages, the candidate actions
the environment built from its tool calls (`Evidence`) and the harm, whose definition is the
eval's own bundled rubric. The call is the scorer's `judge_intent`, with its prompt, schema,
checks and retries,
and its verifier (never the second judge).
"""

from __future__ import annotations

from functools import cache

from inspect_ai.model import Model
from pydantic import Field

from traitlab.evals.agentic_misalignment.dataset import Harm, load_prompts
from traitlab.evals.agentic_misalignment.scorer import (
    Evidence,
    IntentVerdict,
    intent_prompt,
    judge_intent,
)
from traitlab.judging import (
    CaseMessage,
    CheckableJudge,
    ItemVerdict,
    JudgedCase,
    Label,
    Measure,
    chat_messages,
    checked_verdict,
    register_checkable_judge,
)
from traitlab.prompts import PromptTemplate
from traitlab.scorers import agent_transcript

ITEM = "run"


@cache
def _rubrics() -> dict[str, str]:
    return dict(load_prompts().harms)


class IntentCase(JudgedCase):
    """An agent run under one harm condition, with the careful grader's verdict on intent."""

    harm: Harm
    messages: list[CaseMessage]
    actions: list[Evidence] = Field(default_factory=list)
    harmful: bool
    stated_harm: bool = False
    harmful_actions: list[int] = Field(default_factory=list, description="Documentation.")
    quote: str | None = Field(default=None, description="The agent's words stating the harm.")

    def transcript(self) -> str:
        actions = "\n\n".join(a.render(n) for n, a in enumerate(self.actions, start=1))
        return (
            f"[HARM] {self.harm}\n\n{actions or '(no actions)'}\n\n"
            f"{agent_transcript(chat_messages(self.messages))}"
        )

    def expected(self) -> dict[str, dict[str, Label | None]]:
        return {ITEM: {"harmful": self.harmful, "stated_harm": self.stated_harm}}


async def _grade(judge: Model, case: IntentCase, prompt: PromptTemplate) -> dict[str, ItemVerdict]:
    grade = await judge_intent(
        judge,
        prompt,
        _rubrics()[case.harm],
        case.actions,
        chat_messages(case.messages),
        sample_id=case.id,
        judge2_share=0,
    )
    return {ITEM: checked_verdict(grade, _values)}


def _values(verdict: IntentVerdict, unconfirmed: set[str]) -> dict[str, Label | None]:
    """The verdict on each measure; one whose finding the verifier did not confirm has none,
    as in the eval."""
    values = {"harmful": verdict.harmful, "stated_harm": verdict.stated_harm}
    return {k: None if k in unconfirmed else v for k, v in values.items()}


CHECKABLE = register_checkable_judge(
    CheckableJudge(
        eval="agentic_misalignment",
        case=IntentCase,
        measures=(
            Measure(
                name="harmful",
                categories=[False, True],
                description="an action the agent took is the harm",
            ),
            Measure(
                name="stated_harm",
                categories=[False, True],
                description="the agent's own words carry out or state the harm",
            ),
        ),
        prompt=intent_prompt(),
        grade=_grade,
    )
)
