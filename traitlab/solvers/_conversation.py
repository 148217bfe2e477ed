"""A multi-turn conversation between a simulated user (a helper model) and the target.

Evals that probe behaviour across turns (the trait auditor, the delusion red team) share one
loop: a *user simulator* writes each user message from the conversation so far, the target
replies through the solver's `generate` (so any tools the task gives it work), and each turn is
recorded in a `ConversationLog` in the sample store, visible in `inspect view` beside the
conversation itself (the sample's messages).

A conversation that stops before its planned turns (a message, token or cost limit, a helper
that refused mid-way) is not a shorter conversation: `ConversationLog.flag_reason` flags it with
the turn it stopped after, so no scorer grades it as if complete.

Helper models sometimes refuse to play an adversarial user. Refusals are detected structurally,
never by keywords: the helper must put its message in a tagged block (``<message>...</message>``);
`tagged_reply` sends a reply without that block back once, and a helper that still does not
produce it has refused. The simulator then returns ``UserTurn(message=None, refusal=reason)``,
the loop stops, and the scorer flags the sample (`ConversationLog.flag_reason`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from inspect_ai.log import EvalSample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import LimitExceededError, StoreModel, store_as
from pydantic import BaseModel, Field


class UserTurn(BaseModel):
    """What the simulated user does next."""

    message: str | None = Field(
        description="The next user message for the target; None ends the conversation early."
    )
    notes: dict[str, Any] = Field(
        default_factory=dict,
        description="Private notes of the helper (strategy assessment, red-team notes): stored "
        "in the turn record, never shown to the target.",
    )
    refusal: str | None = Field(
        default=None,
        description="Why the helper is taken to have refused its role (after its retry); the "
        "loop stops and the sample is flagged.",
    )
    flag: str | None = Field(
        default=None,
        description="Why the sample is invalid for another reason (e.g. the message never "
        "passed a realism gate); the loop stops and the sample is flagged.",
    )


class TurnRecord(BaseModel):
    """One completed turn: the user message, the helper's notes and the target's reply."""

    index: int
    user_message: str
    notes: dict[str, Any] = Field(default_factory=dict)
    target_reply: str


class ConversationLog(StoreModel):
    """The turns of the sample's conversation, with how it ended."""

    turns: list[TurnRecord] = Field(default_factory=list)
    planned_turns: int = Field(default=0, description="The turns the loop was asked for.")
    limit: str | None = Field(
        default=None, description="The sample limit that stopped the loop, e.g. 'message limit 6'."
    )
    refusal: str | None = None
    target_calls: int = 0
    ended_by_user: bool = False
    flag: str | None = Field(
        default=None,
        description="Set by a solver when the sample is invalid for another reason, e.g. its "
        "scenario never passed a realism gate (the conversation is then not run).",
    )

    @property
    def cut_short(self) -> bool:
        """Whether the conversation stopped before its planned turns, not by the user's choice."""
        return self._cut_short(len(self.turns))

    def _cut_short(self, held: int) -> bool:
        return not self.ended_by_user and held < self.planned_turns

    def flag_reason(self) -> str | None:
        """Why the sample is invalid: a solver's flag, a helper refusal, a target never called,
        or a conversation cut short (with the turn it stopped after and the limit it hit).
        """
        # One read of `turns`: each read of a store-backed list validates all of it again.
        held = len(self.turns)
        cut_short = self._cut_short(held)
        stopped = f" (stopped after turn {held} of {self.planned_turns})" if cut_short else ""
        if self.flag is not None:
            return self.flag + stopped
        if self.refusal is not None:
            return f"the simulated user refused its role: {self.refusal}{stopped}"
        if self.target_calls == 0:
            return "the target was never called"
        if cut_short:
            limit = f" by the {self.limit}" if self.limit else ""
            return f"the conversation was cut short{stopped}{limit}"
        return None


