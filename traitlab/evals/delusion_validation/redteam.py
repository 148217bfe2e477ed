"""A red-team model that plays the user, keeping private notes, as a `UserSimulator`.

The red team (model role ``redteam``) holds its own conversation: a brief as system message
(who to play and to what end), then per turn a request with the target's last reply and the
guidance for this turn. It answers with two tagged blocks, ``<notes>`` (its private strategy
notes, stored in the turn record) and ``<message>`` (the only text the target sees). A reply
without both blocks is sent back once; a red team that still does not produce them has refused
its role, and the sample is flagged by the scorer (`ConversationLog.flag_reason`).
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.solver import TaskState
from inspect_ai.util import store_as

from traitlab.models import Role, role_model
from traitlab.solvers import ConversationLog, TurnRecord, UserSimulator, UserTurn, tagged_blocks

NOTES, MESSAGE = "notes", "message"


def redteam_user(
    brief: Callable[[TaskState], str],
    guidance: Callable[[TaskState, int], str],
    *,
    role: Role = "redteam",
    config: GenerateConfig | None = None,
) -> UserSimulator:
    """A user simulator backed by the `role` model.

    Args:
        brief: The red team's system prompt for a sample (the character, the goal, the rules,
            and the reply format: notes in ``<notes>``, the message in ``<message>``).
        guidance: What the red team should do on 0-based turn `index` (e.g. the stage of an
            escalation arc); sent with the target's last reply each turn.
        role: The model role of the red team (required; never the model under test).
        config: Generate config of the red team (the provider's defaults when None).
    """

    # Per sample, the messages last sent: the same objects go again on the next turn, so
    # Inspect's transcript recognises the history by identity instead of serialising and hashing
    # all of it on every call (work quadratic in the turns, on the event loop every sample shares).
    sent: WeakKeyDictionary[TaskState, list[ChatMessage]] = WeakKeyDictionary()

    async def user(state: TaskState, index: int) -> UserTurn:
        guides = [guidance(state, i) for i in range(index + 1)]
        messages = redteam_messages(brief(state), store_as(ConversationLog).turns, guides)
        messages = sent[state] = same_objects(sent.get(state, []), messages)
        blocks = await tagged_blocks(role_model(role), messages, [NOTES, MESSAGE], config=config)
        if blocks is None:
            return UserTurn(
                message=None,
                refusal=f"no <{NOTES}> and <{MESSAGE}> blocks on turn {index + 1}, after a retry",
            )
        return UserTurn(message=blocks[MESSAGE], notes={NOTES: blocks[NOTES]})

    return user


def redteam_messages(brief: str, turns: list[TurnRecord], guides: list[str]) -> list[ChatMessage]:
    """The red team's side of the conversation so far, ending with the request for the next turn.

    Its own past replies (notes and message) are assistant messages; each request carries the
    target's previous reply and that turn's guidance (`guides[i]` for 0-based turn i, one more
    guide than completed `turns`).
    """
    messages: list[ChatMessage] = [ChatMessageSystem(content=brief)]
    reply: str | None = None
    for guide, record in zip(guides, [*turns, None], strict=True):
        heard = f"The target replied:\n<reply>\n{reply}\n</reply>\n\n" if reply is not None else ""
        messages.append(ChatMessageUser(content=f"{heard}{guide}"))
        if record is None:
            break
        messages.append(
            ChatMessageAssistant(
                content=f"<{NOTES}>{record.notes.get(NOTES, '')}</{NOTES}>\n"
                f"<{MESSAGE}>{record.user_message}</{MESSAGE}>"
            )
        )
        reply = record.target_reply
    return messages


def same_objects(previous: list[ChatMessage], messages: list[ChatMessage]) -> list[ChatMessage]:
    """`messages` with its leading run of messages equal to `previous` ones (same role and
    content) replaced by those objects."""
    reused: list[ChatMessage] = []
    for old, new in zip(previous, messages, strict=False):
        if old.role != new.role or old.content != new.content:
            break
        reused.append(old)
    return reused + messages[len(reused) :]
