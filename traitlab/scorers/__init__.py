"""Scorers that two or more evals share.

An eval's own scorer lives in its folder (`traitlab/evals/<name>/scorer.py`); the score values and
metrics every scorer uses are in `traitlab.scores`, the judge call in `traitlab.judging`.

- `eval_awareness`: did the target say or show that it believed it was being tested (with a
  verified quote)? `judge_awareness` is the same check as a function for a scorer to call, over
  `agent_transcript(state)`.
- `target_was_called`: whether the model under test produced any message (a sample where it did
  not is flagged, never scored).
"""

from traitlab.scorers._awareness import (
    AwarenessVerdict,
    agent_transcript,
    eval_awareness,
    judge_awareness,
)
from traitlab.scorers._target import target_was_called

__all__ = [
    "AwarenessVerdict",
    "agent_transcript",
    "eval_awareness",
    "judge_awareness",
    "target_was_called",
]
