"""Reusable Inspect solvers: conversation loops, auditor, realism gate, simulated tools."""

from traitlab.solvers._conversation import (
    ConversationLog,
    TurnRecord,
    UserSimulator,
    UserTurn,
    conversation_log,
    extract_tag,
    format_transcript,
    simulated_user_conversation,
    tagged_blocks,
    tagged_reply,
    target_words,
)
from traitlab.solvers._tools import ToolCallRecord, ToolLog, record_call, recorded

__all__ = [
    "ConversationLog",
    "ToolCallRecord",
    "ToolLog",
    "TurnRecord",
    "UserSimulator",
    "UserTurn",
    "conversation_log",
    "extract_tag",
    "format_transcript",
    "record_call",
    "recorded",
    "simulated_user_conversation",
    "tagged_blocks",
    "tagged_reply",
    "target_words",
]
