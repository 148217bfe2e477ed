"""Whether the model under test took part in a sample: the first check of every scorer."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant
from inspect_ai.solver import TaskState


def target_was_called(state: TaskState) -> bool:
    """Whether the model under test produced any message in this sample."""
    return any(isinstance(m, ChatMessageAssistant) for m in state.messages)
