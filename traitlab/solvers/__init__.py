"""Solvers that two or more evals share.

An eval's own solver lives in its folder (`traitlab/evals/<name>/solver.py`).

- `simulated_user_conversation`: the multi-turn loop in which a helper model (a `UserSimulator`:
  auditor, red team) plays the user; every turn is a `TurnRecord` in the sample's
  `ConversationLog`. `tagged_reply`/`extract_tag`/`tagged_blocks` read the helpers' tagged
  replies; `format_transcript` and `target_words` render what the target said, for judges.
- `realism_gate`/`check_realism`: a realism judge approves (or sends back) what a helper model is
  about to show the target; `REALISM_PROMPT` is the checker's bundled prompt for scenarios.
- `recorded`/`record_call`/`ToolLog`: every simulated tool call lands in the sample store, where
  scorers read it.
"""

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
    REALISM_PROMPT,
    RealismAttempt,
    RealismOutcome,
    RealismVerdict,
    check_realism,
    realism_gate,
)
from traitlab.solvers._tools import ToolCallRecord, ToolLog, record_call, recorded

__all__ = [
    "REALISM_PROMPT",
    "ConversationLog",
    "RealismAttempt",
    "RealismOutcome",
    "RealismVerdict",
    "ToolCallRecord",
    "ToolLog",
    "TurnRecord",
    "UserSimulator",
    "UserTurn",
    "check_realism",
    "conversation_log",
    "extract_tag",
    "format_transcript",
    "realism_gate",
    "record_call",
    "recorded",
    "simulated_user_conversation",
    "tagged_blocks",
    "tagged_reply",
    "target_words",
]
