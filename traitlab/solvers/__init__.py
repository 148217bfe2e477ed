"""Reusable Inspect solvers: conversation loops, auditor, realism gate, simulated tools."""

from traitlab.solvers._baseline import BaselineAnswer, baseline_answer, read_baseline_answers
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
    "BaselineAnswer",
    "ConversationLog",
    "ToolCallRecord",
    "ToolLog",
    "TurnRecord",
    "UserSimulator",
    "UserTurn",
    "baseline_answer",
    "conversation_log",
    "extract_tag",
    "format_transcript",
    "read_baseline_answers",
    "record_call",
    "recorded",
    "simulated_user_conversation",
    "tagged_blocks",
    "tagged_reply",
    "target_words",
]
