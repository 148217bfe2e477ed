"""Ask a judge model for a structured verdict, with retries and an honest failure.

Every grader in traitlab (trait violations, delusion confirmation, realism, intent, pattern
rubrics) goes through `ask_judge`. A reply that cannot be parsed, or that fails a caller's check
(for example a quote that is not in the transcript), is sent back to the judge with the reason;
after the retries the result carries the reason instead of a value, and the scorer turns it into
a missing score (`unscored_score`), never a zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
from pydantic import BaseModel

from traitlab.judging._parse import ParseError, parse_structured, schema_instructions
from traitlab.llm import UsageMeter, generate

T = TypeVar("T", bound=BaseModel)

# Judges grade at temperature 0 unless the caller says otherwise: a grade should not depend on
# sampling noise more than it must.
JUDGE_CONFIG = GenerateConfig(temperature=0.0)


@dataclass
class JudgeResult(Generic[T]):
    """A verdict, or the reason there is none, with every raw reply kept as evidence."""

    verdict: T | None
    error: str | None = None
    replies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict is not None


async def ask_judge(
    model: Model,
    prompt: str | list[ChatMessage],
    schema: type[T],
    *,
    retries: int = 2,
    check: Callable[[T], str | None] | None = None,
    rejections: int | None = None,
    config: GenerateConfig | None = None,
    cache: bool = False,
    meter: UsageMeter | None = None,
    stage: str = "judge",
) -> JudgeResult[T]:
    """Ask `model` for a `schema` verdict; retry unparseable or rejected replies.

    Args:
        model: The judge (resolve it from a role, e.g. `role_model("judge")`).
        prompt: The grading prompt; instructions for the JSON reply are appended.
        schema: The pydantic model of the verdict.
        retries: How many times a bad reply is sent back before giving up.
        check: Optional semantic check on a parsed verdict, returning a reason to reject it
            (e.g. "the quote does not appear in the transcript") or None to accept.
        rejections: How many verdicts `check` rejects are sent back (default: `retries`).
            Evidence checks send a rejected quote back once (`rejections=1`): a judge that
            cannot support its finding after being told why has no finding.
        config: Generate config; defaults to temperature 0. Retries never use the cache.
        cache: Cache the first attempt (pipelines outside tasks, so a rerun after a crash
            pays nothing twice).
        meter: Count every attempt's tokens under `stage` (for a pipeline's cost summary).
        stage: The meter's stage name.
    """
    messages: list[ChatMessage] = (
        [ChatMessageUser(content=prompt)] if isinstance(prompt, str) else list(prompt)
    )
    instructions = schema_instructions(schema)
    last = messages[-1]
    messages[-1] = last.model_copy(update={"content": f"{last.text}\n\n{instructions}"})
    config = config or JUDGE_CONFIG
    allowed_rejections = retries if rejections is None else rejections
    replies: list[str] = []
    error = "no reply"
    rejected = 0
    for attempt in range(retries + 1):
        # A retry must reach the model again, not replay a cached bad reply.
        output = await generate(
            model, messages, stage=stage, meter=meter, config=config, cache=cache and not attempt
        )
        reply = output.completion
        replies.append(reply)
        try:
            verdict = parse_structured(reply, schema)
        except ParseError as ex:
            error = f"unparseable judge reply: {ex}"
        else:
            rejection = check(verdict) if check else None
            if rejection is None:
                return JudgeResult(verdict=verdict, replies=replies)
            error = f"judge verdict rejected: {rejection}"
            rejected += 1
            if rejected > allowed_rejections:
                break
        messages = [
            *messages,
            ChatMessageAssistant(content=reply),
            ChatMessageUser(
                content=f"Your reply could not be used ({error}). Reply again.\n\n{instructions}"
            ),
        ]
    return JudgeResult(
        verdict=None, error=f"{error} (after {len(replies)} attempts)", replies=replies
    )
