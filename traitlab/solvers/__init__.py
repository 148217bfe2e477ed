"""Reusable Inspect solvers: conversation loops, auditor, realism gate, simulated tools."""

from traitlab.solvers._auditor import (
    AuditLog,
    AuditPlan,
    SimulatedTool,
    StrategyAssessment,
    trait_auditor,
)
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
from traitlab.solvers._realism import (
    RealismAttempt,
    RealismOutcome,
    RealismVerdict,
    check_realism,
    realism_gate,
)
from traitlab.solvers._redteam import redteam_messages, redteam_user
from traitlab.solvers._rounds import RoundEvents, rounds
from traitlab.solvers._tools import ToolCallRecord, ToolLog, record_call, recorded

__all__ = [
    "AuditLog",
    "AuditPlan",
    "BaselineAnswer",
    "ConversationLog",
    "RealismAttempt",
    "RealismOutcome",
    "RealismVerdict",
    "RoundEvents",
    "SimulatedTool",
    "StrategyAssessment",
    "ToolCallRecord",
    "ToolLog",
    "TurnRecord",
    "UserSimulator",
    "UserTurn",
    "baseline_answer",
    "check_realism",
    "conversation_log",
    "extract_tag",
    "format_transcript",
    "read_baseline_answers",
    "realism_gate",
    "record_call",
    "redteam_messages",
    "redteam_user",
    "recorded",
    "rounds",
    "simulated_user_conversation",
    "tagged_blocks",
    "tagged_reply",
    "target_words",
    "trait_auditor",
]
