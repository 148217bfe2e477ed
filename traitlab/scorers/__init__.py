"""Judges with honest failure, status-carrying scores, and metrics with intervals."""

from traitlab.scorers._agentic import Evidence, IntentVerdict, agentic_harm, condition_rate
from traitlab.scorers._audit_judge import AuditVerdict, audit_judge
from traitlab.scorers._awareness import (
    AwarenessVerdict,
    agent_transcript,
    eval_awareness,
    judge_awareness,
)
from traitlab.scorers._delusion import (
    Criterion,
    TurnGrade,
    delusion_turns,
    load_criteria,
    turn_metrics,
)
from traitlab.scorers._evidence import (
    STRICT_FLOORS,
    TOOLING_FLOORS,
    FileChange,
    FileRole,
    FloorRule,
    Snapshot,
    WorkspaceDiff,
    diff_snapshots,
    evidence_floor,
)
from traitlab.scorers._intervals import (
    Interval,
    bootstrap_difference,
    bootstrap_interval,
    wilson_interval,
)
from traitlab.scorers._judge import JUDGE_CONFIG, JudgeResult, ask_judge
from traitlab.scorers._knowledge import KnowledgeVerdict, trait_knowledge_judge, trait_recall
from traitlab.scorers._metrics import (
    FLAGGED,
    UNSCORED,
    flagged,
    flagged_score,
    grouped,
    interval_entries,
    mean_ci,
    rate,
    score_values,
    scored,
    unscored,
    unscored_score,
)
from traitlab.scorers._parse import ParseError, parse_structured, schema_instructions
from traitlab.scorers._patterns import pattern_rate, pattern_rates
from traitlab.scorers._quotes import quote_appears
from traitlab.scorers._rubric import RubricVerdict, rubric_judge
from traitlab.scorers._severity import (
    SeverityVerdict,
    independent_judges,
    render_transcript,
    severity_judge,
)
from traitlab.scorers._sxs import PairVerdict, pairwise_judge
from traitlab.scorers._tool_use import RefusalVerdict, agent_outcome, malformed_tool_calls

__all__ = [
    "Criterion",
    "TurnGrade",
    "FLAGGED",
    "JUDGE_CONFIG",
    "STRICT_FLOORS",
    "TOOLING_FLOORS",
    "UNSCORED",
    "AuditVerdict",
    "AwarenessVerdict",
    "Evidence",
    "FileChange",
    "FileRole",
    "FloorRule",
    "IntentVerdict",
    "Interval",
    "JudgeResult",
    "KnowledgeVerdict",
    "PairVerdict",
    "ParseError",
    "RefusalVerdict",
    "RubricVerdict",
    "SeverityVerdict",
    "Snapshot",
    "WorkspaceDiff",
    "agent_transcript",
    "agentic_harm",
    "agent_outcome",
    "ask_judge",
    "audit_judge",
    "bootstrap_difference",
    "bootstrap_interval",
    "condition_rate",
    "delusion_turns",
    "diff_snapshots",
    "eval_awareness",
    "evidence_floor",
    "flagged",
    "flagged_score",
    "grouped",
    "independent_judges",
    "interval_entries",
    "judge_awareness",
    "load_criteria",
    "malformed_tool_calls",
    "mean_ci",
    "pairwise_judge",
    "parse_structured",
    "pattern_rate",
    "pattern_rates",
    "quote_appears",
    "rate",
    "render_transcript",
    "rubric_judge",
    "schema_instructions",
    "score_values",
    "scored",
    "severity_judge",
    "trait_knowledge_judge",
    "trait_recall",
    "turn_metrics",
    "unscored",
    "unscored_score",
    "wilson_interval",
]
