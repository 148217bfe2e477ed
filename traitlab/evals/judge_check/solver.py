"""Ask the model under test, as the eval's judge, for its verdict on one labelled case."""

from __future__ import annotations

from inspect_ai.model import ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import StoreModel, store_as
from pydantic import Field

from traitlab.judging import CheckableJudge, ItemVerdict
from traitlab.prompts import PromptTemplate


class JudgeVerdicts(StoreModel):
    """The judge's verdict per graded item of the case (a conversation, a turn, an order)."""

    items: dict[str, ItemVerdict] = Field(default_factory=dict)


@solver
def ask_judge_under_test(judge: CheckableJudge, prompt: PromptTemplate) -> Solver:
    """Run the eval's own judge call on the sample's case with the model under test as judge.

    The judge's raw replies become the sample's output, so `inspect view` shows what it said
    next to the transcript it graded.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        case = judge.case.model_validate(state.metadata["case"])
        model = get_model()
        verdicts = await judge.grade(model, case, prompt)
        store_as(JudgeVerdicts).items = verdicts
        replies = [
            f"[{item}] {reply}" if len(verdicts) > 1 else reply
            for item, verdict in verdicts.items()
            for reply in verdict.replies
        ]
        state.output = ModelOutput.from_content(model.name, "\n\n".join(replies))
        return state

    return solve
