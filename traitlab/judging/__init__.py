"""The judging core: ask a judge model for a typed verdict, parse it tolerantly, check its quotes.

This layer sits at the bottom of traitlab with `traitlab.scores` and `traitlab.statistics`: every
grader (eval scorers, the lint's scan and autorate, data generation's critics, the realism gate)
calls it, and it imports nothing above it.
"""

from traitlab.judging._ask import JUDGE_CONFIG, JudgeResult, ask_judge
from traitlab.judging._checkable import (
    JUDGE_CHECK_KEY,
    CaseCall,
    CaseMessage,
    CheckableJudge,
    ItemVerdict,
    JudgeCheckOf,
    JudgedCase,
    Label,
    Measure,
    chat_messages,
    checkable_judge,
    register_checkable_judge,
)
from traitlab.judging._panel import (
    PanelMember,
    PanelResult,
    ask_panel,
    default_quorum,
    independent_judges,
)
from traitlab.judging._parse import ParseError, parse_structured, schema_instructions
from traitlab.judging._quotes import (
    MIN_CONTENT_WORDS,
    MIN_QUOTE_WORDS,
    quote_appears,
    quote_problem,
)

__all__ = [
    "JUDGE_CONFIG",
    "CaseCall",
    "CaseMessage",
    "CheckableJudge",
    "ItemVerdict",
    "JUDGE_CHECK_KEY",
    "JudgeCheckOf",
    "JudgedCase",
    "Label",
    "Measure",
    "chat_messages",
    "checkable_judge",
    "register_checkable_judge",
    "MIN_CONTENT_WORDS",
    "MIN_QUOTE_WORDS",
    "JudgeResult",
    "PanelMember",
    "PanelResult",
    "ParseError",
    "ask_judge",
    "ask_panel",
    "default_quorum",
    "independent_judges",
    "parse_structured",
    "quote_appears",
    "quote_problem",
    "schema_instructions",
]
