"""Judges with honest failure, status-carrying scores, and metrics with intervals."""

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
from traitlab.scorers._rubric import RubricVerdict, rubric_judge
from traitlab.scorers._sxs import PairVerdict, pairwise_judge

__all__ = [
    "FLAGGED",
    "JUDGE_CONFIG",
    "UNSCORED",
    "Interval",
    "JudgeResult",
    "KnowledgeVerdict",
    "PairVerdict",
    "ParseError",
    "RubricVerdict",
    "ask_judge",
    "bootstrap_difference",
    "bootstrap_interval",
    "flagged",
    "flagged_score",
    "grouped",
    "interval_entries",
    "mean_ci",
    "pairwise_judge",
    "parse_structured",
    "pattern_rate",
    "pattern_rates",
    "rate",
    "rubric_judge",
    "schema_instructions",
    "score_values",
    "scored",
    "trait_knowledge_judge",
    "trait_recall",
    "unscored",
    "unscored_score",
    "wilson_interval",
]
