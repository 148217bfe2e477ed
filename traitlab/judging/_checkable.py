"""How each eval's judge can be checked against labelled transcripts, without importing the eval.

`traitlab/judge_check` measures a judge model against a careful grader's labels, prompted exactly
as the eval prompts it. Evals may not import each other (tests/test_architecture.py), so each
judged eval describes its judge here, in the core, as a `CheckableJudge`: its labelled-case type,
its measures, its prompt (with the user's override checked the way the eval checks it) and a
`grade` function that runs the eval's own judge call on one case. judge_check looks a judge up by
the eval's name and never sees the eval's modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    Model,
)
from inspect_ai.tool import ToolCall
from pydantic import BaseModel, Field

from traitlab.errors import InputError
from traitlab.judging._grade import Grade
from traitlab.prompts import PromptOverride, PromptTemplate, resolve_prompt

T = TypeVar("T", bound=BaseModel)

Label = bool | int | str
"""One label or verdict on one measure: a yes/no, a level of an ordinal scale or a category."""


class Measure(BaseModel):
    """One thing the judge decides and the labels say, with its possible values in order."""

    name: str
    categories: list[Label] = Field(description="Every value, in scale order for ordinal ones.")
    scale: Literal["nominal", "ordinal"] = "nominal"
    description: str = ""


class CaseCall(BaseModel):
    """A tool call the agent made in a labelled transcript."""

    function: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class CaseMessage(BaseModel):
    """One message of a labelled transcript, as written in the JSONL file."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[CaseCall] = Field(default_factory=list, description="Assistant only.")
    function: str | None = Field(default=None, description="Tool results: the tool's name.")

    def chat(self, number: int) -> ChatMessage:
        """The Inspect message the eval's judge would have read (`number` makes call ids)."""
        if self.role == "system":
            return ChatMessageSystem(content=self.content)
        if self.role == "user":
            return ChatMessageUser(content=self.content)
        if self.role == "tool":
            return ChatMessageTool(
                content=self.content, function=self.function, tool_call_id=f"call-{number}"
            )
        calls = [
            ToolCall(id=f"call-{number}-{i}", function=c.function, arguments=c.arguments)
            for i, c in enumerate(self.tool_calls)
        ]
        return ChatMessageAssistant(content=self.content, tool_calls=calls or None)


def chat_messages(messages: list[CaseMessage]) -> list[ChatMessage]:
    """A labelled transcript as Inspect messages."""
    return [m.chat(n) for n, m in enumerate(messages)]


class JudgedCase(BaseModel, ABC):
    """One labelled transcript: what the eval's judge is shown, and a careful grader's verdict.

    Subclasses (one per judged eval) add the judge's inputs and the label fields.
    """

    id: str
    hard_case: str | None = Field(
        default=None, description="The hard case it stands for (e.g. 'negated statement')."
    )
    note: str = Field(description="Why the label is what it is, in a sentence or two.")

    @abstractmethod
    def transcript(self) -> str:
        """The case as a person reads it in `inspect view` (the sample input)."""

    @abstractmethod
    def expected(self) -> dict[str, dict[str, Label | None]]:
        """The labels, per graded item (a conversation, a turn, an order) and measure."""


class ItemVerdict(BaseModel):
    """The judge's verdict on one graded item, or why it has none."""

    values: dict[str, Label | None] | None = None
    error: str | None = Field(
        default=None,
        description="Why there is no verdict, or why some measures have none (unconfirmed).",
    )
    explanation: str = ""
    replies: list[str] = Field(default_factory=list)


def checked_verdict(
    grade: Grade[T], values: Callable[[T, set[str]], dict[str, Label | None]]
) -> ItemVerdict:
    """An eval's verified grade (`judge_sample`) as judge_check's verdict on one item.

    `values(verdict, unconfirmed)` states the verdict on each measure; a measure whose finding
    the verifier did not confirm must read None there (the eval leaves it unscored), and the
    reason is kept as the item's `error`.
    """
    verdict = grade.verdict
    if verdict is None:
        return ItemVerdict(error=grade.error or "no verdict", replies=grade.replies)
    return ItemVerdict(
        values=values(verdict, grade.unconfirmed),
        error=grade.unconfirmed_reason() if grade.unconfirmed else None,
        explanation=str(getattr(verdict, "explanation", "")),
        replies=grade.replies,
    )


GradeFn = Callable[[Model, Any, PromptTemplate], Awaitable[dict[str, ItemVerdict]]]
"""`grade(judge, case, prompt)`: the eval's own judge call on one case (with the eval's default
retries), per graded item."""


@dataclass(frozen=True)
class CheckableJudge:
    """An eval's judge as judge_check asks it: the same prompt, schema, checks and retries."""

    eval: str
    case: type[JudgedCase]
    measures: tuple[Measure, ...]
    prompt: PromptTemplate
    """The eval's bundled judge prompt (`judge_prompt` applies a user's override to it)."""
    grade: GradeFn
    prompt_arg: str = "judge_prompt"
    tasks: tuple[str, ...] = ()
    """Every task that runs this judge (default: the task named like the eval)."""

    def judge_prompt(self, override: PromptOverride) -> PromptTemplate:
        """The prompt the eval would judge with under `override` (text or a path), checked as
        the eval checks it."""
        return resolve_prompt(override, self.prompt)

    @property
    def judged_tasks(self) -> tuple[str, ...]:
        return self.tasks or (self.eval,)

    @property
    def headline(self) -> Measure:
        """The measure whose kappa is judge_check's `agreement_kappa` (the eval's main one)."""
        return self.measures[0]


JUDGE_CHECK_KEY = "judge_check"
"""The task-metadata key under which a judge_check log says what it measured."""


class JudgeCheckOf(BaseModel):
    """What a judge_check log measured: which eval's judge, with which prompt.

    Written in the judge_check task's metadata and read by `traitlab report`, which shows the
    check beside each run of that eval whose judge is the checked model with the same prompt
    (the eval's task argument `prompt_arg`, None for the bundled prompt).
    """

    eval: str
    tasks: list[str] = Field(description="The tasks that run this judge.")
    prompt_arg: str
    prompt: str | None = None
    prompt_sha256: str = Field(description="Short hash of the prompt template the judge saw.")


_REGISTRY: dict[str, CheckableJudge] = {}


def register_checkable_judge(judge: CheckableJudge) -> CheckableJudge:
    """Make an eval's judge available to judge_check (called once, by the eval's own module)."""
    if not judge.measures:
        raise ValueError(f"{judge.eval}: a checkable judge needs at least one measure")
    _REGISTRY[judge.eval] = judge
    return judge


def checkable_judge(eval_name: str) -> CheckableJudge:
    """The registered judge of `eval_name`; a one-line error naming the known ones."""
    try:
        return _REGISTRY[eval_name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none registered"
        raise InputError(f"no checkable judge for eval '{eval_name}' (known: {known})") from None