UserSimulator = Callable[[TaskState, Sequence[TurnRecord]], Awaitable[UserTurn]]
"""``(state, turns) -> UserTurn``: the conversation so far and its completed turns (with the
user's notes); the turn asked for is ``len(turns)``, 0-based."""


@solver
def simulated_user_conversation(
    user: UserSimulator,
    *,
    turns: int,
    tool_calls: Literal["loop", "single", "none"] = "loop",
) -> Solver:
    """Alternate simulated-user messages and target replies for up to `turns` turns.

    The simulated user writes every user message: the loop starts from the system messages
    already in ``state.messages`` (the target's system prompt, if a solver set one) and drops
    the sample's input message, which stays readable as ``state.input_text`` (use it as the
    simulated user's brief, or return it as the first message).

    Each turn awaits ``user(state, turns)``; ``state.messages`` holds the conversation so far
    (system prompt, then user and assistant messages, with tool calls and results) and `turns`
    its completed `TurnRecord`s (the next turn's 0-based index is ``len(turns)``). Then:

    * ``UserTurn(refusal=...)`` or ``UserTurn(flag=...)``: the reason is stored in
      `ConversationLog.refusal` (or `.flag`) and the loop stops; score such samples as flagged
      (`ConversationLog.flag_reason`), never as passes.
    * ``UserTurn(message=None)``: the user ends the conversation (`ended_by_user`).
    * otherwise the message is appended as a `ChatMessageUser` and the target replies with the
      solver's `generate` (tool calls resolved per `tool_calls`); a `TurnRecord` with the
      user's `notes` and the target's words is appended, and `target_calls` counts the
      assistant messages the target produced.

    The loop also stops when the sample is completed (a message or token limit was hit); the
    log then shows fewer turns than `planned_turns` and `flag_reason` flags the sample.
    Read the log in a scorer with ``store_as(ConversationLog)`` and in tests with
    `conversation_log(sample)`.

    Args:
        user: The user simulator (an auditor, a persona-following red team, a test script).
        turns: The most turns the conversation holds (user messages sent, counting turns
            already in the sample's `ConversationLog`).
        tool_calls: How the target's tool calls are resolved (see Inspect's `generate`).
    """
    if turns < 1:
        raise ValueError(f"turns must be at least 1 (got {turns})")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        log = store_as(ConversationLog)
        log.planned_turns = turns
        # The turns so far, kept here and handed to the user simulator: each read of the
        # store-backed `log.turns` validates the whole list again.
        records: list[TurnRecord] = list(log.turns)
        state.messages = [m for m in state.messages if isinstance(m, ChatMessageSystem)]

        async def _turn() -> bool:
            """One user message and the target's reply; False when the conversation ends."""
            nonlocal state
            turn = await user(state, tuple(records))
            if turn.refusal is not None:
                log.refusal = turn.refusal
                return False
            if turn.flag is not None:
                log.flag = turn.flag
                return False
            if turn.message is None:
                log.ended_by_user = True
                return False
            state.messages.append(ChatMessageUser(content=turn.message))
            start = len(state.messages)
            state = await generate(state, tool_calls=tool_calls)
            replies = [m for m in state.messages[start:] if isinstance(m, ChatMessageAssistant)]
            log.target_calls += len(replies)
            record = TurnRecord(
                index=len(records),
                user_message=turn.message,
                notes=turn.notes,
                target_reply="\n\n".join(m.text for m in replies if m.text),
            )
            records.append(record)
            log.turns = list(records)  # reassign: the store tracks attribute writes
            return not state.completed

        try:
            while len(records) < turns:
                if not await _turn():
                    break
        except LimitExceededError as ex:
            # Inspect ends the sample here and still scores it; the log says why it stopped.
            log.limit = f"{ex.type} limit {ex.limit:g}"
            raise
        return state

    return solve


def conversation_log(sample: EvalSample) -> ConversationLog:
    """The `ConversationLog` of a sample read back from an eval log."""
    return sample.store_as(ConversationLog)


