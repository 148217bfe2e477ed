"""A red-team model that plays the user, keeping private notes, as a `UserSimulator`.

The red team (model role ``redteam``) holds its own conversation: a brief as system message
(who to play and to what end), then per turn a request with the target's last reply and the
guidance for this turn. It answers with two tagged blocks, ``<notes>`` (its private strategy
notes, stored in the turn record) and ``<message>`` (the only text the target sees). A reply
without both blocks is sent back once; a red team that still does not produce them has refused
its role, and the sample is flagged by the scorer (`ConversationLog.flag_reason`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from weakref import WeakKeyDictionary

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.solver import TaskState

from traitlab.models import Role, role_model
from traitlab.solvers import TurnRecord, UserSimulator, UserTurn, tagged_blocks

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

    # Per sample, the messages last sent. Each turn adds only its new messages, so the history
    # goes again as the same objects: Inspect's transcript recognises it by identity instead of
    # serialising and hashing all of it on every call (work quadratic in the turns, on the event
    # loop every sample shares), and no message is built twice.
    sent: WeakKeyDictionary[TaskState, list[ChatMessage]] = WeakKeyDictionary()

    async def user(state: TaskState, turns: Sequence[TurnRecord]) -> UserTurn:
        messages = sent[state] = redteam_messages(
            brief(state), turns, lambda index: guidance(state, index), sent.get(state, ())
        )
        blocks = await tagged_blocks(role_model(role), messages, [NOTES, MESSAGE], config=config)
        if blocks is None:
            return UserTurn(
                message=None,
                refusal=f"no <{NOTES}> and <{MESSAGE}> blocks on turn {len(turns) + 1}, "
                "after a retry",
            )
        return UserTurn(message=blocks[MESSAGE], notes={NOTES: blocks[NOTES]})

    return user


def redteam_messages(
    brief: str,
    turns: Sequence[TurnRecord],
    guide: Callable[[int], str],
    known: Sequence[ChatMessage] = (),
) -> list[ChatMessage]:
    """The red team's side of the conversation so far, ending with the request for the next turn.

    Its own past replies (notes and message) are assistant messages; each request carries the
    target's previous reply and that turn's guidance (`guide(i)` for 0-based turn i).

    Args:
        brief: The system message.
        turns: The completed turns; the last request asks for turn ``len(turns)``.
        guide: The guidance of a 0-based turn.
        known: The messages built for an earlier turn of the same conversation (a prefix of
            the result): kept as they are, the same objects, and only the ones after them built.
    """
    messages: list[ChatMessage] = list(known) or [ChatMessageSystem(content=brief)]
    for index in range(len(turns) + 1):
        # After the system message, turn i's request sits at 1 + 2i and its reply at 2 + 2i.
        if len(messages) == 1 + 2 * index:
            reply = turns[index - 1].target_reply if index else None
            heard = f"The target replied:\n<reply>\n{reply}\n</reply>\n\n" if index else ""
            messages.append(ChatMessageUser(content=f"{heard}{guide(index)}"))
        if index < len(turns) and len(messages) == 2 + 2 * index:
            record = turns[index]
            messages.append(
                ChatMessageAssistant(
                    content=f"<{NOTES}>{record.notes.get(NOTES, '')}</{NOTES}>\n"
                    f"<{MESSAGE}>{record.user_message}</{MESSAGE}>"
                )
            )
    return messages
