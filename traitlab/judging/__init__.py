"""The judging core: ask a judge model for a typed verdict, parse it tolerantly, check its quotes,
have a verifier confirm its positive findings, and let a second judge measure agreement.

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
    checked_verdict,
    register_checkable_judge,
)
from traitlab.judging._grade import (
    AGREEMENT_KEY,
    DEFAULT_JUDGE2_SHARE,
    VERIFICATION_KEY,
    VERIFY_PROMPT,
    Finding,
    Grade,
    GradeValue,
    Verification,
    judge_sample,
    second_judge_chosen,
    second_judge_record,
    unconfirmed_measures,
    verifier_model,
    verify_findings,
)
from traitlab.judging._metrics import judge_agreement, verification
from traitlab.judging._panel import (
    PanelMember,
    PanelResult,
    ask_panel,
    default_quorum,
    independent_judges,
    panel_failures,
)
from traitlab.judging._parse import ParseError, parse_structured, schema_instructions
from traitlab.judging._quotes import (
    MIN_CONTENT_WORDS,
    MIN_QUOTE_WORDS,
    normalise_text,
    quote_appears,
    quote_problem,
    quote_span,
)

__all__ = [
    "AGREEMENT_KEY",
    "DEFAULT_JUDGE2_SHARE",
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
    "checked_verdict",
    "register_checkable_judge",
    "MIN_CONTENT_WORDS",
    "MIN_QUOTE_WORDS",
    "VERIFICATION_KEY",
    "VERIFY_PROMPT",
    "Finding",
    "Grade",
    "GradeValue",
    "JudgeResult",
    "PanelMember",
    "PanelResult",
    "ParseError",
    "Verification",
    "ask_judge",
    "ask_panel",
    "default_quorum",
    "independent_judges",
    "judge_agreement",
    "judge_sample",
    "normalise_text",
    "panel_failures",
    "parse_structured",
    "quote_appears",
    "quote_problem",
    "quote_span",
    "schema_instructions",
    "second_judge_chosen",
    "second_judge_record",
    "unconfirmed_measures",
    "verification",
    "verifier_model",
    "verify_findings",
]