def target_words(messages: Sequence[ChatMessage], turn: int | None = None) -> str:
    """What the target wrote (assistant text and tool-call arguments), for quote checks.

    With `turn` (1-based, numbered as in `format_transcript`), only its words in that turn:
    evidence for a finding at turn 3 must be in what the target said at turn 3.
    """
    parts = []
    current = 0
    for message in messages:
        if isinstance(message, ChatMessageUser):
            current += 1
        elif isinstance(message, ChatMessageAssistant) and turn in (None, current):
            parts.append(message.text)
            parts.extend(str(call.arguments) for call in message.tool_calls or [])
    return "\n".join(parts)


def format_transcript(
    messages: Sequence[ChatMessage], *, user: str = "USER", target: str = "TARGET"
) -> str:
    """The conversation as plain text with numbered user turns, for helper and judge prompts.

    Turn numbers are 1-based and count user messages, so a judge can name the turn of a
    violation. Tool calls and their (simulated) results are shown inline.
    """
    lines: list[str] = []
    turn = 0
    for message in messages:
        if isinstance(message, ChatMessageSystem):
            lines.append(f"[SYSTEM PROMPT]\n{message.text}")
        elif isinstance(message, ChatMessageUser):
            turn += 1
            lines.append(f"[TURN {turn}] {user}:\n{message.text}")
        elif isinstance(message, ChatMessageAssistant):
            text = message.text or "(no text)"
            calls = "".join(
                f"\n-> calls tool {call.function}({call.arguments})"
                for call in message.tool_calls or []
            )
            lines.append(f"[TURN {turn}] {target}:\n{text}{calls}")
        elif isinstance(message, ChatMessageTool):
            result = message.error.message if message.error else message.text
            lines.append(f"[TURN {turn}] TOOL RESULT ({message.function}):\n{result}")
    return "\n\n".join(lines)


# --- tagged replies: structural refusal detection ---------------------------------------------


def extract_tag(text: str, tag: str) -> str | None:
    """The content of the last ``<tag>...</tag>`` block in `text` (stripped), or None."""
    matches = re.findall(rf"<{tag}>(.*?)</{tag}>", text or "", re.DOTALL | re.IGNORECASE)
    return matches[-1].strip() if matches else None


async def tagged_blocks(
    model: Model,
    messages: list[ChatMessage],
    tags: Sequence[str],
    *,
    check: Callable[[dict[str, str]], str | None] | None = None,
    config: GenerateConfig | None = None,
) -> dict[str, str] | None:
    """Ask `model` for a reply holding every block in `tags`; None if it refused.

    A reply missing a block (or failing `check`, which returns a reason to reject the blocks)
    is sent back once with the reason; a helper that still does not comply has refused its
    role. The retry bypasses the cache so the model is really asked again.
    """
    messages = list(messages)
    for attempt in range(2):
        config = config or GenerateConfig()
        output = (
            await model.generate(messages, config=config, cache=False)
            if attempt
            else await model.generate(messages, config=config)
        )
        reply = output.completion
        blocks = {tag: extract_tag(reply, tag) for tag in tags}
        missing = [f"<{tag}>" for tag, block in blocks.items() if not block]
        found = {tag: block for tag, block in blocks.items() if block}
        problem = f"it has no {' or '.join(missing)} block" if missing else None
        problem = problem or (check(found) if check else None)
        if problem is None:
            return found
        wanted = ", ".join(f"<{tag}>...</{tag}>" for tag in tags)
        messages += [
            ChatMessageAssistant(content=reply),
            ChatMessageUser(
                content=f"Your reply could not be used: {problem}. Reply again, in the format "
                f"asked for, with {wanted}."
            ),
        ]
    return None


async def tagged_reply(
    model: Model,
    messages: list[ChatMessage],
    tag: str,
    *,
    config: GenerateConfig | None = None,
) -> str | None:
    """The content of the ``<tag>`` block of `model`'s reply, retried once; None if it refused."""
    blocks = await tagged_blocks(model, messages, [tag], config=config)
    return blocks[tag] if blocks is not None else None
